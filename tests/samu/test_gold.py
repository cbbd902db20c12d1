"""Gold SAMU forms: every file validates, codes exist, evidence points at real segments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samu.gold import (
    CODED_FIELDS,
    GOLD_DIR,
    GOLD_FIELDS,
    load_gold,
    load_gold_dir,
    nomenclature_codes,
)
from tests.conftest import shared

GOLD_FILES = sorted(GOLD_DIR.glob("*.json"))


def _good_form(call: str = "demo_call") -> dict:
    fields = dict.fromkeys(GOLD_FIELDS)
    fields.update(
        {
            "qualification.motif": "M03.06",
            "qualification.priority": "P2",
            "patient.age": "72 ans",
            "patient.sex": "F",
            "caller.type": "FAMILLE",
            "location.address_present": False,
            "decision.type": "ORIENT",
            "decision.orientation": "URGENCES",
        }
    )
    evidence = {"qualification.motif": [0, 2], "patient.age": [1]}
    return {"call": call, "fields": fields, "evidence": evidence, "notes": "synthetic"}


def _write(tmp_path: Path, form: dict | str, name: str = "demo_call") -> Path:
    p = tmp_path / f"{name}.json"
    p.write_text(form if isinstance(form, str) else json.dumps(form), encoding="utf-8")
    return p


def test_gold_fields_order():
    assert GOLD_FIELDS[0] == "qualification.motif"
    assert GOLD_FIELDS[-1] == "decision.orientation"
    assert len(GOLD_FIELDS) == len(set(GOLD_FIELDS)) == 11


def test_at_least_twenty_gold_forms_load_without_nomenclature():
    forms = load_gold_dir(check_codes=False)
    assert len(forms) >= 20
    assert set(forms) == {p.stem for p in GOLD_FILES}
    for call, form in forms.items():
        assert list(form["fields"]) == list(GOLD_FIELDS), call
        # every non-null stated value is backed by evidence, and notes explain choices
        for field, value in form["fields"].items():
            if value not in (None, False):
                assert form["evidence"].get(field), f"{call}: no evidence for {field}"
        assert form["notes"].strip(), call


def test_gold_codes_exist_in_nomenclature():
    hub = shared("hubsante")
    forms = load_gold_dir(hubsante_dir=hub)
    assert len(forms) >= 20
    for field, name in CODED_FIELDS.items():
        codes = nomenclature_codes(name, hub)
        for call, form in forms.items():
            value = form["fields"][field]
            assert value is None or value in codes, f"{call}: {field}={value!r}"


def test_gold_calls_exist_and_evidence_within_segments():
    from asr.transcript import read_transcript

    simsamu = shared("simsamu")
    for call, form in load_gold_dir(check_codes=False).items():
        src = simsamu / call / f"{call}.json"
        assert src.is_file(), f"gold form for unknown call {call}"
        n = len(read_transcript(src).segments)
        for field, idx in form["evidence"].items():
            assert all(0 <= i < n for i in idx), f"{call}: {field} evidence {idx} outside 0..{n - 1}"


def test_nomenclature_codes_reads_csv(tmp_path):
    nom = tmp_path / "nomenclatures"
    nom.mkdir()
    (nom / "HubSante.priorite.csv").write_text(",code,label_n1\n0,P0,Urgence vitale\n1,P1,Prio\n")
    assert nomenclature_codes("priorite", tmp_path) == {"P0", "P1"}
    assert nomenclature_codes("HubSante.priorite", tmp_path) == {"P0", "P1"}
    with pytest.raises(FileNotFoundError, match="HubSante.motif.csv"):
        nomenclature_codes("motif", tmp_path)


def test_valid_synthetic_form_loads(tmp_path):
    form = load_gold(_write(tmp_path, _good_form()), check_codes=False)
    assert form["fields"]["patient.age"] == "72 ans"
    assert form["evidence"] == {"qualification.motif": [0, 2], "patient.age": [1]}


def _mutations():
    def unknown_field(f):
        f["fields"]["patient.name"] = "x"

    def missing_field(f):
        del f["fields"]["decision.type"]

    def bad_age(f):
        f["fields"]["patient.age"] = "environ 40 ans"

    def evidence_not_ints(f):
        f["evidence"]["patient.age"] = ["1"]

    def evidence_for_null(f):
        f["evidence"]["location.city"] = [3]

    def aucune(f):
        f["fields"]["caller.communication"] = "AUCUNE"

    def level2_resource(f):
        f["fields"]["decision.resource"] = "SMUR.PED"

    def city_case(f):
        f["fields"]["location.city"] = "Montreuil"

    def address_not_bool(f):
        f["fields"]["location.address_present"] = None

    def call_mismatch(f):
        f["call"] = "other_call"

    def extra_top_key(f):
        f["quotes"] = ["..."]

    return [
        (unknown_field, "unknown fields"),
        (missing_field, "missing fields"),
        (bad_age, "patient.age"),
        (evidence_not_ints, "evidence for 'patient.age'"),
        (evidence_for_null, "location.city"),
        (aucune, "AUCUNE"),
        (level2_resource, "level-1"),
        (city_case, "lowercase"),
        (address_not_bool, "address_present"),
        (call_mismatch, "file is named"),
        (extra_top_key, "unknown keys"),
    ]


@pytest.mark.parametrize(("mutate", "message"), _mutations(), ids=lambda x: getattr(x, "__name__", ""))
def test_malformed_form_raises_naming_file(tmp_path, mutate, message):
    form = _good_form()
    mutate(form)
    p = _write(tmp_path, form)
    with pytest.raises(ValueError) as exc:
        load_gold(p, check_codes=False)
    assert str(p) in str(exc.value)
    assert message in str(exc.value)


def test_invalid_json_raises_naming_file(tmp_path):
    p = _write(tmp_path, "{not json", name="broken")
    with pytest.raises(ValueError, match="broken.json"):
        load_gold(p, check_codes=False)


def test_unknown_code_rejected(tmp_path):
    hub = shared("hubsante")
    form = _good_form()
    form["fields"]["qualification.motif"] = "M99.99"
    p = _write(tmp_path, form)
    with pytest.raises(ValueError, match=r"demo_call\.json.*M99\.99"):
        load_gold(p, hubsante_dir=hub)


def test_load_gold_dir_reports_bad_file(tmp_path):
    _write(tmp_path, _good_form())
    bad = _good_form("bad_call")
    bad["fields"]["patient.sex"] = 1
    _write(tmp_path, bad, name="bad_call")
    with pytest.raises(ValueError, match="bad_call.json"):
        load_gold_dir(tmp_path, check_codes=False)
    with pytest.raises(ValueError, match="not found"):
        load_gold_dir(tmp_path / "missing", check_codes=False)
