"""Audio loading: formats, channels, rates, and every kind of bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from asr.audio import load_audio, probe, stream_audio
from tests.conftest import SR, tone


def test_missing_path_names_file(tmp_path):
    with pytest.raises(ValueError, match="nope.wav: no such file"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.wav: empty file"):
        load_audio(p)


def test_zero_length_audio(tmp_path):
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros(0, np.float32), SR)
    with pytest.raises(ValueError, match="zero.wav: contains no audio samples"):
        load_audio(p)


def test_text_file_renamed_wav(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("ceci n'est pas un fichier audio\n" * 20)
    with pytest.raises(ValueError, match="notes.wav: cannot decode audio"):
        load_audio(p)


def test_truncated_header(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, tone(440, 1.0), SR)
    bad = tmp_path / "trunc.wav"
    bad.write_bytes(good.read_bytes()[:30])  # cut inside the RIFF header
    with pytest.raises(ValueError, match="trunc.wav"):
        load_audio(bad)


def test_truncated_data_decodes_what_is_there(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, tone(440, 2.0), SR, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[: 44 + SR * 2])  # header + 1 s of 16-bit samples
    x = load_audio(cut)
    assert abs(len(x) / SR - 1.0) < 0.01


def test_corrupt_compressed_bytes(tmp_path):
    good = tmp_path / "g.flac"
    sf.write(good, tone(440, 2.0), SR)
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(0)
    data[10:200] = rng.integers(0, 256, 190, dtype=np.uint8).tobytes()  # smash the header
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad.flac"):
        load_audio(bad)


def test_stereo_48k_downmixed_and_resampled(tmp_path):
    left = tone(440, 1.5, 48000, amp=0.4)
    right = np.zeros_like(left)
    p = tmp_path / "st.wav"
    sf.write(p, np.stack([left, right], 1), 48000)
    info = probe(p)
    assert (info.sample_rate, info.channels) == (48000, 2)
    x = load_audio(p)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - 1.5 * SR) <= 2
    assert 0.18 < np.max(np.abs(x[1000:-1000])) < 0.22  # mean of the two channels
    spec = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spec) * SR / len(x) - 440) < 2


def test_8k_telephone_upsampled(tmp_path):
    p = tmp_path / "tel.wav"
    sf.write(p, tone(1000, 2.0, 8000), 8000)
    x = load_audio(p)
    assert abs(len(x) - 2 * SR) <= 2
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    assert spec[freqs > 4100].sum() < 1e-4 * spec.sum()  # nothing invented above 4 kHz


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (to make the test files)")
@pytest.mark.parametrize("ext", ["mp3", "m4a", "opus", "ogg", "flac"])
def test_compressed_formats(tmp_path, ext):
    src = tmp_path / "src.wav"
    sf.write(src, tone(440, 1.0, 44100), 44100)
    dst = tmp_path / f"a.{ext}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-ac", "2", str(dst)], check=True)
    x = load_audio(dst)
    assert abs(len(x) / SR - 1.0) < 0.1
    assert np.max(np.abs(x)) > 0.1


def test_stream_blocks_bounded_and_complete(tmp_path):
    p = tmp_path / "long.flac"
    x = (np.random.default_rng(0).standard_normal(SR * 25) * 0.1).astype(np.float32)
    sf.write(p, x, SR)
    blocks = list(stream_audio(p, block_seconds=4.0))
    assert max(len(b) for b in blocks) <= 4 * SR + 1
    assert sum(len(b) for b in blocks) == len(x)


def test_stream_resampled_blocks_join_without_seams(tmp_path):
    p = tmp_path / "t.wav"
    sf.write(p, tone(300, 6.0, 44100), 44100)
    whole = np.concatenate(list(stream_audio(p, block_seconds=0.5)))
    ref = tone(300, 6.0, SR)
    n = min(len(whole), len(ref)) - 2000
    assert np.max(np.abs(whole[2000:n] - ref[2000:n])) < 0.01
