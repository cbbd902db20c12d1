"""Replay for continued pretraining: mix old-domain blocks into the new-domain stream.

Continued pretraining on a new domain (French dialogue) makes a model forget its old domain;
replaying a fraction of old-domain text (Ibrahim et al. 2024, "Simple and Scalable Strategies
to Continually Pre-train LLMs") together with a re-warmed and re-decayed learning rate
(:func:`core_training.train.rewarm_cosine_schedule`) limits the loss. :class:`MixedBatches`
draws batches whose replay share is exactly the requested ratio over the run, deterministically
in the step so a resumed run sees the same data.
"""

from __future__ import annotations

import logging

import torch

from core_training.train import lr_factor, rewarm_cosine_schedule

log = logging.getLogger(__name__)

__all__ = ["MixedBatches", "replay_plan", "rewarm_cosine_schedule", "lr_factor"]


def replay_plan(n_items: int, replay_ratio: float, seed: int = 0) -> torch.BoolTensor:
    """Which of ``n_items`` stream positions hold a replay block.

    Exactly ``round(replay_ratio * n_items)`` positions are True, spread at random (seeded).
    """
    if not 0.0 <= replay_ratio < 1.0:
        raise ValueError(f"replay_ratio must be in [0, 1), got {replay_ratio}")
    n_replay = round(replay_ratio * n_items)
    g = torch.Generator().manual_seed(seed)
    plan = torch.zeros(n_items, dtype=torch.bool)
    plan[torch.randperm(n_items, generator=g)[:n_replay]] = True
    return plan


class MixedBatches:
    """Deterministic batches mixing new-domain and replay blocks.

    The run's ``total_batches * batch_size`` block slots are split by :func:`replay_plan`; the
    new-domain slots walk through ``new_blocks`` and the replay slots through ``replay_blocks``,
    each in its own per-epoch permutation. Batch ``i`` is a pure function of ``i``.

    Args:
        new_blocks, replay_blocks: ``LongTensor[n, block_size]`` (same block size; replay may be
            None when ``replay_ratio`` is 0).
        batch_size: blocks per batch.
        total_batches: batches the run will draw (the plan covers them; later batches reuse it).
        replay_ratio: share of replay blocks over the run, in [0, 1).
        seed: seeds the plan and the permutations.
    """

    def __init__(
        self,
        new_blocks: torch.Tensor,
        replay_blocks: torch.Tensor | None,
        batch_size: int,
        total_batches: int,
        replay_ratio: float,
        seed: int = 0,
    ):
        if batch_size < 1 or total_batches < 1:
            raise ValueError(f"batch_size and total_batches must be >= 1, got {batch_size}, {total_batches}")
        if new_blocks.dim() != 2 or new_blocks.shape[0] == 0:
            raise ValueError("new_blocks must be a non-empty [n, block_size] tensor")
        if replay_ratio > 0:
            if replay_blocks is None or replay_blocks.dim() != 2 or replay_blocks.shape[0] == 0:
                raise ValueError("replay_ratio > 0 needs a non-empty [n, block_size] replay_blocks tensor")
            if replay_blocks.shape[1] != new_blocks.shape[1]:
                raise ValueError(
                    f"block sizes differ: new {new_blocks.shape[1]}, replay {replay_blocks.shape[1]}"
                )
        self.new, self.replay = new_blocks, replay_blocks
        self.batch_size = batch_size
        self.seed = seed
        self.replay_ratio = replay_ratio
        n = total_batches * batch_size
        self.plan = replay_plan(n, replay_ratio, seed)
        # rank of each slot among the slots of its own source
        is_r = self.plan.long()
        self._rank = torch.where(self.plan, is_r.cumsum(0) - 1, (1 - is_r).cumsum(0) - 1)
        self._perm_cache: dict[tuple[str, int], torch.Tensor] = {}

    def _pick(self, source: str, k: int) -> int:
        blocks = self.replay if source == "replay" else self.new
        n = blocks.shape[0]
        epoch = k // n
        key = (source, epoch)
        if key not in self._perm_cache:
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch * 2 + (source == "replay"))
            self._perm_cache = {kk: v for kk, v in self._perm_cache.items() if kk[0] != source}
            self._perm_cache[key] = torch.randperm(n, generator=g)
        return int(self._perm_cache[key][k % n])

    def sources(self, i: int) -> list[str]:
        """``"new"`` or ``"replay"`` for each block of batch ``i``."""
        n = self.plan.numel()
        return [
            "replay" if self.plan[s % n] else "new"
            for s in range(i * self.batch_size, (i + 1) * self.batch_size)
        ]

    def __call__(self, i: int) -> dict:
        """``{"input_ids": LongTensor[batch_size, block_size], "n_replay": int}`` for batch ``i``."""
        n = self.plan.numel()
        rows = []
        n_replay = 0
        for s in range(i * self.batch_size, (i + 1) * self.batch_size):
            slot = s % n
            lap = s // n
            src = "replay" if self.plan[slot] else "new"
            per_lap = int(self.plan.sum()) if src == "replay" else n - int(self.plan.sum())
            k = lap * per_lap + int(self._rank[slot])
            blocks = self.replay if src == "replay" else self.new
            rows.append(blocks[self._pick(src, k)])
            n_replay += src == "replay"
        return {"input_ids": torch.stack(rows), "n_replay": n_replay}
