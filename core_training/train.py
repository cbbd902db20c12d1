"""A small, resumable training loop shared by the training recipes.

The loop is deliberately plain: AdamW over the parameters that require a gradient, a
warm-up + cosine learning-rate schedule (:func:`rewarm_cosine_schedule`), gradient clipping,
gradient accumulation, and atomic checkpoints of everything a resumed run needs to follow the
same trajectory as an uninterrupted one:

- the trainable parameters (``trainable.safetensors``; frozen weights are rebuilt by the caller,
  which is cheap and keeps a Gemma checkpoint from weighing 3 GB per step),
- the optimizer and scheduler states,
- the Python / NumPy / torch RNG states,
- the data position: batches are a pure function of the step (:class:`BlockBatches`), so the
  step number is the data position.

A checkpoint is written into a temporary directory, renamed to ``step-0000123`` and only then
named in the ``latest`` file (itself replaced atomically), so a kill at any moment leaves the
previous checkpoint usable. ``metrics.jsonl`` gets one JSON line per step; a resumed run first
drops the lines past its checkpoint so the file reads like one uninterrupted run.

Under ``torchrun`` (see :mod:`core_training.distributed`) the same loop trains data-parallel:
each rank takes its slice of every global micro-batch, DistributedDataParallel averages the
gradients, the logged loss / metrics are the means over the ranks (tokens: their sum), and only
rank 0 writes checkpoints and ``metrics.jsonl``. A config gives the same trajectory on 1 or N
processes (up to float rounding: measured within 1e-6 relative on the tiny test models).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asr.progress import Hook
from asr.transcript import json_dumps_strict
from core_training import distributed

log = logging.getLogger(__name__)

LossFn = Callable[[torch.nn.Module, dict], "tuple[torch.Tensor, dict]"]

LATEST = "latest"
TRAINABLE_FILE = "trainable.safetensors"
STATE_FILE = "state.pt"


@dataclass(frozen=True)
class TrainOptions:
    """Options of :func:`train_loop`.

    Args:
        steps: optimizer steps in the whole run (resumed runs included).
        lr: peak learning rate, reached after ``warmup_steps``.
        warmup_steps: linear re-warm from ``lr * warmup_start_ratio`` to ``lr``.
        min_lr_ratio: the cosine decay ends at ``lr * min_lr_ratio`` on the last step.
        warmup_start_ratio: learning rate of step 0 as a fraction of ``lr``.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        max_grad_norm: clip the global gradient norm to this (0 disables clipping).
        grad_accum: micro-batches summed into one optimizer step.
        checkpoint_every: write a checkpoint every this many steps (and at the end); 0 = only at the end.
        keep_checkpoints: how many step checkpoints to keep on disk.
        seed: seeds the RNGs at the start of a fresh run.
    """

    steps: int
    lr: float = 1e-4
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    warmup_start_ratio: float = 0.0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.95)
    max_grad_norm: float = 1.0
    grad_accum: int = 1
    checkpoint_every: int = 50
    keep_checkpoints: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"warmup_steps must be in [0, steps={self.steps}], got {self.warmup_steps}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not 0 <= self.warmup_start_ratio <= 1:
            raise ValueError(f"warmup_start_ratio must be in [0, 1], got {self.warmup_start_ratio}")
        if self.grad_accum < 1:
            raise ValueError(f"grad_accum must be >= 1, got {self.grad_accum}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")


# --------------------------------------------------------------------------- schedule


def lr_factor(step: int, total: int, warmup: int, min_ratio: float = 0.1, start_ratio: float = 0.0) -> float:
    """Learning-rate multiplier of ``step`` (0-based) for a re-warm then cosine re-decay.

    Linear from ``start_ratio`` (step 0) to 1 over ``warmup`` steps, then cosine from 1 down to
    ``min_ratio`` at the last step (``total - 1``). This is the schedule continued pretraining
    needs: the learning rate of a converged checkpoint is re-warmed to a peak and decayed again.
    """
    if warmup > 0 and step < warmup:
        return start_ratio + (1.0 - start_ratio) * step / warmup
    span = max(1, total - 1 - warmup)
    t = min(1.0, max(0.0, (step - warmup) / span))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def rewarm_cosine_schedule(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int,
    min_lr_ratio: float = 0.1,
    warmup_start_ratio: float = 0.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor` (re-warm, then cosine re-decay)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_factor(s, total_steps, warmup_steps, min_lr_ratio, warmup_start_ratio),
    )


# --------------------------------------------------------------------------- data


class BlockBatches:
    """Deterministic batches of token blocks, a pure function of the step.

    Each epoch visits the blocks in a fresh permutation drawn from ``seed + epoch``; batch
    ``step`` holds blocks ``[step * batch_size, (step + 1) * batch_size)`` of that stream. So a
    resumed run only needs the step number to continue on exactly the same data.

    Args:
        blocks: ``LongTensor[n, block_size]``.
        batch_size: blocks per batch.
        seed: permutation seed.
        shuffle: visit the blocks in a random order (else in order).
    """

    def __init__(self, blocks: torch.Tensor, batch_size: int, seed: int = 0, shuffle: bool = True):
        if blocks.dim() != 2 or blocks.shape[0] == 0:
            raise ValueError(
                f"blocks must be a non-empty [n, block_size] tensor, got shape {tuple(blocks.shape)}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.blocks = blocks
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self._perms: dict[int, torch.Tensor] = {}

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            n = self.blocks.shape[0]
            if self.shuffle:
                g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
                self._perms = {epoch: torch.randperm(n, generator=g)}
            else:
                self._perms = {epoch: torch.arange(n)}
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        """Block indices of batch ``step``."""
        n = self.blocks.shape[0]
        out = []
        for k in range(step * self.batch_size, (step + 1) * self.batch_size):
            out.append(int(self._order(k // n)[k % n]))
        return out

    def __call__(self, step: int) -> dict:
        """``{"input_ids": LongTensor[batch_size, block_size]}`` for ``step``."""
        return {"input_ids": self.blocks[self.indices(step)]}


# --------------------------------------------------------------------------- losses


def causal_lm_loss(model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
    """Mean next-token cross-entropy of ``model`` on ``batch["input_ids"]`` (labels = inputs)."""
    ids = batch["input_ids"]
    out = model(input_ids=ids, attention_mask=batch.get("attention_mask"), use_cache=False)
    logits = out.logits[:, :-1].float()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    return loss, {}


# --------------------------------------------------------------------------- checkpoints


def trainable_parameters(
    model: torch.nn.Module, extra_modules: dict[str, torch.nn.Module] | None = None
) -> dict[str, torch.nn.Parameter]:
    """The parameters that require a gradient, by name (tied weights once); those of
    ``extra_modules`` (e.g. distillation projections) are named ``extra.<key>.<name>``."""
    out = {n: p for n, p in model.named_parameters() if p.requires_grad}
    for key, mod in (extra_modules or {}).items():
        out.update({f"extra.{key}.{n}": p for n, p in mod.named_parameters() if p.requires_grad})
    return out


def _rng_state() -> dict:
    """The Python / NumPy / torch RNG states as tensors and plain types (``weights_only`` loadable)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }


def _set_rng_state(state: dict) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["name"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])


_STATE_KEYS = ("step", "optimizer", "scheduler", "rng", "extra")


def _read_state(path: Path) -> dict:
    """``state.pt`` loaded with ``weights_only=True`` (tensors and plain types only: a pickle that
    would run code is refused, never executed); ``ValueError`` naming the file otherwise."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise ValueError(f"{path}: checkpoint state missing") from e
    except Exception as e:  # UnpicklingError, RuntimeError (not a zip/pickle), EOFError...
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise ValueError(
            f"{path}: not a training checkpoint that can be loaded safely (tensors and plain types "
            f"only; {type(e).__name__}: {first}); delete this checkpoint or start the run again"
        ) from e
    if not isinstance(state, dict) or any(k not in state for k in _STATE_KEYS):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path}: not a training checkpoint (expected keys {_STATE_KEYS}, got {got})")
    return state


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> Path | None:
    """The checkpoint directory named in ``ckpt_dir/latest``, or None."""
    ckpt_dir = Path(ckpt_dir)
    f = ckpt_dir / LATEST
    if not f.exists():
        return None
    p = ckpt_dir / f.read_text().strip()
    return p if (p / STATE_FILE).exists() else None


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def save_checkpoint(
    ckpt_dir: str | os.PathLike,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
    extra: dict | None = None,
    keep: int = 1,
    extra_modules: dict[str, torch.nn.Module] | None = None,
) -> Path:
    """Write the training state after ``step`` optimizer steps; returns the checkpoint directory.

    Written atomically (temporary directory, rename, then the ``latest`` pointer), older step
    checkpoints beyond ``keep`` are removed afterwards. ``extra`` must hold plain types (numbers,
    strings, lists, dicts) or tensors: checkpoints are read back with ``weights_only=True``.
    """
    from safetensors.torch import save_file

    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=ckpt_dir))
    try:
        params = {
            n: p.detach().contiguous().clone() for n, p in trainable_parameters(model, extra_modules).items()
        }
        save_file(params, str(tmp / TRAINABLE_FILE))
        state = {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(),
            "extra": extra or {},
        }
        torch.save(state, tmp / STATE_FILE)
        final = ckpt_dir / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _write_atomic(ckpt_dir / LATEST, name)
    old = sorted(p for p in ckpt_dir.glob("step-*") if p.is_dir())
    for p in old[:-keep]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def load_checkpoint(
    ckpt: str | os.PathLike,
    model: torch.nn.Module,
    optimizer=None,
    scheduler=None,
    extra_modules: dict[str, torch.nn.Module] | None = None,
) -> dict:
    """Restore a checkpoint written by :func:`save_checkpoint` into ``model`` (its trainable
    parameters), ``optimizer`` and ``scheduler``, and the RNG states. Returns the state dict
    (``step``, ``extra``).

    ``state.pt`` is read with ``torch.load(weights_only=True)``: a checkpoint never runs code.

    Raises:
        ValueError: naming the file, when it is not a checkpoint of this loop (or holds objects
            other than tensors and plain types).
    """
    from safetensors.torch import load_file

    ckpt = Path(ckpt)
    saved = load_file(str(ckpt / TRAINABLE_FILE))
    params = trainable_parameters(model, extra_modules)
    missing = sorted(set(params) - set(saved))
    unexpected = sorted(set(saved) - set(params))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {ckpt} does not match the model's trainable parameters "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(saved[n])
    state = _read_state(ckpt / STATE_FILE)
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return state


# --------------------------------------------------------------------------- metrics


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """The JSON lines of a ``metrics.jsonl`` file (empty when absent)."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                break
    return out


def truncate_metrics(path: str | os.PathLike, last_step: int) -> None:
    """Keep only the ``metrics.jsonl`` records with ``step <= last_step`` (atomic rewrite)."""
    p = Path(path)
    if not p.exists():
        return
    keep = [r for r in read_metrics(p) if r.get("step", -1) <= last_step]
    _write_atomic(p, "".join(json_dumps_strict(r) + "\n" for r in keep))


def append_metrics(path: str | os.PathLike, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json_dumps_strict(record) + "\n")  # a diverged (NaN) loss is written as null
        fh.flush()


# --------------------------------------------------------------------------- loop


def train_loop(
    model: torch.nn.Module,
    batches: Callable[[int], dict],
    opts: TrainOptions,
    out_dir: str | os.PathLike,
    loss_fn: LossFn = causal_lm_loss,
    params: Iterable[torch.nn.Parameter] | None = None,
    eval_fn: Callable[[torch.nn.Module], dict] | None = None,
    eval_every: int = 0,
    hook: Hook | None = None,
    resume: bool = True,
    extra_modules: dict[str, torch.nn.Module] | None = None,
) -> list[dict]:
    """Train ``model`` for ``opts.steps`` optimizer steps, resuming from ``out_dir`` if possible.

    Args:
        model: the module to train; parameters with ``requires_grad`` are trained (and saved
            in checkpoints) unless ``params`` narrows it.
        extra_modules: modules outside ``model`` whose trainable parameters are trained and
            checkpointed too (e.g. :class:`core_training.distill.HiddenProjector`).
        batches: ``batches(i) -> dict`` giving micro-batch ``i`` (``i = step * grad_accum + k``);
            must be deterministic in ``i`` for resumed runs to follow the same trajectory.
        opts: :class:`TrainOptions`.
        out_dir: run directory; gets ``checkpoints/`` and ``metrics.jsonl``.
        loss_fn: ``loss_fn(model, batch) -> (loss, metrics)``; the loss is backpropagated,
            the metrics (floats) are logged.
        eval_fn: optional ``eval_fn(model) -> dict`` run every ``eval_every`` steps and at the
            end (in eval mode, no grad); its values are logged on that step's line.
        hook: ``hook("train", completed_steps, total_steps)`` after each step.
        resume: continue from the latest checkpoint in ``out_dir/checkpoints`` when there is one.

    Under ``torchrun`` (``WORLD_SIZE`` > 1; see :mod:`core_training.distributed`) every rank calls
    this with the same arguments: each keeps its slice of every global micro-batch (its size must
    be a multiple of the number of processes), gradients are averaged by DistributedDataParallel,
    ``eval_fn`` and ``hook`` run on every rank, and only rank 0 writes; every rank returns rank 0's
    records.

    Returns:
        The step records of the whole run (read back from ``metrics.jsonl``, where other records
        with ``step`` 0, such as an evaluation before training, are kept), one per step:
        ``step`` (1-based), ``loss``, ``lr``, ``grad_norm``, ``tokens``, ``seconds`` and the
        loss function's own metrics.
    """
    distributed.init_from_env()
    main_rank = distributed.is_main()
    out_dir = Path(out_dir)
    if main_rank:
        out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out_dir / "checkpoints"
    metrics_path = out_dir / "metrics.jsonl"

    extra_modules = extra_modules or {}
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    params = list(params)
    wanted = {id(p) for p in params}
    for p in model.parameters():  # checkpoints save exactly the parameters that require grad
        if id(p) not in wanted:
            p.requires_grad_(False)
    for mod in extra_modules.values():
        params += [p for p in mod.parameters() if p.requires_grad and id(p) not in wanted]
    if not params:
        raise ValueError("nothing to train: no parameter requires a gradient")

    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": opts.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=opts.lr, betas=tuple(opts.betas))
    scheduler = rewarm_cosine_schedule(
        optimizer, opts.steps, opts.warmup_steps, opts.min_lr_ratio, opts.warmup_start_ratio
    )

    start = 0
    prior_seconds = 0.0
    # rank 0 picks the checkpoint; every rank loads that same one (shared run directory)
    name = distributed.on_main(lambda: _latest_name(ckpt_dir) if resume else None)
    if name is not None:
        ckpt = ckpt_dir / name
        state = load_checkpoint(ckpt, model, optimizer, scheduler, extra_modules)
        start = int(state["step"])
        prior_seconds = float(state["extra"].get("seconds", 0.0))
        if main_rank:
            truncate_metrics(metrics_path, start)
        log.info("resumed from %s (step %d)", ckpt, start)
    else:
        if main_rank:
            if ckpt_dir.exists():
                shutil.rmtree(ckpt_dir)
            truncate_metrics(
                metrics_path, 0
            )  # keeps the caller's step-0 records (evaluation before training)
        seed_everything(opts.seed)
    distributed.barrier()

    total_tokens = (
        sum(r.get("tokens", 0) for r in read_metrics(metrics_path) if "loss" in r) if main_rank else 0
    )
    ddp = _data_parallel(model, extra_modules, loss_fn)
    t0 = time.perf_counter()
    if hook:
        hook("train", start, opts.steps)
    model.train()
    for mod in extra_modules.values():
        mod.train()
    try:
        for step in range(start, opts.steps):
            t_step = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss_sum = 0.0
            extra_sums: dict[str, float] = {}
            tokens = 0
            for k in range(opts.grad_accum):
                batch = distributed.shard_batch(batches(step * opts.grad_accum + k))
                if ddp is None:
                    loss, extra = loss_fn(model, batch)
                    (loss / opts.grad_accum).backward()
                else:  # gradients all-reduced once per step, on the last micro-batch
                    sync = k == opts.grad_accum - 1
                    with contextlib.nullcontext() if sync else ddp.no_sync():
                        loss, extra = ddp(batch)
                        (loss / opts.grad_accum).backward()
                loss_sum += float(loss.detach())
                for key, v in extra.items():
                    extra_sums[key] = extra_sums.get(key, 0.0) + float(v)
                tokens += int(batch["input_ids"].numel())
            if ddp is not None:  # logged values: means over the ranks, tokens summed
                keys = sorted(extra_sums)
                w = distributed.world_size()
                summed = distributed.all_reduce_sum([loss_sum, tokens, *(extra_sums[k] for k in keys)])
                loss_sum, tokens = summed[0] / w, int(summed[1])
                extra_sums = {k: v / w for k, v in zip(keys, summed[2:])}
            if opts.max_grad_norm > 0:
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, opts.max_grad_norm))
            else:
                gnorm = float(
                    torch.sqrt(sum((p.grad.float() ** 2).sum() for p in params if p.grad is not None))
                )
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            scheduler.step()
            total_tokens += tokens
            record = {
                "step": step + 1,
                "loss": loss_sum / opts.grad_accum,
                "lr": lr,
                "grad_norm": gnorm,
                "tokens": tokens,
                "tokens_total": total_tokens,
                "step_seconds": time.perf_counter() - t_step,
            }
            record.update({k: v / opts.grad_accum for k, v in extra_sums.items()})
            done = step + 1
            last = done == opts.steps
            if eval_fn is not None and ((eval_every and done % eval_every == 0) or last):
                model.eval()
                with torch.no_grad():
                    record.update(eval_fn(model))
                model.train()
            seconds = prior_seconds + time.perf_counter() - t0
            record["seconds"] = seconds
            if main_rank:
                append_metrics(metrics_path, record)
            if last or (opts.checkpoint_every and done % opts.checkpoint_every == 0):
                if main_rank:
                    save_checkpoint(
                        ckpt_dir,
                        done,
                        model,
                        optimizer,
                        scheduler,
                        {"seconds": seconds},
                        keep=opts.keep_checkpoints,
                        extra_modules=extra_modules,
                    )
                distributed.barrier()
            if hook:
                hook("train", done, opts.steps)
    finally:
        del ddp  # removes DDP's gradient hooks from the parameters
    model.eval()
    return distributed.on_main(lambda: [r for r in read_metrics(metrics_path) if "loss" in r])


def _latest_name(ckpt_dir: Path) -> str | None:
    ckpt = latest_checkpoint(ckpt_dir)
    return None if ckpt is None else ckpt.name


class _LossModule(torch.nn.Module):
    """``model`` and ``extra_modules`` as one module whose ``forward(batch)`` is
    ``loss_fn(model, batch)``: what DistributedDataParallel wraps, so that every trained
    parameter (distillation projections included) is synchronised."""

    def __init__(self, model: torch.nn.Module, extra_modules: dict[str, torch.nn.Module], loss_fn: LossFn):
        super().__init__()
        self.model = model
        self.extra = torch.nn.ModuleDict(extra_modules)
        self._loss_fn = (loss_fn,)  # a tuple: a loss holding a teacher must not become a submodule

    def forward(self, batch: dict):
        return self._loss_fn[0](self.model, batch)


def _data_parallel(model, extra_modules, loss_fn):
    """DistributedDataParallel over model + extra modules, or None in a single process."""
    if not distributed.is_distributed():
        return None
    from torch.nn.parallel import DistributedDataParallel

    # parameters start equal everywhere (DDP broadcasts rank 0's at init); buffers (rotary
    # tables) are constants: not broadcast again at every forward
    return DistributedDataParallel(_LossModule(model, extra_modules, loss_fn), forward_sync_buffers=False)
