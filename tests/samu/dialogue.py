"""Short written dialogues as transcripts, for the rule tests (2 s per turn, 0.5 s gaps)."""

from __future__ import annotations

import datetime

from asr.transcript import Segment, Transcript

R, A, T = "regulateur", "appelant", "tiers"


def call(*turns: tuple[str, str]) -> Transcript:
    """A transcript of ``(speaker, text)`` turns; the caller's and a third person's turns both
    have the caller's role (the phone handed over)."""
    segs, t = [], 0.0
    for spk, text in turns:
        segs.append(Segment(t, t + 2.0, spk, text, ()))
        t += 2.5
    roles = {R: "regulateur", A: "appelant", T: "appelant"}
    return Transcript(tuple(segs), language="fr", duration=t, source="test", roles=roles)


def rules_form(*turns: tuple[str, str], day: datetime.date | None = None):
    """The rule extractor's form of a dialogue (``day``: the call date), after checking that every
    value keeps an exact quote of its segment."""
    from samu.rules import extract_rules

    t = call(*turns)
    f = extract_rules(t, call_date=day)
    for name, fv in f.fields.items():
        for e in fv.evidence:
            assert e.quote and e.quote in t.segments[e.segment].text, (name, e)
    return f
