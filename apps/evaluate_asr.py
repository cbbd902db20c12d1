"""``llm4all evaluate-asr``: score transcripts against references (WER, CER, DER, JER, cpWER).

Thin wrapper around :func:`asr.evaluate.evaluate`: prints a table (one line per file, then the
corpus total and the per-file median) and optionally writes the full result as JSON.

Exit status: 0 when every matched file was scored; 1 when some file could not be read (its row
says why, the others are still scored and written); 2 for bad input (missing folder, no
reference, no hypothesis matching a reference, bad option).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asr.evaluate import UEM_MODES, evaluate
from asr.transcript import atomic_write_text, json_dumps_strict

_COLUMNS = (  # header, row key, kind
    ("mots", "ref_words", "int"),
    ("WER", "wer", "pct"),
    ("CER", "cer", "pct"),
    ("DER", "der", "pct"),
    ("JER", "jer", "pct"),
    ("cpWER", "cpwer", "pct"),
    ("loc. réf/hyp", None, "spk"),
)


def _cell(row: dict, key: str | None, kind: str) -> str:
    if kind == "spk":
        r, h = row.get("ref_speakers"), row.get("hyp_speakers")
        return "-" if r is None and h is None else f"{'-' if r is None else r}/{'-' if h is None else h}"
    value = row.get(key)
    if value is None:
        return "-"
    return f"{100 * value:.2f}" if kind == "pct" else str(value)


def format_table(result: dict) -> str:
    """Render an :func:`asr.evaluate.evaluate` result as an aligned text table (rates in %)."""
    header = ["fichier", "état", *(c[0] for c in _COLUMNS)]
    lines = []
    for row in result["files"]:
        status = {"ok": "ok", "missing": "absent", "error": "erreur"}[row["status"]]
        lines.append([row["name"], status, *(_cell(row, k, kind) for _, k, kind in _COLUMNS)])
    total = result["total"]
    median = {k: total.get(f"{k}_median") for k in ("wer", "cer", "der", "jer", "cpwer")}
    lines.append(
        [f"TOTAL ({total['scored']}/{total['files']})", f"{total['missing']} abs./{total['failed']} err."]
        + [_cell(total, k, kind) if kind != "spk" else "" for _, k, kind in _COLUMNS]
    )
    lines.append(
        ["médiane", ""] + [_cell(median, k, kind) if kind == "pct" else "" for _, k, kind in _COLUMNS]
    )
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "-" * len(fmt(["-" * w for w in widths]))
    body = [fmt(header), rule, *(fmt(x) for x in lines[:-2]), rule, fmt(lines[-2]), fmt(lines[-1])]
    opts = result["options"]
    body.append(
        f"(taux en %; collar {opts['collar']:g} s de chaque côté des frontières; uem {opts['uem']}; "
        f"hésitations {'retirées' if opts['drop_disfluencies'] else 'gardées'})"
    )
    return "\n".join(body)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all evaluate-asr",
        description="Évalue des transcriptions (WER, CER, DER, JER, cpWER) par rapport à des références.",
    )
    p.add_argument(
        "hyp", metavar="HYP_DIR", type=Path, help="dossier des transcriptions <nom>.json (ou un fichier)"
    )
    p.add_argument(
        "--ref",
        required=True,
        type=Path,
        help="références: dossier simsamu (<rec>/<rec>.json|rttm), dossier plat (.json/.rttm/.srt/.txt) ou fichier",
    )
    p.add_argument(
        "--collar",
        type=float,
        default=0.25,
        help="secondes ignorées de chaque côté des frontières de tours de référence pour DER/JER (défaut 0.25)",
    )
    p.add_argument(
        "--uem",
        choices=UEM_MODES,
        default="union",
        help="zone évaluée pour DER/JER: de 0 à la fin de la référence ou de l'union (défaut union)",
    )
    p.add_argument(
        "--keep-disfluencies", action="store_true", help="garder euh/heu/hum et les mots amorcés (p-)"
    )
    p.add_argument("--json", type=Path, metavar="OUT.json", help="écrit le résultat complet en JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 some files failed, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        result = evaluate(
            args.hyp,
            args.ref,
            collar=args.collar,
            uem=args.uem,
            drop_disfluencies=not args.keep_disfluencies,
        )
    except ValueError as e:
        print(f"evaluate-asr: erreur: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"evaluate-asr: échec: {e}", file=sys.stderr)
        return 1
    print(format_table(result))
    if result["missing"]:
        names = ", ".join(result["missing"][:5]) + (", ..." if len(result["missing"]) > 5 else "")
        print(
            f"evaluate-asr: {len(result['missing'])} référence(s) sans transcription: {names}",
            file=sys.stderr,
        )
    for row in result["files"]:
        if row["status"] == "error":
            print(f"evaluate-asr: {row['name']}: {row['error']}", file=sys.stderr)
    if result["extra_hypotheses"]:
        print(
            f"evaluate-asr: {len(result['extra_hypotheses'])} transcription(s) sans référence ignorée(s)",
            file=sys.stderr,
        )
    if args.json is not None:
        try:
            atomic_write_text(args.json, json_dumps_strict(result, ensure_ascii=False, indent=1) + "\n")
        except OSError as e:
            print(f"evaluate-asr: impossible d'écrire {args.json}: {e}", file=sys.stderr)
            return 1
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
