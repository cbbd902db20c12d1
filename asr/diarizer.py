"""One diarizer interface for every backend.

A :class:`Diarizer` is fed the audio window by window, as the front end decodes it
(``add(audio, regions, offset)``: the window's samples, its VAD speech regions relative to the
window, and the window's absolute start time), then ``finish(hook)`` returns the speaker turns
``(start, end, speaker)`` in absolute seconds. Windows may overlap (the front end re-sends the
tail of a window whose last speech region ran into the edge); each backend keeps only what it
needs.

* ``embedding``: :class:`asr.diarize.EmbeddingDiarizer` (keeps one vector per 0.4 s, and one
  per 0.2 s of 0.8 s windows for its fine relabelling pass).
* ``pyannote``: :class:`PyannoteDiarizer` (keeps the whole signal: pyannote needs it).
* ``none``: :class:`NoDiarizer` (one speaker, turns = speech regions).

:func:`make_diarizer` builds the one the options name, from already loaded models.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from asr.audio import SAMPLE_RATE
from asr.diarize import DiarizeOptions, EmbeddingDiarizer, Turn
from asr.progress import Hook, call_hook

__all__ = ["Diarizer", "NoDiarizer", "PyannoteDiarizer", "make_diarizer"]


@runtime_checkable
class Diarizer(Protocol):
    """Who spoke when, fed incrementally."""

    def add(self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0) -> None:
        """Take one audio window (mono float32 16 kHz) starting at ``offset`` seconds and its
        speech ``regions`` (seconds relative to the window; may be empty)."""
        ...

    def finish(self, hook: Hook | None = None) -> list[Turn]:
        """Speaker turns ``(start, end, speaker)`` of everything added, sorted by start;
        progress goes to ``hook(step, completed, total)``."""
        ...


class NoDiarizer:
    """One speaker: every speech region is a ``SPEAKER_00`` turn."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []

    def add(self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0) -> None:
        self.turns.extend((s + offset, e + offset, "SPEAKER_00") for s, e in regions)

    def finish(self, hook: Hook | None = None) -> list[Turn]:
        call_hook(hook, "regions", 1, 1)
        return sorted(self.turns)


class PyannoteDiarizer:
    """A pyannote.audio pipeline behind :class:`Diarizer`: the signal is reassembled from the
    windows (overlaps dropped) and the pipeline runs once in ``finish``."""

    def __init__(self, opts: DiarizeOptions, pipeline: Any = None):
        """``pipeline``: a loaded :func:`asr.diarize_pyannote.load_pyannote` handle; ``None``
        checks now that ``opts.pyannote_pipeline`` can be found (``ValueError`` otherwise) and
        loads it in ``finish``."""
        from asr.diarize_pyannote import check_source

        if pipeline is None:  # a wrong pipeline fails now, not after the ASR pass
            check_source(opts.pyannote_pipeline, allow_download=opts.allow_download)
        self.opts = opts
        self.pipeline = pipeline
        self._blocks: list[np.ndarray] = []
        self._end = 0  # samples received so far (absolute)

    def add(self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0) -> None:
        start = int(round(offset * SAMPLE_RATE))
        if start > self._end:  # a gap: pad with silence so times stay absolute
            self._blocks.append(np.zeros(start - self._end, np.float32))
            self._end = start
        new = audio[self._end - start :]
        if new.size:
            self._blocks.append(np.asarray(new, dtype=np.float32))
            self._end += new.size

    def finish(self, hook: Hook | None = None) -> list[Turn]:
        from asr.diarize_pyannote import PyannoteOptions, diarize_pyannote

        if not self._blocks:
            return []
        o = self.opts
        return diarize_pyannote(
            np.concatenate(self._blocks),
            PyannoteOptions(
                pipeline=o.pyannote_pipeline,
                token=o.pyannote_token,
                allow_download=o.allow_download,
                num_speakers=o.num_speakers,
                min_speakers=None if o.num_speakers else o.min_speakers,
                max_speakers=None if o.num_speakers else o.max_speakers,
            ),
            hook=hook,
            pipeline=self.pipeline,
        )


def make_diarizer(opts: DiarizeOptions, encoder: Any = None, pyannote_pipeline: Any = None) -> Diarizer:
    """The diarizer ``opts.backend`` names, using already loaded models where given
    (``encoder`` for ``embedding``, ``pyannote_pipeline`` for ``pyannote``; see
    :func:`asr.pipeline.load_front_end`)."""
    if opts.backend == "embedding":
        return EmbeddingDiarizer(opts, encoder=encoder)
    if opts.backend == "pyannote":
        return PyannoteDiarizer(opts, pipeline=pyannote_pipeline)
    if opts.backend == "none":
        return NoDiarizer()
    raise ValueError(f"DiarizeOptions.backend: unknown diarizer {opts.backend!r}")
