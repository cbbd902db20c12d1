"""LLM extractor: a French few-shot prompt, JSON constrained to the form's schema during decoding,
then an evidence check that drops every value the transcript does not support.

Constrained decoding uses **lm-format-enforcer** (``lmformatenforcer``): it is pure Python, works
offline with any Hugging Face tokenizer through ``prefix_allowed_tokens_fn`` of
``model.generate`` (no model-specific grammar compilation, no network), and supports JSON schema
enums and string patterns, which is what the form needs. Its transformers integration still
imports ``transformers.tokenization_utils`` (renamed in transformers 5); :func:`_lmfe` aliases the
module before importing it.

The LLM is any callable ``generate(prompt, max_new_tokens=..., stop=[...], prefix_allowed_tokens_fn=...)
-> str``; with :class:`core_training.generate.LocalLLM` (which has ``tokenizer``) decoding is
constrained, with a plain callable (tests, remote services) the output is parsed and validated
after the fact, and invalid JSON yields an empty form with a warning.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable

from asr.transcript import Transcript
from samu import rules
from samu.schema import FIELDS, CallForm, Evidence, FieldValue, age_parts, code_labels, validate_value
from samu.text import fold

log = logging.getLogger(__name__)

# the fields the LLM is asked for (the rest needs quotes a small model does not produce reliably)
LLM_FIELDS = (
    "qualification.motif",
    "patient.age",
    "patient.sex",
    "caller.type",
    "location.city",
    "decision.type",
    "decision.resource",
    "decision.orientation",
)
_KEYS = {  # short French JSON keys the model writes -> form fields
    "motif": "qualification.motif",
    "age": "patient.age",
    "sexe": "patient.sex",
    "appelant": "caller.type",
    "ville": "location.city",
    "decision": "decision.type",
    "moyen": "decision.resource",
    "orientation": "decision.orientation",
}
_FIELD_KEY = {v: k for k, v in _KEYS.items()}

FEW_SHOT = """Transcription d'un appel au SAMU (R = régulateur, A = appelant) :
R: SAMU bonjour, je vous écoute.
A: oui bonjour c'est pour mon père il a quatre-vingts ans il est tombé dans la cuisine il arrive pas à se relever
R: il est où exactement, votre adresse ?
A: douze rue des lilas à villeurbanne
R: il a mal quelque part ?
A: il a mal à la hanche mais il me parle
R: d'accord je vous envoie une ambulance, vous restez avec lui.
Fiche JSON : {"motif": "M06.03 – Personne restant à terre suite à une chute", "age": "80 ans", "sexe": "M", "appelant": "FAMILLE", "ville": "villeurbanne", "decision": "INTER", "moyen": "TSU"}

"""


def _lmfe():
    """Import lm-format-enforcer's transformers helpers (with the transformers 5 module alias)."""
    import transformers.tokenization_utils_base as tub

    sys.modules.setdefault("transformers.tokenization_utils", tub)
    from lmformatenforcer import JsonSchemaParser
    from lmformatenforcer.integrations.transformers import (
        build_token_enforcer_tokenizer_data,
        build_transformers_prefix_allowed_tokens_fn,
    )

    return JsonSchemaParser, build_token_enforcer_tokenizer_data, build_transformers_prefix_allowed_tokens_fn


MOTIF_SEP = " – "


def motif_choices() -> list[str]:
    """``"M03.08 – Signes d’AVC"`` for every level-2 motif (two codes share the label
    "Saignements", so the code is part of the choice; ``.00`` category headers are left out)."""
    return [
        f"{c}{MOTIF_SEP}{lbl}"
        for c, lbl in sorted(code_labels("motif").items())
        if lbl and not c.endswith(".00")
    ]


def llm_json_schema() -> dict:
    """The JSON schema the model's output is constrained to (flat, short French keys)."""
    motif_labels = motif_choices()
    props: dict = {
        "motif": {"type": "string", "enum": motif_labels},
        "age": {"type": "string", "pattern": "^[0-9]{1,3} (ans|mois|semaines|jours)$"},
        "sexe": {"type": "string", "enum": ["M", "F"]},
        "appelant": {"type": "string", "enum": ["SUJET", "FAMILLE", "TIERS", "SANTE", "POMPIER", "MED"]},
        "ville": {"type": "string", "maxLength": 40},
        "decision": {"type": "string", "enum": list(FIELDS["decision.type"][1])},
        "moyen": {"type": "string", "enum": ["SMUR", "SIS", "TSU", "LIBERAL"]},
        "orientation": {"type": "string", "enum": ["URGENCES", "CABINET"]},
    }
    return {"type": "object", "properties": props, "additionalProperties": False}


def _dialogue(t: Transcript, max_chars: int) -> tuple[str, list[int], bool]:
    """``R:``/``A:`` lines (the regulator/caller split of the rule extractor), cut to ``max_chars``
    keeping the beginning and the end of the call. Returns (text, segment index per line, cut?)."""
    reg = rules.regulator_speakers(t)
    lines, idx = [], []
    for i, s in enumerate(t.segments):
        if not s.text.strip():
            continue
        who = "R" if reg is not None and s.speaker in reg else "A"
        lines.append(f"{who}: {s.text.strip()}")
        idx.append(i)
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text, idx, False
    cap = max(80, max_chars // 6)  # one endless turn must not fill the whole context
    lines = [ln if len(ln) <= cap else ln[:cap] + " [...]" for ln in lines]
    head, tail, size = [], [], 0
    i, j = 0, len(lines) - 1
    while i <= j and size < max_chars:
        head.append(lines[i])
        size += len(lines[i]) + 1
        i += 1
        if i <= j and size < max_chars:
            tail.insert(0, lines[j])
            size += len(lines[j]) + 1
            j -= 1
    out = "\n".join(head + ["[...]"] + tail)
    return out[:max_chars], idx, True


def prompt_chars(context_length: int | None, max_new_tokens: int) -> int:
    """How many characters of dialogue the prompt may hold: 6000, less for a model whose context
    (in tokens, about 2.5 characters each) cannot take them with the example and the answer."""
    if context_length is None:
        return 6000
    return max(1000, min(6000, int((context_length - max_new_tokens - 400) * 2.5)))


def build_prompt(t: Transcript, max_chars: int = 6000) -> tuple[str, bool]:
    text, _idx, cut = _dialogue(t, max_chars)
    prompt = (
        FEW_SHOT
        + "Transcription d'un appel au SAMU (R = régulateur, A = appelant) :\n"
        + text
        + "\nFiche JSON : "
    )
    return prompt, cut


def parse_output(text: str) -> dict:
    """The first JSON object in ``text`` (a trailing comma before its closing brace is tolerated);
    ``ValueError`` if there is none or it is invalid."""
    start = text.find("{")
    if start < 0:
        raise ValueError("la sortie du modèle ne contient pas d'objet JSON")
    depth = 0
    for k in range(start, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                chunk = text[start : k + 1]
                try:
                    obj = json.loads(chunk)
                except json.JSONDecodeError as e:
                    # lm-format-enforcer lets a model close an object right after a comma
                    # ('{"decision": "INTER", }'): drop that trailing comma, nothing else
                    try:
                        obj = json.loads(re.sub(r",\s*}$", "}", chunk))
                    except json.JSONDecodeError:
                        raise ValueError(f"JSON invalide dans la sortie du modèle : {e}") from e
                if not isinstance(obj, dict):
                    raise ValueError("la sortie du modèle n'est pas un objet JSON")
                return obj
    raise ValueError("objet JSON non terminé dans la sortie du modèle")


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", fold(s)).strip()


def _support(field: str, value, t: Transcript, rule_form: CallForm, segs) -> tuple[Evidence, ...]:
    """Evidence in the transcript for ``value`` of ``field``; empty = unsupported (dropped)."""
    if field == "patient.age":
        n, unit = age_parts(value)
        if unit == "semaines":  # compared the way the rules write ages (weeks as days)
            n, unit = n * 7, "jours"
        for s in segs:
            for m, n2, unit2 in rules.age_mentions(s):
                if (n2, unit2) == (n, unit):
                    return (s.ev(m.start(), m.end()),)
        return ()
    if field == "location.city":
        target = _norm(str(value))
        if len(target) < 3 or target in rules.CITY_STOP:
            return ()
        pat = re.compile(rf"\b(?:a|sur|vers|dans|de|commune de|ville de)\s+({re.escape(target)})\b")
        for s in segs:
            m = pat.search(s.folded)
            if m:
                return (s.ev(m.start(1), m.end(1)),)
        return ()
    # codes: supported when a cue of the rule lexicons for this very value is in the transcript
    cues = _cue_evidence(field, value, t, segs)
    if cues:
        return cues
    rv = rule_form.fields.get(field)
    if rv is not None and rv.value == value:
        return rv.evidence
    return ()


def _cue_evidence(field: str, value, t: Transcript, segs) -> tuple[Evidence, ...]:
    if field == "qualification.motif":
        hits = rules._findings(segs, rules.RuleOptions())
        same = [h[5] for h in hits if not h[3] and h[1] == value]
        if not same and value == "M02.04":
            same = [h[5] for h in hits if not h[3] and h[1] == "M02.05"]
        return tuple(same[:3])
    if field in ("decision.type", "decision.resource", "decision.orientation"):
        pos = {"decision.type": 0, "decision.resource": 1, "decision.orientation": 2}[field]
        return tuple(f[4] for f in rules.decision_cues(segs) if f[pos] == value)[:3]
    if field == "patient.sex":
        rel = rules.RELATIONS_F if value == "F" else rules.RELATIONS_M
        pron = "elle" if value == "F" else "il"
        pat = re.compile(
            rf"\b(ma|votre|sa|mon|son|ton|ta)\s+({rel})\b|\b{pron}\s+(a|est|respire|saigne|bouge)\b"
        )
        for s in segs:
            m = pat.search(s.folded)
            if m:
                return (s.ev(m.start(), m.end()),)
        return ()
    if field == "caller.type":
        pats = {
            "FAMILLE": rf"\b(ma|mon|mes|votre)\s+({rules.FAMILY})\b",
            "TIERS": rf"\b(ma|mon|un|une)\s+({rules.THIRD})\b",
            "SUJET": rf"\b({rules.SELF})\b",
        }
        pats.update({code: p for p, code in rules.PROFESSION})
        pat = pats.get(value)
        if pat:
            for s in segs:
                m = re.search(pat, s.folded)
                if m:
                    return (s.ev(m.start(), m.end()),)
        return ()
    return ()


def extract_llm(
    transcript: Transcript,
    llm: Callable[..., str],
    max_new_tokens: int = 120,
    hook: Callable[[str, int, int], None] | None = None,
    rule_fallback: bool = True,
    call_date=None,
) -> CallForm:
    """Fill a call form with ``llm`` (see module doc), keeping only values the transcript supports.

    With ``rule_fallback`` the fields the LLM is not asked for (priority, address, findings...)
    come from the rule extractor, so the form stays complete; LLM values take precedence where
    they are supported. ``call_date`` is the rules' (a stated birth year becomes an age). Returns a
    form whose ``warnings`` say what was dropped and why.
    """
    rule_form = rules.extract_rules(transcript, call_date=call_date)
    segs = rules._segments(transcript)
    warnings = list(rule_form.warnings)
    if not segs:
        return CallForm({}, (), transcript.source, "llm", tuple(warnings))
    prompt, cut = build_prompt(transcript, prompt_chars(getattr(llm, "context_length", None), max_new_tokens))
    if cut:
        warnings.append("transcription longue : le milieu de l'appel n'a pas été montré au modèle")
    kw: dict = {"max_new_tokens": max_new_tokens, "stop": ["}"]}
    tok = getattr(llm, "tokenizer", None)
    if tok is not None:
        parser_cls, tokdata, build_fn = _lmfe()
        cache = getattr(llm, "_lmfe_tokdata", None)
        if cache is None:
            cache = tokdata(tok)
            try:
                llm._lmfe_tokdata = cache
            except AttributeError:
                pass
        kw["prefix_allowed_tokens_fn"] = build_fn(cache, parser_cls(llm_json_schema()))
    if hook:
        hook("llm", 0, 1)
    raw = llm(prompt, **kw)
    if not isinstance(raw, str):
        warnings.append(f"le modèle a renvoyé {type(raw).__name__} au lieu de texte")
        raw = ""
    if hook:
        hook("llm", 1, 1)
    if raw.strip() and "}" not in raw:
        raw = raw + "}"
    try:
        obj = parse_output(raw)
    except ValueError as e:
        warnings.append(f"sortie du modèle inutilisable ({e}) : champs des règles seulement")
        obj = {}
    codes = set(code_labels("motif"))
    fields: dict[str, FieldValue] = dict(rule_form.fields) if rule_fallback else {}
    quotes = obj.pop("preuves", None) if isinstance(obj.get("preuves"), dict) else None
    transcript_norm = _norm(" ".join(s.text for s in transcript.segments))
    for key, value in obj.items():
        field = _KEYS.get(key, key if key in FIELDS else None)
        if field is None or value in (None, "", []):
            continue
        if field == "qualification.motif" and isinstance(value, str):
            head = value.split(MOTIF_SEP)[0].strip()
            if head in codes:
                value = head
            else:
                by_label = {lbl: c for c, lbl in code_labels("motif").items() if lbl}
                value = by_label.get(value.strip(), value)
        if isinstance(value, str) and field == "location.city":
            value = value.strip().lower()
        try:
            validate_value(field, value)
        except ValueError as e:
            warnings.append(f"{field} : valeur rejetée ({e})")
            continue
        if (
            quotes
            and key in quotes
            and (not _norm(str(quotes[key])) or _norm(str(quotes[key])) not in transcript_norm)
        ):
            warnings.append(
                f"{field} : la citation du modèle n'est pas dans la transcription, valeur écartée"
            )
            continue
        ev = _support(field, value, transcript, rule_form, segs)
        if not ev:
            warnings.append(f"{field} = {value!r} : rien dans la transcription ne l'appuie, valeur écartée")
            continue
        fields[field] = FieldValue(value, ev[:3], 0.7, "llm")
    dec = fields.get("decision.type")
    res = fields.get("decision.resource")
    if res is not None and (dec is None or dec.value != "INTER"):
        fields.pop("decision.resource")
    mot = fields.get("qualification.motif")
    ori = fields.get("decision.orientation")
    fields.pop("qualification.priority", None)
    prio = rules.priority_field(segs, dec, res, mot, ori)
    if prio is not None:
        fields["qualification.priority"] = prio
    return CallForm(fields, rule_form.findings, transcript.source, "llm", tuple(warnings))
