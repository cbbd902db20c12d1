"""Block expansion: identical function at start, only new blocks learn, standard checkpoint."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from core_training.grow import expand_blocks, freeze_except_new_blocks, growth_plan, new_block_indices
from tests.core_training.tiny import TINY_KINDS, logits, random_ids, tiny_model

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_growth_plan():
    assert growth_plan(4, 2) == [0, 1, 1, 2, 3, 3]
    assert growth_plan(3, 2) == [0, 1, 1, 2]
    with pytest.raises(ValueError, match="every"):
        growth_plan(3, 0)


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_grown_model_gives_identical_logits(kind):
    model = tiny_model(kind, num_hidden_layers=4)
    ids = random_ids(model)
    grown, new = expand_blocks(model, every=2)
    assert new == [2, 5]
    assert grown.config.num_hidden_layers == 6 and len(grown.get_decoder().layers) == 6
    torch.testing.assert_close(logits(grown, ids), logits(model, ids), rtol=0, atol=1e-5)
    # new blocks are copies of their source with zeroed output projections
    layers = grown.get_decoder().layers
    assert torch.count_nonzero(layers[2].self_attn.o_proj.weight) == 0
    assert torch.count_nonzero(layers[2].mlp.down_proj.weight) == 0
    assert torch.equal(
        layers[2].self_attn.q_proj.weight, model.get_decoder().layers[1].self_attn.q_proj.weight
    )


def test_gemma3_layer_types_follow_the_source_layers(tmp_path):
    model = tiny_model("gemma3", num_hidden_layers=6)  # types: s s f s s f
    grown, new = expand_blocks(model, every=3)
    assert grown.config.layer_types == [
        "sliding_attention", "sliding_attention", "full_attention", "full_attention",
        "sliding_attention", "sliding_attention", "full_attention", "full_attention",
    ]  # fmt: skip
    assert [layer.self_attn.layer_idx for layer in grown.get_decoder().layers] == list(range(8))
    grown.save_pretrained(tmp_path)
    back = AutoModelForCausalLM.from_pretrained(str(tmp_path), attn_implementation="eager").eval()
    assert back.config.num_hidden_layers == 8 and back.config.layer_types == grown.config.layer_types
    assert new_block_indices(back) == new == [3, 7]
    ids = random_ids(model, seq=24)  # longer than the sliding window (16)
    torch.testing.assert_close(logits(back, ids), logits(model, ids), rtol=0, atol=1e-5)


def test_only_new_blocks_get_gradients():
    grown, new = expand_blocks(tiny_model("qwen2", num_hidden_layers=4), every=2)
    params = freeze_except_new_blocks(grown)
    grown.train()
    out = grown(input_ids=random_ids(grown), labels=random_ids(grown))
    out.loss.backward()
    trained = {n for n, p in grown.named_parameters() if p.grad is not None}
    assert trained and all(any(f"layers.{j}." in n for j in new) for n in trained)
    assert {id(p) for p in params} == {id(p) for n, p in grown.named_parameters() if p.requires_grad}
    # the zeroed output projections get a gradient, so the blocks start learning
    assert grown.get_decoder().layers[2].mlp.down_proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="no new blocks"):
        freeze_except_new_blocks(tiny_model("llama"))
