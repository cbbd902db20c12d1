"""Causal-LM loading: transformers directories of each family, and the cached GGUF conversion."""

from __future__ import annotations

import pytest
import torch

from core_training.models import load_causal_lm, resolve_model
from tests.core_training.tiny import TINY_KINDS, logits, random_ids, tiny_model, tiny_tokenizer


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_save_then_load_causal_lm_gives_identical_logits(kind, tmp_path):
    tok = tiny_tokenizer()
    model = tiny_model(kind, vocab_size=len(tok))
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded, tok2 = load_causal_lm(tmp_path)
    assert type(loaded) is type(model) and not loaded.training
    ids = random_ids(model)
    # same weights; eager vs sdpa attention differ only by float rounding
    torch.testing.assert_close(logits(loaded, ids), logits(model, ids), rtol=0, atol=1e-5)
    assert tok2("bonjour")["input_ids"] == tok("bonjour")["input_ids"]


def test_resolve_model_rejects_a_directory_without_config(tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        resolve_model(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        resolve_model(str(tmp_path / "absent" / "model"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smollm2", "gemma3-270m"])
def test_cached_checkpoint_matches_direct_gguf_load(name):
    """The safetensors cache gives the same logits as transformers' own GGUF loader."""
    from transformers import AutoModelForCausalLM

    from core_training.models import _gguf_file, bundled_model_dir

    try:
        gguf = _gguf_file(name)
    except RuntimeError as e:
        pytest.skip(str(e))
    cached, tok = load_causal_lm(bundled_model_dir(name))
    direct = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    ).eval()
    ids = tok("Bonjour, je vous appelle pour mon père qui est tombé.", return_tensors="pt")["input_ids"]
    torch.testing.assert_close(logits(cached, ids), logits(direct, ids), rtol=0, atol=0)
