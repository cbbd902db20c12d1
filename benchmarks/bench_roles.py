"""Role labelling accuracy (regulateur/appelant) on the 61 simsamu reference transcripts.

Speaker labels are hidden (renamed S0, S1...) before labelling; the reference is simsamu's
``medecin`` (-> regulateur) vs ``patient*`` (-> appelant). Variants show what each cue
family contributes: without punctuation (ASR-like text), without the "speaks first" bonus,
and lower-cased words only.

    .venv/bin/python benchmarks/bench_roles.py

Prints a table and writes ``benchmarks/results/roles.json``.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

SIMSAMU = ROOT.parent / "shared" / "data" / "simsamu"


def _strip_punct(t):
    from asr.transcript import Transcript

    return Transcript(tuple(replace(s, text=re.sub(r"[?!.,;:]", " ", s.text)) for s in t.segments))


def main() -> int:
    from asr.roles import REGULATOR, RoleOptions, assign_roles
    from asr.transcript import read_json

    if not SIMSAMU.exists():
        print(f"simsamu not found at {SIMSAMU}", file=sys.stderr)
        return 2
    recs = sorted(p for p in SIMSAMU.iterdir() if p.is_dir())
    variants = {
        "full": (lambda t: t, RoleOptions()),
        "no punctuation": (_strip_punct, RoleOptions()),
        "no first-speaker bonus": (lambda t: t, RoleOptions(first_speaker_bonus=0.0)),
        "no punct., no first bonus": (_strip_punct, RoleOptions(first_speaker_bonus=0.0)),
    }
    rows = {}
    for name, (prep, opts) in variants.items():
        ok = tot = calls_ok = 0
        wrong = []
        t0 = time.perf_counter()
        for rec in recs:
            t = read_json(rec / f"{rec.name}.json")
            hidden = {s: f"S{i}" for i, s in enumerate(t.speakers)}
            truth = {v: k for k, v in hidden.items()}
            roles = assign_roles(prep(t.relabel(hidden)), opts)
            good = all((r == REGULATOR) == (truth[s] == "medecin") for s, r in roles.items())
            calls_ok += good
            if not good:
                wrong.append(rec.name)
            for s, r in roles.items():
                tot += 1
                ok += (r == REGULATOR) == (truth[s] == "medecin")
        rows[name] = {
            "speakers": tot,
            "speaker_accuracy": round(ok / tot, 4),
            "calls": len(recs),
            "call_accuracy": round(calls_ok / len(recs), 4),
            "wrong_calls": wrong,
            "ms_per_call": round(1000 * (time.perf_counter() - t0) / len(recs), 2),
        }
    print(f"{'variant':28} {'speakers':>8} {'spk acc %':>9} {'calls acc %':>11} {'ms/call':>8}")
    for k, r in rows.items():
        print(
            f"{k:28} {r['speakers']:8d} {100 * r['speaker_accuracy']:9.2f} {100 * r['call_accuracy']:11.2f} {r['ms_per_call']:8.2f}"
        )
    out = ROOT / "benchmarks" / "results" / "roles.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json_dumps_strict(rows, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
