"""The short call note: motif, patient, key signs and decision, read off the SAMU form.

A regulator reads a call at a glance from four lines, each built only from form values that
carry evidence (a quote of the transcript), so the note says nothing the call did not say:

    Motif : Douleur thoracique (M03.05), priorité P1
    Patient : homme, 67 ans
    Signes : douleur, respiration difficile ; pas de fièvre ; conscience ? (incertain)
    Décision : intervention — SMUR, orientation urgences

Values without evidence (a model guess the evidence check let through without a quote, say) are
left out and counted in :attr:`CallNote.skipped`. Code labels come from the Hub Santé lists.
Templates, not generation: the note is exactly as reliable as the form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from samu.schema import CallForm, code_labels

MANUAL = "manuel"  # FieldValue.source of a value a person entered (the app's editor)
DECISIONS = {
    "CONSEIL": "conseil",
    "PMT": "prescription médicale téléphonique",
    "INTER": "intervention",
    "ORIENT": "orientation",
    "PASPLUS": "pas d'autre action",
}
RESOURCES = {
    "SMUR": "SMUR",
    "HOSPIT": "transport hospitalier",
    "LIBERAL": "médecin libéral (garde, SOS Médecins)",
    "TSU": "ambulance privée",
    "SIS": "sapeurs-pompiers",
    "AASC": "secouristes agréés",
    "FDO": "forces de l'ordre",
    "AUTRE": "autre moyen",
}
ORIENTATIONS = {
    "URGENCES": "urgences",
    "REA-USI": "réanimation / soins intensifs",
    "SANTE": "service spécialisé",
    "CABINET": "cabinet médical",
    "DOMICILE": "maintien à domicile",
    "EPHAD": "EHPAD",
    "AUTRE": "autre",
}
SEXES = {"M": "homme", "F": "femme", "O": "autre", "UN": "sexe inconnu"}
SIGNS = {  # field -> {value: words}
    "patient.consciousness": {"altérée": "conscience altérée", "inconscient": "inconscient"},
    "patient.breathing": {"difficile": "respiration difficile", "absente": "ne respire pas"},
    "patient.bleeding": {"oui": "saignement"},
    "patient.pain": {"oui": "douleur"},
}


@dataclass(frozen=True)
class CallNote:
    """The note: ``lines`` (French, at most four), and ``skipped``: form values left out for
    lack of evidence."""

    lines: tuple[str, ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _no(sign: str) -> str:
    """``pas de fièvre``, ``pas d'autre douleur``."""
    return ("pas d'" if sign[:1].lower() in "aeéèêiîoôuhy" else "pas de ") + sign


def call_note(form: CallForm, hubsante: str | os.PathLike | None = None) -> CallNote:
    """The short note of one call, grounded in ``form``'s evidence (see the module docstring).

    Args:
        form: a filled form (any extractor).
        hubsante: the Hub Santé directory for the motif labels (default: the configured one);
            when it cannot be read the motif is given by its code alone.
    """
    skipped: list[str] = []

    def grounded(name: str):
        fv = form.fields.get(name)
        if fv is None:
            return None
        if not fv.evidence and fv.source != MANUAL:  # a person's edit stands on its own
            skipped.append(name)
            return None
        return fv.value

    lines = []
    motif, priority = grounded("qualification.motif"), grounded("qualification.priority")
    if motif or priority:
        parts = []
        if motif:
            try:
                label = code_labels("motif", hubsante).get(motif)
            except OSError:
                label = None
            parts.append(f"{label} ({motif})" if label else str(motif))
        if priority:
            parts.append(f"priorité {priority}")
        lines.append("Motif : " + ", ".join(parts))

    sex, age = grounded("patient.sex"), grounded("patient.age")
    who = [p for p in (SEXES.get(sex) if sex else None, age) if p]
    if who:
        lines.append("Patient : " + ", ".join(who))

    present, absent, unsure = [], [], []
    for name, words in SIGNS.items():
        v = grounded(name)
        if v in words:
            present.append(words[v])
    for f in form.findings:
        if not f.evidence:
            skipped.append(f"finding:{f.name}")
            continue
        bucket = unsure if f.hedged else absent if f.negated else present
        if f.name not in bucket:
            bucket.append(f.name)
    both = [a for a in absent if a in present]  # said and denied in the same call: uncertain
    present = [p for p in dict.fromkeys(present) if p not in both]
    absent = [a for a in absent if a not in both]
    unsure += [b for b in both if b not in unsure]
    # "douleur" goes when "douleur thoracique" is there
    present = [p for p in present if not any(q != p and q.startswith(p + " ") for q in present)]
    signs = ", ".join(present)
    if absent:
        signs += ("; " if signs else "") + ", ".join(_no(a) for a in absent)
    if unsure:
        signs += ("; " if signs else "") + ", ".join(f"{s} ?" for s in unsure) + " (incertain)"
    if signs:
        lines.append("Signes : " + signs)

    dtype, resource, orient = (
        grounded("decision.type"),
        grounded("decision.resource"),
        grounded("decision.orientation"),
    )
    if dtype or resource or orient:
        head = DECISIONS.get(dtype, dtype) if dtype else "décision"
        rest = [RESOURCES.get(resource, resource)] if resource else []
        if orient:
            where = ORIENTATIONS.get(orient, orient)
            rest.append(where if dtype == "ORIENT" else "orientation " + where)
        lines.append("Décision : " + head + (" — " + ", ".join(rest) if rest else ""))
    return CallNote(tuple(lines), tuple(skipped))
