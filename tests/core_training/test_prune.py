"""Structured pruning gives smaller standard checkpoints of the requested size."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from core_training.evaluate import count_parameters
from core_training.prune import collect_activation_stats, prune, prune_depth, prune_width, width_plan
from tests.core_training.tiny import TINY_KINDS, logits, random_ids, save_and_reload, tiny_model


def _calib(model, n=3):
    return [random_ids(model, 1, 16, seed=10 + i) for i in range(n)]


def _per_channel(model):
    m = model.model.layers[0].mlp
    return m.gate_proj.in_features * 3 * len(model.model.layers)


@pytest.mark.parametrize("kind", TINY_KINDS)
@pytest.mark.parametrize("method", ["activation", "magnitude"])
def test_width_pruning_hits_target_and_reloads(kind, method, tmp_path):
    model = tiny_model(kind)
    base = count_parameters(model)["non_embedding"]
    heads, kv, head_dim = 4, 2, model.model.layers[0].self_attn.head_dim
    pruned = prune(copy.deepcopy(model), 0.5, method, _calib(model), mode="width")
    assert (
        pruned.config.num_attention_heads == 2 and pruned.config.num_key_value_heads == kv
    )  # 1 head per group
    assert pruned.config.head_dim == head_dim
    removed = base - count_parameters(pruned)["non_embedding"]
    assert 0.5 * base <= removed < 0.5 * base + _per_channel(model)
    attn = pruned.model.layers[0].self_attn
    assert attn.q_proj.out_features == 2 * head_dim and attn.k_proj.out_features == kv * head_dim
    assert pruned.model.layers[0].mlp.gate_proj.out_features == pruned.config.intermediate_size < 64
    ids = random_ids(model)
    reloaded = save_and_reload(pruned, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["head_dim"] == head_dim and cfg["num_attention_heads"] == 2 and cfg["intermediate_size"] < 64
    torch.testing.assert_close(logits(reloaded, ids), logits(pruned, ids), rtol=0, atol=1e-5)
    assert heads % kv == 0


def test_activation_pruning_removes_dead_channels_and_heads_exactly():
    model = tiny_model("qwen2")
    n_layers, k = len(model.model.layers), 10
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.up_proj.weight[:k] = 0  # k dead MLP channels (zero input to down_proj)
            layer.self_attn.o_proj.weight[:, 0:8] = 0  # head 0 (group 0) writes nothing
            layer.self_attn.o_proj.weight[:, 24:32] = 0  # head 3 (group 1) writes nothing
    ids = random_ids(model)
    ref = logits(model, ids)
    base = count_parameters(model)["non_embedding"]
    per_head = 2 * 32 * 8 + 8  # q rows + bias, o columns
    removed = 2 * per_head * n_layers + k * _per_channel(model)
    pruned = prune_width(copy.deepcopy(model), removed / base, "activation", _calib(model), heads_ratio=0.5)
    assert pruned.config.intermediate_size == 64 - k and pruned.config.num_attention_heads == 2
    assert base - count_parameters(pruned)["non_embedding"] == removed
    torch.testing.assert_close(logits(pruned, ids), ref, rtol=0, atol=1e-5)
    # magnitude only sees weights: the o_proj-dead heads still go (their o columns are zero)
    mag = prune_width(copy.deepcopy(model), removed / base, "magnitude", heads_ratio=0.5)
    assert mag.config.intermediate_size == 64 - k


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
def test_depth_pruning_drops_the_least_influential_layers(kind, tmp_path):
    model = tiny_model(kind, num_hidden_layers=4)
    with torch.no_grad():  # layer 1 becomes an identity: Block Influence 0
        for p in model.model.layers[1].mlp.down_proj.parameters():
            p.zero_()
        for p in model.model.layers[1].self_attn.o_proj.parameters():
            p.zero_()
    types = list(getattr(model.config, "layer_types", None) or [])
    ids = random_ids(model)
    ref = logits(model, ids)
    stats = collect_activation_stats(model, _calib(model))
    assert min(range(4), key=lambda i: stats["bi"][i]) == 1 and stats["bi"][1] < 1e-6
    pruned = prune_depth(copy.deepcopy(model), 1, "activation", stats=stats)
    assert pruned.config.num_hidden_layers == 3 and len(pruned.model.layers) == 3
    assert [layer.self_attn.layer_idx for layer in pruned.model.layers] == [0, 1, 2]
    if types:
        assert pruned.config.layer_types == [types[0], types[2], types[3]]
    torch.testing.assert_close(logits(pruned, ids), ref, rtol=0, atol=1e-4)
    reloaded = save_and_reload(pruned, tmp_path)
    torch.testing.assert_close(logits(reloaded, ids), ref, rtol=0, atol=1e-4)
    # generation with a cache still works on the renumbered layers
    out = reloaded.generate(ids[:1, :4], max_new_tokens=3, do_sample=False)
    assert out.shape == (1, 7)


def test_depth_ratio_and_magnitude():
    model = tiny_model("mistral", num_hidden_layers=5)
    pruned = prune(copy.deepcopy(model), 0.4, "magnitude", mode="depth")
    assert pruned.config.num_hidden_layers == 3


def test_shared_stats_prune_several_ratios_from_one_pass():
    model = tiny_model("llama")
    stats = collect_activation_stats(model, _calib(model))
    sizes = [
        count_parameters(prune(copy.deepcopy(model), r, "activation", stats=stats))["non_embedding"]
        for r in (0.2, 0.3, 0.4)
    ]
    assert sizes[0] > sizes[1] > sizes[2]


@pytest.mark.parametrize("ratio", [0, 1, -0.1, 1.5, "0.3", True])
def test_bad_ratio_raises(ratio):
    with pytest.raises(ValueError, match="ratio"):
        prune(tiny_model("llama"), ratio, "magnitude")


def test_bad_inputs_raise():
    model = tiny_model("llama")
    with pytest.raises(ValueError, match="method"):
        prune(model, 0.3, "random")
    with pytest.raises(ValueError, match="calib"):
        prune(model, 0.3, "activation")
    with pytest.raises(ValueError, match="mode"):
        prune(model, 0.3, "magnitude", mode="diagonal")
    with pytest.raises(ValueError, match="n_layers"):
        prune_depth(model, 3, "magnitude")
    with pytest.raises(ValueError, match="MLP"):
        width_plan(model, 0.99)
    bad = tiny_model("llama")
    bad.config.num_key_value_heads = 3
    with pytest.raises(ValueError, match="divisible"):
        prune_width(bad, 0.3, "magnitude")
