"""Faithfulness check of a summary: are its names and numbers in the transcript?

A summary (ours or anyone's) is checked mention by mention:

- **names**: capitalised words and multiword proper names (``Marine Le Pen``, ``Valéry Giscard
  d'Estaing``, ``Jean-Luc Mélenchon``) not at the start of a sentence, titles (``Monsieur``,
  ``Madame``...) left out; at a sentence start, a capitalised word counts only when the
  transcript never writes it in lower case (``François Bayrou`` yes, ``Dans`` or ``Pour`` no);
  ``Jean Martin : ...`` line labels (extractive summaries) count as names too. Acronyms (``TVA``,
  ``EM``) are not names.
- **numbers**: digits (``23``, ``10 000``, ``1,5``, ``2ème``) and French number words from three
  on (``vingt-trois``, ``trois millions``), read with ``text_to_num.alpha2digit``; ``un``/``une``
  and ``deux`` written in words are not counted (articles, "les deux candidats").

A name is supported when, case, accents, hyphens and apostrophes folded, it occurs in the
transcript's text or speaker labels, or when its initials are a speaker label (``EM``,
``MLP``) and its last part occurs in the transcript (``Emmanuel Macron`` for ``EM`` with
``Monsieur Macron`` in the text); speaker labels that are initials also count under the full
name :func:`summarize.text.resolve_initials` finds for them. A number is supported when its
value occurs in the transcript, digits or words (``vingt-trois`` = ``23``, ``trois millions``
= ``3 000 000``, ``pour cent`` = ``%``), a year also as its last two digits (``1981`` for
``quatre-vingt-un``).

:func:`check_faithfulness` returns a :class:`FaithfulnessReport` with every mention, the
unsupported ones and a flag per summary sentence; :meth:`FaithfulnessReport.kept_text` is the
summary without its unsupported sentences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from asr.transcript import Transcript, fold_accents

from .text import FRENCH_STOPWORDS, resolve_initials, split_sentences

__all__ = ["Mention", "SentenceCheck", "FaithfulnessReport", "check_faithfulness", "KINDS"]

KINDS = ("name", "number")

# words that start a name sequence but are no part of the name
_TITLES = frozenset(
    "monsieur madame mademoiselle messieurs mesdames m mme mlle mm president presidente docteur "
    "dr maitre me ministre premier premiere general generale professeur pr mr".split()
)
# lower-case words inside a name (Charles de Gaulle); capitalised ones are parts (Marine Le Pen)
_PARTICLES = frozenset("de du des d van von di da del".split())
# fuzzy matching (one letter inserted, deleted or replaced) for words at least this long
_FUZZY_MIN = 5
# sentence openers and field labels of call summaries, never names even when the transcript
# happens not to use them in lower case
_NOT_NAMES = frozenset(
    """
alors apres aujourd ainsi au aussi autrement bref cependant ce cela certes concernant d dans de des
deja donc du durant egalement elle elles en enfin ensuite entre et finalement globalement il ils
je l la le les leur lors lorsque mais malgre neanmoins nous on or par parmi pendant plusieurs pour
puis quant quand que selon si sur tandis toutefois tous tout un une voici voila vous
motif patient patiente signes cles decision resume conclusion remarque note synthese introduction
oui non merci bonjour bonsoir
""".split()
)
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|presqu)['’](?=\w)", re.IGNORECASE)
_EDGE_PUNCT = "«»\"“”‘’'()[]{}.,;:!?…*•"
_LINE_LABEL = re.compile(r"^\s*([^\W\d_][^:\n]{0,59}?)\s+:\s+(.*)$")
# a number in digits once words are digits: 10 000 / 1.000 / 1,5 / 2007 / 23
_NUMBER_RE = r"(?<![\w,.])(\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?!\d)|\d+)(?:,(\d+))?(?!\d)"
_NUMBER = re.compile(_NUMBER_RE)
_NUMBER_SCALED = re.compile(_NUMBER_RE + r"\s*(mille|millions?|milliards?)\b", re.IGNORECASE)
# "des millions", "plusieurs milliards": no number (alpha2digit would read 1000000)
_LONE_SCALE = re.compile(
    r"\b(des|les|de|plusieurs|quelques|ces|aux|par|en)\s+(millions?|milliards?)\b", re.IGNORECASE
)
_SCALE = {"mille": Decimal(10**3), "million": Decimal(10**6), "milliard": Decimal(10**9)}
_POUR_CENT = re.compile(r"\bpour\s*cent\b", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """A name or number of the summary.

    Attributes:
        kind: ``name`` or ``number``.
        text: as written in the summary (numbers in digits, as read).
        key: what is looked up in the transcript (folded name, number value).
        supported: found in the transcript.
        sentence: index of its sentence in :attr:`FaithfulnessReport.sentences`.
    """

    kind: str
    text: str
    key: str
    supported: bool
    sentence: int


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of the summary: its line, optional ``Speaker :`` label and text."""

    line: int
    label: str | None
    text: str
    mentions: tuple[Mention, ...] = ()
    label_supported: bool = True

    @property
    def unsupported(self) -> tuple[Mention, ...]:
        return tuple(m for m in self.mentions if not m.supported)

    @property
    def supported(self) -> bool:
        """No unsupported mention, and the line's speaker label (if a name) is supported."""
        return self.label_supported and not self.unsupported


@dataclass(frozen=True)
class FaithfulnessReport:
    """Names and numbers of a summary, checked against its transcript.

    Attributes:
        summary: the summary text checked.
        sentences: each sentence with its mentions (a flagged sentence has an unsupported one).
    """

    summary: str
    sentences: tuple[SentenceCheck, ...]

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return tuple(m for s in self.sentences for m in s.mentions)

    @property
    def unsupported(self) -> tuple[Mention, ...]:
        return tuple(m for m in self.mentions if not m.supported)

    @property
    def flagged(self) -> tuple[int, ...]:
        """Indexes of the sentences with an unsupported mention."""
        return tuple(i for i, s in enumerate(self.sentences) if not s.supported)

    def count(self, kind: str | None = None) -> tuple[int, int]:
        """``(unsupported, total)`` mentions of ``kind`` (``name``, ``number``, ``None``: both)."""
        ms = [m for m in self.mentions if kind is None or m.kind == kind]
        return sum(1 for m in ms if not m.supported), len(ms)

    def rate(self, kind: str | None = None) -> float | None:
        """Share of unsupported mentions (``None`` when there is no mention)."""
        bad, total = self.count(kind)
        return bad / total if total else None

    def kept_text(self) -> str:
        """The summary without its flagged sentences (lines left empty are removed; untouched
        lines are kept as written)."""
        lines = self.summary.split("\n")
        by_line: dict[int, list[SentenceCheck]] = {}
        for s in self.sentences:
            by_line.setdefault(s.line, []).append(s)
        out: list[str] = []
        for i, line in enumerate(lines):
            checks = by_line.get(i)
            if not checks or all(c.supported for c in checks):
                out.append(line)
                continue
            kept = [c.text for c in checks if c.supported]
            if kept:
                label = checks[0].label
                out.append((f"{label} : " if label else "") + " ".join(kept))
        text = "\n".join(out)
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def warnings(self) -> list[str]:
        """French messages, one per unsupported mention (first occurrence)."""
        out, seen = [], set()
        for m in self.unsupported:
            if (m.kind, m.key) in seen:
                continue
            seen.add((m.kind, m.key))
            what = "nom" if m.kind == "name" else "nombre"
            out.append(f"{what} absent de la transcription : « {m.text} »")
        return out

    def to_dict(self) -> dict:
        return {
            "mentions": [m.__dict__ for m in self.mentions],
            "unsupported": [m.__dict__ for m in self.unsupported],
            "flagged_sentences": [
                {"line": self.sentences[i].line, "text": self.sentences[i].text} for i in self.flagged
            ],
            "names": dict(zip(("unsupported", "total"), self.count("name"))),
            "numbers": dict(zip(("unsupported", "total"), self.count("number"))),
        }


# --------------------------------------------------------------------------- normalisation


def _fold_words(text: str) -> str:
    """Folded words separated by single spaces (``Jean-Luc d’Estaing`` -> ``jean luc d estaing``)."""
    return " ".join(re.findall(r"[^\W_]+", fold_accents(text)))


def _value(int_part: str, frac: str | None, scale: str | None) -> Decimal | None:
    digits = re.sub(r"\D", "", int_part)
    try:
        v = Decimal(f"{digits}.{frac}") if frac else Decimal(digits)
    except InvalidOperation:
        return None
    if scale:
        v *= _SCALE[scale.lower().rstrip("s")]
    return v


def _key(v: Decimal) -> str:
    s = format(v.normalize(), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


# alpha2digit's time grows faster than the length of its input: long texts go in pieces
_PIECE_CHARS = 2000


def _pieces(text: str, size: int = _PIECE_CHARS) -> list[str]:
    """``text`` cut at spaces into pieces of at most about ``size`` characters."""
    out = []
    while len(text) > size:
        cut = text.rfind(" ", 0, size)
        cut = cut if cut > 0 else size
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return out


def _numbers(text: str, threshold: float) -> list[tuple[str, Decimal, Decimal | None]]:
    """``(as read, value, value without the million/milliard scale)`` of each number in ``text``."""
    if len(text) > _PIECE_CHARS:
        return [n for piece in _pieces(text) for n in _numbers(piece, threshold)]
    from text_to_num import alpha2digit

    out = []

    def scaled(m: re.Match) -> str:  # "23 millions": alpha2digit would read "23 1000000"
        v = _value(m.group(1), m.group(2), m.group(3))
        if v is not None:
            out.append((m.group(0).strip(), v, _value(m.group(1), m.group(2), None)))
        return " ; "

    text = _NUMBER_SCALED.sub(scaled, _POUR_CENT.sub("%", text))
    text = _LONE_SCALE.sub(lambda m: m.group(1) + " ⁂", text)
    try:
        text = alpha2digit(text, "fr", threshold=threshold)
    except Exception:  # text2num is strict on odd input; digits are still read
        pass
    for m in _NUMBER.finditer(text):
        v = _value(m.group(1), m.group(2), None)
        if v is not None:
            out.append((m.group(0).strip(), v, None))
    return out


class _Support:
    """What the transcript offers: folded text and labels, lower-case words, number values."""

    def __init__(self, transcript: Transcript | str, speaker_names: Mapping[str, str] | None):
        if isinstance(transcript, Transcript):
            text = transcript.text
            self.turns = [s.text for s in transcript.segments if s.text]
            labels = [s for s in transcript.speakers if s]
            names = dict(resolve_initials(labels, text))
        else:
            text, labels, names = str(transcript), [], {}
            self.turns = [text]
        names.update({k: v for k, v in (speaker_names or {}).items() if k and v})
        all_labels = set(labels) | set(names) | set(names.values())
        self.initials = {lab for lab in all_labels if re.fullmatch(r"[A-Z]{2,4}", lab)}
        self.labels = {_fold_words(lab) for lab in all_labels}
        self.text = " " + " | ".join([_fold_words(text), *sorted(self.labels)]) + " "
        # surnames of labels such as "M. CHIRAC", "Valéry GISCARD D'ESTAING"
        self.surnames = set()
        for lab in all_labels:
            words = [w for w in _fold_words(lab).split() if w not in _TITLES]
            if words and len(words[-1]) > 1 and words[-1].isalpha() and not re.fullmatch(r"[A-Z]{2,4}", lab):
                self.surnames.add(words[-1])
        lower = {w for w in re.findall(r"\b[^\W\d_][\w'’-]*", text) if w[0].islower()}
        self.lower_words = {fold_accents(w) for w in lower}
        self._words: set[str] = set()
        self._vocab: set[str] | None = None
        self._deleted: dict[tuple[str, int], set[str]] | None = None
        self._numbers: set[str] | None = None

    def has(self, folded: str) -> bool:
        return bool(folded) and f" {folded} " in self.text

    @property
    def vocab(self) -> set[str]:
        """Folded words of the transcript and labels, and adjacent pairs written as one
        (``lepen`` for ``Le Pen``)."""
        if self._vocab is None:
            words = self.text.split()
            self._words = set(words)
            self._vocab = self._words | {a + b for a, b in zip(words, words[1:], strict=False)}
        return self._vocab

    def near(self, word: str) -> str | None:
        """A transcript word one letter away from ``word`` (``royale`` -> ``royal``), if any."""
        if len(word) < _FUZZY_MIN:
            return None
        if self._deleted is None:
            self._deleted = {}
            _ = self.vocab
            for v in self._words:
                if len(v) >= _FUZZY_MIN:
                    for i in range(len(v)):
                        self._deleted.setdefault((v[:i] + v[i + 1 :], i), set()).add(v)
        found: set[str] = set()
        for i in range(len(word)):
            shorter = word[:i] + word[i + 1 :]
            if shorter in self._words:  # one letter too many
                found.add(shorter)
            found |= self._deleted.get((shorter, i), set())  # one letter replaced
        for i in range(len(word) + 1):
            found |= self._deleted.get((word, i), set())  # one letter missing
        found.discard(word)
        return min(found) if found else None

    @property
    def numbers(self) -> set[str]:
        if self._numbers is None:
            keys: set[str] = set()
            for turn in self.turns:
                for _, v, bare in _numbers(turn, threshold=0):
                    keys.add(_key(v))
                    if bare is not None:
                        keys.add(_key(bare))
            self._numbers = keys
        return self._numbers


# --------------------------------------------------------------------------- mentions


def _strip(tok: str) -> tuple[str, bool]:
    """The token without edge punctuation, and whether punctuation followed it (ends a name)."""
    return tok.strip(_EDGE_PUNCT), tok.rstrip(_EDGE_PUNCT) != tok


def _is_name_part(word: str) -> bool:
    """A capitalised word (``Macron``, ``Jean-Luc``, ``d'Estaing``, ``MoDem``), not an acronym
    (``TVA``, ``OQTFs``)."""
    w = _ELISION.sub("", word)
    return len(w) > 1 and w[0].isupper() and not w[1].isupper() and any(c.islower() for c in w)


def _initials(parts: Sequence[str]) -> str:
    out = ""
    for p in parts:
        for piece in re.split(r"[\s'’-]+", p):
            if piece and piece[0].isupper():
                out += piece[0]
    return fold_accents(out).upper()


def _name_sequences(sentence: str) -> list[tuple[list[str], bool]]:
    """Runs of capitalised words (with particles inside) and whether each starts the sentence
    (or a quote or a clause after a colon)."""
    toks = sentence.split()
    out: list[tuple[list[str], bool]] = []
    i = 0
    start_next = True  # the next token starts a sentence/clause
    while i < len(toks):
        tok = toks[i]
        at_start = start_next or tok[:1] in '«"“(•*'
        word, ends = _strip(tok)
        start_next = tok[-1:] in ":;«" or tok in ("-", "–", "—", "•", "*", ";")
        if not _is_name_part(word):
            i += 1
            continue
        seq = [_ELISION.sub("", word)]
        j = i + 1
        while not ends and j < len(toks):
            nxt, nxt_ends = _strip(toks[j])
            if _is_name_part(nxt):
                seq.append(nxt)
                ends = nxt_ends
                j += 1
            elif (
                nxt.lower() in _PARTICLES
                and not nxt_ends
                and j + 1 < len(toks)
                and _is_name_part(_strip(toks[j + 1])[0])
            ):
                seq.append(nxt)
                j += 1
            else:
                break
        if ends and toks[j - 1][-1:] == ":":
            start_next = True
        out.append((seq, at_start))
        i = j
    return out


def _name_mentions(sentence: str, support: _Support) -> list[tuple[str, str, bool]]:
    """``(text, key, supported)`` for the names of one sentence."""
    out = []
    for seq, at_start in _name_sequences(sentence):
        if at_start:
            # one capitalised word opening a sentence may be any word ("Face à lui", "Attaqué,");
            # before a name, a common word is no part of it ("Pour Marine Le Pen")
            if len(seq) == 1:
                continue
            first = fold_accents(seq[0])
            if first in _NOT_NAMES or first in FRENCH_STOPWORDS or first in support.lower_words:
                seq = seq[1:]
        while seq and fold_accents(seq[0]).strip(".") in _TITLES:
            seq = seq[1:]
        while seq and seq[-1].lower() in _PARTICLES:
            seq = seq[:-1]
        if not seq:
            continue
        text = " ".join(seq)
        out.append((text, _fold_words(text), _name_supported(seq, support)))
    return out


def _name_supported(seq: Sequence[str], support: _Support) -> bool:
    """In the transcript (one misspelt letter per long word allowed), or the name of a speaker:
    initials that are a speaker label (``Emmanuel Macron`` for ``EM``), a surname that is a
    speaker's (``Jacques Chirac`` for ``M. CHIRAC``)."""
    words = _fold_words(" ".join(seq)).split()
    if not words:
        return False
    if support.has(" ".join(words)) or (len(words) == 1 and words[0] in support.vocab):
        return True
    fixed = [w if w in support.vocab else (support.near(w) or w) for w in words]
    if fixed != words and support.has(" ".join(fixed)):
        return True
    if len(seq) >= 2 and _initials(seq) in support.initials:
        return True
    return len(seq) >= 2 and any(_one_apart(w, s) for s in support.surnames for w in {words[-1], fixed[-1]})


def _one_apart(a: str, b: str) -> bool:
    """``a == b``, or (both at least :data:`_FUZZY_MIN` letters) one letter inserted, deleted
    or replaced."""
    if a == b:
        return True
    if min(len(a), len(b)) < _FUZZY_MIN or abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i + 1 :] == b[i:] if len(a) > len(b) else a[i:] == b[i + 1 :]


def _number_mentions(sentence: str, support: _Support) -> list[tuple[str, str, bool]]:
    out = []
    for text, v, bare in _numbers(sentence, threshold=3):
        key = _key(v)
        # "35 milliards" is supported by "35" (the debate may leave the unit implicit)
        ok = key in support.numbers or (bare is not None and _key(bare) in support.numbers)
        if not ok and v == v.to_integral_value() and 1900 <= v <= 2099:
            ok = _key(v % 100) in support.numbers  # "en quatre-vingt-un" for 1981
        out.append((text, key, ok))
    return out


def _sentences(summary: str, support: _Support) -> list[tuple[int, str | None, bool, str]]:
    """``(line, label, label_is_name, sentence)`` of every sentence of the summary."""
    out = []
    for li, line in enumerate(summary.split("\n")):
        if not line.strip():
            continue
        label, body, label_is_name = None, line, False
        m = _LINE_LABEL.match(line)
        if m:
            cand = m.group(1).strip()
            words = cand.split()
            known = _fold_words(cand) in support.labels
            looks_like_name = (
                2 <= len(words) <= 5
                and _is_name_part(words[0])
                and all(_is_name_part(w) or w.lower() in _PARTICLES for w in words)
            )
            if known or looks_like_name:
                label, body, label_is_name = cand, m.group(2), looks_like_name or _is_name_part(words[0])
        # "MoDem.P2 : ..." (run-on model output): a sentence end glued to the next sentence
        body = re.sub(r"(?<=[a-zà-ÿ]{2})([.!?…])(?=[A-ZÀ-ÖØ-Þ])", r"\1 ", body)
        for s in split_sentences(body):
            out.append((li, label, label_is_name, s))
    return out


def check_faithfulness(
    summary_text: str,
    transcript: Transcript | str,
    speaker_names: Mapping[str, str] | None = None,
) -> FaithfulnessReport:
    """Check that every name and number of a summary occurs in its transcript.

    Args:
        summary_text: the summary (free text, or ``Speaker : sentences`` lines).
        transcript: the transcript it summarises (a :class:`~asr.transcript.Transcript`, whose
            speaker labels count as names, or plain text).
        speaker_names: extra names of speakers (label -> name shown in the summary, as in
            ``Summary.speaker_names``).
    Returns:
        a :class:`FaithfulnessReport`.
    """
    support = _Support(transcript, speaker_names)
    sentences: list[SentenceCheck] = []
    label_ok: dict[int, bool] = {}  # line -> its speaker label is supported
    for li, label, label_is_name, text in _sentences(summary_text, support):
        idx = len(sentences)
        mentions = []
        if label and label_is_name and li not in label_ok:
            # the label is a mention of the line's first sentence; it vouches for the whole line
            key = _fold_words(label)
            label_ok[li] = key in support.labels or _name_supported(label.split(), support)
            mentions.append(Mention("name", label, key, label_ok[li], idx))
        for t, k, ok in _name_mentions(text, support):
            mentions.append(Mention("name", t, k, ok, idx))
        for t, k, ok in _number_mentions(text, support):
            mentions.append(Mention("number", t, k, ok, idx))
        sentences.append(SentenceCheck(li, label, text, tuple(mentions), label_ok.get(li, True)))
    return FaithfulnessReport(summary_text, tuple(sentences))
