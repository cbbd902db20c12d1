"""Summaries benchmark on FREDSum: ROUGE-1/2/L of every system on the test split, in one run.

Systems: lead-N and the extractive oracle (our budget rule), the published peer outputs
(Barthez, ChatGPT, OpenAssistant-Llama-30B), our extractive system, and our LLM system (Gemma 3
270M map-reduce; on a slow shared CPU, ``--llm-files N`` caps it to the first N test files and
every system is also reported on that subset). Prints the tables and writes
``benchmarks/results/summaries.json`` with timings (median seconds per file) and the machine.

``--tune`` chooses the extractive parameters and the budget rule on the FREDSum files *outside*
the test split (coordinate search on mean ROUGE-L, then R-1 + R-2 to break ties) and prints them;
the chosen values are the defaults in ``summarize/core.py``. The test split is never used for it.

    .venv/bin/python benchmarks/bench_summaries.py --tune
    .venv/bin/python benchmarks/bench_summaries.py --llm-files 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.evaluate_summaries import DEFAULT_ROOT, build_systems, machine, report  # noqa: E402
from asr.transcript import json_dumps_strict  # noqa: E402
from summarize.core import DEFAULT_BUDGET, BudgetRule, SummaryOptions, summarize, with_full_names  # noqa: E402
from summarize.evaluate import (  # noqa: E402
    common_names,
    dev_names,
    evaluate,
    format_table,
    load_items,
    make_scorer,
    score_best_of,
)
from summarize.extractive import lead_summary  # noqa: E402
from summarize.fredsum import read_fredsum  # noqa: E402
from summarize.text import count_words  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "summaries.json"


def tune(root: Path) -> dict:
    """Coordinate search of the extractive parameters on non-test FREDSum files."""
    items = load_items(root, dev_names(root))
    transcripts = {it.name: with_full_names(read_fredsum(it.transcript))[0] for it in items}
    scorer = make_scorer()
    cache: dict[tuple, tuple[float, float]] = {}

    def run(ratio: float, lam: float, min_words: int, lead: bool = False) -> tuple[float, float]:
        key = (ratio, lam, min_words, lead)
        if key in cache:
            return cache[key]
        rule = BudgetRule(ratio=ratio, minimum=DEFAULT_BUDGET.minimum, maximum=DEFAULT_BUDGET.maximum)
        rl, r12 = [], []
        for it in items:
            t = transcripts[it.name]
            b = rule(count_words(t.text))
            if lead:
                pred = lead_summary(t, b)
            else:
                opts = SummaryOptions(max_words=b, mmr_lambda=lam, min_sentence_words=min_words)
                pred = summarize(t, opts).text
            s = score_best_of(pred, list(it.references.values()), scorer)
            rl.append(s["rougeL"])
            r12.append(s["rouge1"] + s["rouge2"])
        cache[key] = (statistics.fmean(rl), statistics.fmean(r12))
        print(
            f"  ratio={ratio:.2f} lambda={lam:.2f} min_words={min_words} lead={lead}: "
            f"R-L {cache[key][0]:.2f}  R-1+R-2 {cache[key][1]:.2f}",
            flush=True,
        )
        return cache[key]

    best = {"ratio": 0.1, "lam": 0.7, "min_words": 6}
    grid = {
        "ratio": [0.08, 0.1, 0.12, 0.15],
        "lam": [0.6, 0.75, 0.9, 1.0],
        "min_words": [4, 6, 10],
    }
    print(f"tuning on {len(items)} non-test FREDSum files")
    for _round in range(1):
        for name, values in grid.items():
            scored = {v: run(**{**best, name: v}) for v in values}
            best[name] = max(scored, key=lambda v: scored[v])
    lead_by_ratio = {r: run(r, 0.0, 0, lead=True) for r in grid["ratio"]}
    return {
        "dev_files": len(items),
        "chosen": best,
        "dev_rougeL": run(**best)[0],
        "lead_dev_rougeL_by_ratio": {str(r): v[0] for r, v in lead_by_ratio.items()},
        "all_runs": {str(k): v for k, v in cache.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=str(DEFAULT_ROOT))
    p.add_argument("--tune", action="store_true", help="tune the extractive system on non-test files")
    p.add_argument("--llm-files", type=int, default=8, help="run the LLM on the first N test files (0: none)")
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the LLM")
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    root = Path(a.root)
    if a.tune:
        res = tune(root)
        print(json_dumps_strict({k: v for k, v in res.items() if k != "all_runs"}, indent=1))
        data = json.loads(Path(a.out).read_text()) if Path(a.out).is_file() else {}
        data["tuning"] = {"date": date.today().isoformat(), **res}
        from asr.transcript import atomic_write_text

        atomic_write_text(a.out, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")
        return 0

    items = load_items(root)
    t0 = time.perf_counter()
    results = evaluate(items, build_systems())
    print(format_table(results))
    common = common_names(results)
    print(f"({len(common)} files common to all systems, of {len(items)})\n")
    extra: dict = {"date": date.today().isoformat(), "llm": None}
    if a.llm_files:
        from core_training.generate import LocalLLM

        llm = LocalLLM(a.model, threads=a.threads)
        sub = items[: a.llm_files]
        llm_results = evaluate(
            sub,
            {
                f"ours: llm {a.model}": build_systems(False, False, False, llm, a.model)[
                    f"ours: llm {a.model}"
                ]
            },
            hook=lambda step, done, total: print(f"  llm {done}/{total}", file=sys.stderr, flush=True),
        )
        names = [it.name for it in sub]
        merged = {**results, **llm_results}
        print(f"On the first {len(sub)} test files (the LLM subset):")
        print(format_table(merged, names))
        extra["llm"] = {
            "model": a.model,
            "files": names,
            "table_on_subset": {n: r.mean(names) for n, r in merged.items()},
            "note": "LLM run capped to the first N test files to keep the benchmark under ~25 min on 2 shared CPU cores",
        }
        results = merged
    extra["seconds_total"] = round(time.perf_counter() - t0, 1)
    previous = json.loads(Path(a.out).read_text()) if Path(a.out).is_file() else {}
    if "tuning" in previous:
        extra["tuning"] = previous["tuning"]
    data = report(results, items, extra, common=common)
    data["machine"] = machine()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    from asr.transcript import atomic_write_text

    atomic_write_text(a.out, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
