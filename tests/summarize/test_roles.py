"""A call labelled by the front end is summarised with role names, not diarizer labels."""

from __future__ import annotations

from asr.transcript import Segment, Transcript
from summarize import SummaryOptions, summarize


def test_roles_replace_speaker_labels():
    segs = (
        Segment(0.0, 3.0, "SPEAKER_00", "samu bonjour, je vous écoute, que se passe-t-il ?", ()),
        Segment(3.0, 8.0, "SPEAKER_01", "mon père est tombé dans la cuisine, il a très mal à la hanche.", ()),
        Segment(8.0, 12.0, "SPEAKER_00", "je vous envoie les pompiers, restez avec lui.", ()),
    )
    t = Transcript(
        segs, language="fr", duration=12.0, roles={"SPEAKER_00": "regulateur", "SPEAKER_01": "appelant"}
    )
    s = summarize(t, SummaryOptions(kind="call", max_words=60))
    assert "appelant :" in s.text and "SPEAKER_01" not in s.text
    assert s.speaker_names["SPEAKER_00"] == "regulateur"
