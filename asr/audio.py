"""Audio loading: any common format -> mono float32 at 16 kHz, whole or streamed in blocks.

Decoders:

* ``soundfile`` (libsndfile) for WAV, FLAC, OGG Vorbis/Opus, MP3 and friends; resampled with
  ``soxr`` (streaming resampler, so blocks join without seams).
* PyAV (FFmpeg libraries bundled in its wheel) for everything else: m4a/AAC, webm, mp4, ...

Both paths stream, so a one-hour file is never held whole unless :func:`load_audio` is asked
for it. Stereo is downmixed by averaging channels; 8 kHz telephone audio is upsampled to
16 kHz (no content above 4 kHz is invented, the band stays empty).

Errors: a missing, empty, zero-length, corrupt or undecodable file raises ``ValueError``
naming the file. Silence is valid audio.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
AUDIO_EXTENSIONS = (
    ".wav", ".flac", ".ogg", ".opus", ".oga", ".mp3", ".m4a", ".aac", ".mp4",
    ".webm", ".wma", ".aif", ".aiff", ".au", ".caf", ".mka", ".3gp", ".amr",
)  # fmt: skip


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds before conversion."""

    path: str
    sample_rate: int
    channels: int
    duration: float | None  # seconds, None when the container does not say
    decoder: str  # "soundfile" or "pyav"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes)")


def probe(path: str | os.PathLike) -> AudioInfo:
    """Open ``path`` and report its sample rate, channels and duration.

    Raises:
        ValueError: missing, empty or undecodable file.
    """
    path = Path(path)
    _check_file(path)
    import soundfile as sf

    try:
        info = sf.info(str(path))
        return AudioInfo(
            str(path), int(info.samplerate), int(info.channels), float(info.duration), "soundfile"
        )
    except Exception as sf_err:  # libsndfile can't: try FFmpeg through PyAV
        try:
            import av

            with av.open(str(path)) as c:
                if not c.streams.audio:
                    raise ValueError("no audio stream")
                st = c.streams.audio[0]
                dur = None
                if st.duration is not None and st.time_base is not None:
                    dur = float(st.duration * st.time_base)
                elif c.duration is not None:
                    dur = c.duration / 1_000_000
                return AudioInfo(str(path), int(st.rate), int(st.channels), dur, "pyav")
        except Exception as av_err:
            raise ValueError(
                f"{path}: cannot decode audio (not a supported or valid audio file: {sf_err}; {av_err})"
            ) from av_err


def stream_audio(
    path: str | os.PathLike | AudioInfo, sample_rate: int = SAMPLE_RATE, block_seconds: float = 30.0
) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 blocks of about ``block_seconds`` at ``sample_rate``.

    Memory stays bounded by the block size whatever the file length. ``path`` may be the
    :class:`AudioInfo` a caller already got from :func:`probe` (the file is not probed again).

    Raises:
        ValueError: missing/empty/undecodable file, or a file with no samples at all.
    """
    if block_seconds <= 0:
        raise ValueError(f"block_seconds must be > 0, got {block_seconds}")
    info = path if isinstance(path, AudioInfo) else probe(path)
    gen = (
        _stream_sf(info, sample_rate, block_seconds)
        if info.decoder == "soundfile"
        else _stream_av(info, sample_rate, block_seconds)
    )
    n = 0
    try:
        for block in gen:
            if block.size:
                n += block.size
                yield block
    except Exception as e:  # corrupt data mid-stream (PyAV's InvalidDataError is a ValueError too)
        if n == 0:
            raise ValueError(f"{info.path}: cannot decode audio ({e})") from e
        log.warning(
            "%s: decoding stopped after %.1f s (truncated or corrupt): %s", info.path, n / sample_rate, e
        )
    if n == 0:
        raise ValueError(f"{info.path}: contains no audio samples (zero-length audio)")


def _to_mono(x: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(x, dtype=np.float32)


def _stream_sf(info: AudioInfo, sr: int, block_seconds: float) -> Iterator[np.ndarray]:
    import soundfile as sf
    import soxr

    frames = max(1024, int(block_seconds * info.sample_rate))
    rs = soxr.ResampleStream(info.sample_rate, sr, 1, dtype="float32") if info.sample_rate != sr else None
    with sf.SoundFile(info.path) as f:
        while True:
            x = f.read(frames, dtype="float32", always_2d=True)
            last = len(x) < frames
            x = _to_mono(x)
            if rs is not None:
                x = rs.resample_chunk(x, last=last)
            yield x
            if last:
                break


def _stream_av(info: AudioInfo, sr: int, block_seconds: float) -> Iterator[np.ndarray]:
    import av

    target = int(block_seconds * sr)
    buf: list[np.ndarray] = []
    have = 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
    with av.open(info.path) as c:
        stream = c.streams.audio[0]
        for frame in c.decode(stream):
            frame.pts = None
            for out in resampler.resample(frame):
                a = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                buf.append(a)
                have += a.size
                if have >= target:
                    yield np.concatenate(buf)
                    buf, have = [], 0
        for out in resampler.resample(None):
            buf.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    if buf:
        yield np.concatenate(buf)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a whole file to a mono float32 array at ``sample_rate`` (default 16 kHz).

    Prefer :func:`stream_audio` for long files.
    """
    return np.concatenate(list(stream_audio(path, sample_rate, block_seconds=60.0)))


def is_audio_path(path: str | os.PathLike) -> bool:
    """Whether the extension looks like audio (used to pick files from a directory)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS
