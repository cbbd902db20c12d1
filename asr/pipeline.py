"""The front end in one call: audio -> speaker-labelled ``Transcript``.

``transcribe(source, opts, hook)`` decodes the audio in windows (``window_s``, default 120 s),
so memory is bounded whatever the length: each window is VAD-ed, its speech is recognised
(Whisper sees only speech, features for at most about two windows exist at once), and each
speech window is embedded for diarization (a 256-float vector per 0.4 s is all that is
kept). Whisper's language identification runs once, on the first 30 s of speech (from the
encoder output of the first decoded window), even with a forced language: the transcript
reports the language heard (``detected_language``). Whisper hears ``asr_pad_s`` more than
each VAD region. Window edges are moved to the start of the last speech region when speech
runs into the edge, so words are not cut. Clustering runs once at the end, then words are assigned to
speakers and grouped into segments; for calls, speakers get roles.

Every diarizer backend sits behind :class:`asr.diarizer.Diarizer` (``add`` per window,
``finish(hook)`` once); with ``pyannote`` the whole signal is held in memory (pyannote needs
it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.assign import words_to_segments
from asr.audio import SAMPLE_RATE, probe, stream_audio
from asr.diarize import DiarizeOptions, load_encoder
from asr.diarizer import make_diarizer
from asr.progress import Hook, call_hook, prefixed
from asr.recognize import AsrBackend, AsrOptions, make_backend
from asr.roles import RoleOptions, label_roles
from asr.transcript import Segment, Transcript, Word
from asr.vad import SileroVad, VadOptions, detect_speech, load_vad, pad_regions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    """Front-end settings.

    Attributes:
        asr / vad / diarize: stage options.
        roles: label speakers ``regulateur``/``appelant`` (calls).
        rename_speakers: with ``roles``, rename speakers to their role instead of keeping
            ``SPEAKER_00`` labels plus a ``roles`` map.
        window_s: audio processed per window (bounded memory), seconds.
        max_gap: a pause longer than this starts a new segment, seconds.
        asr_pad_s: context Whisper gets on each side of every VAD speech region, seconds
            (a pause shorter than twice this is split at its middle, as Silero's own
            padding does). Silero's ``vad.speech_pad_ms`` stays tight for diarization;
            Whisper lost word onsets and endings cut that close: 0.3 s took FLEURS fr WER
            from 31.7 % to 23.6 % (5 clips, 161 words, the set it was tuned on).
    """

    asr: AsrOptions = field(default_factory=AsrOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    diarize: DiarizeOptions = field(default_factory=DiarizeOptions)
    roles: bool = False
    role_options: RoleOptions = field(default_factory=RoleOptions)
    rename_speakers: bool = False
    window_s: float = 120.0
    max_gap: float = 2.0
    asr_pad_s: float = 0.3

    def __post_init__(self) -> None:
        if not 10.0 <= self.window_s <= 1800.0:
            raise ValueError(f"PipelineOptions.window_s must be in [10, 1800] seconds, got {self.window_s}")
        if self.max_gap <= 0:
            raise ValueError(f"PipelineOptions.max_gap must be > 0, got {self.max_gap}")
        if not 0.0 <= self.asr_pad_s <= 2.0:
            raise ValueError(f"PipelineOptions.asr_pad_s must be in [0, 2] seconds, got {self.asr_pad_s}")


@dataclass
class FrontEnd:
    """The front end's loaded models, built once by :func:`load_front_end` and passed to every
    :func:`transcribe` call (as openai-whisper's ``load_model`` then ``transcribe(model, ...)``).

    Attributes:
        opts: the options the models were loaded for.
        asr: the speech recogniser (faster-whisper or transformers backend).
        vad: the Silero VAD model.
        encoder: the Resemblyzer speaker encoder (embedding diarizer), else ``None``.
        pyannote: the loaded pyannote pipeline (pyannote diarizer), else ``None``.
        lock: held while a file is transcribed: one handle serves one file at a time, so a
            server or a pool of workers can share it safely.
    """

    opts: PipelineOptions
    asr: AsrBackend
    vad: SileroVad
    encoder: object | None = None
    pyannote: object | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load_front_end(opts: PipelineOptions | None = None, hook: Hook | None = None) -> FrontEnd:
    """Load every model the front end needs for ``opts`` (recogniser, VAD, diarizer).

    ``hook("load", i, n)`` reports each model loaded.

    Raises:
        ValueError: a model named in ``opts`` does not exist (message names it).
        RuntimeError: a model exists but cannot be loaded, or a backend is not installed.
    """
    opts = opts or PipelineOptions()
    lang = opts.asr.language
    if lang is not None and opts.asr.backend == "faster-whisper":
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if lang not in _LANGUAGE_CODES:
            raise ValueError(
                f"AsrOptions.language: unknown language code {lang!r} (e.g. 'fr', 'en', or None to detect)"
            )
    n = 3
    call_hook(hook, "load", 0, n)
    pyannote = None
    if opts.diarize.backend == "pyannote":  # a wrong pipeline fails before anything heavy loads
        from asr.diarize_pyannote import PyannoteOptions, load_pyannote

        pyannote = load_pyannote(
            PyannoteOptions(
                pipeline=opts.diarize.pyannote_pipeline,
                token=opts.diarize.pyannote_token,
                allow_download=opts.diarize.allow_download,
            )
        )
    backend = make_backend(opts.asr)
    call_hook(hook, "load", 1, n)
    vad = load_vad()
    call_hook(hook, "load", 2, n)
    encoder = load_encoder() if opts.diarize.backend == "embedding" else None
    call_hook(hook, "load", 3, n)
    return FrontEnd(opts=opts, asr=backend, vad=vad, encoder=encoder, pyannote=pyannote)


def _blocks_from_array(x: np.ndarray, n: int) -> Iterator[np.ndarray]:
    for i in range(0, len(x), n):
        yield x[i : i + n]


def _lookahead(it: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
    prev = next(it, None)
    while prev is not None:
        nxt = next(it, None)
        yield prev, nxt is None
        prev = nxt


def transcribe(
    source: str | os.PathLike | np.ndarray,
    opts: PipelineOptions | None = None,
    hook: Hook | None = None,
    models: FrontEnd | None = None,
) -> Transcript:
    """Transcribe and diarize ``source`` (a file path, or a mono float32 16 kHz array).

    Args:
        source: audio file (any format :mod:`asr.audio` decodes) or array.
        opts: pipeline options (French forced, bundled Whisper base, offline diarizer);
            default: ``models.opts``, else the defaults.
        hook: optional progress callback ``hook(step, completed, total)``; steps are
            ``"transcribe"`` (seconds of audio done / total seconds) and ``"diarize"``.
        models: the loaded models (:func:`load_front_end`); ``None`` loads them for this call
            only, which is slow in a loop: load once and pass them in.

    Returns:
        A ``Transcript``; pure silence gives one with no segments.

    Raises:
        ValueError: unreadable, empty or undecodable input (message names the file).
    """
    opts = opts or (models.opts if models is not None else PipelineOptions())
    if models is None:
        models = load_front_end(opts)
    elif opts.asr != models.opts.asr:
        # the recogniser keeps the options it was loaded with (model, device, decoding)
        log.warning(
            "transcribe: the loaded front end was built for other ASR options (%s); they are the "
            "ones used; call load_front_end(opts) to use %s",
            models.opts.asr,
            opts.asr,
        )
    with models.lock:
        return _transcribe(source, opts, hook, models)


def _transcribe(source, opts: PipelineOptions, hook: Hook | None, models: FrontEnd) -> Transcript:
    t0 = time.perf_counter()
    win = int(opts.window_s * SAMPLE_RATE)
    if isinstance(source, np.ndarray):
        if source.ndim != 1:
            raise ValueError(f"audio array must be mono 1-D, got shape {source.shape}")
        if source.size == 0:
            raise ValueError("audio array is empty")
        name, total = None, source.size / SAMPLE_RATE
        blocks = _blocks_from_array(source.astype(np.float32, copy=False), win)
    else:
        info = probe(source)
        name, total = Path(source).name, info.duration or 0.0
        blocks = stream_audio(info, SAMPLE_RATE, block_seconds=opts.window_s)

    backend = models.asr
    # a wrong pyannote pipeline fails here, before the ASR pass
    diarizer = make_diarizer(opts.diarize, encoder=models.encoder, pyannote_pipeline=models.pyannote)
    words: list[Word] = []
    language = opts.asr.language
    detected: tuple[str, float] | None = None
    identify = opts.asr.detect_language and hasattr(backend, "detect_language")
    carry = np.zeros(0, np.float32)
    offset = 0.0  # absolute time of carry[0]
    done = 0.0
    for block, last in _lookahead(iter(blocks)):
        buf = np.concatenate([carry, block]) if carry.size else block
        regions = detect_speech(buf, opts.vad, model=models.vad)
        cut = len(buf)
        if not last and regions:
            buf_dur = len(buf) / SAMPLE_RATE
            s_last, e_last = regions[-1]
            if buf_dur - e_last < 0.3 and s_last > 0.5 and len(buf) - int(s_last * SAMPLE_RATE) < win:
                # speech runs into the edge: keep its region for the next window
                cut = int(s_last * SAMPLE_RATE)
                regions = regions[:-1]
        # Whisper hears a little more than the tight VAD regions, never past the cut (the
        # carried region is decoded with the next window)
        asr_regions = pad_regions(regions, opts.asr_pad_s, cut / SAMPLE_RATE)
        if asr_regions and identify:
            # once per file, on the first 30 s of speech (the first window that has any)
            identify = False
            if hasattr(backend, "recognize_identify"):  # from the decoding's own encoder pass
                w, lang, detected = backend.recognize_identify(buf, asr_regions, offset=offset)
            else:
                detected = backend.detect_language(buf, asr_regions)
                w, lang = backend.recognize(buf, asr_regions, offset=offset)
        elif asr_regions:
            w, lang = backend.recognize(buf, asr_regions, offset=offset)
        if asr_regions:
            words.extend(w)
            language = language or lang
        diarizer.add(buf[:cut], regions, offset=offset)
        carry = buf[cut:].copy() if cut < len(buf) else np.zeros(0, np.float32)
        offset += cut / SAMPLE_RATE
        done += block.size / SAMPLE_RATE
        if hook:
            hook("transcribe", min(done, max(total, done)), max(total, done))
    duration = done
    if hook:
        hook("diarize", 0, 1)
    turns = diarizer.finish(prefixed(hook, "diarize"))
    if hook:
        hook("diarize", 1, 1)
    segs = words_to_segments(words, turns, max_gap=opts.max_gap)
    t = Transcript(
        segs,
        language=language,
        duration=duration,
        source=name,
        speakers=_speakers_in_order(segs, turns),
        turns=tuple(Segment(s, e, spk) for s, e, spk in turns),
        detected_language=detected[0] if detected else None,
        language_probability=detected[1] if detected else None,
    )
    if detected and detected[0] != (opts.asr.language or detected[0]):
        log.info("%s: language %s forced, Whisper hears %s (p=%.2f)", name or "array", language, *detected)
    if opts.roles and t.speakers:
        t = label_roles(t, opts.role_options, rename=opts.rename_speakers)
    log.info("transcribed %s: %.1f s audio in %.1f s", name or "array", duration, time.perf_counter() - t0)
    return t


def _speakers_in_order(segs, turns) -> tuple[str, ...]:
    """Speakers by first appearance in the words, then any heard only in the turns."""
    out: list[str] = []
    for s in segs:
        if s.speaker is not None and s.speaker not in out:
            out.append(s.speaker)
    for _, _, spk in sorted(turns):
        if spk not in out:
            out.append(spk)
    return tuple(out)
