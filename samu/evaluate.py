"""Score call forms against gold forms: per-field and micro precision / recall / F1.

Slot-filling counting, per call and field: a predicted value equal to the gold value is a true
positive; a predicted value that differs (or where gold is null) is a false positive; a gold
value not predicted exactly is a false negative (so a wrong value counts as both FP and FN).
Codes match exactly; free text (city) after accent folding, lower-casing and whitespace
normalisation; ``location.address_present`` is a boolean that gold always defines: a predicted
``true``/``false`` is scored like a code, a missing prediction is a false negative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from samu.gold import GOLD_FIELDS
from samu.schema import CallForm
from samu.text import fold

TARGET_FIELDS = (
    "patient.age",
    "patient.sex",
    "qualification.motif",
    "qualification.priority",
    "decision.type",
    "location.address_present",
)


def _norm(field: str, v):
    if v is None:
        return None
    if field == "location.city":
        return re.sub(r"\s+", " ", fold(str(v))).strip() or None
    return v


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def to_dict(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class Report:
    per_field: dict[str, Counts] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)  # (call, field, gold, predicted)
    calls: int = 0

    def micro(self, fields: tuple[str, ...] | None = None) -> Counts:
        c = Counts()
        for f in fields or tuple(self.per_field):
            c.add(self.per_field.get(f, Counts()))
        return c

    def to_dict(self) -> dict:
        return {
            "calls": self.calls,
            "per_field": {f: c.to_dict() for f, c in self.per_field.items()},
            "micro_all": self.micro().to_dict(),
            "micro_target": self.micro(TARGET_FIELDS).to_dict(),
            "target_fields": list(TARGET_FIELDS),
            "errors": self.errors,
        }


def score_call(pred: CallForm | dict, gold: dict, call: str = "", report: Report | None = None) -> Report:
    """Add one call's comparison to ``report`` (created if None). ``pred`` is a form or a
    ``{field: value}`` dict; ``gold`` is a loaded gold form (``samu.gold.load_gold``)."""
    report = report or Report({f: Counts() for f in GOLD_FIELDS})
    values = pred.values() if isinstance(pred, CallForm) else dict(pred)
    gfields = gold["fields"]
    for f in GOLD_FIELDS:
        g = _norm(f, gfields.get(f))
        p = _norm(f, values.get(f))
        if isinstance(p, tuple):
            p = list(p)
        if f == "location.address_present":
            g = bool(g)  # always defined in gold; a missing prediction stays missing (FN)
        c = report.per_field.setdefault(f, Counts())
        if p is not None and p == g:
            c.tp += 1
            continue
        if p is not None:
            c.fp += 1
        if g is not None:
            c.fn += 1
        if p != g:
            report.errors.append({"call": call, "field": f, "gold": g, "predicted": p})
    report.calls += 1
    return report


def format_table(report: Report, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'champ':28} {'P':>6} {'R':>6} {'F1':>6}   tp  fp  fn")
    for f in GOLD_FIELDS:
        c = report.per_field.get(f, Counts())
        mark = "*" if f in TARGET_FIELDS else " "
        lines.append(
            f"{f + mark:28} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} {c.tp:4d}{c.fp:4d}{c.fn:4d}"
        )
    for name, cnt in (
        ("micro (champs cibles *)", report.micro(TARGET_FIELDS)),
        ("micro (tous)", report.micro()),
    ):
        lines.append(
            f"{name:28} {cnt.precision:6.3f} {cnt.recall:6.3f} {cnt.f1:6.3f} {cnt.tp:4d}{cnt.fp:4d}{cnt.fn:4d}"
        )
    return "\n".join(lines)
