"""Distillation benchmark: compressed students before and after distillation from their teacher.

The teacher is the vocabulary-trimmed model of :mod:`benchmarks.bench_compress` (same logits
as the base model on the kept tokens, and distillation over 19k instead of 262k Gemma logits
is about 2.5x cheaper). For each method (width pruning by magnitude or activation importance,
plain or whitened SVD) and each ratio of non-embedding parameters removed, the student is built
exactly as in ``bench_compress`` (same calibration), scored on the same French validation
subset, distilled (forward KL at temperature T, embeddings frozen, AdamW with re-warm and cosine
decay) on up to ``--tokens`` tokens of the French train split, and scored again every
``--eval-every`` steps and at the end.

    .venv/bin/python benchmarks/bench_distill.py --methods prune-activation --ratios 0.3 --tokens 8192
    .venv/bin/python benchmarks/bench_distill.py --report

Rows ``<method>@<ratio>`` (with the learning rate in the key when ``--tag-lr``) are merged into
``benchmarks/results/distill.json`` under a file lock, so several processes (one per core) can
share one results file. ``--report`` prints the table.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from asr._compat import ensure_torchaudio_importable  # noqa: E402

ensure_torchaudio_importable()

import torch  # noqa: E402

from benchmarks import bench_compress as bc  # noqa: E402
from core_training.data import french_dialogue_corpus, token_blocks  # noqa: E402
from core_training.distill import DistillLoss  # noqa: E402
from core_training.evaluate import peak_rss_mb, perplexity  # noqa: E402
from core_training.recipes.continue_pretrain import freeze_embeddings  # noqa: E402
from core_training.train import BlockBatches, TrainOptions, train_loop  # noqa: E402

log = logging.getLogger("bench_distill")
OUT = ROOT / "benchmarks" / "results" / "distill.json"
METHODS = ("prune-magnitude", "prune-activation", "svd-plain", "svd-whitened")
# "none": the uncompressed teacher itself, trained the same way (with --alpha-kd 0 --alpha-ce 1:
# what the same tokens of plain fine-tuning give the teacher, the fair bar for a CE student)
CHOICES = (*METHODS, "none")


@contextmanager
def locked(path: Path):
    """Exclusive lock on ``path.lock`` while results are read, merged and written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save_row(path: Path, model: str, key: str, row: dict, setup: dict | None = None) -> None:
    with locked(path):
        bc.record(path, model, key, row, setup=setup)


def score(ctx: bc.Context, model) -> dict:
    r = perplexity(model, ctx.tokenizer, ctx.val, block_size=ctx.cfg.block_size)
    return {k: r[k] for k in ("ppl_word", "ppl_token", "bpc", "tokens", "seconds")}


def distill_one(ctx: bc.Context, teacher_eval: dict, method: str, ratio: float, a) -> dict:
    lr = a.lr_svd if method.startswith("svd") else a.lr_prune
    if method == "none":
        ratio = 0.0
    t0 = time.perf_counter()
    student = copy.deepcopy(ctx.model) if method == "none" else bc.compress(ctx, method, ratio)
    build_s = time.perf_counter() - t0
    params = bc._params(student)
    before = score(ctx, student)
    log.info(
        "%s@%s before: ppl_word %.2f (x%.2f teacher)",
        method,
        ratio,
        before["ppl_word"],
        before["ppl_word"] / teacher_eval["ppl_word"],
    )

    if "train_blocks" not in ctx.cache:  # the same training stream for every student
        train = french_dialogue_corpus(seed=ctx.cfg.seed)["train"]
        ctx.cache["train_blocks"] = token_blocks(train, ctx.tokenizer, a.block_size)
    blocks = ctx.cache["train_blocks"]
    steps = max(1, a.tokens // (a.batch_size * a.block_size))
    opts = TrainOptions(
        steps=steps,
        lr=lr,
        warmup_steps=max(1, steps // 10),
        min_lr_ratio=0.1,
        checkpoint_every=0,
        seed=a.seed,
    )
    for p in student.parameters():
        p.requires_grad_(True)
    freeze_embeddings(student)
    loss_fn = DistillLoss(
        ctx.model, student, temperature=a.temperature, alpha_kd=a.alpha_kd, alpha_ce=a.alpha_ce
    )
    curve = []

    def eval_fn(m):
        r = score(ctx, m)
        curve.append(r)
        log.info(
            "%s@%s eval: ppl_word %.2f (x%.2f teacher)",
            method,
            ratio,
            r["ppl_word"],
            r["ppl_word"] / teacher_eval["ppl_word"],
        )
        return {"val_ppl_word": r["ppl_word"], "val_bpc": r["bpc"]}

    run_dir = Path(a.work) / f"{ctx.name}_{method}@{ratio}_lr{lr:g}"

    def hook(stage, done, total):
        if done and (done % 10 == 0 or done == total):
            log.info("%s@%s step %d/%d", method, ratio, done, total)

    t0 = time.perf_counter()
    records = train_loop(
        student,
        BlockBatches(blocks, a.batch_size, seed=a.seed),
        opts,
        run_dir,
        loss_fn=loss_fn,
        eval_fn=eval_fn,
        eval_every=a.eval_every,
        hook=hook,
        resume=False,
    )
    train_s = time.perf_counter() - t0
    eval_s = sum(r.get("seconds", 0) for r in curve)
    after = curve[-1]
    t_ppl = teacher_eval["ppl_word"]
    evals = [r for r in records if "val_ppl_word" in r]
    return {
        "method": method,
        "ratio": ratio,
        "lr": lr,
        "temperature": a.temperature,
        "alpha_ce": a.alpha_ce,
        "alpha_kd": a.alpha_kd,
        "params_total": params["total"],
        "params_non_embedding": params["non_embedding"],
        "non_embedding_removed": 1 - params["non_embedding"] / ctx.cache["ref_params"]["non_embedding"],
        "teacher_ppl_word": t_ppl,
        "before": before,
        "after": after,
        "x_teacher_before": before["ppl_word"] / t_ppl,
        "x_teacher_after": after["ppl_word"] / t_ppl,
        "best_x_teacher": min(r["val_ppl_word"] for r in evals) / t_ppl,
        "curve": [
            {
                "tokens": r["tokens_total"],
                "ppl_word": r["val_ppl_word"],
                "x_teacher": r["val_ppl_word"] / t_ppl,
            }
            for r in evals
        ],
        "loss_first_last": [records[0]["loss"], records[-1]["loss"]],
        "tokens": records[-1]["tokens_total"],
        "steps": steps,
        "build_s": round(build_s, 1),
        "train_s": round(train_s - eval_s, 1),  # optimizer steps only
        "eval_s": round(eval_s, 1),
        "train_tokens_per_s": records[-1]["tokens_total"] / max(1e-9, train_s - eval_s),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def _loss(r: dict) -> str:
    parts = [f"KL T={r['temperature']:g}"] if r.get("alpha_kd", 1.0) else []
    if r.get("alpha_ce"):
        parts.append(f"{r['alpha_ce']:g} CE" if parts else "CE")
    return " + ".join(parts)


def report(path: Path) -> str:
    res = json.loads(path.read_text())
    lines = []
    for model, m in res.get("models", {}).items():
        t = m["rows"].get("teacher")
        if t:
            lines.append(
                f"\n{model}: teacher (vocabulary-trimmed) ppl_word {t['ppl_word']:.2f}, "
                f"{t['params_non_embedding'] / 1e6:.1f} M non-embedding parameters"
            )
        lines.append(
            "| method | -non-emb | loss | lr | tokens | x teacher before | after | best | train (s) | tok/s "
            "| peak RSS (MiB) |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        rows = sorted(
            ((k, r) for k, r in m["rows"].items() if k != "teacher"),
            key=lambda kr: (kr[1]["ratio"], kr[1]["method"], kr[1]["tokens"], kr[1]["lr"], kr[1]["alpha_ce"]),
        )
        for _k, r in rows:
            lines.append(
                f"| {r['method']} | {r['non_embedding_removed']:.1%} | {_loss(r)} | {r['lr']:g} | {r['tokens']} | "
                f"{bc._num(r['x_teacher_before'], 9)} | {r['x_teacher_after']:.3f} | {r['best_x_teacher']:.3f} | "
                f"{r['train_s']:.0f} | {r['train_tokens_per_s']:.1f} | {r['peak_rss_mb']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=CHOICES)
    p.add_argument("--ratios", nargs="+", type=float, default=[0.2, 0.3, 0.4])
    p.add_argument("--tokens", type=int, default=8192, help="distillation tokens per student")
    p.add_argument("--lr-prune", type=float, default=5e-5)
    p.add_argument("--lr-svd", type=float, default=3e-5)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha-kd", type=float, default=1.0, help="weight of the KL term")
    p.add_argument("--alpha-ce", type=float, default=0.0, help="weight of the next-token CE term")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--block-size", type=int, default=256)
    p.add_argument("--eval-every", type=int, default=0, help="score every N steps (0: only at the end)")
    p.add_argument("--val-chars", type=int, default=30000, help="as bench_compress's rows")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag-lr", action="store_true", help="keep rows per learning rate and budget (sweeps)")
    p.add_argument("--work", default=str(ROOT / "out" / "bench_distill"))
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report", action="store_true", help="print the table of --out and exit")
    a = p.parse_args(argv)
    if a.report:
        print(report(a.out))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)
    for noisy in ("transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(a.threads)
    t_all = time.perf_counter()
    # bench_compress's base and trimmed rows are reused (resume) when its results file has them,
    # so only the trimming itself runs again here
    cfg = bc.BenchConfig(models=(a.model,), val_chars=a.val_chars, threads=a.threads, resume=True, out=bc.OUT)
    known = json.loads(bc.OUT.read_text()) if bc.OUT.exists() else {}
    if known.get("config", {}).get("val_chars") != a.val_chars:
        known = {}
    ctx = bc.prepare(a.model, cfg, known or None)  # trims the vocabulary: ctx.model is the teacher
    ctx.cache["ref_params"] = bc._params(ctx.model)
    teacher = {**score(ctx, ctx.model), **{f"params_{k}": v for k, v in ctx.cache["ref_params"].items()}}
    setup = {
        "teacher": f"{a.model}, vocabulary trimmed to the French train split",
        "val_chars": sum(map(len, ctx.val)),
        "batch": f"{a.batch_size} x {a.block_size} tokens",
        "threads": a.threads,
        "device": "cpu",
    }
    save_row(a.out, a.model, "teacher", teacher, setup=setup)
    log.info("teacher ppl_word %.2f", teacher["ppl_word"])
    for ratio in a.ratios:
        for method in a.methods:
            row = distill_one(ctx, teacher, method, ratio, a)
            key = "none" if method == "none" else f"{method}@{ratio}"
            if a.tag_lr:
                key += f"/lr{row['lr']:g}/{row['tokens']}"
                key += (f"/kd{a.alpha_kd:g}" if a.alpha_kd != 1 else "") + (
                    f"/ce{a.alpha_ce:g}" if a.alpha_ce else ""
                )
            save_row(a.out, a.model, key, row)
            log.info(
                "%s: x%.3f -> x%.3f teacher (%.0f s)",
                key,
                row["x_teacher_before"],
                row["x_teacher_after"],
                row["train_s"],
            )
    log.info("done in %.0f s", time.perf_counter() - t_all)
    print(report(a.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
