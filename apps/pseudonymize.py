"""``llm4all pseudonymize FICHIERS... --out DOSSIER --key CLE.json``: pseudonymise transcripts.

Writes ``<nom>.pseudo.json`` (our transcript JSON) per input and the re-identification key
(placeholder -> original text) to ``--key``, which must lie outside ``--out``. An existing key
is extended, so a later batch gives the same placeholders to the same people. ``--restore``
re-identifies ``.pseudo.json`` files with the key into ``<nom>.restored.json``.

Batch behaviour as ``llm4all transcribe``: progress bar, a bad file is reported and the batch
goes on, outputs are written atomically, finished files are skipped unless ``--overwrite``,
exit code 1 when a file failed, 2 for bad arguments. User-facing text is French.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from apps.batch import BatchResult, expand_inputs, output_stems
from asr.transcript import read_transcript, write_transcript
from samu.pseudonymize import KINDS, PseudoKey, PseudoOptions, pseudonymize, reidentify

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
    from tqdm import tqdm

    a = build_parser().parse_args(argv)
    out, key_path = Path(a.out), Path(a.key)
    try:
        opts = PseudoOptions(kinds=_split(a.kinds.upper()), names=_split(a.names), keep_words=_split(a.keep))
    except ValueError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2
    if out.exists() and not out.is_dir():
        print(f"erreur : --out {out} existe et n'est pas un dossier", file=sys.stderr)
        return 2
    if _inside(key_path, out):
        print(
            f"erreur : la clé {key_path} est dans le dossier de sortie {out} ; "
            "elle doit être conservée à part des données pseudonymisées",
            file=sys.stderr,
        )
        return 2
    if key_path.exists() and not key_path.is_file():
        print(f"erreur : --key {key_path} n'est pas un fichier", file=sys.stderr)
        return 2
    if key_path.exists():
        try:
            key = PseudoKey.load(key_path)
        except ValueError as e:
            print(f"erreur : clé illisible : {e}", file=sys.stderr)
            return 2
    elif a.restore:
        print(f"erreur : clé introuvable : {key_path}", file=sys.stderr)
        return 2
    else:
        key = PseudoKey()
    out.mkdir(parents=True, exist_ok=True)

    if a.restore:
        accept, suffix = _is_pseudo, RESTORED_SUFFIX
    else:
        accept, suffix = _is_transcript, PSEUDO_SUFFIX
    files, bad = expand_inputs(a.inputs, accept)
    res = BatchResult(failed=list(bad))
    stems = output_stems(files)
    for f in tqdm(files, desc="fichiers", unit="fichier", disable=a.quiet, file=sys.stderr):
        target = out / f"{stems[f]}{suffix}"
        if not a.overwrite and target.exists():
            res.skipped.append(str(f))
            continue
        try:
            if f.resolve() == key_path.resolve():
                raise ValueError("c'est le fichier de clé")
            t = read_transcript(f)
            if a.restore:
                write_transcript(reidentify(t, key), target, "json")
            else:
                p, new_key = pseudonymize(t, key, opts)
                if len(new_key) != len(key):
                    new_key.save(key_path)  # the key first: an output is never without its key
                key = new_key
                write_transcript(p, target, "json")
        except Exception as e:  # one bad file never stops the batch (KeyboardInterrupt still does)
            res.fail(f, e)
            continue
        res.done.append(str(f))
        log.info("%s -> %s", f.name, target.name)
    if not a.restore and not key_path.exists():
        key.save(key_path)  # an empty key still says which key goes with this batch
    print(res.summary(), file=sys.stderr)
    if not a.restore:
        print(f"clé : {key_path} ({len(key)} étiquette(s)) — à conserver à part", file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
