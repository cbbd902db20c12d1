"""Training-core benchmark: continued pretraining with replay, distillation of compressed
students, and training / inference speed and memory on this machine's CPU.

Every run goes through the recipes (the code a user runs) in its own subprocess, so each run's
peak memory is its own; perplexities are measured afterwards on fixed text prefixes
(:func:`core_training.data.take_chars`) of the French dialogue validation split ("new") and of
the replay validation split ("old"), the same text for every model.

    .venv/bin/python benchmarks/bench_train.py                      # all phases
    .venv/bin/python benchmarks/bench_train.py --phases cpt --tokens 12288
    .venv/bin/python benchmarks/bench_train.py --phases distill --teacher smollm2

Prints tables and writes ``benchmarks/results/train.json`` (phases run are updated, others kept).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "train.json"


# --------------------------------------------------------------------------- worker side


def _setup(threads: int):
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    import torch

    torch.set_num_threads(threads)


def _domains(eval_chars: int) -> dict[str, list[str]]:
    from core_training.data import french_dialogue_corpus, replay_corpus, take_chars

    return {
        "new": take_chars(french_dialogue_corpus()["validation"], eval_chars),
        "old": take_chars(replay_corpus()["validation"], eval_chars),
    }


def _evaluate(model, tok, domains: dict, block_size: int = 256) -> dict:
    from core_training.evaluate import perplexity

    out = {}
    for name, texts in domains.items():
        r = perplexity(model, tok, texts, block_size=block_size)
        out[name] = {k: r[k] for k in ("tokens", "chars", "ppl_token", "ppl_word", "bpc", "seconds")}
    return out


def _rss() -> float:
    from core_training.evaluate import peak_rss_mb

    return peak_rss_mb()


def w_eval(a: dict) -> dict:
    from core_training.evaluate import count_parameters
    from core_training.recipes.config import load_model

    model, tok = load_model(a["model"])
    doms = _domains(a["eval_chars"])
    if a.get("domains"):
        doms = {k: v for k, v in doms.items() if k in a["domains"]}
    return {
        "perplexity": _evaluate(model, tok, doms),
        "parameters": count_parameters(model),
        "peak_rss_mb": _rss(),
    }


def w_cpt(a: dict) -> dict:
    from core_training.recipes.config import load_config, load_model
    from core_training.recipes.continue_pretrain import ContinuePretrainConfig, main

    steps = max(1, a["tokens"] // (a["batch_size"] * a["block_size"]))
    cfg = load_config(
        ContinuePretrainConfig,
        None,
        {
            "out": a["out"],
            "model": a["model"],
            "replay_ratio": a["ratio"],
            "steps": steps,
            "batch_size": a["batch_size"],
            "block_size": a["block_size"],
            "lr": a["lr"],
            "warmup_steps": max(1, steps // 8),
            "checkpoint_every": steps,  # one checkpoint at the end: disk and time stay small
            "eval_tokens": 0,
            "threads": a["threads"],
            "seed": 0,
        },
    )
    t0 = time.perf_counter()
    summary = main(cfg)
    train_s = time.perf_counter() - t0
    model, tok = load_model(summary["model_dir"])
    return {
        "summary": summary,
        "recipe_seconds": train_s,
        "perplexity": _evaluate(model, tok, _domains(a["eval_chars"])),
        "peak_rss_mb": _rss(),
    }


def w_compress(a: dict) -> dict:
    from core_training.recipes.config import load_config

    if a["recipe"] == "prune":
        from core_training.recipes.prune import PruneConfig as Cfg
        from core_training.recipes.prune import main
    else:
        from core_training.recipes.compress_svd import SvdConfig as Cfg
        from core_training.recipes.compress_svd import main
    values = {"out": a["out"], "model": a["model"], "eval_tokens": 0, "threads": a["threads"], **a["options"]}
    t0 = time.perf_counter()
    summary = main(load_config(Cfg, None, values))
    return {"summary": summary, "recipe_seconds": time.perf_counter() - t0, "peak_rss_mb": _rss()}


def w_distill(a: dict) -> dict:
    from core_training.recipes.config import load_config, load_model
    from core_training.recipes.distill import DistillConfig, main

    steps = max(1, a["tokens"] // (a["batch_size"] * a["block_size"]))
    cfg = load_config(
        DistillConfig,
        None,
        {
            "out": a["out"],
            "teacher": a["teacher"],
            "student": a["student"],
            "steps": steps,
            "batch_size": a["batch_size"],
            "block_size": a["block_size"],
            "lr": a["lr"],
            "warmup_steps": max(1, steps // 8),
            "temperature": a["temperature"],
            "alpha_ce": a["alpha_ce"],
            "checkpoint_every": steps,
            "eval_tokens": 0,
            "threads": a["threads"],
        },
    )
    t0 = time.perf_counter()
    summary = main(cfg)
    secs = time.perf_counter() - t0
    model, tok = load_model(summary["model_dir"])
    doms = {k: v for k, v in _domains(a["eval_chars"]).items() if k == "new"}
    return {
        "summary": summary,
        "recipe_seconds": secs,
        "perplexity": _evaluate(model, tok, doms),
        "peak_rss_mb": _rss(),
    }


def w_speed(a: dict) -> dict:
    """Training tokens/s (optimizer steps on real text, embeddings frozen as the recipes do)
    and inference speed (scoring tokens/s, greedy generation tokens/s)."""
    import torch

    from core_training.data import french_dialogue_corpus, take_chars, token_blocks
    from core_training.evaluate import generation_speed, perplexity
    from core_training.recipes.config import load_model
    from core_training.recipes.continue_pretrain import freeze_embeddings
    from core_training.train import causal_lm_loss

    model, tok = load_model(a["model"])
    rss_loaded = _rss()
    texts = french_dialogue_corpus()["train"]
    blocks = token_blocks(take_chars(texts, 60000), tok, a["block_size"])
    out = {"peak_rss_loaded_mb": rss_loaded}
    if a.get("train", True):
        freeze_embeddings(model)
        model.train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        times = []
        for i in range(a["train_steps"]):
            ids = blocks[i * a["batch_size"] : (i + 1) * a["batch_size"]]
            t0 = time.perf_counter()
            loss, _ = causal_lm_loss(model, {"input_ids": ids})
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - t0)
        steady = sorted(times[1:] or times)[len(times[1:] or times) // 2]  # median, first step excluded
        out["train_tokens_per_s"] = a["batch_size"] * a["block_size"] / steady
        out["train_step_seconds"] = times
        out["peak_rss_train_mb"] = _rss()
        model.eval()
        for p in model.parameters():
            p.grad = None
        del opt
    r = perplexity(
        model, tok, take_chars(french_dialogue_corpus()["validation"], a["eval_chars"]), block_size=256
    )
    out["score_tokens_per_s"] = r["tokens"] / r["seconds"]
    g = generation_speed(
        model, tok, "MEDECIN : Bonjour, SAMU, quelle est votre urgence ?\nAPPELANT :", new_tokens=32
    )
    out["generate_tokens_per_s"] = g["tokens_per_s"]
    out["peak_rss_mb"] = _rss()
    return out


WORKERS = {"eval": w_eval, "cpt": w_cpt, "compress": w_compress, "distill": w_distill, "speed": w_speed}


def worker(name: str, args_json: str, result_path: str) -> int:
    a = json.loads(args_json)
    _setup(a.get("threads", 1))
    t0 = time.perf_counter()
    res = WORKERS[name](a)
    res["wall_seconds"] = time.perf_counter() - t0
    Path(result_path).write_text(json_dumps_strict(res, default=str))
    return 0


# --------------------------------------------------------------------------- driver side


def sub(name: str, **a) -> dict:
    """Run one worker in a fresh process; returns its result (with ``wall_seconds``)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        path = fh.name
    t0 = time.perf_counter()
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, __file__, "--worker", name, json.dumps(a), path]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"worker {name} failed:\n{tail}")
    res = json.loads(Path(path).read_text())
    os.unlink(path)
    res["process_seconds"] = time.perf_counter() - t0
    print(f"  [{name}] {res['process_seconds']:.0f} s", flush=True)
    return res


def phase_speed(opts) -> dict:
    rows = {}
    for model in opts.speed_models.split(","):
        for threads in (1, 2):
            key = f"{model}/{threads}t"
            print(f"speed {key}", flush=True)
            rows[key] = sub(
                "speed",
                model=model,
                threads=threads,
                batch_size=2,
                block_size=256,
                train_steps=opts.speed_steps,
                eval_chars=4000,
            )
    res = {
        "note": "batch 2 x 256 tokens, AdamW, embeddings frozen; scoring = perplexity windows of 256",
        "runs": rows,
    }
    print_speed(res)
    return res


def print_speed(res: dict) -> None:
    print(
        "\n| model / threads | train tok/s | score tok/s | generate tok/s "
        "| peak RSS train (MiB) | peak RSS (MiB) | run (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for k, r in res["runs"].items():
        print(
            f"| {k} | {r.get('train_tokens_per_s', 0):.1f} | {r['score_tokens_per_s']:.1f} | "
            f"{r['generate_tokens_per_s']:.1f} | {r.get('peak_rss_train_mb', 0):.0f} | {r['peak_rss_mb']:.0f} | "
            f"{r['process_seconds']:.0f} |"
        )


def phase_cpt(opts) -> dict:
    work = Path(opts.work) / "cpt"
    common = dict(model=opts.model, threads=opts.threads, eval_chars=opts.eval_chars)
    print(f"continued pretraining of {opts.model}: base evaluation", flush=True)
    base = sub("eval", **common)
    runs = {}
    for ratio in opts.replay_ratios:
        print(f"continued pretraining, replay {ratio:.0%}", flush=True)
        runs[str(ratio)] = sub(
            "cpt",
            **common,
            ratio=ratio,
            out=str(work / f"replay{int(ratio * 100)}"),
            tokens=opts.tokens,
            batch_size=2,
            block_size=256,
            lr=opts.lr,
        )
    b = base["perplexity"]
    table = []
    for ratio, r in runs.items():
        p = r["perplexity"]
        row = {
            "replay_ratio": float(ratio),
            "new_ppl": [b["new"]["ppl_token"], p["new"]["ppl_token"]],
            "old_ppl": [b["old"]["ppl_token"], p["old"]["ppl_token"]],
            "new_gain_bpc": b["new"]["bpc"] - p["new"]["bpc"],
            "old_rise_bpc": p["old"]["bpc"] - b["old"]["bpc"],
            "new_ppl_change": p["new"]["ppl_token"] / b["new"]["ppl_token"] - 1,
            "old_ppl_change": p["old"]["ppl_token"] / b["old"]["ppl_token"] - 1,
            "train_tokens": r["summary"].get("tokens"),
            "train_seconds": r["summary"].get("train_seconds"),
            "run_seconds": r["process_seconds"],
            "peak_rss_mb": r["peak_rss_mb"],
        }
        table.append(row)
    rise0 = next((r["old_rise_bpc"] for r in table if r["replay_ratio"] == 0), None)
    for row in table:
        ok = rise0 is not None and row["old_rise_bpc"] > 0
        row["old_rise_cut_vs_no_replay"] = (rise0 / row["old_rise_bpc"]) if ok else None
        row["old_domain_improved"] = row["old_rise_bpc"] < 0
    res = {
        "model": opts.model,
        "lr": opts.lr,
        "tokens_per_run": opts.tokens,
        "eval_chars_per_domain": opts.eval_chars,
        "base": base,
        "table": table,
        "runs": runs,
    }
    print_cpt(res)
    return res


def print_cpt(res: dict) -> None:
    b = res["base"]["perplexity"]
    print(
        f"\n{res['model']}: base new ppl {b['new']['ppl_token']:.2f} ({b['new']['tokens']} tok), "
        f"old ppl {b['old']['ppl_token']:.2f} ({b['old']['tokens']} tok); lr {res['lr']}, "
        f"{res['tokens_per_run']} tokens per run"
    )
    print(
        "| replay | new ppl before -> after | old ppl before -> after | new gain (bpc) | old rise (bpc) "
        "| old rise vs 0 % replay | tokens | run (s) | peak RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in res["table"]:
        cut = r["old_rise_cut_vs_no_replay"]
        cut_s = "no rise (old ppl falls)" if r["old_rise_bpc"] <= 0 else f"{cut:.1f}x smaller" if cut else "-"
        print(
            f"| {r['replay_ratio']:.0%} | {r['new_ppl'][0]:.2f} -> {r['new_ppl'][1]:.2f} | "
            f"{r['old_ppl'][0]:.2f} -> {r['old_ppl'][1]:.2f} | {r['new_gain_bpc']:.4f} | {r['old_rise_bpc']:+.4f} | "
            f"{cut_s} | {r['train_tokens']} | {r['run_seconds']:.0f} | {r['peak_rss_mb']:.0f} |"
        )


def phase_distill(opts) -> dict:
    work = Path(opts.work) / "distill"
    common = dict(threads=opts.threads, eval_chars=opts.eval_chars)
    print(f"distillation: teacher {opts.teacher}", flush=True)
    teacher = sub("eval", model=opts.teacher, domains=["new"], **common)
    students = {}
    specs = {
        "pruned": ("prune", {"ratio": opts.compress_ratio, "method": opts.prune_method, "mode": "width"}),
        "svd": ("compress-svd", {"ratio": opts.compress_ratio, "method": "whitened"}),
    }
    # Adam moves every entry of both low-rank factors by about lr per step, which changes the
    # product B @ A far more than the same lr changes a dense weight: factors need a smaller lr
    lrs = {"pruned": opts.distill_lr, "svd": opts.distill_lr_svd}
    for name, (recipe, options) in specs.items():
        print(f"{recipe} {options}", flush=True)
        comp = sub(
            "compress",
            recipe=recipe,
            model=opts.teacher,
            out=str(work / name),
            options=options,
            threads=opts.threads,
        )
        student_dir = comp["summary"]["model_dir"]
        before = sub("eval", model=student_dir, domains=["new"], **common)
        print(f"distill {name}", flush=True)
        dist = sub(
            "distill",
            teacher=opts.teacher,
            student=student_dir,
            out=str(work / f"{name}_distilled_lr{lrs[name]:g}"),
            tokens=opts.distill_tokens,
            batch_size=2,
            block_size=256,
            lr=lrs[name],
            temperature=2.0,
            alpha_ce=0.0,
            **common,
        )
        students[name] = {"compress": comp, "before": before, "distill": dist}
    t_ppl = teacher["perplexity"]["new"]["ppl_token"]
    t_params = teacher["parameters"]["total"]
    table = []
    for name, s in students.items():
        params = s["before"]["parameters"]["total"]
        table.append(
            {
                "student": name,
                "parameters": params,
                "parameter_reduction": 1 - params / t_params,
                "ppl_teacher": t_ppl,
                "ppl_before": s["before"]["perplexity"]["new"]["ppl_token"],
                "ppl_after": s["distill"]["perplexity"]["new"]["ppl_token"],
                "ratio_before": s["before"]["perplexity"]["new"]["ppl_token"] / t_ppl,
                "ratio_after": s["distill"]["perplexity"]["new"]["ppl_token"] / t_ppl,
                "compress_seconds": s["compress"]["process_seconds"],
                "distill_tokens": s["distill"]["summary"].get("tokens"),
                "distill_seconds": s["distill"]["process_seconds"],
                "peak_rss_mb": s["distill"]["peak_rss_mb"],
            }
        )
    res = {
        "teacher": opts.teacher,
        "compress_ratio": opts.compress_ratio,
        "distill_tokens": opts.distill_tokens,
        "distill_lr": lrs,
        "teacher_eval": teacher,
        "table": table,
        "students": students,
    }
    print_distill(res)
    return res


def print_distill(res: dict) -> None:
    t = res["teacher_eval"]
    t_params = t["parameters"]["total"]
    t_ppl = t["perplexity"]["new"]["ppl_token"]
    print(f"\nteacher {res['teacher']}: {t_params / 1e6:.1f} M params, new-domain ppl {t_ppl:.2f}")
    print(
        "| student | params (M) | -params | ppl before | ppl after | x teacher before -> after "
        "| distill tokens | compress (s) | distill (s) | peak RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["table"]:
        print(
            f"| {r['student']} | {r['parameters'] / 1e6:.1f} | {r['parameter_reduction']:.1%} | "
            f"{r['ppl_before']:.2f} | {r['ppl_after']:.2f} | {r['ratio_before']:.2f} -> {r['ratio_after']:.2f} | "
            f"{r['distill_tokens']} | {r['compress_seconds']:.0f} | {r['distill_seconds']:.0f} | {r['peak_rss_mb']:.0f} |"
        )


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker(*argv[1:4])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phases", default="speed,cpt,distill")
    p.add_argument("--model", default="smollm2", help="model for continued pretraining")
    p.add_argument(
        "--teacher", default="smollm2", help="teacher (and source of the students) for distillation"
    )
    p.add_argument("--speed-models", default="smollm2,gemma3-270m")
    p.add_argument("--speed-steps", type=int, default=3)
    p.add_argument("--tokens", type=int, default=12288, help="training tokens per continued-pretraining run")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument(
        "--replay-ratios",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[0.0, 0.1, 0.25],
        help="comma-separated replay shares, one continued-pretraining run each",
    )
    p.add_argument("--distill-tokens", type=int, default=8192)
    p.add_argument("--distill-lr", type=float, default=3e-4)
    p.add_argument(
        "--distill-lr-svd", type=float, default=1e-5, help="learning rate for the SVD student's factors"
    )
    p.add_argument("--compress-ratio", type=float, default=0.3)
    p.add_argument("--prune-method", default="activation")
    p.add_argument("--eval-chars", type=int, default=12000, help="characters of validation text per domain")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=str(ROOT / "out" / "bench_train"))
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--report", action="store_true", help="print the tables of --out without running anything")
    opts = p.parse_args(argv)
    if opts.report:
        res = json.loads(Path(opts.out).read_text())
        for name, show in (("speed", print_speed), ("cpt", print_cpt), ("distill", print_distill)):
            if name in res:
                show(res[name])
                print(f"({name}: {res[name].get('phase_seconds', 0):.0f} s)")
        return 0

    results = json.loads(Path(opts.out).read_text()) if Path(opts.out).exists() else {}
    import platform

    results["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    phases = {"speed": phase_speed, "cpt": phase_cpt, "distill": phase_distill}
    for name in opts.phases.split(","):
        t0 = time.perf_counter()
        res = phases[name](opts)
        res["phase_seconds"] = time.perf_counter() - t0
        res["load_average_after"] = os.getloadavg()
        results[name] = res
        Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.out).write_text(json_dumps_strict(results, indent=2, default=str) + "\n")
        print(f"{name}: {res['phase_seconds']:.0f} s\n", flush=True)
    print(f"wrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
