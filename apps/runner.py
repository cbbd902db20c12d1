"""The one batch runner under every file-processing command (``process``, ``transcribe``,
``samu-form``, ``summarize``), for the local and the Ray engine.

- **Input expansion** (:func:`expand_inputs`): explicit files are taken as given; folders are
  walked recursively (hidden files and folders skipped, sorted), keeping transcripts and audio
  but never the project's own outputs (``.form.json``, ``.rs-eda.json``, ``.summary.*``,
  ``.report.html``, ``.pseudo.json``, ``index.*``, ``manifest.json``); one input per call (same
  folder, same stem): transcript JSON over SRT over VTT over TXT over audio.
- **Stable output names** (:func:`assign_stems`): an input found in folder ``D`` at ``D/a/x.ogg``
  writes ``OUT/a/x.*``; an explicit file writes ``OUT/x.*``. A name that another input already
  owns (in this batch or in the manifest) gets ``-<hash of the input path>``; an input keeps the
  name the manifest gave it on an earlier run.
- **Manifest** (``OUT/manifest.json``): per output stem, the input (absolute path, SHA-256 of its
  content), the settings of the job and the files written. A rerun skips exactly the inputs
  whose content, settings and outputs are unchanged and present; anything else is redone.
- **Atomic output sets**: all files of one input are rendered in memory, written into a staging
  folder in ``OUT``, then renamed into place, then recorded in the manifest: a full disk or a
  crash never leaves a form without its RS-EDA message in the manifest, and a rerun redoes it.
- **Failures**: one line per failed input, the batch goes on, exit code 1 at the end;
  settings that fail for every input (unknown model, language, device, an ``--out`` that cannot
  be written) are rejected before any work with exit code 2; Ctrl-C stops cleanly with one line
  and exit code 130.
- ``index.csv`` / ``index.jsonl`` list every input of the output folder (file, duration,
  speakers, motif, priority, decision, status, error).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from apps.pipeline import OUTPUT_SUFFIXES
from apps.progress import ProgressBars, file_bar
from asr.transcript import json_dumps_strict

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
INDEX_FILES = ("index.csv", "index.jsonl")
INDEX_FIELDS = ("file", "output", "duration", "speakers", "motif", "priority", "decision", "status", "error")
TRANSCRIPT_EXTENSIONS = (".json", ".srt", ".vtt", ".txt")  # in order of preference for one call
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# --------------------------------------------------------------------------- inputs


def is_output_name(name: str) -> bool:
    """A file the project writes (never an input when a folder is expanded)."""
    low = name.lower()
    return low.endswith(OUTPUT_SUFFIXES) or low in (MANIFEST, *INDEX_FILES)


def accept_transcript_or_audio(p: Path) -> bool:
    """Transcripts and audio files, but not the project's own outputs nor hidden files."""
    from asr.audio import is_audio_path

    if p.name.startswith(".") or is_output_name(p.name):
        return False
    return p.suffix.lower() in TRANSCRIPT_EXTENSIONS or is_audio_path(p)


def accept_audio(p: Path) -> bool:
    from asr.audio import is_audio_path

    return not p.name.startswith(".") and is_audio_path(p)


@dataclass(frozen=True)
class Input:
    """One input file and where it was found (``root``: the folder given on the command line,
    ``None`` for an explicit file)."""

    path: Path
    root: Path | None = None

    @property
    def relative_stem(self) -> str:
        """``a/x`` for ``root/a/x.ogg``; ``x`` for an explicit file."""
        base = self.path.name.split(".")[0] or self.path.stem
        if self.root is None:
            return base
        rel = self.path.parent.resolve().relative_to(self.root.resolve())
        return (rel / base).as_posix() if rel.parts else base


def _walk(folder: Path, accept: Callable[[Path], bool]) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file() and accept(p):
                found.append(p)
    return found


def one_per_call(files: Iterable[Input]) -> list[Input]:
    """Keep one input per call (same folder, same stem), in first-seen order: JSON over SRT over
    VTT over TXT over anything else (audio), so a call is never processed twice."""
    rank = {ext: i for i, ext in enumerate(TRANSCRIPT_EXTENSIONS)}
    best: dict[tuple[Path, str], Input] = {}
    for f in files:
        key = (f.path.parent.resolve(), f.path.name.split(".")[0])
        cur = best.get(key)
        if cur is None or rank.get(f.path.suffix.lower(), 9) < rank.get(cur.path.suffix.lower(), 9):
            best[key] = f
    return list(best.values())


def expand_inputs(
    inputs: Sequence[str | os.PathLike],
    accept: Callable[[Path], bool] = accept_transcript_or_audio,
    one_per_stem: bool = True,
    exclude: Path | None = None,
) -> tuple[list[Input], list[tuple[str, str]]]:
    """Expand the command line's inputs (see the module docstring).

    Returns:
        ``(inputs, failures)``: missing paths and folders without a usable file are failures.
    """
    files: list[Input] = []
    bad: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            # the output folder inside an input folder is not input (when they are the same folder,
            # the project's own outputs are still left out by name)
            skip = exclude.resolve() if exclude is not None and exclude.resolve() != p.resolve() else None
            found = [f for f in _walk(p, accept) if skip is None or not f.resolve().is_relative_to(skip)]
            if not found:
                bad.append((str(p), "dossier sans fichier d'un type pris en charge"))
            items = [Input(f, p) for f in found]
        elif p.is_file():
            items = [Input(p)]
        else:
            bad.append((str(p), "fichier ou dossier introuvable"))
            continue
        for it in items:
            r = it.path.resolve()
            if r not in seen:
                seen.add(r)
                files.append(it)
    return (one_per_call(files) if one_per_stem else files), bad


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _path_tag(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- manifest


class Manifest:
    """``OUT/manifest.json``: which input (path + content hash) and settings made which outputs."""

    def __init__(self, out: Path):
        self.out = out
        self.path = out / MANIFEST
        self.entries: dict[str, dict] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = dict(data.get("entries", {}))
            except (json.JSONDecodeError, AttributeError, UnicodeDecodeError) as e:
                log.warning("manifest %s unreadable (%s): every input will be redone", self.path, e)

    def stem_of(self, path: Path) -> str | None:
        r = str(path.resolve())
        for stem, e in self.entries.items():
            if e.get("input") == r:
                return stem
        return None

    def owner(self, stem: str) -> str | None:
        e = self.entries.get(stem)
        return e.get("input") if e else None

    def is_done(self, stem: str, path: Path, sha: str, job: str) -> bool:
        e = self.entries.get(stem)
        if not e or e.get("input") != str(path.resolve()) or e.get("sha256") != sha:
            return False
        run = e.get("jobs", {}).get(job)
        return (
            bool(run) and run.get("status") == "done" and all((self.out / f).exists() for f in run["outputs"])
        )

    def record(self, stem: str, path: Path, sha: str, job: str, run: dict) -> None:
        e = self.entries.get(stem)
        if not e or e.get("input") != str(path.resolve()) or e.get("sha256") != sha:
            e = {"input": str(path.resolve()), "sha256": sha, "jobs": {}}
        e["jobs"][job] = run
        self.entries[stem] = e

    def save(self) -> None:
        from asr.transcript import atomic_write_text

        data = {"version": 1, "entries": dict(sorted(self.entries.items()))}
        atomic_write_text(self.path, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")


def assign_stems(inputs: Sequence[Input], manifest: Manifest) -> dict[Path, str]:
    """A stable, distinct output stem per input (see the module docstring)."""
    out: dict[Path, str] = {}
    taken: dict[str, Path] = {}
    for it in inputs:
        stem = manifest.stem_of(it.path)
        if stem is None:
            stem = it.relative_stem
            owner = manifest.owner(stem)
            if (owner and owner != str(it.path.resolve())) or stem in taken:
                stem = f"{stem}-{_path_tag(it.path)}"
        taken[stem] = it.path
        out[it.path] = stem
    return out


# --------------------------------------------------------------------------- writing


def commit_outputs(out: Path, files: dict[str, str]) -> list[str]:
    """Write one input's output set atomically enough for a batch: every file is written into
    a staging folder in ``out`` first (a full disk fails here, publishing nothing), then each is
    renamed into place. Returns the file names, relative to ``out``."""
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        for name, text in files.items():
            tmp = stage / name.replace("/", "__")
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o644)
        for name in files:
            dest = out / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / name.replace("/", "__"), dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return sorted(files)


def check_out_dir(out: Path) -> str | None:
    """``None`` when ``out`` can be created and written, else a French one-line error."""
    if out.exists() and not out.is_dir():
        return f"--out {out} existe et n'est pas un dossier"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as e:
        return f"--out {out} : impossible d'y écrire ({e.strerror or e})"
    return None


def _write_if_changed(path: Path, text: str) -> None:
    from asr.transcript import atomic_write_text

    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_text(path, text)


def write_index(out: Path, manifest: Manifest, rows: dict[str, dict]) -> None:
    """``index.csv`` and ``index.jsonl`` over every input the manifest knows, plus this run's
    failures (``rows``: stem -> row)."""
    all_rows = {}
    for stem, e in manifest.entries.items():
        for run in e.get("jobs", {}).values():
            if "row" in run:
                all_rows[stem] = {
                    "file": e["input"],
                    "output": stem,
                    **run["row"],
                    "status": run["status"],
                    "error": "",
                }
    all_rows.update(rows)
    ordered = [all_rows[k] for k in sorted(all_rows)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=INDEX_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in ordered:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in INDEX_FIELDS})
    _write_if_changed(out / "index.csv", buf.getvalue())
    _write_if_changed(
        out / "index.jsonl",
        "".join(
            json_dumps_strict({k: r.get(k) for k in INDEX_FIELDS}, ensure_ascii=False) + "\n" for r in ordered
        ),
    )


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)

    @property
    def ok(self) -> bool:
        return not self.failed

    def fail(self, path: str | os.PathLike, e: BaseException) -> None:
        self.failed.append((str(path), failure_reason(e)))
        log.debug("failed on %s", path, exc_info=e)

    def summary(self) -> str:
        lines = [
            f"{len(self.done)} traité(s), {len(self.skipped)} ignoré(s) (déjà faits), {len(self.failed)} en échec"
        ]
        lines += [f"  ÉCHEC {path} : {why}" for path, why in self.failed]
        return "\n".join(lines)


def failure_reason(e: BaseException) -> str:
    """What to tell the user about a failed input: our own errors carry a readable message;
    anything else is unexpected and keeps its type name. One line."""
    msg = str(e) if isinstance(e, (ValueError, RuntimeError, OSError)) else f"{type(e).__name__}: {e}"
    return " ".join(msg.split())


@dataclass(frozen=True)
class Job:
    """What a command makes of each input.

    Attributes:
        name: the command (``process``, ``transcribe``...).
        settings: plain data describing the settings that change outputs (recorded in the
            manifest; a change redoes the inputs).
        render: ``render(input, stem, hook) -> (files, row)``: the output set of one input
            (``{file name relative to OUT: text}``) and its index row; raises on failure.
    """

    name: str
    settings: dict
    render: Callable[[Path, str, Callable | None], tuple[dict[str, str], dict]]

    @property
    def key(self) -> str:
        blob = json.dumps({"job": self.name, **self.settings}, sort_keys=True, default=str)
        return f"{self.name}:{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


@dataclass
class Plan:
    """The inputs of one batch, their output stems and what is already done."""

    out: Path
    job: Job
    manifest: Manifest
    todo: list[tuple[Path, str, str]]  # (input, stem, sha256)
    result: BatchResult


def plan(inputs: Sequence[str | os.PathLike], out: Path, job: Job, accept, overwrite: bool) -> Plan:
    """Expand inputs, name their outputs and find what is left to do."""
    files, bad = expand_inputs(inputs, accept, exclude=out)
    manifest = Manifest(out)
    stems = assign_stems(files, manifest)
    res = BatchResult(failed=list(bad))
    todo = []
    for it in files:
        stem = stems[it.path]
        try:
            sha = file_sha256(it.path)
        except OSError as e:
            res.fail(it.path, e)
            continue
        if not overwrite and manifest.is_done(stem, it.path, sha, job.key):
            res.skipped.append(str(it.path))
        else:
            todo.append((it.path, stem, sha))
    return Plan(out, job, manifest, todo, res)


def finish_one(
    p: Plan, path: Path, stem: str, sha: str, files: dict[str, str], row: dict, seconds: float
) -> None:
    """Commit one input's outputs, then record them in the manifest (saved at once)."""
    names = commit_outputs(p.out, files)
    p.manifest.record(
        stem,
        path,
        sha,
        p.job.key,
        {
            "status": "done",
            "outputs": names,
            "row": row,
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    p.manifest.save()
    p.result.done.append(str(path))


def run_local(p: Plan, quiet: bool = False) -> None:
    """Run the plan in this process, one input at a time."""
    failed_rows: dict[str, dict] = {}
    try:
        for path, stem, sha in file_bar(p.todo, p.job.name, quiet):
            hook = ProgressBars(enabled=not quiet, prefix=path.name[:20])
            t0 = time.perf_counter()
            try:
                files, row = p.job.render(path, stem, hook)
                finish_one(p, path, stem, sha, files, row, time.perf_counter() - t0)
            except Exception as e:  # one bad file never stops the batch (KeyboardInterrupt does)
                p.result.fail(path, e)
                failed_rows[stem] = {
                    "file": str(path.resolve()),
                    "output": stem,
                    "status": "error",
                    "error": failure_reason(e),
                }
            finally:
                hook.close()
    finally:
        write_index(p.out, p.manifest, failed_rows)


def execute(
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    job: Job,
    *,
    accept: Callable[[Path], bool] = accept_transcript_or_audio,
    overwrite: bool = False,
    quiet: bool = False,
    prepare: Callable[[Plan], None] | None = None,
    engine: Callable[[Plan], None] | None = None,
) -> int:
    """Run ``job`` over ``inputs`` into ``out``; returns the exit code and prints the summary.

    Args:
        prepare: called once with the plan before any input is processed (load models there);
            a ``ValueError``/``RuntimeError``/``OSError`` it raises is a usage error (exit 2).
        engine: runs the plan (default :func:`run_local`).
    """
    out = Path(out)
    if err := check_out_dir(out):
        print(f"erreur : {err}", file=sys.stderr)
        return EXIT_USAGE
    p = plan(inputs, out, job, accept, overwrite)
    try:
        if prepare is not None and p.todo:
            try:
                prepare(p)
            except (ValueError, RuntimeError, OSError) as e:
                print(f"erreur : {failure_reason(e)}", file=sys.stderr)
                return EXIT_USAGE
        (engine or (lambda pl: run_local(pl, quiet)))(p)
    except KeyboardInterrupt:
        print(
            f"\ninterrompu : {len(p.result.done)} traité(s) avant l'arrêt ; relancer la même commande "
            "reprend là où elle s'est arrêtée",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(p.result.summary(), file=sys.stderr)
    return EXIT_OK if p.result.ok else EXIT_FAILED


def usage_error(e: BaseException | str) -> int:
    """Print a bad-argument error on one line; returns exit code 2."""
    print(f"erreur : {e if isinstance(e, str) else failure_reason(e)}", file=sys.stderr)
    return EXIT_USAGE


def load_llm(model: str | None):
    """The LLM a CLI runs (:class:`core_training.generate.LocalLLM`) and ``None``, or ``None``
    and a one-line French error to print before exiting 2."""
    from core_training.generate import LocalLLM

    try:
        return LocalLLM(model), None
    except (ValueError, RuntimeError, OSError) as e:
        return (
            None,
            f"erreur : impossible de charger le modèle {model or 'gemma3-270m'} : {failure_reason(e)}",
        )
