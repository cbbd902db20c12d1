"""Model resolution offline: local path -> hub id already in the hub cache -> bundled default.

A name that is none of these fails at once with a ValueError saying what was looked for and
where, instead of retrying the hub for minutes; the hub is only tried when the caller allows it
(``allow_download=True``, ``--allow-download``, or ``HF_HUB_OFFLINE=0`` set explicitly).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asr.recognize import AsrOptions, make_backend
from tests.conftest import ROOT

TYPO = "openai/whisper-tnyi"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face hub cache, and downloads not allowed by the environment."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return cache


def _fails_fast(fn, *needles):
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        fn()
    assert time.perf_counter() - t0 < 5, "model resolution waited for the network"
    msg = str(err.value)
    for n in needles:
        assert str(n) in msg, (n, msg)
    return msg


def test_typo_hub_id_fails_at_once_naming_what_and_where(hub_cache):
    msg = _fails_fast(
        lambda: make_backend(AsrOptions(backend="transformers", model=TYPO)),
        "AsrOptions.model",
        TYPO,
        hub_cache,
        "allow_download",
    )
    assert str(Path(TYPO).resolve()) in msg  # the local path it looked for
    _fails_fast(lambda: make_backend(AsrOptions(model="Systran/faster-whisper-tnyi")), hub_cache)
    # faster-whisper size names map to Systran/faster-whisper-<size>
    _fails_fast(lambda: make_backend(AsrOptions(model="small")), "Systran/faster-whisper-small", hub_cache)
    _fails_fast(lambda: make_backend(AsrOptions(model="smal")), "smal", "size")
    _fails_fast(lambda: AsrOptions(allow_download="yes"), "AsrOptions.allow_download")


def test_hub_id_in_the_cache_loads_without_network(hub_cache, tmp_path):
    from asr.models import resolve_hub_model
    from tests.asr.tiny_whisper import build_tiny_whisper

    snap = hub_cache / "models--acme--tiny-whisper" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    build_tiny_whisper(snap, max_source_positions=1500, max_target_positions=64, processor=True, max_length=8)
    (hub_cache / "models--acme--tiny-whisper" / "refs").mkdir()
    (hub_cache / "models--acme--tiny-whisper" / "refs" / "main").write_text("0123abcd")
    assert Path(resolve_hub_model("acme/tiny-whisper")) == snap
    backend = make_backend(AsrOptions(backend="transformers", model="acme/tiny-whisper", beam_size=1))
    assert backend.model.config.d_model > 0
    # a local directory is used as it is, cache or not
    assert resolve_hub_model(str(snap)) == str(snap)


def test_downloads_only_when_asked(hub_cache, monkeypatch):
    from asr.models import resolve_hub_model

    with pytest.raises(ValueError, match="allow_download"):
        resolve_hub_model("acme/not-cached")
    assert resolve_hub_model("acme/not-cached", allow_download=True) == "acme/not-cached"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the standard switch, set explicitly
    assert resolve_hub_model("acme/not-cached") == "acme/not-cached"
    # a path is never sent to the hub, downloads allowed or not
    with pytest.raises(ValueError, match="not found"):
        resolve_hub_model("./models/whisper", allow_download=True)


def test_pyannote_hub_id_not_cached_fails_at_once(hub_cache):
    from asr.diarize_pyannote import PyannoteOptions, check_source, load_pyannote

    typo = "pyannote/speaker-diarization-comunity-1"
    _fails_fast(lambda: check_source(typo), "PyannoteOptions.pipeline", typo, hub_cache)
    _fails_fast(lambda: load_pyannote(PyannoteOptions(pipeline=typo)), typo, hub_cache)


def test_transcribe_cli_with_a_typo_model_exits_at_once(tmp_path, example_call):
    """What a user runs: `llm4all transcribe --backend transformers --model <typo>`."""
    cache = tmp_path / "hf-hub"
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["HF_HUB_CACHE"] = str(cache)
    cmd = [sys.executable, "-m", "apps.cli", "transcribe", str(example_call), "--out", str(tmp_path / "o")]
    cmd += ["--backend", "transformers", "--model", TYPO, "-q"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    took = time.perf_counter() - t0
    assert r.returncode == 2, r.stderr
    assert TYPO in r.stderr and str(cache) in r.stderr and "--allow-download" in r.stderr
    assert "Retrying" not in r.stderr
    assert took < 30, f"took {took:.0f} s"


def test_allow_download_flag_reaches_the_options():
    from apps.cli import build_parser
    from apps.transcribe import options_from_args

    p = build_parser()
    off = options_from_args(p.parse_args(["transcribe", "a.wav", "--out", "o"]))
    on = options_from_args(p.parse_args(["transcribe", "a.wav", "--out", "o", "--allow-download"]))
    assert not off.asr.allow_download and not off.diarize.allow_download
    assert on.asr.allow_download and on.diarize.allow_download
    # where a model may come from changes no output: a rerun with the flag redoes nothing
    from apps.pipeline import ProcessOptions

    def settings(front_end):
        return ProcessOptions(kind="call", front_end=front_end, form=False, summary=None).settings()

    assert settings(on) == settings(off)
