"""``llm4all <recipe>`` end to end on a tiny model directory: outputs, overrides, French errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from apps.cli import main as cli
from core_training.train import read_metrics
from tests.core_training.test_recipes import ENGLISH, FRENCH, tiny_model_dir, write_texts

ROOT = Path(__file__).resolve().parents[2]


# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    return {
        "model": str(tiny_model_dir(root / "tiny")),
        "student": str(tiny_model_dir(root / "student", seed=5, num_hidden_layers=2)),
        "train": str(write_texts(root / "fr.txt", FRENCH)),
        "replay": str(write_texts(root / "en.txt", ENGLISH)),
    }


TRAIN = [
    "--steps",
    "3",
    "--batch-size",
    "2",
    "--block-size",
    "32",
    "--warmup-steps",
    "1",
    "--eval-tokens",
    "128",
]
TRAIN += ["--eval-block-size", "32", "--checkpoint-every", "2", "-q"]


def _run(capsys, *args):
    rc = cli([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def _check_run_dir(out: Path):
    assert (out / "config.yaml").exists() and (out / "summary.json").exists()
    assert read_metrics(out / "metrics.jsonl")
    assert (out / "model" / "config.json").exists()


def test_continue_pretrain_from_a_yaml_config_with_overrides(env, tmp_path, capsys):
    cfg = tmp_path / "cp.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "model": env["model"],
                "train_data": env["train"],
                "replay_data": env["replay"],
                "replay_ratio": 0.25,
            }
        )
    )
    out = tmp_path / "run"
    rc, stdout, err = _run(
        capsys, "continue-pretrain", "--config", cfg, "--out", out, "--replay-ratio", "0.5", *TRAIN
    )
    assert rc == 0, err
    assert "terminé" in stdout and "perplexité avant" in stdout
    assert "entraînement :" not in err  # -q: no progress lines
    _check_run_dir(out)
    assert (out / "checkpoints" / "latest").exists()
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["replay_ratio"] == 0.5 and resolved["steps"] == 3 and resolved["model"] == env["model"]
    assert json.loads((out / "summary.json").read_text())["replay_share"] == 0.5
    # same command again: the finished run is reported, not redone
    rc, stdout, _ = _run(
        capsys, "continue-pretrain", "--config", cfg, "--out", out, "--replay-ratio", "0.5", *TRAIN
    )
    assert rc == 0 and "terminé" in stdout


def test_distill_grow_lora_and_perplexity(env, tmp_path, capsys):
    rc, stdout, err = _run(
        capsys, "distill", "--teacher", env["model"], "--student", env["student"], "--train-data", env["train"],
        "--alpha-hidden", "0.5", "--out", tmp_path / "d", *TRAIN,
    )  # fmt: skip
    assert rc == 0, err
    assert "perplexité maître" in stdout
    _check_run_dir(tmp_path / "d")
    rc, _, err = _run(
        capsys,
        "grow",
        "--model",
        env["model"],
        "--every",
        "3",
        "--train-data",
        env["train"],
        "--out",
        tmp_path / "g",
        *TRAIN,
    )
    assert rc == 0, err
    assert json.loads((tmp_path / "g" / "model" / "config.json").read_text())["num_hidden_layers"] == 4
    rc, _, err = _run(
        capsys, "lora", "--model", env["model"], "--r", "2", "--target-modules", "q_proj,v_proj",
        "--train-data", env["train"], "--out", tmp_path / "l", *TRAIN,
    )  # fmt: skip
    assert rc == 0, err
    _check_run_dir(tmp_path / "l")
    assert (tmp_path / "l" / "adapter" / "adapter_config.json").exists()
    rc, stdout, err = _run(
        capsys, "perplexity", "--model", tmp_path / "l" / "model", "--text", env["train"], "-q"
    )
    assert rc == 0, err
    assert "perplexité (jetons)" in stdout and "bits par caractère" in stdout


@pytest.mark.parametrize(
    "recipe, extra",
    [
        ("prune", ["--ratio", "0.3", "--method", "magnitude"]),
        ("compress-svd", ["--ratio", "0.3", "--method", "plain"]),
        ("trim-vocab", []),
    ],
)
def test_one_shot_recipes(env, tmp_path, capsys, recipe, extra):
    module = {"prune": "prune", "compress-svd": "svd", "trim-vocab": "trim_vocab"}[recipe]
    pytest.importorskip(f"core_training.{module}")
    args = [recipe, "--model", env["model"], "--calib-data", env["train"], "--out", tmp_path / "o"]
    args += ["--eval-tokens", "128", "--eval-block-size", "32", "-q", *extra]
    if recipe != "trim-vocab":
        args += ["--calib-samples", "2", "--calib-seq-len", "32"]
    rc, stdout, err = _run(capsys, *args)
    assert rc == 0, err
    assert re.search(r"perplexité avant : \d", stdout) and re.search(r"perplexité après : \d", stdout)
    _check_run_dir(tmp_path / "o")
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["parameter_reduction"] > 0
    rc, stdout, err = _run(
        capsys, "perplexity", "--model", tmp_path / "o" / "model", "--text", env["train"], "-q"
    )
    assert rc == 0, err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["prune", "--ratio", "1.5"], "ratio"),
        (["prune", "--method", "astrologie"], "method"),
        (["prune", "--ratoi", "0.2"], "clé inconnue « ratoi »"),
        (["prune", "--config", "/nowhere/x.yaml"], "fichier de configuration introuvable"),
        (["continue-pretrain", "--train-data", "/nowhere/corpus.txt"], "train_data"),
        (["continue-pretrain", "--steps", "trois"], "steps : attendu un entier"),
        (["lora", "--r"], "--r : valeur manquante"),
        (["distill"], "student : valeur obligatoire"),
        (["perplexity", "--model", "/nowhere/model", "--text", "x"], "model"),
    ],
)
def test_errors_are_one_french_line_with_exit_code_2(env, tmp_path, capsys, args, needle):
    if args[0] != "perplexity":
        args = [*args, "--out", str(tmp_path / "o")]
        if "--model" not in args and args[0] != "distill":
            args += ["--model", env["model"]]
    rc, out, err = _run(capsys, *args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"llm4all {args[0]} : erreur : "), err
    assert needle in lines[0] and "Traceback" not in err


def test_a_run_directory_with_another_config_is_refused(env, tmp_path, capsys):
    args = [
        "grow",
        "--model",
        env["model"],
        "--every",
        "3",
        "--train-data",
        env["train"],
        "--out",
        tmp_path / "g",
        *TRAIN,
    ]
    assert _run(capsys, *args)[0] == 0
    args[args.index("--every") + 1] = "1"
    rc, _, err = _run(capsys, *args)
    assert rc == 2 and "configuration différente" in err and "every" in err


def test_help_lists_the_keys(capsys):
    rc, out, _ = _run(capsys, "distill", "--help")
    assert rc == 0 and "--temperature" in out and "--student" in out and "(obligatoire)" in out


def test_killed_cli_run_resumes_with_the_same_losses(env, tmp_path, capsys):
    """SIGKILL a real ``llm4all continue-pretrain`` process after its first checkpoint, run it again."""
    common = ["--model", env["model"], "--train-data", env["train"], "--replay-data", env["replay"]]
    common += ["--replay-ratio", "0.25", "--steps", "40", "--batch-size", "2", "--block-size", "32"]
    common += ["--checkpoint-every", "5", "--eval-tokens", "0", "--threads", "1", "-q"]
    ref = tmp_path / "ref"
    assert _run(capsys, "continue-pretrain", *common, "--out", ref)[0] == 0
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "apps.cli", "continue-pretrain", *common, "--out", str(out)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "checkpoints" / "latest").exists() and len(read_metrics(out / "metrics.jsonl")) >= 7:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    assert _run(capsys, "continue-pretrain", *common, "--out", out)[0] == 0
    losses = [r["loss"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert losses == [r["loss"] for r in read_metrics(ref / "metrics.jsonl") if "loss" in r]
    assert len(losses) == 40


def test_progress_in_a_log_file_is_a_few_dated_lines(capsys):
    """A long run under nohup writes its progress to a log: not tqdm bars (``\\r`` noise), but a
    dated line when a step starts, at most one per ``log_every`` seconds, and one at its end."""
    from apps.progress import ProgressBars

    hook = ProgressBars(log_every=3600.0)  # capsys: standard error is not a terminal
    hook("bottom", 0, 552)
    for i in range(1, 277):
        hook("train", i, 276)
    hook.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] couches gelées \(une fois par appel\) : 0/552 \(0 %\)", lines[0])
    assert lines[1].endswith("entraînement : 1/276 (0 %)") and lines[2].endswith(
        "entraînement : 276/276 (100 %)"
    )
    quiet = ProgressBars(enabled=False, log_every=1.0)
    quiet("train", 1, 2)
    assert capsys.readouterr().err == ""
