"""RS-EDA export validates against the Hub Santé schema (jsonschema), with the mapped fields."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import shared
from tests.samu.test_rules import AVC_CHILD, FALL_ELDERLY


@pytest.fixture(autouse=True)
def _hubsante(monkeypatch):
    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))


def test_rs_eda_valid_and_mapped():
    from samu.export import to_rs_eda, validate_rs_eda
    from samu.rules import extract_rules

    form = extract_rules(AVC_CHILD)
    msg = to_rs_eda(form, case_ref="appel-1", creation="2026-01-02T03:04:05+01:00")
    assert validate_rs_eda(msg) == []
    assert msg["qualification"]["healthMotive"] == {"code": "M03.08", "label": "Signes d’AVC"}
    assert msg["qualification"]["details"]["priority"] == "P0"
    assert msg["patient"][0]["detail"]["age"] == "P16Y"
    assert msg["patient"][0]["identity"]["strictFeatures"]["sex"] == "F"
    assert msg["initialAlert"]["caller"]["type"] == "FAMILLE"
    assert msg["decision"][0]["decisionType"] == "INTER" and msg["decision"][0]["resourceType"] == "SMUR"
    # negated findings survive in the clinical note
    assert "absents" in msg["medicalNote"][0]["freetext"]
    # same call, same ids
    assert to_rs_eda(form, case_ref="appel-1", creation=msg["creation"]) == msg


def test_rs_eda_city_and_months():
    from samu.export import to_rs_eda, validate_rs_eda
    from samu.rules import extract_rules
    from tests.samu.test_rules import ADVICE, call

    msg = to_rs_eda(extract_rules(ADVICE))
    assert validate_rs_eda(msg) == []
    assert msg["patient"][0]["detail"]["age"] == "P3M"
    t = call(
        ("medecin", "quelle ville ?"), ("patient", "à villeurbanne"), ("medecin", "on envoie les pompiers")
    )
    msg = to_rs_eda(extract_rules(t))
    assert validate_rs_eda(msg) == [] and msg["location"]["city"]["name"] == "villeurbanne"


def test_validation_catches_a_broken_message():
    from samu.export import to_rs_eda, validate_rs_eda
    from samu.rules import extract_rules

    msg = to_rs_eda(extract_rules(FALL_ELDERLY))
    bad = copy.deepcopy(msg)
    bad["qualification"]["details"]["priority"] = "P9"
    del bad["caseId"]
    errors = validate_rs_eda(bad)
    assert any("P9" in e for e in errors) and any("caseId" in e for e in errors)


def test_empty_form_still_valid():
    from samu.export import to_rs_eda, validate_rs_eda
    from samu.schema import CallForm

    assert validate_rs_eda(to_rs_eda(CallForm())) == []
