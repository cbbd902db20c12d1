"""Faithfulness benchmark on FREDSum: how many names and numbers of each system's summaries are
absent from the debate they summarise.

Every summary of the FREDSum test split is checked with
:func:`summarize.faithfulness.check_faithfulness` against its transcript. Systems: our extractive
default, the lead-N baseline (same budget rule), the published peer outputs (Barthez, ChatGPT,
OpenAssistant-Llama-30B) and, as a sanity check, the three human reference styles (written from
the debate, so they should score near 0; what they do get flags the check's false alarms, e.g.
a first name the debate never says).

For each system and each kind (names, numbers): unsupported / total mentions over all files,
and the median over files of the per-file rate (files with at least one mention of that kind).
Prints the table and writes ``benchmarks/results/faithfulness.json`` (with every unsupported
mention, to read the false alarms).

    .venv/bin/python benchmarks/bench_faithfulness.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import atomic_write_text, json_dumps_strict  # noqa: E402
from summarize.core import DEFAULT_BUDGET, SummaryOptions, summarize, with_full_names  # noqa: E402
from summarize.evaluate import FredsumItem, load_items  # noqa: E402
from summarize.extractive import lead_summary  # noqa: E402
from summarize.faithfulness import KINDS, FaithfulnessReport, check_faithfulness  # noqa: E402
from summarize.fredsum import PEER_SYSTEMS, REFERENCE_STYLES, read_fredsum  # noqa: E402
from summarize.text import count_words  # noqa: E402

DEFAULT_ROOT = ROOT.parent / "shared" / "data" / "fredsum"
OUT = ROOT / "benchmarks" / "results" / "faithfulness.json"

# a system: item -> (summary text, speaker names it shows) or None when it has no output
System = Callable[[FredsumItem], "tuple[str, dict[str, str]] | None"]


def ours(item: FredsumItem) -> tuple[str, dict[str, str]]:
    s = summarize(read_fredsum(item.transcript), SummaryOptions(faithfulness="off"))
    return s.text, s.speaker_names


def lead(item: FredsumItem) -> tuple[str, dict[str, str]]:
    t, names = with_full_names(read_fredsum(item.transcript))
    return lead_summary(t, DEFAULT_BUDGET(count_words(t.text))), names


def peer(name: str) -> System:
    def run(item: FredsumItem):
        text = item.peers.get(name)
        return (text, {}) if text else None

    return run


def reference(style: str) -> System:
    def run(item: FredsumItem):
        text = item.references.get(style)
        return (text, {}) if text else None

    return run


def systems() -> dict[str, System]:
    out: dict[str, System] = {"ours: extractif": ours, "lead-N": lead}
    out.update({p: peer(p) for p in PEER_SYSTEMS})
    out.update({f"référence {s}": reference(s) for s in REFERENCE_STYLES})
    return out


def run(items: list[FredsumItem]) -> dict[str, dict]:
    """Per system: per-file reports (as counts) and every unsupported mention."""
    results: dict[str, dict] = {}
    for name, fn in systems().items():
        per_file: dict[str, dict] = {}
        t0 = time.perf_counter()
        for item in items:
            out = fn(item)
            if out is None:
                continue
            text, names = out
            rep: FaithfulnessReport = check_faithfulness(text, read_fredsum(item.transcript), names)
            per_file[item.name] = {
                kind: dict(zip(("unsupported", "total"), rep.count(kind), strict=True)) for kind in KINDS
            } | {"unsupported_mentions": [[m.kind, m.text] for m in rep.unsupported]}
        results[name] = {"per_file": per_file, "seconds": round(time.perf_counter() - t0, 2)}
    return results


def stats(per_file: dict[str, dict], kind: str) -> dict:
    bad = sum(f[kind]["unsupported"] for f in per_file.values())
    total = sum(f[kind]["total"] for f in per_file.values())
    rates = [f[kind]["unsupported"] / f[kind]["total"] for f in per_file.values() if f[kind]["total"]]
    return {
        "unsupported": bad,
        "total": total,
        "rate": bad / total if total else None,
        "median_file_rate": statistics.median(rates) if rates else None,
        "files_with_mentions": len(rates),
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def table(summary: dict[str, dict], n_files: dict[str, int]) -> str:
    head = (
        f"{'système':<26} {'noms absents':>14} {'taux %':>7} {'méd. %':>7}"
        f" {'nombres absents':>16} {'taux %':>7} {'méd. %':>7}  fichiers"
    )
    lines = [head, "-" * len(head)]
    for name, s in summary.items():
        n, k = s["name"], s["number"]
        names = f"{n['unsupported']}/{n['total']}"
        numbers = f"{k['unsupported']}/{k['total']}"
        lines.append(
            f"{name:<26} {names:>14} {_pct(n['rate']):>7} {_pct(n['median_file_rate']):>7} "
            f"{numbers:>16} {_pct(k['rate']):>7} {_pct(k['median_file_rate']):>7}  {n_files[name]}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=str(DEFAULT_ROOT), help="FREDSum directory")
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    items = load_items(Path(a.root))
    results = run(items)
    summary = {name: {kind: stats(r["per_file"], kind) for kind in KINDS} for name, r in results.items()}
    n_files = {name: len(r["per_file"]) for name, r in results.items()}
    print(f"FREDSum test split, {len(items)} files: names and numbers of each summary absent from its debate")
    print(table(summary, n_files))
    print("(taux = absents / mentions sur tous les fichiers ; méd. = médiane des taux par fichier)")
    data = {
        "date": date.today().isoformat(),
        "dataset": "FREDSum test split",
        "n_files": len(items),
        "check": "summarize.faithfulness.check_faithfulness (names: capitalised words and multiword "
        "proper names, sentence openers excluded, line labels included; numbers: digits and French "
        "number words from three on; supported = found in the transcript text or speaker labels "
        "after folding case/accents, number words read as digits, initials labels resolved)",
        "summary": summary,
        "files": n_files,
        "seconds": {name: r["seconds"] for name, r in results.items()},
        "per_file": {name: r["per_file"] for name, r in results.items()},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
