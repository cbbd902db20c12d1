"""Structured pruning of decoder-only transformers (Llama, Mistral, Qwen2, Gemma 3 families).

- **Width**: MLP channels (rows of ``gate_proj``/``up_proj``, columns of ``down_proj``) and
  query heads (rows of ``q_proj``, columns of ``o_proj``). Under grouped-query attention the
  same number of query heads is removed from every key/value group, so each group keeps its
  key/value head and ``num_attention_heads`` stays a multiple of ``num_key_value_heads``.
  The same channel and head counts are kept in every layer, because the config has a single
  ``intermediate_size`` / ``num_attention_heads``.
- **Depth**: whole decoder layers (``num_hidden_layers`` and, for Gemma 3 / Qwen2,
  ``layer_types`` are updated).

Importance:

- ``"activation"`` (default): from calibration activations. MLP channel *i*:
  ``‖X_i‖₂ · ‖W_down[:, i]‖₂`` where ``X`` is the input of ``down_proj`` (Wanda, structured);
  query head: the same score summed over the head's ``o_proj`` input columns; layer: the
  Block Influence of ShortGPT, ``1 − cos(h_in, h_out)`` averaged over tokens.
- ``"magnitude"`` (baseline): L2 norm of the weights a channel/head/layer owns.

The result is a standard, smaller model: ``save_pretrained`` then plain
``AutoModelForCausalLM.from_pretrained`` loads it with no custom code (``head_dim`` is written
explicitly in the config since it no longer equals ``hidden_size / num_attention_heads``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from asr._compat import ensure_torchaudio_importable
from asr.progress import Hook

ensure_torchaudio_importable()

import torch  # noqa: E402
from torch import nn  # noqa: E402

log = logging.getLogger(__name__)

__all__ = [
    "prune",
    "prune_width",
    "prune_depth",
    "collect_activation_stats",
    "width_plan",
    "decoder_layers",
    "non_embedding_parameters",
]

METHODS = ("activation", "magnitude")


# --------------------------------------------------------------------------- model access


def base_model(model) -> nn.Module:
    """The decoder stack without the LM head (``model.model`` for ``*ForCausalLM``)."""
    inner = getattr(model, getattr(model, "base_model_prefix", "model"), None)
    return inner if isinstance(inner, nn.Module) else model


def decoder_layers(model) -> nn.ModuleList:
    """The model's decoder layers; ``ValueError`` for an unsupported architecture."""
    layers = getattr(base_model(model), "layers", None)
    if not isinstance(layers, nn.ModuleList) or not len(layers):
        raise ValueError(f"{type(model).__name__}: no decoder layers found (expected model.model.layers)")
    for part, names in (
        ("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")),
        ("mlp", ("gate_proj", "up_proj", "down_proj")),
    ):
        mod = getattr(layers[0], part, None)
        if mod is None or not all(isinstance(getattr(mod, n, None), nn.Linear) for n in names):
            raise ValueError(
                f"{type(model).__name__}: unsupported layer layout (needs {part}.{'/'.join(names)} as nn.Linear)"
            )
    return layers


def non_embedding_parameters(model) -> int:
    """Parameters outside the input embedding and the (untied) output head."""
    from .evaluate import count_parameters

    return count_parameters(model)["non_embedding"]


def _check_ratio(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return float(value)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _head_layout(config) -> tuple[int, int, int]:
    h, g = int(config.num_attention_heads), int(config.num_key_value_heads or config.num_attention_heads)
    if h % g:
        raise ValueError(f"num_attention_heads ({h}) is not divisible by num_key_value_heads ({g})")
    d = getattr(config, "head_dim", None) or config.hidden_size // h
    return h, g, int(d)


# --------------------------------------------------------------------------- calibration statistics


def _hidden_of(x):
    return x[0] if isinstance(x, (tuple, list)) else x


@torch.no_grad()
def collect_activation_stats(model, calib: Sequence[torch.Tensor], hook: Hook | None = None) -> dict:
    """Run calibration batches through the decoder (no LM head) and gather pruning statistics.

    Args:
        model: a causal LM (see :func:`decoder_layers`).
        calib: ``LongTensor [batch, seq]`` batches (e.g. :func:`core_training.data.calibration_batches`).
        hook: ``hook("calibration", batches_done, total)``.

    Returns:
        ``{"mlp": [Tensor[intermediate]] per layer (sum over tokens of squared down_proj
        inputs), "attn": [Tensor[heads*head_dim]] (squared o_proj inputs), "bi": [float] (mean
        Block Influence), "tokens": int}``.
    """
    if not calib:
        raise ValueError("calib must contain at least one batch of token ids")
    layers = decoder_layers(model)
    n = len(layers)
    mlp = [None] * n
    attn = [None] * n
    bi_sum = [0.0] * n
    tokens = 0
    handles = []

    def sq_hook(store, i):
        def fn(_mod, args):
            x = args[0].detach().float().reshape(-1, args[0].shape[-1])
            s = x.pow(2).sum(0)
            store[i] = s if store[i] is None else store[i] + s

        return fn

    def bi_hook(i):
        def fn(_mod, args, kwargs, out):
            x_in = kwargs.get("hidden_states", args[0] if args else None)
            x_out = _hidden_of(out)
            cos = nn.functional.cosine_similarity(x_in.float(), x_out.float(), dim=-1)
            bi_sum[i] += (1 - cos).sum().item()

        return fn

    try:
        for i, layer in enumerate(layers):
            handles.append(layer.mlp.down_proj.register_forward_pre_hook(sq_hook(mlp, i)))
            handles.append(layer.self_attn.o_proj.register_forward_pre_hook(sq_hook(attn, i)))
            handles.append(layer.register_forward_hook(bi_hook(i), with_kwargs=True))
        dev = next(model.parameters()).device
        base = base_model(model)
        for b, ids in enumerate(calib):
            ids = ids.to(dev)
            if ids.dim() == 1:
                ids = ids.unsqueeze(0)
            base(input_ids=ids, use_cache=False)
            tokens += ids.numel()
            if hook:
                hook("calibration", b + 1, len(calib))
    finally:
        for h in handles:
            h.remove()
    return {"mlp": mlp, "attn": attn, "bi": [s / max(tokens, 1) for s in bi_sum], "tokens": tokens}


# --------------------------------------------------------------------------- tensor surgery


def _slice_linear(
    lin: nn.Linear, out_idx: torch.Tensor | None = None, in_idx: torch.Tensor | None = None
) -> None:
    w = lin.weight.data
    if out_idx is not None:
        w = w.index_select(0, out_idx.to(w.device))
    if in_idx is not None:
        w = w.index_select(1, in_idx.to(w.device))
    lin.weight = nn.Parameter(w.clone(), requires_grad=lin.weight.requires_grad)
    lin.out_features, lin.in_features = w.shape
    if lin.bias is not None and out_idx is not None:
        lin.bias = nn.Parameter(
            lin.bias.data.index_select(0, out_idx.to(w.device)).clone(), requires_grad=lin.bias.requires_grad
        )


def _keep_top(scores: torch.Tensor, k: int) -> torch.Tensor:
    return torch.topk(scores.float(), k).indices.sort().values


def _mlp_scores(layer, method: str, sq: torch.Tensor | None) -> torch.Tensor:
    m = layer.mlp
    down_col = m.down_proj.weight.float().norm(dim=0)
    if method == "magnitude":
        return (
            m.gate_proj.weight.float().pow(2).sum(1)
            + m.up_proj.weight.float().pow(2).sum(1)
            + down_col.pow(2)
        ).sqrt()
    return sq.to(down_col.device).sqrt() * down_col


def _head_scores(layer, method: str, sq: torch.Tensor | None, n_heads: int, d: int) -> torch.Tensor:
    a = layer.self_attn
    o_col = a.o_proj.weight.float().norm(dim=0)  # [n_heads * d]
    if method == "magnitude":
        q = a.q_proj.weight.float().pow(2).sum(1)
        return (q + o_col.pow(2)).view(n_heads, d).sum(1).sqrt()
    return (sq.to(o_col.device).sqrt() * o_col).view(n_heads, d).sum(1)


def width_plan(model, ratio: float, heads_ratio: float | None = None) -> dict:
    """How many MLP channels and query heads per group to keep to remove ``ratio`` of the
    non-embedding parameters.

    Query heads per group removed: ``floor(n_rep · heads_ratio)`` (``heads_ratio`` defaults to
    ``ratio``; at least one head per group is kept); MLP channels then take the rest of the
    budget (rounded up, so the removed fraction is at least ``ratio``).

    Returns:
        ``{"intermediate_size", "heads_per_group", "num_attention_heads", "num_key_value_heads",
        "head_dim", "removed", "target"}``.

    Raises:
        ValueError: bad ratio, or a ratio the MLP cannot absorb.
    """
    ratio = _check_ratio("ratio", ratio)
    heads_ratio = ratio if heads_ratio is None else float(heads_ratio)
    if not 0 <= heads_ratio < 1:
        raise ValueError(f"heads_ratio must be in [0, 1), got {heads_ratio!r}")
    cfg = model.config
    layers = decoder_layers(model)
    n_layers = len(layers)
    h, g, d = _head_layout(cfg)
    n_rep = h // g
    hidden = int(cfg.hidden_size)
    inter = layers[0].mlp.gate_proj.out_features
    target = ratio * non_embedding_parameters(model)
    a, m = layers[0].self_attn, layers[0].mlp
    per_head = d * (a.q_proj.in_features + a.o_proj.out_features) + (d if a.q_proj.bias is not None else 0)
    per_channel = m.gate_proj.in_features + m.up_proj.in_features + m.down_proj.out_features
    per_channel += (m.gate_proj.bias is not None) + (m.up_proj.bias is not None)
    drop_heads = min(int(math.floor(n_rep * heads_ratio + 1e-9)), n_rep - 1)
    while drop_heads > 0 and drop_heads * g * per_head * n_layers > target:
        drop_heads -= 1
    # transformers 5 configs (Llama, Gemma 3...) refuse a head count that does not divide
    # hidden_size even with an explicit head_dim: keep only loadable head counts
    while drop_heads > 0 and hidden % ((n_rep - drop_heads) * g):
        drop_heads -= 1
    removed_heads = drop_heads * g * per_head * n_layers
    channels = max(0, math.ceil((target - removed_heads) / (per_channel * n_layers)))
    if channels >= inter:
        raise ValueError(
            f"ratio={ratio} removes more than the MLP can give ({inter} channels of width {hidden})"
        )
    return {
        "intermediate_size": inter - channels,
        "heads_per_group": n_rep - drop_heads,
        "num_attention_heads": (n_rep - drop_heads) * g,
        "num_key_value_heads": g,
        "head_dim": d,
        "removed": removed_heads + channels * per_channel * n_layers,
        "target": target,
    }


@torch.no_grad()
def prune_width(
    model,
    ratio: float,
    method: str = "activation",
    calib: Sequence[torch.Tensor] | None = None,
    hook: Hook | None = None,
    stats: dict | None = None,
    heads_ratio: float | None = None,
):
    """Remove MLP channels and query heads so that ``ratio`` of the non-embedding parameters go.

    Args:
        model: causal LM, modified in place.
        ratio: fraction of non-embedding parameters to remove, in (0, 1).
        method: ``"activation"`` (needs ``calib`` or ``stats``) or ``"magnitude"``.
        calib: calibration batches ``LongTensor [batch, seq]``.
        hook: progress, ``hook(step, done, total)``.
        stats: precomputed :func:`collect_activation_stats` of this (unpruned) model, to prune
            copies of one model at several ratios with a single calibration pass.
        heads_ratio: fraction of query heads per group to remove (default: ``ratio``, see
            :func:`width_plan`).

    Returns:
        the same model object, smaller, with ``config.intermediate_size``,
        ``num_attention_heads`` and an explicit ``head_dim`` updated.
    """
    _check_method(method)
    plan = width_plan(model, ratio, heads_ratio)
    layers = decoder_layers(model)
    h, g, d = _head_layout(model.config)
    n_rep = h // g
    if method == "activation" and stats is None:
        if not calib:
            raise ValueError("method='activation' needs calib (calibration batches) or stats")
        stats = collect_activation_stats(model, calib, hook)
    keep_c, keep_r = plan["intermediate_size"], plan["heads_per_group"]
    for i, layer in enumerate(layers):
        m, a = layer.mlp, layer.self_attn
        if keep_c < m.gate_proj.out_features:
            idx = _keep_top(_mlp_scores(layer, method, stats["mlp"][i] if stats else None), keep_c)
            _slice_linear(m.gate_proj, out_idx=idx)
            _slice_linear(m.up_proj, out_idx=idx)
            _slice_linear(m.down_proj, in_idx=idx)
            if hasattr(m, "intermediate_size"):
                m.intermediate_size = keep_c
        if keep_r < n_rep:
            scores = _head_scores(layer, method, stats["attn"][i] if stats else None, h, d).view(g, n_rep)
            heads = [grp * n_rep + j for grp in range(g) for j in _keep_top(scores[grp], keep_r).tolist()]
            cols = torch.tensor([hd * d + k for hd in heads for k in range(d)], dtype=torch.long)
            _slice_linear(a.q_proj, out_idx=cols)
            _slice_linear(a.o_proj, in_idx=cols)
            a.num_key_value_groups = keep_r
            for attr in ("num_heads", "num_attention_heads"):
                if hasattr(a, attr):
                    setattr(a, attr, keep_r * g)
        if hook:
            hook("prune_width", i + 1, len(layers))
    cfg = model.config
    cfg.head_dim = d
    cfg.intermediate_size = keep_c
    cfg.num_attention_heads = keep_r * g
    cfg.num_key_value_heads = g
    log.info(
        "width pruning (%s): intermediate %d, heads %d/%d kv, %d parameters removed",
        method, keep_c, keep_r * g, g, plan["removed"],
    )  # fmt: skip
    return model


def _layer_scores(model, method: str, stats: dict | None) -> list[float]:
    layers = decoder_layers(model)
    if method == "activation":
        return list(stats["bi"])
    return [
        math.sqrt(sum(p.float().pow(2).sum().item() for p in layer.parameters() if p.dim() == 2))
        for layer in layers
    ]


@torch.no_grad()
def prune_depth(
    model,
    n_layers: int | float,
    method: str = "activation",
    calib: Sequence[torch.Tensor] | None = None,
    hook: Hook | None = None,
    stats: dict | None = None,
):
    """Remove whole decoder layers: the ``n_layers`` least important (an int), or enough layers to
    remove a fraction of the non-embedding parameters (a float in (0, 1), rounded to the nearest
    layer count, at least one).

    Importance: Block Influence ``1 − cos(h_in, h_out)`` on calibration data (``"activation"``)
    or the layer's weight norm (``"magnitude"``).

    Returns:
        the same model, with ``config.num_hidden_layers`` (and ``layer_types``) updated.
    """
    _check_method(method)
    layers = decoder_layers(model)
    total = len(layers)
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, float)):
        raise ValueError(f"n_layers must be an int count or a ratio in (0, 1), got {n_layers!r}")
    if isinstance(n_layers, float):
        n_drop = max(1, round(_check_ratio("n_layers", n_layers) * total))
    else:
        n_drop = int(n_layers)
    if not 0 < n_drop < total:
        raise ValueError(
            f"n_layers must remove between 1 and {total - 1} of {total} layers, got {n_layers!r}"
        )
    if method == "activation" and stats is None:
        if not calib:
            raise ValueError("method='activation' needs calib (calibration batches) or stats")
        stats = collect_activation_stats(model, calib, hook)
    scores = _layer_scores(model, method, stats)
    drop = set(sorted(range(total), key=lambda i: scores[i])[:n_drop])
    keep = [i for i in range(total) if i not in drop]
    new_layers = nn.ModuleList([layers[i] for i in keep])
    for new_i, layer in enumerate(new_layers):
        for mod in layer.modules():
            if hasattr(mod, "layer_idx"):
                mod.layer_idx = new_i
    base_model(model).layers = new_layers
    cfg = model.config
    cfg.num_hidden_layers = len(keep)
    if getattr(cfg, "layer_types", None) is not None:
        cfg.layer_types = [cfg.layer_types[i] for i in keep]
    if getattr(cfg, "max_window_layers", None) is not None:
        cfg.max_window_layers = min(cfg.max_window_layers, len(keep))
    log.info("depth pruning (%s): removed layers %s", method, sorted(drop))
    if hook:
        hook("prune_depth", 1, 1)
    return model


def prune(
    model,
    ratio: float,
    method: str = "activation",
    calib: Sequence[torch.Tensor] | None = None,
    mode: str = "width",
    hook: Hook | None = None,
    stats: dict | None = None,
):
    """Remove ``ratio`` of the non-embedding parameters by width (:func:`prune_width`) or depth
    (:func:`prune_depth`) pruning. Returns the same, now smaller, model."""
    ratio = _check_ratio("ratio", ratio)
    if mode == "width":
        return prune_width(model, ratio, method, calib, hook=hook, stats=stats)
    if mode == "depth":
        return prune_depth(model, ratio, method, calib, hook=hook, stats=stats)
    raise ValueError(f"mode must be 'width' or 'depth', got {mode!r}")
