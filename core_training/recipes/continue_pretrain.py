"""Recipe ``continue-pretrain``: continued pretraining on a new domain with replay.

The model trains on new-domain blocks mixed with a share (``replay_ratio``) of old-domain
blocks, under a re-warmed then re-decayed learning rate. Perplexity on the new domain and on the
old (replay) domain is measured before and after, so forgetting shows in the summary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
    load_model,
    save_model_to,
    train_summary,
    train_val_data,
)

log = logging.getLogger(__name__)
RECIPE = "continue-pretrain"


@dataclass(frozen=True, kw_only=True)
class ContinuePretrainConfig(TrainingConfig):
    """Continued pretraining with replay.

    Args:
        model: base model (bundled name, directory or hub id).
        replay_data: old-domain text: ``replay`` (default replay corpus) or a file/directory.
        replay_ratio: share of replay blocks in the training stream, in [0, 1).
        train_embeddings: also train the (tied) embeddings; off by default: they hold most of a
            small model's parameters and little of what a new domain changes.
    """

    model: str = "gemma3-270m"
    replay_data: str = "replay"
    replay_ratio: float = 0.25
    train_embeddings: bool = False
    lr: float = 5e-5

    def __post_init__(self):
        super().__post_init__()
        check_model("model", self.model)
        if not 0 <= self.replay_ratio < 1:
            raise field_error("replay_ratio", f"doit être dans [0, 1[, reçu {self.replay_ratio}")
        if self.replay_ratio > 0:
            check_data("replay_data", self.replay_data)


def freeze_embeddings(model) -> None:
    """Stop gradients into the input embeddings and the output head (tied or not)."""
    for mod in (model.get_input_embeddings(), model.get_output_embeddings()):
        if mod is not None:
            for p in mod.parameters():
                p.requires_grad_(False)


def main(cfg: ContinuePretrainConfig, hook: Hook | None = None) -> dict:
    """Run (or resume) continued pretraining; returns the summary (also in ``summary.json``)."""
    from core_training.replay import MixedBatches
    from core_training.train import causal_lm_loss, train_loop

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        log.info("run already finished in %s", run.out)
        return run.summary
    if hook:
        hook("load", 0, 1)
    model, tok = load_model(cfg.model)
    if hook:
        hook("load", 1, 1)
    # corpora as datasets (named ones cached with their tokenised blocks, see core_training.datasets)
    train_docs, val_texts = train_val_data(cfg.train_data, cfg.val_data)
    replay = corpus_dataset(cfg.replay_data) if cfg.replay_data else None
    domains = {"new": val_texts, "old": list(replay["validation"]["text"]) if replay is not None else []}
    before = evaluation_before(run, model, tok, domains, cfg, hook)

    new_blocks = blocks_for(train_docs, tok, cfg.block_size, cfg.max_train_tokens)
    replay_blocks = None
    if cfg.replay_ratio > 0:
        replay_blocks = blocks_for(replay["train"], tok, cfg.block_size, cfg.max_train_tokens)
    batches = MixedBatches(
        new_blocks, replay_blocks, cfg.batch_size, cfg.steps * cfg.grad_accum, cfg.replay_ratio, cfg.seed
    )

    def loss_fn(m, batch):
        loss, extra = causal_lm_loss(m, batch)
        return loss, {**extra, "replay_blocks": batch["n_replay"]}

    if not cfg.train_embeddings:
        freeze_embeddings(model)
    records = train_loop(model, batches, cfg.train_options(), run.out, loss_fn=loss_fn, hook=hook)
    after = evaluate_domains(model, tok, domains, cfg, hook)
    run.log({"step": cfg.steps, "event": "eval_after", "perplexity": after})
    run.save_model(lambda d: save_model_to(model, tok, d))
    n_replay = int(batches.plan.sum())
    n_blocks = int(batches.plan.numel())
    return run.finish(
        {
            "model_dir": str(run.model_dir),
            "perplexity_before": before,
            "perplexity_after": after,
            "replay_share": n_replay / n_blocks,
            "train_blocks_available": {
                "new": len(new_blocks),
                "replay": 0 if replay_blocks is None else len(replay_blocks),
            },
            **train_summary(records),
        }
    )
