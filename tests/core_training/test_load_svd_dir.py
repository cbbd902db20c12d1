"""``load_causal_lm`` (what the heads and ``llm4all perplexity`` use) loads an SVD checkpoint too."""

from __future__ import annotations

import torch

from core_training.models import load_causal_lm
from core_training.svd import compress_svd, save_svd
from tests.core_training.tiny import logits, random_ids, tiny_model, tiny_tokenizer


def test_load_causal_lm_reads_svd_checkpoints(tmp_path):
    torch.manual_seed(0)
    tok = tiny_tokenizer()
    model = tiny_model("llama", vocab_size=len(tok))
    compress_svd(model, 0.3, method="plain")
    save_svd(model, tmp_path / "svd", tokenizer=tok)
    loaded, tok2 = load_causal_lm(tmp_path / "svd")
    ids = random_ids(model)
    assert torch.allclose(logits(model, ids), logits(loaded, ids), atol=1e-5)
    assert tok2("bonjour")["input_ids"] == tok("bonjour")["input_ids"]
