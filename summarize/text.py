"""French text helpers for the summaries head: word tokenizer, sentence splitter, stop words.

Standard library only. The word tokenizer is the one our ROUGE scorer uses: the default
``rouge_score`` tokenizer keeps only ``[a-z0-9]`` and so turns ``école`` into ``cole`` and
``été`` into ``t``; ours keeps every Unicode letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from asr.transcript import fold_accents

__all__ = [
    "FrenchTokenizer",
    "tokenize",
    "split_sentences",
    "split_long",
    "sentence_key",
    "MAX_SENTENCE_WORDS",
    "PSEUDO_SENTENCE_WORDS",
    "count_words",
    "truncate_words",
    "FRENCH_STOPWORDS",
    "french_ratio",
    "resolve_initials",
]

# a word is a run of letters/digits; apostrophes, hyphens and punctuation separate words
# ("l'école" -> "l", "école"; "peut-être" -> "peut", "être")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (NFC), accents kept: ``"L'École a été"`` -> ``["l", "école", "a", "été"]``."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


class FrenchTokenizer:
    """Tokenizer object for ``rouge_score.rouge_scorer.RougeScorer(tokenizer=...)``.

    No stemming (the rouge-score stemmer is Porter, for English).
    """

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def count_words(text: str) -> int:
    """Words as a reader counts them: whitespace-separated, punctuation-only pieces ignored."""
    return sum(1 for w in text.split() if _WORD.search(w))


# Sentence ends: . ! ? … followed by space and a letter (ASR output is often lower case), a quote,
# a dash or a digit.
# Abbreviations common in transcripts (M., Mme., etc.) are protected.
_ABBREV = re.compile(r"\b(M|MM|Mme|Mmes|Mlle|Dr|Pr|St|Ste|etc|cf|p|art|n°|av|J\.-C)\.$", re.IGNORECASE)
_END = re.compile(r"([.!?…]+(?:\s?[»\"”)])*)\s+(?=[«\"“(\-–—0-9]|[^\W\d_])")


def split_sentences(text: str) -> list[str]:
    """Split French text into sentences (rule-based, no model).

    Keeps the final punctuation with its sentence; never returns empty strings.
    """
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        cand = text[start : m.end(1)].strip()
        if _ABBREV.search(cand):
            continue
        if cand:
            out.append(cand)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


# a "sentence" longer than this is cut into pseudo-sentences of about PSEUDO_SENTENCE_WORDS words
# (ASR output without punctuation, run-on turns); 2 % of FREDSum's sentences are longer than 60
MAX_SENTENCE_WORDS = 60
PSEUDO_SENTENCE_WORDS = 25
_SOFT_END = re.compile(r"[,;:)»\"”]$")


def split_long(
    sentence: str, max_words: int = MAX_SENTENCE_WORDS, target: int = PSEUDO_SENTENCE_WORDS
) -> list[str]:
    """Cut a sentence of more than ``max_words`` words into pseudo-sentences of about ``target``
    words, at word boundaries (after a comma, semicolon or colon when one is within a few words
    of the cut). Shorter sentences come back unchanged, as a one-element list.

    >>> [len(s.split()) for s in split_long(" ".join(["mot"] * 100))]
    [25, 25, 25, 25]
    """
    if max_words < 1 or target < 1:
        raise ValueError(f"max_words and target must be >= 1, got {max_words} and {target}")
    words = sentence.split()
    n = len(words)
    if n <= max_words:
        return [sentence] if words else []
    k = -(-n // target)  # pieces of (nearly) equal size, none over target
    size = n / k
    slack = max(1, round(size / 5))
    out, start = [], 0
    for i in range(1, k):
        cut = round(i * size)
        # prefer a cut after a soft punctuation mark near the target position
        near = [
            c for c in range(cut - slack, cut + slack + 1) if start < c < n and _SOFT_END.search(words[c - 1])
        ]
        if near:
            cut = min(near, key=lambda c: abs(c - round(i * size)))
        if cut <= start:
            continue
        out.append(" ".join(words[start:cut]))
        start = cut
    out.append(" ".join(words[start:]))
    return out


_FILLERS = frozenset("euh heu hum hmm bah ben hein".split())


def sentence_key(sentence: str) -> str:
    """What two repeats of a sentence share: its words lower-cased without accents, punctuation
    and hesitations (``euh``, ``hein``...) dropped. ``"Euh, c'est TRÈS cher !"`` and
    ``"c'est très cher."`` have the same key."""
    return " ".join(w for w in _WORD.findall(fold_accents(sentence)) if w not in _FILLERS)


def truncate_words(text: str, max_words: int) -> str:
    """Cut ``text`` to at most ``max_words`` words, at the last sentence end inside the budget
    when there is one (else at a word boundary, with an ellipsis)."""
    if count_words(text) <= max_words:
        return text.strip()
    kept: list[str] = []
    n = 0
    for sent in split_sentences(text):
        k = count_words(sent)
        if n + k > max_words:
            break
        kept.append(sent)
        n += k
    if kept:
        return " ".join(kept)
    words = text.split()[:max_words]
    return " ".join(words).rstrip(",;:") + " …"


FRENCH_STOPWORDS = frozenset(
    """
a à afin ai aie aient aies ait alors as au aucun aucune aupres auquel aura aurai auraient aurais aurait
auras aurez auriez aurions aurons auront aussi autre autres aux auxquelles auxquels avaient avais avait
avant avec avez aviez avions avoir avons ayant ayez ayons bah ben bien bon c ça car ce ceci cela celle
celles celui cependant certain certaine certains ces cet cette ceux chacun chaque chez ci comme comment
d dans de des donc dont du elle elles en encore entre es est et étaient étais était étant été êtes étiez
étions être eu eue eues euh eûmes eurent eus eusse eussent eusses eussiez eussions eut eux fait faites
fois font furent fus fut hein ici il ils j je jusqu l la là le les leur leurs lui m ma mais me même mêmes
mes moi mon n ne ni non nos notre nous on ont ou où oui par parce pas peu peut plus pour pourquoi qu
quand que quel quelle quelles quels qui quoi s sa sans se sera serai seraient serais serait seras serez
seriez serions serons seront ses si sien soi soient sois soit sommes son sont sous soyez soyons suis
sur t ta te tes toi ton tous tout toute toutes très tu un une unes uns va vais vas voilà vont vos votre
vous vu y
""".split()
)

# frequent words of other languages our transcripts may be in (ASR on auto language)
_FOREIGN = frozenset(
    """
the and is are was were you that this with for have not but what they from his her which would there
der die das und ist nicht ich sie mit den ein eine zu von el los las que por una con para como pero
""".split()
)


def french_ratio(text: str) -> float:
    """Share of stop-word tokens that are French (vs. frequent English/German/Spanish words).

    1.0 for French prose, near 0 for English; 1.0 when no stop word is seen at all.
    """
    toks = tokenize(text)
    fr = sum(1 for t in toks if t in FRENCH_STOPWORDS)
    other = sum(1 for t in toks if t in _FOREIGN and t not in FRENCH_STOPWORDS)
    if fr + other == 0:
        return 1.0
    return fr / (fr + other)


_NAME_PART = r"[A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ][\w’'-]*"
_PARTICLE = r"(?:Le|La|De|Du|de|du|d’|d')"
_NAME = re.compile(rf"\b{_NAME_PART}(?:\s+(?:{_PARTICLE}\s*)?{_NAME_PART}){{1,3}}")
_TITLES = {"monsieur", "madame", "mademoiselle", "m", "mme", "président", "présidente", "docteur", "maître"}


def _initials(name: str) -> str:
    parts = re.split(r"[\s-]+", name.replace("’", " ").replace("'", " "))
    return "".join(p[0] for p in parts if p and p[0].isalpha()).upper()


def resolve_initials(labels: Sequence[str], text: str) -> dict[str, str]:
    """Full names for speaker labels that are initials (``EM``, ``MLP``, ``JLM``), found in ``text``.

    A label of 2-4 capital letters maps to the most frequent capitalised name in the text whose
    initials spell it (``Emmanuel Macron`` -> ``EM``, ``Marine Le Pen`` -> ``MLP``,
    ``Jean-Luc Mélenchon`` -> ``JLM``); titles (``Monsieur``, ``Madame``) never start a name.
    Labels without a unique best match are left out.
    """
    wanted = {lab for lab in labels if lab and re.fullmatch(r"[A-Z]{2,4}", lab)}
    if not wanted:
        return {}
    counts: dict[str, dict[str, int]] = {lab: {} for lab in wanted}
    for m in _NAME.finditer(text):
        name = m.group(0)
        words = name.split()
        while words and words[0].lower().strip(".") in _TITLES:
            words = words[1:]
        if len(words) < 2:
            continue
        name = " ".join(words)
        ini = _initials(name)
        if ini in counts:
            counts[ini][name] = counts[ini].get(name, 0) + 1
    # debaters are addressed as "Monsieur X"/"Madame X": prefer names whose surname is
    addressed = {
        a.lower() for a in re.findall(r"\b(?:Monsieur|Madame|M\.|Mme\.?)\s+((?:Le\s+|La\s+|de\s+)?\w+)", text)
    }
    out = {}
    for lab, found in counts.items():
        if not found:
            continue
        preferred = {n: c for n, c in found.items() if any(n.lower().endswith(" " + a) for a in addressed)}
        others = [n.lower() for other, f in counts.items() if other != lab for n in f]
        conflict = [
            a
            for a in addressed
            if _initials(a)[-1:] == lab[-1] and not any(n.endswith(" " + a) for n in others)
        ]
        if not preferred and conflict:
            continue  # someone with that surname initial is addressed but never named in full
        ranked = sorted((preferred or found).items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            out[lab] = ranked[0][0]
    return out
