"""A tiny random Llama model with the bundled SmolLM2 tokenizer (for plumbing tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


def smollm2_tokenizer_dir() -> Path:
    """The cached SmolLM2 conversion (tokenizer files), or skip saying why."""
    from asr.models import cache_dir

    d = cache_dir() / "smollm2-hf"
    if not (d / "tokenizer.json").exists() and not (d / "tokenizer_config.json").exists():
        pytest.skip(
            f"cached SmolLM2 tokenizer not found in {d} (run `make setup` to convert the bundled model)"
        )
    return d


def save_tiny_llama(out: Path) -> Path:
    """Save a randomly initialised 2-layer Llama (hidden 32) with the SmolLM2 tokenizer in ``out``."""
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir())
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out
