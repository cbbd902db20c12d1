"""Width pruning only produces head counts that transformers 5 configs accept (they check that
``hidden_size`` is a multiple of ``num_attention_heads`` even when ``head_dim`` is explicit), so a
pruned Gemma 3-like model (hidden 40, 4 query heads, 1 KV head) reloads with plain from_pretrained."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from core_training.prune import prune
from tests.core_training.tiny import logits, random_ids, tiny_model


def test_pruned_gemma_like_model_reloads(tmp_path):
    torch.manual_seed(0)
    model = tiny_model("gemma3", hidden_size=40, num_attention_heads=4, num_key_value_heads=1, head_dim=16)
    prune(model, 0.3, method="magnitude", calib=None, mode="width")
    assert 40 % model.config.num_attention_heads == 0
    model.save_pretrained(tmp_path / "m")
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()
    ids = random_ids(model)
    assert torch.allclose(logits(model, ids), logits(again, ids), atol=1e-5)
