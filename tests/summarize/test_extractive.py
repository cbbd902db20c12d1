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


# --------------------------------------------------------------------------- long and odd transcripts

_TOPICS = [
    "le budget de la commune doit financer les écoles et les routes de campagne",
    "nous allons augmenter les impôts locaux pour payer les nouvelles infrastructures",
    "je ne suis pas d'accord avec cette proposition qui coûte beaucoup trop cher",
    "la santé des habitants reste notre première priorité pour les années à venir",
    "les transports en commun doivent desservir les villages les plus isolés du département",
    "il faut protéger les commerces du centre-ville contre la concurrence des grandes surfaces",
]


def _repetitive_transcript(n_segments: int, seed: int = 0) -> Transcript:
    """A long meeting where a few sentences come back again and again (with case, accent,
    punctuation and hesitation variants), between distinct ones."""
    import random

    rng = random.Random(seed)
    variants = [
        lambda s: s[0].upper() + s[1:] + ".",
        lambda s: "Euh, " + s + " !",
        lambda s: s.upper() + ".",
        lambda s: s.replace("é", "e").capitalize() + "...",
    ]
    turns = []
    for i in range(n_segments):
        if rng.random() < 0.6:
            text = rng.choice(variants)(rng.choice(_TOPICS))
        else:
            text = f"Le dossier numéro {i} concerne la parcelle {i % 97} et le quartier {i % 13} de la ville."
        turns.append((f"Élu {i % 5}", text))
    return transcript(turns)


def _keys(summary_text: str) -> list[str]:
    """Each sentence of the summary as a reader compares them: case, accents, punctuation and
    "euh" ignored."""
    import re
    import unicodedata

    def key(sentence: str) -> str:
        s = "".join(
            c for c in unicodedata.normalize("NFKD", sentence.lower()) if not unicodedata.combining(c)
        )
        return " ".join(w for w in re.findall(r"[^\W_]+", s) if w != "euh")

    sentences = re.split(
        r"(?<=[.!?])\s+", "\n".join(line.split(" : ", 1)[-1] for line in summary_text.splitlines())
    )
    return [key(s) for s in sentences if key(s)]


@pytest.mark.parametrize("n_segments", [400, 50_000])
def test_repeated_sentences_appear_once_in_the_summary(n_segments):
    t = _repetitive_transcript(n_segments)
    t0 = time.perf_counter()
    s = summarize(t, SummaryOptions(max_words=400))
    seconds = time.perf_counter() - t0
    keys = _keys(s.text)
    assert keys and len(set(keys)) == len(keys), s.text  # no sentence twice, whatever its spelling
    lines = s.text.splitlines()
    assert len(set(lines)) == len(lines)
    assert 0 < s.word_count <= 400
    # 50k segments (~1 M words) in seconds, not minutes: the selection is not quadratic
    assert seconds < (20 if n_segments > 1000 else 5), seconds


def test_a_transcript_without_punctuation_still_gets_a_summary():
    import random

    rng = random.Random(1)
    words = " ".join(_TOPICS).split()
    # 1.2 MB of text with no punctuation at all, in two long turns
    text = " ".join(rng.choice(words) for _ in range(200_000))
    half = len(text) // 2
    cut = text.index(" ", half)
    t = transcript([("Alice", text[:cut]), ("Bruno", text[cut + 1 :])])
    assert len(t.text) > 1_000_000
    s = summarize(t)
    assert s.text.strip() and 0 < s.word_count <= s.max_words
    # pseudo-sentences of about 25 words, not one 100 000-word "sentence"
    pieces = units(t)
    assert len(pieces) > 1000 and all(count_words(u.text) <= 30 for u in pieces)
    by_speaker = {spk: [u.text for u in pieces if u.speaker == spk] for spk in ("Alice", "Bruno")}
    for line in s.text.splitlines():
        speaker, _, body = line.partition(" : ")
        # each line is whole pseudo-sentences of that speaker: verbatim runs of words
        while body:
            run = next((u for u in by_speaker[speaker] if body.startswith(u)), None)
            assert run is not None, body[:80]
            body = body[len(run) :].lstrip()


def test_sentences_longer_than_the_budget_give_a_cut_sentence_not_nothing():
    long_turns = [("Jean Martin", text.replace(".", ",")) for _, text in DEBATE]
    s = summarize(transcript(long_turns), SummaryOptions(max_words=10))
    assert s.text.strip() and s.word_count <= 10
    assert s.text.startswith("Jean Martin : ") and s.text.endswith("…")


def test_an_empty_summary_is_an_error_not_a_success():
    # the speaker's label alone is longer than the budget: nothing can be shown
    who = "Le représentant de l'association des parents d'élèves du quartier nord"
    t = transcript([(who, text) for _, text in DEBATE], source="conseil.json")
    with pytest.raises(ValueError, match="résumé vide.*budget de 10 mots"):
        summarize(t, SummaryOptions(max_words=10))
    # with room for the label it works
    assert summarize(t, SummaryOptions(max_words=40)).text.startswith(who)
