"""Rule extractor on short French dialogues written for these tests (speech style: no capitals,
disfluencies, numbers in words)."""

from __future__ import annotations

import time

import pytest

from asr.transcript import Segment, Transcript
from samu.rules import RuleOptions, extract_rules, infer_priority
from samu.schema import CallForm


def call(*turns: tuple[str, str], language: str = "fr") -> Transcript:
    segs = []
    t = 0.0
    for spk, text in turns:
        segs.append(Segment(t, t + 2.0, spk, text, ()))
        t += 2.5
    return Transcript(tuple(segs), language=language, duration=t, source="test")


R, A = "medecin", "patient"

AVC_CHILD = call(
    (R, "samu bonjour je suis le docteur du samu vous appelez pour votre fille c'est ça ?"),
    (A, "oui ma fille de seize ans elle bouge plus son bras heu depuis une demi heure"),
    (R, "elle a mal quelque part ?"),
    (A, "non elle a pas mal elle a pas de fièvre non plus"),
    (R, "d'accord je vous envoie le smur tout de suite, vous restez avec elle"),
)

FALL_ELDERLY = call(
    (R, "samu j'écoute"),
    (A, "c'est pour mon père il a quatre vingt deux ans il est tombé dans la cuisine"),
    (A, "on arrive pas à le relever il est par terre"),
    (R, "il vous parle ?"),
    (A, "oui oui il me parle il respire bien"),
    (R, "on va vous envoyer les pompiers ils vont arriver"),
)

ADVICE = call(
    (R, "samu bonjour"),
    (A, "bonjour je voulais un conseil mon bébé de trois mois a de la fièvre trente huit"),
    (R, "il boit bien ? il est tonique ?"),
    (A, "oui il boit bien"),
    (R, "vous pouvez lui donner du doliprane en sirop et vous surveillez, rappelez nous si ça ne passe pas"),
)


def test_child_stroke_call_fields_and_evidence():
    f = extract_rules(AVC_CHILD)
    v = f.values()
    assert v["patient.age"] == "16 ans"
    assert v["patient.sex"] == "F"
    assert v["caller.type"] == "FAMILLE"
    assert v["qualification.motif"] == "M03.08"
    assert v["decision.type"] == "INTER" and v["decision.resource"] == "SMUR"
    assert v["qualification.priority"] == "P0"
    # every filled field cites a quote that is really in the cited segment
    for name, fv in f.fields.items():
        assert fv.evidence or (name == "location.address_present" and fv.value is False), name
        for e in fv.evidence:
            assert e.quote and e.quote in AVC_CHILD.segments[e.segment].text, (name, e)
        assert 0.0 < fv.confidence <= 1.0


def test_negations_are_findings():
    f = extract_rules(AVC_CHILD)
    found = {(x.name, x.negated) for x in f.findings}
    assert ("fièvre", True) in found  # "pas de fièvre" is a finding, negated
    assert ("douleur", True) in found  # "elle a pas mal"
    assert f.values()["patient.pain"] == "non"


def test_elderly_fall_numbers_in_words_and_firefighters():
    v = extract_rules(FALL_ELDERLY).values()
    assert v["patient.age"] == "82 ans"
    assert v["patient.sex"] == "M"
    assert v["qualification.motif"] == "M06.03"
    assert v["decision.type"] == "INTER" and v["decision.resource"] == "SIS"
    assert v["qualification.priority"] == "P1"
    assert v["patient.consciousness"] == "conscient"
    assert v["patient.breathing"] == "normale"


def test_advice_call_months_and_telephone_prescription():
    v = extract_rules(ADVICE).values()
    assert v["patient.age"] == "3 mois"
    assert v["qualification.motif"] == "M03.14"
    assert v["decision.type"] in ("PMT", "CONSEIL")
    assert v["qualification.priority"] == "P3"


def test_durations_are_not_ages_and_hedging_is_kept():
    t = call(
        (R, "samu bonjour"),
        (A, "mon mari il a mal au ventre depuis trois jours ça fait deux ans qu'il a ça"),
        (A, "je sais pas s'il a de la fièvre"),
        (R, "allez aux urgences avec lui"),
    )
    f = extract_rules(t)
    assert "patient.age" not in f.fields
    assert f.values()["qualification.motif"] == "M03.20"
    fever = [x for x in f.findings if x.name == "fièvre"]
    assert fever and fever[0].hedged
    assert f.values()["decision.type"] == "ORIENT" and f.values()["decision.orientation"] == "URGENCES"


def test_address_and_caller_self():
    t = call(
        (R, "samu bonjour quelle est votre adresse ?"),
        (A, "douze rue de la république à montreuil"),
        (A, "j'ai très mal à la poitrine je me sens pas bien"),
        (R, "je vous envoie une équipe médicale"),
    )
    v = extract_rules(t).values()
    assert v["location.address_present"] is True
    assert "rue de la république" in v["location.address"]
    assert v["location.city"] == "montreuil"
    assert v["caller.type"] == "SUJET"
    assert v["qualification.motif"] == "M03.06"


def test_bad_input_empty_one_speaker_other_language():
    empty = extract_rules(Transcript((), language="fr", duration=0.0))
    assert empty.fields == {} and empty.warnings
    one = extract_rules(call((A, "ma mère de soixante dix ans est tombée elle saigne de la tête")))
    assert one.values()["patient.age"] == "70 ans"
    assert any("un seul locuteur" in w for w in one.warnings)
    en = extract_rules(call((R, "emergency services"), (A, "my father fell down"), language="en"))
    assert any("langue" in w for w in en.warnings)
    assert "qualification.motif" not in en.fields


def test_very_long_call_is_fast():
    turns = list(AVC_CHILD.segments) * 200  # ~1000 turns
    long = Transcript(tuple(turns), language="fr", duration=5000.0)
    t0 = time.perf_counter()
    f = extract_rules(long)
    assert time.perf_counter() - t0 < 2.0
    assert f.values()["qualification.motif"] == "M03.08"


def test_form_round_trip_and_validation():
    f = extract_rules(AVC_CHILD)
    again = CallForm.from_dict(f.to_dict())
    assert again.values() == f.values()
    with pytest.raises(ValueError, match="patient.sex"):
        CallForm.from_dict({"fields": {"patient.sex": {"value": "X", "evidence": []}}})
    with pytest.raises(ValueError, match="min_finding_confidence"):
        RuleOptions(min_finding_confidence=2)


def test_priority_rule():
    assert infer_priority("INTER", "SMUR", None) == "P0"
    assert infer_priority("INTER", "SIS", None) == "P1"
    assert infer_priority("INTER", "LIBERAL", None) == "P2"
    assert infer_priority("ORIENT", None, None, "CABINET") == "P3"
    assert infer_priority("CONSEIL", None, None) == "P3"
    assert infer_priority(None, None, "M01.01") == "P0"


def test_denials_of_signs_are_negated():
    """Review repros: a plain sign denied by its context is a negated finding, not a motif."""
    t = call(
        (R, "samu bonjour"),
        (A, "non il est pas inconscient il me parle, il a pas fait de malaise, pas de paralysie"),
        (A, "il saigne sans arrêt, il a perdu pas mal de sang"),
        (R, "je vous envoie les pompiers"),
    )
    f = extract_rules(t)
    v = f.values()
    assert v.get("patient.consciousness") == "conscient"
    assert v["qualification.motif"] not in ("M01.02", "M03.09", "M03.08")
    assert v["patient.bleeding"] == "oui"
    negated = {x.name for x in f.findings if x.negated}
    assert {"inconscience", "malaise", "signes d'AVC"} <= negated


def test_long_single_segment_is_linear_and_nfd_text_folds():
    import unicodedata

    text = "elle a de la fièvre et mal au cœur " * 3000  # ~100k characters, one turn
    t0 = time.perf_counter()
    extract_rules(call((R, "samu"), (A, text)))
    assert time.perf_counter() - t0 < 3.0
    nfd = unicodedata.normalize("NFD", "ma sœur a de la fièvre depuis ce matin")
    v = extract_rules(call((R, "samu bonjour"), (A, nfd), (R, "rappelez si ça ne passe pas"))).values()
    assert v["qualification.motif"] == "M03.14" and v["patient.sex"] == "F"


def test_gunshot_is_not_a_fire_and_weeks_become_days():
    t = call(
        (R, "samu"),
        (A, "mon fils a reçu un coup de feu, une arme à feu, il a trois semaines de vie non il a vingt ans"),
    )
    v = extract_rules(t).values()
    assert "R14" not in v.get("qualification.risks", ())
    assert "R05" in v["qualification.risks"]
    baby = extract_rules(call((R, "samu"), (A, "mon bébé de trois semaines a de la fièvre"))).values()
    assert baby["patient.age"] == "21 jours"


def test_no_address_is_an_explicit_false_and_region_language_is_french():
    f = extract_rules(
        call((R, "vous êtes où ?"), (A, "attendez elle a perdu connaissance"), language="fr-FR")
    )
    assert f.values()["location.address_present"] is False
    assert "location.city" not in f.fields
    assert not any("langue" in w for w in f.warnings)
