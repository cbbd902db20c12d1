"""Faithfulness check: names and numbers of a summary against its transcript."""

from __future__ import annotations

import pytest

from asr.transcript import Segment, Transcript
from summarize import SummaryOptions, check_faithfulness, summarize

from .helpers import DEBATE, transcript
from .test_llm import FakeLLM

MEETING = transcript(
    [
        ("Anne Dupré", "Bonsoir. Ce soir, le budget de la commune avec monsieur Martin et madame Bernard."),
        ("Jean Martin", "Le budget est de vingt-trois millions d'euros, dont 12 % pour les écoles."),
        ("Élise Bernard", "Je propose de recruter 45 animateurs et de rénover trois gymnases en 2025."),
    ]
)


def _unsupported(report) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in report.unsupported]


def test_names_in_the_transcript_are_supported_and_invented_ones_are_not():
    r = check_faithfulness(
        "Anne Dupré ouvre le débat. Selon Jean Martin, les écoles passent d'abord. Pierre Durand s'y oppose.",
        MEETING,
    )
    names = [m.text for m in r.mentions if m.kind == "name"]
    assert names == ["Anne Dupré", "Jean Martin", "Pierre Durand"]
    assert _unsupported(r) == [("name", "Pierre Durand")]
    # the flag is on the sentence that says it, not on the others
    assert [s.supported for s in r.sentences] == [True, True, False]
    assert r.count("name") == (1, 3) and r.rate("name") == pytest.approx(1 / 3)


def test_case_accents_and_sentence_openers_do_not_count():
    r = check_faithfulness(
        "Dans ce débat, ELISE BERNARD est citée ; selon elise bernard, Elise Bernard veut des gymnases.",
        MEETING,
    )
    assert [m.text for m in r.mentions if m.kind == "name"] == ["Elise Bernard"]  # "Dans" is no name
    assert not r.unsupported


@pytest.mark.parametrize(
    "said, summary, supported",
    [
        ("vingt-trois millions d'euros", "un budget de 23 millions", True),
        ("vingt-trois millions d'euros", "un budget de 23 000 000 euros", True),
        ("23 millions d'euros", "un budget de vingt-trois millions", True),
        ("vingt-trois élèves", "une classe de 23 élèves", True),
        ("23 élèves", "une classe de vingt-trois élèves", True),
        ("vingt-trois élèves", "une classe de 24 élèves", False),
        ("23 élèves", "une classe de vingt-quatre élèves", False),
        ("douze pour cent", "une hausse de 12 %", True),
        ("1,5 %", "une hausse de un virgule cinq pour cent", True),
        ("en quatre-vingt-un", "en 1981", True),
    ],
)
def test_numbers_match_in_words_or_digits(said, summary, supported):
    t = transcript([("Jean Martin", f"Nous avons voté {said}, c'est notre engagement.")])
    r = check_faithfulness(f"Jean Martin annonce {summary}.", t)
    numbers = [m for m in r.mentions if m.kind == "number"]
    assert len(numbers) == 1, numbers
    assert numbers[0].supported is supported


def test_small_number_words_and_articles_are_not_numbers():
    r = check_faithfulness("Les deux candidats veulent une réforme et un débat.", MEETING)
    assert [m for m in r.mentions if m.kind == "number"] == []


def test_speakers_labelled_by_initials_are_known_by_their_full_name():
    t = Transcript(
        (
            Segment(0, 5, "P1", "Monsieur Macron, madame Le Pen, bonsoir."),
            Segment(5, 9, "EM", "Je défends l'Europe, madame Le Pen."),
            Segment(9, 14, "MLP", "Monsieur Macron, vous défendez la mondialisation."),
        )
    )
    r = check_faithfulness("Emmanuel Macron défend l'Europe face à Marine Le Pen. Paul Dupont se tait.", t)
    assert _unsupported(r) == [("name", "Paul Dupont")]


def test_speaker_labels_of_summary_lines_are_checked():
    r = check_faithfulness(
        "Jean Martin : Le budget est de vingt-trois millions d'euros.\nPaul Roux : Je propose 45 animateurs.",
        MEETING,
    )
    assert _unsupported(r) == [("name", "Paul Roux")]
    assert r.kept_text() == "Jean Martin : Le budget est de vingt-trois millions d'euros."


def test_kept_text_drops_only_the_flagged_sentences():
    summary = "Jean Martin présente un budget de 23 millions. Il prévoit 99 gymnases.\nÉlise Bernard veut 45 animateurs."
    r = check_faithfulness(summary, MEETING)
    assert _unsupported(r) == [("number", "99")]
    assert (
        r.kept_text() == "Jean Martin présente un budget de 23 millions.\nÉlise Bernard veut 45 animateurs."
    )
    assert r.warnings() == ["nombre absent de la transcription : « 99 »"]


# --------------------------------------------------------------------------- in summarize()


def _llm_saying(text: str) -> FakeLLM:
    """A model that writes ``text`` once as its summary."""

    def answer(prompt: str) -> str:
        return "" if prompt.rstrip().endswith(".") else " " + text

    return FakeLLM(answer, context_length=2000)


SAID = (
    "Jean Martin veut revaloriser le salaire des enseignants. "
    "Élise Bernard propose des classes de douze élèves. "
    "Jacques Chirac soutient des classes de 30 élèves."
)


def test_flag_keeps_the_summary_and_warns_in_french():
    s = summarize(transcript(), SummaryOptions(method="llm", max_words=80), llm=_llm_saying(SAID))
    assert "Jacques Chirac" in s.text
    assert set(s.unsupported) == {"Jacques Chirac", "30"}
    assert "nom absent de la transcription : « Jacques Chirac »" in s.warnings
    assert "nombre absent de la transcription : « 30 »" in s.warnings
    assert s.to_dict()["unsupported"] == list(s.unsupported)


def test_drop_removes_the_unsupported_sentences():
    s = summarize(
        transcript(), SummaryOptions(method="llm", max_words=80, faithfulness="drop"), llm=_llm_saying(SAID)
    )
    assert "Chirac" not in s.text and "30" not in s.text
    assert "Jean Martin" in s.text and "douze élèves" in s.text
    assert any("1 phrase retirée" in w for w in s.warnings)


def test_off_does_not_check():
    s = summarize(
        transcript(), SummaryOptions(method="llm", max_words=80, faithfulness="off"), llm=_llm_saying(SAID)
    )
    assert "Jacques Chirac" in s.text and s.unsupported == ()


def test_drop_that_leaves_nothing_is_an_error():
    with pytest.raises(ValueError, match="résumé vide.*absents de la transcription"):
        summarize(
            transcript(),
            SummaryOptions(method="llm", max_words=80, faithfulness="drop"),
            llm=_llm_saying("Jacques Chirac soutient des classes de 30 élèves."),
        )


def test_extractive_summaries_are_faithful_by_construction():
    s = summarize(transcript(DEBATE * 3), SummaryOptions(max_words=80))
    assert s.unsupported == () and not any("absent" in w for w in s.warnings)


def test_faithfulness_option_is_validated():
    with pytest.raises(ValueError, match="faithfulness"):
        SummaryOptions(faithfulness="maybe")
