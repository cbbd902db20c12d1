"""Export a :class:`CallForm` as the project's JSON and as a Hub Santé RS-EDA message.

The RS-EDA message is the ``createCaseHealth`` content that ``RS-EDA.schema.json`` describes
(the schema's root). Mapping:

- motif → ``qualification.healthMotive`` (code + label from ``HubSante.motif.csv``); priority →
  ``qualification.details.priority``; risks → ``qualification.riskThreat``;
- city → ``location.city.name``; address → ``location.detailedAddress.complete``; access details
  (floor, door code, building: free text from speech) and "no address given" → ``location.freetext``;
- caller type / communication → ``initialAlert.caller`` (with a placeholder contact, since the
  transcript carries no phone number and the schema requires one);
- age → ``patient[0].detail.age`` (ISO 8601 duration ``P16Y``, ``P3M``); sex →
  ``patient[0].identity.strictFeatures.sex``; history / treatments → ``patient[0].detail``;
- decision / resource / orientation → ``decision[0]``;
- complaint and findings (negations kept) → ``medicalNote[0].freetext``.

Identifiers follow the schema's patterns and are derived from a hash of the source, so the same
call always gets the same ids. Pseudonymise the transcript before export (``samu.pseudonymize``)
when the message leaves the regulation room.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from pathlib import Path

from asr.transcript import json_dumps_strict
from samu.schema import CallForm, age_parts, code_labels, hubsante_dir

DEFAULT_ORG = "fr.health.samu000"  # {pays}.{domaine}.{organisation}, a placeholder SAMU


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().replace(microsecond=0).isoformat()


def _iso_age(age: str) -> str:
    n, unit = age_parts(age)
    letter = {"ans": "Y", "mois": "M", "semaines": "W", "jours": "D"}[unit]
    return f"P{min(n, 999)}{letter}"


def to_rs_eda(
    form: CallForm, case_ref: str | None = None, org: str = DEFAULT_ORG, creation: str | None = None
) -> dict:
    """Build the RS-EDA ``createCaseHealth`` message for ``form``.

    Args:
        case_ref: a stable, unique reference for the call (default: the form's source, e.g. the
            input's resolved path); hashed into ids, so the same call always gets the same ids.
        org: the sending organisation id (``fr.health.samuXXX``).
        creation: ISO 8601 date-time with offset (default: now).
    """
    creation = creation or _now_iso()
    ref = hashlib.sha256((case_ref or form.source or "appel").encode()).hexdigest()[:12].upper()
    case_id = f"{org}.DRFR15{ref}"
    v = form.value
    qual: dict = {"origin": "15"}
    motif = v("qualification.motif")
    if motif:
        labels = code_labels("motif")
        qual["healthMotive"] = {"code": motif, "label": labels.get(motif) or motif}
    details = {}
    if v("qualification.priority"):
        details["priority"] = v("qualification.priority")
    if details:
        qual["details"] = details
    risks = v("qualification.risks") or ()
    if risks:
        labels = code_labels("risque")
        qual["riskThreat"] = [{"code": r, "label": labels.get(r, r)} for r in risks]

    loc: dict = {}
    if v("location.city"):
        loc["city"] = {"name": v("location.city")}
    if v("location.address"):
        loc["detailedAddress"] = {"complete": v("location.address")}
    free = [x for x in (v("location.freetext"),) if x]
    if v("location.access"):
        free.append(f"accès : {v('location.access')}")
    if v("location.address_present") is False:
        free.append("adresse non précisée pendant l'appel")
    if free:
        loc["freetext"] = "; ".join(free)

    caller: dict = {"callerContact": {"channel": "PERSONNE", "type": "TEL", "detail": "inconnu"}}
    if v("caller.communication") != "LANGUE":
        caller["language"] = "fr"
    if v("caller.type"):
        caller["type"] = v("caller.type")
    if v("caller.communication"):
        caller["communication"] = v("caller.communication")

    patient_id = f"{org}.DRFR15{ref}.patient.1"
    patient: dict = {"patientId": patient_id}
    detail: dict = {}
    if v("patient.age"):
        detail["age"] = _iso_age(v("patient.age"))
    if v("patient.history"):
        detail["medicalHistory"] = v("patient.history")
    if v("patient.treatments"):
        detail["treatment"] = v("patient.treatments")
    if detail:
        patient["detail"] = detail
    if v("patient.sex"):
        patient["identity"] = {"strictFeatures": {"sex": v("patient.sex")}}

    msg: dict = {
        "caseId": case_id,
        "senderCaseId": f"DRFR15{ref}",
        "creation": creation,
        "perimeter": "AMU",
        "interventionType": "T1",
        "qualification": qual,
        "location": loc,
        "initialAlert": {"reception": creation, "caller": caller},
        "owner": org,
        "patient": [patient],
    }
    note = _clinical_note(form)
    if note:
        msg["medicalNote"] = [
            {
                "patientId": patient_id,
                "operator": {"role": "MEDECIN"},
                "medicalNoteId": f"{org}.DRFR15{ref}.medicalNote.1",
                "creation": creation,
                "freetext": note,
            }
        ]
    if v("decision.type"):
        dec: dict = {
            "patientId": patient_id,
            "creation": creation,
            "operator": {"role": "MEDECIN"},
            "decisionType": v("decision.type"),
        }
        if v("decision.resource"):
            dec["resourceType"] = v("decision.resource")
        if v("decision.orientation"):
            dec["orientationType"] = v("decision.orientation")
        msg["decision"] = [dec]
    return msg


def _clinical_note(form: CallForm) -> str:
    v = form.value
    parts = []
    if v("patient.complaint"):
        parts.append(f"Plainte : {v('patient.complaint')}")
    for name, label in (
        ("patient.consciousness", "conscience"),
        ("patient.breathing", "respiration"),
        ("patient.bleeding", "saignement"),
        ("patient.pain", "douleur"),
    ):
        if v(name):
            parts.append(f"{label} : {v(name)}")
    pos = [f.name + (" (incertain)" if f.hedged else "") for f in form.findings if not f.negated]
    neg = [f.name for f in form.findings if f.negated]
    if pos:
        parts.append("signes : " + ", ".join(dict.fromkeys(pos)))
    if neg:
        parts.append("absents : " + ", ".join(dict.fromkeys(neg)))
    return ". ".join(parts)


@functools.lru_cache(maxsize=4)
def _rs_eda_validator(schema_path: str):
    """The jsonschema validator of one schema file, built once per process (a batch validates
    every message against it)."""
    import jsonschema

    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_rs_eda(msg: dict, hubsante: str | os.PathLike | None = None) -> list[str]:
    """Validate against ``RS-EDA.schema.json`` with jsonschema; returns error messages (empty = valid)."""
    validator = _rs_eda_validator(str(hubsante_dir(hubsante) / "json-schema" / "RS-EDA.schema.json"))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(racine)'} : {e.message}"
        for e in validator.iter_errors(msg)
    ]


def write_form(form: CallForm, path: str | os.PathLike) -> None:
    from asr.transcript import atomic_write_text

    atomic_write_text(Path(path), json_dumps_strict(form.to_dict(), ensure_ascii=False, indent=2) + "\n")


def read_form(path: str | os.PathLike) -> CallForm:
    """Read a ``.form.json`` written by :func:`write_form`; ``ValueError`` naming the file if malformed."""
    try:
        return CallForm.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: fiche illisible ({e})") from e
