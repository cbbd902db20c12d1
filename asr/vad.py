"""Voice activity detection with Silero VAD (the ``silero-vad`` package ships its weights).

Quiet recordings (peak well below full scale) are gain-normalised before detection, since
Silero's speech probability depends on level; digital silence stays silent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from asr.audio import SAMPLE_RATE


@dataclass(frozen=True)
class VadOptions:
    """Silero VAD settings.

    Attributes:
        threshold: speech probability above which a 32 ms frame is speech (0..1).
        min_speech_ms: shorter speech bursts are dropped.
        min_silence_ms: pauses shorter than this do not split a region.
        speech_pad_ms: padding added on both sides of each region.
        normalize: scale quiet audio to a peak of 0.9 before detection (peaks below
            ``silence_peak`` are treated as silence and not boosted).
        silence_peak: peak amplitude under which audio counts as pure silence.
    """

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 300
    speech_pad_ms: int = 100
    normalize: bool = True
    silence_peak: float = 1e-3

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"VadOptions.threshold must be in (0, 1), got {self.threshold}")
        for name in ("min_speech_ms", "min_silence_ms", "speech_pad_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"VadOptions.{name} must be >= 0, got {getattr(self, name)}")
        if self.silence_peak < 0:
            raise ValueError(f"VadOptions.silence_peak must be >= 0, got {self.silence_peak}")


class SileroVad:
    """A loaded Silero VAD model. Load it once (:func:`load_vad`) and pass it to
    :func:`detect_speech`; a lock makes one handle safe to share between threads (the model
    keeps recurrent state between chunks)."""

    def __init__(self) -> None:
        try:
            from silero_vad import load_silero_vad
        except ImportError as e:  # pragma: no cover - dependency of the project
            raise RuntimeError("VAD needs the 'silero-vad' package: pip install silero-vad") from e
        self.model = load_silero_vad()
        self.lock = threading.Lock()


def load_vad() -> SileroVad:
    """Load the Silero VAD model that ships in the ``silero-vad`` wheel."""
    return SileroVad()


def normalize_gain(audio: np.ndarray, silence_peak: float = 1e-3, target_peak: float = 0.9) -> np.ndarray:
    """Scale ``audio`` to ``target_peak`` unless it is (near) silent; at most by 1/silence_peak."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= silence_peak or peak >= target_peak:
        return audio
    return (audio * (target_peak / peak)).astype(np.float32)


def detect_speech(
    audio: np.ndarray,
    opts: VadOptions | None = None,
    sample_rate: int = SAMPLE_RATE,
    model: SileroVad | None = None,
) -> list[tuple[float, float]]:
    """Speech regions of a mono 16 kHz signal, as (start, end) seconds, sorted, non-overlapping.

    ``model``: a :func:`load_vad` handle to reuse; ``None`` loads one for this call only."""
    import torch

    opts = opts or VadOptions()
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"detect_speech expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    if audio.size < 512:
        return []
    if float(np.max(np.abs(audio))) <= opts.silence_peak:
        return []
    x = normalize_gain(audio, opts.silence_peak) if opts.normalize else audio
    vad = model or load_vad()
    with vad.lock:
        vad.model.reset_states()
        ts = _get_ts(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), vad.model, opts)
    return [(t["start"] / SAMPLE_RATE, t["end"] / SAMPLE_RATE) for t in ts]


def _get_ts(x, model, opts: VadOptions):
    from silero_vad import get_speech_timestamps

    return get_speech_timestamps(
        x,
        model,
        threshold=opts.threshold,
        sampling_rate=SAMPLE_RATE,
        min_speech_duration_ms=opts.min_speech_ms,
        min_silence_duration_ms=opts.min_silence_ms,
        speech_pad_ms=opts.speech_pad_ms,
    )


def pad_regions(
    regions: list[tuple[float, float]], pad: float, limit: float | None = None
) -> list[tuple[float, float]]:
    """Widen each (start, end) region by ``pad`` seconds on both sides, clipped to
    ``[0, limit]``; where two padded regions would overlap, the pause between them is split
    at its middle (they touch but stay two regions), as Silero's own ``speech_pad_ms`` does.

    Args:
        regions: sorted, non-overlapping (start, end) seconds.
        pad: seconds added on each side (0 returns the regions unchanged).
        limit: end of the audio the regions live in (``None``: no upper clip).
    Returns:
        sorted, non-overlapping regions, one per input region (empty ones dropped).
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if pad == 0:
        return [(s, e) for s, e in regions if limit is None or s < limit]
    out: list[tuple[float, float]] = []
    n = len(regions)
    for i, (s, e) in enumerate(regions):
        lo = max(0.0, s - pad)
        hi = e + pad
        if i > 0:
            lo = max(lo, (regions[i - 1][1] + s) / 2)
        if i + 1 < n:
            hi = min(hi, (e + regions[i + 1][0]) / 2)
        if limit is not None:
            hi = min(hi, limit)
        if hi > lo:
            out.append((lo, hi))
    return out
