"""Language honesty: with French forced, the transcript says which language was really spoken."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from asr.diarize import DiarizeOptions
from asr.language import language_warning
from asr.pipeline import FrontEnd, PipelineOptions, transcribe
from asr.transcript import Segment, Transcript, Word
from tests.conftest import SR, need_espeak


def _t(lang=None, p=None, language="fr"):
    return Transcript(
        (Segment(0.0, 1.0, "A", "hello", (Word("hello", 0.0, 1.0, 0.9),)),),
        language=language,
        detected_language=lang,
        language_probability=p,
    )


def test_json_round_trip_and_backward_compatible():
    t = _t("en", 0.93456)
    d = t.to_dict()
    assert d["language"] == "fr" and d["detected_language"] == "en" and d["language_probability"] == 0.9346
    back = Transcript.from_dict(json.loads(json.dumps(d)))
    assert back.detected_language == "en" and back.language_probability == pytest.approx(0.9346)
    # an older file, without the new keys, reads back as "not measured"
    old = {k: v for k, v in d.items() if k not in ("detected_language", "language_probability")}
    assert Transcript.from_dict(old).detected_language is None
    # not measured: nothing new is written
    assert "detected_language" not in _t().to_dict() and "language_probability" not in _t().to_dict()
    # relabelling keeps the measure
    assert t.relabel({"A": "appelant"}).detected_language == "en"
    with pytest.raises(ValueError, match="language_probability"):
        _t("en", 1.5)


def test_language_warning_in_french_only_when_sure():
    w = language_warning(_t("en", 0.96))
    assert w is not None and "anglais" in w and "96 %" in w and "--language" in w
    assert language_warning(_t("fr", 0.99)) is None
    assert language_warning(_t("en", 0.45)) is None  # not sure enough
    assert language_warning(_t()) is None  # not measured
    # auto-detected decoding language: still flagged, the suite is meant for French
    assert "espagnol" in language_warning(_t("es", 0.8, language="es"))


class _FakeAsr:
    """A recogniser that hears English and writes one word per speech region."""

    def __init__(self):
        self.calls = 0

    def recognize(self, audio, regions, offset=0.0):
        return [Word("mot", s + offset, e + offset, 0.9) for s, e in regions], "fr"

    def detect_language(self, audio, regions):
        self.calls += 1
        return ("en", 0.97) if regions else None


def test_pipeline_reports_detected_language_once_per_file():
    from asr.vad import load_vad

    rng = np.random.default_rng(0)
    t_ = np.arange(int(SR * 25)) / SR
    # voiced-like bursts (harmonics with an envelope) so that Silero marks speech
    x = sum(np.sin(2 * np.pi * f * t_) / k for k, f in enumerate((140, 280, 420, 560), 1))
    x = (0.2 * x * (np.sin(2 * np.pi * 2 * t_) > 0) + 0.01 * rng.standard_normal(t_.size)).astype(np.float32)
    asr = _FakeAsr()
    opts = PipelineOptions(window_s=10.0, diarize=DiarizeOptions(backend="none"))
    fe = FrontEnd(opts=opts, asr=asr, vad=load_vad())
    t = transcribe(x, opts, models=fe)
    if not t.words:
        pytest.skip("the VAD heard no speech in the synthetic signal")
    assert asr.calls == 1  # one encoder pass per file, not per window
    assert (t.language, t.detected_language, t.language_probability) == ("fr", "en", 0.97)


def _espeak(tmp_path, voice: str, text: str):
    need_espeak()
    p = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(p), text], check=True)
    return p


@pytest.mark.slow
def test_real_whisper_hears_english_under_forced_french(tmp_path):
    """Bundled Whisper base on espeak-ng speech: English is reported and warned about, French
    stays French without a warning."""
    from asr.pipeline import load_front_end

    opts = PipelineOptions()
    fe = load_front_end(opts)
    en = transcribe(
        _espeak(
            tmp_path,
            "en",
            "Hello, I am calling because my father fell down the stairs and he is not answering. "
            "He is breathing but he has a large wound on his head. Please send an ambulance.",
        ),
        opts,
        models=fe,
    )
    assert en.language == "fr" and en.detected_language == "en" and en.language_probability > 0.5
    assert "anglais" in language_warning(en)
    fr = transcribe(
        _espeak(
            tmp_path,
            "fr",
            "Bonjour, j'appelle parce que mon père est tombé dans l'escalier et il ne répond plus. "
            "Il respire mais il a une grosse plaie à la tête. Envoyez une ambulance.",
        ),
        opts,
        models=fe,
    )
    assert fr.detected_language == "fr" and language_warning(fr) is None
