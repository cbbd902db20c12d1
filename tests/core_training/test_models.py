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


def test_typo_hub_id_fails_at_once_naming_what_and_where(tmp_path, monkeypatch):
    import time

    from huggingface_hub import constants

    from core_training.generate import LocalLLM

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for load in (load_causal_lm, LocalLLM):
        t0 = time.perf_counter()
        with pytest.raises(ValueError) as err:
            load("HuggingFaceTB/SmolLM2-135M-Instruc")
        assert time.perf_counter() - t0 < 5
        msg = str(err.value)
        assert "HuggingFaceTB/SmolLM2-135M-Instruc" in msg and str(tmp_path / "hub") in msg
        assert "allow_download" in msg and "smollm2" in msg  # the bundled names it also tried
    assert resolve_model("acme/tiny-lm", allow_download=True) == "acme/tiny-lm"


def test_hub_id_in_the_cache_loads_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--acme--tiny-lm"
    snap = repo / "snapshots" / "abc"
    tok = tiny_tokenizer()
    model = tiny_model("llama", vocab_size=len(tok))
    model.save_pretrained(snap)
    tok.save_pretrained(snap)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    loaded, _ = load_causal_lm("acme/tiny-lm")
    ids = random_ids(model)
    torch.testing.assert_close(logits(loaded, ids), logits(model, ids), rtol=0, atol=1e-5)
