"""Text helpers for speech-style French: accent folding that keeps character offsets, French
numbers in words, negation and hedging windows."""

from __future__ import annotations

import functools
import re
import unicodedata

from text_to_num import text2num


def fold(text: str) -> str:
    """Lower-case, strip accents and map apostrophes/hyphens/punctuation to spaces, one character
    for one character, so offsets in the folded text are offsets in the original."""
    return "".join([_fold_char(c) for c in text])


@functools.lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    b = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()
    if len(b) != 1:
        b = c.lower() if len(c.lower()) == 1 else " "
    if not (b.isalnum() or b in " ?"):
        b = " "
    return b


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


NEGATORS = {"pas", "plus", "jamais", "aucun", "aucune", "sans", "ni", "rien"}
# idioms that contain a negator but negate nothing ("il saigne sans arrêt", "pas mal de sang")
_NOT_NEGATIONS = re.compile(r"\b(sans arret|sans cesse|pas mal de|de plus en plus|non plus|plus de \d+)\b")
HEDGES = re.compile(
    r"\b(je sais pas|j sais pas|sais pas si|je crois|je pense|peut etre|il me semble|on dirait|apparemment|"
    r"j ai l impression|a priori|normalement|possible|probablement|je suis pas sur|je suis pas sure)\b"
)


def negated_at(folded: str, start: int, end: int, before: int = 3, after: int = 1) -> bool:
    """True when a negator occurs within ``before`` words before the match or ``after`` words
    after it, without crossing a clause boundary (``?``, ``mais``, ``par contre``)."""
    # a bounded window keeps this linear in the text length
    left_txt = _NOT_NEGATIONS.sub(" ", folded[max(0, start - 80) : start])
    right_txt = _NOT_NEGATIONS.sub(" ", folded[end : end + 40])
    left = re.split(r"\?|\bmais\b|\bpar contre\b", left_txt)[-1].split()[-before:]
    right = re.split(r"\?|\bmais\b", right_txt)[0].split()[:after]
    return any(w in NEGATORS for w in left + right)


def hedged_at(folded: str, start: int, end: int, window: int = 40) -> bool:
    return bool(HEDGES.search(folded[max(0, start - window) : end + 15]))
