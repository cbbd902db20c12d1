"""``llm4all pseudonymize FICHIERS... --out DOSSIER --key CLE.json``: pseudonymise transcripts.

Writes ``<nom>.pseudo.json`` (our transcript JSON) per input and the re-identification key
(placeholder -> original text) to ``--key``, which must lie outside ``--out``. An existing key
is extended, so a later batch gives the same placeholders to the same people; runs sharing a key
at the same time are safe (the key is re-read and saved under a file lock for each file, see
:func:`samu.pseudonymize.locked_key`). A key is written once a file is done (empty when it had no
personal data), never by a run where no input could be read. ``--restore``
re-identifies ``.pseudo.json`` files with the key into ``<nom>.restored.json``.

Batch behaviour as ``llm4all transcribe``: progress bar, a bad file is reported and the batch
goes on, outputs are written atomically, finished files are skipped unless ``--overwrite``,
exit code 1 when a file failed, 2 for bad arguments. User-facing text is French.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from asr.transcript import read_transcript
from samu.pseudonymize import KINDS, PseudoKey, PseudoOptions, pseudonymize_with_key_file, reidentify

log = logging.getLogger(__name__)

TEXT_EXTS = (".json", ".srt", ".vtt", ".txt")
PSEUDO_SUFFIX = ".pseudo.json"
RESTORED_SUFFIX = ".restored.json"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all pseudonymize",
        description="Remplace noms, numéros de téléphone, adresses, dates de naissance et numéros de "
        "sécurité sociale par des étiquettes cohérentes ([NOM_1], [TEL_1]...). La clé de réidentification "
        "est écrite à part (--key), jamais dans le dossier de sortie.",
    )
    p.add_argument(
        "inputs", nargs="+", help="transcriptions (.json .srt .vtt .txt) ou dossiers de transcriptions"
    )
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--key",
        required=True,
        help="fichier de clé (JSON étiquette -> texte d'origine), hors du dossier de sortie ; "
        "complété s'il existe déjà, pour garder les mêmes étiquettes d'un lot à l'autre",
    )
    p.add_argument(
        "--restore",
        action="store_true",
        help=f"réidentifier des fichiers {PSEUDO_SUFFIX} avec la clé (écrit <nom>{RESTORED_SUFFIX})",
    )
    p.add_argument("--overwrite", action="store_true", help="refaire les fichiers dont la sortie existe déjà")
    p.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"types à remplacer, séparés par des virgules parmi {','.join(KINDS)} (défaut : tous)",
    )
    p.add_argument(
        "--names",
        default="",
        help="noms à toujours remplacer (liste du personnel...), séparés par des virgules",
    )
    p.add_argument(
        "--keep",
        default="",
        help="mots à ne jamais remplacer comme noms (noms de lieux...), séparés par des virgules",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="sans barre de progression")
    return p


def _split(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def _is_pseudo(f: Path) -> bool:
    return f.name.endswith(PSEUDO_SUFFIX)


def _is_transcript(f: Path) -> bool:
    return f.suffix.lower() in TEXT_EXTS and not f.name.endswith((PSEUDO_SUFFIX, RESTORED_SUFFIX))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    from apps.runner import Job, execute, usage_error

    a = build_parser().parse_args(argv)
    out, key_path = Path(a.out), Path(a.key)
    try:
        opts = PseudoOptions(kinds=_split(a.kinds.upper()), names=_split(a.names), keep_words=_split(a.keep))
    except ValueError as e:
        return usage_error(e)
    if _inside(key_path, out):
        return usage_error(
            f"la clé {key_path} est dans le dossier de sortie {out} ; "
            "elle doit être conservée à part des données pseudonymisées"
        )
    if key_path.exists() and not key_path.is_file():
        return usage_error(f"--key {key_path} n'est pas un fichier")
    key = None
    if a.restore:
        if not key_path.exists():
            return usage_error(f"clé introuvable : {key_path}")
        try:
            key = PseudoKey.load(key_path)
        except ValueError as e:
            return usage_error(f"clé illisible : {e}")
    elif key_path.exists():
        try:
            PseudoKey.load(key_path)  # a broken key stops the batch before any work
        except ValueError as e:
            return usage_error(f"clé illisible : {e}")

    def render(f: Path, stem: str, hook):
        if f.resolve() == key_path.resolve():
            raise ValueError("c'est le fichier de clé")
        t = read_transcript(f)
        if a.restore:
            return {f"{stem}{RESTORED_SUFFIX}": transcript_json(reidentify(t, key))}, {}
        # the key file is re-read and saved under its lock for every file, so runs sharing it at
        # the same time never lose entries; saved first: no output without its key
        p, _ = pseudonymize_with_key_file(t, key_path, opts)
        return {f"{stem}{PSEUDO_SUFFIX}": transcript_json(p)}, {}

    settings = {"restore": a.restore, "key": str(key_path.resolve()), "options": dataclasses.asdict(opts)}
    job = Job("restore" if a.restore else "pseudonymize", settings, render)
    accept = _is_pseudo if a.restore else _is_transcript
    rc = execute(a.inputs, out, job, accept=accept, overwrite=a.overwrite, quiet=a.quiet)
    if not a.restore and key_path.exists():
        n = len(PseudoKey.load(key_path))
        print(f"clé : {key_path} ({n} étiquette(s)) — à conserver à part", file=sys.stderr)
    return rc


def transcript_json(t) -> str:
    from asr.transcript import json_dumps_strict

    return json_dumps_strict(t.to_dict(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    sys.exit(main())
