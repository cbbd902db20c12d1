"""A tiny random Llama model with the bundled SmolLM2 tokenizer, for the heads' plumbing tests
(summaries, SAMU forms): a real 49k-token tokenizer, a model that answers in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest


def smollm2_tokenizer_dir() -> Path:
    """The bundled SmolLM2 converted to transformers (converted on first use), or skip saying why."""
    from core_training.models import bundled_model_dir

    try:
        return bundled_model_dir("smollm2")
    except RuntimeError as e:
        pytest.skip(f"bundled SmolLM2 tokenizer unavailable: {e}")


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
