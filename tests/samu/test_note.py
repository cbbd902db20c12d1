"""The short call note: four French lines read off the form, only from values with evidence."""

from __future__ import annotations

import json

import pytest

from samu import extract_form
from samu.note import MANUAL, call_note
from samu.schema import CallForm, Evidence, FieldValue, Finding, code_labels
from tests.conftest import shared
from tests.samu.test_rules import AVC_CHILD


@pytest.fixture(autouse=True)
def _hubsante(monkeypatch):
    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))


def _ev(q: str) -> tuple[Evidence, ...]:
    return (Evidence(0, q),)


def test_note_of_a_call_names_motif_patient_signs_and_decision():
    form = extract_form(AVC_CHILD, "rules")
    v = form.values()
    note = call_note(form)
    assert [line.split(" : ")[0] for line in note.lines] == ["Motif", "Patient", "Signes", "Décision"]
    label = code_labels("motif")[v["qualification.motif"]]
    assert label in note.lines[0] and v["qualification.priority"] in note.lines[0]
    assert note.lines[1] == f"Patient : femme, {v['patient.age']}"
    assert "SMUR" in note.lines[3] and note.lines[3].startswith("Décision : intervention")
    # every value in the note has a quote in the transcript
    texts = [s.text for s in AVC_CHILD.segments]
    for name in ("qualification.motif", "patient.age", "patient.sex", "decision.type"):
        for e in form.fields[name].evidence:
            assert e.quote in texts[e.segment]
    assert note.skipped == ()


def test_values_without_evidence_are_left_out_and_counted():
    form = CallForm(
        {
            "patient.age": FieldValue("42 ans", _ev("quarante deux ans")),
            "patient.sex": FieldValue("M", (), 0.6, "model"),  # a guess without a quote
            "decision.type": FieldValue("INTER", _ev("je vous envoie")),
            "decision.resource": FieldValue("SMUR", (), 0.7, "model"),
            "decision.orientation": FieldValue("URGENCES", (), 1.0, MANUAL),  # a person's edit
        },
        findings=(
            Finding("fièvre", True, False, _ev("pas de fièvre")),
            Finding("essoufflement", False, True, _ev("je crois qu'il respire mal")),
            Finding("autre douleur", True, False, _ev("pas d'autre douleur")),
            Finding("vomissements", False, False, ()),
        ),
    )
    note = call_note(form)
    assert note.lines == (
        "Patient : 42 ans",
        "Signes : pas de fièvre, pas d'autre douleur; essoufflement ? (incertain)",
        "Décision : intervention — orientation urgences",
    )
    assert set(note.skipped) == {"patient.sex", "decision.resource", "finding:vomissements"}
    assert "homme" not in note.text and "SMUR" not in note.text


def test_a_sign_said_and_denied_is_uncertain_and_an_empty_form_gives_no_note():
    form = CallForm(
        {"patient.pain": FieldValue("oui", _ev("il a mal"))},
        findings=(Finding("douleur", True, False, _ev("pas de douleur")),),
    )
    assert call_note(form).lines == ("Signes : douleur ? (incertain)",)
    assert call_note(CallForm()).lines == ()


def test_process_writes_the_note_and_the_report_shows_it(tmp_path, capsys):
    from apps.cli import main
    from apps.runner import is_output_name
    from asr.transcript import write_transcript

    src = tmp_path / "in" / "appel.json"
    src.parent.mkdir()
    write_transcript(AVC_CHILD, src)
    out = tmp_path / "out"
    assert main(["process", str(src.parent), "--out", str(out), "--extractor", "rules", "-q"]) == 0, (
        capsys.readouterr().err
    )
    note = (out / "appel.note.txt").read_text().splitlines()
    form = CallForm.from_dict(json.loads((out / "appel.form.json").read_text()))
    assert note == list(call_note(form).lines) and note[0].startswith("Motif : ")
    report = (out / "appel.report.html").read_text()
    assert "Note d&#x27;appel" in report or "Note d'appel" in report
    assert "femme, 16 ans" in report
    assert is_output_name("appel.note.txt")  # a note is never taken as an input
