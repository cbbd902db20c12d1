"""The one progress-hook type of the project (standard library only).

Long work reports progress through ``hook(step, completed, total)``: ``step`` names the stage
(``"transcribe"``, ``"diarize"``, ``"form"``, ``"summary"``, ``"train"``...), ``completed`` and
``total`` are numbers in the stage's own unit (seconds of audio, steps, chunks). Every stage takes
``hook=None`` and forwards it to the stages it calls; the library never prints: the apps turn the
calls into tqdm bars (only on a terminal), ``gr.Progress`` or log lines.
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[[str, float, float], None]


def call_hook(hook: Hook | None, step: str, completed: float, total: float) -> None:
    """Call ``hook`` if there is one."""
    if hook is not None:
        hook(step, completed, total)


def prefixed(hook: Hook | None, prefix: str) -> Hook | None:
    """A hook that reports ``prefix/step`` to ``hook`` (``None`` stays ``None``)."""
    if hook is None:
        return None

    def _hook(step: str, completed: float, total: float) -> None:
        hook(f"{prefix}/{step}", completed, total)

    return _hook
