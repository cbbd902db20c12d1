"""``llm4all evaluate-samu``: per-field and micro precision/recall/F1 of SAMU call forms against
the gold forms, printed as a table and written as JSON.

Either score forms already written by ``llm4all samu-form`` (``--pred DIR`` of ``<call>.form.json``)
or let this command run an extractor on the simsamu transcripts of the gold calls
(``--extractor``, default the entry points' :data:`samu.DEFAULT_EXTRACTOR`), which also times it.
The SAMU model extractors warn when the scored calls include the simsamu calls the model was
trained on (only ``--split test2`` is unseen by the shipped model).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

from apps.runner import failure_reason, load_llm
from asr.transcript import atomic_write_text, json_dumps_strict
from core_training.data import default_shared_dir
from samu import DEFAULT_EXTRACTOR, EXTRACTORS, MODEL_EXTRACTORS

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIMSAMU = default_shared_dir() / "simsamu"  # $LLM4ALL_SHARED_DATA or ../shared/data


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all evaluate-samu",
        description="Précision, rappel et F1 (par champ et micro) des fiches SAMU par rapport aux fiches de référence.",
    )
    p.add_argument("--gold", default=None, help="dossier des fiches de référence (défaut : samu/gold)")
    p.add_argument("--pred", default=None, help="dossier de fiches <appel>.form.json à évaluer")
    p.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default=DEFAULT_EXTRACTOR,
        help=f"sans --pred : extracteur à lancer sur les transcriptions simsamu (défaut : {DEFAULT_EXTRACTOR})",
    )
    p.add_argument(
        "--model",
        default=None,
        help="pour --extractor llm : modèle (nom fourni ou dossier ; défaut gemma3-270m) ; pour "
        "--extractor model|hybrid|hybrid-motif : dossier écrit par llm4all train-samu (défaut : "
        "l'adaptateur livré)",
    )
    p.add_argument("--simsamu", default=str(DEFAULT_SIMSAMU), help="dossier simsamu (transcriptions)")
    p.add_argument(
        "--split",
        choices=("all", "dev", "test", "test2"),
        default="all",
        help="sous-ensemble des fiches (samu/gold_splits.json) : dev (ayant servi à écrire les règles), "
        "test (annotées ensuite, ont servi à régler après une mesure), test2 (annotées en dernier, mesurées une fois) ou all (défaut)",
    )
    p.add_argument("--limit", type=int, default=0, help="n'évaluer que les N premiers appels (0 = tous)")
    p.add_argument("--json", default=None, help="fichier JSON du rapport (défaut : aucun)")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barre de progression")
    return p


def split_calls(calls: list[str], split: str, gold_dir: Path | None = None) -> list[str]:
    """The gold calls of a split, from ``gold_splits.json`` next to the gold directory: ``dev``
    (the calls the rules were written against) and ``test`` (annotated afterwards, never used
    for tuning). Without a splits file every call is ``all``."""
    calls = sorted(calls)
    if split == "all":
        return calls
    from samu.gold import GOLD_DIR

    f = (gold_dir or GOLD_DIR).parent / "gold_splits.json"
    if not f.exists():
        raise ValueError(f"no split file {f}: use --split all")
    wanted = set(json.loads(f.read_text(encoding="utf-8")).get(split, []))
    return [c for c in calls if c in wanted]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from samu.evaluate import Report, format_table, score_call
    from samu.gold import GOLD_DIR, load_gold_dir

    try:
        gold = load_gold_dir(args.gold or GOLD_DIR)
    except (ValueError, FileNotFoundError) as e:
        print(f"erreur : fiches de référence illisibles : {e}", file=sys.stderr)
        return 2
    if not gold:
        print("erreur : aucune fiche de référence", file=sys.stderr)
        return 2
    try:
        calls = split_calls(list(gold), args.split, Path(args.gold) if args.gold else None)
    except ValueError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2
    if args.limit > 0:
        calls = calls[: args.limit]
    report = Report()
    times: list[float] = []
    missing: list[str] = []
    llm = None
    if not args.pred and args.extractor == "llm":
        llm, error = load_llm(args.model)
        if error:
            print(error, file=sys.stderr)
            return 2
    elif not args.pred and args.extractor in MODEL_EXTRACTORS:
        from samu.model import load_samu_model

        try:
            llm = load_samu_model(args.model)
        except (ValueError, RuntimeError, OSError) as e:
            print(f"erreur : impossible de charger le modèle SAMU : {failure_reason(e)}", file=sys.stderr)
            return 2
        seen = [s for s in llm.metadata.get("info", {}).get("simsamu", []) if args.split in ("all", s)]
        if seen:
            print(
                f"attention : le modèle SAMU {llm.name} a été entraîné sur les appels simsamu "
                f"{' et '.join(seen)} : seul --split test2 mesure des appels qu'il n'a pas vus",
                file=sys.stderr,
            )
    elif args.model and not args.pred:
        print(
            "erreur : --model ne sert qu'avec --extractor llm, model, hybrid ou hybrid-motif", file=sys.stderr
        )
        return 2
    from apps.progress import file_bar

    if args.pred and not Path(args.pred).is_dir():
        print(f"erreur : --pred {args.pred} n'est pas un dossier", file=sys.stderr)
        return 2
    if not calls:
        print(f"erreur : aucun appel dans le sous-ensemble {args.split!r}", file=sys.stderr)
        return 2
    from asr.transcript import read_transcript
    from samu import extract_form
    from samu.export import read_form

    for call in file_bar(calls, "appels", args.quiet):
        pred: object = {}
        try:
            if args.pred:
                path = Path(args.pred) / f"{call}.form.json"
                if not path.exists():
                    raise FileNotFoundError(f"{path} absent")
                pred = read_form(path)
            else:
                src = Path(args.simsamu) / call / f"{call}.json"
                if not src.exists():
                    raise FileNotFoundError(f"{src} absent")
                t = read_transcript(src)
                t0 = time.perf_counter()
                pred = extract_form(t, args.extractor, llm=llm)
                times.append(time.perf_counter() - t0)
        except Exception as e:  # one unreadable call is reported and scored as empty
            print(f"erreur : {call} : {failure_reason(e)}", file=sys.stderr)
            missing.append(call)
            pred = {}
        score_call(pred, gold[call], call, report)
    title = f"evaluate-samu : {report.calls} appels ({args.split}), " + (
        f"fiches de {args.pred}" if args.pred else f"extracteur {args.extractor}"
    )
    print(format_table(report, title))
    if times:
        print(
            f"temps d'extraction par appel : médiane {statistics.median(times):.3f} s, max {max(times):.3f} s"
        )
    if missing:
        print(f"{len(missing)} appel(s) sans fiche lisible (comptés vides) : {', '.join(missing)}")
    if args.json:
        out = report.to_dict()
        out.update(
            {
                "split": args.split,
                "calls_scored": calls,
                "source": args.pred or f"extractor:{args.extractor}",
                "model": (
                    getattr(llm, "name", args.model or "gemma3-270m")
                    if args.extractor != "rules" and not args.pred
                    else None
                ),
                "seconds_per_call_median": statistics.median(times) if times else None,
                "seconds_per_call_max": max(times) if times else None,
                "missing": missing,
            }
        )
        atomic_write_text(Path(args.json), json_dumps_strict(out, ensure_ascii=False, indent=2) + "\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
