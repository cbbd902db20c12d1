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
    from transformers import AutoTokenizer, LlamaForCausalLM

    from tests.core_training.tiny import tiny_config

    tok = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir())
    torch.manual_seed(0)
    cfg = tiny_config(
        "llama",
        vocab_size=len(tok),
        num_hidden_layers=2,
        max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=None,  # no zeroed padding row: SmolLM2's token 0 is a real token
    )
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out
