"""``llm4all samu-form INPUTS... --out DIR``: transcripts (or audio) → SAMU call forms.

Writes ``<name>.form.json`` (our form: every field with its evidence) and ``<name>.rs-eda.json``
(the Hub Santé RS-EDA message, validated against ``RS-EDA.schema.json`` before it is written).
Same batch behaviour as ``transcribe``: progress, atomic writes, a bad file is reported and the
batch goes on, finished inputs are skipped unless ``--overwrite``, exit code 1 when anything failed.
"""

from __future__ import annotations

import argparse
import logging
import sys

from samu import DEFAULT_EXTRACTOR, EXTRACTORS, MODEL_EXTRACTORS

log = logging.getLogger(__name__)
OUTPUT_SUFFIXES = (".form.json", ".rs-eda.json")  # our form, the Hub Santé message


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all samu-form",
        description="Transcriptions (JSON, simsamu JSON/SRT) ou audio -> fiches d'appel SAMU avec preuves, "
        "et message Hub Santé RS-EDA validé.",
    )
    p.add_argument("inputs", nargs="+", help="fichiers ou dossiers (transcriptions ou audio)")
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default=DEFAULT_EXTRACTOR,
        help="hybrid-motif (défaut : le modèle SAMU livré pour le seul motif, appuyé par la transcription, "
        "les règles pour le reste ; le meilleur mesuré sur des appels inédits, ~2 s par appel), rules "
        "(sans modèle, le plus rapide), llm (modèle de langue, décodage contraint au schéma), model "
        "(modèle SAMU entraîné : score des valeurs) ou hybrid (modèle SAMU pour les champs de classement "
        "appuyés par la transcription, règles pour le reste)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="pour --extractor llm : gemma3-270m (défaut), smollm2, ou un dossier de modèle transformers ; "
        "pour --extractor model|hybrid|hybrid-motif : un dossier écrit par llm4all train-samu (défaut : l'adaptateur "
        "livré, samu/adapters/samu-gemma3-270m-lora)",
    )
    p.add_argument(
        "--pseudonymize-key",
        default=None,
        metavar="CLE.json",
        help="pseudonymiser chaque transcription avant extraction et export (noms, téléphones, adresses, "
        "dates de naissance, NIR) ; la clé de réidentification est écrite (ou complétée) dans ce fichier, "
        "hors du dossier de sortie",
    )
    p.add_argument(
        "--org", default="fr.health.samu000", help="identifiant de l'organisation émettrice (RS-EDA)"
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

    a = build_parser().parse_args(argv)
    if a.model and a.extractor == "rules":
        return usage_error("--model ne sert qu'avec --extractor llm, model, hybrid ou hybrid-motif")
    try:
        opts = ProcessOptions(
            kind="call",
            form=True,
            extractor=a.extractor,
            summary=None,
            llm_model=a.model if a.extractor == "llm" else None,
            samu_adapter=a.model if a.extractor in MODEL_EXTRACTORS else None,
            pseudonymize=bool(a.pseudonymize_key),
            org=a.org,
        )
    except ValueError as e:
        return usage_error(e)
    return run_job(a, opts, "samu-form", formats=(), report=False)


if __name__ == "__main__":
    sys.exit(main())
