"""LoRA through PEFT: only adapters train, merging preserves outputs, merged dirs load plainly."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from core_training.lora import add_lora, lora_targets, merge_lora, save_merged
from core_training.train import BlockBatches, TrainOptions, train_loop
from tests.core_training.tiny import logits, random_ids, tiny_model

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_targets_and_bad_targets():
    model = tiny_model("qwen2")
    assert lora_targets(model) == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    with pytest.raises(ValueError, match="target_modules"):
        add_lora(model, target_modules=["nope"])
    with pytest.raises(ValueError, match="r must"):
        add_lora(tiny_model("qwen2"), r=0)


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_trained_lora_merges_into_an_equivalent_plain_checkpoint(tmp_path, kind):
    base = tiny_model(kind)
    ids = random_ids(base)
    before = logits(base, ids)
    model = add_lora(base, r=4, alpha=8)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    blocks = torch.randint(3, 128, (4, 16), generator=torch.Generator().manual_seed(0))
    train_loop(model, BlockBatches(blocks, 2), TrainOptions(steps=4, lr=1e-2), tmp_path / "run")
    unmerged = logits(model, ids)
    assert (unmerged - before).abs().max() > 1e-3  # the adapters learned something
    merged = merge_lora(model)
    assert type(merged).__name__.endswith("ForCausalLM") and not hasattr(merged, "peft_config")
    torch.testing.assert_close(logits(merged, ids), unmerged, rtol=1e-4, atol=1e-4)
    save_merged(merged, None, tmp_path / "merged")
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    back = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"), attn_implementation="eager").eval()
    assert not any("lora" in n for n, _ in back.named_parameters())
    torch.testing.assert_close(logits(back, ids), unmerged, rtol=1e-4, atol=1e-4)
