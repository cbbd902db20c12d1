"""Speaker roles for emergency calls: ``regulateur`` (the SAMU regulator) vs ``appelant``.

Rule-based and explainable: each speaker gets a score from

* who speaks first (the regulator answers the call: "SAMU, j'écoute", "docteur X, bonjour");
* regulator cues: introducing oneself as doctor/SAMU, "vous appelez pour", asking the usual
  questions (age, address, breathing, "est-ce que", "qu'est-ce qui se passe"), announcing a
  decision ("on vous envoie", "je vous passe", "rappelez le 15");
* caller cues: first-person family relations ("ma fille", "mon mari"), "aidez-moi",
  "s'il vous plaît", "je sais pas", addressing the doctor ("bonjour docteur").

Exactly one speaker (the highest score) becomes ``regulateur``; all others are ``appelant``.
Accuracy on the 61 simsamu reference transcripts is measured by
``benchmarks/bench_roles.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from asr.transcript import Transcript, fold_accents

REGULATOR = "regulateur"
CALLER = "appelant"

_REG_CUES: tuple[tuple[str, float], ...] = (
    (r"\bsamu\b", 3.0),
    (r"\bj ?ecoute\b", 3.0),
    (r"\bje suis (?:le |la )?(?:docteur|medecin|dr)\b", 5.0),
    (r"\b(?:docteur|medecin) (?:regulateur|du samu|au samu)\b", 4.0),
    (r"\bvous appelez (?:pour|parce)\b", 4.0),
    (r"\bqu ?est ?ce qui (?:se passe|s ?est passe|vous arrive)\b", 2.0),
    (r"\bquel age\b", 2.0),
    (r"\bil a quel age\b|\belle a quel age\b", 2.0),
    (r"\best ?ce qu ?(?:il|elle|vous)\b", 1.0),
    (r"\bvotre (?:adresse|fille|fils|mari|femme|pere|mere|enfant|bebe|voisin|ami|amie|collegue)\b", 2.0),
    (r"\bil respire\b|\belle respire\b|\bil parle\b|\belle parle\b|\bconscient", 1.0),
    (r"\b(?:on|je) (?:vous )?(?:envoie|envoyer|va envoyer|vais envoyer)\b", 3.0),
    (r"\b(?:smur|pompiers|ambulance)\b", 1.0),
    (r"\bje vous (?:passe|rappelle|conseille|propose)\b", 2.0),
    (r"\brappelez\b", 2.0),
    (r"\bvous pouvez\b|\bpouvez ?vous\b", 1.0),
    (r"\bd ?accord\b", 0.5),
)
_CALLER_CUES: tuple[tuple[str, float], ...] = (
    (
        r"\b(?:ma|mon|mes) (?:fille|fils|mari|femme|pere|mere|enfant|enfants|bebe|voisin|voisine|ami|amie|copain|copine|collegue|frere|soeur|grand ?mere|grand ?pere|papa|maman)\b",
        2.0,
    ),
    (r"\baidez\b|\bau secours\b|\bvite\b|\bdepechez\b", 2.0),
    (r"\bs ?il vous plait\b", 1.0),
    (r"\bje sais pas\b|\bje ne sais pas\b|\bj ?en sais rien\b", 1.5),
    (r"\bbonjour (?:docteur|monsieur|madame)\b", 1.0),
    (r"\bje suis (?:tres )?(?:inquiet|inquiete|paniquee?)\b", 2.0),
    (r"\bil est tombe\b|\belle est tombee\b|\bje suis tombee?\b", 1.0),
    (r"\bj ?ai (?:mal|peur)\b", 1.5),
)
FIRST_SPEAKER_BONUS = 3.0


def _fold(text: str) -> str:
    """Accent-folded lower-case text with apostrophes, hyphens and punctuation as spaces."""
    t = re.sub(r"[’'`-]", " ", fold_accents(text))
    return re.sub(r"[^a-z0-9? ]+", " ", t)


@dataclass(frozen=True)
class RoleOptions:
    """Role labelling settings.

    Attributes:
        first_speaker_bonus: score added to whoever speaks first (the answering side).
        extra_regulator_cues / extra_caller_cues: (regex on accent-folded lower-case text, weight).
    """

    first_speaker_bonus: float = FIRST_SPEAKER_BONUS
    extra_regulator_cues: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    extra_caller_cues: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("extra_regulator_cues", "extra_caller_cues"):
            for pat, w in getattr(self, name):
                try:
                    re.compile(pat)
                except re.error as e:
                    raise ValueError(f"RoleOptions.{name}: bad regex {pat!r}: {e}") from e
                if not isinstance(w, (int, float)):
                    raise ValueError(f"RoleOptions.{name}: weight for {pat!r} must be a number, got {w!r}")


def role_scores(t: Transcript, opts: RoleOptions | None = None) -> dict[str, float]:
    """Regulator-likeness score per speaker (higher = more likely the regulator)."""
    opts = opts or RoleOptions()
    reg = [(re.compile(p), w) for p, w in _REG_CUES + opts.extra_regulator_cues]
    cal = [(re.compile(p), w) for p, w in _CALLER_CUES + opts.extra_caller_cues]
    texts: dict[str, list[str]] = {}
    first = None
    for s in sorted(t.segments, key=lambda s: s.start):
        if s.speaker is None or not s.text.strip():
            continue
        first = first or s.speaker
        texts.setdefault(s.speaker, []).append(_fold(s.text))
    scores = {}
    for spk, parts in texts.items():
        txt = " " + " | ".join(parts) + " "
        sc = sum(w * len(p.findall(txt)) for p, w in reg) - sum(w * len(p.findall(txt)) for p, w in cal)
        # questions: the regulator asks most of them (only where punctuation exists)
        sc += 0.3 * txt.count("?")
        if spk == first:
            sc += opts.first_speaker_bonus
        scores[spk] = float(sc)
    return scores


def assign_roles(t: Transcript, opts: RoleOptions | None = None) -> dict[str, str]:
    """Map each speaker to ``regulateur`` (exactly one, the top score) or ``appelant``."""
    scores = role_scores(t, opts)
    if not scores:
        return {}
    reg = max(scores, key=lambda k: (scores[k], -list(scores).index(k)))
    return {spk: (REGULATOR if spk == reg else CALLER) for spk in scores}


def label_roles(t: Transcript, opts: RoleOptions | None = None, rename: bool = False) -> Transcript:
    """Return ``t`` with ``roles`` filled; with ``rename`` speakers are renamed to their role
    (``regulateur``, ``appelant``, ``appelant_2``...)."""
    roles = assign_roles(t, opts)
    out = t.with_roles(roles)
    if rename and roles:
        mapping, n = {}, 0
        for spk in t.speakers:
            if roles.get(spk) == REGULATOR:
                mapping[spk] = REGULATOR
            elif spk in roles:
                n += 1
                mapping[spk] = CALLER if n == 1 else f"{CALLER}_{n}"
        out = out.relabel(mapping)
    return out
