"""Low-rank (SVD) compression of the linear layers of a decoder-only transformer.

Every targeted ``nn.Linear(in, out)`` (attention and MLP projections by default) becomes
``LowRankLinear = nn.Sequential(Linear(in, k, bias=False), Linear(k, out, bias=...))`` with
``k`` chosen so the layer keeps ``1 - ratio`` of its parameters (``k(in + out) ≈ (1 - ratio)·in·out``).

- ``"plain"``: truncated SVD of ``W``: the best rank-k approximation in weight space.
- ``"whitened"`` (SVD-LLM): with ``C = XᵀX`` the Gram matrix of the layer's calibration
  inputs and ``S`` its Cholesky factor (``C = S Sᵀ``), take the SVD of ``W S``, truncate and
  map back with ``S⁻¹``. This minimises the *output* error ``‖(W − W')Xᵀ‖_F`` on the
  calibration data instead of the weight error.

Saving: :func:`save_svd` writes a normal ``save_pretrained`` directory (safetensors; the factor
weights are named ``<layer>.0.weight`` and ``<layer>.1.weight``/``.bias``) plus a config key
``llm4all_svd = {"format": 1, "ranks": {module name: k}}``. Plain ``from_pretrained`` cannot
rebuild the factors: load with :func:`load_svd` (or :func:`is_svd_checkpoint` to tell). To get a
checkpoint any tool can load, :func:`merge_svd` multiplies the factors back into dense layers
(same outputs, no size saving).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from asr._compat import ensure_torchaudio_importable
from asr.progress import Hook

ensure_torchaudio_importable()

import torch  # noqa: E402
from torch import nn  # noqa: E402

from .prune import _check_ratio, base_model, decoder_layers  # noqa: E402

log = logging.getLogger(__name__)

__all__ = [
    "LowRankLinear",
    "DEFAULT_TARGETS",
    "rank_for_ratio",
    "factorize_linear",
    "svd_decompose",
    "collect_grams",
    "compress_svd",
    "merge_svd",
    "save_svd",
    "load_svd",
    "is_svd_checkpoint",
    "weighted_error",
]

METHODS = ("plain", "whitened")
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CONFIG_KEY = "llm4all_svd"


class LowRankLinear(nn.Sequential):
    """``Linear(in, rank) → Linear(rank, out)``: a drop-in for an ``nn.Linear``."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool, device=None, dtype=None):
        super().__init__(
            nn.Linear(in_features, rank, bias=False, device=device, dtype=dtype),
            nn.Linear(rank, out_features, bias=bias, device=device, dtype=dtype),
        )
        self.in_features, self.out_features, self.rank = in_features, out_features, rank

    @property
    def weight(self) -> torch.Tensor:
        """The dense product ``B @ A`` (for inspection; not a parameter)."""
        return self[1].weight @ self[0].weight


def rank_for_ratio(out_features: int, in_features: int, ratio: float) -> int:
    """Rank keeping ``1 - ratio`` of a dense ``out × in`` layer's weights (at least 1)."""
    ratio = _check_ratio("ratio", ratio)
    return max(1, int(math.floor((1 - ratio) * out_features * in_features / (out_features + in_features))))


def _cholesky(gram: torch.Tensor, damp: float) -> torch.Tensor:
    c = gram.double()
    scale = c.diagonal().mean().clamp(min=1e-12)
    eye = torch.eye(c.shape[0], dtype=c.dtype, device=c.device)
    lam = damp
    for _ in range(12):
        s, info = torch.linalg.cholesky_ex(c + lam * scale * eye)
        if info.item() == 0:
            return s
        lam = max(lam * 10, 1e-10)
    raise RuntimeError("Gram matrix is not positive definite even with damping")


@torch.no_grad()
def svd_decompose(
    linear: nn.Linear, method: str = "plain", gram: torch.Tensor | None = None, damp: float = 1e-6
) -> dict:
    """The rank-independent part of :func:`factorize_linear`: ``{"u", "s", "vh", "chol"}`` (float64)
    with ``W = u diag(s) vh chol⁻¹`` (``chol`` is None for ``"plain"``). Truncating it to any
    rank is cheap, so one decomposition serves several ratios."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    w = linear.weight.data
    out_f, in_f = w.shape
    wd = w.double()
    chol = None
    if method == "whitened":
        if gram is None:
            raise ValueError("method='whitened' needs the input Gram matrix (gram)")
        if gram.shape != (in_f, in_f):
            raise ValueError(f"gram must be [{in_f}, {in_f}], got {list(gram.shape)}")
        chol = _cholesky(gram.to(w.device), damp)
        wd = wd @ chol
    u, s, vh = torch.linalg.svd(wd, full_matrices=False)
    return {"u": u, "s": s, "vh": vh, "chol": chol}


@torch.no_grad()
def factorize_linear(
    linear: nn.Linear,
    rank: int,
    method: str = "plain",
    gram: torch.Tensor | None = None,
    damp: float = 1e-6,
    decomposition: dict | None = None,
) -> LowRankLinear:
    """Factor one linear layer into a :class:`LowRankLinear` of ``rank``.

    Args:
        linear: the dense layer (weight ``[out, in]``).
        rank: kept rank, ``1 <= rank <= min(out, in)``.
        method: ``"plain"`` or ``"whitened"`` (needs ``gram`` = ``XᵀX``, ``[in, in]``).
        damp: ridge added to the Gram diagonal, relative to its mean, before the Cholesky.
        decomposition: a precomputed :func:`svd_decompose` of this layer with this method.

    Returns:
        a new module with the layer's dtype/device; at full rank it reproduces the layer.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    w = linear.weight.data
    out_f, in_f = w.shape
    if isinstance(rank, bool) or not 1 <= int(rank) <= min(out_f, in_f):
        raise ValueError(f"rank must be in [1, {min(out_f, in_f)}] for a {out_f}x{in_f} layer, got {rank!r}")
    d = decomposition or svd_decompose(linear, method, gram, damp)
    u, s, vh, chol = d["u"], d["s"], d["vh"], d["chol"]
    a = vh[:rank] * s[:rank, None].sqrt()
    if chol is not None:
        a = torch.linalg.solve_triangular(chol, a, upper=False, left=False)
    b = u[:, :rank] * s[:rank].sqrt()
    out = LowRankLinear(in_f, out_f, rank, linear.bias is not None, device=w.device, dtype=w.dtype)
    out[0].weight.copy_(a.to(w.dtype))
    out[1].weight.copy_(b.to(w.dtype))
    if linear.bias is not None:
        out[1].bias.copy_(linear.bias.data)
    return out


def _targets(model, names: Iterable[str]) -> dict[str, nn.Linear]:
    decoder_layers(model)  # validates the layout
    names = tuple(names)
    found = {
        n: m
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) and n.rsplit(".", 1)[-1] in names and ".layers." in f".{n}"
    }
    if not found:
        raise ValueError(f"no linear layer named {names} inside the decoder layers")
    return found


@torch.no_grad()
def collect_grams(
    model, calib: Sequence[torch.Tensor], targets: Iterable[str] = DEFAULT_TARGETS, hook: Hook | None = None
) -> dict[str, torch.Tensor]:
    """Input Gram matrices ``XᵀX`` (float64, ``[in, in]``) of the targeted linear layers over the
    calibration batches (``LongTensor [batch, seq]``). Layers sharing an input (q/k/v, gate/up)
    share one tensor."""
    if not calib:
        raise ValueError("calib must contain at least one batch of token ids")
    lins = _targets(model, targets)
    total: dict[str, torch.Tensor] = {}
    last: dict = {"x": None, "owner": None}
    handles = []

    def fn_for(name):
        def fn(_m, args):
            x = args[0]
            if x is last["x"]:  # same input as the previous layer (q/k/v, gate/up): share
                total.setdefault(name, total[last["owner"]])
                return
            xf = x.detach().reshape(-1, x.shape[-1]).double()
            g = xf.T @ xf
            last.update(x=x, owner=name)
            if name in total:
                total[name] += g
            else:
                total[name] = g

        return fn

    try:
        for n, m in lins.items():
            handles.append(m.register_forward_pre_hook(fn_for(n)))
        dev = next(model.parameters()).device
        for b, ids in enumerate(calib):
            ids = ids.to(dev)
            if ids.dim() == 1:
                ids = ids.unsqueeze(0)
            base_model(model)(input_ids=ids, use_cache=False)
            last.update(x=None, owner=None)
            if hook:
                hook("calibration", b + 1, len(calib))
    finally:
        for h in handles:
            h.remove()
    return total


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


@torch.no_grad()
def compress_svd(
    model,
    ratio: float,
    method: str = "plain",
    calib: Sequence[torch.Tensor] | None = None,
    hook: Hook | None = None,
    grams: dict[str, torch.Tensor] | None = None,
    targets: Iterable[str] = DEFAULT_TARGETS,
    damp: float = 1e-6,
    cache: dict | None = None,
):
    """Replace the targeted linear layers by low-rank factors keeping ``1 - ratio`` of their weights.

    Args:
        model: causal LM, modified in place.
        ratio: fraction of each targeted layer's parameters to remove, in (0, 1).
        method: ``"plain"`` or ``"whitened"`` (needs ``calib`` or ``grams``).
        calib: calibration batches ``LongTensor [batch, seq]``.
        hook: progress, ``hook(step, done, total)``.
        grams: precomputed :func:`collect_grams` of this (uncompressed) model.
        targets: short names of the linear layers to factor.
        cache: a dict kept between calls on copies of the *same* model: decompositions are stored
            under ``(module name, method)`` and reused, so several ratios cost one SVD per layer.

    Returns:
        the same model with :class:`LowRankLinear` modules and ``config.llm4all_svd`` set.
    """
    ratio = _check_ratio("ratio", ratio)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    lins = _targets(model, targets)
    if method == "whitened" and grams is None:
        if not calib:
            raise ValueError("method='whitened' needs calib (calibration batches) or grams")
        grams = collect_grams(model, calib, targets, hook)
    ranks = dict(getattr(model.config, CONFIG_KEY, None) or {}).get("ranks", {})
    for i, (name, lin) in enumerate(lins.items()):
        k = rank_for_ratio(lin.out_features, lin.in_features, ratio)
        g = grams.get(name) if grams is not None else None
        if method == "whitened" and g is None:
            raise ValueError(f"no Gram matrix for {name}")
        dec = None
        if cache is not None:
            dec = cache.get((name, method))
            if dec is None:
                dec = cache[(name, method)] = svd_decompose(lin, method, g, damp)
        _set_module(model, name, factorize_linear(lin, k, method, g, damp, decomposition=dec))
        ranks[name] = k
        if hook:
            hook("svd", i + 1, len(lins))
    setattr(model.config, CONFIG_KEY, {"format": 1, "method": method, "ratio": ratio, "ranks": ranks})
    log.info("SVD (%s) at ratio %.2f: %d layers factored", method, ratio, len(lins))
    return model


@torch.no_grad()
def merge_svd(model):
    """Multiply every :class:`LowRankLinear` back into a dense ``nn.Linear`` (same outputs); the
    model then saves and loads as a standard checkpoint. Returns the same model."""
    for name, mod in list(model.named_modules()):
        if isinstance(mod, LowRankLinear):
            a, b = mod[0], mod[1]
            lin = nn.Linear(
                mod.in_features,
                mod.out_features,
                bias=b.bias is not None,
                device=b.weight.device,
                dtype=b.weight.dtype,
            )
            lin.weight.copy_(b.weight @ a.weight)
            if b.bias is not None:
                lin.bias.copy_(b.bias)
            _set_module(model, name, lin)
    if hasattr(model.config, CONFIG_KEY):
        delattr(model.config, CONFIG_KEY)
    return model


def save_svd(model, directory: str | os.PathLike, tokenizer=None) -> Path:
    """Save an SVD-compressed model (``save_pretrained`` + ``config.llm4all_svd``) and, if given,
    its tokenizer. Load it back with :func:`load_svd`."""
    directory = Path(directory)
    if not getattr(model.config, CONFIG_KEY, None):
        raise ValueError("model has no SVD factors (config.llm4all_svd missing); use save_pretrained")
    model.save_pretrained(directory)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    return directory


def is_svd_checkpoint(directory: str | os.PathLike) -> bool:
    """True when ``directory/config.json`` carries ``llm4all_svd`` (needs :func:`load_svd`)."""
    p = Path(directory) / "config.json"
    try:
        return bool(json.loads(p.read_text()).get(CONFIG_KEY))
    except (OSError, ValueError):
        return False


def _state_dict_files(directory: Path) -> list[Path]:
    index = directory / "model.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [directory / f for f in files]
    single = directory / "model.safetensors"
    if single.exists():
        return [single]
    raise ValueError(f"no safetensors weights in {directory}")


def load_svd(directory: str | os.PathLike, dtype: str = "float32", device: str = "cpu"):
    """Load a model saved by :func:`save_svd`: build the architecture from its config, swap in
    :class:`LowRankLinear` shells of the saved ranks, load the weights (strictly, apart from an
    output head tied to the input embedding).

    Raises:
        ValueError: a directory without ``config.json`` / ``llm4all_svd`` / weights.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    directory = Path(directory)
    if not (directory / "config.json").exists():
        raise ValueError(f"{directory}: not a model directory (no config.json)")
    config = AutoConfig.from_pretrained(directory)
    meta = getattr(config, CONFIG_KEY, None)
    if not meta or "ranks" not in meta:
        raise ValueError(
            f"{directory}: not an SVD checkpoint (no {CONFIG_KEY} in config.json); use from_pretrained"
        )
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    for name, k in meta["ranks"].items():
        lin = model.get_submodule(name)
        _set_module(
            model,
            name,
            LowRankLinear(
                lin.in_features, lin.out_features, int(k), lin.bias is not None, dtype=lin.weight.dtype
            ),
        )
    state: dict[str, torch.Tensor] = {}
    for f in _state_dict_files(directory):
        state.update(load_file(str(f)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = getattr(config, "tie_word_embeddings", False)
    missing = [k for k in missing if not (tied and k.endswith("lm_head.weight"))]
    if missing or unexpected:
        raise ValueError(
            f"{directory}: weights do not match the SVD config (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    if tied:
        model.tie_weights()
    return model.to(device).eval()


@torch.no_grad()
def weighted_error(linear_or_factors: nn.Module, reference: nn.Linear, gram: torch.Tensor) -> float:
    """Activation-weighted error ``‖(W − W')Xᵀ‖_F² = tr((W − W') C (W − W')ᵀ)`` with ``C = XᵀX``."""
    w = reference.weight.double()
    w2 = linear_or_factors.weight.double()
    d = w - w2
    return float(torch.einsum("oi,ij,oj->", d, gram.double().to(d.device), d))
