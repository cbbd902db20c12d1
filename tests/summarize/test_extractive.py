"""Extractive summaries, options, bad inputs."""

from __future__ import annotations

import time

import pytest

from asr.transcript import Segment, Transcript
from summarize import DEFAULT_BUDGET, BudgetRule, SummaryOptions, summarize
from summarize.extractive import lead_summary, units
from summarize.text import count_words

from .helpers import DEBATE, transcript


@pytest.mark.parametrize("budget", [20, 45, 80])
def test_extractive_keeps_speaker_names_and_respects_budget(budget):
    s = summarize(transcript(), SummaryOptions(max_words=budget))
    assert s.method == "extractive" and s.max_words == budget
    assert 0 < s.word_count <= budget
    speakers = {spk for spk, _ in DEBATE}
    for line in s.text.splitlines():
        name, _, body = line.partition(" : ")
        assert name in speakers, line
        # every sentence is the speaker's own words
        assert any(body.split(" ")[0] in text and spk == name for spk, text in DEBATE)
    assert s.to_dict()["word_count"] == s.word_count


def test_extractive_picks_content_not_greetings_and_avoids_repeats():
    s = summarize(transcript(), SummaryOptions(max_words=80))
    assert "Bonsoir" not in s.text and "Merci." not in s.text
    lines = s.text.splitlines()
    assert len(set(lines)) == len(lines)
    # both debaters are heard
    assert "Jean Martin" in s.text and "Élise Bernard" in s.text


def test_default_budget_rule():
    t = transcript()
    s = summarize(t)
    assert s.max_words == DEFAULT_BUDGET(count_words(t.text))
    assert BudgetRule(0.1, 60, 400)(10_000) == 400 and BudgetRule(0.1, 60, 400)(100) == 60
    with pytest.raises(ValueError, match="ratio"):
        BudgetRule(ratio=0)


def test_lead_baseline_takes_the_first_sentences():
    t = transcript()
    lead = lead_summary(t, 30)
    assert lead.startswith("Anne Dupré : Bonsoir à tous.")
    assert count_words(lead) <= 30
    assert len(units(t)) == 14


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"method": "abstractive"}, "method"),
        ({"kind": "podcast"}, "kind"),
        ({"max_words": 3}, "max_words"),
        ({"mmr_lambda": 1.5}, "mmr_lambda"),
        ({"chunk_tokens": 10}, "chunk_tokens"),
    ],
)
def test_options_validate_and_name_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        SummaryOptions(**kw)


def test_empty_transcript_is_a_clear_error():
    with pytest.raises(ValueError, match="vide"):
        summarize(Transcript((Segment(0, 1, "A", ""),), source="vide.json"))
    with pytest.raises(ValueError, match="vide"):
        summarize(Transcript())


def test_llm_method_without_llm_is_a_clear_error():
    with pytest.raises(ValueError, match="llm"):
        summarize(transcript(), SummaryOptions(method="llm"))


def test_one_speaker_and_unlabelled_transcripts():
    mono = transcript([("Jean Martin", text) for _, text in DEBATE])
    s = summarize(mono, SummaryOptions(max_words=40))
    assert s.text and all(line.startswith("Jean Martin : ") for line in s.text.splitlines())
    call = summarize(mono, SummaryOptions(max_words=40, kind="call"))
    assert any("un seul locuteur" in w for w in call.warnings)
    anon = Transcript(tuple(Segment(0, 0, None, text) for _, text in DEBATE))
    s = summarize(anon, SummaryOptions(max_words=40))
    assert s.text and " : " not in s.text.splitlines()[0][:15]


def test_other_language_is_summarised_with_a_warning():
    english = transcript(
        [
            ("Alice", "We are going to talk about the new school policy and what it means for the children."),
            ("Bob", "I think that this is not what the teachers want, and they have said so many times."),
        ]
    )
    s = summarize(english, SummaryOptions(max_words=30))
    assert s.text
    assert any("français" in w for w in s.warnings)


def test_very_long_transcript_is_fast_and_bounded():
    turns = [
        (f"Orateur {i % 7}", f"Phrase numéro {i} sur le budget {i % 13} de la commune et ses écoles.")
        for i in range(6000)
    ]
    t0 = time.perf_counter()
    s = summarize(transcript(turns), SummaryOptions(max_words=120))
    assert time.perf_counter() - t0 < 30
    assert 0 < s.word_count <= 120
