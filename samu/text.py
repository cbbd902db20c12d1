"""Text helpers for speech-style French: accent folding that keeps character offsets, French
numbers in words, negation and hedging windows."""

from __future__ import annotations

import re
import unicodedata

from text_to_num import text2num


def fold(text: str) -> str:
    """Lower-case, strip accents and map apostrophes/hyphens/punctuation to spaces, one character
    for one character, so offsets in the folded text are offsets in the original."""
    out = []
    for c in text:
        b = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()
        if len(b) != 1:
            b = c.lower() if len(c.lower()) == 1 else " "
        if not (b.isalnum() or b in " ?"):
            b = " "
        out.append(b)
    return "".join(out)


_UNITS = (
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "vingt vingts trente quarante cinquante soixante cent cents"
).split()
NUMWORD = "(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")"
# a number in digits or in (accent-folded) French words: "16", "seize", "quatre vingt deux", "vingt et un"
NUMBER = rf"(?:\d{{1,3}}|{NUMWORD}(?:\s+(?:et\s+)?{NUMWORD})*)"


def parse_number(s: str) -> int | None:
    """``"16"`` / ``"seize"`` / ``"quatre vingt deux"`` (folded) → int, or None."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    words = s.split()
    # text2num wants hyphenated compounds ("quatre-vingt-deux", "vingt-et-un")
    for cand in (" ".join(words), "-".join(words)):
        try:
            return int(text2num(cand, "fr"))
        except ValueError:
            continue
    return None


NEGATORS = {"pas", "plus", "jamais", "aucun", "aucune", "sans", "ni", "rien", "non"}
HEDGES = re.compile(
    r"\b(je sais pas|j sais pas|sais pas si|je crois|je pense|peut etre|il me semble|on dirait|apparemment|"
    r"j ai l impression|a priori|normalement|possible|probablement|je suis pas sur|je suis pas sure)\b"
)


def negated_at(folded: str, start: int, end: int, before: int = 3, after: int = 1) -> bool:
    """True when a negator occurs within ``before`` words before the match or ``after`` words
    after it, without crossing a clause boundary (``?``, ``mais``, ``par contre``)."""
    left = re.split(r"\?|\bmais\b|\bpar contre\b", folded[:start])[-1].split()[-before:]
    right = re.split(r"\?|\bmais\b", folded[end:])[0].split()[:after]
    return any(w in NEGATORS for w in left + right)


def hedged_at(folded: str, start: int, end: int, window: int = 40) -> bool:
    return bool(HEDGES.search(folded[max(0, start - window) : end + 15]))
