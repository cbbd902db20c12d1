"""ASR backend plumbing on tiny random Whisper models (transformers and faster-whisper/CT2).

Random weights say nothing about accuracy: these tests check that each backend loads a
user-given local model, decodes only speech regions, and returns words whose times are mapped
back into the original audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asr.recognize import AsrOptions, FasterWhisperBackend, TransformersBackend, make_backend, pack_regions
from tests.asr.tiny_whisper import build_tiny_whisper
from tests.conftest import SR, tone

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    """Short decoder context: random weights never stop early, so this bounds generation."""
    return build_tiny_whisper(
        tmp_path_factory.mktemp("tiny-whisper"),
        max_source_positions=1500,
        max_target_positions=64,
        processor=True,
        max_length=24,
    )


@pytest.fixture(scope="module")
def tiny_whisper_448(tmp_path_factory) -> Path:
    """The decoder context faster-whisper's batched mode assumes (448 positions)."""
    return build_tiny_whisper(
        tmp_path_factory.mktemp("tiny-whisper-448"),
        max_source_positions=1500,
        max_target_positions=448,
        processor=True,
    )


def _audio():
    x = np.zeros(SR * 12, np.float32)
    x[SR * 2 : SR * 4] = tone(300, 2.0)
    x[SR * 8 : SR * 10] = tone(500, 2.0)
    return x, [(2.0, 4.0), (8.0, 10.0)]


def test_pack_regions_maps_times_back():
    x, regions = _audio()
    p = pack_regions(x, regions)
    assert abs(len(p.audio) / SR - (2.0 + 0.3 + 2.0)) < 1e-3
    assert p.to_original(0.5) == pytest.approx(2.5)
    assert p.to_original(2.3 + 0.5) == pytest.approx(8.5)
    assert p.to_original(2.05) == pytest.approx(4.0)  # early in the inserted gap: end of region 1
    assert p.to_original(2.25) == pytest.approx(8.0)  # late in the gap (a word starting early): region 2


def _check_words(words, regions, offset=0.0):
    for w in words:
        assert isinstance(w.text, str) and w.text == w.text.strip() and w.text
        assert w.end >= w.start
        inside = any(s + offset - 1e-3 <= w.start <= e + offset + 1e-3 for s, e in regions)
        assert inside, (w, regions)


def test_transformers_backend_on_local_tiny_model(tiny_whisper):
    x, regions = _audio()
    b = make_backend(AsrOptions(backend="transformers", model=str(tiny_whisper), beam_size=1))
    assert isinstance(b, TransformersBackend)
    words, lang = b.recognize(x, regions, offset=100.0)
    assert lang == "fr"
    _check_words(words, regions, offset=100.0)


def test_faster_whisper_backend_on_converted_tiny_model(tiny_whisper_448, tmp_path):
    from ctranslate2.converters import TransformersConverter

    ct2 = tmp_path / "ct2"
    TransformersConverter(str(tiny_whisper_448), copy_files=["tokenizer.json"]).convert(
        str(ct2), quantization="int8"
    )
    b = make_backend(AsrOptions(model=str(ct2), beam_size=1, no_speech_threshold=None))
    assert isinstance(b, FasterWhisperBackend)
    x, regions = _audio()
    words, lang = b.recognize(x, regions)
    # CTranslate2 calls a vocabulary this small English-only, so faster-whisper decodes "en"
    assert lang in ("fr", "en")
    _check_words(words, regions)
    assert b.recognize(x, []) == ([], "fr")
    batched = make_backend(AsrOptions(model=str(ct2), beam_size=1, no_speech_threshold=None, batch_size=4))
    words, _ = batched.recognize(x, regions, offset=50.0)
    _check_words(words, regions, offset=50.0)


def test_clip_chunks_for_batched_decoding():
    from asr.recognize import clip_chunks

    assert clip_chunks([(0.0, 5.0), (5.5, 10.0), (20.0, 75.0)]) == [
        {"start": 0.0, "end": 10.0},  # short pause: one clip
        {"start": 20.0, "end": 50.0},  # long region cut into 30 s pieces
        {"start": 50.0, "end": 75.0},
    ]
    with pytest.raises(ValueError, match="batch_size"):
        AsrOptions(batch_size=1)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"AsrOptions\.model: .*nope.* not found"):
        make_backend(AsrOptions(backend="transformers", model=str(tmp_path / "nope")))
    with pytest.raises(RuntimeError, match="cannot load"):
        make_backend(AsrOptions(model=str(tmp_path)))  # an empty directory is no CT2 model


def test_language_detection_on_request():
    from tests.conftest import SHARED

    clip = SHARED / "audio" / "fleurs_fr" / "fleurs-fr-002.ogg"
    if not clip.exists():
        pytest.skip(f"reference data not available: {clip}")
    from asr.audio import load_audio
    from asr.vad import detect_speech

    x = load_audio(clip)
    words, lang = make_backend(AsrOptions(language=None, beam_size=1)).recognize(x, detect_speech(x))
    assert lang == "fr" and words
