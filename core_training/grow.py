"""Block expansion (LLaMA Pro, Wu et al. 2024): insert identity-initialised decoder blocks.

After every ``k`` original layers a copy of the preceding layer is inserted with its output
projections (attention ``o_proj`` and MLP ``down_proj``, biases included) set to zero: thanks to
the residual connections the new block passes its input through unchanged, so the grown model
computes exactly the original function. Only the new blocks are then trained
(:func:`freeze_except_new_blocks`), which adds capacity for a new domain without touching the
original weights.

The result is a standard transformers model of the same class with ``num_hidden_layers``
updated, per-layer ``layer_types`` extended (Gemma 3 sliding/full attention, Qwen2...: a new
block takes its source layer's type), and the new layer indices recorded in
``config.llm4all_growth`` so later tools know which blocks are new.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import torch

log = logging.getLogger(__name__)

ATTN_OUT = ("o_proj", "out_proj")
MLP_OUT = ("down_proj", "fc2", "c_proj")


def _layers_name(model: torch.nn.Module) -> str:
    """Dotted name of the decoder's ``ModuleList`` of layers (``model.layers`` for Llama/Gemma/Qwen2)."""
    layers = model.get_decoder().layers
    for name, mod in model.named_modules():
        if mod is layers:
            return name
    raise ValueError("could not locate the decoder layers of this model")


def growth_plan(n_layers: int, every: int) -> list[int]:
    """Source layer of each block of the grown stack: entry ``j`` is the original layer whose
    weights block ``j`` starts from; a block is new when its source equals the previous entry's.

    >>> growth_plan(4, 2)
    [0, 1, 1, 2, 3, 3]
    """
    if every < 1 or every > n_layers:
        raise ValueError(f"every must be in [1, {n_layers}], got {every}")
    plan = []
    for i in range(n_layers):
        plan.append(i)
        if (i + 1) % every == 0:
            plan.append(i)
    return plan


def _zero_outputs(block: torch.nn.Module) -> list[str]:
    zeroed = []
    with torch.no_grad():
        for name, mod in block.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ATTN_OUT + MLP_OUT and isinstance(mod, torch.nn.Linear):
                mod.weight.zero_()
                if mod.bias is not None:
                    mod.bias.zero_()
                zeroed.append(name)
    return zeroed


def expand_blocks(model: torch.nn.Module, every: int) -> tuple[torch.nn.Module, list[int]]:
    """Return a deeper copy of ``model`` with an identity block after every ``every`` layers.

    Args:
        model: a transformers decoder-only causal LM (Llama, Qwen2, Mistral, Gemma 3...).
        every: insert one new block after each group of ``every`` original layers
            (``num_hidden_layers / every`` new blocks, rounded down).

    Returns:
        ``(grown, new_layers)``: a new model of the same class (the input is left untouched),
        and the indices of the inserted blocks in it. ``grown`` gives the same logits as
        ``model`` until the new blocks are trained.
    """
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    from transformers import AutoModelForCausalLM

    cfg = model.config
    n = int(cfg.num_hidden_layers)
    plan = growth_plan(n, every)
    new_layers = [j for j in range(1, len(plan)) if plan[j] == plan[j - 1]]

    new_cfg = copy.deepcopy(cfg)
    new_cfg.num_hidden_layers = len(plan)
    types = getattr(cfg, "layer_types", None)
    if types is not None:
        if len(types) != n:
            raise ValueError(f"config.layer_types has {len(types)} entries for {n} layers")
        new_cfg.layer_types = [types[s] for s in plan]
    prev = getattr(cfg, "llm4all_growth", None) or {}
    new_cfg.llm4all_growth = {
        "every": every,
        "source_layers": plan,
        "new_layers": new_layers,
        "original_layers": n,
        "previous": prev or None,
    }

    attn = getattr(cfg, "_attn_implementation", None)
    kw = {"attn_implementation": attn} if attn else {}
    dtype = next(model.parameters()).dtype
    grown = AutoModelForCausalLM.from_config(new_cfg, dtype=dtype, **kw)

    prefix = _layers_name(model) + "."
    old_sd = model.state_dict()
    new_sd = {}
    for key, value in old_sd.items():
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            i, tail = rest.split(".", 1)
            for j, s in enumerate(plan):
                if s == int(i):
                    new_sd[f"{prefix}{j}.{tail}"] = value.clone()
        else:
            new_sd[key] = value
    missing, unexpected = grown.load_state_dict(new_sd, strict=False)
    missing = [k for k in missing if k not in ("lm_head.weight",) or not cfg.tie_word_embeddings]
    if missing or unexpected:
        raise ValueError(
            f"state dict mismatch while growing: missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    if getattr(cfg, "tie_word_embeddings", False):
        grown.tie_weights()

    layers = grown.get_decoder().layers
    for j in new_layers:
        zeroed = _zero_outputs(layers[j])
        leaves = {z.rsplit(".", 1)[-1] for z in zeroed}
        if not leaves & set(ATTN_OUT) or not leaves & set(MLP_OUT):
            raise ValueError(
                f"unsupported block layout: expected attention ({ATTN_OUT}) and MLP ({MLP_OUT}) output "
                f"projections, found {zeroed}"
            )
    grown.to(next(model.parameters()).device)
    grown.train(model.training)
    log.info("grew %d -> %d layers (new blocks %s)", n, len(plan), new_layers)
    return grown, new_layers


def new_block_indices(model: torch.nn.Module) -> list[int]:
    """Indices of the blocks inserted by :func:`expand_blocks` (from ``config.llm4all_growth``)."""
    info = getattr(model.config, "llm4all_growth", None) or {}
    return list(info.get("new_layers", []))


def freeze_except_new_blocks(
    model: torch.nn.Module, new_layers: Sequence[int] | None = None
) -> list[torch.nn.Parameter]:
    """Make only the given (default: recorded new) blocks trainable; return their parameters."""
    new_layers = list(new_layers if new_layers is not None else new_block_indices(model))
    if not new_layers:
        raise ValueError("no new blocks to train (the model was not grown with expand_blocks)")
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.get_decoder().layers
    params = []
    for j in new_layers:
        for p in layers[j].parameters():
            p.requires_grad_(True)
            params.append(p)
    return params
