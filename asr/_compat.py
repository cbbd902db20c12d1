"""Environment compatibility shims, applied only where a third-party import needs them.

torchaudio on PyPI is a CUDA build (2.9+): next to the CPU-only torch 2.13.0 wheel its native
extension fails to load with ``OSError`` at import. pyannote.audio (optional extra) requires
torchaudio, and ``transformers.audio_utils`` imports it whenever it is installed, so one
installed CUDA torchaudio would break every transformers Whisper import in the process.
Neither needs the native extension (they use its pure-Python resampling / Kaldi features).
"""

from __future__ import annotations

import importlib.util
import logging
import sys

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
