"""The SAMU model (samu/model.py) against the rules on the project's own calls: per-field P/R/F1,
the 7-field micro-F1 of the SAMU-model issue (age, sex, motif, priority, decision type, resource,
caller type), the motif's level-1 category, and time per call.

Extractors: ``rules``; ``model`` (the model's six fields alone); ``hybrid`` (model fields kept when
the transcript supports them, else the rules' value; the rest from the rules); ``hybrid-strict``
(an unsupported model value leaves the field empty); ``hybrid-motif`` (only the motif from the
hybrid, everything else from the rules: fixed on 2026-11-30 before blind4 was written, suggested
by blind3's per-field table; ``samu.model.extract_hybrid_motif``). The model scores each call once; the three
model forms are built from that one scoring, and each one's time is the scoring time plus its
own assembly.

Splits: ``train`` (what the model was trained on: not a measure of generalisation) and ``dev``
(never trained on; only aggregate scores are printed); ``blind7`` (written after the seventh
freeze, measured once) and ``simsamu-test2`` (once per final version). The six earlier blind sets
were each measured once (results kept in ``samu_model.json``) and then became training calls.

    .venv/bin/python benchmarks/bench_samu_model.py --splits dev
    .venv/bin/python benchmarks/bench_samu_model.py --adapter /work/samu_runs/a/adapter --label a --splits dev
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_samu_calls import ISSUE_FIELDS, _calls  # noqa: E402

from samu.corpus import SPLITS  # noqa: E402

TABLE_FIELDS = ISSUE_FIELDS + ("caller.communication", "location.address_present", "location.city")
EXTRACTORS = ("rules", "model", "hybrid", "hybrid-strict", "hybrid-motif")


class _Scorer:
    """Per-call tally of one extractor: the samu.evaluate report, motif category, times."""

    def __init__(self):
        from samu.evaluate import Counts, Report

        self.report = Report()
        self.cat = Counts()
        self.times: list[float] = []
        self.warnings_dropped = 0

    def add(self, name: str, form, gold: dict, seconds: float) -> None:
        from samu.evaluate import score_call

        score_call(form, gold, call=name, report=self.report)
        g, p = gold["fields"].get("qualification.motif"), form.value("qualification.motif")
        g, p = (g or "")[:3] or None, (p or "")[:3] or None
        self.cat.tp += p is not None and p == g
        self.cat.fp += p is not None and p != g
        self.cat.fn += g is not None and p != g
        self.times.append(seconds)
        self.warnings_dropped += sum("(modèle)" in w and "écartée" in w for w in form.warnings)

    def result(self) -> dict:
        d = self.report.to_dict()
        d.pop("errors", None)  # per-call values stay out of the JSON (dev calls are not looked at)
        d["micro_issue"] = self.report.micro(ISSUE_FIELDS).to_dict()
        d["motif_category"] = self.cat.to_dict()
        d["seconds_median"] = round(statistics.median(self.times), 3) if self.times else None
        d["seconds_max"] = round(max(self.times), 3) if self.times else None
        d["model_values_dropped"] = self.warnings_dropped
        return d


def evaluate(split: str, extractors: tuple[str, ...], sm=None, hook=None) -> dict[str, dict]:
    """Score every call of ``split`` with each extractor; returns ``{extractor: result}``."""
    from samu import model as sm_mod
    from samu.rules import extract_rules

    calls = _calls(split)
    scorers = {ex: _Scorer() for ex in extractors}
    real_scores = sm_mod.candidate_scores
    for i, (name, t, gold, call_date) in enumerate(calls):
        if "rules" in scorers:
            t0 = time.perf_counter()
            form = extract_rules(t, call_date=call_date)
            scorers["rules"].add(name, form, gold, time.perf_counter() - t0)
        if sm is None or not set(extractors) - {"rules"}:
            continue
        t0 = time.perf_counter()
        scored = real_scores(sm, t)
        t_score = time.perf_counter() - t0
        sm_mod.candidate_scores = lambda _sm, _t, _s=scored: _s  # the three forms share one scoring
        try:
            for ex in extractors:
                if ex == "rules":
                    continue
                t0 = time.perf_counter()
                if ex == "model":
                    form = sm_mod.extract_model(t, sm)
                elif ex == "hybrid-motif":
                    form = sm_mod.extract_hybrid_motif(t, sm, call_date=call_date)
                else:
                    form = sm_mod.extract_hybrid(t, sm, fallback_to_rules=ex == "hybrid", call_date=call_date)
                scorers[ex].add(name, form, gold, t_score + time.perf_counter() - t0)
        finally:
            sm_mod.candidate_scores = real_scores
        if hook:
            hook(i + 1, len(calls))
    return {ex: s.result() for ex, s in scorers.items()}


def table(key: str, r: dict) -> str:
    lines = [
        f"\n== {key}  ({r['calls']} appels, médiane {r['seconds_median']} s/appel, max {r['seconds_max']} s)"
    ]
    lines.append(f"{'champ':26} {'P':>6} {'R':>6} {'F1':>6}")
    for f in TABLE_FIELDS:
        c = r["per_field"][f]
        lines.append(f"{f:26} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f}")
    for name in ("motif_category", "micro_issue"):
        c = r[name]
        lines.append(f"{name:26} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f}")
    if r.get("model_values_dropped"):
        lines.append(f"valeurs du modèle écartées (sans appui) : {r['model_values_dropped']}")
    return "\n".join(lines)


def metrics_markdown(results: dict, label: str, split: str = "dev") -> str:
    """A markdown table (F1 per field, 7-field micro-F1, motif category, time) for a model card."""
    cols = [("rules", f"rules/{split}")] + [
        (ex, f"{label}/{ex}/{split}") for ex in EXTRACTORS if ex != "rules"
    ]
    cols = [(n, k) for n, k in cols if k in results]
    if not cols:
        return ""
    r0 = results[cols[0][1]]
    head = f"F1 on the {r0['calls']} `{split}` calls (`benchmarks/bench_samu_model.py`, `benchmarks/results/samu_model.json`):"
    lines = [head, "", "| field | " + " | ".join(n for n, _k in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for f in ISSUE_FIELDS:
        lines.append(
            f"| {f} | " + " | ".join(f"{results[k]['per_field'][f]['f1']:.3f}" for _n, k in cols) + " |"
        )
    for name, key in (
        ("motif category (level 1)", "motif_category"),
        ("**micro-F1, 7 fields**", "micro_issue"),
    ):
        lines.append(f"| {name} | " + " | ".join(f"{results[k][key]['f1']:.3f}" for _n, k in cols) + " |")
    lines.append(
        "| median s / call | " + " | ".join(f"{results[k]['seconds_median']}" for _n, k in cols) + " |"
    )
    loads = sorted({x for _n, k in cols for x in results[k].get("load_average_1min", [])})
    lines += [
        "",
        f"Times on the shared 2-core CPU (1-min load average {loads[0]}–{loads[-1]} during the run).",
        "The rules were revised on the train and dev calls, so dev is not held out for them.",
    ]
    return "\n".join(lines)


def update_card(card: Path, metrics_md: str) -> None:
    """Replace the ``## Metrics`` section of a model card."""
    text = card.read_text(encoding="utf-8")
    start = text.index("## Metrics")
    end = text.find("\n## ", start + 1)
    new = "## Metrics\n\n" + metrics_md + "\n\n"
    card.write_text(text[:start] + new + (text[end + 1 :] if end >= 0 else ""), encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--splits",
        nargs="+",
        default=["dev"],
        choices=[*SPLITS, "simsamu-test2"],  # blind..blind6: now train
    )
    p.add_argument("--extractors", nargs="+", default=list(EXTRACTORS), choices=EXTRACTORS)
    p.add_argument("--adapter", default=None, help="adapter directory (default: the shipped one)")
    p.add_argument("--label", default="samu-gemma3-270m-lora", help="name of this model in the JSON")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "samu_model.json"))
    p.add_argument("--card", default=None, help="model card README.md whose Metrics section to rewrite")
    p.add_argument("--card-only", action="store_true", help="only rewrite --card from the JSON")
    a = p.parse_args(argv)
    out = Path(a.out)
    if a.card_only:
        results = json.loads(out.read_text())
        update_card(Path(a.card), metrics_markdown(results, a.label, a.splits[0]))
        return 0
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    sm, load_s, meta = None, None, {}
    if set(a.extractors) - {"rules"}:
        from samu.model import load_samu_model

        t0 = time.perf_counter()
        sm = load_samu_model(a.adapter)
        load_s = round(time.perf_counter() - t0, 1)
        meta = {
            "adapter": str(sm.adapter_dir),
            "adapter_sha256": sm.metadata.get("adapter_sha256"),
            "training": sm.metadata.get("info", {}),
            "load_seconds": load_s,
        }
    results = json.loads(out.read_text()) if out.exists() else {}
    for split in a.splits:
        load0 = os.getloadavg()[0]

        def hook(done, total, split=split):
            print(f"\r{split}: {done}/{total}", end="", file=sys.stderr, flush=True)

        res = evaluate(split, tuple(a.extractors), sm, hook)
        print(file=sys.stderr)
        for ex, r in res.items():
            key = f"{ex}/{split}" if ex == "rules" else f"{a.label}/{ex}/{split}"
            tuned = (
                "rules: simsamu dev+test, samu/calls train+dev (rules revisions)"
                if ex == "rules"
                else "model: trained on samu/calls train; settings compared on dev aggregates"
            )
            results[key] = {
                "extractor": ex,
                "split": split,
                "tuned_on": tuned,
                "threads": torch.get_num_threads(),
                "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
                **({} if ex == "rules" else meta),
                **r,
            }
            print(table(key, r))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, out)
    print(f"\n-> {out}")
    if a.card:
        update_card(Path(a.card), metrics_markdown(results, a.label, a.splits[0]))
        print(f"-> {a.card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
