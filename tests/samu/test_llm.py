"""LLM extractor: fake LLMs for the head's logic (bad JSON, unsupported values, invented quotes),
a tiny random model for the constrained-decoding plumbing, the real Gemma once (slow)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared
from tests.samu.test_rules import AVC_CHILD


@pytest.fixture(autouse=True)
def _hubsante(monkeypatch):
    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))


class Fake:
    """A stand-in LLM returning a fixed completion and recording the prompt."""

    def __init__(self, text):
        self.text = text
        self.prompts = []

    def __call__(self, prompt, **kw):
        self.prompts.append(prompt)
        return self.text


def test_supported_values_kept_unsupported_dropped():
    from samu.llm import extract_llm

    out = json.dumps(
        {
            "motif": "Signes d’AVC",
            "age": "16 ans",
            "sexe": "F",
            "ville": "marseille",  # never said in the call
            "decision": "INTER",
            "moyen": "SMUR",
        }
    )
    fake = Fake(out)
    form = extract_llm(AVC_CHILD, fake, rule_fallback=False)
    v = form.values()
    assert v["qualification.motif"] == "M03.08" and v["patient.age"] == "16 ans" and v["patient.sex"] == "F"
    assert v["decision.resource"] == "SMUR" and v["qualification.priority"] == "P0"
    assert "location.city" not in v
    assert any("location.city" in w and "écartée" in w for w in form.warnings)
    assert all(fv.source == "llm" for k, fv in form.fields.items() if k != "qualification.priority")
    assert "Fiche JSON" in fake.prompts[0] and "R: samu bonjour" in fake.prompts[0]


def test_wrong_age_is_dropped_even_if_well_formed():
    from samu.llm import extract_llm

    form = extract_llm(AVC_CHILD, Fake('{"age": "80 ans", "sexe": "M"}'), rule_fallback=False)
    assert "patient.age" not in form.values()
    assert "patient.sex" not in form.values()


def test_invalid_json_gives_rules_only_with_warning():
    from samu.llm import extract_llm
    from samu.rules import extract_rules

    for garbage in ("je ne sais pas", '{"age": ', "", "[1, 2]"):
        form = extract_llm(AVC_CHILD, Fake(garbage))
        assert form.values() == extract_rules(AVC_CHILD).values()
        assert any("inutilisable" in w for w in form.warnings), garbage


def test_invented_quote_is_rejected():
    from samu.llm import extract_llm

    out = '{"sexe": "F", "preuves": {"sexe": "la patiente est une femme enceinte"}}'
    form = extract_llm(AVC_CHILD, Fake(out), rule_fallback=False)
    assert "patient.sex" not in form.values()
    assert any("citation" in w for w in form.warnings)


def test_values_outside_the_code_lists_are_rejected():
    from samu.llm import extract_llm

    form = extract_llm(AVC_CHILD, Fake('{"decision": "HELICO", "age": "seize"}'), rule_fallback=False)
    assert "decision.type" not in form.values() and "patient.age" not in form.values()
    assert sum("rejetée" in w for w in form.warnings) == 2


def test_long_transcript_is_cut_for_the_context():
    from samu.llm import build_prompt

    long = AVC_CHILD.__class__(AVC_CHILD.segments * 300, language="fr", duration=9000.0)
    prompt, cut = build_prompt(long, max_chars=3000)
    assert cut and "[...]" in prompt and len(prompt) < 5000


def _tiny_llm(directory):
    from core_training.generate import LocalLLM
    from tests.tiny_llm import save_tiny_llama

    return LocalLLM(str(save_tiny_llama(directory)))


def test_constrained_decoding_with_a_random_model_is_schema_valid(tmp_path):
    """A random model can only emit what the schema allows: the output always parses and every
    value is in its list or matches its pattern."""
    import jsonschema

    from samu.llm import build_prompt, llm_json_schema, parse_output

    llm = _tiny_llm(tmp_path / "tiny")
    from samu.llm import _lmfe

    parser_cls, tokdata, build_fn = _lmfe()
    td = tokdata(llm.tokenizer)
    prompt, _ = build_prompt(AVC_CHILD)
    for _ in range(2):
        fn = build_fn(td, parser_cls(llm_json_schema()))
        raw = llm(prompt, max_new_tokens=200, prefix_allowed_tokens_fn=fn)
        obj = parse_output(raw)
        jsonschema.validate(obj, llm_json_schema())


def test_extract_llm_with_random_model_never_crashes(tmp_path):
    from samu.llm import extract_llm

    form = extract_llm(AVC_CHILD, _tiny_llm(tmp_path / "tiny"), max_new_tokens=60)
    # whatever the random model said, only supported values remain
    for fv in form.fields.values():
        for e in fv.evidence:
            assert e.quote in AVC_CHILD.segments[e.segment].text


@pytest.mark.slow
def test_real_gemma_extraction():
    from core_training.generate import LocalLLM
    from samu.llm import extract_llm

    try:
        llm = LocalLLM("gemma3-270m")
    except RuntimeError as e:
        pytest.skip(str(e))
    form = extract_llm(AVC_CHILD, llm)
    assert form.extractor == "llm"
    for fv in form.fields.values():
        for e in fv.evidence:
            assert e.quote in AVC_CHILD.segments[e.segment].text


def test_denied_decision_and_loose_city_are_not_supported():
    from samu.llm import extract_llm
    from tests.samu.test_rules import call

    t = call(
        ("medecin", "samu bonjour"),
        ("patient", "mon mari est tombé il saigne de la tête"),
        ("medecin", "je n'envoie pas le smur, je vous envoie les pompiers"),
    )
    form = extract_llm(t, Fake('{"decision": "INTER", "moyen": "SMUR", "ville": "mal"}'), rule_fallback=False)
    v = form.values()
    assert "decision.resource" not in v and "location.city" not in v
    assert v["decision.type"] == "INTER"


def test_motif_choices_keep_both_bleeding_codes():
    from samu.llm import extract_llm, motif_choices
    from tests.samu.test_rules import call

    choices = motif_choices()
    assert "M02.01 – Saignements" in choices and "M03.18 – Saignements" in choices
    assert not any(c.startswith("M01.00") for c in choices)
    t = call(("medecin", "samu"), ("patient", "il s'est coupé avec la scie il saigne beaucoup"))
    v = extract_llm(t, Fake('{"motif": "M02.01 – Saignements"}'), rule_fallback=False).values()
    assert v["qualification.motif"] == "M02.01"


def test_llm_returning_none_and_endless_turn():
    from samu.llm import build_prompt, extract_llm
    from tests.samu.test_rules import call

    form = extract_llm(AVC_CHILD, lambda prompt, **kw: None)
    assert any("au lieu de texte" in w for w in form.warnings)
    prompt, cut = build_prompt(call(("patient", "bla " * 20000)), max_chars=4000)
    assert cut and len(prompt) < 4000 + 2000


def test_parse_output_tolerates_only_a_trailing_comma():
    from samu.llm import parse_output

    assert parse_output(' \n {"decision":"ORIENT", \n\n } \n') == {"decision": "ORIENT"}
    with pytest.raises(ValueError, match="JSON invalide"):
        parse_output('{"decision": , }')
