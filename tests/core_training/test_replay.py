"""Replay mixing for continued pretraining: the ratio is honoured, batches are deterministic."""

from __future__ import annotations

import pytest
import torch

from core_training.replay import MixedBatches, replay_plan

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _blocks(n, start, length=8):
    # every row starts with a distinct marker so a batch row can be traced back to its source
    rows = torch.arange(start, start + n).unsqueeze(1).repeat(1, length)
    return rows


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.25, 0.5])
def test_replay_ratio_is_honoured_over_the_run(ratio):
    new, old = _blocks(30, 0), _blocks(20, 1000)
    mix = MixedBatches(new, old, batch_size=4, total_batches=50, replay_ratio=ratio, seed=2)
    rows = torch.cat([mix(i)["input_ids"] for i in range(50)])
    n_replay = int((rows[:, 0] >= 1000).sum())
    assert n_replay == round(ratio * 200)
    assert sum(mix(i)["n_replay"] for i in range(50)) == n_replay
    # replay blocks are spread over the run, not bunched at one end
    if ratio >= 0.25:
        first_half = int((rows[:100, 0] >= 1000).sum())
        assert 0.25 * n_replay < first_half < 0.75 * n_replay


def test_each_source_is_visited_fully_before_repeating():
    new, old = _blocks(10, 0), _blocks(10, 1000)
    mix = MixedBatches(new, old, batch_size=2, total_batches=10, replay_ratio=0.5, seed=0)
    rows = torch.cat([mix(i)["input_ids"] for i in range(10)])[:, 0]
    assert sorted(rows[rows < 1000].tolist()) == list(range(10))
    assert sorted(rows[rows >= 1000].tolist()) == list(range(1000, 1010))


def test_mixed_batches_are_a_pure_function_of_the_index():
    new, old = _blocks(7, 0), _blocks(5, 1000)
    a = MixedBatches(new, old, batch_size=3, total_batches=9, replay_ratio=0.3, seed=4)
    b = MixedBatches(new, old, batch_size=3, total_batches=9, replay_ratio=0.3, seed=4)
    seq = [a(i)["input_ids"] for i in range(12)]  # past the planned batches too
    assert all(torch.equal(b(i)["input_ids"], seq[i]) for i in reversed(range(12)))


def test_bad_inputs():
    with pytest.raises(ValueError, match="replay_ratio"):
        replay_plan(10, 1.0)
    with pytest.raises(ValueError, match="replay_blocks"):
        MixedBatches(_blocks(3, 0), None, 2, 2, 0.1)
    with pytest.raises(ValueError, match="block sizes"):
        MixedBatches(_blocks(3, 0), _blocks(3, 10, length=4), 2, 2, 0.1)
