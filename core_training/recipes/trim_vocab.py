"""Recipe ``trim-vocab``: keep only the vocabulary a corpus uses (smaller embeddings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core_training.recipes.config import (
    Hook,
    OneShotConfig,
    run_one_shot,
    unpack_transform,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TrimVocabConfig(OneShotConfig):
    """Vocabulary trimming to the tokens the corpus uses (``calib_data``, train split)."""


def main(cfg: TrimVocabConfig, hook: Hook | None = None) -> dict:
    """Trim ``cfg.model``'s vocabulary to the tokens of ``calib_data``; returns the summary."""

    def transform(model, tok, texts):
        from core_training import trim_vocab

        out = trim_vocab.trim_vocabulary(model, tok, texts)
        if isinstance(out, tuple) and len(out) == 3:
            return out
        m, info = unpack_transform(out, model)
        return m, tok, info

    return run_one_shot(cfg, "trim-vocab", transform, hook)
