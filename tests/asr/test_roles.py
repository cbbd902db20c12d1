"""Roles regulateur/appelant: short dialogues we write, and the 61 simsamu transcripts."""

from __future__ import annotations

import pytest

from asr.roles import CALLER, REGULATOR, RoleOptions, assign_roles, label_roles
from asr.transcript import Segment, Transcript, read_json


def dialog(*turns):
    return Transcript(tuple(Segment(i, i + 1, spk, txt) for i, (spk, txt) in enumerate(turns)))


def test_regulator_answers_and_asks():
    t = dialog(
        ("S1", "samu j'écoute"),
        ("S2", "allô oui c'est pour ma fille elle a de la fièvre"),
        ("S1", "quel âge a votre fille"),
        ("S2", "trois ans"),
    )
    assert assign_roles(t) == {"S1": REGULATOR, "S2": CALLER}


def test_cues_beat_speaking_first():
    # the caller speaks first ("allô ?") but the other side introduces itself as the doctor
    t = dialog(
        ("A", "allô allô aidez moi s'il vous plaît"),
        ("B", "bonjour je suis le docteur durand du samu, vous appelez pour qui"),
        ("A", "mon mari il est tombé"),
        ("B", "est-ce qu'il respire ? on vous envoie le smur"),
    )
    assert assign_roles(t) == {"A": CALLER, "B": REGULATOR}


def test_rename_and_three_party_call():
    t = dialog(("x", "samu bonjour j'écoute"), ("y", "c'est pour mon père"), ("z", "je suis sa voisine"))
    out = label_roles(t, rename=True)
    assert out.speakers == ("regulateur", "appelant", "appelant_2")
    assert out.roles["regulateur"] == REGULATOR


def test_empty_and_bad_options():
    assert assign_roles(Transcript(())) == {}
    with pytest.raises(ValueError, match="bad regex"):
        RoleOptions(extra_regulator_cues=(("(", 1.0),))


def test_simsamu_role_accuracy(simsamu_dir):
    """All 61 reference transcripts, speaker labels hidden: every medecin found."""
    correct = total = 0
    for rec in sorted(p for p in simsamu_dir.iterdir() if p.is_dir()):
        t = read_json(rec / f"{rec.name}.json")
        hidden = {s: f"S{i}" for i, s in enumerate(t.speakers)}
        truth = {v: k for k, v in hidden.items()}
        roles = assign_roles(t.relabel(hidden))
        for spk, role in roles.items():
            total += 1
            correct += (role == REGULATOR) == (truth[spk] == "medecin")
    assert total >= 122
    assert correct / total >= 0.95
