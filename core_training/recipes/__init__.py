"""Recipes: thin ``main(config, hook=None) -> summary`` functions, one module each.

Every recipe has a frozen config dataclass whose fields are its YAML keys (see
:mod:`core_training.recipes.config`) and an example config in ``core_training/configs/``.

    from core_training.recipes import get_recipe
    config_cls, main = get_recipe("prune")
    summary = main(load_config(config_cls, "core_training/configs/prune.yaml", {"out": "runs/p"}))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# recipe name -> (module, config class)
RECIPES: dict[str, tuple[str, str]] = {
    "trim-vocab": ("core_training.recipes.trim_vocab", "TrimVocabConfig"),
    "prune": ("core_training.recipes.prune", "PruneConfig"),
    "compress-svd": ("core_training.recipes.compress_svd", "SvdConfig"),
    "distill": ("core_training.recipes.distill", "DistillConfig"),
    "continue-pretrain": ("core_training.recipes.continue_pretrain", "ContinuePretrainConfig"),
    "grow": ("core_training.recipes.grow", "GrowConfig"),
    "lora": ("core_training.recipes.lora", "LoraConfig"),
    "perplexity": ("core_training.recipes.perplexity", "PerplexityConfig"),
    "train-samu": ("core_training.recipes.train_samu", "TrainSamuConfig"),
    "train-summary": ("core_training.recipes.train_summary", "TrainSummaryConfig"),
    "train-foundation": ("core_training.recipes.foundation", "FoundationConfig"),
}


def get_recipe(name: str) -> tuple[type, Callable]:
    """``(config_class, main)`` of the recipe ``name`` (``ValueError`` when unknown)."""
    if name not in RECIPES:
        raise ValueError(f"recette inconnue « {name} » (recettes : {', '.join(RECIPES)})")
    module, cls = RECIPES[name]
    mod = importlib.import_module(module)
    return getattr(mod, cls), mod.main
