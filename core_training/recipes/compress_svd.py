"""Recipe ``compress-svd``: low-rank compression of the linear layers (plain or whitened SVD)."""

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

SVD_METHODS = ("plain", "whitened")


@dataclass(frozen=True, kw_only=True)
class SvdConfig(CalibratedConfig):
    """Low-rank (SVD) compression of the linear layers.

    Args:
        ratio: share of the compressed layers' parameters to remove, in ]0, 1[.
        method: ``plain`` (truncated SVD of W) or ``whitened`` (SVD of W scaled by the
            calibration activations' covariance, SVD-LLM style).
    """

    ratio: float = 0.3
    method: str = "whitened"

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.ratio < 1:
            raise field_error("ratio", f"doit être dans ]0, 1[, reçu {self.ratio}")
        methods = module_choices("core_training.svd", ("METHODS", "SVD_METHODS"), SVD_METHODS)
        if self.method not in methods:
            raise field_error("method", f"méthode inconnue {self.method!r} (choix : {', '.join(methods)})")


def main(cfg: SvdConfig, hook: Hook | None = None) -> dict:
    """SVD compression of ``cfg.model`` (saved in the SVD format); returns the summary."""

    def transform(model, tok, texts):
        from core_training import svd

        calib = calibration(cfg, tok, texts)
        out, info = unpack_transform(
            svd.compress_svd(model, cfg.ratio, method=cfg.method, calib=calib, hook=hook), model
        )
        return out, tok, info

    return run_one_shot(cfg, "compress-svd", transform, hook, svd_format=True)
