"""The one progress adapter of the command line: ``hook(step, completed, total)`` -> tqdm bars.

One bar per step (a new step closes the last), labelled in French where a label is known,
drawn on standard error and only on a terminal (never with ``--quiet``). Off a terminal (a long
training run under ``nohup`` writing a log), ``log_every`` turns the bars into plain dated lines:
one when a step starts, at most one per ``log_every`` seconds, one when it ends.
The Gradio app has its own adapter to ``gr.Progress`` (:mod:`apps.demo`).
"""

from __future__ import annotations

import sys
import time

LABELS = {
    "train": "entraînement",
    "load": "chargement",
    "bottom": "couches gelées (une fois par appel)",
    "perplexity": "perplexité",
    "calibration": "calibration",
    "prune": "élagage",
    "prune_width": "élagage (largeur)",
    "prune_depth": "élagage (profondeur)",
    "activations": "activations",
    "grams": "activations (Gram)",
    "svd": "SVD",
    "trim": "vocabulaire",
    "asr/transcribe": "transcription (s d'audio)",
    "asr/diarize": "locuteurs",
    "form": "fiche SAMU",
    "summary": "résumé",
    "pseudonymize": "pseudonymisation",
}


def on_terminal() -> bool:
    return sys.stderr.isatty()


class ProgressBars:
    """A ``hook(step, done, total)`` drawing one tqdm bar per step (a new step closes the last).

    Args:
        enabled: draw anything at all (``False`` with ``--quiet``); bars are drawn only on a
            terminal either way.
        prefix: text before the step label (e.g. the file name).
        log_every: off a terminal, write a plain progress line at most every ``log_every``
            seconds (and at each step's start and end); ``None``: nothing off a terminal.
    """

    def __init__(self, enabled: bool = True, prefix: str = "", log_every: float | None = None):
        self.enabled = enabled and on_terminal()
        self.log_every = log_every if enabled and not self.enabled else None
        self.prefix = prefix
        self.bar = None
        self.stage = None
        self._logged = (None, 0.0)  # (stage, time of its last line)

    def _log(self, stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        last_stage, last = self._logged
        end = bool(total) and done >= total
        if stage == last_stage and not end and now - last < self.log_every:
            return
        self._logged = (stage, now)
        label = f"{self.prefix} {LABELS.get(stage, stage)}".strip()
        pct = f" ({100 * done / total:.0f} %)" if total else ""
        n = f"{done:g}/{total:g}" if total else f"{done:g}"
        print(f"[{time.strftime('%H:%M:%S')}] {label} : {n}{pct}", file=sys.stderr, flush=True)

    def __call__(self, stage: str, done: float, total: float) -> None:
        if self.log_every is not None:
            self._log(stage, done, total)
            return
        if not self.enabled:
            return
        from tqdm import tqdm

        if (
            stage != self.stage
            or self.bar is None
            or (total and self.bar.total != total)
            or done < self.bar.n
        ):
            self.close()
            self.stage = stage
            label = LABELS.get(stage, stage)
            self.bar = tqdm(
                total=total or None,
                desc=f"{self.prefix} {label}".strip()[:40],
                unit="",
                leave=False,
                file=sys.stderr,
            )
        self.bar.update(done - self.bar.n)
        if total and done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.stage = None


def file_bar(items, desc: str, quiet: bool):
    """The outer bar of a batch (one tick per input), on a terminal only."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="fichier", disable=quiet or not on_terminal(), file=sys.stderr)
