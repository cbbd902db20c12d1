"""asr.synth: synthetic two-speaker calls from simsamu transcripts, with an exact reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr import synth
from asr.synth import SynthOptions, Voice, energy_report, render_call, render_transcript
from asr.transcript import Segment, Transcript, read_json, read_rttm

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIMSAMU = DATA / "simsamu"
CALL = "dj_2022_feu"

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng not installed (Debian package 'espeak-ng'; see scripts/install-system.sh)",
)
needs_data = pytest.mark.skipif(
    not (SIMSAMU / CALL / f"{CALL}.json").is_file(),
    reason=f"simsamu reference data not found under {SIMSAMU}",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    steps = []
    res = render_call(
        CALL, out, SynthOptions(max_duration=20.0), data_dir=SIMSAMU, hook=lambda *a: steps.append(a)
    )
    audio, sr = sf.read(res.wav_path, dtype="float32")
    return res, audio, sr, steps


def _band_fraction(x: np.ndarray, sr: int, lo: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float(spec[f > lo].sum() / spec.sum())


def _speaker_audio(audio, sr, ref: Transcript, speaker: str) -> np.ndarray:
    return np.concatenate(
        [audio[int(s.start * sr) : int(s.end * sr)] for s in ref.segments if s.speaker == speaker]
    )


@needs_espeak
@needs_data
def test_wav_format_and_reference_files(rendered):
    res, audio, sr, steps = rendered
    info = sf.info(str(res.wav_path))
    assert (info.samplerate, info.channels) == (16000, 1)
    ref = read_json(res.json_path)
    rttm = read_rttm(res.rttm_path)
    assert len(ref.segments) >= 5
    assert {s.speaker for s in ref.segments} == {"medecin", "patient"}
    assert ref.roles == {"medecin": "regulateur", "patient": "appelant"}
    # Audio covers the last turn; RTTM and JSON describe the same turns.
    assert len(audio) / sr >= ref.segments[-1].end
    assert ref.duration == pytest.approx(len(audio) / sr, abs=1e-3)
    assert [(s.speaker, round(s.start, 3), round(s.end, 3)) for s in rttm.segments] == [
        (s.speaker, round(s.start, 3), round(s.end, 3)) for s in ref.segments
    ]
    # The hook saw every turn.
    assert steps[-1] == ("synthesize", steps[-1][2], steps[-1][2])


@needs_espeak
@needs_data
def test_turns_start_on_time_and_fit_the_source_turns(rendered):
    res, _, _, _ = rendered
    src = [s for s in synth.load_call(CALL, SIMSAMU).segments if s.start < 20.0]
    assert len(res.reference.segments) == len(src)
    for got, want in zip(res.reference.segments, src):
        assert got.speaker == want.speaker
        assert got.start == pytest.approx(want.start, abs=1e-4)
        assert got.end <= want.end + 1e-4
        assert got.end - got.start > 0.1
        # The words spoken are the simsamu turn's words, timed inside the rendered turn.
        assert [w.text for w in got.words] == [w.text for w in want.words if w.text.strip()]
        assert got.words[0].start == pytest.approx(got.start, abs=1e-3)
        assert got.words[-1].end == pytest.approx(got.end, abs=2e-3)


@needs_espeak
@needs_data
def test_energy_inside_turns_and_silence_outside(rendered):
    res, audio, sr, _ = rendered
    rep = energy_report(audio, sr, read_json(res.json_path))
    assert rep["min_turn_rms_db"] > -35.0
    assert rep["outside_rms_db"] < -80.0
    # Boundaries are tight: not a sample of sound outside the turns, speech near each edge.
    inside = np.zeros(len(audio), dtype=bool)
    for s in res.reference.segments:
        inside[int(round(s.start * sr)) : int(round(s.end * sr))] = True
    assert np.abs(audio[~inside]).max() < 1e-3
    w = int(0.1 * sr)
    for s in res.reference.segments:
        a, b = int(round(s.start * sr)), int(round(s.end * sr))
        assert np.abs(audio[a : a + w]).max() > 3e-3
        assert np.abs(audio[b - w : b]).max() > 3e-3


@needs_espeak
@needs_data
def test_caller_is_telephone_band_and_voices_differ(rendered):
    librosa = pytest.importorskip("librosa")
    res, audio, sr, _ = rendered
    ref = res.reference
    doc = _speaker_audio(audio, sr, ref, "medecin")
    caller = _speaker_audio(audio, sr, ref, "patient")
    assert _band_fraction(caller, sr, 4000.0) < 1e-5  # nothing above the 8 kHz Nyquist
    assert _band_fraction(doc, sr, 4000.0) > 1e-3  # wideband
    assert _band_fraction(caller, sr, 3700.0) < 1e-3
    f0_doc = np.median(librosa.yin(doc, fmin=60, fmax=500, sr=sr))
    f0_caller = np.median(librosa.yin(caller, fmin=60, fmax=500, sr=sr))
    assert f0_caller > 1.5 * f0_doc, (f0_doc, f0_caller)


@needs_espeak
@needs_data
def test_deterministic(rendered, tmp_path):
    res, _, _, _ = rendered
    again = render_call(CALL, tmp_path, SynthOptions(max_duration=20.0), data_dir=SIMSAMU)
    for a, b in [(res.wav_path, again.wav_path), (res.json_path, again.json_path)]:
        assert a.read_bytes() == b.read_bytes()


@needs_espeak
def test_long_turn_is_compressed_and_overlaps_are_mixed():
    # Our own text: a 1.2 s slot for a sentence that takes ~3.5 s at normal speed.
    t = Transcript(
        (
            Segment(0.5, 1.7, "medecin", "Bonjour, SAMU, je suis le médecin régulateur, que se passe-t-il ?"),
            Segment(1.2, 3.5, "patient", "Mon père est tombé dans l'escalier."),
        )
    )
    r = render_transcript(t, SynthOptions(tail=0.2))
    doc, caller = r.turns
    assert doc.natural > 2 * 1.2
    assert doc.speed > synth.REGULATOR_VOICE.speed or doc.tempo > 1.0
    assert 0.5 <= doc.start and doc.end <= 1.7 + 1e-4
    assert caller.start == pytest.approx(1.2) and caller.end <= 3.5 + 1e-4
    sr = r.sample_rate
    mix = r.audio[int(1.25 * sr) : int(1.65 * sr)]
    assert np.sqrt(np.mean(mix**2)) > 0.02  # both voices in the overlap
    assert np.abs(r.audio).max() <= 1.0
    assert r.duration == pytest.approx(caller.end + 0.2, abs=1e-3)


def test_bad_inputs(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="pitch"):
        Voice(pitch=120)
    with pytest.raises(ValueError, match="max_duration"):
        SynthOptions(max_duration=0)
    if SIMSAMU.is_dir():
        with pytest.raises(ValueError, match="unknown simsamu call 'no_such_call'"):
            render_call("no_such_call", tmp_path, data_dir=SIMSAMU)
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Debian package 'espeak-ng'"):
        render_transcript(Transcript((Segment(0.0, 1.0, "medecin", "Bonjour."),)))


@needs_espeak
@needs_data
def test_make_test_set(tmp_path):
    results = synth.make_test_set(tmp_path, data_dir=SIMSAMU)
    assert [r.name for r in results] == list(synth.TEST_CALLS)
    for r in results:
        assert 30.0 <= r.duration <= 45.0
        assert r.wav_path.is_file() and r.rttm_path.is_file() and r.json_path.is_file()
        assert {s.speaker for s in r.reference.segments} == {"medecin", "patient"}
