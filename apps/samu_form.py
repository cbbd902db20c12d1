"""``llm4all samu-form INPUTS... --out DIR``: transcripts (or audio) → SAMU call forms.

Writes ``<name>.form.json`` (our form: every field with its evidence) and ``<name>.rs-eda.json``
(the Hub Santé RS-EDA message, validated against ``RS-EDA.schema.json`` before it is written).
Same batch behaviour as ``transcribe``: progress, atomic writes, a bad file is reported and the
batch goes on, finished inputs are skipped unless ``--overwrite``, exit code 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from apps.batch import BatchResult, expand_inputs, load_llm, one_per_stem, output_stems, transcript_or_audio
from asr.audio import is_audio_path
from asr.transcript import atomic_write_text
from samu import EXTRACTORS

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
        default="rules",
        help="rules (défaut, sans modèle) ou llm (modèle de langue, décodage contraint au schéma)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="pour --extractor llm : gemma3-270m (défaut), smollm2, ou un dossier de modèle transformers",
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


def load_input(path: Path, quiet: bool = True):
    """A :class:`Transcript` from a transcript file, or from audio through the speech front end."""
    if is_audio_path(path):
        from asr.pipeline import transcribe

        return transcribe(path)
    from asr.transcript import read_transcript

    try:
        return read_transcript(path)
    except (json.JSONDecodeError, KeyError, TypeError, IndexError) as e:
        raise ValueError(f"transcription illisible ({type(e).__name__}: {e})") from e


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    from tqdm import tqdm

    from samu import extract_form
    from samu.export import to_rs_eda, validate_rs_eda, write_form

    out = Path(a.out)
    if out.exists() and not out.is_dir():
        print(f"erreur : --out {out} existe et n'est pas un dossier", file=sys.stderr)
        return 2
    if not re.fullmatch(r"([a-zA-Z0-9_-]+\.?){4,9}", a.org):
        print(
            f"erreur : --org {a.org!r} n'est pas un identifiant d'organisation (ex. fr.health.samu690)",
            file=sys.stderr,
        )
        return 2
    llm = None
    if a.extractor == "llm":
        llm, error = load_llm(a.model)
        if error:
            print(error, file=sys.stderr)
            return 2
    elif a.model:
        print("erreur : --model ne sert qu'avec --extractor llm", file=sys.stderr)
        return 2
    key = key_path = None
    if a.pseudonymize_key:
        from samu.pseudonymize import PseudoKey

        key_path = Path(a.pseudonymize_key)
        if key_path.resolve().is_relative_to(out.resolve()):
            print(
                f"erreur : la clé {key_path} ne doit pas être dans le dossier de sortie {out}",
                file=sys.stderr,
            )
            return 2
        try:
            key = PseudoKey.load(key_path) if key_path.exists() else PseudoKey()
        except ValueError as e:
            print(f"erreur : {e}", file=sys.stderr)
            return 2
    out.mkdir(parents=True, exist_ok=True)
    files, bad = expand_inputs(a.inputs, transcript_or_audio(OUTPUT_SUFFIXES))
    files = one_per_stem(files)
    res = BatchResult(failed=list(bad))
    stems = output_stems(files)
    bar = tqdm(files, desc="appels", unit="appel", disable=a.quiet, file=sys.stderr)
    for f in bar:
        form_path, msg_path = (out / f"{stems[f]}{suffix}" for suffix in OUTPUT_SUFFIXES)
        if not a.overwrite and form_path.exists() and msg_path.exists():
            res.skipped.append(str(f))
            continue
        bar.set_postfix_str(f.name)
        try:
            t = load_input(f)
            if key is not None:
                from samu.pseudonymize import pseudonymize

                t, new_key = pseudonymize(t, key)
                if len(new_key) != len(key):
                    new_key.save(key_path)  # the key first: an output never exists without its key
                key = new_key
            form = extract_form(t, a.extractor, llm=llm)
            msg = to_rs_eda(form, case_ref=str(f.resolve()), org=a.org)
            errors = validate_rs_eda(msg)
            if errors:
                raise RuntimeError("message RS-EDA non conforme au schéma : " + " ; ".join(errors[:3]))
            write_form(form, form_path)
            atomic_write_text(msg_path, json.dumps(msg, ensure_ascii=False, indent=2) + "\n")
        except Exception as e:  # one bad file never stops the batch
            res.fail(f, e)
            continue
        for w in form.warnings:
            print(f"  {f.name} : {w}", file=sys.stderr)
        res.done.append(str(f))
    print(res.summary(), file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
