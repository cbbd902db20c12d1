"""Compression benchmark: vocabulary trimming, structured pruning and SVD on the bundled models.

For each model (Gemma 3 270M first, SmolLM2-135M second):

1. the base model's perplexity on a fixed French-dialogue validation subset (and an
   old-domain replay subset);
2. vocabulary trimming to the tokens of the French *training* split (parameters removed,
   perplexity change);
3. on the **trimmed** model (trimming only renumbers the vocabulary: same logits on the kept
   tokens, and it halves Gemma's evaluation cost), at 20/30/40 % fewer non-embedding
   parameters: width pruning (magnitude vs activation importance), depth pruning
   (activation / Block Influence), and plain vs whitened SVD, all *before* any distillation.

Results are keyed ``results["models"][model]["rows"]["<method>@<ratio>"]`` in
``benchmarks/results/compress.json``; rows are merged into the file (other rows are kept), so
other scripts can add theirs (e.g. "after distillation") with :func:`record`. The building
blocks are importable::

    from benchmarks.bench_compress import BenchConfig, prepare, compress, evaluate_row, record
    ctx = prepare("gemma3-270m", BenchConfig())
    student = compress(ctx, "svd-whitened", 0.3)      # a compressed copy of ctx.model
    ... distill student ...
    record(cfg.out, "gemma3-270m", "svd-whitened+distill@0.3", evaluate_row(ctx, student))

Run: ``.venv/bin/python benchmarks/bench_compress.py`` (``--help`` for sizes). Timings are wall
clock on the machine it runs on; they are reported per row.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from asr._compat import ensure_torchaudio_importable  # noqa: E402
from asr.transcript import json_dumps_strict  # noqa: E402

ensure_torchaudio_importable()

import torch  # noqa: E402

from core_training.data import calibration_batches, french_dialogue_corpus, replay_corpus  # noqa: E402
from core_training.evaluate import count_parameters, generation_speed, peak_rss_mb, perplexity  # noqa: E402
from core_training.models import load_causal_lm  # noqa: E402
from core_training.prune import collect_activation_stats, prune  # noqa: E402
from core_training.svd import collect_grams, compress_svd  # noqa: E402
from core_training.trim_vocab import trim_vocabulary  # noqa: E402

log = logging.getLogger("bench_compress")

OUT = ROOT / "benchmarks" / "results" / "compress.json"
METHODS = ("prune-magnitude", "prune-activation", "depth-activation", "svd-plain", "svd-whitened")
PROMPT = "medecin : bonjour, vous appelez pour quelle raison ?\npatient :"


@dataclass
class BenchConfig:
    models: tuple[str, ...] = ("gemma3-270m", "smollm2")
    ratios: tuple[float, ...] = (0.2, 0.3, 0.4)
    methods: tuple[str, ...] = METHODS
    depth_ratios: tuple[float, ...] = (0.3,)  # depth pruning only at these ratios (time budget)
    val_chars: int = 4000  # French validation subset (characters, spread over all validation documents)
    old_chars: int = 2000  # old-domain (replay) validation subset, base and trimmed models only
    calib_n: int = 16
    calib_len: int = 256
    block_size: int = 512
    speed_tokens: int = 16  # generated tokens for the speed measurement (base and trimmed models)
    threads: int = 1  # torch threads: on a shared 2-core machine 1 thread ran 2.5x faster than 2
    resume: bool = False  # keep rows already in ``out`` (same settings assumed) and skip them
    out: Path = OUT
    seed: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    """Everything a compression row needs, computed once per model."""

    name: str
    cfg: BenchConfig
    model: torch.nn.Module  # the trimmed reference model
    tokenizer: object
    val: list[str]
    old: list[str]
    calib: list[torch.Tensor]
    reference: dict  # perplexity of the trimmed model on val
    cache: dict = field(default_factory=dict)


def spread_chars(texts: list[str], max_chars: int) -> list[str]:
    """A subset of about ``max_chars`` characters taking the beginning of *every* document
    (cut at a line boundary), so both simsamu calls and FREDSum debates are represented."""
    if not texts:
        return []
    per = max(100, max_chars // len(texts))
    out = []
    for t in texts:
        cut = t[:per]
        if len(t) > per and "\n" in cut[per // 3 :]:
            cut = cut[: cut.rfind("\n")]
        out.append(cut.strip())
    return [t for t in out if t]


def _params(model) -> dict:
    return count_parameters(model)


def evaluate_row(ctx: Context, model, speed: bool = False, old: bool = False) -> dict:
    """Perplexity of ``model`` on the context's validation subset (+ sizes, timings)."""
    t0 = time.perf_counter()
    ppl = perplexity(model, ctx.tokenizer, ctx.val, block_size=ctx.cfg.block_size)
    row = {
        "ppl_word": ppl["ppl_word"],
        "ppl_token": ppl["ppl_token"],
        "bpc": ppl["bpc"],
        "tokens": ppl["tokens"],
        **{f"params_{k}": v for k, v in _params(model).items()},
        "eval_s": round(time.perf_counter() - t0, 1),
    }
    if ctx.reference:
        row["ppl_word_vs_ref"] = ppl["ppl_word"] / ctx.reference["ppl_word"]
    if old and ctx.old:
        o = perplexity(model, ctx.tokenizer, ctx.old, block_size=ctx.cfg.block_size)
        row.update(old_ppl_word=o["ppl_word"], old_bpc=o["bpc"])
    if speed:
        row["tokens_per_s"] = generation_speed(model, ctx.tokenizer, PROMPT, new_tokens=ctx.cfg.speed_tokens)[
            "tokens_per_s"
        ]
    return row


def prepare(name: str, cfg: BenchConfig, results: dict | None = None) -> Context:
    """Load ``name``, measure it, trim its vocabulary, measure again; return the context whose
    ``model`` is the trimmed reference for the compression rows."""
    torch.manual_seed(cfg.seed)
    corpus = french_dialogue_corpus(seed=cfg.seed)
    replay = replay_corpus(seed=cfg.seed)
    t0 = time.perf_counter()
    model, tok = load_causal_lm(name)
    load_s = time.perf_counter() - t0
    ctx = Context(
        name=name,
        cfg=cfg,
        model=model,
        tokenizer=tok,
        val=spread_chars(corpus["validation"], cfg.val_chars),
        old=spread_chars(replay["validation"], cfg.old_chars),
        calib=[],
        reference={},
    )
    rows = {}
    done = (results or {}).get("models", {}).get(name, {}).get("rows", {}) if cfg.resume else {}
    t0 = time.perf_counter()
    if "base" in done:
        rows["base"] = done["base"]
    else:
        rows["base"] = evaluate_row(ctx, model, speed=True, old=True)
        rows["base"]["load_s"] = round(load_s, 1)
        log.info("%s base: %s (%.0fs)", name, _short(rows["base"]), time.perf_counter() - t0)
        if results is not None:
            record(cfg.out, name, "base", rows["base"], results, setup=_setup(cfg, ctx, corpus))

    t0 = time.perf_counter()
    model, tok, info = trim_vocabulary(model, tok, corpus["train"])
    trim_s = time.perf_counter() - t0
    ctx.model, ctx.tokenizer = model, tok
    if "trim" in done:
        row = done["trim"]
        ctx.reference = {"ppl_word": row["ppl_word"], "bpc": row["bpc"]}
        ctx.calib = calibration_batches(
            corpus["train"], tok, n=cfg.calib_n, seq_len=cfg.calib_len, seed=cfg.seed
        )
        return ctx
    row = evaluate_row(ctx, model, speed=True, old=True)
    row.update(
        build_s=round(trim_s, 1),
        vocab_before=info["old_vocab"],
        vocab_after=info["new_vocab"],
        params_removed=info["params_removed"],
        ppl_word_vs_base=row["ppl_word"] / rows["base"]["ppl_word"],
    )
    rows["trim"] = row
    log.info("%s trimmed: %s", name, _short(row))
    if results is not None:
        record(cfg.out, name, "trim", row, results)
    ctx.reference = {"ppl_word": row["ppl_word"], "bpc": row["bpc"]}
    ctx.calib = calibration_batches(corpus["train"], tok, n=cfg.calib_n, seq_len=cfg.calib_len, seed=cfg.seed)
    return ctx


def trim_variants(name: str, cfg: BenchConfig) -> dict:
    """Two more trimming rows, each evaluated on the French and the old-domain subsets:

    - ``trim-oracle``: vocabulary from the French train split *and* the scored validation
      subset: the lossless case (every scored word segments as before, only the softmax
      normalisation changes). Not deployable: it peeks at the validation text.
    - ``trim-fr+replay``: vocabulary from the French train split and the replay train split,
      the setting to use when the old domain must survive.
    """
    torch.set_num_threads(cfg.threads)
    corpus = french_dialogue_corpus(seed=cfg.seed)
    replay = replay_corpus(seed=cfg.seed)
    val = spread_chars(corpus["validation"], cfg.val_chars)
    old = spread_chars(replay["validation"], cfg.old_chars)
    prev = (json.loads(cfg.out.read_text()) if cfg.out.exists() else {}).get("models", {}).get(name, {})
    base = prev.get("rows", {}).get("base")
    out = {}
    for key, texts in (
        ("trim-oracle", corpus["train"] + val),
        ("trim-fr+replay", corpus["train"] + replay["train"]),
    ):
        model, tok = load_causal_lm(name)
        ctx = Context(name, cfg, model, tok, val, old, [], {})
        t0 = time.perf_counter()
        model, tok, info = trim_vocabulary(model, tok, texts)
        build = time.perf_counter() - t0
        ctx.model, ctx.tokenizer = model, tok
        row = evaluate_row(ctx, model, old=True)
        row.update(
            build_s=round(build, 1), vocab_after=info["new_vocab"], params_removed=info["params_removed"]
        )
        if base:
            row["ppl_word_vs_base"] = row["ppl_word"] / base["ppl_word"]
        record(cfg.out, name, key, row)
        log.info("%s %s: %s", name, key, _short(row))
        out[key] = row
        del model
    return out


def compress(ctx: Context, method: str, ratio: float):
    """A compressed copy of ``ctx.model`` (calibration statistics are computed once and cached)."""
    model = copy.deepcopy(ctx.model)
    t0 = time.perf_counter()
    if method in ("prune-activation", "depth-activation") and "stats" not in ctx.cache:
        ctx.cache["stats"] = collect_activation_stats(ctx.model, ctx.calib)
        ctx.cache["stats_s"] = time.perf_counter() - t0
    if method == "svd-whitened" and "grams" not in ctx.cache:
        ctx.cache["grams"] = collect_grams(ctx.model, ctx.calib)
        ctx.cache["grams_s"] = time.perf_counter() - t0
    if method == "prune-magnitude":
        return prune(model, ratio, "magnitude", mode="width")
    if method == "prune-activation":
        return prune(model, ratio, "activation", stats=ctx.cache["stats"], mode="width")
    if method == "depth-activation":
        return prune(model, ratio, "activation", stats=ctx.cache["stats"], mode="depth")
    svd_cache = ctx.cache.setdefault("svd", {})  # one SVD per layer and method, truncated per ratio
    if method == "svd-plain":
        return compress_svd(model, ratio, "plain", cache=svd_cache)
    if method == "svd-whitened":
        return compress_svd(model, ratio, "whitened", grams=ctx.cache["grams"], cache=svd_cache)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def _setup(cfg: BenchConfig, ctx: Context, corpus: dict) -> dict:
    return {
        "val_chars": sum(map(len, ctx.val)),
        "val_docs": len(ctx.val),
        "old_chars": sum(map(len, ctx.old)),
        "train_docs": len(corpus["train"]),
        "calibration": f"{cfg.calib_n} x {cfg.calib_len} tokens from the French train split",
        "block_size": cfg.block_size,
        "threads": cfg.threads,
        "device": "cpu",
    }


def record(
    path: Path, model: str, key: str, row: dict, results: dict | None = None, setup: dict | None = None
) -> dict:
    """Merge one row into the JSON results file (atomic write) and return the results."""
    path = Path(path)
    if results is None:
        results = json.loads(path.read_text()) if path.exists() else {}
    m = results.setdefault("models", {}).setdefault(model, {"rows": {}})
    if setup is not None:
        m["setup"] = setup
    m["rows"][key] = row
    results["updated"] = time.strftime("%Y-%m-%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w") as f:
        f.write(json_dumps_strict(results, indent=1, default=float))
    os.replace(tmp, path)
    return results


def _short(row: dict) -> str:
    return (
        f"ppl_word={row['ppl_word']:.2f} bpc={row['bpc']:.4f} non_emb={row['params_non_embedding'] / 1e6:.1f}M "
        f"({row['eval_s']}s)"
    )


def table(results: dict) -> str:
    """A plain-text table of every row in ``results``."""
    lines = []
    head = (
        f"{'model':12} {'row':24} {'total M':>8} {'non-emb M':>9} {'ppl_word':>9} {'x ref':>8} "
        f"{'bpc':>6} {'ppl_tok':>8} {'tok/s':>6} {'build s':>7} {'eval s':>6}"
    )
    lines.append(head)
    lines.append("-" * len(head))
    for model, m in results.get("models", {}).items():
        for key, r in m["rows"].items():
            ratio = r.get("ppl_word_vs_ref", r.get("ppl_word_vs_base", 1.0))
            tps = r.get("tokens_per_s")
            lines.append(
                f"{model:12} {key:24} {r['params_total'] / 1e6:8.1f} {r['params_non_embedding'] / 1e6:9.2f} "
                f"{_num(r['ppl_word'], 9)} {_num(ratio, 8)} {r['bpc']:6.3f} {_num(r['ppl_token'], 8)} "
                f"{(f'{tps:.1f}' if tps else '-'):>6} {r.get('build_s', '-')!s:>7} {r['eval_s']:6}"
            )
    return "\n".join(lines)


def _num(x: float, width: int, decimals: int = 2) -> str:
    return f"{x:{width}.{decimals}f}" if abs(x) < 10 ** (width - decimals - 2) else f"{x:{width}.2e}"


def summary(results: dict) -> dict:
    """Headline comparisons per model: trimming, activation vs magnitude pruning, whitened vs
    plain SVD (perplexity rise = ppl_word / reference - 1; bpc rise in bits per character)."""
    out = {}
    for model, m in results.get("models", {}).items():
        rows = m["rows"]
        s: dict = {}
        if "trim" in rows and "base" in rows:
            s["trim"] = {
                "params_removed": rows["trim"].get("params_removed"),
                "params_removed_frac": rows["trim"].get("params_removed", 0) / rows["base"]["params_total"],
                "ppl_word_change": rows["trim"]["ppl_word"] / rows["base"]["ppl_word"] - 1,
                "bpc_change": rows["trim"]["bpc"] - rows["base"]["bpc"],
                "old_bpc_change": rows["trim"].get("old_bpc", 0) - rows["base"].get("old_bpc", 0),
            }
        for key in ("trim-oracle", "trim-fr+replay"):
            if key in rows and "base" in rows:
                s[key] = {
                    "params_removed": rows[key]["params_removed"],
                    "ppl_word_change": rows[key]["ppl_word"] / rows["base"]["ppl_word"] - 1,
                    "bpc_change": rows[key]["bpc"] - rows["base"]["bpc"],
                    "old_bpc_change": rows[key].get("old_bpc", 0) - rows["base"].get("old_bpc", 0),
                }
        ref_bpc = rows.get("trim", {}).get("bpc")
        for ratio in sorted({r["ratio"] for r in rows.values() if "ratio" in r}):
            entry = {}
            for k in METHODS:
                r = rows.get(f"{k}@{ratio}")
                if r is not None:
                    entry[k] = {"ppl_rise": r["ppl_word_vs_ref"] - 1, "bpc_rise": r["bpc"] - ref_bpc}
            if entry.get("svd-plain") and entry.get("svd-whitened"):
                entry["whitened_over_plain_bpc_rise"] = (
                    entry["svd-whitened"]["bpc_rise"] / entry["svd-plain"]["bpc_rise"]
                )
            s[f"ratio {ratio}"] = entry
        out[model] = s
    return out


def run(cfg: BenchConfig) -> dict:
    """The whole benchmark; returns the results dict (also written to ``cfg.out``)."""
    torch.set_num_threads(cfg.threads)
    results = json.loads(cfg.out.read_text()) if cfg.out.exists() else {}
    results["config"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    t_all = time.perf_counter()
    for name in cfg.models:
        t_model = time.perf_counter()
        ctx = prepare(name, cfg, results)
        base_ne = ctx.model and _params(ctx.model)["non_embedding"]
        for ratio in cfg.ratios:
            for method in cfg.methods:
                if method.startswith("depth") and not any(abs(ratio - r) < 1e-9 for r in cfg.depth_ratios):
                    continue
                if cfg.resume and f"{method}@{ratio}" in results["models"][name]["rows"]:
                    continue
                t0 = time.perf_counter()
                cached_before = {k for k in ctx.cache if k.endswith("_s")}
                model = compress(ctx, method, ratio)
                build = time.perf_counter() - t0
                row = evaluate_row(ctx, model)
                row.update(
                    method=method,
                    ratio=ratio,
                    build_s=round(build, 1),
                    non_embedding_removed=1 - row["params_non_embedding"] / base_ne,
                )
                new_cal = {k for k in ctx.cache if k.endswith("_s")} - cached_before
                if new_cal:
                    row["calibration_s"] = round(sum(ctx.cache[k] for k in new_cal), 1)
                record(cfg.out, name, f"{method}@{ratio}", row, results)
                log.info("%s %s@%s: %s build %.0fs", name, method, ratio, _short(row), build)
                del model
        results["models"][name]["seconds"] = round(time.perf_counter() - t_model, 1)
        record(cfg.out, name, "trim", results["models"][name]["rows"]["trim"], results)
    results["seconds"] = round(time.perf_counter() - t_all, 1)
    results["peak_rss_mb"] = round(peak_rss_mb())
    results["summary"] = summary(results)
    record(cfg.out, cfg.models[0], "base", results["models"][cfg.models[0]]["rows"]["base"], results)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(BenchConfig.models))
    p.add_argument("--ratios", nargs="+", type=float, default=list(BenchConfig.ratios))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--depth-ratios", nargs="*", type=float, default=list(BenchConfig.depth_ratios))
    p.add_argument("--val-chars", type=int, default=BenchConfig.val_chars)
    p.add_argument("--old-chars", type=int, default=BenchConfig.old_chars)
    p.add_argument("--calib-n", type=int, default=BenchConfig.calib_n)
    p.add_argument("--calib-len", type=int, default=BenchConfig.calib_len)
    p.add_argument("--threads", type=int, default=BenchConfig.threads)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--resume", action="store_true", help="skip rows already in --out")
    p.add_argument(
        "--trim-variants-only",
        "--trim-oracle-only",
        action="store_true",
        help="only add the trim-oracle and trim-fr+replay rows",
    )
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)
    for noisy in ("transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = BenchConfig(
        models=tuple(a.models),
        ratios=tuple(a.ratios),
        methods=tuple(a.methods),
        depth_ratios=tuple(a.depth_ratios),
        val_chars=a.val_chars,
        old_chars=a.old_chars,
        calib_n=a.calib_n,
        calib_len=a.calib_len,
        threads=a.threads,
        resume=a.resume,
        out=a.out,
    )
    if a.trim_variants_only:
        for name in cfg.models:
            trim_variants(name, cfg)
        results = json.loads(cfg.out.read_text())
        results["summary"] = summary(results)
        record(cfg.out, cfg.models[0], "base", results["models"][cfg.models[0]]["rows"]["base"], results)
        print(table(results))
        return 0
    results = run(cfg)
    print(table(results))
    print(f"\ntotal {results['seconds']:.0f}s, peak RSS {results['peak_rss_mb']} MiB -> {cfg.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
