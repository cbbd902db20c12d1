"""Recipe ``prune``: structured pruning (width: heads and MLP channels; depth: whole layers)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core_training.recipes.config import (
    CalibratedConfig,
    Hook,
    calibration,
    field_error,
    module_choices,
    run_one_shot,
    unpack_transform,
)

log = logging.getLogger(__name__)

PRUNE_METHODS = ("magnitude", "activation", "random")
PRUNE_MODES = ("width", "depth")


@dataclass(frozen=True, kw_only=True)
class PruneConfig(CalibratedConfig):
    """Structured pruning.

    Args:
        ratio: share of the prunable parameters to remove, in ]0, 1[.
        method: importance score (``activation``, ``magnitude``, ``random``...).
        mode: ``width`` (attention heads and MLP channels) or ``depth`` (whole layers).
    """

    ratio: float = 0.3
    method: str = "activation"
    mode: str = "width"

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.ratio < 1:
            raise field_error("ratio", f"doit être dans ]0, 1[, reçu {self.ratio}")
        methods = module_choices("core_training.prune", ("METHODS", "PRUNE_METHODS"), PRUNE_METHODS)
        if self.method not in methods:
            raise field_error("method", f"méthode inconnue {self.method!r} (choix : {', '.join(methods)})")
        modes = module_choices("core_training.prune", ("MODES", "PRUNE_MODES"), PRUNE_MODES)
        if self.mode not in modes:
            raise field_error("mode", f"mode inconnu {self.mode!r} (choix : {', '.join(modes)})")


def main(cfg: PruneConfig, hook: Hook | None = None) -> dict:
    """Structured pruning (width or depth) of ``cfg.model``; returns the summary.

    Depth pruning records the original index of each kept layer in ``config.llm4all_pruning``
    (``kept_layers``), which distillation uses to map student layers onto teacher layers.
    """

    def transform(model, tok, texts):
        from core_training import prune

        calib = calibration(cfg, tok, texts)
        before = [id(layer) for layer in prune.decoder_layers(model)]
        result = prune.prune(model, cfg.ratio, cfg.method, calib, mode=cfg.mode, hook=hook)
        out, info = unpack_transform(result, model)
        kept = [before.index(id(layer)) for layer in prune.decoder_layers(out)]
        info = {**info, "mode": cfg.mode, "method": cfg.method, "ratio": cfg.ratio, "kept_layers": kept}
        prev = getattr(out.config, "llm4all_pruning", None)
        if isinstance(prev, dict) and prev.get("kept_layers"):  # pruned twice: indices into the first teacher
            kept = [prev["kept_layers"][i] for i in kept]
        out.config.llm4all_pruning = {
            "mode": cfg.mode,
            "method": cfg.method,
            "ratio": cfg.ratio,
            "kept_layers": kept,
        }
        return out, tok, info

    return run_one_shot(cfg, "prune", transform, hook)
