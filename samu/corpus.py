"""The project's own SAMU call corpus: new French calls written for the project, with gold forms.

One call per file, ``samu/calls/<split>/<writer>/<call>.json`` (standard library only)::

    {"call": "<call>",                      # equals the file stem
     "call_date": "2026-03-14",             # the day of the call (ages from birth years)
     "style": "<short tag of how it was written>",
     "turns": [["regulateur", "samu bonjour ..."], ["appelant", "oui allô ..."], ...],
     "fields": {<the 11 GOLD_FIELDS of samu.gold>: value or null},
     "evidence": {<field>: [{"turn": 3, "quote": "<exact substring of turns[3]>"}]},
     "notes": "English note on the judgement calls"}

Speakers are ``regulateur``, ``appelant`` and, when someone else takes the phone, ``tiers``.
Evidence quotes must occur verbatim in their turn; coded values must exist in the Hub Santé
code lists; the rules of ``data_cards/samu_forms.md`` apply as for the simsamu gold forms.
:func:`load_call` validates a file and returns a :class:`Transcript` (synthetic times) plus the
gold form in the layout of :func:`samu.gold.load_gold` (evidence as turn indices), so every
scorer of the project works on both corpora.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from asr.transcript import Segment, Transcript, Word
from samu.gold import GOLD_FIELDS, _codes_by_field, check_fields

CALLS_DIR = Path(__file__).resolve().parent / "calls"
SPLITS = ("train", "dev", "blind7")
# blind7: written after the seventh freeze. The six earlier blind sets (nce/ncf, nck/ncl, ncq/ncr,
# ncs/nct, ncu/ncv/ncw, ncx/ncy/ncz), each measured once after its freeze, became training calls.
SPEAKERS = ("regulateur", "appelant", "tiers")
TOP_KEYS = ("call", "call_date", "style", "turns", "fields", "evidence", "notes")
WORD_SECONDS = 0.32  # synthetic time per word (spoken French, ~190 words/min)


@dataclass(frozen=True)
class Call:
    """One corpus call: its transcript, gold form (``samu.gold`` layout) and metadata."""

    call: str
    split: str
    call_date: date | None  # None: unknown (simsamu)
    style: str
    transcript: Transcript
    gold: dict[str, Any]
    quotes: dict[str, list[tuple[int, str]]]


def _turns_to_transcript(turns: list[list[str]], source: str) -> Transcript:
    segs = []
    t = 0.0
    for spk, text in turns:
        words = []
        for tok in text.split():
            words.append(Word(tok, round(t, 2), round(t + WORD_SECONDS * 0.9, 2), None, spk))
            t += WORD_SECONDS
        start = words[0].start if words else t
        end = words[-1].end if words else t
        segs.append(Segment(start, end, spk, text, tuple(words)))
        t += 0.4  # turn gap
    speakers = tuple(dict.fromkeys(spk for spk, _ in turns))
    return Transcript(
        tuple(segs),
        language="fr",
        duration=round(t, 2),
        source=source,
        speakers=speakers,
        roles={s: ("regulateur" if s == "regulateur" else "appelant") for s in speakers},
    )


def check_call(data: Any, stem: str | None = None, codes: dict | None = None) -> list[str]:
    """Problems of one parsed call file (empty when valid)."""
    if not isinstance(data, dict):
        return [f"top level must be an object, got {type(data).__name__}"]
    problems: list[str] = []
    if missing := [k for k in TOP_KEYS if k not in data]:
        problems.append(f"missing keys {missing}")
    if unknown := sorted(set(data) - set(TOP_KEYS)):
        problems.append(f"unknown keys {unknown}")
    call = data.get("call")
    if not isinstance(call, str) or not re.fullmatch(r"[a-z0-9_]+", call or ""):
        problems.append(f"'call' must be a lowercase [a-z0-9_] name, got {call!r}")
    elif stem is not None and call != stem:
        problems.append(f"'call' is {call!r} but the file is named {stem!r}")
    try:
        date.fromisoformat(str(data.get("call_date")))
    except ValueError:
        problems.append(f"'call_date' must be YYYY-MM-DD, got {data.get('call_date')!r}")
    turns = data.get("turns")
    if not isinstance(turns, list) or len(turns) < 4:
        problems.append("'turns' must be a list of at least 4 [speaker, text] pairs")
        turns = []
    for i, t in enumerate(turns):
        if not (isinstance(t, list) and len(t) == 2 and t[0] in SPEAKERS and isinstance(t[1], str)):
            problems.append(f"turn {i} must be [speaker in {SPEAKERS}, text], got {t!r}")
        elif not t[1].strip():
            problems.append(f"turn {i} is empty")
    fields, field_problems = check_fields(data.get("fields"), codes)
    problems += field_problems
    evidence = data.get("evidence")
    if not isinstance(evidence, dict):
        problems.append("'evidence' must be an object")
        evidence = {}
    for f, items in evidence.items():
        if f not in GOLD_FIELDS:
            problems.append(f"evidence for unknown field {f!r}")
            continue
        if fields.get(f) is None or fields.get(f) is False:
            problems.append(f"evidence given for {f!r} whose value is {fields.get(f)!r}")
        if not isinstance(items, list) or not items:
            problems.append(f"evidence for {f!r} must be a non-empty list")
            continue
        for it in items:
            ok = isinstance(it, dict) and set(it) == {"turn", "quote"} and isinstance(it["turn"], int)
            if not ok or not 0 <= it["turn"] < len(turns) or not isinstance(it["quote"], str):
                problems.append(f"evidence for {f!r}: bad item {it!r} (want {{'turn': i, 'quote': str}})")
            elif not it["quote"].strip() or it["quote"] not in turns[it["turn"]][1]:
                problems.append(f"evidence for {f!r}: quote {it['quote']!r} is not in turn {it['turn']}")
    for f, v in fields.items():
        if f in GOLD_FIELDS and v not in (None, False) and f not in evidence:
            problems.append(f"{f} = {v!r} has no evidence")
    if not isinstance(data.get("notes", ""), str) or not isinstance(data.get("style", ""), str):
        problems.append("'notes' and 'style' must be strings")
    return problems


def load_call(path: str | Path, *, hubsante_dir: str | Path | None = None, check_codes: bool = True) -> Call:
    """Load and validate one corpus call.

    Raises:
        ValueError: invalid JSON or a broken rule; the message names the file and every problem.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: invalid JSON ({e})") from e
    codes = _codes_by_field(hubsante_dir) if check_codes else None
    problems = check_call(data, p.stem, codes)
    if problems:
        raise ValueError(f"{p}: " + "; ".join(problems))
    turns = [tuple(t) for t in data["turns"]]
    quotes = {f: [(it["turn"], it["quote"]) for it in items] for f, items in data["evidence"].items()}
    gold = {
        "call": data["call"],
        "fields": {f: data["fields"][f] for f in GOLD_FIELDS},
        "evidence": {f: sorted({i for i, _ in quotes[f]}) for f in GOLD_FIELDS if f in quotes},
        "notes": data["notes"],
    }
    return Call(
        call=data["call"],
        split="",
        call_date=date.fromisoformat(data["call_date"]),
        style=data["style"],
        transcript=_turns_to_transcript([list(t) for t in turns], p.name),
        gold=gold,
        quotes=quotes,
    )


def load_split(split: str, directory: str | Path = CALLS_DIR, **kw) -> dict[str, Call]:
    """Every call of one split (``train``, ``dev`` or ``blind``), keyed by call name (sorted).

    Raises:
        ValueError: unknown split, or an invalid file (message names it).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    d = Path(directory) / split
    if not d.is_dir():
        return {}
    out = {}
    for p in sorted(d.rglob("*.json")):
        c = replace(load_call(p, **kw), split=split)
        if c.call in out:
            raise ValueError(f"{p}: call name {c.call!r} used twice in split {split}")
        out[c.call] = c
    return out


SIMSAMU_TRAINABLE = ("dev", "test")  # simsamu test2 is measured once per version, never trained on


def load_simsamu(part: str, simsamu_dir: str | Path | None = None) -> dict[str, Call]:
    """The simsamu calls of one part of ``samu/gold_splits.json`` (``dev``, ``test``, ``test2``)
    as :class:`Call` objects: the reference transcript from the shared data, the project's gold
    form (``samu/gold``), no call date. Keyed by call name (sorted). ``simsamu_dir``: default
    ``simsamu`` under :func:`core_training.data.default_shared_dir`.

    Raises:
        ValueError: unknown part; FileNotFoundError: the shared simsamu data is absent.
    """
    from asr.transcript import read_transcript
    from samu.gold import load_gold_dir

    names = json.loads((Path(__file__).resolve().parent / "gold_splits.json").read_text(encoding="utf-8"))
    if part not in names:
        raise ValueError(f"simsamu part must be one of {sorted(names)}, got {part!r}")
    if simsamu_dir is None:
        from core_training.data import default_shared_dir

        simsamu_dir = default_shared_dir() / "simsamu"
    d = Path(simsamu_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"simsamu data not found: {d} (../shared/data/simsamu)")
    gold = load_gold_dir()
    out = {}
    for n in sorted(names[part]):
        t = read_transcript(d / n / f"{n}.json")
        out[n] = Call(n, f"simsamu-{part}", None, "simsamu", t, gold[n], {})
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m samu.corpus FILES_OR_DIRS``: validate call files; prints one line per problem."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    paths = [q for a in args for q in (sorted(Path(a).rglob("*.json")) if Path(a).is_dir() else [Path(a)])]
    bad = 0
    for p in paths:
        try:
            load_call(p)
        except (ValueError, FileNotFoundError) as e:
            bad += 1
            print(e)
    print(f"{len(paths)} file(s), {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
