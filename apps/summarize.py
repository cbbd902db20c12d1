"""``llm4all summarize INPUTS... --out DIR``: transcripts (or audio) -> French summaries.

Inputs: our transcript JSON, simsamu JSON/SRT, WebVTT, FREDSum ``SPEAKER : text`` transcripts
(``.txt``, synthetic times), and audio files (transcribed first). Outputs per input:
``<name>.summary.txt`` (the summary) and ``<name>.summary.json`` (summary, method, model, word
count, source), written atomically. Batch behaviour as ``llm4all transcribe``: progress bars,
one bad file never stops the batch, finished inputs skipped on a rerun unless ``--overwrite``,
exit code 1 when any input failed (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import logging
import sys

from summarize.core import KINDS, METHODS, SummaryOptions

log = logging.getLogger(__name__)

_OUTPUT_SUFFIXES = (".summary.txt", ".summary.json")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all summarize",
        description="Résumer des transcriptions (ou des fichiers audio, transcrits d'abord) en français. "
        "Écrit <nom>.summary.txt et <nom>.summary.json dans --out.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        help="transcriptions (.json, .srt simsamu, .vtt, .txt FREDSum « LOCUTEUR : texte »), audio, ou dossiers",
    )
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="extractive",
        help="extractive (défaut : phrases choisies, sans modèle) ou llm (résumé rédigé par un modèle de langue)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="pour --method llm : par défaut le modèle de résumé livré (summarize/adapters, LoRA) ; sinon "
        "un modèle fourni (gemma3-270m, smollm2) ou un dossier de modèle transformers (résumé map-reduce)",
    )
    p.add_argument(
        "--max-words",
        type=int,
        default=None,
        help="longueur maximale du résumé en mots (défaut : 12 %% de la transcription, entre 60 et 400)",
    )
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="meeting",
        help="meeting (réunion, débat : qui dit quoi) ou call (appel : motif, patient, signes clés, décision)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="refaire les fichiers dont les sorties existent déjà"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="sans barres de progression")
    return p


def main(argv: list[str] | None = None) -> int:
    from apps.pipeline import ProcessOptions
    from apps.process import run_job
    from apps.runner import usage_error

    a = parser().parse_args(argv)
    if a.model and a.method != "llm":
        return usage_error("--model ne sert qu'avec --method llm")
    try:
        model = a.model if a.method == "llm" else None
        opts = ProcessOptions(
            kind=a.kind,
            form=False,
            summary=SummaryOptions(method=a.method, max_words=a.max_words, kind=a.kind, model=model),
            llm_model=a.model,
        )
    except ValueError as e:
        return usage_error(e)
    return run_job(a, opts, "summarize", formats=(), report=False)


if __name__ == "__main__":
    sys.exit(main())
