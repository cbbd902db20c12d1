"""The project's own SAMU calls: every file valid, quotes verbatim, splits disjoint, usable by the scorers."""

from __future__ import annotations

import json

import pytest

from samu.corpus import CALLS_DIR, check_call, load_call, load_split
from samu.gold import DEFAULT_HUBSANTE

needs_codes = pytest.mark.skipif(
    not (DEFAULT_HUBSANTE / "nomenclatures").is_dir(), reason="Hub Santé code lists (../shared/data) absent"
)


@needs_codes
def test_every_call_is_valid_and_the_splits_are_disjoint():
    train, dev = load_split("train"), load_split("dev")
    assert len(train) >= 120 and len(dev) >= 40
    assert not set(train) & set(dev)
    for c in list(train.values()) + list(dev.values()):
        t = c.transcript
        assert t.roles and set(t.roles.values()) <= {"regulateur", "appelant"}
        for field, quotes in c.quotes.items():
            for i, q in quotes:
                assert q in t.segments[i].text, (c.call, field)
        assert all(0 <= i < len(t.segments) for idx in c.gold["evidence"].values() for i in idx)


def _minimal():
    return {
        "call": "essai_001",
        "call_date": "2026-01-02",
        "style": "test",
        "turns": [
            ["regulateur", "samu bonjour"],
            ["appelant", "mon mari est tombé il a soixante ans"],
            ["regulateur", "je vous envoie les pompiers"],
            ["appelant", "merci"],
        ],
        "fields": {
            "qualification.motif": None,
            "qualification.priority": None,
            "patient.age": "60 ans",
            "patient.sex": "M",
            "caller.type": "FAMILLE",
            "caller.communication": None,
            "location.address_present": False,
            "location.city": None,
            "decision.type": None,
            "decision.resource": None,
            "decision.orientation": None,
        },
        "evidence": {
            "patient.age": [{"turn": 1, "quote": "il a soixante ans"}],
            "patient.sex": [{"turn": 1, "quote": "mon mari"}],
            "caller.type": [{"turn": 1, "quote": "mon mari"}],
        },
        "notes": "",
    }


def test_a_quote_not_in_its_turn_and_a_value_without_evidence_are_refused(tmp_path):
    d = _minimal()
    assert check_call(d, "essai_001") == []
    d["evidence"]["patient.age"] = [{"turn": 2, "quote": "il a soixante ans"}]
    del d["evidence"]["caller.type"]
    problems = " ".join(check_call(d, "essai_001"))
    assert "not in turn 2" in problems and "caller.type = 'FAMILLE' has no evidence" in problems
    p = tmp_path / "essai_001.json"
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="essai_001.json"):
        load_call(p, check_codes=False)


@needs_codes
def test_a_code_outside_the_hub_sante_lists_is_refused(tmp_path):
    d = _minimal()
    d["fields"]["caller.type"] = "COUSIN"
    p = tmp_path / "essai_001.json"
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="COUSIN"):
        load_call(p)


def test_corpus_folder_exists():
    assert (CALLS_DIR / "train").is_dir() and (CALLS_DIR / "dev").is_dir()
