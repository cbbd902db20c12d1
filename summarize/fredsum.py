"""FREDSum (French political debates, CC BY-SA 4.0): transcript reader and split layout.

A FREDSum transcript is a ``.txt`` file of ``SPEAKER : text`` lines (speaker labels are full
names, upper-case names or initials such as ``EM``/``MLP``/``P1``); lines without a label
continue the previous speaker. Some files carry Windows-1252 right quotes mis-decoded as the
C1 control ``\\x92``; the reader turns them back into ``’``.

FREDSum has no timing: :func:`read_fredsum` gives each turn **synthetic** times from its word
count at :data:`SYNTHETIC_WORDS_PER_SECOND` (a typical debate pace), so that turns are ordered and
durations are plausible. Do not use these times for anything but ordering.

Layout of the corpus directory (see ``data_cards/fredsum.md``)::

    transcript/<name>.txt
    summary_abstractive/{1,2,3}/<name>.txt          three reference styles
    summary_abstractive_prediction/<system>/<name>.txt  published peer outputs
    FREDSum_test.json                                 {"FREDSum_test": [<name>.txt, ...]}
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from asr.transcript import Segment, Transcript

from .text import count_words

__all__ = [
    "SYNTHETIC_WORDS_PER_SECOND",
    "read_fredsum",
    "parse_fredsum_text",
    "looks_like_fredsum",
    "list_test_split",
    "read_text",
    "REFERENCE_STYLES",
    "PEER_SYSTEMS",
]

SYNTHETIC_WORDS_PER_SECOND = 2.5
REFERENCE_STYLES = ("1", "2", "3")
PEER_SYSTEMS = ("Barthez", "ChatGPT", "Openassistant_Llama_30b")

# label: no sentence punctuation, starts with a letter; then " : " or ": "
_LABEL = re.compile(r"^\s*([^\W\d_][^:,;!?«»\"]{0,59}?)\s*:\s*(.*)$", re.UNICODE)


def read_text(path: str | os.PathLike) -> str:
    """Read a FREDSum text file (UTF-8, optional BOM, CRLF) with its quirks repaired."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return _repair(text)


def _repair(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # a mis-decoded Windows-1252 quote, sometimes doubled with the real one ("l\x92’euro")
    text = text.replace("\x92’", "’").replace("’\x92", "’").replace("\x92", "’")
    text = re.sub(r"[\x80-\x9f]", "", text)
    # Barthez predictions escape apostrophes as in a Python literal
    return text.replace("\\'", "'")


_PARTICLES = {"de", "d", "du", "la", "le", "des", "van", "von"}


def _is_label(label: str) -> bool:
    """A speaker label: one word, or up to 5 words that are capitalised but for particles
    (``Patrick Poivre d'Arvor``, ``M. CHIRAC``); ``Et je le redis`` is text, not a label."""
    words = label.split()
    if len(words) == 1:
        return True
    if len(words) > 5:
        return False
    return all(
        w[0].isupper() or w[0].isdigit() or re.split(r"['’]", w)[0].lower() in _PARTICLES for w in words
    )


def parse_fredsum_text(text: str, source: str | None = None) -> Transcript:
    """Build a :class:`Transcript` from FREDSum ``SPEAKER : text`` lines (synthetic times).

    Raises:
        ValueError: when no line has a speaker label.
    """
    turns: list[list] = []  # [speaker, text]
    for line in _repair(text).split("\n"):
        line = line.strip()
        if not line:
            continue
        m = _LABEL.match(line)
        if m and _is_label(m.group(1)):
            spk, body = m.group(1).strip().rstrip("."), m.group(2).strip()
            if turns and turns[-1][0] == spk:
                turns[-1][1] += " " + body
            else:
                turns.append([spk, body])
        elif turns:
            turns[-1][1] += " " + line
        else:
            turns.append([None, line])
    if not any(spk for spk, _ in turns):
        raise ValueError(f"{source or 'texte'} : aucune ligne « LOCUTEUR : texte » (format FREDSum attendu)")
    segs = []
    t = 0.0
    for spk, body in turns:
        body = " ".join(body.split())
        if not body:
            continue
        dur = max(1, count_words(body)) / SYNTHETIC_WORDS_PER_SECOND
        segs.append(Segment(round(t, 3), round(t + dur, 3), spk, body))
        t += dur
    return Transcript(tuple(segs), language="fr", duration=round(t, 3), source=source)


def read_fredsum(path: str | os.PathLike) -> Transcript:
    """Read a FREDSum transcript ``.txt`` (see :func:`parse_fredsum_text`; times are synthetic)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} : fichier introuvable")
    return parse_fredsum_text(read_text(path), source=path.name)


def looks_like_fredsum(path: str | os.PathLike) -> bool:
    """True when most non-empty lines of a ``.txt`` file start with a ``SPEAKER :`` label
    written with a space before the colon (FREDSum style; our own .txt writes ``speaker: text``)."""
    try:
        lines = [x for x in read_text(path).split("\n") if x.strip()][:50]
    except OSError:
        return False
    if not lines:
        return False
    spaced = sum(1 for x in lines if re.match(r"^\s*[^:]{1,60}?\s+:\s", x))
    return spaced >= max(1, len(lines) // 2)


def list_test_split(root: str | os.PathLike) -> list[str]:
    """File names of the FREDSum test split (``FREDSum_test.json``), in the listed order."""
    p = Path(root) / "FREDSum_test.json"
    try:
        names = json.loads(p.read_text(encoding="utf-8"))["FREDSum_test"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{p} : liste du test FREDSum illisible ({e})") from e
    return [str(n) for n in names]
