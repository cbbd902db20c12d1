"""Environment compatibility shims, applied only where a third-party import needs them.

torchaudio on PyPI is a CUDA build (2.9+): next to the CPU-only torch 2.13.0 wheel its native
extension fails to load with ``OSError`` at import. pyannote.audio (optional extra) requires
torchaudio, and ``transformers.audio_utils`` imports it whenever it is installed, so one
installed CUDA torchaudio would break every transformers Whisper import in the process.
Neither needs the native extension (they use its pure-Python resampling / Kaldi features).

Two layers of defence:

* ``make setup`` runs ``python -m asr._compat`` after installing the pyannote extra: it removes
  the torchaudio native libraries that cannot load next to this torch
  (:func:`disable_unloadable_torchaudio_extension`), which turns the install into torchaudio's
  supported build without extension. Plain Python then works in the venv: ``import
  torchaudio``, ``AutoModelForCausalLM.from_pretrained(dir)`` on a model ``llm4all`` wrote.
  Run it again after installing or upgrading torchaudio by hand.
* at run time, :func:`ensure_torchaudio_importable` makes the import work in this process even
  where that step was not run.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)
_done = False


def ensure_torchaudio_importable() -> None:
    """Import torchaudio; if its native extension cannot load, import it without the extension.

    torchaudio loads ``torchaudio/lib/_torchaudio*.so`` at import and re-raises any ``OSError``.
    The failed import leaves ``torchaudio._extension.utils`` in ``sys.modules``; wrapping its
    ``_load_lib`` so that a library that cannot load counts as absent (what torchaudio itself
    does for a build without the extension) lets the second import succeed. Idempotent; a
    no-op when torchaudio is not installed or loads normally.
    """
    global _done
    if _done or importlib.util.find_spec("torchaudio") is None:
        _done = True
        return
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        pass
    except OSError as first:
        utils = sys.modules.get("torchaudio._extension.utils")
        if utils is None or not hasattr(utils, "_load_lib"):
            raise
        original = utils._load_lib

        def _load_lib(lib: str) -> bool:
            try:
                return original(lib)
            except OSError as e:
                log.debug("torchaudio native library %s not loaded: %s", lib, e)
                return False

        utils._load_lib = _load_lib
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            if name != "torchaudio._extension.utils":
                del sys.modules[name]
        import torchaudio  # noqa: F401,F811

        log.info("torchaudio imported without its native extension (%s)", first)
    _done = True


_PROBE = """
import sys
import torch
bad = []
for path in sys.argv[1:]:
    try:
        torch.ops.load_library(path)
    except OSError as e:
        bad.append(path)
        cause = f" ({e.__cause__})" if e.__cause__ else ""
        print(f"{path}: {e}{cause}".replace("\\n", " "), file=sys.stderr)
print("\\n".join(bad))
"""


def _torchaudio_lib_dir() -> Path | None:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def disable_unloadable_torchaudio_extension(dry_run: bool = False) -> list[Path]:
    """Remove torchaudio's native libraries when they cannot load next to the installed torch.

    Each library (``torchaudio/lib/*.so``) is loaded in a fresh interpreter, so this process is
    not affected. If any fails (the PyPI CUDA build of torchaudio next to a CPU-only torch: the
    extension needs ``libc10_cuda.so``), the whole extension is removed: torchaudio then imports
    as its documented build without extension (``_load_lib`` finds no library), with its
    pure-Python parts (transforms, Kaldi features, resampling) working. Nothing is removed when
    every library loads (a torchaudio that matches torch) or torchaudio is not installed.

    Args:
        dry_run: only say which files would be removed.

    Returns:
        The library files removed (or that would be).

    Raises:
        RuntimeError: the probe interpreter failed, or torchaudio still cannot be imported in a
            fresh interpreter afterwards.
    """
    lib_dir = _torchaudio_lib_dir()
    if lib_dir is None or not lib_dir.is_dir():
        return []
    libs = sorted(lib_dir.glob("*.so")) + sorted(lib_dir.glob("*.pyd"))
    # libtorchaudio first: the Python extension modules link against it
    libs.sort(key=lambda p: not p.name.startswith("libtorchaudio"))
    if not libs:
        return []
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, libs)], capture_output=True, text=True, timeout=300
    )
    if probe.returncode != 0:
        raise RuntimeError(f"could not probe torchaudio's native libraries: {probe.stderr.strip()[-500:]}")
    if not [line for line in probe.stdout.splitlines() if line.strip()]:
        return []
    log.warning(
        "torchaudio's native extension cannot load next to this torch (%s); removing it: %s",
        (probe.stderr.strip().splitlines() or ["?"])[0],
        ", ".join(p.name for p in libs),
    )
    if dry_run:
        return libs
    for p in libs:
        p.unlink()
    check = subprocess.run(
        [sys.executable, "-c", "import torchaudio"], capture_output=True, text=True, timeout=300
    )
    if check.returncode != 0:
        raise RuntimeError(f"torchaudio still cannot be imported: {check.stderr.strip()[-500:]}")
    return libs


def main(argv: list[str] | None = None) -> int:
    """``python -m asr._compat [--dry-run]``: make torchaudio importable from plain Python."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m asr._compat",
        description="Retire l'extension native de torchaudio si elle ne peut pas se charger avec ce torch "
        "(torchaudio CUDA à côté de torch CPU), pour que « import torchaudio » et transformers "
        "fonctionnent en Python ordinaire.",
    )
    p.add_argument("--dry-run", action="store_true", help="seulement dire ce qui serait retiré")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        removed = disable_unloadable_torchaudio_extension(dry_run=a.dry_run)
    except RuntimeError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 1
    verb = "à retirer" if a.dry_run else "retirée(s)"
    print(f"torchaudio : {len(removed)} bibliothèque(s) native(s) {verb}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
