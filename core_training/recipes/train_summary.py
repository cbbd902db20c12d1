"""Recipe ``train-summary``: the meeting-summary model (extract, then abstract; LoRA).

For every FREDSum *training* transcript (the official split of
:func:`core_training.datasets.load_corpus` ``("fredsum")``; the test files are never read) and
each of its abstractive reference summaries, one example: the prompt of
:func:`summarize.model.prompt_text` (the main speakers' names, an extractive selection of the
debate fitting ``prompt_tokens``) followed by the reference (cut at a sentence end within
``target_tokens``, then the end token), with the loss on the reference tokens only. LoRA on the
attention and MLP projections of every layer of the base (``foundation``, ``gemma3-270m`` or a
model directory).

The run directory holds ``config.yaml``, ``metrics.jsonl``, resumable ``checkpoints/``
(:mod:`core_training.train`), ``adapter/`` (PEFT files, ``summary_model.json`` with the base, the
base's hash, the adapter's SHA-256, the prompt format and the training summary, and a
``README.md`` model card) and ``summary.json``.

Like ``train-samu``, this recipe reads a head's code (:mod:`summarize`, for the very prompt used
at inference): it imports it inside :func:`main` only.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from core_training.recipes.config import (
    ExampleTrainingConfig,
    Hook,
    Run,
    check_model,
    epoch_shuffled,
    field_error,
    lora_from_config,
    train_options_for,
)

log = logging.getLogger(__name__)
RECIPE = "train-summary"
STYLES = ("1", "2", "3")


@dataclass(frozen=True, kw_only=True)
class TrainSummaryConfig(ExampleTrainingConfig):
    """LoRA adaptation of a small LLM that writes debate summaries (loss on summary tokens only).

    Args:
        base: ``foundation`` (the project's French foundation), a bundled model name
            (``gemma3-270m``) or a model directory.
        data_dir: the FREDSum directory (empty: ``../shared/data/fredsum``).
        styles: reference styles used as targets (``summary_abstractive/<style>``).
        max_debates: use only the first N training transcripts (0: all; for quick runs).
        holdout: training transcripts held out of training (drawn with a fixed seed from the
            sorted names, the same for every run), to choose decoding and training length on
            debates the model never saw without touching the test split; their names are
            recorded in the adapter (``benchmarks/bench_summary_model.py --split holdout``).
        prompt_tokens: prompt length (instruction + extractive selection).
        target_tokens: reference summaries cut at a sentence end within this many tokens.
        num_beams: the decoding recorded in the adapter as its default (1: greedy); choose it on
            the ``holdout`` debates (``bench_summary_model.py --split holdout --beam-files N``).
        (``epochs``, ``grad_accum``, ``r``, ``lr``... : see :class:`ExampleTrainingConfig`.)
        name: the adapter's name (its directory name when shipped).
    """

    base: str = "foundation"
    data_dir: str = ""
    styles: tuple[str, ...] = STYLES
    max_debates: int = 0
    holdout: int = 12
    prompt_tokens: int = 512
    target_tokens: int = 224
    num_beams: int = 2
    epochs: float = 1.5
    name: str = "summary-gemma3-270m-fr"

    def __post_init__(self):
        super().__post_init__()
        if self.base != "foundation":
            check_model("base", self.base)
        if self.data_dir and not Path(self.data_dir).expanduser().is_dir():
            raise field_error("data_dir", f"dossier introuvable : {self.data_dir}")
        bad = [s for s in self.styles if s not in STYLES]
        if bad or not self.styles:
            raise field_error("styles", f"choisir parmi {', '.join(STYLES)}, reçu {list(self.styles)}")
        if self.max_debates < 0:
            raise field_error("max_debates", f"doit être >= 0, reçu {self.max_debates}")
        if self.holdout < 0:
            raise field_error("holdout", f"doit être >= 0, reçu {self.holdout}")
        if self.prompt_tokens < 64:
            raise field_error("prompt_tokens", f"doit être >= 64, reçu {self.prompt_tokens}")
        if self.num_beams < 1:
            raise field_error("num_beams", f"doit être >= 1, reçu {self.num_beams}")
        if self.target_tokens < 16:
            raise field_error("target_tokens", f"doit être >= 16, reçu {self.target_tokens}")
        if not self.name.strip() or "/" in self.name:
            raise field_error("name", f"nom de dossier attendu, reçu {self.name!r}")


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


HOLDOUT_SEED = 20261130  # fixed: the held-out debates do not move with the training seed


def holdout_names(names, n: int) -> list[str]:
    """The ``n`` debates held out of ``names`` (sorted), drawn with :data:`HOLDOUT_SEED`."""
    import random

    names = sorted(names)
    if n >= len(names):
        raise field_error("holdout", f"doit être < {len(names)} (débats d'entraînement), reçu {n}")
    return sorted(random.Random(HOLDOUT_SEED).sample(names, n)) if n else []


def training_rows(cfg: TrainSummaryConfig, held_out: bool = False) -> list[dict]:
    """The FREDSum training rows (``name``, ``dialogue``, ``references``), test split excluded,
    and the ``holdout`` debates removed (``held_out=True``: those debates only)."""
    train, held = train_and_held_rows(cfg)
    return held if held_out else train


def train_and_held_rows(cfg: TrainSummaryConfig) -> tuple[list[dict], list[dict]]:
    """The FREDSum training split read once, sorted by name, as (the rows trained on, cut to
    ``max_debates``; the ``holdout`` debates); the test split is checked against
    ``FREDSum_test.json`` again: a test file here is an error."""
    from core_training.data import default_shared_dir, fredsum_test_files
    from core_training.datasets import load_corpus

    root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_shared_dir() / "fredsum"
    rows = list(load_corpus("fredsum", data_dir=root)["train"])
    test = fredsum_test_files(root)
    leaked = sorted({r["name"] for r in rows} & test)
    if leaked:  # never train on the test split
        raise RuntimeError(f"FREDSum test files in the training split: {leaked[:3]}")
    rows.sort(key=lambda r: r["name"])
    held = set(holdout_names([r["name"] for r in rows], cfg.holdout))
    train = [r for r in rows if r["name"] not in held]
    return (train[: cfg.max_debates] if cfg.max_debates else train), [r for r in rows if r["name"] in held]


def main(cfg: TrainSummaryConfig, hook: Hook | None = None) -> dict:
    """Train (or resume) the summary model's LoRA adapter; returns the summary (examples,
    tokens, time, memory, adapter path and checksum)."""

    from core_training.train import train_loop
    from summarize import model as sm_mod
    from summarize.core import with_full_names
    from summarize.fredsum import parse_fredsum_text

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        return run.summary
    t_start = time.perf_counter()
    base, tok, base_sha = sm_mod.load_base(cfg.base, hook=hook)
    rows, held_rows = train_and_held_rows(cfg)
    examples = []
    for i, row in enumerate(rows):
        t, _names = with_full_names(parse_fredsum_text(row["dialogue"], source=row["name"]))
        for style in cfg.styles:
            ref = (row["references"] or {}).get(style)
            ex = sm_mod.training_example(tok, t, ref or "", cfg.prompt_tokens, cfg.target_tokens)
            if ex is not None:
                examples.append(ex)
        if hook:
            hook("examples", i + 1, len(rows))
    n = len(examples)
    if not n:
        raise field_error("data_dir", "aucun exemple d'entraînement (transcriptions ou résumés absents)")
    seconds_prepare = time.perf_counter() - t_start
    model = lora_from_config(base, cfg)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    batches = epoch_shuffled(examples, cfg.seed)
    steps = cfg.steps_for(n)
    opts = train_options_for(cfg, steps)
    records = train_loop(model, batches, opts, run.out, loss_fn=sm_mod.target_loss, hook=hook)
    summary = {
        "base": cfg.base,
        "base_sha256": base_sha,
        "debates": len(rows),
        "holdout_debates": [r["name"] for r in held_rows],
        "examples": n,
        "example_tokens": sum(int(e["input_ids"].shape[1]) for e in examples),
        "epochs": cfg.epochs,
        "steps": records[-1]["step"] if records else 0,
        "tokens": records[-1].get("tokens_total") if records else 0,
        "target_tokens_total": round(sum(r.get("target_tokens", 0) * cfg.grad_accum for r in records)),
        "train_seconds": round(records[-1].get("seconds", 0), 1) if records else 0,
        "prepare_seconds": round(seconds_prepare, 1),
        "loss_first": records[0]["loss"] if records else None,
        "loss_last": records[-1]["loss"] if records else None,
        "loss_last_5": sum(r["loss"] for r in records[-5:]) / len(records[-5:]) if records else None,
        "trainable_parameters": n_trainable,
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }
    info = {
        "recipe": "llm4all train-summary",
        "name": cfg.name,
        "prompt_tokens": cfg.prompt_tokens,
        "target_tokens": cfg.target_tokens,
        "num_beams": cfg.num_beams,
        "styles": list(cfg.styles),
        "lr": cfg.lr,
        "grad_accum": cfg.grad_accum,
        "lora": {"r": cfg.r, "alpha": cfg.alpha, "targets": list(cfg.target_modules) or "all projections"},
        "data": "FREDSum train split (test split never used)",
        **{k: v for k, v in summary.items() if k != "base_sha256"},
    }
    adapter = sm_mod.save_adapter(model, run.out / "adapter", cfg.base, base_sha, info)
    weights = adapter / sm_mod.WEIGHTS_FILE
    meta = sm_mod.read_adapter_metadata(adapter)
    (adapter / "README.md").write_text(sm_mod.model_card(meta, summary))
    summary.update(
        {
            "adapter_dir": str(adapter),
            "adapter_sha256": meta["adapter_sha256"],
            "adapter_mb": round(weights.stat().st_size / 1e6, 2),
        }
    )
    return run.finish(summary)
