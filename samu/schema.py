"""The SAMU call form: fields aligned with the French Hub Santé data model (RS-EDA / createCaseHealth).

A :class:`CallForm` is a set of named fields (``"patient.age"``, ``"decision.type"``...), each a
:class:`FieldValue` carrying its value *and its evidence*: the transcript segment(s) and the quote
it came from, plus a confidence. Findings (symptoms and signs) keep negation and hedging:
"pas de douleur" is a finding with ``negated=True``.

Codes come from the Hub Santé code lists (``HubSante.*.csv``, in ``../shared/data/hubsante`` or
the directory named by ``$LLM4ALL_HUBSANTE``); the few enumerations the extractors need are
copied here as code identifiers only (no descriptions), with the list each comes from.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORM_VERSION = 1

# enumerations (codes only) from the Hub Santé nomenclatures
PRIORITIES = ("P0", "P1", "P2", "P3", "NR")  # HubSante.priorite.csv
SEXES = ("M", "F", "O", "UN")  # HubSante.sexe.csv
DECISION_TYPES = ("CONSEIL", "PMT", "INTER", "ORIENT", "PASPLUS")  # HubSante.typeDecision.csv
CALLER_TYPES = (  # HubSante.typeAppelant.csv, level 1
    "SUJET", "FAMILLE", "TIERS", "POMPIER", "AMBULANC", "SECOUR", "MED", "SANTE",
    "FDO-MILI", "ADM-TUTL", "VIP", "OBJCONNC", "AUTRE", "INCONNU",
)  # fmt: skip
COMMUNICATIONS = ("AUCUNE", "MUET", "VISION", "LANGUE", "PANIQUE", "HOSTILE", "AGITE", "AUTRE", "IMPOSS")
RESOURCES = ("SMUR", "HOSPIT", "LIBERAL", "TSU", "SIS", "AASC", "FDO", "AUTRE")  # typeRessource level 1
ORIENTATIONS = ("URGENCES", "REA-USI", "SANTE", "CABINET", "DOMICILE", "EPHAD", "AUTRE")
CONSCIOUSNESS = ("conscient", "altérée", "inconscient")
BREATHING = ("normale", "difficile", "absente")
YES_NO = ("oui", "non")

# field name -> (kind, allowed values or None). Kinds: code (closed list), text (free text,
# normalised match), age ("<n> ans|mois|semaines|jours"), bool, codes (list of codes).
FIELDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "qualification.motif": ("code", None),  # a HubSante.motif.csv code (gold forms are checked against it)
    "qualification.priority": ("code", PRIORITIES),
    "qualification.whats_happened": ("text", None),
    "qualification.risks": ("codes", None),  # HubSante.risque.csv codes (R01...)
    "location.address_present": ("bool", None),
    "location.address": ("text", None),
    "location.city": ("text", None),
    "location.access": ("text", None),
    "location.freetext": ("text", None),
    "caller.type": ("code", CALLER_TYPES),
    "caller.communication": ("code", COMMUNICATIONS),
    "patient.age": ("age", None),
    "patient.sex": ("code", SEXES),
    "patient.complaint": ("text", None),
    "patient.consciousness": ("code", CONSCIOUSNESS),
    "patient.breathing": ("code", BREATHING),
    "patient.bleeding": ("code", YES_NO),
    "patient.pain": ("code", YES_NO),
    "patient.history": ("text", None),
    "patient.treatments": ("text", None),
    "decision.type": ("code", DECISION_TYPES),
    "decision.resource": ("code", RESOURCES),
    "decision.orientation": ("code", ORIENTATIONS),
}
AGE_UNITS = ("ans", "mois", "semaines", "jours")


def hubsante_dir(path: str | os.PathLike | None = None) -> Path:
    """The Hub Santé data directory: ``path``, ``$LLM4ALL_HUBSANTE``, or ``../shared/data/hubsante``."""
    if path is None:
        path = os.environ.get("LLM4ALL_HUBSANTE") or Path(__file__).resolve().parents[1].parent / (
            "shared/data/hubsante"
        )
    p = Path(path)
    if not (p / "nomenclatures").is_dir():
        raise FileNotFoundError(
            f"Hub Santé data not found in {p} (expected nomenclatures/ and json-schema/; "
            "set LLM4ALL_HUBSANTE to its directory)"
        )
    return p


@functools.lru_cache(maxsize=32)
def _read_codes(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = (row.get("code") or "").strip()
            if code:
                label = next(
                    (row[k].strip() for k in list(row)[2:] if k and row.get(k) and row[k].strip()),
                    "",
                )
                out[code] = label
    return out


def code_labels(name: str, hubsante: str | os.PathLike | None = None) -> dict[str, str]:
    """``{code: label}`` of the Hub Santé list ``HubSante.<name>.csv`` (e.g. ``motif``)."""
    return dict(_read_codes(str(hubsante_dir(hubsante) / "nomenclatures" / f"HubSante.{name}.csv")))


def age_parts(age: str) -> tuple[int, str]:
    """Split a form age ``"16 ans"`` into ``(16, "ans")``; ``ValueError`` if malformed."""
    parts = str(age).split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in AGE_UNITS:
        raise ValueError(f"age must look like '<n> {'|'.join(AGE_UNITS)}', got {age!r}")
    return int(parts[0]), parts[1]


def validate_value(name: str, value: Any) -> None:
    """Raise ``ValueError`` naming the field when ``value`` does not fit its kind/list."""
    if name not in FIELDS:
        raise ValueError(f"unknown form field {name!r}")
    kind, allowed = FIELDS[name]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true/false, got {value!r}")
    elif kind == "codes":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name}: expected a list of codes, got {value!r}")
    elif kind == "age":
        age_parts(value)
    elif not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    elif allowed is not None and value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Evidence:
    """Where a value comes from: a segment index of the transcript and the exact quote."""

    segment: int
    quote: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> Evidence:
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("segment"), int)
            or not isinstance(d.get("quote"), str)
        ):
            raise ValueError(f"evidence needs an integer 'segment' and a string 'quote', got {d!r}")
        return cls(int(d["segment"]), d["quote"], d.get("speaker"), d.get("start"), d.get("end"))


@dataclass(frozen=True)
class FieldValue:
    value: Any
    evidence: tuple[Evidence, ...]
    confidence: float = 1.0
    source: str = "rules"  # which extractor filled it

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict:
        v = list(self.value) if isinstance(self.value, tuple) else self.value
        return {
            "value": v,
            "confidence": round(self.confidence, 3),
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, d: dict) -> FieldValue:
        if not isinstance(d, dict) or "value" not in d:
            raise ValueError(f"a field needs a 'value', got {d!r}")
        v = d["value"]
        return cls(
            tuple(v) if isinstance(v, list) else v,
            tuple(Evidence.from_dict(e) for e in d.get("evidence", [])),
            float(d.get("confidence", 1.0)),
            str(d.get("source", "rules")),
        )


@dataclass(frozen=True)
class Finding:
    """A symptom or sign mentioned in the call. ``negated``: stated absent ("pas de fièvre");
    ``hedged``: uncertain ("je sais pas s'il respire")."""

    name: str
    negated: bool
    hedged: bool
    evidence: tuple[Evidence, ...]
    confidence: float = 1.0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "negated": self.negated,
            "hedged": self.hedged,
            "confidence": round(self.confidence, 3),
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise ValueError(f"a finding needs a 'name', got {d!r}")
        return cls(
            d["name"],
            bool(d.get("negated", False)),
            bool(d.get("hedged", False)),
            tuple(Evidence.from_dict(e) for e in d.get("evidence", [])),
            float(d.get("confidence", 1.0)),
        )


@dataclass(frozen=True)
class CallForm:
    """A filled SAMU call form. ``fields`` holds only filled fields (absent = not stated)."""

    fields: dict[str, FieldValue] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    source: str | None = None
    extractor: str = "rules"
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, fv in self.fields.items():
            validate_value(name, fv.value)

    def value(self, name: str, default: Any = None) -> Any:
        fv = self.fields.get(name)
        return default if fv is None else fv.value

    def values(self) -> dict[str, Any]:
        """``{field: value}`` for filled fields (what evaluation compares)."""
        return {k: v.value for k, v in self.fields.items()}

    def to_dict(self) -> dict:
        motif = self.value("qualification.motif")
        out = {
            "version": FORM_VERSION,
            "source": self.source,
            "extractor": self.extractor,
            "fields": {k: self.fields[k].to_dict() for k in FIELDS if k in self.fields},
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
        }
        if motif:
            try:
                out["motif_label"] = code_labels("motif").get(motif)
            except FileNotFoundError:
                pass
        return out

    @classmethod
    def from_dict(cls, d: dict) -> CallForm:
        if not isinstance(d, dict) or not isinstance(d.get("fields", {}), dict):
            raise ValueError("a call form is a JSON object with a 'fields' object")
        return cls(
            {k: FieldValue.from_dict(v) for k, v in d.get("fields", {}).items()},
            tuple(Finding.from_dict(f) for f in d.get("findings", [])),
            d.get("source"),
            d.get("extractor", "rules"),
            tuple(d.get("warnings", [])),
        )


def form_json_schema(
    fields: tuple[str, ...] | None = None, motif_codes: tuple[str, ...] | None = None
) -> dict:
    """A JSON schema for the *values* of a form (what an LLM is asked to produce): one optional
    property per field, closed lists as enums, free text as short strings. (The LLM extractor
    uses the shorter :func:`samu.llm.llm_json_schema`; this one documents the full form.)"""
    props: dict[str, Any] = {}
    for name in fields or tuple(FIELDS):
        kind, allowed = FIELDS[name]
        if kind == "bool":
            props[name] = {"type": "boolean"}
        elif kind == "codes":
            props[name] = {
                "type": "array",
                "items": {"type": "string", "pattern": "^R[0-9]{2}$"},
                "maxItems": 3,
            }
        elif kind == "age":
            props[name] = {"type": "string", "pattern": "^[0-9]{1,3} (ans|mois|semaines|jours)$"}
        elif name == "qualification.motif" and motif_codes:
            props[name] = {"type": "string", "enum": list(motif_codes)}
        elif allowed is not None:
            props[name] = {"type": "string", "enum": list(allowed)}
        else:
            props[name] = {"type": "string", "maxLength": 120}
    return {"type": "object", "properties": props, "additionalProperties": False}
