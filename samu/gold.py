"""Gold SAMU call forms: loading and validation (standard library only).

A gold form is a JSON file ``samu/gold/<rec>.json`` written by a human annotator from one
simsamu call (see ``data_cards/samu_forms.md``)::

    {"call": "<rec>",
     "fields": {<the 11 GOLD_FIELDS>: value or null},
     "evidence": {<field>: [segment indices]},
     "notes": "..."}

Coded fields are checked against the Hub Santé nomenclature CSVs
(``<hubsante>/nomenclatures/HubSante.<name>.csv``, column ``code``).
"""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

GOLD_FIELDS: tuple[str, ...] = (
    "qualification.motif",
    "qualification.priority",
    "patient.age",
    "patient.sex",
    "caller.type",
    "caller.communication",
    "location.address_present",
    "location.city",
    "decision.type",
    "decision.resource",
    "decision.orientation",
)

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = Path(__file__).resolve().parent / "gold"
DEFAULT_HUBSANTE = ROOT.parent / "shared" / "data" / "hubsante"

# field -> nomenclature name (HubSante.<name>.csv)
CODED_FIELDS: dict[str, str] = {
    "qualification.motif": "motif",
    "qualification.priority": "priorite",
    "patient.sex": "sexe",
    "caller.type": "typeAppelant",
    "caller.communication": "communication",
    "decision.type": "typeDecision",
    "decision.resource": "typeRessource",
    "decision.orientation": "typeOrientation",
}
# fields coded at level 1 only (no "PARENT.CHILD" codes)
LEVEL1_FIELDS = frozenset({"caller.type", "decision.resource"})

AGE_RE = re.compile(r"^[1-9][0-9]{0,2} (ans|mois|jours)$")
TOP_KEYS = ("call", "fields", "evidence", "notes")


def nomenclature_codes(name: str, hubsante_dir: str | Path | None = None) -> set[str]:
    """Codes of one Hub Santé nomenclature.

    Args:
        name: nomenclature name, e.g. ``"motif"`` or ``"HubSante.motif"``.
        hubsante_dir: the ``hubsante`` data directory (holding ``nomenclatures/``); defaults to
            ``<repo>/../shared/data/hubsante``.

    Returns:
        The set of values of the CSV's ``code`` column.

    Raises:
        FileNotFoundError: the CSV does not exist.
        ValueError: the CSV has no ``code`` column.
    """
    base = Path(hubsante_dir) if hubsante_dir is not None else DEFAULT_HUBSANTE
    stem = name if name.startswith("HubSante.") else f"HubSante.{name}"
    return set(_read_codes(str(base.resolve() / "nomenclatures" / f"{stem}.csv")))


@lru_cache(maxsize=64)
def _read_codes(path: str) -> frozenset[str]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"nomenclature not found: {p}")
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "code" not in reader.fieldnames:
            raise ValueError(f"{p}: no 'code' column")
        return frozenset(row["code"].strip() for row in reader if row.get("code", "").strip())


def _check_form(data: Any, stem: str | None, codes: dict[str, set[str]] | None) -> list[str]:
    """Return the list of problems of one parsed gold form (empty when valid)."""
    if not isinstance(data, dict):
        return [f"top level must be an object, got {type(data).__name__}"]
    problems: list[str] = []
    keys = set(data)
    if missing := [k for k in TOP_KEYS if k not in keys]:
        problems.append(f"missing keys {missing}")
    if unknown := sorted(keys - set(TOP_KEYS)):
        problems.append(f"unknown keys {unknown}")

    call = data.get("call")
    if not isinstance(call, str) or not call:
        problems.append(f"'call' must be a non-empty string, got {call!r}")
    elif stem is not None and call != stem:
        problems.append(f"'call' is {call!r} but the file is named {stem!r}")
    if "notes" in data and not isinstance(data["notes"], str):
        problems.append("'notes' must be a string")

    fields, field_problems = check_fields(data.get("fields"), codes)
    problems += field_problems

    evidence = data.get("evidence", {})
    if not isinstance(evidence, dict):
        problems.append("'evidence' must be an object")
        evidence = {}
    for field, idx in evidence.items():
        if field not in GOLD_FIELDS:
            problems.append(f"evidence for unknown field {field!r}")
            continue
        if fields.get(field) is None:
            problems.append(f"evidence given for {field!r} whose value is null")
        if (
            not isinstance(idx, list)
            or not idx
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in idx)
        ):
            problems.append(
                f"evidence for {field!r} must be a non-empty list of segment indices (ints >= 0), got {idx!r}"
            )
    return problems


def check_fields(fields: Any, codes: dict[str, set[str]] | None) -> tuple[dict, list[str]]:
    """``(fields, problems)`` of a gold form's ``fields`` object: exactly the :data:`GOLD_FIELDS`,
    each value well formed (and a code of its list when ``codes`` is given)."""
    if not isinstance(fields, dict):
        return {}, ["'fields' must be an object"]
    problems: list[str] = []
    if missing := [f for f in GOLD_FIELDS if f not in fields]:
        problems.append(f"missing fields {missing}")
    if unknown := sorted(set(fields) - set(GOLD_FIELDS)):
        problems.append(f"unknown fields {unknown}")
    for field, value in fields.items():
        if field in GOLD_FIELDS:
            problems += _check_value(field, value, codes)
    return fields, problems


def _check_value(field: str, value: Any, codes: dict[str, set[str]] | None) -> list[str]:
    if field == "location.address_present":
        return [] if isinstance(value, bool) else [f"{field} must be true or false, got {value!r}"]
    if value is None:
        return []
    if not isinstance(value, str) or not value.strip():
        return [f"{field} must be a non-empty string or null, got {value!r}"]
    if field == "patient.age":
        ok = AGE_RE.match(value)
        return [] if ok else [f"{field} must look like '<int> ans|mois|jours', got {value!r}"]
    if field == "location.city":
        ok = value == value.strip().lower()
        return [] if ok else [f"{field} must be lowercase without surrounding spaces, got {value!r}"]
    problems = []
    if field == "caller.communication" and value == "AUCUNE":
        problems.append(f"{field}: use null rather than 'AUCUNE'")
    if field in LEVEL1_FIELDS and "." in value:
        problems.append(f"{field} must be a level-1 code, got {value!r}")
    if codes is not None and value not in codes[field]:
        problems.append(f"{field}: {value!r} is not a code of HubSante.{CODED_FIELDS[field]}.csv")
    return problems


def _codes_by_field(hubsante_dir: str | Path | None) -> dict[str, set[str]]:
    return {f: nomenclature_codes(n, hubsante_dir) for f, n in CODED_FIELDS.items()}


def load_gold(
    path: str | Path, *, hubsante_dir: str | Path | None = None, check_codes: bool = True
) -> dict[str, Any]:
    """Load and validate one gold form.

    Args:
        path: ``<rec>.json``; its ``call`` must equal the file stem.
        hubsante_dir: Hub Santé data directory for code checks (default ``../shared/data/hubsante``).
        check_codes: check coded fields against the nomenclature CSVs (needs them on disk).

    Returns:
        ``{"call": str, "fields": {field: value}, "evidence": {field: [int]}, "notes": str}`` with
        fields in ``GOLD_FIELDS`` order.

    Raises:
        ValueError: the file is not valid JSON or breaks a rule; the message names the file and
            every problem found.
        FileNotFoundError: ``path`` or a nomenclature CSV is missing.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: invalid JSON ({e})") from e
    codes = _codes_by_field(hubsante_dir) if check_codes else None
    problems = _check_form(data, p.stem, codes)
    if problems:
        raise ValueError(f"{p}: " + "; ".join(problems))
    return {
        "call": data["call"],
        "fields": {f: data["fields"][f] for f in GOLD_FIELDS},
        "evidence": {f: list(data["evidence"][f]) for f in GOLD_FIELDS if f in data["evidence"]},
        "notes": data["notes"],
    }


def load_gold_dir(
    directory: str | Path = GOLD_DIR,
    *,
    hubsante_dir: str | Path | None = None,
    check_codes: bool = True,
) -> dict[str, dict[str, Any]]:
    """Load every ``*.json`` gold form of a directory, keyed by call name (sorted).

    Raises:
        ValueError: the directory does not exist, or a file is invalid (message names it).
    """
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"gold directory not found: {d}")
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(d.glob("*.json")):
        form = load_gold(p, hubsante_dir=hubsante_dir, check_codes=check_codes)
        out[form["call"]] = form
    return out
