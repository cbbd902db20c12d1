"""Text helpers for speech-style French: accent folding that keeps character offsets, French
numbers in words, negation and hedging windows."""

from __future__ import annotations

import re

from text_to_num import text2num

from asr.transcript import fold_accents

# folded punctuation (anything but letters, digits, spaces and "?") -> space, one for one
_PUNCT = re.compile(r"[^\w ?]|_")


def fold(text: str) -> str:
    """Lower-case, strip accents and map apostrophes/hyphens/punctuation to spaces, one character
    for one character, so offsets in the folded text are offsets in the original (see
    :func:`asr.transcript.fold_accents`)."""
    return _PUNCT.sub(" ", fold_accents(text, keep_offsets=True))


_UNITS = (
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "vingt vingts trente quarante cinquante soixante cent cents mille"
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


# hesitation words that can split a spoken number ("soixante heu treize")
FILLERS = re.compile(r"\b(?:heu+|euh+|hum+|hmm+|bah|ben)\b")
_NUM_RUN = re.compile(rf"\b(?:\d{{1,4}}|{NUMWORD}(?:\s+(?:et\s+)?{NUMWORD})*)\b")


_NUM_TOKEN = re.compile(rf"\d+|{NUMWORD}")  # "quatre quatre-vingt-quatre": numbers are not stutters
_NO_DEDUP = {"vous", "nous", "?"}  # "vous vous êtes fait mal" is grammar, not a stutter


def clean_speech(folded: str) -> tuple[str, list[int]]:
    """Folded text without hesitation words and stutters ("il est en en route", "le le
    médecin"), words joined by single spaces, and for each character its offset in ``folded``
    (which is also its offset in the original text). Rules match the clean text; their evidence
    maps back to an exact quote of the original."""
    out: list[str] = []
    cmap: list[int] = []
    prev = None
    for m in re.finditer(r"\S+", folded):
        tok = m.group()
        if FILLERS.fullmatch(tok) or tok == prev and tok not in _NO_DEDUP and not _NUM_TOKEN.fullmatch(tok):
            continue
        if out:
            out.append(" ")
            cmap.append(cmap[-1] + 1)
        out.append(tok)
        cmap.extend(range(m.start(), m.end()))
        prev = tok
    return "".join(out), cmap


def without_fillers(folded: str) -> str:
    """``folded`` with hesitation words blanked out, offsets kept ("soixante heu treize" reads
    as "soixante     treize")."""
    return FILLERS.sub(lambda m: " " * len(m.group()), folded)


def number_spans(folded: str) -> list[tuple[int, int, int]]:
    """Every spoken number of a folded text as ``(start, end, value)``, in order.

    A run of number words is split into the longest numbers French allows, so repetitions and
    restarts give separate numbers: "cinquante huit cinquante huit" → 58, 58; "soixante dix
    quatre vingts" → 70, 80; "quatre vingt quatre quatre vingt quatre" → 84, 84. Fillers
    should be blanked first (:func:`without_fillers`) so that "soixante heu treize" is 73."""
    out = []
    for run in _NUM_RUN.finditer(folded):
        toks = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\S+", run.group())]
        i = 0
        while i < len(toks):
            if folded[toks[i][0] : toks[i][1]] == "et":
                i += 1
                continue
            for j in range(min(len(toks), i + 8), i, -1):
                if folded[toks[j - 1][0] : toks[j - 1][1]] == "et":
                    continue
                v = parse_number(folded[toks[i][0] : toks[j - 1][1]])
                if v is not None:
                    out.append((toks[i][0], toks[j - 1][1], v))
                    i = j
                    break
            else:
                i += 1
    return out


_FUNCTION_WORDS = {"d", "de", "du", "des", "l", "la", "le", "les", "un", "une", "heu", "euh"}
_SUBJECTS = {"je", "j", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles"}
NEGATORS = {"pas", "plus", "jamais", "aucun", "aucune", "sans", "ni", "rien"}
# idioms that contain a negator but negate nothing ("il saigne sans arrêt", "pas mal de sang")
_NOT_NEGATIONS = re.compile(r"\b(sans arret|sans cesse|pas mal de|de plus en plus|non plus|plus de \d+)\b")
HEDGES = re.compile(
    r"\b(je sais pas|j sais pas|sais pas si|je crois|je pense|peut etre|il me semble|on dirait|apparemment|"
    r"j ai l impression|a priori|normalement|possible|probablement|je suis pas sur|je suis pas sure|"
    r"j ai peur|peur qu|peur que|des fois que|on a cru|on croyait|on pensait|au debut on)\b"
)


def negated_at(folded: str, start: int, end: int, before: int = 3, after: int = 1) -> bool:
    """True when a negator occurs within ``before`` words before the match or ``after`` words
    after it, without crossing a clause boundary (``?``, ``mais``, ``par contre``). Articles and
    elided words do not count in the window ("pas d'odeur d'alcool" negates "alcool")."""
    # a bounded window keeps this linear in the text length
    left_txt = _NOT_NEGATIONS.sub(" ", folded[max(0, start - 80) : start])
    right_txt = _NOT_NEGATIONS.sub(" ", folded[end : end + 40])
    left_words = re.split(r"\?|\bmais\b|\bpar contre\b", left_txt)[-1].split()
    left = [w for w in left_words if w not in _FUNCTION_WORDS][-before:]
    right = re.split(r"\?|\bmais\b", right_txt)[0].split()[:after]
    neg_at = [i for i, w in enumerate(left) if w in NEGATORS]
    if neg_at and any(w in _SUBJECTS for w in left[neg_at[-1] + 1 :]):
        # a new clause starts after the negator ("ce n'est pas ça vous allez aux urgences")
        neg_at = []
    # a bare "non" right after the word answers a checklist question ("allergie non")
    return (
        bool(neg_at)
        or any(w in NEGATORS for w in right)
        or right[:1] == ["non"]
        and not re.match(r"\s*non\s*\?", right_txt)
    )


def hedged_at(folded: str, start: int, end: int, window: int = 40) -> bool:
    return bool(HEDGES.search(folded[max(0, start - window) : end + 15]))
