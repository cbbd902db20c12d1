"""Recipe ``grow``: block expansion then training of the new blocks only.

Identity-initialised blocks are inserted after every ``every`` layers (the grown model computes
exactly what the original did), then only they are trained on the new-domain text. The result is
a standard checkpoint with more layers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core_training.recipes.config import (
    Hook,
    Run,
    TrainingConfig,
    blocks_for,
    check_model,
    evaluate_domains,
    evaluation_before,
    field_error,
    load_model,
    save_model_to,
    train_summary,
    train_val_texts,
)

log = logging.getLogger(__name__)
RECIPE = "grow"


@dataclass(frozen=True, kw_only=True)
class GrowConfig(TrainingConfig):
    """Block expansion.

    Args:
        model: the model to grow.
        every: insert one new block after every ``every`` original layers.
    """

    model: str = "gemma3-270m"
    every: int = 6
    lr: float = 2e-4

    def __post_init__(self):
        super().__post_init__()
        check_model("model", self.model)
        if self.every < 1:
            raise field_error("every", f"doit être >= 1, reçu {self.every}")


def main(cfg: GrowConfig, hook: Hook | None = None) -> dict:
    """Grow, train the new blocks (resumable), save; returns the summary."""
    from core_training.evaluate import count_parameters
    from core_training.grow import expand_blocks, freeze_except_new_blocks
    from core_training.train import BlockBatches, train_loop

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        return run.summary
    base, tok = load_model(cfg.model)
    n = base.config.num_hidden_layers
    if cfg.every > n:
        raise field_error("every", f"doit être <= nombre de couches du modèle ({n}), reçu {cfg.every}")
    train_texts, val_texts = train_val_texts(cfg.train_data, cfg.val_data)
    domains = {"validation": val_texts}
    before = evaluation_before(run, base, tok, domains, cfg, hook)
    params_before = count_parameters(base)["total"]
    model, new_layers = expand_blocks(base, cfg.every)  # deterministic: rebuilt the same way on resume
    del base
    params = freeze_except_new_blocks(model, new_layers)
    blocks = blocks_for(train_texts, tok, cfg.block_size, cfg.max_train_tokens)
    records = train_loop(
        model,
        BlockBatches(blocks, cfg.batch_size, seed=cfg.seed),
        cfg.train_options(),
        run.out,
        params=params,
        hook=hook,
    )
    after = evaluate_domains(model, tok, domains, cfg, hook)
    run.log({"step": cfg.steps, "event": "eval_after", "perplexity": after})
    for p in model.parameters():
        p.requires_grad_(True)
    run.save_model(lambda d: save_model_to(model, tok, d))
    return run.finish(
        {
            "model_dir": str(run.model_dir),
            "layers_before": n,
            "layers_after": model.config.num_hidden_layers,
            "new_layers": new_layers,
            "parameters_before": params_before,
            "parameters_after": count_parameters(model)["total"],
            "perplexity_before": before,
            "perplexity_after": after,
            **train_summary(records),
        }
    )
