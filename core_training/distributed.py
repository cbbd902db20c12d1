"""Training past one process: ``torchrun`` / DDP helpers for the training loop and the recipes.

The recipes run unchanged under ``torchrun`` (``python -m torch.distributed.run``)::

    torchrun --nproc_per_node 2 -m apps.cli continue-pretrain --config core_training/configs/continue_pretrain.yaml

:func:`init_from_env` reads the variables torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) and starts the process group (``gloo``: the
loop trains on CPU tensors); without them (a plain ``python`` or ``llm4all`` run) everything here
is a no-op and the world has one process. The rules every rank follows:

- every rank builds the same global micro-batch ``batches(i)`` (a pure function of ``i``) and
  keeps its own contiguous slice of rows (:func:`shard_batch`): ``batch_size`` stays the *global*
  micro-batch, so a config gives the same trajectory on 1 or N processes;
- gradients are averaged by :class:`torch.nn.parallel.DistributedDataParallel` (one all-reduce
  per optimizer step: the micro-batches of a gradient-accumulation step run under ``no_sync``);
- only rank 0 (:func:`is_main`) writes: checkpoints, ``metrics.jsonl``, the resolved config, the
  model and the summary; the run directory must be on a file system every rank sees (resume
  loads the checkpoint rank 0 names on every rank).

The helpers never start a process group themselves except :func:`init_from_env`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "init_from_env",
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "barrier",
    "broadcast_object",
    "on_main",
    "main_process_first",
    "shard_batch",
    "all_reduce_sum",
]


def _dist():
    import torch.distributed as dist

    return dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    dist = _dist()
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process' rank (0 when not distributed)."""
    return _dist().get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return _dist().get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on the process that writes files and shows progress (rank 0, or the only one).

    Before the process group is started (e.g. in the CLI, to choose whether to show progress
    bars), the ``RANK`` variable set by torchrun decides.
    """
    if is_distributed():
        return rank() == 0
    return int(os.environ.get("RANK", "0") or 0) == 0


def init_from_env(backend: str | None = None) -> bool:
    """Start the default process group from torchrun's environment, once.

    Args:
        backend: ``gloo`` by default (CPU tensors); ``$LLM4ALL_DIST_BACKEND`` overrides it.

    Returns:
        True when this process is part of a group of more than one process.

    Raises:
        RuntimeError: ``WORLD_SIZE`` > 1 but the group could not be started (the cause chained).
    """
    dist = _dist()
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        return False
    backend = backend or os.environ.get("LLM4ALL_DIST_BACKEND") or "gloo"
    try:
        dist.init_process_group(backend=backend)
    except Exception as e:  # bad address, port taken, peers that never come...
        raise RuntimeError(f"could not start the process group ({backend}): {e}") from e
    atexit.register(_shutdown)
    log.info("process group: rank %d of %d (%s)", dist.get_rank(), dist.get_world_size(), backend)
    return dist.get_world_size() > 1


def _shutdown() -> None:
    dist = _dist()
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        _dist().barrier()


def broadcast_object(obj: T, src: int = 0) -> T:
    """``obj`` of rank ``src`` on every rank (picklable; returned as is when not distributed)."""
    if not is_distributed():
        return obj
    box = [obj]
    _dist().broadcast_object_list(box, src=src)
    return box[0]


def on_main(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and give its result to every rank.

    An exception on rank 0 is raised on every rank (``ValueError`` stays ``ValueError``, anything
    else becomes ``RuntimeError`` with rank 0's message), so no rank waits forever for the others.
    """
    if not is_distributed():
        return fn()
    outcome: tuple[str, Any] = ("ok", None)
    error: BaseException | None = None
    if rank() == 0:
        try:
            outcome = ("ok", fn())
        except Exception as e:
            error = e
            outcome = ("value" if isinstance(e, ValueError) else "error", str(e))
    kind, value = broadcast_object(outcome)
    if error is not None:
        raise error
    if kind == "value":
        raise ValueError(value)
    if kind == "error":
        raise RuntimeError(f"rank 0: {value}")
    return value


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Rank 0 runs the block first (building a cache), the others after it (reading it)."""
    if not is_distributed():
        yield
        return
    if rank() != 0:
        barrier()
    yield
    if rank() == 0:
        barrier()


def shard_batch(batch: dict, rank_: int | None = None, world: int | None = None) -> dict:
    """This rank's contiguous slice of the rows of a global batch.

    Every tensor whose first dimension is the batch size (that of ``batch["input_ids"]``) is
    sliced to rows ``[r * b, (r + 1) * b)`` with ``b = batch_size / world``; other values (counts,
    scalars) are kept as they are.

    Raises:
        ValueError: the batch size is not a multiple of the number of processes.
    """
    import torch

    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    if world == 1:
        return batch
    n = int(batch["input_ids"].shape[0])
    if n % world:
        raise ValueError(
            f"batch_size ({n}) must be a multiple of the number of processes ({world}): "
            "it is the global micro-batch, split evenly between the processes"
        )
    b = n // world
    return {
        k: v[rank_ * b : (rank_ + 1) * b]
        if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == n
        else v
        for k, v in batch.items()
    }


def all_reduce_sum(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (float64; returned as is when not distributed)."""
    if not is_distributed():
        return list(values)
    import torch

    t = torch.tensor(values, dtype=torch.float64)
    _dist().all_reduce(t)
    return t.tolist()
