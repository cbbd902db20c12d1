"""Speech recognition backends behind one small interface.

``AsrBackend.recognize(audio, regions, offset) -> (words, language)`` transcribes the speech
``regions`` (seconds, relative to ``audio``) of a mono 16 kHz array and returns words with
absolute times (``offset`` added). Only speech regions are decoded: they are concatenated
with short silent gaps, decoded in one go, and word times are mapped back.

Backends:

* ``faster-whisper`` (default): CTranslate2, int8 on CPU, on the bundled Whisper base
  weights or any CT2 directory / size name.
* ``transformers``: ``WhisperForConditionalGeneration`` from any local directory or hub id
  (hub ids only download when the user is online and asks for one).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from asr.audio import SAMPLE_RATE
from asr.transcript import Word

log = logging.getLogger(__name__)

BACKENDS = ("faster-whisper", "transformers")
GAP_SECONDS = 0.3  # silence inserted between concatenated speech regions


@dataclass(frozen=True)
class AsrOptions:
    """Recognition settings.

    Attributes:
        backend: ``faster-whisper`` or ``transformers``.
        model: model directory, hub id or size name; ``None`` = bundled Whisper base.
        language: forced language code (default French); ``None`` detects it.
        beam_size: beam width (1 = greedy).
        compute_type: CTranslate2 compute type (``int8``, ``int8_float32``, ``float32``...).
        device: ``cpu`` or ``cuda``.
        cpu_threads: threads for CTranslate2 (0 = its default).
        condition_on_previous_text: feed the previous window's text as prompt (off by
            default: it makes hallucination loops less likely on noisy calls).
    """

    backend: str = "faster-whisper"
    model: str | None = None
    language: str | None = "fr"
    beam_size: int = 5
    compute_type: str = "int8"
    device: str = "cpu"
    cpu_threads: int = 0
    condition_on_previous_text: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"AsrOptions.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.beam_size < 1:
            raise ValueError(f"AsrOptions.beam_size must be >= 1, got {self.beam_size}")
        if self.language is not None and not (2 <= len(self.language) <= 3 and self.language.isalpha()):
            raise ValueError(f"AsrOptions.language must be a language code like 'fr' or None, got {self.language!r}")
        if self.cpu_threads < 0:
            raise ValueError(f"AsrOptions.cpu_threads must be >= 0, got {self.cpu_threads}")


class AsrBackend(Protocol):
    def recognize(
        self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0
    ) -> tuple[list[Word], str | None]: ...


# --------------------------------------------------------------------------- region packing


@dataclass(frozen=True)
class _Packed:
    audio: np.ndarray
    # (packed_start, packed_end, original_start) per region, seconds
    spans: tuple[tuple[float, float, float], ...]

    def to_original(self, t: float) -> float:
        best = self.spans[0]
        for s in self.spans:
            if t >= s[0]:
                best = s
            else:
                break
        ps, pe, os_ = best
        return os_ + min(max(t, ps), pe) - ps


def pack_regions(audio: np.ndarray, regions: list[tuple[float, float]]) -> _Packed:
    """Concatenate speech regions with ``GAP_SECONDS`` of silence between them."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), np.float32)
    parts, spans, pos = [], [], 0.0
    for s, e in regions:
        a = audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)]
        if a.size == 0:
            continue
        if parts:
            parts.append(gap)
            pos += gap.size / SAMPLE_RATE
        parts.append(a)
        spans.append((pos, pos + a.size / SAMPLE_RATE, s))
        pos += a.size / SAMPLE_RATE
    return _Packed(np.concatenate(parts) if parts else np.zeros(0, np.float32), tuple(spans))


def _words_back(packed: _Packed, raw: list[tuple[str, float, float, float | None]], offset: float) -> list[Word]:
    """Map packed times back; glue pieces that Whisper emits without a leading space
    (``l`` + ``'accident``, ``excusez`` + ``-nous``) into one word."""
    out: list[Word] = []
    for text, s, e, p in raw:
        glue = bool(out) and not text[:1].isspace() and text.strip()[:1] in ("'", "’", "-")
        text = text.strip()
        if not text:
            continue
        os_, oe = float(packed.to_original(s) + offset), float(packed.to_original(e) + offset)
        if glue:
            prev = out[-1]
            prob = p if prev.prob is None else (prev.prob if p is None else min(prev.prob, p))
            out[-1] = Word(prev.text + text, prev.start, max(prev.end, oe), prob)
        else:
            out.append(Word(text, os_, max(os_, oe), None if p is None else float(p)))
    return out


# --------------------------------------------------------------------------- faster-whisper

_fw_cache: dict[tuple, object] = {}
_fw_lock = threading.Lock()


class FasterWhisperBackend:
    """faster-whisper (CTranslate2) backend."""

    def __init__(self, opts: AsrOptions):
        from asr.models import resolve_whisper

        try:
            from faster_whisper import WhisperModel
        except ImportError as e:  # pragma: no cover
            raise RuntimeError("the faster-whisper backend needs: pip install faster-whisper") from e
        self.opts = opts
        path = resolve_whisper(opts.model)
        key = (path, opts.device, opts.compute_type, opts.cpu_threads)
        with _fw_lock:
            if key not in _fw_cache:
                try:
                    _fw_cache[key] = WhisperModel(
                        path,
                        device=opts.device,
                        compute_type=opts.compute_type,
                        cpu_threads=opts.cpu_threads,
                        local_files_only=True if _is_local(path) else False,
                    )
                except Exception as e:
                    raise RuntimeError(f"cannot load faster-whisper model {path!r}: {e}") from e
            self.model = _fw_cache[key]

    def recognize(self, audio, regions, offset=0.0):
        packed = pack_regions(audio, regions)
        if packed.audio.size == 0:
            return [], self.opts.language
        segments, info = self.model.transcribe(
            packed.audio,
            language=self.opts.language,
            task="transcribe",
            beam_size=self.opts.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=self.opts.condition_on_previous_text,
        )
        raw = []
        for seg in segments:
            for w in seg.words or ():
                raw.append((w.word, w.start, w.end, w.probability))
        return _words_back(packed, raw, offset), info.language


def _is_local(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()


# --------------------------------------------------------------------------- transformers

_hf_cache: dict[tuple, object] = {}


class TransformersBackend:
    """transformers Whisper backend (any local directory or hub id).

    ``model=None`` uses the bundled Whisper base converted once to a transformers checkpoint
    (see :mod:`asr.convert`).
    """

    def __init__(self, opts: AsrOptions):
        try:
            import torch  # noqa: F401
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError as e:  # pragma: no cover
            raise RuntimeError("the transformers backend needs: pip install transformers torch") from e
        self.opts = opts
        src = opts.model
        if src is None or src in ("whisper-base", "base", "bundled"):
            from asr.convert import cached_transformers_whisper

            src = str(cached_transformers_whisper())
        key = (src, opts.device)
        if key not in _hf_cache:
            try:
                proc = WhisperProcessor.from_pretrained(src)
                model = WhisperForConditionalGeneration.from_pretrained(src).to(opts.device).eval()
            except Exception as e:
                raise RuntimeError(f"cannot load transformers Whisper model {src!r}: {e}") from e
            _hf_cache[key] = (proc, model)
        self.processor, self.model = _hf_cache[key]

    def recognize(self, audio, regions, offset=0.0):
        import torch
        from transformers import pipeline

        packed = pack_regions(audio, regions)
        if packed.audio.size == 0:
            return [], self.opts.language
        pipe = pipeline(
            "automatic-speech-recognition",
            model=self.model,
            tokenizer=self.processor.tokenizer,
            feature_extractor=self.processor.feature_extractor,
            chunk_length_s=30,
            device=self.opts.device,
        )
        gen = {"task": "transcribe", "num_beams": self.opts.beam_size}
        if self.opts.language:
            gen["language"] = self.opts.language
        with torch.inference_mode():
            out = pipe(
                {"raw": packed.audio, "sampling_rate": SAMPLE_RATE},
                return_timestamps="word",
                generate_kwargs=gen,
            )
        raw = []
        for ch in out.get("chunks") or ():
            s, e = ch["timestamp"]
            if s is None:
                continue
            raw.append((ch["text"], float(s), float(e if e is not None else s), None))
        return _words_back(packed, raw, offset), self.opts.language


def make_backend(opts: AsrOptions) -> AsrBackend:
    """Build the backend ``opts.backend`` names."""
    if opts.backend == "faster-whisper":
        return FasterWhisperBackend(opts)
    return TransformersBackend(opts)
