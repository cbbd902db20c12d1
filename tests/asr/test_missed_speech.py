"""Speech the VAD found never comes back empty because Whisper's fallback gave up on it.

The synthesized call ``dj_2022_va_accoucher`` came out of the front end as an empty transcript:
every 30 s window failed the compression-ratio check at every temperature (a repetition loop
at 0, noise when sampling) and was then thrown away by the no-speech check. Regions left
without a word get one more beam-search pass at temperature 0 with nothing skipped.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from asr.audio import SAMPLE_RATE
from asr.recognize import AsrOptions, FasterWhisperBackend, drop_loops
from asr.transcript import Word


class _GivesUpWithFallback:
    """A faster-whisper stand-in: with the temperature fallback (several temperatures) and the
    no-speech skip, every window is dropped (no segments); at temperature 0 alone, with nothing
    skipped, it writes one word per second of audio."""

    def __init__(self):
        self.calls = []

    def transcribe(self, audio, **kw):
        self.calls.append(kw)
        info = SimpleNamespace(language="fr")
        if len(kw["temperature"]) > 1 and kw["no_speech_threshold"] is not None:
            return iter(()), info
        n = int(len(audio) / SAMPLE_RATE)
        words = [
            SimpleNamespace(word=f" mot{i}", start=i + 0.1, end=i + 0.8, probability=0.6) for i in range(n)
        ]
        return iter([SimpleNamespace(words=words)]), info


def _backend(model, **kw):
    b = object.__new__(FasterWhisperBackend)  # no model loading: the stand-in decodes
    b.opts, b.model = AsrOptions(seed=None, **kw), model
    return b


def test_speech_dropped_by_fallback_is_decoded_again():
    model = _GivesUpWithFallback()
    audio = np.zeros(20 * SAMPLE_RATE, np.float32)
    regions = [(1.0, 5.0), (8.0, 8.5), (10.0, 14.0)]
    words, lang = _backend(model).recognize(audio, regions, offset=100.0)
    assert lang == "fr" and len(model.calls) == 2
    again = model.calls[1]
    assert again["temperature"] == [0.0] and again["no_speech_threshold"] is None
    # the two long regions got words back, at their own (absolute) times; the 0.5 s blip is
    # too short to be worth a second pass
    assert words and all(101.0 <= w.start <= 105.0 or 110.0 <= w.start <= 114.0 for w in words)
    assert {int(w.start) // 10 for w in words} == {10, 11}
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_no_second_pass_when_words_came_back_or_nothing_to_change():
    model = _GivesUpWithFallback()
    regions = [(1.0, 5.0)]
    audio = np.zeros(10 * SAMPLE_RATE, np.float32)
    # temperature 0 only and no no-speech skip: the first pass is already the second pass
    words, _ = _backend(model, temperatures=(0.0,), no_speech_threshold=None).recognize(audio, regions)
    assert words and len(model.calls) == 1


@pytest.mark.slow
def test_synthesized_call_that_came_out_empty(simsamu_dir):
    """The real case, on the part of the call the fallback dropped (bundled Whisper base)."""
    from tests.conftest import need_espeak

    need_espeak()
    from asr.pipeline import PipelineOptions, transcribe
    from asr.synth import SynthOptions, load_call, render_transcript

    r = render_transcript(load_call("dj_2022_va_accoucher", simsamu_dir), SynthOptions(max_duration=30))
    t = transcribe(r.audio, PipelineOptions())
    assert len(t.words) >= 10
    # words fall inside the reference speech, not in made-up places
    spans = [(s.start - 0.5, s.end + 0.5) for s in r.reference.segments]
    inside = [w for w in t.words if any(a <= w.start <= b for a, b in spans)]
    assert len(inside) / len(t.words) > 0.8


def test_repetition_loops_are_cut_real_repeats_kept():
    def ws(text):
        return [Word(t, i * 0.5, i * 0.5 + 0.4) for i, t in enumerate(text.split())]

    loop = ws("Je peux la voir. " + "de l'entraînement " * 30 + "Et elle est là.")
    kept = [w.text for w in drop_loops(loop)]
    assert (
        kept
        == "Je peux la voir. de l'entraînement de l'entraînement de l'entraînement Et elle est là.".split()
    )
    # times stay those of the words kept
    assert drop_loops(loop)[-1].start == loop[-1].start
    # real speech repeats a little: kept whole
    for text in ("oui oui oui d'accord", "bah ouais ouais ouais là elle est", "non non, non."):
        assert [w.text for w in drop_loops(ws(text))] == text.split()
    assert [w.text for w in drop_loops(ws("Ouais, ouais ouais ouais ouais ouais"))] == [
        "Ouais,",
        "ouais",
        "ouais",
    ]
