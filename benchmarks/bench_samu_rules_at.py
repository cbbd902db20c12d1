"""The rule extractor of an older commit on today's splits: "rules before / after" on the same
calls, scored by today's scorer (``bench_samu_model._Scorer``).

Three steps in one command: today's code writes each call's transcript as JSON; a git worktree
of ``REV`` runs *its* ``samu.rules.extract_rules`` on them (a subprocess with the worktree first
on ``sys.path``; the old code takes no call date, so a birth year counts from today, as it did
then); today's code reads the forms back and scores them. Adds ``rules-<name>/<split>`` entries
to ``benchmarks/results/samu_model.json``.

    .venv/bin/python benchmarks/bench_samu_rules_at.py 'bc4e1fe^' --name before-issue10 --splits blind7,simsamu-test2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RESULTS = ROOT / "benchmarks" / "results" / "samu_model.json"

# run inside the worktree: its own asr.transcript and samu.rules
_OLD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from asr.transcript import read_transcript
import samu.rules as rules
assert rules.__file__.startswith(sys.argv[1]), rules.__file__
for f in sorted(Path(sys.argv[2]).glob("*/*.json")):
    out = Path(sys.argv[3]) / f.parent.name / f.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rules.extract_rules(read_transcript(f)).to_dict(), ensure_ascii=False))
"""


def main(argv=None) -> int:
    from bench_samu_calls import _calls
    from bench_samu_model import _Scorer, table

    from asr.transcript import write_transcript
    from core_training.data import default_shared_dir
    from samu.schema import CallForm

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rev", help="the commit whose rules to run (e.g. bc4e1fe^)")
    p.add_argument("--name", required=True, help="results key: rules-<name>/<split>")
    p.add_argument("--splits", default="blind7,simsamu-test2")
    a = p.parse_args(argv)
    splits = a.splits.split(",")
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", a.rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wt, src, forms = tmp / "worktree", tmp / "in", tmp / "forms"
        calls = {s: _calls(s) for s in splits}
        for s, cs in calls.items():
            for name, t, _gold, _date in cs:
                write_transcript(t, src / s / f"{name}.json")
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(wt), sha], check=True
        )
        try:
            # the worktree lives outside the checkout: point it at today's Hub Santé code lists
            env = {
                "LLM4ALL_HUBSANTE": str(default_shared_dir() / "hubsante"),
                **os.environ,
                "PYTHONPATH": str(wt),
            }
            subprocess.run(
                [sys.executable, "-c", _OLD, str(wt), str(src), str(forms)], check=True, cwd=wt, env=env
            )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], check=True)
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        for s, cs in calls.items():
            sc = _Scorer()
            for name, _t, gold, _date in cs:
                form = CallForm.from_dict(
                    json.loads((forms / s / f"{name}.json").read_text(encoding="utf-8"))
                )
                sc.add(name, form, gold, 0.0)
            r = sc.result()
            for k in ("seconds_median", "seconds_max", "model_values_dropped"):
                r.pop(k, None)
            r.update(
                {
                    "extractor": "rules",
                    "split": s,
                    "tuned_on": f"rules at {a.rev} ({sha}), run from a git worktree on the same transcripts, "
                    "scored by the current scorer",
                }
            )
            key = f"rules-{a.name}/{s}"
            results[key] = r
            print(table(key, {**r, "seconds_median": "-", "seconds_max": "-"}))
    RESULTS.write_text(
        json.dumps(results, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    print(f"-> {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
