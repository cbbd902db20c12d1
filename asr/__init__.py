"""Speech front end: audio -> speaker-labelled French ``Transcript``.

Stages are plain functions with frozen option dataclasses and an optional progress
``hook(step, completed, total)``; see :mod:`asr.pipeline`.
"""

from asr.transcript import Segment, Transcript, Word

__all__ = ["Segment", "Transcript", "Word"]
