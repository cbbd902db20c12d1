"""Real recorded French voices from Debian's Asterisk prompt packages, and two-speaker
telephone conversations assembled from them with an exact reference.

Two voices, both women, both 8 kHz telephone speech (see ``data_cards/real_voices.md``):

* ``june``: Debian ``asterisk-core-sounds-fr-wav``, Canadian French, 16-bit PCM, installed
  in ``/usr/share/asterisk/sounds/fr_CA_f_June/``. Its transcripts are the file
  ``core-sounds-fr.txt.gz`` of Debian ``asterisk-core-sounds-fr`` (a documentation
  package that conflicts with the Armelle package, so it is read from
  ``/usr/share/doc/asterisk-core-sounds-fr/`` when installed, else from a copy extracted
  with ``apt-get download asterisk-core-sounds-fr`` + ``dpkg-deb -x``; see
  :func:`find_transcripts`). CC-BY-SA-3.0.
* ``armelle``: Debian ``asterisk-prompt-fr-armelle``, French (France), GSM 06.10 coded,
  installed in ``/usr/share/asterisk/sounds/fr/``. No transcripts. BSD-style licence.

Conversations (:func:`assemble_conversation`) alternate the two voices in turns of one to
three prompts, with short back-channel turns (the shortest prompts: ``merci``, ``allô``,
digits), some overlap, level changes per turn, a telephone band-pass and line noise. The
reference is exact: each placed prompt contributes its speech spans (energy-based on the
clean prompt, split at pauses of at least ``split_pause_s``), shifted to where it was placed.

Decoding the GSM files needs ``sox`` (already a system dependency of :mod:`asr.synth`).
The library never prints; nothing is downloaded.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.transcript import Segment, Transcript

__all__ = [
    "SOUNDS_DIR",
    "VOICES",
    "DEBIAN_PACKAGES",
    "TRANSCRIPT_PACKAGE",
    "Prompt",
    "PromptBank",
    "ConversationOptions",
    "PlacedPrompt",
    "Conversation",
    "voice_dir",
    "missing_voices",
    "find_transcripts",
    "read_transcripts",
    "clean_prompt_text",
    "list_prompts",
    "decode_prompt",
    "speech_spans",
    "assemble_conversation",
    "write_conversation",
]

SOUNDS_DIR = Path("/usr/share/asterisk/sounds")
VOICES: dict[str, str] = {"june": "fr_CA_f_June", "armelle": "fr"}
"""Voice name -> its folder under :data:`SOUNDS_DIR`."""
DEBIAN_PACKAGES: dict[str, str] = {
    "june": "asterisk-core-sounds-fr-wav",
    "armelle": "asterisk-prompt-fr-armelle",
}
TRANSCRIPT_PACKAGE = "asterisk-core-sounds-fr"
_EXT = {"june": ".wav", "armelle": ".gsm"}
_TRANSCRIPT_NAME = "core-sounds-fr.txt"
# Prompts that are tones, beeps, noises or silence (the June transcript marks them so); the
# selection must not depend on whether the transcripts are at hand.
_NON_SPEECH_NAMES = frozenset(
    {
        "ascending-2tone",
        "descending-2tone",
        "beep",
        "beeperr",
        "confbridge-join",
        "confbridge-leave",
        "tt-monkeys",
    }
)
SAMPLE_RATE = 16000
_GLUED = re.compile(r"(?<=[.!?])\s*(?=[a-z][\w/]*-[\w/-]+:\s)")  # "...dièse.vm-review-nonurgent: "


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt: ``voice`` (``june``/``armelle``), ``name`` (path relative to the
    voice folder without extension, e.g. ``digits/1``), ``path``, and its ``text`` when a
    usable transcript exists (``None`` otherwise)."""

    voice: str
    name: str
    path: Path
    text: str | None = None


def voice_dir(voice: str, root: str | os.PathLike | None = None) -> Path:
    """Folder of ``voice``'s prompts (``root`` defaults to :data:`SOUNDS_DIR`)."""
    if voice not in VOICES:
        raise ValueError(f"voice must be one of {tuple(VOICES)}, got {voice!r}")
    return Path(root or SOUNDS_DIR) / VOICES[voice]


def missing_voices(root: str | os.PathLike | None = None) -> list[str]:
    """Human-readable reasons why the real voices cannot be used here (empty list: all good)."""
    out = []
    for v in VOICES:
        d = voice_dir(v, root)
        if not d.is_dir() or next(d.glob(f"*{_EXT[v]}"), None) is None:
            out.append(f"{v}: no {_EXT[v]} prompts in {d} (apt-get install {DEBIAN_PACKAGES[v]})")
    if shutil.which("sox") is None:
        out.append("sox not found (apt-get install sox), needed to decode the GSM prompts")
    return out


def find_transcripts(extra: Sequence[str | os.PathLike] = ()) -> Path | None:
    """The June transcript file (``core-sounds-fr.txt[.gz]``): the first that exists among
    ``extra`` (files, or folders searched recursively), the installed
    ``/usr/share/doc/asterisk-core-sounds-fr/``, and ``benchmarks/audio/real_voices/``."""
    here = Path(__file__).resolve().parents[1]
    places = [Path(p) for p in extra] + [
        Path("/usr/share/doc") / TRANSCRIPT_PACKAGE,
        here / "benchmarks" / "audio" / "real_voices",
    ]
    for p in places:
        if p.is_file():
            return p
        if p.is_dir():
            for name in (_TRANSCRIPT_NAME + ".gz", _TRANSCRIPT_NAME):
                hits = sorted(p.rglob(name))
                if hits:
                    return hits[0]
    return None


def read_transcripts(path: str | os.PathLike) -> dict[str, str]:
    """``name -> raw text`` from an Asterisk ``core-sounds-<lang>.txt`` file (``.gz`` or not).

    Lines are ``name: text``; ``;`` starts a comment; a name may repeat (the last one wins).
    Two entries run together on one line (``...dièse.vm-review-nonurgent: Pour...`` in the
    1.6.1 file) are split."""
    p = Path(path)
    raw = gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz" else open(p, encoding="utf-8")
    out: dict[str, str] = {}
    with raw as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            for part in _GLUED.split(line):
                m = re.match(r"^([\w./-]+):\s*(.*)$", part)
                if m:
                    out[m.group(1)] = m.group(2).strip()
    return out


def clean_prompt_text(raw: str | None) -> str | None:
    """A transcript usable as an ASR reference, or ``None``.

    ``None`` for empty text and for annotations of non-speech or of an unclear reading
    (``[ascending tones]``, ``(ahooga)``, ``Pour (emphase)``, quoted sound names); ellipses
    and surrounding quotes are removed, the rest is kept as written (normalisation happens
    in :func:`asr.evaluate.normalize_fr`)."""
    if raw is None:
        return None
    t = raw.strip().strip('\u201c\u201d"').strip()
    if not t or re.search(r"[\[\]()]", t) or '"' in t:
        return None
    t = re.sub(r"\.\.\.|\u2026", " ", t)
    t = " ".join(t.split())
    return t if re.search(r"\w", t) else None


def list_prompts(
    voice: str, root: str | os.PathLike | None = None, transcripts: dict[str, str] | None = None
) -> list[Prompt]:
    """Every speech prompt of ``voice``, sorted by name (tones, beeps and silences left out).

    ``transcripts``: ``name -> raw text`` (:func:`read_transcripts`); a prompt gets a ``text``
    when its entry passes :func:`clean_prompt_text`. A prompt whose June transcript marks it
    as non-speech is left out for both voices (the two share prompt names); the selection is
    the same with or without ``transcripts``."""
    d = voice_dir(voice, root)
    ext = _EXT[voice]
    out = []
    for p in sorted(d.rglob(f"*{ext}")):
        name = p.relative_to(d).with_suffix("").as_posix()
        if name in _NON_SPEECH_NAMES or name.startswith("silence/"):
            continue
        raw = (transcripts or {}).get(name)
        text = clean_prompt_text(raw) if voice == "june" else None
        out.append(Prompt(voice, name, p, text))
    return out


def decode_prompt(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a prompt (WAV or raw GSM) to mono float32 at ``sample_rate`` with ``sox``."""
    sox = shutil.which("sox")
    if sox is None:
        raise RuntimeError("decoding Asterisk prompts needs sox: apt-get install sox")
    cmd = [
        sox,
        "-q",
        str(path),
        "-t",
        "raw",
        "-e",
        "floating-point",
        "-b",
        "32",
        "-c",
        "1",
        "-r",
        str(sample_rate),
        "-",
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"sox could not decode {path}: {e.stderr.decode(errors='replace')[-300:]}") from e
    return np.frombuffer(out, dtype=np.float32).copy()


def speech_spans(
    x: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    rel_db: float = -30.0,
    floor_margin_db: float = 8.0,
    frame_s: float = 0.01,
    min_pause_s: float = 0.5,
    pad_s: float = 0.02,
) -> list[tuple[float, float]]:
    """Speech spans (seconds) of one clean prompt by frame energy.

    A frame is speech when its energy is above both ``peak + rel_db`` and the recording's
    noise floor (10th percentile of frame energies) + ``floor_margin_db``; pauses shorter than
    ``min_pause_s`` are bridged, spans are padded by ``pad_s``, and bursts shorter than
    50 ms are dropped. Empty list for silence."""
    n = int(round(frame_s * sample_rate))
    m = len(x) // n
    if m == 0:
        return []
    f = x[: m * n].astype(np.float64).reshape(m, n)
    db = 10 * np.log10(np.mean(f * f, axis=1) + 1e-12)
    thr = max(db.max() + rel_db, np.percentile(db, 10) + floor_margin_db)
    on = np.flatnonzero(db > thr)
    if on.size == 0:
        return []
    spans: list[list[int]] = [[int(on[0]), int(on[0]) + 1]]
    gap = int(round(min_pause_s / frame_s))
    for i in on[1:]:
        if i - spans[-1][1] < gap:
            spans[-1][1] = int(i) + 1
        else:
            spans.append([int(i), int(i) + 1])
    dur = len(x) / sample_rate
    out = []
    for a, b in spans:
        if (b - a) * frame_s < 0.05:
            continue
        out.append((max(0.0, a * frame_s - pad_s), min(dur, b * frame_s + pad_s)))
    return out


@dataclass
class _Clip:
    audio: np.ndarray  # trimmed to [first speech - pad, last speech + pad]
    spans: list[tuple[float, float]]  # relative to the clip

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


class PromptBank:
    """Prompts of one voice with their decoded, trimmed audio (decoded on first use, kept)."""

    def __init__(self, prompts: Sequence[Prompt]):
        if not prompts:
            raise ValueError("PromptBank needs at least one prompt")
        self.prompts = list(prompts)
        self.voice = self.prompts[0].voice
        self._clips: dict[str, _Clip | None] = {}

    def clip(self, p: Prompt) -> _Clip | None:
        """Trimmed audio and speech spans of ``p`` (``None``: no speech found)."""
        if p.name not in self._clips:
            x = decode_prompt(p.path)
            spans = speech_spans(x, min_pause_s=0.1)  # fine spans; turns are merged later
            if not spans:
                self._clips[p.name] = None
            else:
                pad = 0.05
                a = max(0.0, spans[0][0] - pad)
                b = min(len(x) / SAMPLE_RATE, spans[-1][1] + pad)
                seg = x[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)].copy()
                ramp = min(int(0.01 * SAMPLE_RATE), len(seg) // 2)
                if ramp:
                    w = np.linspace(0.0, 1.0, ramp, dtype=np.float32)
                    seg[:ramp] *= w
                    seg[-ramp:] *= w[::-1]
                self._clips[p.name] = _Clip(seg, [(s - a, e - a) for s, e in spans])
        return self._clips[p.name]


# --------------------------------------------------------------------------- conversations


@dataclass(frozen=True)
class ConversationOptions:
    """How to assemble one two-speaker conversation.

    Attributes:
        duration_s: target length; turns are added until the next one would end past it.
        min_prompts / max_prompts: prompts per ordinary turn (drawn uniformly).
        max_prompt_s: longest prompt (speech) used in ordinary turns, seconds.
        backchannel_s: prompts with at most this much speech are back-channel candidates
            (``merci``, ``allô``, digits) and are never used in ordinary turns.
        backchannel_p: probability that a turn change is a short back-channel turn.
        overlap_p: probability that a turn starts before the previous one ends.
        max_overlap_s: longest such overlap, seconds.
        gap_s: range of the silence between turns, seconds.
        intra_gap_s: range of the silence between prompts of one turn, seconds.
        level_db: speaker levels, RMS dBFS of the speech (per speaker, each turn +-
            ``level_jitter_db``).
        snr_db: range of the line-noise SNR (drawn once per conversation) against the mean
            speech level.
        hum_db: 50 Hz mains hum (with harmonics) level, dBFS; ``None``: none.
        band: telephone pass band (Hz) applied to the whole mix.
        split_pause_s: a pause inside a prompt at least this long splits its reference turn.
        seed: random seed (prompt choice, timing, levels, noise).
    """

    duration_s: float = 75.0
    min_prompts: int = 1
    max_prompts: int = 3
    max_prompt_s: float = 8.0
    backchannel_s: float = 0.9
    backchannel_p: float = 0.2
    overlap_p: float = 0.15
    max_overlap_s: float = 0.6
    gap_s: tuple[float, float] = (0.15, 0.9)
    intra_gap_s: tuple[float, float] = (0.15, 0.5)
    level_db: tuple[float, float] = (-20.0, -22.0)
    level_jitter_db: float = 2.0
    snr_db: tuple[float, float] = (22.0, 32.0)
    hum_db: float | None = -55.0
    band: tuple[float, float] = (300.0, 3400.0)
    split_pause_s: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"ConversationOptions.duration_s must be > 0, got {self.duration_s}")
        if not 1 <= self.min_prompts <= self.max_prompts:
            raise ValueError(
                f"ConversationOptions.min_prompts/max_prompts must satisfy 1 <= min <= max, "
                f"got {self.min_prompts}/{self.max_prompts}"
            )
        for name in ("backchannel_p", "overlap_p"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"ConversationOptions.{name} must be in [0, 1], got {v}")
        for name in ("gap_s", "intra_gap_s", "snr_db"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(
                    f"ConversationOptions.{name} must be a range 0 <= low <= high, got {(lo, hi)}"
                )
        if self.max_overlap_s < 0 or self.backchannel_s <= 0 or self.max_prompt_s <= self.backchannel_s:
            raise ValueError(
                "ConversationOptions: need max_overlap_s >= 0 and 0 < backchannel_s < max_prompt_s, got "
                f"{self.max_overlap_s}/{self.backchannel_s}/{self.max_prompt_s}"
            )
        lo, hi = self.band
        if not 0 < lo < hi < SAMPLE_RATE / 2:
            raise ValueError(f"ConversationOptions.band must satisfy 0 < low < high < 8000, got {self.band}")


@dataclass(frozen=True)
class PlacedPrompt:
    """One prompt as placed: speaker label, prompt, start/end of its clip, speech spans
    (absolute seconds), whether it is a back-channel turn, and its gain in dB."""

    speaker: str
    prompt: Prompt
    start: float
    end: float
    spans: tuple[tuple[float, float], ...]
    backchannel: bool
    gain_db: float


@dataclass(frozen=True)
class Conversation:
    """An assembled conversation: ``audio`` (float32 16 kHz mono), its ``reference``
    (segments = one per prompt with its text where known, ``turns`` = the exact speech
    spans) and how it was made (``placed``, ``snr_db``)."""

    name: str
    audio: np.ndarray
    reference: Transcript
    placed: tuple[PlacedPrompt, ...]
    snr_db: float
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def turns(self) -> Transcript:
        """The reference speaker turns as a transcript (what DER is scored against)."""
        return Transcript(self.reference.turns, duration=self.duration, source=self.reference.source)


def _rms_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12)


def _speech_rms_db(c: _Clip) -> float:
    parts = [c.audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for s, e in c.spans]
    return _rms_db(np.concatenate(parts)) if parts else -120.0


def _speech_len(c: _Clip) -> float:
    return sum(e - s for s, e in c.spans)


@dataclass
class _Pool:
    bank: PromptBank
    rng: np.random.Generator
    max_prompt_s: float
    backchannel_s: float
    ordinary: list[Prompt] = field(default_factory=list)
    short: list[Prompt] = field(default_factory=list)
    _order: list[Prompt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._order = [self.bank.prompts[i] for i in self.rng.permutation(len(self.bank.prompts))]

    def _next(self, want_short: bool) -> tuple[Prompt, _Clip] | None:
        # walk the shuffled order, keeping prompts of the wrong kind for later
        src = self.short if want_short else self.ordinary
        if src:
            p = src.pop(0)
            return p, self.bank.clip(p)
        while self._order:
            p = self._order.pop()
            c = self.bank.clip(p)
            if c is None:
                continue
            sp = _speech_len(c)
            if sp <= self.backchannel_s:
                if want_short:
                    return p, c
                self.short.append(p)
            elif sp <= self.max_prompt_s:
                if not want_short:
                    return p, c
                self.ordinary.append(p)
        return None

    def take(self, want_short: bool) -> tuple[Prompt, _Clip]:
        got = self._next(want_short)
        if got is None:  # a used-up pool starts over (small banks, long conversations)
            self.__post_init__()
            self.ordinary.clear()
            self.short.clear()
            got = self._next(want_short)
        if got is None:
            kind = "back-channel" if want_short else "ordinary"
            raise ValueError(f"voice {self.bank.voice!r} has no {kind} prompt")
        return got


def _bandpass(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [band[0], band[1]], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfiltfilt(sos, x).astype(np.float32)


def assemble_conversation(
    banks: tuple[PromptBank, PromptBank],
    opts: ConversationOptions | None = None,
    speakers: tuple[str, str] = ("A", "B"),
    name: str = "conversation",
) -> Conversation:
    """Assemble one two-speaker conversation from two prompt banks (see module docstring).

    ``banks[0]`` speaks first, as ``speakers[0]``. Deterministic for a given ``opts.seed``
    and banks.

    Raises:
        ValueError: a bank has no usable prompt of a kind needed.
    """
    opts = opts or ConversationOptions()
    rng = np.random.default_rng(opts.seed)
    pools = [
        _Pool(b, np.random.default_rng(rng.integers(1 << 31)), opts.max_prompt_s, opts.backchannel_s)
        for b in banks
    ]
    placed: list[PlacedPrompt] = []
    t = 0.3 + float(rng.uniform(0.0, 0.5))
    prev_end = t
    who = 0
    while True:
        backchannel = bool(placed) and rng.random() < opts.backchannel_p
        n = 1 if backchannel else int(rng.integers(opts.min_prompts, opts.max_prompts + 1))
        if placed:
            if rng.random() < opts.overlap_p:
                start = prev_end - float(rng.uniform(0.1, max(0.1, opts.max_overlap_s)))
            else:
                start = prev_end + float(rng.uniform(*opts.gap_s))
            start = max(start, placed[-1].start + 0.3)  # never before the previous turn began
        else:
            start = t
        gain = opts.level_db[who] + float(rng.uniform(-opts.level_jitter_db, opts.level_jitter_db))
        turn: list[PlacedPrompt] = []
        cur = start
        for k in range(n):
            p, c = pools[who].take(want_short=backchannel)
            if k:
                cur += float(rng.uniform(*opts.intra_gap_s))
            g = gain - _speech_rms_db(c)
            spans = tuple((cur + s, cur + e) for s, e in c.spans)
            turn.append(PlacedPrompt(speakers[who], p, cur, cur + c.duration, spans, backchannel, g))
            cur += c.duration
        if placed and cur > opts.duration_s:
            break
        placed.extend(turn)
        prev_end = max(prev_end, cur)
        who = 1 - who
    total = prev_end + 0.5 + float(rng.uniform(0.0, 0.5))
    n_samples = int(math.ceil(total * SAMPLE_RATE))
    mix = np.zeros(n_samples, np.float32)
    for pp in placed:
        c = pools[0 if pp.speaker == speakers[0] else 1].bank.clip(pp.prompt)
        a = int(round(pp.start * SAMPLE_RATE))
        seg = c.audio * np.float32(10 ** (pp.gain_db / 20))
        mix[a : a + len(seg)] += seg[: n_samples - a]
    mix = _bandpass(mix, opts.band)
    nrng = np.random.default_rng(rng.integers(1 << 31))
    snr = float(rng.uniform(*opts.snr_db))
    speech_db = float(np.mean(opts.level_db))
    noise = _bandpass(nrng.standard_normal(n_samples).astype(np.float32), opts.band)
    noise *= np.float32(10 ** ((speech_db - snr - _rms_db(noise)) / 20))
    mix += noise
    if opts.hum_db is not None:
        tt = np.arange(n_samples) / SAMPLE_RATE
        hum = sum(np.sin(2 * np.pi * 50 * h * tt + h) / h for h in (1, 3, 5))
        mix += (hum * 10 ** ((opts.hum_db - _rms_db(hum)) / 20)).astype(np.float32)
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:
        mix *= np.float32(0.99 / peak)
    segs = tuple(
        Segment(pp.spans[0][0], pp.spans[-1][1], pp.speaker, pp.prompt.text or "")
        for pp in placed
        if pp.spans
    )
    turns = _merge_turns([(s, e, pp.speaker) for pp in placed for s, e in pp.spans], opts.split_pause_s)
    ref = Transcript(
        tuple(sorted(segs, key=lambda s: (s.start, s.end))),
        language="fr",
        duration=n_samples / SAMPLE_RATE,
        source=f"{name}.wav",
        speakers=tuple(speakers),
        turns=tuple(Segment(s, e, spk) for s, e, spk in turns),
    )
    return Conversation(name, mix, ref, tuple(placed), snr)


def _merge_turns(spans: list[tuple[float, float, str]], min_pause: float) -> list[tuple[float, float, str]]:
    """Same-speaker spans closer than ``min_pause`` (across prompts of one turn) become one."""
    out: list[tuple[float, float, str]] = []
    for spk in sorted({s[2] for s in spans}):
        mine = sorted((s, e) for s, e, k in spans if k == spk)
        cur = list(mine[0])
        for s, e in mine[1:]:
            if s - cur[1] < min_pause:
                cur[1] = max(cur[1], e)
            else:
                out.append((round(cur[0], 3), round(cur[1], 3), spk))
                cur = [s, e]
        out.append((round(cur[0], 3), round(cur[1], 3), spk))
    return sorted(out)


def write_conversation(conv: Conversation, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``<name>.wav`` (PCM 16-bit), ``<name>.rttm`` (the exact turns) and ``<name>.json``
    (the reference transcript) into ``out_dir``; returns the paths."""
    from asr.synth import _atomic_wav
    from asr.transcript import write_json, write_rttm

    out = Path(out_dir)
    paths = {
        "wav": out / f"{conv.name}.wav",
        "rttm": out / f"{conv.name}.rttm",
        "json": out / f"{conv.name}.json",
    }
    _atomic_wav(paths["wav"], conv.audio, conv.sample_rate)
    write_rttm(conv.turns, paths["rttm"], file_id=conv.name)
    write_json(conv.reference, paths["json"])
    return paths
