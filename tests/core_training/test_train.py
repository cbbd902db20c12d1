"""The resumable training loop: schedule, deterministic batches, resume = uninterrupted run."""

from __future__ import annotations

import math

import pytest
import torch

from core_training.train import (
    BlockBatches,
    TrainOptions,
    latest_checkpoint,
    lr_factor,
    read_metrics,
    rewarm_cosine_schedule,
    train_loop,
)
from tests.core_training.tiny import tiny_model

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _blocks(n=10, length=16, vocab=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, vocab, (n, length), generator=g)


def test_lr_rewarms_then_redecays():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = rewarm_cosine_schedule(opt, total_steps=20, warmup_steps=5, min_lr_ratio=0.1)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0.0
    assert all(b > a for a, b in zip(lrs[:5], lrs[1:6]))  # re-warm: strictly increasing to the peak
    assert lrs[5] == pytest.approx(1.0)
    assert all(b < a for a, b in zip(lrs[5:], lrs[6:]))  # re-decay: strictly decreasing
    assert lrs[-1] == pytest.approx(0.1)
    assert lr_factor(12, 20, 5, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 7 / 14)))


def test_block_batches_are_a_function_of_the_step_and_cover_each_epoch():
    b = BlockBatches(_blocks(10), batch_size=5, seed=3)
    first = [b.indices(0), b.indices(1)]
    assert sorted(first[0] + first[1]) == list(range(10))
    again = BlockBatches(_blocks(10), batch_size=5, seed=3)
    assert again.indices(1) == first[1] and again.indices(0) == first[0]
    assert torch.equal(b(7)["input_ids"], again(7)["input_ids"])


def test_train_options_validate():
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainOptions(steps=3, warmup_steps=5)
    with pytest.raises(ValueError, match="lr"):
        TrainOptions(steps=3, lr=0)


def _run(tmp, steps, stop_at=None, kind="qwen2"):
    model = tiny_model(kind)
    opts = TrainOptions(steps=steps, lr=3e-3, warmup_steps=2, checkpoint_every=2, grad_accum=2, seed=5)
    batches = BlockBatches(_blocks(12), batch_size=2, seed=1)

    def hook(stage, done, total):
        if stop_at is not None and done == stop_at:
            raise KeyboardInterrupt  # a kill between two checkpoints

    return train_loop(model, batches, opts, tmp, hook=hook)


def test_resume_after_kill_gives_the_same_losses(tmp_path):
    full = _run(tmp_path / "full", 7)
    losses = [r["loss"] for r in full]
    assert len(losses) == 7 and losses[-1] < losses[0]
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "killed", 7, stop_at=5)  # last checkpoint at step 4
    assert latest_checkpoint(tmp_path / "killed" / "checkpoints").name == "step-0000004"
    assert len(read_metrics(tmp_path / "killed" / "metrics.jsonl")) == 5
    resumed = _run(tmp_path / "killed", 7)
    assert [r["step"] for r in resumed] == list(range(1, 8))
    assert [r["loss"] for r in resumed] == losses  # bit-identical trajectory
    assert [r["lr"] for r in resumed] == [r["lr"] for r in full]


def test_frozen_parameters_stay_put_and_nothing_to_train_is_an_error(tmp_path):
    model = tiny_model("llama")
    for n, p in model.named_parameters():
        p.requires_grad_("layers.1." in n)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_loop(model, BlockBatches(_blocks(4), 2), TrainOptions(steps=2, lr=1e-2), tmp_path / "a")
    after = dict(model.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed and all("layers.1." in n for n in changed)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="nothing to train"):
        train_loop(model, BlockBatches(_blocks(4), 2), TrainOptions(steps=1), tmp_path / "b")


class _Planted:
    """A pickle that runs code when unpickled (writes a marker file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_resume_never_runs_code_from_a_planted_checkpoint(tmp_path):
    _run(tmp_path / "run", 4)  # checkpoints at steps 2 and 4
    ckpt = latest_checkpoint(tmp_path / "run" / "checkpoints")
    marker = tmp_path / "marker"
    torch.save({"step": 4, "payload": _Planted(marker)}, ckpt / "state.pt")
    with pytest.raises(ValueError) as err:
        _run(tmp_path / "run", 6)  # resume from the planted step-0000004
    assert not marker.exists(), "unpickling the checkpoint ran code"
    msg = str(err.value)
    assert str(ckpt / "state.pt") in msg and "\n" not in msg
    # a file that is not a checkpoint at all: the same kind of one-line error
    (ckpt / "state.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="state.pt") as err:
        _run(tmp_path / "run", 6)
    assert "\n" not in str(err.value)


def test_metrics_lines_are_standard_json_even_when_the_loss_diverges(tmp_path):
    import json

    from core_training.train import append_metrics, truncate_metrics

    path = tmp_path / "metrics.jsonl"
    append_metrics(path, {"step": 1, "loss": 2.5})
    append_metrics(path, {"step": 2, "loss": float("nan"), "grad_norm": float("inf")})
    truncate_metrics(path, 2)

    def refuse(name):
        raise AssertionError(f"{name} in metrics.jsonl")

    lines = [json.loads(x, parse_constant=refuse) for x in path.read_text().splitlines()]
    assert lines[1] == {"step": 2, "loss": None, "grad_norm": None}
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
