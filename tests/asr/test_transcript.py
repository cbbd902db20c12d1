"""Readers/writers of the shared Transcript type: exact round trips and simsamu quirks."""

from __future__ import annotations

import json

import pytest

from asr.transcript import (
    Segment,
    Transcript,
    Word,
    read_json,
    read_rttm,
    read_srt,
    read_transcript,
    read_txt,
    read_vtt,
    segments_from_words,
    write_transcript,
)


def sample() -> Transcript:
    w1 = (Word("bonjour", 0.5, 0.9, 0.98), Word("SAMU", 0.95, 1.4, 0.7))
    w2 = (Word("ma", 2.0, 2.2, None), Word("fille", 2.2, 2.6, 0.9))
    return Transcript(
        (
            Segment(0.5, 1.4, "regulateur", "bonjour SAMU", w1),
            Segment(2.0, 2.6, "appelant", "ma fille <3 & co", w2),
            Segment(3661.25, 3662.5, "appelant", "une heure plus tard", ()),
        ),
        language="fr",
        duration=3700.0,
        source="call.wav",
        roles={"regulateur": "regulateur", "appelant": "appelant"},
        turns=(
            Segment(0.4, 1.6, "regulateur"),
            Segment(1.9, 2.8, "appelant"),
            Segment(3661.0, 3663.0, "appelant"),
        ),
    )


def test_json_round_trip_is_exact(tmp_path):
    t = sample()
    write_transcript(t, tmp_path / "t.json")
    assert read_json(tmp_path / "t.json") == t


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitle_round_trip_keeps_times_speakers_text(tmp_path, fmt):
    t = sample()
    write_transcript(t, tmp_path / f"t.{fmt}")
    back = read_transcript(tmp_path / f"t.{fmt}")
    assert [(s.start, s.end, s.speaker, s.text) for s in back.segments] == [
        (s.start, s.end, s.speaker, s.text) for s in t.segments
    ]


def test_srt_hour_timestamp_format(tmp_path):
    write_transcript(sample(), tmp_path / "t.srt")
    assert "01:01:01,250 --> 01:01:02,500" in (tmp_path / "t.srt").read_text()


def test_vtt_escapes_markup(tmp_path):
    write_transcript(sample(), tmp_path / "t.vtt")
    txt = (tmp_path / "t.vtt").read_text()
    assert txt.startswith("WEBVTT")
    assert "&lt;3 &amp; co" in txt
    assert read_vtt(tmp_path / "t.vtt").segments[1].text == "ma fille <3 & co"


def test_rttm_round_trip(tmp_path):
    write_transcript(sample(), tmp_path / "call.rttm")
    line = (tmp_path / "call.rttm").read_text().splitlines()[0]
    assert line.split()[:5] == ["SPEAKER", "call", "1", "0.400", "1.200"]
    back = read_rttm(tmp_path / "call.rttm")
    # RTTM holds the diarizer's turns when the transcript has them
    assert [(s.start, round(s.end, 3), s.speaker) for s in back.segments] == [
        (s.start, s.end, s.speaker) for s in sample().turns
    ]
    no_turns = Transcript(sample().segments)
    write_transcript(no_turns, tmp_path / "seg.rttm")
    assert [s.start for s in read_rttm(tmp_path / "seg.rttm").segments] == [
        s.start for s in no_turns.segments
    ]


def test_txt_uses_roles_and_reads_back(tmp_path):
    write_transcript(sample(), tmp_path / "t.txt")
    lines = (tmp_path / "t.txt").read_text().splitlines()
    assert lines[0] == "regulateur: bonjour SAMU"
    assert [s.speaker for s in read_txt(tmp_path / "t.txt").segments] == [
        "regulateur",
        "appelant",
        "appelant",
    ]


def test_unknown_format_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown transcript format"):
        write_transcript(sample(), tmp_path / "t.docx")
    with pytest.raises(ValueError, match="no such file"):
        read_transcript(tmp_path / "missing.json")


def test_malformed_json_names_the_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(p)
    p.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="neither"):
        read_json(p)


def test_writes_are_atomic_no_temp_left(tmp_path):
    write_transcript(sample(), tmp_path / "t.json")
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_simsamu_rttm_with_na_file_id(simsamu_dir):
    t = read_rttm(simsamu_dir / "dj_2022_avc_16_ans" / "dj_2022_avc_16_ans.rttm")
    assert t.segments[0].start == 3.0 and t.segments[0].speaker == "medecin"
    assert abs(t.segments[0].end - 10.05) < 1e-9
    assert set(t.speakers) == {"medecin", "patient"}


def test_simsamu_srt_with_trailing_turn_number(simsamu_dir):
    rec = simsamu_dir / "dj_2022_avc_16_ans"
    t = read_srt(rec / "dj_2022_avc_16_ans.srt")
    assert t.segments[0].start == 3.0
    assert t.segments[0].text.startswith("bonjour docteur RICHARDO")
    assert not t.segments[0].text.rstrip().endswith(" 1")
    # with the RTTM beside it, read_transcript fills speakers
    t2 = read_transcript(rec / "dj_2022_avc_16_ans.srt")
    assert t2.segments[0].speaker == "medecin" and t2.segments[1].speaker == "patient"


def test_simsamu_all_61_files_read(simsamu_dir):
    recs = sorted(p for p in simsamu_dir.iterdir() if p.is_dir())
    assert len(recs) == 61
    for rec in recs:
        j = read_json(rec / f"{rec.name}.json")
        s = read_transcript(rec / f"{rec.name}.srt")
        r = read_rttm(rec / f"{rec.name}.rttm")
        assert j.segments and s.segments and r.segments, rec.name
        assert all(w.end >= w.start for w in j.words)


def test_simsamu_rev_json_words_and_punctuation(simsamu_dir):
    t = read_json(simsamu_dir / "dj_2022_avc_16_ans" / "dj_2022_avc_16_ans.json")
    s0 = t.segments[0]
    assert s0.speaker == "medecin"
    assert s0.words[0].text == "bonjour" and s0.words[0].start == 3.0
    assert "RICHARDO, heu" in s0.text  # punctuation glued to the word before it
    assert all(w.text not in {",", ".", "?"} for w in s0.words)


def test_segments_from_words_split_on_speaker_and_pause():
    ws = [
        Word("a", 0, 0.5, speaker="A"),
        Word("b", 0.6, 1.0, speaker="A"),
        Word("c", 1.1, 1.5, speaker="B"),
        Word("d", 5.0, 5.5, speaker="B"),
        Word("l'", 5.6, 5.7, speaker="B"),
        Word("eau", 5.7, 6.0, speaker="B"),
        Word(",", 6.0, 6.0, speaker="B"),
    ]
    segs = segments_from_words(ws, max_gap=2.0)
    assert [(s.speaker, s.text) for s in segs] == [("A", "a b"), ("B", "c"), ("B", "d l'eau,")]


def test_relabel_and_bad_times():
    t = sample().relabel({"regulateur": "SPEAKER_00"})
    assert t.speakers[0] == "SPEAKER_00" and t.roles["SPEAKER_00"] == "regulateur"
    with pytest.raises(ValueError):
        Word("x", 2.0, 1.0)


def test_vtt_without_hours(tmp_path):
    p = tmp_path / "w.vtt"
    p.write_text(
        "WEBVTT\n\n00:01.500 --> 00:03.250\nbonjour\n\n01:02:03.000 --> 01:02:04.000\n<v B>fin</v>\n"
    )
    t = read_vtt(p)
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (1.5, 3.25, None, "bonjour"),
        (3723.0, 3724.0, "B", "fin"),
    ]


def test_relabel_keeps_speakers_heard_only_in_turns():
    t = Transcript((Segment(0, 1, "S0", "allo"),), turns=(Segment(0, 1, "S0"), Segment(2, 3, "S1")))
    assert t.speakers == ("S0",)
    t = Transcript(t.segments, turns=t.turns, speakers=("S0", "S1"))
    assert t.relabel({"S1": "appelant"}).speakers == ("S0", "appelant")


def _strict_loads(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name} written")

    return json.loads(text, parse_constant=refuse)


def test_json_never_holds_nan_or_infinity(tmp_path):
    from asr.transcript import json_dumps_strict

    metrics = {"wer": float("nan"), "der": float("inf"), "n": 0, "per_file": [(1.5, float("-inf"))]}
    assert _strict_loads(json_dumps_strict(metrics)) == {
        "wer": None,
        "der": None,
        "n": 0,
        "per_file": [[1.5, None]],
    }
    # a word probability that came out NaN: the transcript file stays standard JSON
    t = Transcript((Segment(0.0, 1.0, "A", "oui", (Word("oui", 0.0, 1.0, float("nan")),)),))
    write_transcript(t, tmp_path / "t.json", "json")
    d = _strict_loads((tmp_path / "t.json").read_text())
    assert d["segments"][0]["words"][0].get("prob") is None
    assert read_transcript(tmp_path / "t.json").segments[0].words[0].prob is None


def test_fold_accents_is_the_one_folding_and_can_keep_offsets():
    from asr.transcript import fold_accents

    assert fold_accents("Éloïse à l'Hôpital, ÇA VA ?") == "eloise a l'hopital, ca va ?"
    assert fold_accents("ﬁn de Straße") == "fin de strasse"  # compatibility forms decomposed
    text = "Ma sœur Éloïse a 23 ans ﬁn."
    folded = fold_accents(text, keep_offsets=True)
    assert len(folded) == len(text) and folded == "ma sœur eloise a 23 ans ﬁn."
    start = folded.index("eloise")
    assert text[start : start + len("eloise")] == "Éloïse"  # offsets in the folded text hold in the original
