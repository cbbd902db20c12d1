"""Synthetic two-speaker French call audio with an exact reference, rendered with espeak-ng.

The simsamu corpus (``../shared/data/simsamu``) gives the text and speaker turns of 61 simulated
SAMU calls but no audio. This module turns such a :class:`~asr.transcript.Transcript` into audio
we make ourselves, so the ASR/diarization stages can be tested end to end:

* each speaker gets a clearly different espeak-ng voice (variant, pitch, speed); the regulator
  (``medecin``) stays wideband, callers are band-limited to telephone quality (8 kHz,
  300-3400 Hz band-pass, then back to the output rate);
* each turn starts exactly at its reference start; speech longer than the reference turn is sped
  up (a faster espeak ``-s`` for that turn, then sox ``tempo`` if still too long) so that it lies
  within ``[start, end]`` of the reference turn;
* the reference written next to the audio is the turns *as rendered* (start = placement, end =
  start + rendered length), with the turn's words, so DER/WER references match the audio exactly.

Rendering is deterministic: same inputs, options and espeak-ng/sox versions give the same bytes.

Needs the Debian packages ``espeak-ng`` (required) and ``sox`` (for time compression; librosa's
phase vocoder is the fallback). The library never prints; progress goes through
``hook(step, completed, total)``.

Example::

    from asr.synth import SynthOptions, render_call
    res = render_call("dj_2022_feu", "out/", SynthOptions(max_duration=30))
    res.wav_path, res.reference.segments[0]
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from asr.progress import Hook
from asr.transcript import Segment, Transcript, Word, read_json, write_json, write_rttm

__all__ = [
    "Voice",
    "SynthOptions",
    "TurnInfo",
    "RenderedCall",
    "SynthResult",
    "REGULATOR_VOICE",
    "CALLER_VOICE",
    "EXTRA_VOICE",
    "DEFAULT_CALLS",
    "TEST_CALLS",
    "TEST_MAX_DURATION",
    "ESPEAK_RATE",
    "default_data_dir",
    "espeak_version",
    "list_calls",
    "load_call",
    "default_calls",
    "synthesize_speech",
    "render_transcript",
    "render_call",
    "render_calls",
    "make_test_set",
    "energy_report",
]

log = logging.getLogger(__name__)


ESPEAK_RATE = 22050
"""Sample rate of espeak-ng's own output (Hz)."""

# The fixed default benchmark set: every 5th of the 60 two-speaker simsamu calls in sorted order
# (the 3-party call dj_2022_arme_2 is left out), so all four recording sessions (dj_2022, dj_2023,
# dj_mai, reu) and many actor pairs are covered. ~29 min of audio in all.
DEFAULT_CALLS: tuple[str, ...] = (
    "dj_2022_3_mois_paracetamol",
    "dj_2022_brulures_ped",
    "dj_2022_feu",
    "dj_2022_msn",
    "dj_2022_va_accoucher",
    "dj_2023_da",
    "dj_mai_asthme_vento",
    "dj_mai_da_dt",
    "dj_mai_malaise_dt",
    "dj_mai_plaie_arme",
    "dj_mai_vomi_tc",
    "reu_grand_mere",
)
# The small set for tests: two 2-speaker calls from different sessions, each with ~12 turns
# starting in the first 35 s.
TEST_CALLS: tuple[str, ...] = ("dj_2022_feu", "reu_grand_mere")
TEST_MAX_DURATION = 35.0

_REGULATOR_LABELS = ("medecin", "regulateur", "régulateur", "arm", "doctor")


@dataclass(frozen=True)
class Voice:
    """One espeak-ng voice.

    Args:
        name: espeak-ng voice (``fr``, ``fr-fr``, ``fr-be``...).
        variant: espeak-ng variant (``m1``..``m8``, ``f1``..``f5``...), or ``None``.
        pitch: base pitch, espeak ``-p`` (0-99, 50 = the variant's natural pitch).
        speed: base speaking rate, espeak ``-s`` in words per minute.
        telephone: band-limit to a narrowband phone line (8 kHz, 300-3400 Hz).
        level_dbfs: RMS level of the voiced part of each turn, in dBFS.
    """

    name: str = "fr"
    variant: str | None = "m3"
    pitch: int = 50
    speed: int = 175
    telephone: bool = False
    level_dbfs: float = -20.0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w-]+", self.name):
            raise ValueError(f"Voice.name: bad espeak-ng voice name {self.name!r}")
        if self.variant is not None and not re.fullmatch(r"[\w-]+", self.variant):
            raise ValueError(f"Voice.variant: bad espeak-ng variant {self.variant!r}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"Voice.pitch: {self.pitch} not in 0..99")
        if not 80 <= self.speed <= 450:
            raise ValueError(f"Voice.speed: {self.speed} not in 80..450 words per minute")
        if not -60.0 <= self.level_dbfs <= -3.0:
            raise ValueError(f"Voice.level_dbfs: {self.level_dbfs} not in -60..-3")

    @property
    def espeak_voice(self) -> str:
        """The ``-v`` argument: ``name+variant``."""
        return f"{self.name}+{self.variant}" if self.variant else self.name


REGULATOR_VOICE = Voice("fr", "m3", pitch=50, speed=170, telephone=False, level_dbfs=-20.0)
"""Regulating doctor: male variant at natural pitch, wideband."""
CALLER_VOICE = Voice("fr", "f2", pitch=70, speed=190, telephone=True, level_dbfs=-22.0)
"""Caller: female variant, raised pitch, faster, telephone band."""
EXTRA_VOICE = Voice("fr", "m1", pitch=25, speed=160, telephone=True, level_dbfs=-22.0)
"""Further callers (``patient_2``...): low male variant, slower, telephone band."""


@dataclass(frozen=True)
class SynthOptions:
    """How to render a transcript.

    Args:
        sample_rate: output sample rate in Hz (mono).
        max_duration: keep only turns *starting* before this many seconds (``None``: all).
        regulator: voice of the regulator speakers (``regulator_speakers``).
        callers: voices given to the other speakers in order of first appearance (cycled).
        voices: per-speaker overrides, label -> :class:`Voice`.
        regulator_speakers: speaker labels that get ``regulator``.
        max_speed: highest espeak ``-s`` used to fit a long turn before time compression.
        telephone_band: pass band (Hz) of the telephone channel.
        tail: silence kept after the last turn, seconds.
        min_turn: turns whose reference is shorter than this (s) are skipped.
        noise_dbfs: add white noise at this RMS level (dBFS) everywhere; ``None``: digital
            silence between turns.
        seed: seed of that noise.
    """

    sample_rate: int = 16000
    max_duration: float | None = None
    regulator: Voice = REGULATOR_VOICE
    callers: tuple[Voice, ...] = (CALLER_VOICE, EXTRA_VOICE)
    voices: dict[str, Voice] = field(default_factory=dict)
    regulator_speakers: tuple[str, ...] = ("medecin",)
    max_speed: int = 420
    telephone_band: tuple[float, float] = (300.0, 3400.0)
    tail: float = 0.5
    min_turn: float = 0.12
    noise_dbfs: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.callers, tuple):
            object.__setattr__(self, "callers", tuple(self.callers))
        if not isinstance(self.regulator_speakers, tuple):
            object.__setattr__(self, "regulator_speakers", tuple(self.regulator_speakers))
        if not 8000 <= self.sample_rate <= 48000:
            raise ValueError(f"sample_rate: {self.sample_rate} not in 8000..48000 Hz")
        if self.max_duration is not None and not self.max_duration > 0:
            raise ValueError(f"max_duration: {self.max_duration} must be > 0 or None")
        if not self.callers:
            raise ValueError("callers: need at least one caller voice")
        for v in (self.regulator, *self.callers, *self.voices.values()):
            if not isinstance(v, Voice):
                raise ValueError(f"voices: {v!r} is not a Voice")
        if not 80 <= self.max_speed <= 450:
            raise ValueError(f"max_speed: {self.max_speed} not in 80..450")
        lo, hi = self.telephone_band
        if not 0 < lo < hi < 4000:
            raise ValueError(f"telephone_band: {self.telephone_band} must satisfy 0 < low < high < 4000")
        if self.tail < 0:
            raise ValueError(f"tail: {self.tail} must be >= 0")
        if self.min_turn < 0:
            raise ValueError(f"min_turn: {self.min_turn} must be >= 0")
        if self.noise_dbfs is not None and not -120 <= self.noise_dbfs <= -10:
            raise ValueError(f"noise_dbfs: {self.noise_dbfs} not in -120..-10")

    def voice_map(self, speakers: Sequence[str]) -> dict[str, Voice]:
        """Voice of each speaker label (in order of first appearance)."""
        out: dict[str, Voice] = {}
        k = 0
        for spk in speakers:
            if spk in self.voices:
                out[spk] = self.voices[spk]
            elif spk in self.regulator_speakers:
                out[spk] = self.regulator
            else:
                out[spk] = self.callers[k % len(self.callers)]
                k += 1
        return out


@dataclass(frozen=True)
class TurnInfo:
    """How one turn was rendered.

    Attributes:
        speaker, start: the reference turn's speaker and start (= placement), seconds.
        ref_end: the reference turn's end; ``end``: the rendered end (``<= ref_end``).
        speed: espeak ``-s`` used; tempo: sox tempo factor applied after it (1.0: none).
        natural: length at the voice's base speed (s), before any fitting.
        rms_db: RMS level of the rendered turn, dBFS.
    """

    speaker: str
    start: float
    end: float
    ref_end: float
    speed: int
    tempo: float
    natural: float
    rms_db: float


@dataclass(frozen=True)
class RenderedCall:
    """Audio (float32, shape ``(n,)``, in [-1, 1]) and its exact reference transcript."""

    audio: np.ndarray
    sample_rate: int
    reference: Transcript
    turns: tuple[TurnInfo, ...]
    voices: dict[str, Voice]
    skipped: int = 0

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class SynthResult:
    """Files written for one call: ``<rec>.wav``, ``<rec>.rttm``, ``<rec>.json``."""

    name: str
    wav_path: Path
    rttm_path: Path
    json_path: Path
    duration: float
    reference: Transcript
    turns: tuple[TurnInfo, ...]
    voices: dict[str, Voice]
    skipped: int = 0


# --------------------------------------------------------------------------- tools


def _espeak_path() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(
            "espeak-ng not found on PATH: install the Debian package 'espeak-ng' "
            "(sudo apt-get install espeak-ng, or scripts/install-system.sh)"
        )
    return exe


def espeak_version() -> str:
    """The installed espeak-ng version (``"1.51"``); RuntimeError if espeak-ng is missing."""
    exe = _espeak_path()
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(f"espeak-ng --version failed: {e}") from e
    m = re.search(r"text-to-speech:\s*(\S+)", out.stdout)
    return m.group(1) if m else out.stdout.strip()


def _espeak(text: str, voice: Voice, speed: int) -> np.ndarray:
    """Raw espeak-ng output at :data:`ESPEAK_RATE`, float32 mono."""
    import soundfile as sf

    exe = _espeak_path()
    with tempfile.TemporaryDirectory(prefix="synth-") as tmp:
        txt, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        txt.write_text(text, encoding="utf-8")
        cmd = [exe, "-b", "1", "-v", voice.espeak_voice, "-p", str(voice.pitch), "-s", str(speed)]
        cmd += ["-f", str(txt), "-w", str(wav)]
        try:
            subprocess.run(cmd, capture_output=True, check=True, timeout=120)
            x, sr = sf.read(str(wav), dtype="float32", always_2d=False)
        except subprocess.CalledProcessError as e:
            msg = e.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(f"espeak-ng failed (voice {voice.espeak_voice!r}): {msg}") from e
        except (OSError, subprocess.SubprocessError, RuntimeError) as e:
            raise RuntimeError(f"espeak-ng failed (voice {voice.espeak_voice!r}): {e}") from e
    if sr != ESPEAK_RATE:
        raise RuntimeError(f"espeak-ng wrote {sr} Hz audio, expected {ESPEAK_RATE}")
    if x.ndim > 1:
        x = x.mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def _tempo(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Speed ``x`` up by ``factor`` without changing pitch (sox ``tempo -s``, WSOLA)."""
    import soundfile as sf

    sox = shutil.which("sox")
    if sox is None:
        import librosa

        log.debug("sox not found; time compression by librosa phase vocoder")
        return librosa.effects.time_stretch(x, rate=factor).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="FLOAT")
    cmd = [sox, "-D", "-V1", "-t", "wav", "-", "-t", "wav", "-e", "floating-point", "-"]
    cmd += ["tempo", "-s", f"{factor:.4f}"]
    try:
        out = subprocess.run(cmd, input=buf.getvalue(), capture_output=True, check=True, timeout=120)
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"sox tempo {factor:.3f} failed: {msg}") from e
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(f"sox tempo {factor:.3f} failed: {e}") from e
    y, _ = sf.read(io.BytesIO(out.stdout), dtype="float32", always_2d=False)
    return np.ascontiguousarray(y if y.ndim == 1 else y.mean(axis=1), dtype=np.float32)


def _trim(x: np.ndarray, sr: int, rel_db: float = -40.0, pad: float = 0.01) -> np.ndarray:
    """Cut leading/trailing silence: keep from the first to the last 10 ms frame within
    ``rel_db`` of the loudest frame, plus ``pad`` seconds each side."""
    hop = max(1, sr // 100)
    n = len(x) // hop
    if n == 0:
        return x[:0]
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    if rms.max() <= 1e-6:
        return x[:0]
    on = np.flatnonzero(rms >= rms.max() * 10 ** (rel_db / 20))
    p = int(round(pad * sr))
    return x[max(0, on[0] * hop - p) : min(len(x), (on[-1] + 1) * hop + p)]


def _fade(x: np.ndarray, sr: int, ms: float = 5.0) -> np.ndarray:
    k = min(len(x) // 2, int(sr * ms / 1000))
    if k > 0:
        x = x.copy()
        ramp = np.linspace(0.0, 1.0, k, endpoint=False, dtype=np.float32)
        x[:k] *= ramp
        x[len(x) - k :] *= ramp[::-1]
    return x


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x
    import soxr

    return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32)


def _telephone(x: np.ndarray, sr: int, sr_out: int, band: tuple[float, float]) -> np.ndarray:
    """Narrowband phone channel: resample to 8 kHz, band-pass, back to ``sr_out``."""
    from scipy.signal import butter, sosfiltfilt

    y = _resample(x, sr, 8000)
    sos = butter(4, band, btype="bandpass", fs=8000, output="sos")
    if len(y) > 3 * (2 * len(sos) + 1):
        y = sosfiltfilt(sos, y).astype(np.float32)
    return _resample(y, 8000, sr_out)


def _rms_db(x: np.ndarray) -> float:
    if len(x) == 0:
        return -math.inf
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20 * math.log10(r) if r > 0 else -math.inf


def synthesize_speech(
    text: str,
    voice: Voice,
    sample_rate: int = 16000,
    max_seconds: float | None = None,
    max_speed: int = 420,
    telephone_band: tuple[float, float] = (300.0, 3400.0),
) -> tuple[np.ndarray, dict]:
    """Speak ``text`` with ``voice``, trimmed of leading/trailing silence.

    If ``max_seconds`` is given and the speech is longer, it is sped up to fit: first a faster
    espeak ``-s`` (estimated from the length at the base speed, at most ``max_speed``), then sox
    ``tempo`` (pitch kept), then a hard cut with a short fade if a few ms still stick out.

    Args:
        text: French text (punctuation gives the prosody).
        voice: the espeak-ng voice; ``voice.telephone`` band-limits the result.
        sample_rate: output rate (Hz).
        max_seconds: longest allowed output, seconds.
        max_speed: ceiling for espeak ``-s``.
        telephone_band: pass band for telephone voices (Hz).

    Returns:
        ``(audio, info)``: float32 array of shape ``(n,)`` at ``sample_rate``, its RMS over the
        voiced part set to ``voice.level_dbfs``; ``info`` has ``speed``, ``tempo``, ``natural``
        (seconds at the base speed).
    """
    sr = ESPEAK_RATE
    speed = voice.speed
    x = _trim(_espeak(text, voice, speed), sr)
    natural = len(x) / sr
    tempo = 1.0
    if max_seconds is not None and len(x) / sr > max_seconds:
        # Duration scales a bit less than 1/speed (pauses): aim 3 % short, retry once.
        for _ in range(2):
            if speed >= max_speed or len(x) / sr <= max_seconds:
                break
            speed = min(max_speed, int(math.ceil(speed * (len(x) / sr) / max_seconds * 1.03)))
            x = _trim(_espeak(text, voice, speed), sr)
        if len(x) / sr > max_seconds:
            tempo = round(len(x) / sr / max_seconds * 1.01, 4)
            x = _trim(_tempo(x, sr, tempo), sr)
    if voice.telephone:
        y = _telephone(x, sr, sample_rate, telephone_band)
    else:
        y = _resample(x, sr, sample_rate)
    if max_seconds is not None:
        y = y[: max(0, int(math.floor(max_seconds * sample_rate + 1e-6)))]
    # Level: RMS of the 20 ms frames above -30 dB of the loudest one.
    hop = max(1, sample_rate // 50)
    n = len(y) // hop
    if n > 0:
        fr = np.sqrt(np.mean(y[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
        voiced = fr[fr >= fr.max() * 10 ** (-30 / 20)]
        r = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 0.0
        if r > 0:
            y = (y * (10 ** (voice.level_dbfs / 20) / r)).astype(np.float32)
    y = _fade(np.asarray(y, dtype=np.float32), sample_rate)
    return y, {"speed": speed, "tempo": tempo, "natural": round(natural, 3)}


# --------------------------------------------------------------------------- simsamu


def default_data_dir() -> Path:
    """``<project>/../shared/data/simsamu`` (override with ``$LLM4ALL_SIMSAMU``)."""
    env = os.environ.get("LLM4ALL_SIMSAMU")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "simsamu"


def list_calls(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Sorted names of the simsamu calls under ``data_dir`` (folders holding ``<rec>.json``)."""
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    if not d.is_dir():
        raise ValueError(f"{d}: simsamu data folder not found")
    return sorted(p.name for p in d.iterdir() if p.is_dir() and (p / f"{p.name}.json").is_file())


def load_call(name: str, data_dir: str | os.PathLike | None = None) -> Transcript:
    """Read a simsamu call's reference (``<rec>/<rec>.json``) as a Transcript.

    Raises:
        ValueError: unknown call name (the message lists a few known ones).
    """
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    path = d / name / f"{name}.json"
    if not re.fullmatch(r"[\w.-]+", name) or not path.is_file():
        known = list_calls(d) if d.is_dir() else []
        hint = f"; known calls: {', '.join(known[:5])}, ... ({len(known)} in all)" if known else ""
        raise ValueError(f"unknown simsamu call {name!r} (no {path}){hint}")
    return read_json(path)


def default_calls(n: int = len(DEFAULT_CALLS), data_dir: str | os.PathLike | None = None) -> list[str]:
    """The first ``n`` calls of the fixed benchmark order: :data:`DEFAULT_CALLS`, then the other
    two-speaker calls in sorted order (never the 3-party call)."""
    if n < 1:
        raise ValueError(f"n: {n} must be >= 1")
    order = list(DEFAULT_CALLS)
    if n > len(order):
        for name in list_calls(data_dir):
            if name in order:
                continue
            speakers = set(load_call(name, data_dir).speakers)
            if len(speakers) == 2:
                order.append(name)
    if n > len(order):
        raise ValueError(f"n: {n} > the {len(order)} two-speaker calls available")
    return order[:n]


# --------------------------------------------------------------------------- rendering


_ZW = re.compile(r"[\u200b\u200c\u200d\ufeff]")


def _clean(s: str) -> str:
    return " ".join(_ZW.sub("", s).split())


def _timed_words(words: Sequence[str], start: float, end: float, speaker: str | None) -> tuple[Word, ...]:
    """Spread words over ``[start, end]`` proportionally to their length (+1 for the gap)."""
    weights = [len(w) + 1 for w in words]
    total = float(sum(weights)) or 1.0
    out, t = [], start
    for w, k in zip(words, weights):
        e = min(end, t + (end - start) * k / total)
        out.append(Word(w, round(t, 3), round(e, 3), None, speaker))
        t = e
    return tuple(out)


def render_transcript(
    t: Transcript, opts: SynthOptions | None = None, hook: Hook | None = None
) -> RenderedCall:
    """Render a speaker-labelled transcript to audio with an exact reference.

    Each segment with text is spoken by its speaker's voice (:meth:`SynthOptions.voice_map`),
    placed at the segment's start, and sped up if needed to end before the segment's end.
    Overlapping segments are mixed.

    Args:
        t: the transcript to speak (segments with ``start``, ``end``, ``speaker``, ``text``).
        opts: rendering options.
        hook: ``hook("synthesize", completed, total)`` after each turn.

    Returns:
        a :class:`RenderedCall`; its ``reference`` has one segment per rendered turn with
        ``end = start + rendered length`` and words spread over the turn.
    """
    opts = opts or SynthOptions()
    sr = opts.sample_rate
    segs = [s for s in t.segments if opts.max_duration is None or s.start < opts.max_duration]
    speakers = [s for s in t.speakers if any(x.speaker == s for x in segs)] or ["speaker"]
    vmap = opts.voice_map(speakers)
    pieces: list[tuple[int, np.ndarray]] = []
    ref: list[Segment] = []
    turns: list[TurnInfo] = []
    skipped = 0
    total = len(segs)
    for i, s in enumerate(segs):
        words = [_clean(w.text) for w in s.words] if s.words else _clean(s.text).split()
        words = [w for w in words if w]
        text = _clean(s.text) or " ".join(words)
        spk = s.speaker or speakers[0]
        if not words or s.duration < opts.min_turn:
            skipped += 1
            if hook is not None:
                hook("synthesize", i + 1, total)
            continue
        voice = vmap[spk]
        i0 = int(round(s.start * sr))
        room = (int(math.floor(s.end * sr + 1e-6)) - i0) / sr  # samples up to the reference end
        y, info = synthesize_speech(text, voice, sr, room, opts.max_speed, opts.telephone_band)
        if len(y) == 0:
            skipped += 1
            if hook is not None:
                hook("synthesize", i + 1, total)
            continue
        start, end = i0 / sr, (i0 + len(y)) / sr
        pieces.append((i0, y))
        ref.append(Segment(start, end, spk, text, _timed_words(words, start, end, spk)))
        turns.append(
            TurnInfo(spk, start, end, s.end, info["speed"], info["tempo"], info["natural"], _rms_db(y))
        )
        if hook is not None:
            hook("synthesize", i + 1, total)
    last = max((i0 + len(y) for i0, y in pieces), default=0)
    n = last + int(round(opts.tail * sr))
    audio = np.zeros(n, dtype=np.float64)
    for i0, y in pieces:
        audio[i0 : i0 + len(y)] += y
    if opts.noise_dbfs is not None:
        rng = np.random.default_rng(opts.seed)
        audio += rng.standard_normal(n) * 10 ** (opts.noise_dbfs / 20)
    peak = float(np.max(np.abs(audio))) if n else 0.0
    if peak > 0.99:  # only possible when turns overlap (or with loud voices)
        audio *= 0.99 / peak
    roles = {spk: ("regulateur" if spk in opts.regulator_speakers else "appelant") for spk in vmap}
    reference = Transcript(
        tuple(ref),
        language="fr",
        duration=round(n / sr, 3),
        source=t.source,
        speakers=tuple(s for s in speakers if any(x.speaker == s for x in ref)),
        roles={k: v for k, v in roles.items() if any(x.speaker == k for x in ref)},
    )
    return RenderedCall(audio.astype(np.float32), sr, reference, tuple(turns), vmap, skipped)


def _atomic_wav(path: Path, audio: np.ndarray, sr: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, audio, sr, format="WAV", subtype="PCM_16")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_call(
    name: str,
    out_dir: str | os.PathLike,
    opts: SynthOptions | None = None,
    data_dir: str | os.PathLike | None = None,
    hook: Hook | None = None,
) -> SynthResult:
    """Render simsamu call ``name`` into ``out_dir/<name>.wav`` (PCM 16-bit mono) with its exact
    reference ``<name>.rttm`` and ``<name>.json`` (our Transcript JSON).

    Raises:
        ValueError: unknown call; RuntimeError: espeak-ng missing or failing.
    """
    opts = opts or SynthOptions()
    t = load_call(name, data_dir)
    _espeak_path()
    r = render_transcript(replace(t, source=f"{name}.wav"), opts, hook)
    out = Path(out_dir)
    wav, rttm, js = out / f"{name}.wav", out / f"{name}.rttm", out / f"{name}.json"
    _atomic_wav(wav, r.audio, r.sample_rate)
    write_rttm(r.reference, rttm, file_id=name)
    write_json(r.reference, js)
    return SynthResult(name, wav, rttm, js, r.duration, r.reference, r.turns, r.voices, r.skipped)


def render_calls(
    names: Sequence[str],
    out_dir: str | os.PathLike,
    opts: SynthOptions | None = None,
    data_dir: str | os.PathLike | None = None,
    hook: Hook | None = None,
) -> list[SynthResult]:
    """Render several calls (see :func:`render_call`); ``hook("calls", done, total)`` after each
    call, and the per-turn ``"synthesize"`` steps in between."""
    _espeak_path()
    for n in names:  # fail on a bad name before spending time on the others
        load_call(n, data_dir)
    results = []
    for i, n in enumerate(names):
        results.append(render_call(n, out_dir, opts, data_dir, hook))
        if hook is not None:
            hook("calls", i + 1, len(names))
    return results


def make_test_set(
    out_dir: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    hook: Hook | None = None,
) -> list[SynthResult]:
    """Render the small fixed test set: :data:`TEST_CALLS` (2 calls), turns starting in the
    first :data:`TEST_MAX_DURATION` seconds (~35-40 s of audio each)."""
    return render_calls(TEST_CALLS, out_dir, SynthOptions(max_duration=TEST_MAX_DURATION), data_dir, hook)


def energy_report(audio: np.ndarray, sample_rate: int, reference: Transcript) -> dict:
    """Listening-free sanity check of a rendering against its reference.

    Returns:
        dict with ``turn_rms_db`` (RMS of each reference segment, dBFS), ``min_turn_rms_db``,
        ``outside_rms_db`` (RMS of all samples outside every segment; ``-inf`` for digital
        silence) and ``speech_fraction`` (share of the audio inside segments).
    """
    x = np.asarray(audio, dtype=np.float64)
    inside = np.zeros(len(x), dtype=bool)
    per_turn = []
    for s in reference.segments:
        a, b = int(round(s.start * sample_rate)), int(round(s.end * sample_rate))
        inside[a:b] = True
        per_turn.append(round(_rms_db(x[a:b]), 2))
    return {
        "turn_rms_db": per_turn,
        "min_turn_rms_db": min(per_turn) if per_turn else None,
        "outside_rms_db": _rms_db(x[~inside]),
        "speech_fraction": float(inside.mean()) if len(x) else 0.0,
    }
