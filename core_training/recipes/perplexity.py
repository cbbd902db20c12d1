"""``perplexity``: perplexity of any model on any text file (no run directory)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from asr.transcript import json_dumps_strict
from core_training.recipes.config import Hook, check_model, field_error, load_model, write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PerplexityConfig:
    """Perplexity of a model on a text file (no run directory).

    Args:
        model: model directory, SVD directory, bundled name or hub id.
        text: the text file (``.txt`` documents separated by blank lines, or ``.jsonl``).
        block_size: tokens per scoring window.
        max_tokens: stop after this many tokens (0: the whole file).
        out: optional JSON file for the result.
        threads: torch CPU threads (0: default).
    """

    model: str
    text: str
    block_size: int = 512
    max_tokens: int = 0
    out: str = ""
    threads: int = 0

    def __post_init__(self):
        check_model("model", self.model)
        if not str(self.text).strip():
            raise field_error("text", "fichier texte manquant")
        if not Path(self.text).expanduser().is_file():
            raise field_error("text", f"fichier introuvable : {self.text}")
        if self.block_size < 8:
            raise field_error("block_size", f"doit être >= 8, reçu {self.block_size}")
        if self.max_tokens < 0:
            raise field_error("max_tokens", f"doit être >= 0, reçu {self.max_tokens}")
        if self.threads < 0:
            raise field_error("threads", f"doit être >= 0, reçu {self.threads}")


def main(cfg: PerplexityConfig, hook: Hook | None = None) -> dict:
    """Perplexity of ``cfg.model`` on ``cfg.text``; writes ``cfg.out`` (JSON) when set."""
    import torch

    from core_training.data import read_text_file
    from core_training.evaluate import perplexity

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    texts = read_text_file(cfg.text)
    if not texts:
        raise field_error("text", f"aucun texte dans {cfg.text}")
    model, tok = load_model(cfg.model)
    r = perplexity(model, tok, texts, block_size=cfg.block_size, max_tokens=cfg.max_tokens or None, hook=hook)
    result = {"model": cfg.model, "text": cfg.text, **r}
    if cfg.out:
        write_atomic(
            Path(cfg.out).expanduser(), json_dumps_strict(result, indent=2, ensure_ascii=False) + "\n"
        )
    return result
