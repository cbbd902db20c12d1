"""The environment `make setup` builds works from plain Python, without our shims.

transformers imports torchaudio whenever it is installed, so a torchaudio whose native extension
cannot load (the PyPI CUDA build next to the CPU torch 2.13.0) broke every plain
``from_pretrained`` in the venv, including loading a model written by ``llm4all prune``. Each
check runs in a fresh interpreter (the venv's python), outside the project, so nothing from this
test process (``asr._compat`` already applied by conftest) can help it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.core_training.tiny import tiny_model, tiny_tokenizer


def _fresh(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_torchaudio_imports_in_a_fresh_process_or_is_absent(tmp_path):
    code = (
        "import importlib.util, sys\n"
        "if importlib.util.find_spec('torchaudio') is None:\n"
        "    print('absent'); sys.exit(0)\n"
        "import torchaudio, torchaudio.compliance.kaldi, torchaudio.transforms\n"
        "print('ok', torchaudio.__version__)\n"
    )
    r = _fresh(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith(("ok", "absent"))


def test_a_pruned_model_loads_with_plain_from_pretrained(tmp_path):
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config

    tok = tiny_tokenizer()
    model = tiny_model("llama", vocab_size=len(tok))
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    corpus = tmp_path / "calib.txt"
    corpus.write_text("\n\n".join(["bonjour, vous appelez le SAMU, que se passe-t-il ?"] * 40) + "\n")
    cls, prune_main = get_recipe("prune")
    values = {"out": str(tmp_path / "p"), "model": str(tmp_path / "base"), "calib_data": str(corpus)}
    values.update({"ratio": 0.3, "method": "magnitude", "calib_samples": 2, "calib_seq_len": 16})
    result = prune_main(load_config(cls, None, {**values, "eval_tokens": 0}))
    model_dir = result["model_dir"]
    code = (
        "import sys, torch\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "m = AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval()\n"
        "t = AutoTokenizer.from_pretrained(sys.argv[1])\n"
        "ids = t('bonjour', return_tensors='pt').input_ids\n"
        "print(type(m).__name__, m.config.intermediate_size, tuple(m(ids).logits.shape))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    name, inter, _ = r.stdout.split(maxsplit=2)
    assert name == "LlamaForCausalLM" and int(inter) < model.config.intermediate_size  # pruned


@pytest.mark.skipif(sys.platform != "linux", reason="checks the Linux wheels")
def test_torch_pin_is_kept():
    import torch

    assert torch.__version__.startswith("2.13.0"), torch.__version__


def test_setup_step_removes_only_an_extension_that_cannot_load(tmp_path):
    """`python -m asr._compat` (run by `make setup`) on a torchaudio-like package whose native
    library cannot load: the library goes, the package imports; run again, nothing to do."""
    from tests.conftest import ROOT

    pkg = tmp_path / "site" / "torchaudio"
    (pkg / "lib").mkdir(parents=True)
    (pkg / "lib" / "libtorchaudio.abi3.so").write_bytes(b"\x7fELF not really a library")
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\nimport torch\n"
        "for p in sorted((Path(__file__).parent / 'lib').glob('*.so')):\n"
        "    torch.ops.load_library(str(p))  # raises OSError, as the CUDA build does\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}:{ROOT}"}

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert run("-c", "import torchaudio").returncode != 0
    r = run("-m", "asr._compat")
    assert r.returncode == 0, r.stderr
    assert "1 bibliothèque(s) native(s) retirée(s)" in r.stderr
    assert not (pkg / "lib" / "libtorchaudio.abi3.so").exists()
    assert run("-c", "import torchaudio").returncode == 0
    assert "0 bibliothèque(s)" in run("-m", "asr._compat").stderr
