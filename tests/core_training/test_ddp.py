"""Training past one process: a recipe under ``torchrun --nproc_per_node 2`` (DDP, gloo, CPU).

One process and two processes run the same continue-pretrain config (the global micro-batch
``batch_size`` is split between the ranks); their loss trajectories agree within
:data:`LOSS_RTOL`. A two-process run killed after step 3 (checkpoint at step 2) and resumed
through the ``llm4all`` CLI under torchrun follows the uninterrupted two-process run exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from core_training import distributed
from core_training.recipes import get_recipe
from core_training.recipes.config import load_config
from core_training.train import read_metrics
from tests.core_training.test_recipes import ENGLISH, FRENCH, tiny_model_dir, write_texts

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
# measured: max relative loss difference 6.4e-8 over the 6 steps (float32 sums in another order)
LOSS_RTOL = 1e-5

DRIVER = textwrap.dedent(
    """
    import os, sys, yaml
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config

    cls, main = get_recipe("continue-pretrain")
    values = yaml.safe_load(open(sys.argv[1]))
    main(load_config(cls, None, {**values, "out": sys.argv[2]}))  # uninterrupted

    def kill(stage, done, total):  # every rank dies after step 3, as under SIGKILL
        if stage == "train" and done == 3:
            sys.stdout.flush()
            os._exit(137)

    main(load_config(cls, None, {**values, "out": sys.argv[3]}), hook=kill)
    """
)


def _torchrun(args: list[str], env: dict) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _losses(out: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]


def test_shard_batch_splits_rows_and_keeps_counts():
    batch = {"input_ids": torch.arange(12).view(4, 3), "n_replay": 3, "mask": torch.ones(4, 3)}
    parts = [distributed.shard_batch(batch, r, 2) for r in range(2)]
    assert torch.equal(torch.cat([p["input_ids"] for p in parts]), batch["input_ids"])
    assert [p["n_replay"] for p in parts] == [3, 3] and parts[1]["mask"].shape == (2, 3)
    assert distributed.shard_batch(batch, 0, 1) is batch
    with pytest.raises(ValueError, match=r"batch_size \(4\).*\(3\)"):
        distributed.shard_batch(batch, 0, 3)


def test_single_process_helpers_are_no_ops():
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main()
    assert distributed.on_main(lambda: 5) == 5 and distributed.broadcast_object([1]) == [1]
    assert distributed.all_reduce_sum([1.0, 2.0]) == [1.0, 2.0]


def test_recipe_under_torchrun_matches_one_process_and_resumes(tmp_path):
    values = {
        "model": str(tiny_model_dir(tmp_path / "tiny")),
        "train_data": str(write_texts(tmp_path / "fr.txt", FRENCH)),
        "replay_data": str(write_texts(tmp_path / "en.txt", ENGLISH)),
        "replay_ratio": 0.5,
        "steps": 6,
        "batch_size": 2,  # global micro-batch: one block per rank under torchrun
        "grad_accum": 2,  # the first micro-batch of a step runs under no_sync
        "block_size": 32,
        "warmup_steps": 2,
        "lr": 3e-3,
        "checkpoint_every": 2,
        "eval_tokens": 64,
        "eval_block_size": 32,
    }
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump(values))
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LLM4ALL_CACHE": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }

    cls, main = get_recipe("continue-pretrain")
    one = main(load_config(cls, None, {**values, "out": str(tmp_path / "one")}))
    one_losses = _losses(tmp_path / "one")

    full, killed = tmp_path / "two", tmp_path / "killed"
    r = _torchrun([str(tmp_path / "driver.py"), str(cfg_file), str(full), str(killed)], env)
    assert r.returncode != 0, "the killed run should fail"
    # the uninterrupted two-process run: rank 0 alone wrote the directory
    summary = json.loads((full / "summary.json").read_text())
    recs = read_metrics(full / "metrics.jsonl")
    assert [x["step"] for x in recs if "loss" in x] == list(range(1, 7))
    assert [x.get("event") for x in recs if "event" in x] == ["eval_before", "eval_after"]
    assert sorted(p.name for p in (full / "checkpoints").iterdir()) == ["latest", "step-0000006"]
    assert load_config(cls, full / "config.yaml") == load_config(cls, None, {**values, "out": str(full)})
    assert (full / "model" / "config.json").exists()
    # same trajectory as one process, same global tokens and replay share
    two_losses = _losses(full)
    rel = max(abs(a - b) / abs(b) for a, b in zip(two_losses, one_losses))
    assert rel < LOSS_RTOL, (two_losses, one_losses)
    assert summary["tokens"] == one["tokens"] and summary["replay_share"] == one["replay_share"]
    for dom in ("new", "old"):
        assert summary["perplexity_after"][dom]["ppl_token"] == pytest.approx(
            one["perplexity_after"][dom]["ppl_token"], rel=1e-4
        )

    # killed after step 3: checkpoint of step 2, three metric lines, no summary
    assert (killed / "checkpoints" / "latest").read_text() == "step-0000002"
    assert len(_losses(killed)) == 3 and not (killed / "summary.json").exists()
    # resumed with the CLI under torchrun: every rank loads step 2, the trajectory is the same
    r = _torchrun(
        ["-m", "apps.cli", "continue-pretrain", "--config", str(cfg_file), "--out", str(killed), "-q"], env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("terminé") == 1  # the report is printed once (rank 0)
    assert _losses(killed) == two_losses
    resumed = json.loads((killed / "summary.json").read_text())
    assert resumed["perplexity_after"] == {
        d: {**v, "seconds": resumed["perplexity_after"][d]["seconds"]}
        for d, v in summary["perplexity_after"].items()
    }
