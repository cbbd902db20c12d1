"""``llm4all process INPUTS --out DIR``: the whole chain per call, on one machine or on Ray.

For each input (audio, transcript JSON, simsamu JSON/SRT, WebVTT, FREDSum or plain text), writes
the transcript (json, rttm, srt, vtt, txt), the SAMU form and its RS-EDA message (calls), the
summary and a printable HTML report, plus ``index.csv`` / ``index.jsonl`` over all calls and
``manifest.json`` (what is done). Batch behaviour: see :mod:`apps.runner`.

``samu-form``, ``summarize`` and ``transcribe`` are fronts of the same runner and pipeline with
fewer outputs (:func:`make_job`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from asr.transcript import FORMATS

log = logging.getLogger(__name__)


class FileKeyStore:
    """A pseudonymisation key file shared by concurrent runs (locked per transcript)."""

    def __init__(self, path: str | Path, options=None):
        self.path = Path(path)
        self.options = options

    def pseudonymize(self, t):
        from samu.pseudonymize import PseudoOptions, pseudonymize_with_key_file

        out, _ = pseudonymize_with_key_file(t, self.path, self.options or PseudoOptions())
        return out


def make_job(name: str, opts, formats: tuple[str, ...], report: bool, key_path: str | None, holder: dict):
    """The runner's :class:`apps.runner.Job` for ``opts``; ``holder["models"]`` must hold the
    loaded :class:`apps.pipeline.Models` before the first input."""
    from apps.pipeline import artifacts, process
    from apps.runner import Job

    keys = FileKeyStore(key_path) if key_path else None

    def render(path: Path, stem: str, hook):
        r = process(path, opts, holder["models"], hook, keys=keys)
        for w in r.warnings:
            log.warning("%s : %s", path.name, w)
        return artifacts(r, stem, formats, report=report), r.index_row()

    settings = {
        "formats": list(formats),
        "report": report,
        "pseudonymize": bool(key_path),
        "options": opts.settings(),
    }
    return Job(name, settings, render)


def check_key_path(key_path: str | None, out: Path) -> str | None:
    """A French error when the pseudonymisation key would sit inside the output folder."""
    if key_path and Path(key_path).resolve().is_relative_to(out.resolve()):
        return f"la clé {key_path} ne doit pas être dans le dossier de sortie {out}"
    if key_path and Path(key_path).exists() and not Path(key_path).is_file():
        return f"la clé {key_path} n'est pas un fichier"
    return None


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--overwrite", action="store_true", help="refaire les entrées déjà faites (voir manifest.json)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="sans barres de progression")


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("exécution")
    g.add_argument("--engine", choices=("local", "ray"), default="local", help="local (défaut) ou ray")
    g.add_argument(
        "--ray-address",
        default=None,
        help="adresse d'un cluster Ray existant (défaut : Ray local démarré à la demande)",
    )
    g.add_argument("--workers", type=int, default=2, help="nombre de workers Ray (chacun charge les modèles)")


def build_parser() -> argparse.ArgumentParser:
    from apps.transcribe import add_asr_arguments
    from samu import DEFAULT_EXTRACTOR, EXTRACTORS
    from summarize.core import METHODS

    p = argparse.ArgumentParser(
        prog="llm4all process",
        description="Audio ou transcriptions -> transcription avec locuteurs, fiche SAMU + message RS-EDA, "
        "résumé et rapport HTML par appel, plus index.csv / index.jsonl. Les dossiers sont parcourus "
        "récursivement ; une seule entrée par appel (transcription préférée à l'audio).",
    )
    p.add_argument("inputs", nargs="+", help="fichiers (audio, .json, .srt, .vtt, .txt) ou dossiers")
    add_common_arguments(p)
    p.add_argument("--formats", default=",".join(FORMATS), help="formats de transcription (défaut : tous)")
    p.add_argument("--no-form", action="store_true", help="sans fiche SAMU")
    p.add_argument("--no-summary", action="store_true", help="sans résumé")
    p.add_argument("--no-report", action="store_true", help="sans rapport HTML")
    p.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default=DEFAULT_EXTRACTOR,
        help=f"extracteur de la fiche SAMU (défaut : {DEFAULT_EXTRACTOR}, le modèle SAMU livré pour le motif "
        "et les règles pour le reste ; rules : sans modèle, le plus rapide)",
    )
    p.add_argument(
        "--samu-adapter",
        default=None,
        metavar="DOSSIER",
        help="pour --extractor model|hybrid|hybrid-motif : un dossier écrit par llm4all train-samu "
        "(défaut : l'adaptateur livré, samu/adapters/samu-gemma3-270m-lora)",
    )
    p.add_argument("--summary-method", choices=METHODS, default="extractive", help="méthode de résumé")
    p.add_argument("--max-words", type=int, default=None, help="longueur maximale du résumé en mots")
    p.add_argument(
        "--llm", default=None, help="modèle de langue (gemma3-270m par défaut, smollm2, ou un dossier)"
    )
    p.add_argument(
        "--pseudonymize-key",
        default=None,
        metavar="CLE.json",
        help="pseudonymiser avant la fiche et le résumé ; clé hors de --out",
    )
    p.add_argument(
        "--org", default="fr.health.samu000", help="identifiant de l'organisation émettrice (RS-EDA)"
    )
    add_engine_arguments(p)
    add_asr_arguments(p)
    return p


def run_job(a, opts, job_name: str, formats, report: bool, accept=None) -> int:
    """Shared tail of every front: key check, model loading once, engine choice."""
    from apps.pipeline import load_models
    from apps.runner import accept_transcript_or_audio, execute, usage_error

    out = Path(a.out)
    key_path = getattr(a, "pseudonymize_key", None)
    if err := check_key_path(key_path, out):
        return usage_error(err)
    holder: dict = {}
    job = make_job(job_name, opts, tuple(formats), report, key_path, holder)
    engine_name = getattr(a, "engine", "local")
    if getattr(a, "workers", 1) < 1:
        return usage_error(f"--workers doit être >= 1, reçu {a.workers}")

    def prepare(plan) -> None:
        from asr.audio import is_audio_path

        audio = any(is_audio_path(p) for p, _, _ in plan.todo)
        if engine_name == "local":
            holder["models"] = load_models(opts, audio=audio)
        else:  # fail here, once, on settings that every worker would fail on
            from apps.engine_ray import check_settings

            check_settings(opts, audio=audio)

    engine = None
    if engine_name == "ray":
        from apps.engine_ray import ray_engine

        engine = ray_engine(
            opts, tuple(formats), report, key_path, job_name, a.ray_address, a.workers, a.quiet
        )
    return execute(
        a.inputs,
        out,
        job,
        accept=accept or accept_transcript_or_audio,
        overwrite=a.overwrite,
        quiet=a.quiet,
        prepare=prepare,
        engine=engine,
    )


def main(argv: list[str] | None = None) -> int:
    from apps.pipeline import ProcessOptions
    from apps.runner import usage_error
    from apps.transcribe import options_from_args, parse_formats
    from summarize.core import SummaryOptions

    a = build_parser().parse_args(argv)
    try:
        formats = parse_formats(a.formats)
        summary = None
        if not a.no_summary:
            summary = SummaryOptions(
                method=a.summary_method,
                max_words=a.max_words,
                kind=a.kind,
                model=a.llm if a.summary_method == "llm" else None,
            )
        opts = ProcessOptions(
            kind=a.kind,
            front_end=options_from_args(a),
            form=not a.no_form,
            extractor=a.extractor,
            summary=summary,
            llm_model=a.llm,
            samu_adapter=a.samu_adapter,
            pseudonymize=bool(a.pseudonymize_key),
            org=a.org,
        )
    except ValueError as e:
        return usage_error(e)
    if a.llm and not opts.needs_llm:
        return usage_error("--llm ne sert qu'avec --extractor llm ou --summary-method llm")
    if a.samu_adapter and not opts.needs_samu_model:
        return usage_error("--samu-adapter ne sert qu'avec --extractor model, hybrid ou hybrid-motif")
    return run_job(a, opts, "process", formats, report=not a.no_report)


if __name__ == "__main__":
    sys.exit(main())
