"""Speaker diarization with a pyannote.audio pipeline (optional backend).

``pyannote.audio`` is an optional dependency (``pip install 'llm4all[pyannote]'``, or
``pip install -r requirements-pyannote.txt``); it is imported lazily, only when
:func:`diarize_pyannote` runs, so the rest of the suite works without it.

The pipeline is either

* a local directory holding ``config.yaml`` plus the weights it points to (the layout of
  ``pyannote/speaker-diarization-community-1``: ``$model/segmentation``, ``$model/embedding``,
  ``$model/plda`` subfolders are resolved inside that directory), or
* a hub id such as ``pyannote/speaker-diarization-community-1``: loaded from the local Hugging
  Face cache when it is there; downloaded (with a ``token`` for a gated pipeline) only when the
  caller allows it (``allow_download=True`` or ``HF_HUB_OFFLINE=0``), otherwise a
  ``ValueError`` at once (see :func:`asr.models.resolve_hub_model`).

Audio goes in as a mono float32 16 kHz numpy array and is handed to pyannote as an in-memory
``{"waveform", "sample_rate"}`` dict, so pyannote never decodes a file (no torchcodec/FFmpeg
needed). The result comes back as plain ``(start, end, speaker)`` tuples: no pyannote object
leaves this module.

Two environment fixes are applied before pyannote.audio is imported:

* pyannote.audio 4 sends usage telemetry to pyannote.ai by default; it is switched off
  (``PYANNOTE_METRICS_ENABLED=false``) unless the variable is already set.
* the ``torchaudio`` wheels on PyPI are CUDA builds whose native extension cannot load next to
  a CPU-only torch (``libc10_cuda.so: cannot open shared object file``). pyannote.audio only
  uses torchaudio's pure-Python parts (resampling, Kaldi fbank, MFCC), so when the extension
  fails to load, torchaudio is imported without it (see :func:`prepare_pyannote_import`).
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asr._compat import ensure_torchaudio_importable
from asr.audio import SAMPLE_RATE
from asr.progress import Hook

log = logging.getLogger(__name__)

Turn = tuple[float, float, str]  # (start, end, speaker)

INSTALL_HINT = "pip install 'llm4all[pyannote]' (or: pip install -r requirements-pyannote.txt)"
_DEVICE_RE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _check_count(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"PyannoteOptions.{name} must be None or an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class PyannoteOptions:
    """pyannote.audio diarization settings.

    Attributes:
        pipeline: local pipeline directory (``config.yaml`` + weights), or a hub id (from the hub
            cache; downloaded only with ``allow_download``, usually with ``token``).
        token: hub access token for a gated hub pipeline; unused for a local directory.
        allow_download: fetch a hub ``pipeline`` that is not in the local hub cache.
        num_speakers: exact number of speakers, when known (then min/max are ignored by pyannote).
        min_speakers / max_speakers: bounds on the automatic speaker count.
        device: torch device to run on: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    """

    pipeline: str
    token: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    device: str = "cpu"
    allow_download: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_download, bool):
            raise ValueError(f"PyannoteOptions.allow_download must be a bool, got {self.allow_download!r}")
        if isinstance(self.pipeline, Path):
            object.__setattr__(self, "pipeline", str(self.pipeline))
        if not isinstance(self.pipeline, str) or not self.pipeline.strip():
            raise ValueError(
                f"PyannoteOptions.pipeline must be a local directory or a hub id, got {self.pipeline!r}"
            )
        if self.token is not None and (not isinstance(self.token, str) or not self.token):
            raise ValueError("PyannoteOptions.token must be None or a non-empty string")
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            _check_count(name, getattr(self, name))
        if (
            self.min_speakers is not None
            and self.max_speakers is not None
            and self.max_speakers < self.min_speakers
        ):
            raise ValueError(
                f"PyannoteOptions.max_speakers ({self.max_speakers}) must be >= "
                f"min_speakers ({self.min_speakers})"
            )
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device):
            raise ValueError(
                f"PyannoteOptions.device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}"
            )


def prepare_pyannote_import() -> None:
    """Set up the process so that ``import pyannote.audio`` works (idempotent, cheap once done).

    Switches pyannote's telemetry off unless ``PYANNOTE_METRICS_ENABLED`` is already set, and
    imports torchaudio without its native extension when that extension cannot load (CUDA build
    of torchaudio next to a CPU-only torch). A no-op when torchaudio is not installed.
    """
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    ensure_torchaudio_importable()


def _import_pipeline_class() -> Any:
    prepare_pyannote_import()
    try:
        with warnings.catch_warnings():
            # pyannote warns at import when torchcodec (file decoding) cannot load; this module
            # passes in-memory waveforms, so decoding is never needed.
            warnings.filterwarnings("ignore", message=r"(?s).*torchcodec is not installed correctly")
            from pyannote.audio import Pipeline
    except (ImportError, OSError) as e:
        raise RuntimeError(f"the pyannote diarizer needs pyannote.audio: {INSTALL_HINT} ({e})") from e
    return Pipeline


def check_source(pipeline: str, allow_download: bool = False) -> None:
    """Raise ``ValueError`` now if ``pipeline`` is neither a pipeline directory nor a hub id in
    the hub cache (or a hub id at all, when ``allow_download``)."""
    _resolve_source(pipeline, allow_download)


def _resolve_source(pipeline: str, allow_download: bool = False) -> tuple[str, bool]:
    """``(source, is_local)``: a checked local directory (a cached hub id gives its snapshot
    directory), or a hub id to download when allowed. ValueError otherwise, without network."""
    path = Path(pipeline).expanduser()
    if path.is_dir():
        if not (path / "config.yaml").is_file():
            raise ValueError(f"PyannoteOptions.pipeline: {str(path)!r} has no config.yaml")
        return str(path.resolve()), True
    if path.exists():
        raise ValueError(f"PyannoteOptions.pipeline: {str(path)!r} is not a directory")
    if not _HUB_ID_RE.match(pipeline):
        raise ValueError(
            f"PyannoteOptions.pipeline: no such directory {pipeline!r} "
            "(expected a local pipeline directory with config.yaml, or a hub id 'owner/name')"
        )
    from asr.models import DOWNLOAD_HINT, cached_hub_snapshot, downloads_allowed, hub_cache_dir

    snap = cached_hub_snapshot(pipeline)
    if snap is not None and (snap / "config.yaml").is_file():
        return str(snap), True
    if downloads_allowed(allow_download):
        return pipeline, False
    raise ValueError(
        f"PyannoteOptions.pipeline: {pipeline!r} not found offline (no such local directory "
        f"{str(path.resolve())!r}; hub pipeline {pipeline!r} is not in the Hugging Face cache "
        f"{str(hub_cache_dir())!r}); check the name, or allow a download ({DOWNLOAD_HINT})"
    )


def load_pyannote(opts: PyannoteOptions) -> Any:
    """Load the pyannote pipeline ``opts.pipeline`` names (local directory, or hub id + token),
    on ``opts.device``. Load it once and pass it to :func:`diarize_pyannote`.

    Raises:
        ValueError: ``opts.pipeline`` is neither a pipeline directory nor a hub id.
        RuntimeError: pyannote.audio is missing, or the pipeline cannot be loaded.
    """
    source, is_local = _resolve_source(opts.pipeline, opts.allow_download)
    return _load_pipeline(source, is_local, opts.token, opts.device)


def _load_pipeline(source: str, is_local: bool, token: str | None, device: str) -> Any:
    Pipeline = _import_pipeline_class()
    import torch

    params = inspect.signature(Pipeline.from_pretrained).parameters
    kwargs: dict[str, Any] = {}
    if not is_local and token is not None:
        kwargs["token" if "token" in params else "use_auth_token"] = token
    try:
        pipeline = Pipeline.from_pretrained(source, **kwargs)
    except Exception as e:
        where = "local directory" if is_local else "hub id (needs network access and, if gated, a token)"
        raise RuntimeError(f"could not load pyannote pipeline from {where} {source!r}: {e}") from e
    if pipeline is None:  # pyannote returns None when a hub download fails
        raise RuntimeError(
            f"could not load pyannote pipeline {source!r}: not a local directory and the hub "
            "download failed (offline? gated model without a valid token?)"
        )
    pipeline.to(torch.device(device))
    log.info("loaded pyannote pipeline %s on %s", source, device)
    return pipeline


def _progress_adapter(hook: Hook) -> Callable[..., None]:
    """pyannote's ``hook(step, artefact, file=, total=, completed=)`` -> ``hook(step, done, total)``.

    A step's final call (no counters) is reported as complete, with the step's last known total
    (1 when the step had no counters).
    """
    totals: dict[str, int] = {}

    def _hook(step: str, artefact: Any = None, *, total: Any = None, completed: Any = None, **_: Any) -> None:
        if total is not None:
            n = max(int(total), 0)
            totals[step] = n
            done = min(max(int(completed or 0), 0), n)
        else:
            n = totals.get(step, 1)
            done = n
        hook(str(step), done, n)

    return _hook


def _annotation_to_turns(annotation: Any, duration: float) -> list[Turn]:
    """pyannote ``Annotation`` -> sorted ``(start, end, label)`` tuples clipped to the audio."""
    turns: list[Turn] = []
    for segment, _track, label in annotation.itertracks(yield_label=True):
        start = round(max(0.0, float(segment.start)), 3)
        end = round(min(duration, float(segment.end)), 3)
        if end > start:
            turns.append((start, end, str(label)))
    turns.sort()
    return turns


def diarize_pyannote(
    audio: np.ndarray, opts: PyannoteOptions, hook: Hook | None = None, pipeline: Any = None
) -> list[Turn]:
    """Who spoke when, with a pyannote.audio speaker-diarization pipeline.

    Args:
        audio: mono float32 samples at 16 kHz (1-D).
        opts: pipeline location and speaker-count constraints.
        hook: optional ``hook(step, completed, total)`` progress callback, called with
            pyannote's steps (``segmentation``, ``speaker_counting``, ``embeddings``,
            ``discrete_diarization``).
        pipeline: a :func:`load_pyannote` handle to reuse; ``None`` loads one for this call.

    Returns:
        ``(start, end, speaker)`` turns in seconds, sorted by start, within the audio duration;
        speakers are labelled ``SPEAKER_00``, ``SPEAKER_01``... Overlapping speech gives
        overlapping turns. Empty audio gives ``[]``.

    Raises:
        ValueError: bad audio, or ``opts.pipeline`` is neither a pipeline directory nor a hub id.
        RuntimeError: pyannote.audio is not installed, or the pipeline cannot be loaded.
    """
    if not isinstance(opts, PyannoteOptions):
        raise TypeError(f"opts must be PyannoteOptions, got {type(opts).__name__}")
    samples = np.asarray(audio)
    if samples.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {samples.shape}")
    samples = samples.astype(np.float32, copy=False)
    if samples.size and not np.all(np.isfinite(samples)):
        raise ValueError("audio contains NaN or infinite samples")
    # before any heavy import: clear errors
    source, is_local = _resolve_source(opts.pipeline, opts.allow_download)
    if samples.size == 0:
        return []
    if pipeline is None:
        pipeline = _load_pipeline(source, is_local, opts.token, opts.device)

    import torch

    waveform = torch.from_numpy(np.ascontiguousarray(samples)).unsqueeze(0)
    file = {"waveform": waveform, "sample_rate": SAMPLE_RATE, "uri": "audio"}
    kwargs: dict[str, Any] = {
        "num_speakers": opts.num_speakers,
        "min_speakers": opts.min_speakers,
        "max_speakers": opts.max_speakers,
    }
    if hook is not None:
        kwargs["hook"] = _progress_adapter(hook)
    output = pipeline(file, **kwargs)
    # pyannote.audio 4 returns a DiarizeOutput; 3.x (and legacy mode) an Annotation.
    annotation = getattr(output, "speaker_diarization", output)
    if not hasattr(annotation, "itertracks"):
        raise RuntimeError(f"unexpected pyannote pipeline output: {type(output).__name__}")
    return _annotation_to_turns(annotation, samples.size / SAMPLE_RATE)
