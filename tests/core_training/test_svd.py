"""Low-rank (plain / whitened SVD) compression: exactness at full rank, error, size, save/load."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoModelForCausalLM

from core_training.evaluate import count_parameters
from core_training.svd import (
    LowRankLinear,
    collect_grams,
    compress_svd,
    factorize_linear,
    is_svd_checkpoint,
    load_svd,
    merge_svd,
    rank_for_ratio,
    save_svd,
    weighted_error,
)
from tests.core_training.tiny import TINY_KINDS, logits, random_ids, tiny_model


def _calib(model, n=4):
    return [random_ids(model, 1, 24, seed=20 + i) for i in range(n)]


def _linears(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and ".layers." in n}


@pytest.mark.parametrize("method", ["plain", "whitened"])
def test_full_rank_factors_reproduce_the_model(method):
    model = tiny_model("qwen2")  # q/k/v biases
    ids = random_ids(model)
    ref = logits(model, ids)
    grams = collect_grams(model, _calib(model))
    for name, lin in _linears(model).items():
        full = min(lin.weight.shape)
        lr = factorize_linear(lin, full, method, grams[name])
        x = torch.randn(5, lin.in_features)
        torch.testing.assert_close(lr(x), lin(x), rtol=1e-4, atol=1e-5)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, lr)
    torch.testing.assert_close(logits(model, ids), ref, rtol=1e-4, atol=1e-4)


def test_whitened_beats_plain_on_activation_weighted_error():
    model = tiny_model("llama")
    grams = collect_grams(model, _calib(model))
    assert set(grams) == set(_linears(model))
    assert (
        grams["model.layers.0.self_attn.q_proj"] is grams["model.layers.0.self_attn.v_proj"]
    )  # shared input
    assert grams["model.layers.0.self_attn.q_proj"] is not grams["model.layers.1.self_attn.q_proj"]
    wins = 0
    for name, lin in _linears(model).items():
        k = max(1, min(lin.weight.shape) // 3)
        plain = weighted_error(factorize_linear(lin, k, "plain"), lin, grams[name])
        white = weighted_error(factorize_linear(lin, k, "whitened", grams[name]), lin, grams[name])
        assert white <= plain * (1 + 1e-6)
        wins += white < 0.9 * plain
    assert wins >= len(grams) // 2


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_compress_save_load_and_merge(kind, tmp_path):
    model = tiny_model(kind)
    base = count_parameters(model)["non_embedding"]
    ids = random_ids(model)
    c = compress_svd(copy.deepcopy(model), 0.4, "whitened", _calib(model))
    assert isinstance(c.model.layers[0].mlp.down_proj, LowRankLinear)
    removed = 1 - count_parameters(c)["non_embedding"] / base
    assert 0.4 <= removed < 0.5
    out = logits(c, ids)
    save_svd(c, tmp_path / "svd")
    assert is_svd_checkpoint(tmp_path / "svd")
    back = load_svd(tmp_path / "svd")
    torch.testing.assert_close(logits(back, ids), out, rtol=0, atol=1e-5)
    assert count_parameters(back) == count_parameters(c)
    merged = merge_svd(back)
    merged.save_pretrained(tmp_path / "dense")
    assert not is_svd_checkpoint(tmp_path / "dense")
    dense = AutoModelForCausalLM.from_pretrained(str(tmp_path / "dense")).eval()
    torch.testing.assert_close(logits(dense, ids), out, rtol=1e-4, atol=1e-4)


def test_rank_for_ratio():
    assert rank_for_ratio(64, 32, 0.25) == int(0.75 * 64 * 32 / 96)
    assert rank_for_ratio(8, 8, 0.99) == 1


def test_bad_inputs_raise(tmp_path):
    model = tiny_model("llama")
    for r in (0, 1.0, -0.5, 2):
        with pytest.raises(ValueError, match="ratio"):
            compress_svd(model, r)
    with pytest.raises(ValueError, match="method"):
        compress_svd(model, 0.3, "qr")
    with pytest.raises(ValueError, match="calib"):
        compress_svd(model, 0.3, "whitened")
    lin = model.model.layers[0].mlp.up_proj
    with pytest.raises(ValueError, match="rank"):
        factorize_linear(lin, 33)
    with pytest.raises(ValueError, match="gram"):
        factorize_linear(lin, 4, "whitened", torch.eye(5))
    with pytest.raises(ValueError, match="SVD factors"):
        save_svd(model, tmp_path / "x")
    model.save_pretrained(tmp_path / "plain")
    with pytest.raises(ValueError, match="not an SVD checkpoint"):
        load_svd(tmp_path / "plain")
