"""``llm4all`` command line: one entry point, one subcommand per job.

Subcommands stay thin: they parse arguments, call the library, and turn its progress hook
into progress bars.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )
    # third-party chatter that says nothing to a user
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    # peft on transformers 5, at every adapter load
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _quiet_third_parties() -> None:
    """``-q``: no progress bars from Hugging Face libraries either (transformers' "Loading
    weights", hub downloads); read when they are imported, so set before any of them is."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"


# (subcommand, module whose main(argv) runs it, help). Recipe modules get the recipe name first.
PASSTHROUGH = [
    (
        "process",
        "apps.process",
        "audio ou transcriptions -> transcription, fiche SAMU + RS-EDA, résumé, rapport HTML, index",
    ),
    (
        "samu-form",
        "apps.samu_form",
        "transcriptions ou audio -> fiches d'appel SAMU (+ message Hub Santé RS-EDA)",
    ),
    (
        "evaluate-samu",
        "apps.evaluate_samu",
        "précision/rappel/F1 des fiches SAMU par rapport aux fiches de référence",
    ),
    ("summarize", "apps.summarize", "transcriptions -> résumés en français"),
    (
        "evaluate-summaries",
        "apps.evaluate_summaries",
        "ROUGE des résumés sur FREDSum (test) et comparaison aux pairs",
    ),
    (
        "pseudonymize",
        "apps.pseudonymize",
        "pseudonymiser des transcriptions (clé de réidentification à part)",
    ),
    ("trim-vocab", "apps.recipes", "recette : réduire le vocabulaire d'un modèle aux jetons d'un corpus"),
    ("prune", "apps.recipes", "recette : élagage structuré (largeur, profondeur)"),
    ("compress-svd", "apps.recipes", "recette : compression SVD (simple ou blanchie)"),
    ("distill", "apps.recipes", "recette : distillation maître -> élève"),
    ("continue-pretrain", "apps.recipes", "recette : pré-entraînement continu avec rejeu"),
    ("grow", "apps.recipes", "recette : expansion par blocs"),
    ("lora", "apps.recipes", "recette : LoRA (PEFT) et fusion"),
    ("perplexity", "apps.recipes", "perplexité d'un modèle sur un fichier texte"),
    ("train-samu", "apps.recipes", "recette : modèle SAMU (vocabulaire réduit + LoRA, score des valeurs)"),
    ("train-summary", "apps.recipes", "recette : modèle de résumé de débats (extraits -> résumé, LoRA)"),
    ("train-foundation", "apps.recipes", "recette : fondation dialogue français (LoRA, rejeu)"),
    ("report", "apps.report", "rapport d'évaluation HTML (figures) à partir de benchmarks/results/*.json"),
    ("demo", "apps.demo", "application web (Gradio) pour la régulation et les réunions"),
]
RECIPE_MODULE = "apps.recipes"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm4all")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    from apps import transcribe

    p = argparse.ArgumentParser(prog="llm4all", description="Suite de dialogue parole + texte en français")
    p.add_argument("--log-level", default="warning", help="debug, info, warning (défaut), error")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barres de progression")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("transcribe", help="audio -> transcriptions en français avec locuteurs")
    transcribe.add_arguments(t)
    t.set_defaults(func=transcribe.run)

    e = sub.add_parser(
        "evaluate-asr",
        help="WER/CER, DER/JER et cpWER de transcriptions par rapport à des références",
        add_help=False,
    )
    e.set_defaults(func=None, passthrough="apps.evaluate_asr")

    # subcommands implemented as their own argparse programs (module.main(argv) -> exit code)
    for name, module, text in PASSTHROUGH:
        s = sub.add_parser(name, help=text, add_help=False)
        s.set_defaults(func=None, passthrough=module)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = build_parser()
    # subcommands implemented as their own argparse programs get the rest of the line
    args, rest = p.parse_known_args(argv)
    _setup_logging(args.log_level)
    if getattr(args, "passthrough", None):
        import importlib

        i = argv.index(args.command)
        rest = argv[i + 1 :]
        if (
            args.quiet
            and args.passthrough != "apps.evaluate_asr"
            and "-q" not in rest
            and "--quiet" not in rest
        ):
            rest = [*rest, "-q"]  # `llm4all -q <command>` means the same as `llm4all <command> -q`
        if "-q" in rest or "--quiet" in rest:
            _quiet_third_parties()
        mod = importlib.import_module(args.passthrough)
        if args.passthrough == RECIPE_MODULE:
            rest = [args.command, *rest]
        return int(mod.main(rest) or 0)
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
