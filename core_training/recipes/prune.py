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
    """Structured pruning (width or depth) of ``cfg.model``; returns the summary."""

    def transform(model, tok, texts):
        from core_training import prune

        calib = calibration(cfg, tok, texts)
        out, info = unpack_transform(prune.prune(model, cfg.ratio, cfg.method, calib, mode=cfg.mode), model)
        return out, tok, info

    return run_one_shot(cfg, "prune", transform, hook)
