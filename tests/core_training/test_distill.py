"""Distillation losses, layer mapping for depth-pruned students, and a short distillation run."""

from __future__ import annotations

import pytest
import torch

from core_training.distill import (
    DistillLoss,
    HiddenProjector,
    check_vocab,
    hidden_loss,
    kd_loss,
    layer_mapping,
)
from core_training.train import BlockBatches, TrainOptions, train_loop
from tests.core_training.tiny import random_ids, tiny_model

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_kd_loss_is_zero_for_identical_logits_and_positive_otherwise():
    t = torch.randn(2, 5, 50)
    for temp in (0.5, 1.0, 2.0, 4.0):
        assert kd_loss(t, t.clone(), temp).item() == pytest.approx(0.0, abs=1e-6)
        assert kd_loss(t + 3.0, t, temp).item() == pytest.approx(0.0, abs=1e-5)  # shift-invariant
        assert kd_loss(torch.randn(2, 5, 50), t, temp).item() > 0


def test_kd_loss_is_forward_kl_scaled_by_t_squared():
    s, t = torch.randn(3, 7), torch.randn(3, 7)
    T = 2.0
    pt = torch.softmax(t / T, -1)
    expected = (pt * (pt.log() - torch.log_softmax(s / T, -1))).sum(-1).mean() * T**2
    assert kd_loss(s, t, T).item() == pytest.approx(expected.item(), rel=1e-5)
    mask = torch.tensor([1, 0, 1])
    sub = kd_loss(s[[0, 2]], t[[0, 2]], T)
    assert kd_loss(s, t, T, mask).item() == pytest.approx(sub.item(), rel=1e-5)


def test_teacher_equals_student_gives_zero_loss():
    teacher = tiny_model("qwen2")
    loss_fn = DistillLoss(teacher, teacher, temperature=2.0, alpha_hidden=1.0)
    loss, metrics = loss_fn(teacher, {"input_ids": random_ids(teacher)})
    assert loss.item() == pytest.approx(0.0, abs=1e-5)
    assert metrics["kd"] == pytest.approx(0.0, abs=1e-5) and metrics["hidden"] == pytest.approx(0.0, abs=1e-6)


def test_layer_mapping_follows_kept_layers_of_a_depth_pruned_student():
    # teacher 6 layers, student kept 0, 2, 3 -> outputs 1, 3, and final 3 -> final 6
    assert layer_mapping(3, 6, kept_layers=[0, 2, 3]) == [(1, 1), (2, 3), (3, 6)]
    assert layer_mapping(3, 6) == [(1, 2), (2, 4), (3, 6)]  # evenly spaced
    assert layer_mapping(4, 4) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    with pytest.raises(ValueError, match="kept_layers"):
        layer_mapping(2, 6, kept_layers=[3, 1])


def test_hidden_loss_with_a_projection_for_a_narrower_student():
    hs = [torch.randn(2, 4, 8) for _ in range(3)]
    ht = [torch.randn(2, 4, 16) for _ in range(5)]
    with pytest.raises(ValueError, match="HiddenProjector"):
        hidden_loss(hs, ht, [(1, 2), (2, 4)])
    proj = HiddenProjector(8, 16, 2)
    loss = hidden_loss(hs, ht, [(1, 2), (2, 4)], proj)
    loss.backward()
    assert loss.item() > 0 and all(p.grad is not None for p in proj.parameters())


def test_vocab_mismatch_is_refused():
    with pytest.raises(ValueError, match="vocabulary"):
        check_vocab(tiny_model("llama", vocab_size=64), tiny_model("llama", vocab_size=128))


@pytest.mark.parametrize("hidden", [0.0, 1.0])
def test_distillation_reduces_the_loss_of_a_shallower_student(tmp_path, hidden):
    teacher = tiny_model("llama", seed=0, num_hidden_layers=4)
    student = tiny_model("llama", seed=7, num_hidden_layers=2)
    student.config.kept_layers = [0, 2]  # as a depth-pruning step records it
    loss_fn = DistillLoss(teacher, student, temperature=2.0, alpha_hidden=hidden)
    assert loss_fn.pairs in (None, [(1, 1), (2, 4)])
    blocks = torch.randint(3, 128, (8, 16), generator=torch.Generator().manual_seed(0))
    records = train_loop(
        student,
        BlockBatches(blocks, 4),
        TrainOptions(steps=30, lr=1e-2, warmup_steps=3),
        tmp_path,
        loss_fn=loss_fn,
        extra_modules={"projector": loss_fn.projector} if loss_fn.projector is not None else None,
    )
    kd = [r["kd"] for r in records]
    assert sum(kd[-5:]) / 5 < 0.6 * sum(kd[:5]) / 5
    assert all(not p.requires_grad for p in teacher.parameters())
