"""SAMU form extractors on the project's own calls (samu/calls: train, dev, blind) and on simsamu.

Prints a per-field table (P/R/F1) per extractor and split and writes JSON. The "issue" micro-F1
is over the seven fields of the SAMU-model issue: age, sex, motif, priority, decision type,
resource and caller type; ``motif_category`` scores the motif's level-1 category (Mxx).

Which data each system was tuned on is recorded in the JSON (``tuned_on``): the rules were
written on simsamu dev+test; rules revisions of the SAMU-model issue on samu/calls train+dev.

    .venv/bin/python benchmarks/bench_samu_calls.py --splits dev --extractors rules \\
        --out benchmarks/results/samu_calls_rules_before.json
    .venv/bin/python benchmarks/bench_samu_calls.py --splits dev --extractors llm \\
        --llm qwen2.5-coder-1.5b --llm-dtype bfloat16 --limit 6 --max-call-seconds 240 \\
        --out benchmarks/results/samu_teacher.json

``--llm NAME`` loads a :class:`core_training.generate.LocalLLM` (model directory, bundled name or
cached hub id) for the ``llm`` extractor (run in ``--llm-dtype``); ``--limit N`` keeps the first N
calls sorted by name; ``--max-call-seconds S`` stops a split after a slower call (the calls done are
scored and the JSON says where it stopped).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

ISSUE_FIELDS = (
    "patient.age",
    "patient.sex",
    "qualification.motif",
    "qualification.priority",
    "decision.type",
    "decision.resource",
    "caller.type",
)


def _calls(split: str):
    """``[(name, transcript, gold, call date or None)]`` of a split: ``train``/``dev``/``blind``... of
    samu/calls (``train:ncm,ncn``: those writers' calls only), or ``simsamu-<dev|test|test2>``."""
    if split.startswith("simsamu-"):
        from samu.corpus import load_simsamu

        calls = load_simsamu(split.split("-", 1)[1])
        return [(c.call, c.transcript, c.gold, None) for c in calls.values()]
    from samu.corpus import load_split

    split, _, writers = split.partition(":")  # train:ncm,ncn -> those writers' calls only
    keep = set(writers.split(",")) if writers else None
    calls = load_split(split).values()
    if keep and not keep & {c.call.split("_")[0] for c in calls}:
        raise SystemExit(f"no call by {sorted(keep)} in the {split} split")
    return [
        (c.call, c.transcript, c.gold, c.call_date) for c in calls if not keep or c.call.split("_")[0] in keep
    ]


def evaluate(
    extractor: str, split: str, llm=None, limit: int | None = None, max_call_s: float | None = None
) -> dict:
    from samu import extract_form
    from samu.evaluate import Counts, Report, score_call

    report = Report()
    cat = Counts()
    times, cpu = [], []  # wall and process CPU seconds per call
    stopped = None
    calls = _calls(split)
    if limit is not None:
        calls = sorted(calls, key=lambda c: c[0])[:limit]
    for name, t, gold, call_date in calls:
        t0, c0 = time.perf_counter(), time.process_time()
        form = extract_form(t, extractor, llm=llm, call_date=call_date)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if llm is not None:  # progress only: the call's name and time, never its content
            print(f"  {name}: {times[-1]:.1f} s ({cpu[-1]:.1f} s CPU)", file=sys.stderr, flush=True)
        score_call(form, gold, call=name, report=report)
        g, p = gold["fields"].get("qualification.motif"), form.value("qualification.motif")
        g, p = (g or "")[:3] or None, (p or "")[:3] or None
        cat.tp += p is not None and p == g
        cat.fp += p is not None and p != g
        cat.fn += g is not None and p != g
        if max_call_s is not None and times[-1] > max_call_s and len(times) < len(calls):
            stopped = f"stopped after call {len(times)}/{len(calls)}: {times[-1]:.0f} s > {max_call_s:.0f} s"
            print(f"  {stopped}", file=sys.stderr, flush=True)
            break
    d = report.to_dict()
    d["micro_issue"] = report.micro(ISSUE_FIELDS).to_dict()
    d["motif_category"] = cat.to_dict()
    d["seconds_median"] = round(statistics.median(times), 4) if times else None
    d["seconds_max"] = round(max(times), 4) if times else None
    if limit is not None or stopped:
        d["call_names"] = [c[0] for c in calls[: len(times)]]
    if llm is not None:
        d["seconds_per_call"] = [round(x, 1) for x in times]
        d["cpu_seconds_per_call"] = [round(x, 1) for x in cpu]  # all threads; wall minus this = waiting
    if stopped:
        d["stopped"] = stopped
    return d


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--splits", nargs="+", default=["dev"])
    p.add_argument("--extractors", nargs="+", default=["rules"])
    p.add_argument("--label", default=None, help="name of this run in the JSON (e.g. rules-before)")
    p.add_argument("--tuned-on", default="rules: simsamu dev+test", help="what the system was tuned on")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "samu_calls.json"))
    p.add_argument(
        "--llm", default=None, help="model for the llm extractor (directory, bundled name, hub id)"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N calls of each split, by name")
    p.add_argument(
        "--llm-dtype", default="float32", help="dtype the --llm model is run in (bfloat16 halves RAM)"
    )
    p.add_argument(
        "--max-call-seconds", type=float, default=None, help="stop a split after a call slower than this"
    )
    a = p.parse_args(argv)
    llm, run_info = None, {}
    if a.llm:
        import os
        import resource

        from core_training.generate import LocalLLM
        from core_training.models import load_causal_lm

        t0 = time.perf_counter()
        llm = LocalLLM(load_causal_lm(a.llm, dtype=a.llm_dtype))
        llm.name = a.llm
        run_info = {
            "llm": a.llm,
            "llm_dtype": str(next(llm.model.parameters()).dtype).removeprefix("torch."),
            "load_seconds": round(time.perf_counter() - t0, 1),
            "torch_threads": __import__("torch").get_num_threads(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        }
    out = Path(a.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    fields = ISSUE_FIELDS + (
        "caller.communication",
        "location.address_present",
        "location.city",
        "decision.orientation",
    )
    for ex in a.extractors:
        for split in a.splits:
            r = evaluate(
                ex, split, llm=llm if ex == "llm" else None, limit=a.limit, max_call_s=a.max_call_seconds
            )
            key = f"{a.label or ex}/{split}"
            results[key] = {"extractor": ex, "split": split, "tuned_on": a.tuned_on, **r}
            if llm is not None and ex == "llm":
                results[key].update(
                    run_info,
                    peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                    loadavg_end=[round(x, 2) for x in os.getloadavg()],
                )
            print(f"\n== {key}  ({r['calls']} appels, médiane {r['seconds_median']} s/appel)")
            print(f"{'champ':26} {'P':>6} {'R':>6} {'F1':>6}")
            for f in fields:
                c = r["per_field"][f]
                print(f"{f:26} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f}")
            for name in ("motif_category", "micro_issue"):
                c = r[name]
                print(f"{name:26} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json_dumps_strict(results, ensure_ascii=False, indent=1) + "\n")
    print(f"\n-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
