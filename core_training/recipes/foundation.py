"""Recipe ``train-foundation``: the French dialogue foundation (vocabulary trim + LoRA continued
pretraining with replay), shipped as a small adapter.

Steps:

1. the training text: the ``french_dialogue`` corpus' train split **minus** the simsamu
   recordings of the ``exclude_simsamu`` splits of ``samu/gold_splits.json`` (default ``test2``,
   the SAMU head's held-out calls; the JSON file is read directly, ``samu`` is not imported),
   **plus** the project's SAMU calls of the ``train`` split (``add_samu_calls``; never ``dev`` or
   ``blind``). The validation split is the unchanged ``french_dialogue`` validation, so the
   numbers compare with the other runs; FREDSum test files are never read (the corpus drops them);
2. the vocabulary is trimmed to the tokens of that text and of the replay training text (so the
   old domain can still be measured); the kept ids are saved in the run directory and the base is
   rebuilt from them with :func:`core_training.trimmed.load_trimmed_base` (the same code path
   :func:`core_training.foundation.load_foundation` uses) and hashed;
3. perplexity before (the trimmed base) on French dialogue validation (``new``) and on the replay
   validation (``old``);
4. LoRA on every attention and MLP projection of every layer, trained on the new-domain blocks
   mixed with ``replay_ratio`` replay blocks, learning rate re-warmed then cosine re-decayed;
   resumable checkpoints (the adapters, optimizer, RNG and data position);
5. perplexity after; the adapter (``adapter/``: PEFT files, ``vocab_keep.json``,
   ``foundation.json`` with every SHA-256 and the training summary, ``README.md`` model card)
   and, with ``merge``, the merged full model (``model/``, plain transformers).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from core_training.recipes.config import (
    Hook,
    Run,
    TrainingConfig,
    blocks_for,
    check_data,
    check_model,
    corpus_dataset,
    evaluate_domains,
    evaluation_before,
    field_error,
    save_model_to,
    train_summary,
    write_atomic,
)

log = logging.getLogger(__name__)
RECIPE = "train-foundation"
KEEP_FILE = "vocab_keep.json"
BYTES_PER_PARAM = 4  # adapters saved in float32


def default_gold_splits() -> Path:
    """``samu/gold_splits.json`` of the installed project, found without importing ``samu``."""
    from core_training.datasets import samu_calls_dir

    return samu_calls_dir().parent / "gold_splits.json"


@dataclass(frozen=True, kw_only=True)
class FoundationConfig(TrainingConfig):
    """The French dialogue foundation: trimmed vocabulary, LoRA continued pretraining with replay.

    Args:
        model: base model (bundled name or model directory).
        name: the adapter's name (model card title).
        exclude_simsamu: splits of ``gold_splits`` whose simsamu recordings are kept out of the
            training text (default ``test2``: the SAMU head's held-out test).
        gold_splits: the SAMU gold splits file (empty: ``samu/gold_splits.json``).
        add_samu_calls: add the project's SAMU calls of the ``train`` split to the training text.
        calls_dir: the SAMU calls directory (empty: ``samu/calls``).
        calls_writers: only the train calls of these writers (empty: all). Default: ``nca``-``ncd``,
            the 120 calls the train split had when the shipped foundation was trained, so the
            command still reproduces it as the split grows.
        trim_vocab: trim the vocabulary (to the training text and the replay training text).
        replay_data: old-domain text: ``replay`` (default replay corpus) or a file/directory.
        replay_ratio: share of replay blocks in the training stream, in [0, 1).
        r, alpha, dropout: LoRA rank, scaling numerator, dropout.
        target_modules: layers to adapt (empty: every attention and MLP projection).
        max_adapter_mb: refuse a rank whose float32 adapter would be larger.
        merge: also write the merged full model in ``model/`` (plain transformers checkpoint).
    """

    model: str = "gemma3-270m"
    name: str = "foundation-gemma3-270m-fr"
    exclude_simsamu: tuple[str, ...] = ("test2",)
    gold_splits: str = ""
    add_samu_calls: bool = True
    calls_dir: str = ""
    calls_writers: tuple[str, ...] = ("nca", "ncb", "ncc", "ncd")
    trim_vocab: bool = True
    replay_data: str = "replay"
    replay_ratio: float = 0.25
    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ()
    max_adapter_mb: float = 20.0
    merge: bool = False
    steps: int = 480
    batch_size: int = 4
    warmup_steps: int = 3
    lr: float = 3e-4
    checkpoint_every: int = 8
    eval_tokens: int = 4096

    def __post_init__(self):
        super().__post_init__()
        check_model("model", self.model)
        if not str(self.name).strip() or "/" in self.name:
            raise field_error("name", f"nom d'adaptateur invalide : {self.name!r}")
        if self.gold_splits and not Path(self.gold_splits).expanduser().is_file():
            raise field_error("gold_splits", f"fichier introuvable : {self.gold_splits}")
        if self.calls_dir and not Path(self.calls_dir).expanduser().is_dir():
            raise field_error("calls_dir", f"dossier introuvable : {self.calls_dir}")
        if not 0 <= self.replay_ratio < 1:
            raise field_error("replay_ratio", f"doit être dans [0, 1[, reçu {self.replay_ratio}")
        if self.replay_ratio > 0:
            check_data("replay_data", self.replay_data)
        if self.r < 1:
            raise field_error("r", f"doit être >= 1, reçu {self.r}")
        if not self.alpha > 0:
            raise field_error("alpha", f"doit être > 0, reçu {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise field_error("dropout", f"doit être dans [0, 1[, reçu {self.dropout}")
        if not self.max_adapter_mb > 0:
            raise field_error("max_adapter_mb", f"doit être > 0, reçu {self.max_adapter_mb}")


def excluded_recordings(cfg: FoundationConfig) -> set[str]:
    """The simsamu recordings of the ``exclude_simsamu`` splits of the gold splits file."""
    if not cfg.exclude_simsamu:
        return set()
    path = Path(cfg.gold_splits).expanduser() if cfg.gold_splits else default_gold_splits()
    try:
        splits = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise field_error("gold_splits", f"{path} illisible ({e})") from None
    out: set[str] = set()
    for s in cfg.exclude_simsamu:
        if not isinstance(splits.get(s), list):
            raise field_error("exclude_simsamu", f"pas de split {s!r} dans {path}")
        out.update(str(x) for x in splits[s])
    return out


def training_text(cfg: FoundationConfig):
    """``(train Dataset with a text column, validation documents, data facts)`` (see the module
    docstring: simsamu exclusions, SAMU train calls added, validation unchanged)."""
    from datasets import Dataset

    dd = corpus_dataset(cfg.train_data)
    train = dd["train"]
    excluded = excluded_recordings(cfg)
    dropped = 0
    if excluded and "doc_id" in train.column_names and "source" in train.column_names:
        keep = [
            i
            for i, (src, doc) in enumerate(zip(train["source"], train["doc_id"]))
            if not (src == "simsamu" and doc in excluded)
        ]
        dropped = len(train) - len(keep)
        train = train.select(keep)
    texts = list(train["text"])
    n_calls = 0
    if cfg.add_samu_calls:
        from core_training.datasets import load_corpus

        calls = load_corpus("samu_calls", cfg.calls_dir or None)["train"]
        if cfg.calls_writers:
            missing = sorted(set(cfg.calls_writers) - set(calls["writer"]))
            if missing:
                raise field_error("calls_writers", f"aucun appel d'entraînement de {', '.join(missing)}")
            calls = calls.filter(lambda row: row["writer"] in cfg.calls_writers)
        call_texts = [t for t in calls["text"] if t.strip()]
        n_calls = len(call_texts)
        texts += call_texts
    val = list(dd["validation"]["text"])
    # a test2 recording in the validation split would still be only measured, never trained on
    facts = {
        "train_documents": len(texts),
        "samu_calls": n_calls,
        "excluded_simsamu": dropped,
        "excluded_splits": list(cfg.exclude_simsamu),
        "validation_documents": len(val),
        "train_characters": sum(len(t) for t in texts),
    }
    return Dataset.from_dict({"text": texts}), val, facts


def lora_parameters(model, targets: list[str], r: int) -> int:
    """Parameters of rank-``r`` LoRA adapters on the ``targets`` linear layers of ``model``."""
    import torch

    n = 0
    for name, mod in model.named_modules():
        if name.rsplit(".", 1)[-1] in targets and isinstance(mod, torch.nn.Linear):
            n += r * (mod.in_features + mod.out_features)
    return n


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux ``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def trimmed_base(cfg: FoundationConfig, run: Run, texts: list[str], hook: Hook | None):
    """``(model, tokenizer, kept ids or None, trimmed base SHA-256 or None)``.

    The kept ids are decided once (trim on ``texts``) and saved in the run directory, so a resumed
    run rebuilds the very same base (from the cache)."""
    from core_training.models import load_causal_lm
    from core_training.trimmed import load_trimmed_base, model_sha256

    if not cfg.trim_vocab:
        model, tok = load_causal_lm(cfg.model)
        return model, tok, None, None
    keep_path = run.out / KEEP_FILE
    kept = None
    if keep_path.exists() and not run.fresh:
        kept = json.loads(keep_path.read_text())
    if kept is None:
        from core_training.trim_vocab import trim_vocabulary

        full, full_tok = load_causal_lm(cfg.model)
        _m, _t, info = trim_vocabulary(full, full_tok, texts)
        kept = info["kept_ids"]
        del full, full_tok, _m, _t
        write_atomic(keep_path, json.dumps(kept) + "\n")
    model, tok = load_trimmed_base(cfg.model, kept, hook=hook)
    return model, tok, kept, model_sha256(model, tok)


def main(cfg: FoundationConfig, hook: Hook | None = None) -> dict:
    """Train (or resume) the foundation's LoRA adapter; returns the summary (also ``summary.json``)."""
    from core_training.foundation import WEIGHTS_FILE, model_card, save_foundation_adapter
    from core_training.lora import add_lora, lora_targets, merge_lora
    from core_training.replay import MixedBatches
    from core_training.train import causal_lm_loss, train_loop
    from core_training.trimmed import file_sha256

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        log.info("run already finished in %s", run.out)
        return run.summary
    t_start = time.perf_counter()
    train_ds, val_texts, facts = training_text(cfg)
    replay = corpus_dataset(cfg.replay_data) if cfg.replay_data else None
    trim_texts = list(train_ds["text"]) + (list(replay["train"]["text"]) if replay is not None else [])
    if hook:
        hook("load", 0, 1)
    base, tok, kept, base_sha = trimmed_base(cfg, run, trim_texts, hook)
    if hook:
        hook("load", 1, 1)

    targets = list(cfg.target_modules) or lora_targets(base)
    n_lora = lora_parameters(base, targets, cfg.r)
    if n_lora * BYTES_PER_PARAM / 1e6 > cfg.max_adapter_mb:
        raise field_error(
            "r",
            f"r = {cfg.r} donne un adaptateur de {n_lora * BYTES_PER_PARAM / 1e6:.1f} Mo "
            f"> max_adapter_mb = {cfg.max_adapter_mb}",
        )
    domains = {"new": val_texts, "old": list(replay["validation"]["text"]) if replay is not None else []}
    before = evaluation_before(run, base, tok, domains, cfg, hook)
    seconds_prepare = time.perf_counter() - t_start

    try:
        model = add_lora(
            base, r=cfg.r, alpha=cfg.alpha, dropout=cfg.dropout, target_modules=targets, seed=cfg.seed
        )
    except ValueError as e:
        raise field_error("target_modules", str(e)) from None
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    new_blocks = blocks_for(train_ds, tok, cfg.block_size, cfg.max_train_tokens)
    replay_blocks = None
    if cfg.replay_ratio > 0:
        replay_blocks = blocks_for(replay["train"], tok, cfg.block_size, cfg.max_train_tokens)
    batches = MixedBatches(
        new_blocks, replay_blocks, cfg.batch_size, cfg.steps * cfg.grad_accum, cfg.replay_ratio, cfg.seed
    )

    def loss_fn(m, batch):
        loss, extra = causal_lm_loss(m, batch)
        return loss, {**extra, "replay_blocks": batch["n_replay"]}

    records = train_loop(model, batches, cfg.train_options(), run.out, loss_fn=loss_fn, hook=hook)
    after = evaluate_domains(model, tok, domains, cfg, hook)
    run.log({"step": cfg.steps, "event": "eval_after", "perplexity": after})

    n_layers = base.config.num_hidden_layers
    lora_info = {
        "r": cfg.r,
        "alpha": cfg.alpha,
        "dropout": cfg.dropout,
        "targets": targets,
        "layers": f"all {n_layers}",
        "trainable_parameters": n_trainable,
    }
    summary = {
        "name": cfg.name,
        "base": cfg.model,
        "vocab": len(kept) if kept else len(tok),
        "trimmed_base_sha256": base_sha,
        "lr": cfg.lr,
        "replay_ratio": cfg.replay_ratio,
        "replay_share": int(batches.plan.sum()) / int(batches.plan.numel()),
        "eval_tokens": cfg.eval_tokens,
        "data": facts,
        "lora": lora_info,
        "train_blocks_available": {
            "new": len(new_blocks),
            "replay": 0 if replay_blocks is None else len(replay_blocks),
        },
        "perplexity_before": before,
        "perplexity_after": after,
        **train_summary(records),
        "prepare_seconds": round(seconds_prepare, 1),
    }
    info = {"recipe": f"llm4all {RECIPE}", **{k: summary[k] for k in summary if k != "name"}}
    adapter = save_foundation_adapter(model, run.out / "adapter", cfg.model, kept, base_sha, info, cfg.name)
    weights = adapter / WEIGHTS_FILE
    summary["adapter_dir"] = str(adapter)
    summary["adapter_sha256"] = file_sha256(weights)
    summary["adapter_mb"] = round(weights.stat().st_size / 1e6, 2)
    if cfg.merge:
        merged = merge_lora(model)
        run.save_model(lambda d: save_model_to(merged, tok, d))
        summary["model_dir"] = str(run.model_dir)
    summary["peak_rss_gb"] = round(peak_rss_gb(), 2)
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)
    from core_training.foundation import read_foundation_metadata

    (adapter / "README.md").write_text(
        model_card(read_foundation_metadata(adapter), summary), encoding="utf-8"
    )
    return run.finish(summary)
