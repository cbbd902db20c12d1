"""Word -> speaker assignment and segment building (exact)."""

from __future__ import annotations

from asr.assign import assign_words, words_to_segments
from asr.transcript import Word


def W(t, s, e):
    return Word(t, s, e)


def test_word_takes_turn_with_most_overlap():
    turns = [(0.0, 1.0, "A"), (1.0, 3.0, "B")]
    ws = assign_words([W("x", 0.7, 1.2), W("y", 0.9, 1.5)], turns)
    assert [w.speaker for w in ws] == ["A", "B"]  # 0.3 vs 0.2 ; 0.1 vs 0.5


def test_word_in_gap_takes_nearest_turn():
    turns = [(0.0, 1.0, "A"), (5.0, 6.0, "B")]
    ws = assign_words(
        [W("near_a", 1.5, 1.8), W("near_b", 4.0, 4.6), W("after", 9.0, 9.5), W("before", -1, -0.5)], turns
    )
    assert [w.speaker for w in ws] == ["A", "B", "B", "A"]


def test_long_turn_found_even_when_later_turns_start_before_word():
    turns = [(0.0, 30.0, "A"), (10.0, 10.5, "B"), (20.0, 20.4, "C")]
    ws = assign_words([W("x", 25.0, 25.5)], turns)
    assert ws[0].speaker == "A"


def test_no_turns_leaves_words_unlabelled():
    assert assign_words([W("x", 0, 1)], [])[0].speaker is None


def test_segments_are_runs_of_one_speaker():
    turns = [(0.0, 2.0, "A"), (2.0, 4.0, "B"), (4.0, 6.0, "A")]
    ws = [W("bonjour", 0.1, 0.5), W("samu", 0.6, 1.0), W("oui", 2.2, 2.5), W("allo", 4.5, 5.0)]
    segs = words_to_segments(ws, turns)
    assert [(s.speaker, s.text, s.start, s.end) for s in segs] == [
        ("A", "bonjour samu", 0.1, 1.0),
        ("B", "oui", 2.2, 2.5),
        ("A", "allo", 4.5, 5.0),
    ]
