"""Pseudonymisation on the 61 simsamu reference transcripts.

Measures, for the transcripts as written (simsamu writes most proper names in capitals) and for
ASR-like variants (all lower case; lower case without punctuation):

* recall of the regulating doctor's self-introduced surname (``benchmarks/data/pseudo_names.json``:
  call id, segment index, SHA-256 of the lower-cased surname; the names are not stored), in the
  segment text and in its words, and surname mentions left anywhere in the call;
* replacements per kind, distinct placeholders, and the fraction of words replaced (over-redaction);
* time per transcript (one key carried across the 61 calls, as the CLI does);
* planted personal data: simsamu has no phone numbers, addresses, dates of birth or NIR, so one
  invented caller turn (seeded templates, lower-case speech, numbers in digits or in words) is
  inserted into each call and we check that it goes and that nothing else changes. The templates
  were written along with the rules: this checks the forms they cover, it is no estimate of recall
  on real calls.

    .venv/bin/python benchmarks/bench_pseudonymize.py [--show N]

Prints a table and writes ``benchmarks/results/pseudonymize.json``. ``--show N`` also prints N
random replacements of the as-written run with their context, for a manual precision check
(terminal only: never written to the results).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

SIMSAMU = ROOT.parent / "shared" / "data" / "simsamu"
NAMES = ROOT / "benchmarks" / "data" / "pseudo_names.json"
OUT = ROOT / "benchmarks" / "results" / "pseudonymize.json"


def _sha(token: str) -> str:
    return hashlib.sha256(token.lower().rstrip("-").encode()).hexdigest()


def _hashes(text: str) -> set[str]:
    return {_sha(t) for t in re.findall(r"[^\W\d_][\w-]*", text)} | {
        _sha(t.split("'", 1)[1]) for t in re.findall(r"\w+'[\w-]+", text)
    }


def _lower(t):
    return replace(
        t,
        segments=tuple(
            replace(s, text=s.text.lower(), words=tuple(replace(w, text=w.text.lower()) for w in s.words))
            for s in t.segments
        ),
    )


def _no_punct(t):
    t = _lower(t)
    return replace(
        t,
        segments=tuple(
            replace(s, text=" ".join(re.sub(r"[?!.,;:]", " ", s.text).split())) for s in t.segments
        ),
    )


def _words_replaced(orig, pseudo, placeholder_re) -> tuple[int, int]:
    """(original words covered by a placeholder, original words). A merged entity counts all the
    words it replaced."""
    covered = total = 0
    for a, b in zip(orig.segments, pseudo.segments):
        total += len(a.words)
        hit = sum(1 for w in b.words if placeholder_re.search(w.text))
        covered += (len(a.words) - len(b.words)) + hit
    return covered, total


def run_variant(name, prep, recs, items, show: int = 0) -> dict:
    from samu.pseudonymize import KINDS, PLACEHOLDER_RE, PseudoKey, pseudonymize, reidentify

    key = PseudoKey()
    per_kind = dict.fromkeys(KINDS, 0)
    times = []
    covered = total = 0
    intro_text = intro_words = 0
    leaks_anywhere = 0
    by_call: dict[str, list[dict]] = {}
    for it in items:
        by_call.setdefault(it["call"], []).append(it)
    samples = []
    exact = 0
    from asr.transcript import read_json

    for rec in recs:
        t = prep(read_json(rec / f"{rec.name}.json"))
        t0 = time.perf_counter()
        p, key = pseudonymize(t, key)
        times.append(time.perf_counter() - t0)
        for s in p.segments:
            for m in PLACEHOLDER_RE.finditer(s.text):
                per_kind[m.group(1)] += 1
        exact += [s.text for s in reidentify(p, key).segments] == [s.text for s in t.segments]
        c, n = _words_replaced(t, p, PLACEHOLDER_RE)
        covered += c
        total += n
        surnames = {it["surname_sha256"] for it in by_call.get(rec.name, ())}
        for it in by_call.get(rec.name, ()):
            seg = p.segments[it["segment"]]
            intro_text += it["surname_sha256"] not in _hashes(seg.text)
            intro_words += it["surname_sha256"] not in _hashes(" ".join(w.text for w in seg.words))
        for s in p.segments:
            leaks_anywhere += len(surnames & _hashes(s.text + " " + " ".join(w.text for w in s.words)))
        if show:
            for i, (a, b) in enumerate(zip(t.segments, p.segments)):
                for m in PLACEHOLDER_RE.finditer(b.text):
                    ctx = b.text[max(0, m.start() - 40) : m.end() + 25].replace(
                        m.group(), f"<<{key.get(m.group())}>>"
                    )
                    samples.append(f"{rec.name} #{i} {a.speaker}: …{ctx}…")
    if show:
        rnd = random.Random(0)
        print(f"\n--- {min(show, len(samples))} random replacements ({name}) for manual review ---")
        for line in rnd.sample(samples, min(show, len(samples))):
            print(line)
        print()
    n_items = len(items)
    return {
        "doctor_surname_recall_text": round(intro_text / n_items, 4),
        "doctor_surname_recall_words": round(intro_words / n_items, 4),
        "doctor_introductions": n_items,
        "doctor_surname_mentions_left_anywhere": leaks_anywhere,
        "replacements": per_kind,
        "distinct_placeholders": {k: sum(p.startswith(f"[{k}_") for p in key.entries) for k in KINDS},
        "words_replaced": covered,
        "words_total": total,
        "fraction_words_replaced": round(covered / total, 5) if total else 0.0,
        "round_trip_exact_calls": exact,
        "ms_per_transcript_mean": round(1000 * statistics.mean(times), 2),
        "ms_per_transcript_max": round(1000 * max(times), 2),
        "words_per_second": round(total / sum(times)),
    }


_LAST = "lemaire bouvier carpentier guerin mercier roussel perrin morin faure brunet haddad benali traore kowalski".split()
_FIRST = "ginette yvonne noémie cyril marie julien sophie karim".split()
_STREETS = [
    "de la république",
    "victor hugo",
    "des tilleuls",
    "jean moulin",
    "du général de gaulle",
    "pasteur",
]
_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def _planted(rnd: random.Random) -> list[tuple[str, str, list[str]]]:
    """Invented caller sentences: (kind, sentence, secrets that must disappear)."""
    from num2words import num2words

    def words(n: int) -> str:
        return num2words(n, lang="fr")

    f, last = rnd.choice(_FIRST), rnd.choice(_LAST)
    name = rnd.choice(
        [
            (f"oui bonjour je m'appelle {f} {last} j'appelle pour mon mari", [f, last]),
            (f"c'est {f} {last} à l'appareil", [f, last]),
            (f"heu mon nom c'est {last}", [last]),
            (f"c'est pour ma voisine madame {last} elle est tombée", [last]),
        ]
    )
    pairs = [rnd.randint(10, 99) for _ in range(4)]
    mobile = rnd.choice([6, 7])
    tel = rnd.choice(
        [
            f"0{mobile} " + " ".join(map(str, pairs)),
            f"0{mobile}" + "".join(map(str, pairs)),
            f"zéro {words(mobile)} " + " ".join(words(x) for x in pairs),
        ]
    )
    num = rnd.randint(2, 120)
    street = rnd.choice(_STREETS)
    typ = rnd.choice(["rue", "avenue", "boulevard", "allée", "impasse"])
    house = rnd.choice([str(num), f"{num} bis", words(num)])
    day, month, year = rnd.randint(2, 28), rnd.randint(1, 12), rnd.randint(1930, 2005)
    dob = rnd.choice(
        [
            (f"il est né le {day} {_MONTHS[month - 1]} {year}", f"{day} {_MONTHS[month - 1]} {year}"),
            (f"elle est née en {words(year)}", words(year)),
            (f"sa date de naissance c'est le {day:02d}/{month:02d}/{year}", f"{day:02d}/{month:02d}/{year}"),
        ]
    )
    nir_digits = f"{rnd.choice([1, 2])} {year % 100:02d} {month:02d} {rnd.randint(1, 95):02d} {rnd.randint(1, 999):03d} "
    nir_digits += f"{rnd.randint(1, 999):03d} {rnd.randint(1, 97):02d}"
    nir = rnd.choice([nir_digits, nir_digits.replace(" ", "")])
    return [
        ("NOM", name[0], name[1]),
        ("TEL", f"vous pouvez me rappeler au {tel}", [tel]),
        ("ADRESSE", f"j'habite au {house} {typ} {street} au deuxième étage", [f"{house} {typ} {street}"]),
        ("DATE_NAISSANCE", dob[0], [dob[1]]),
        ("NIR", f"son numéro de sécurité sociale c'est {nir}", [nir]),
    ]


def run_planted(recs) -> dict:
    """Insert one invented caller turn with two kinds of personal data into each call."""
    from asr.transcript import Segment, Word, read_json
    from samu.pseudonymize import KINDS, PLACEHOLDER_RE, pseudonymize

    rnd = random.Random(0)
    found = dict.fromkeys(KINDS, 0)
    planted = dict.fromkeys(KINDS, 0)
    collateral = 0
    for rec in recs:
        t = read_json(rec / f"{rec.name}.json")
        base, _ = pseudonymize(t)
        items = rnd.sample(_planted(rnd), 2)
        text = " ".join(sentence for _, sentence, _ in items)
        at = min(1, len(t.segments) - 1)
        s0 = t.segments[at].end
        toks = text.split()
        words = tuple(
            Word(w, s0 + 0.01 * i, s0 + 0.01 * (i + 1), None, "patient") for i, w in enumerate(toks)
        )
        seg = Segment(s0, s0 + 0.01 * len(toks), "patient", text, words)
        segs = list(t.segments)
        segs.insert(at + 1, seg)
        p, key = pseudonymize(replace(t, segments=tuple(segs)))
        out = p.segments[at + 1].text.lower()
        out_words = " ".join(w.text for w in p.segments[at + 1].words).lower()
        kinds_out = {m.group(1) for m in PLACEHOLDER_RE.finditer(p.segments[at + 1].text)}
        for kind, _, secrets in items:
            planted[kind] += 1
            gone = all(
                not re.search(rf"(?<!\w){re.escape(x.lower())}(?!\w)", out + " | " + out_words)
                for x in secrets
            )
            found[kind] += gone and kind in kinds_out

        # placeholders are numbered in order of appearance: compare kinds, not numbers
        def unnumbered(x: str) -> str:
            return re.sub(r"\[([A-Z_]+)_\d+\]", r"[\1]", x)

        others = [unnumbered(x.text) for i, x in enumerate(p.segments) if i != at + 1]
        collateral += sum(a != unnumbered(b.text) for a, b in zip(others, base.segments))
    return {
        "planted": planted,
        "removed_with_right_kind": found,
        "recall": {k: round(found[k] / planted[k], 4) if planted[k] else None for k in KINDS},
        "other_segments_changed": collateral,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--show", type=int, default=0, help="print N random replacements (as written)")
    a = ap.parse_args(argv)
    if not SIMSAMU.exists():
        print(f"simsamu not found at {SIMSAMU}", file=sys.stderr)
        return 2
    recs = sorted(p for p in SIMSAMU.iterdir() if p.is_dir())
    items = json.loads(NAMES.read_text())["items"]
    variants = {"as written": lambda t: t, "lower case": _lower, "lower case, no punctuation": _no_punct}
    rows = {
        name: run_variant(name, prep, recs, items, a.show if name == "as written" else 0)
        for name, prep in variants.items()
    }
    hdr = (
        f"{'variant':28} {'recall text':>11} {'recall words':>12} {'left':>5} {'NOM':>5} {'TEL':>4} {'ADR':>4}"
        f" {'DDN':>4} {'NIR':>4} {'% words':>8} {'ms/call':>8}"
    )
    print(f"Pseudonymisation, {len(recs)} simsamu calls, {len(items)} doctor self-introductions")
    print(hdr)
    print("-" * len(hdr))
    for name, r in rows.items():
        k = r["replacements"]
        print(
            f"{name:28} {r['doctor_surname_recall_text']:>11.1%} {r['doctor_surname_recall_words']:>12.1%}"
            f" {r['doctor_surname_mentions_left_anywhere']:>5} {k['NOM']:>5} {k['TEL']:>4} {k['ADRESSE']:>4}"
            f" {k['DATE_NAISSANCE']:>4} {k['NIR']:>4} {r['fraction_words_replaced']:>8.2%}"
            f" {r['ms_per_transcript_mean']:>8.2f}"
        )
    pl = run_planted(recs)
    print("\nplanted personal data (one invented caller turn per call, two kinds each):")
    for k, n in pl["planted"].items():
        print(f"  {k:15} {pl['removed_with_right_kind'][k]:>3}/{n:<3} removed with the right placeholder")
    print(f"  segments of the calls changed by the planted turn: {pl['other_segments_changed']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json_dumps_strict(
            {
                "calls": len(recs),
                "ground_truth": str(NAMES.relative_to(ROOT)),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "variants": rows,
                "planted": pl,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
