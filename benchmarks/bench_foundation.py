"""The French dialogue foundation (``llm4all train-foundation``): perplexity before (the
vocabulary-trimmed base) and after (base + LoRA adapter) on French dialogue validation (``new``)
and on the old domain (replay validation, ``old``), training tokens, time, memory, adapter size
and SHA-256; with ``--run LABEL=DIR`` several runs side by side (e.g. with and without replay:
forgetting).

By default the numbers are those the recipe measured (``summary.json`` of each run directory,
or, with no run given, the training summary stored in the shipped adapter's ``foundation.json``).
``--evaluate`` scores the shipped (or ``--adapter``) adapter again, with and without the LoRA
layers, on ``--eval-tokens`` tokens per domain.

    .venv/bin/python benchmarks/bench_foundation.py                       # the shipped adapter's summary
    .venv/bin/python benchmarks/bench_foundation.py --run replay=/work/runs/foundation/main \\
        --run no-replay=/work/runs/foundation/noreplay
    .venv/bin/python benchmarks/bench_foundation.py --evaluate --eval-tokens 4096
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "results" / "foundation.json"
DOMAINS = {"new": "French dialogue val", "old": "old domain (replay val)"}


def _row(label: str, s: dict) -> dict:
    """One result row from a run summary (or an adapter's stored training summary)."""
    before, after = s.get("perplexity_before") or {}, s.get("perplexity_after") or {}
    row = {
        "label": label,
        "replay_ratio": s.get("replay_ratio"),
        "lr": s.get("lr"),
        "steps": s.get("steps"),
        "tokens": s.get("tokens"),
        "train_seconds": s.get("train_seconds"),
        "total_seconds": s.get("total_seconds"),
        "tokens_per_s": s.get("tokens_per_s"),
        "peak_rss_gb": s.get("peak_rss_gb"),
        "vocab": s.get("vocab"),
        "adapter_sha256": s.get("adapter_sha256"),
        "adapter_mb": s.get("adapter_mb"),
        "trimmed_base_sha256": s.get("trimmed_base_sha256"),
        "eval_tokens": s.get("eval_tokens"),
        "perplexity": {},
    }
    for d in DOMAINS:
        if d in before and d in after:
            row["perplexity"][d] = {
                "word_before": before[d]["ppl_word"],
                "word_after": after[d]["ppl_word"],
                "token_before": before[d]["ppl_token"],
                "token_after": after[d]["ppl_token"],
                "bpc_before": before[d]["bpc"],
                "bpc_after": after[d]["bpc"],
            }
    return row


def from_runs(runs: list[str]) -> list[dict]:
    rows = []
    for spec in runs:
        label, _, d = spec.partition("=")
        if not d:
            label, d = Path(spec).name, spec
        p = Path(d) / "summary.json"
        if not p.is_file():
            raise SystemExit(f"{p}: no summary (the run is not finished)")
        rows.append(_row(label, json.loads(p.read_text())))
    return rows


def from_adapter(adapter: Path) -> list[dict]:
    from core_training.foundation import read_foundation_metadata

    meta = read_foundation_metadata(adapter)
    info = dict(meta.get("info") or {})
    info["adapter_sha256"] = meta["adapter_sha256"]
    w = adapter / meta.get("adapter_file", "adapter_model.safetensors")
    info["adapter_mb"] = round(w.stat().st_size / 1e6, 2)
    return [_row(meta.get("name", adapter.name), info)]


def evaluate(adapter: Path, eval_tokens: int, block_size: int) -> dict:
    """Perplexity of the trimmed base and of the foundation on both domains, scored now."""
    from core_training.datasets import load_corpus
    from core_training.evaluate import perplexity
    from core_training.foundation import load_foundation, read_foundation_metadata

    t0 = time.perf_counter()
    model, tok = load_foundation(adapter, merged=False)
    load_s = time.perf_counter() - t0
    texts = {
        "new": list(load_corpus("french_dialogue")["validation"]["text"]),
        "old": list(load_corpus("replay")["validation"]["text"]),
    }
    before, after = {}, {}
    for d, docs in texts.items():
        after[d] = perplexity(model, tok, docs, block_size=block_size, max_tokens=eval_tokens)
        with model.disable_adapter():
            before[d] = perplexity(model, tok, docs, block_size=block_size, max_tokens=eval_tokens)
    meta = read_foundation_metadata(adapter)
    s = dict(meta.get("info") or {})
    s.update(
        perplexity_before=before,
        perplexity_after=after,
        eval_tokens=eval_tokens,
        adapter_sha256=meta["adapter_sha256"],
        adapter_mb=round((adapter / "adapter_model.safetensors").stat().st_size / 1e6, 2),
    )
    row = _row(meta.get("name", adapter.name) + " (re-evaluated)", s)
    row["load_seconds"] = round(load_s, 1)
    row["eval_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 2)
    return row


def table(rows: list[dict]) -> str:
    head = "| run | replay | tokens | train s | tok/s | peak RSS GB |"
    head += "".join(f" {DOMAINS[d]} word ppl before → after |" for d in DOMAINS)
    lines = [head, "|" + "---|" * (6 + len(DOMAINS))]
    for r in rows:
        cells = [
            r["label"],
            "-" if r["replay_ratio"] is None else f"{r['replay_ratio']:.2f}",
            str(r["tokens"] or "-"),
            "-" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}",
            "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.1f}",
            str(r.get("peak_rss_gb") or r.get("eval_peak_rss_gb") or "-"),
        ]
        for d in DOMAINS:
            p = r["perplexity"].get(d)
            cells.append(
                f"{p['word_before']:.2f} → {p['word_after']:.2f} (tok {p['token_before']:.2f} → {p['token_after']:.2f})"
                if p
                else "-"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--run", action="append", default=[], help="LABEL=RUN_DIR of a finished train-foundation run"
    )
    ap.add_argument("--adapter", type=Path, default=None, help="adapter dir (default: the shipped one)")
    ap.add_argument("--evaluate", action="store_true", help="score the adapter again (with and without LoRA)")
    ap.add_argument("--eval-tokens", type=int, default=4096)
    ap.add_argument("--eval-block-size", type=int, default=256)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from core_training.foundation import default_adapter_dir

    adapter = args.adapter or default_adapter_dir()
    rows = from_runs(args.run) if args.run else []
    if not rows and (adapter / "foundation.json").is_file():
        rows = from_adapter(adapter)
    if args.evaluate:
        rows.append(evaluate(adapter, args.eval_tokens, args.eval_block_size))
    if not rows:
        print(f"nothing to report: no --run and no adapter in {adapter}", file=sys.stderr)
        return 1
    print(table(rows))
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "adapter": str(adapter.relative_to(ROOT)) if adapter.is_relative_to(ROOT) else str(adapter),
        "runs": rows,
        "full_finetuning_reference": "benchmarks/results/train_gemma_long.json (lr 3e-5, 49k tokens, 0 vs 25 % replay)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
