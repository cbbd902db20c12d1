"""FREDSum reader: labels, continuation lines, CP-1252 quirks, synthetic times."""

from __future__ import annotations

import pytest

from summarize.fredsum import list_test_split, looks_like_fredsum, parse_fredsum_text, read_fredsum
from summarize.text import resolve_initials

from ..conftest import shared
from .helpers import DEBATE, fredsum_text


def test_reader_builds_a_transcript_with_synthetic_ordered_times(tmp_path):
    p = tmp_path / "A_B--Partie_1_Ecole.txt"
    p.write_bytes(fredsum_text().encode("utf-8"))
    t = read_fredsum(p)
    assert [s.speaker for s in t.segments] == [spk for spk, _ in DEBATE]
    assert [s.text for s in t.segments] == [text for _, text in DEBATE]
    assert t.source == p.name and t.language == "fr"
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts) and all(s.end > s.start for s in t.segments)
    assert t.duration == pytest.approx(t.segments[-1].end)
    assert looks_like_fredsum(p)


def test_quirks_continuation_lines_and_cp1252_quotes():
    text = (
        "EM : Je crois que l\x92’euro est une chance.\r\n"
        "Et je le redis : nous devons rester.\r\n\r\n"  # no label: continues EM
        "EM : C\x92est essentiel.\r\n"  # same speaker again: same turn
        "MLP : Non, l\x92euro a échoué.\r\n"
    )
    t = parse_fredsum_text(text, source="x.txt")
    assert [s.speaker for s in t.segments] == ["EM", "MLP"]
    assert (
        t.segments[0].text
        == "Je crois que l’euro est une chance. Et je le redis : nous devons rester. C’est essentiel."
    )
    assert t.segments[1].text == "Non, l’euro a échoué."


def test_text_without_any_label_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="LOCUTEUR"):
        parse_fredsum_text("Juste une phrase sans locuteur.\nEt une autre.")
    with pytest.raises(ValueError, match="introuvable"):
        read_fredsum(tmp_path / "absent.txt")


def test_initials_resolve_to_full_names_found_in_the_text():
    text = (
        "Emmanuel Macron et Marine Le Pen débattent. Madame Le Pen, Monsieur Macron, merci. "
        "Jean-Luc Mélenchon est absent. Vladimir Poutine est cité. Madame Pécresse répond."
    )
    names = resolve_initials(["EM", "MLP", "JLM", "VP", "P1", "Anne"], text)
    # VP: "Vladimir Poutine" fits the initials but the one addressed is Madame Pécresse: left alone
    assert names == {"EM": "Emmanuel Macron", "MLP": "Marine Le Pen", "JLM": "Jean-Luc Mélenchon"}


def test_real_test_split_list_and_files():
    root = shared("fredsum")
    names = list_test_split(root)
    assert len(names) == 29 and "Destaing_Mitterrand_2--Partie_3_Afrique.txt" in names
    t = read_fredsum(root / "transcript" / "Macron_Lepen_1--Partie_3_Europe.txt")
    assert {"EM", "MLP"} <= set(t.speakers)
    assert "\x92" not in t.text
