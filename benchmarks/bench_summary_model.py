"""Summary model benchmark on FREDSum: ROUGE-1/2/L of the LoRA summary model (``summarize/model.py``)
beside the peers and baselines, on the test split, with the project's scorer.

Systems scored in the same run (:mod:`apps.evaluate_summaries`, :mod:`summarize.evaluate`):
lead-N and the extractive oracle (our budget rule), the published peer outputs (Barthez,
ChatGPT, OpenAssistant-Llama-30B), our extractive system, and the summary model through
``summarize(..., SummaryOptions(method="llm"), llm=load_summary_model(...))`` (greedy, and the
adapter's own default decoding when it records beams: then that row is the headline, its speed
and faithfulness are reported). Also measured: seconds per debate (median), generation tokens/s, greedy vs beam
search on the first ``--beam-files`` files, and the faithfulness check's unsupported names and
numbers in the model's summaries (:func:`summarize.faithfulness.check_faithfulness`).

Model summaries are cached per file in ``--cache`` (JSON lines; a rerun skips the files done,
``--fresh`` starts over). Prints the tables and writes ``benchmarks/results/summary_model.json``.

    .venv/bin/python benchmarks/bench_summary_model.py --threads 2
    .venv/bin/python benchmarks/bench_summary_model.py --adapter runs/train_summary/adapter --beam-files 5
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
from asr.transcript import atomic_write_text, json_dumps_strict  # noqa: E402
from summarize.core import SummaryOptions, summarize  # noqa: E402
from summarize.evaluate import (  # noqa: E402
    SystemScores,
    common_names,
    evaluate,
    format_table,
    load_items,
    make_scorer,
    score_best_of,
)
from summarize.faithfulness import check_faithfulness  # noqa: E402
from summarize.fredsum import read_fredsum  # noqa: E402
from summarize.text import count_words  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "summary_model.json"
CACHE = ROOT / "benchmarks" / "results" / "summary_model_outputs.jsonl"
OUT_HOLDOUT = ROOT / "benchmarks" / "results" / "summary_model_holdout.json"
CACHE_HOLDOUT = ROOT / "benchmarks" / "results" / "summary_model_holdout_outputs.jsonl"
TARGETS = {"ChatGPT (published), R-L": 22.40, "ours, extractive, R-L": 19.00}


def _read_cache(path: Path, adapter_sha256: str | None = None) -> dict[tuple[str, int], dict]:
    """Cached summaries by (file, beams); with ``adapter_sha256``, only those of that adapter
    (a cache written by another adapter is never reused for this one)."""
    out: dict[tuple[str, int], dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if adapter_sha256 is None or r.get("adapter_sha256") == adapter_sha256:
                    out[(r["name"], int(r["num_beams"]))] = r
    return out


def run_model(sm, items, num_beams: int, cache: dict, cache_path: Path, log=print) -> dict[str, dict]:
    """The model's summary of every item (from the cache when there), with timing, decoding
    facts, warnings and the faithfulness counts."""
    from summarize.model import GenerationOptions

    default = sm.generation
    sm.generation = GenerationOptions(
        num_beams=num_beams,
        no_repeat_ngram_size=default.no_repeat_ngram_size,
        repetition_penalty=default.repetition_penalty,
        max_new_tokens=default.max_new_tokens,
    )
    out = {}
    try:
        for i, item in enumerate(items):
            key = (item.name, num_beams)
            if key in cache:
                out[item.name] = cache[key]
                continue
            t = read_fredsum(item.transcript)
            t0 = time.perf_counter()
            s = summarize(t, SummaryOptions(method="llm", model=sm.name), llm=sm)
            dt = time.perf_counter() - t0
            rep = check_faithfulness(s.text, t, s.speaker_names)
            rec = {
                "name": item.name,
                "num_beams": num_beams,
                "adapter_sha256": sm.meta.get("adapter_sha256"),
                "text": s.text,
                "seconds": round(dt, 2),
                "words": count_words(s.text),
                "budget": s.max_words,
                "warnings": list(s.warnings),
                "names": rep.count("name"),
                "numbers": rep.count("number"),
                "unsupported": [m.text for m in rep.unsupported],
                **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in sm.last_info.items()},
            }
            cache[key] = rec
            with cache_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            out[item.name] = rec
            log(
                f"  [{i + 1}/{len(items)}] beams={num_beams} {item.name}: {rec['words']} words, {dt:.1f} s, "
                f"{rec.get('new_tokens')} tokens"
            )
    finally:
        sm.generation = default
    return out


def scores_of(name: str, outputs: dict[str, dict], items, scorer) -> SystemScores:
    r = SystemScores(name)
    for item in items:
        rec = outputs.get(item.name)
        if rec is None:
            continue
        r.per_file[item.name] = score_best_of(rec["text"], list(item.references.values()), scorer)
        r.seconds[item.name] = rec["seconds"]
        r.words[item.name] = rec["words"]
    return r


def decoding_stats(outputs: dict[str, dict]) -> dict:
    recs = list(outputs.values())
    gen_s = sum(r.get("generate_seconds", r["seconds"]) for r in recs)
    toks = sum(r.get("new_tokens", 0) for r in recs)
    return {
        "files": len(recs),
        "median_seconds_per_debate": statistics.median(r["seconds"] for r in recs) if recs else None,
        "max_seconds_per_debate": max((r["seconds"] for r in recs), default=None),
        "median_new_tokens": statistics.median(r.get("new_tokens", 0) for r in recs) if recs else None,
        "median_prompt_tokens": statistics.median(r.get("prompt_tokens", 0) for r in recs) if recs else None,
        "generation_tokens_per_second": round(toks / gen_s, 2) if gen_s else None,
        "fallbacks": sum(1 for r in recs if r.get("fallback")),
    }


def faithfulness(outputs: dict[str, dict]) -> dict:
    out = {}
    for kind in ("names", "numbers"):
        bad = sum(r[kind][0] for r in outputs.values())
        total = sum(r[kind][1] for r in outputs.values())
        out[kind] = {"unsupported": bad, "total": total, "rate": round(bad / total, 4) if total else None}
    out["examples"] = sorted({u for r in outputs.values() for u in r["unsupported"]})[:40]
    return out


# measured separately: benchmarks/bench_llamacpp.py -> benchmarks/results/llamacpp.json
LLAMA_CPP = "see benchmarks/results/llamacpp.json (bench_llamacpp.py): llama-cpp-python built from its sdist"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=str(DEFAULT_ROOT))
    p.add_argument("--adapter", default=None, help="adapter directory (default: the shipped one)")
    p.add_argument(
        "--split",
        choices=["test", "holdout"],
        default="test",
        help="test: the 28 FREDSum test files; holdout: the training debates the adapter held out "
        "(recorded in it by train-summary --holdout N), to choose settings without the test split",
    )
    p.add_argument("--files", type=int, default=0, help="only the first N files (0: all)")
    p.add_argument("--beam-files", type=int, default=5, help="beam search on the first N files (0: none)")
    p.add_argument("--num-beams", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--cache", default=None, help="model outputs cache (default by split)")
    p.add_argument("--fresh", action="store_true", help="ignore cached model outputs")
    p.add_argument(
        "--shard",
        default="",
        help="K/N: only fill the cache with files K, K+N, ... (run N processes, then once without --shard)",
    )
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="CACHE=LABEL",
        help="also score the greedy outputs cached in CACHE (another variant of the model) as row LABEL",
    )
    p.add_argument("--note", default="", help="free text recorded in the JSON (e.g. machine load)")
    p.add_argument("--out", default=None, help="results JSON (default by split)")
    p.add_argument(
        "--write-card",
        action="store_true",
        help="rewrite the adapter's README.md model card with these metrics",
    )
    a = p.parse_args(argv)
    if a.split == "holdout" and a.write_card:
        p.error("--write-card reports the test split: not with --split holdout")
    root = Path(a.root)
    a.out = a.out or str(OUT_HOLDOUT if a.split == "holdout" else OUT)
    a.cache = a.cache or str(CACHE_HOLDOUT if a.split == "holdout" else CACHE)
    scorer = make_scorer()
    t0 = time.perf_counter()
    from summarize.model import load_summary_model

    t_load = time.perf_counter()
    sm = load_summary_model(a.adapter, threads=a.threads)
    load_seconds = time.perf_counter() - t_load
    items = load_items(root, held_out_names(sm.meta) if a.split == "holdout" else None)
    if a.shard:
        return fill_shard(a, items, sm)
    results = evaluate(items, build_systems(), scorer)
    cache_path = Path(a.cache)
    if a.fresh and cache_path.exists():
        cache_path.unlink()
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache = _read_cache(cache_path, sm.meta.get("adapter_sha256"))
    model_items = items[: a.files] if a.files else items
    name = f"ours: modèle {sm.name}"
    greedy = run_model(sm, model_items, 1, cache, cache_path)
    results[name] = scores_of(name, greedy, model_items, scorer)
    variants = {}
    for spec in a.compare:
        path, _, label = spec.partition("=")
        other = {k[0]: r for k, r in _read_cache(Path(path)).items() if k[1] == 1}
        results[label] = scores_of(label, other, model_items, scorer)
        variants[label] = {
            "cache": path,
            "decoding": decoding_stats(other),
            "faithfulness": faithfulness(other),
        }
    common = common_names(results)
    print(format_table(results, common))
    print(f"({len(common)} files common to all systems, of {len(items)})\n")

    beam = None
    if a.beam_files and a.num_beams > 1:
        sub = model_items[: a.beam_files]
        bout = run_model(sm, sub, a.num_beams, cache, cache_path)
        bname = f"ours: modèle, beams={a.num_beams}"
        sub_names = [it.name for it in sub]
        pair = {name: results[name], bname: scores_of(bname, bout, sub, scorer)}
        print(f"Greedy vs beam search ({a.num_beams} beams) on the first {len(sub)} test files:")
        print(format_table(pair, sub_names))
        beam = {
            "num_beams": a.num_beams,
            "files": sub_names,
            "greedy": {**results[name].mean(sub_names), **decoding_stats({k: greedy[k] for k in sub_names})},
            "beam": {**pair[bname].mean(sub_names), **decoding_stats(bout)},
        }

    meta = sm.meta
    default = greedy  # the adapter's own decoding (its ``generation`` entry) is the headline row
    if sm.generation.num_beams > 1 and beam and sm.generation.num_beams == a.num_beams:
        if len(beam["files"]) == len(model_items):
            default = bout
            results[f"{name}, glouton"] = results.pop(name)
            results[f"{name}, beams={a.num_beams} (défaut)"] = scores_of(bname, bout, model_items, scorer)
            common = common_names(results)
            print("Default decoding of this adapter: " + bname)
            print(format_table(results, common))
    stats = decoding_stats(default)
    faith = faithfulness(default)
    print(
        f"\nmodel: {stats['median_seconds_per_debate']:.1f} s/debate (median), "
        f"{stats['generation_tokens_per_second']} generated tokens/s, {stats['fallbacks']} extractive fallbacks; "
        f"unsupported names {faith['names']['unsupported']}/{faith['names']['total']}, "
        f"numbers {faith['numbers']['unsupported']}/{faith['numbers']['total']}"
    )
    extra = {
        "date": date.today().isoformat(),
        "model": {
            "name": sm.name,
            "adapter_dir": str(sm.adapter_dir),
            "base": meta.get("base"),
            "base_sha256": meta.get("base_sha256"),
            "adapter_sha256": meta.get("adapter_sha256"),
            "prompt_format": meta.get("prompt_format"),
            "prompt_tokens": meta.get("prompt_tokens"),
            "generation": sm.generation.__dict__,
            "training": meta.get("training"),
            "load_seconds": round(load_seconds, 1),
        },
        "model_files": [it.name for it in model_items],
        "decoding": stats,
        "greedy_vs_beam": beam,
        "variants": variants,
        "faithfulness": faith,
        "targets": TARGETS,
        "llama_cpp": LLAMA_CPP,
        "split": a.split,
        "tuned_on": "nothing from the test split: the model was trained on the FREDSum train split only; "
        "decoding settings were fixed before this run"
        if a.split == "test"
        else "held-out training debates: never trained on, used to choose decoding and training length",
        "note": a.note,
        "seconds_total": round(time.perf_counter() - t0, 1),
    }
    data = report(results, items, extra, common=common)
    data["machine"] = machine()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {a.out}")
    if a.write_card:
        from summarize.model import model_card

        decoding = "greedy" if default is greedy else f"{a.num_beams} beams, this adapter's default"
        card = model_card(
            meta, meta.get("training"), metrics_markdown(results, common, stats, faith, beam, decoding)
        )
        atomic_write_text(Path(sm.adapter_dir) / "README.md", card)
        print(f"wrote {Path(sm.adapter_dir) / 'README.md'}")
    return 0


def held_out_names(meta: dict) -> list[str]:
    """The training debates an adapter held out (``train-summary --holdout N``)."""
    names = (meta.get("training") or {}).get("holdout_debates") or []
    if not names:
        raise SystemExit("--split holdout: this adapter held no debate out (train-summary --holdout N)")
    return names


def fill_shard(a, items, sm) -> int:
    """``--shard K/N``: the model's greedy (and beam) summaries of every N-th file into the cache."""
    k, n = (int(x) for x in a.shard.split("/"))
    if not 0 <= k < n:
        raise SystemExit(f"--shard K/N with 0 <= K < N, got {a.shard}")
    cache_path = Path(a.cache)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache = _read_cache(cache_path, sm.meta.get("adapter_sha256"))
    model_items = items[: a.files] if a.files else items
    run_model(sm, [it for i, it in enumerate(model_items) if i % n == k], 1, cache, cache_path)
    if a.beam_files and a.num_beams > 1:
        sub = model_items[: a.beam_files]
        run_model(sm, [it for i, it in enumerate(sub) if i % n == k], a.num_beams, cache, cache_path)
    return 0


def metrics_markdown(results, common, stats, faith, beam, decoding: str = "greedy") -> str:
    """The model card's metrics section: the ROUGE table on the common test files and the facts."""
    lines = [
        f"FREDSum test split ({len(common)} files every system has; ROUGE F1 %, project scorer: French"
        " word tokenizer, best of the three abstractive references; `benchmarks/bench_summary_model.py`):",
        "",
        "| system | R-1 | R-2 | R-L | median words |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        m = r.mean(common)
        w = r.median_words()
        lines.append(
            f"| {name} | {m['rouge1']:.2f} | {m['rouge2']:.2f} | {m['rougeL']:.2f} | {'' if w is None else round(w)} |"
        )
    lines += [
        "",
        f"- {stats['median_seconds_per_debate']:.1f} s per debate (median, 2-core CPU, {decoding}),"
        f" {stats['generation_tokens_per_second']} generated tokens/s (prompt prefill included),"
        f" {stats['fallbacks']} extractive fallbacks.",
        f"- Faithfulness check: {faith['names']['unsupported']}/{faith['names']['total']} names and"
        f" {faith['numbers']['unsupported']}/{faith['numbers']['total']} numbers absent from the transcript.",
    ]
    if beam:
        g, b = beam["greedy"], beam["beam"]
        lines.append(
            f"- Greedy vs {beam['num_beams']} beams on the first {len(beam['files'])} test files: R-L"
            f" {g['rougeL']:.2f} vs {b['rougeL']:.2f}, {g['median_seconds_per_debate']:.1f} vs"
            f" {b['median_seconds_per_debate']:.1f} s per debate."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
