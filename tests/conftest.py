"""Shared fixtures: paths to ../shared/data (skip with a reason where absent), synthesized audio."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SR = 16000


def shared(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test saying what is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data not available: {p} (expected ../shared/data beside the project)")
    return p


@pytest.fixture
def simsamu_dir() -> Path:
    return shared("simsamu")


@pytest.fixture
def medkit_dir() -> Path:
    return shared("audio", "medkit_dialog")


def tone(freq: float, dur: float, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def example_call() -> Path:
    p = ROOT / "examples" / "appel_exemple.ogg"
    assert p.exists(), "bundled example call missing"
    return p


def need_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (scripts/install-system.sh installs it)")


# tests import transformers directly: make an installed CUDA-built torchaudio harmless first
from asr._compat import ensure_torchaudio_importable  # noqa: E402

ensure_torchaudio_importable()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module with one torch thread, then restore the setting (tiny models spin-wait
    with two threads on a shared 2-core CPU). Use with ``pytest.mark.usefixtures``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
