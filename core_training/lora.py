"""LoRA adapters through PEFT, and merging them into a full standard checkpoint.

:func:`add_lora` wraps a causal LM in a ``peft.PeftModel`` whose only trainable parameters are
the low-rank adapters; :func:`merge_lora` folds ``W + (alpha / r) B A`` into the base weights
and returns a plain transformers model, which :func:`save_merged` writes as a checkpoint that
loads with ``AutoModelForCausalLM.from_pretrained`` (no PEFT needed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _peft():
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    try:
        import peft
    except ImportError as e:  # pragma: no cover - declared dependency
        raise RuntimeError("LoRA needs peft: pip install peft") from e
    return peft


def lora_targets(model: torch.nn.Module, wanted: Sequence[str] = DEFAULT_TARGETS) -> list[str]:
    """The names in ``wanted`` that are ``nn.Linear`` leaves of ``model`` (PEFT target names)."""
    found = set()
    for name, mod in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in wanted and isinstance(mod, torch.nn.Linear):
            found.add(leaf)
    return [w for w in wanted if w in found]


def add_lora(
    model: torch.nn.Module,
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    target_modules: Sequence[str] | None = None,
    seed: int = 0,
):
    """Wrap ``model`` with LoRA adapters of rank ``r`` on ``target_modules``.

    Args:
        model: a transformers causal LM (modified in place by PEFT and returned wrapped).
        r: adapter rank (> 0).
        alpha: scaling numerator (the update is ``alpha / r * B @ A``).
        dropout: dropout on the adapter input.
        target_modules: linear layer names (default: attention and MLP projections present).
        seed: seeds the adapter initialisation (``A`` random, ``B`` zero).

    Returns:
        The ``PeftModel``; only adapter parameters require a gradient.
    """
    peft = _peft()
    if r < 1:
        raise ValueError(f"r must be >= 1, got {r}")
    targets = list(target_modules) if target_modules else lora_targets(model)
    present = set(lora_targets(model, targets))
    absent = [t for t in targets if t not in present]
    if absent or not targets:
        raise ValueError(f"target_modules {absent or targets} are not linear layers of this model")
    cfg = peft.LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        wrapped = peft.get_peft_model(model, cfg)
    return wrapped


def merge_lora(peft_model) -> torch.nn.Module:
    """Fold the adapters into the base weights; returns the plain transformers model."""
    merged = peft_model.merge_and_unload()
    for p in merged.parameters():
        p.requires_grad_(False)
    return merged


def save_merged(model: torch.nn.Module, tokenizer, out_dir: str | os.PathLike) -> Path:
    """Save a merged (plain) model and its tokenizer as a standard safetensors checkpoint."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(out_dir)
    return out_dir
