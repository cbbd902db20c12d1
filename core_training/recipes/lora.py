"""Recipe ``lora``: LoRA fine-tuning through PEFT, then merging into a full checkpoint.

Writes the adapter (``adapter/``, loadable with PEFT on top of the base model) and, unless
``merge`` is off, the merged model (``model/``, a plain checkpoint loadable without PEFT).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core_training.recipes.config import (
    Hook,
    Run,
    TrainingConfig,
    blocks_for,
    check_lora_fields,
    check_model,
    evaluate_domains,
    evaluation_before,
    load_model,
    lora_from_config,
    save_model_to,
    train_summary,
    train_val_texts,
)

log = logging.getLogger(__name__)
RECIPE = "lora"


@dataclass(frozen=True, kw_only=True)
class LoraConfig(TrainingConfig):
    """LoRA fine-tuning.

    Args:
        model: base model.
        r: adapter rank.
        alpha: LoRA scaling numerator (update = alpha / r * B A).
        dropout: adapter dropout.
        target_modules: linear layers to adapt (comma-separated on the command line); empty:
            all attention and MLP projections.
        merge: also write the merged full model in ``model/``.
    """

    model: str = "gemma3-270m"
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ()
    merge: bool = True
    lr: float = 2e-4

    def __post_init__(self):
        super().__post_init__()
        check_model("model", self.model)
        check_lora_fields(self)


def main(cfg: LoraConfig, hook: Hook | None = None) -> dict:
    """Train (or resume) LoRA adapters, save the adapter and the merged model; returns the summary."""
    from core_training.evaluate import count_parameters
    from core_training.lora import merge_lora
    from core_training.train import BlockBatches, train_loop

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        return run.summary
    base, tok = load_model(cfg.model)
    train_texts, val_texts = train_val_texts(cfg.train_data, cfg.val_data)
    domains = {"validation": val_texts}
    before = evaluation_before(run, base, tok, domains, cfg, hook)
    model = lora_from_config(base, cfg)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    blocks = blocks_for(train_texts, tok, cfg.block_size, cfg.max_train_tokens)
    records = train_loop(
        model, BlockBatches(blocks, cfg.batch_size, seed=cfg.seed), cfg.train_options(), run.out, hook=hook
    )
    after = evaluate_domains(model, tok, domains, cfg, hook)
    run.log({"step": cfg.steps, "event": "eval_after", "perplexity": after})
    adapter = run.out / "adapter"
    model.save_pretrained(str(adapter))
    tok.save_pretrained(str(adapter))
    summary = {
        "adapter_dir": str(adapter),
        "trainable_parameters": n_trainable,
        "perplexity_before": before,
        "perplexity_after": after,
        **train_summary(records),
    }
    if cfg.merge:
        merged = merge_lora(model)
        run.save_model(lambda d: save_model_to(merged, tok, d))
        summary["model_dir"] = str(run.model_dir)
        summary["parameters"] = count_parameters(merged)["total"]
    return run.finish(summary)
