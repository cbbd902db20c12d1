"""Batch runner shared by the file-processing commands (transcribe, and later the heads).

One bad file never stops the batch: each failure is recorded with its reason, the batch goes
on, outputs are written atomically by the writers, finished inputs are skipped on a rerun
unless ``overwrite``, and the caller exits non-zero when anything failed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# transcript inputs of the text heads, in order of preference when one folder holds several
# transcripts of the same call (simsamu: <rec>.json and <rec>.srt)
TRANSCRIPT_EXTENSIONS = (".json", ".srt", ".vtt", ".txt")


def transcript_or_audio(outputs: Sequence[str] = ()) -> Callable[[Path], bool]:
    """An ``accept`` for :func:`expand_inputs`: transcripts and audio files, but neither hidden
    files nor the command's own outputs (names ending with one of ``outputs``)."""
    from asr.audio import is_audio_path

    ends = tuple(outputs)

    def accept(p: Path) -> bool:
        name = p.name.lower()
        if name.startswith(".") or (ends and name.endswith(ends)):
            return False
        return p.suffix.lower() in TRANSCRIPT_EXTENSIONS or is_audio_path(p)

    return accept


def one_per_stem(files: Iterable[Path]) -> list[Path]:
    """Keep one input per call (same folder, same stem), in first-seen order: JSON over SRT over
    VTT over TXT over anything else (audio), so a call is never processed twice."""
    rank = {ext: i for i, ext in enumerate(TRANSCRIPT_EXTENSIONS)}
    best: dict[tuple[Path, str], Path] = {}
    for f in files:
        key = (f.parent, f.name.split(".")[0])
        cur = best.get(key)
        if cur is None or rank.get(f.suffix.lower(), 9) < rank.get(cur.suffix.lower(), 9):
            best[key] = f
    return list(best.values())


def load_llm(model: str | None):
    """The LLM a CLI runs (:class:`core_training.generate.LocalLLM`) and ``None``, or ``None``
    and a one-line French error to print before exiting 2."""
    from core_training.generate import LocalLLM

    try:
        return LocalLLM(model), None
    except (ValueError, RuntimeError, OSError) as e:
        return None, f"erreur : impossible de charger le modèle {model or 'gemma3-270m'} : {e}"


def failure_reason(e: BaseException) -> str:
    """What to tell the user about a failed input: our own errors (``ValueError`` for bad input,
    ``RuntimeError``/``OSError`` for outside tools and files) carry a readable message; anything
    else is unexpected and keeps its type name."""
    return str(e) if isinstance(e, (ValueError, RuntimeError, OSError)) else f"{type(e).__name__}: {e}"


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)

    @property
    def ok(self) -> bool:
        return not self.failed

    def fail(self, path: str | os.PathLike, e: BaseException) -> None:
        """Record ``path`` as failed with :func:`failure_reason` (traceback at DEBUG only)."""
        self.failed.append((str(path), failure_reason(e)))
        log.debug("failed on %s", path, exc_info=e)

    def summary(self) -> str:
        lines = [
            f"{len(self.done)} traité(s), {len(self.skipped)} ignoré(s) (déjà faits), {len(self.failed)} en échec"
        ]
        for path, why in self.failed:
            lines.append(f"  ÉCHEC {path} : {why}")
        return "\n".join(lines)


def expand_inputs(
    inputs: Sequence[str | os.PathLike], accept: Callable[[Path], bool]
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand directories (sorted, non-recursive, files ``accept`` keeps); keep explicit files
    as given. Missing paths and empty directories come back as failures."""
    files: list[Path] = []
    bad: list[tuple[str, str]] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and accept(f))
            if not found:
                bad.append((str(p), "dossier sans fichier d'un type pris en charge"))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            bad.append((str(p), "fichier ou dossier introuvable"))
    return files, bad


def output_stems(files: Iterable[Path]) -> dict[Path, str]:
    """A distinct output stem per input: the file stem, suffixed with -2, -3... on clashes."""
    seen: dict[str, int] = {}
    out = {}
    for f in files:
        stem = f.name.split(".")[0] or f.stem
        n = seen.get(stem, 0) + 1
        seen[stem] = n
        out[f] = stem if n == 1 else f"{stem}-{n}"
    return out
