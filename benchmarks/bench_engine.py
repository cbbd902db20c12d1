"""``llm4all process`` on the 12 synthesized simsamu calls: local engine vs Ray with 1 and 2 workers.

Wall time (whole command, models loaded once per engine/worker), calls per minute, and peak
memory: the local process's max RSS, and each Ray worker's max RSS. Prints a table, writes JSON.
The audio is rendered once by ``asr.synth`` into ``benchmarks/audio/synth_simsamu`` (not committed).

    .venv/bin/python benchmarks/bench_engine.py --calls 12 --out benchmarks/results/engine.json
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

SYNTH = ROOT / "benchmarks" / "audio" / "synth_simsamu"


def _local(inputs: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "llm4all"), "-q", "process", str(inputs), "--out", str(out)],
        check=False,
    ).returncode
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"rc": rc, "seconds": round(wall, 1), "peak_mb": round(max(peak, before) / 1024, 1)}


def _ray(inputs: Path, out: Path, workers: int) -> dict:
    from apps.engine_ray import ray_engine
    from apps.pipeline import ProcessOptions
    from apps.process import make_job
    from apps.runner import execute
    from asr.transcript import FORMATS

    opts = ProcessOptions()
    stats: dict = {}
    job = make_job("process", opts, FORMATS, True, None, {})
    engine = ray_engine(opts, FORMATS, True, None, "process", None, workers, True, stats=stats)
    t0 = time.perf_counter()
    rc = execute([inputs], out, job, quiet=True, engine=engine)
    wall = time.perf_counter() - t0
    return {
        "rc": rc,
        "seconds": round(wall, 1),
        "seconds_after_start": round(stats.get("seconds", 0.0), 1),
        "worker_peak_mb": [round(m, 1) for m in stats.get("worker_peak_mb", [])],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=12)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engine.json"))
    a = ap.parse_args(argv)
    from asr.synth import default_calls, render_calls

    calls = default_calls(a.calls)
    missing = [c for c in calls if not (SYNTH / f"{c}.wav").exists()]
    if missing:
        print(f"rendering {len(missing)} synthesized calls into {SYNTH}", file=sys.stderr)
        render_calls(missing, SYNTH)
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    inputs = tmp / "in"
    inputs.mkdir()
    for c in calls:
        shutil.copy(SYNTH / f"{c}.wav", inputs / f"{c}.wav")
    audio_s = 0.0
    import soundfile as sf

    for c in calls:
        info = sf.info(str(inputs / f"{c}.wav"))
        audio_s += info.frames / info.samplerate
    rows = {"local": _local(inputs, tmp / "local")}
    for w in a.workers:
        rows[f"ray-{w}"] = _ray(inputs, tmp / f"ray{w}", w)
    # same outputs whatever the engine
    # outputs that hold no time stamp must be byte-identical whatever the engine
    compared = (".json", ".rttm", ".srt", ".vtt", ".txt", ".form.json", ".summary.txt")
    ref = sorted(
        p.name
        for p in (tmp / "local").iterdir()
        if p.name.endswith(compared)
        and p.name not in ("manifest.json",)
        and ".summary.json" not in p.name
        and ".rs-eda" not in p.name
    )
    for w in a.workers:
        d = tmp / f"ray{w}"
        differ = [
            n for n in ref if not (d / n).exists() or (d / n).read_text() != (tmp / "local" / n).read_text()
        ]
        rows[f"ray-{w}"]["same_outputs"] = not differ
        rows[f"ray-{w}"]["differing_files"] = differ
    result = {
        "calls": len(calls),
        "audio_seconds": round(audio_s, 1),
        "cpu_count": os.cpu_count(),
        "note": "2-core machine shared with other jobs while measured; Ray workers run 1 torch thread each",
        "engines": rows,
    }
    print(f"{len(calls)} calls, {audio_s / 60:.1f} min of audio, {os.cpu_count()} cores")
    print(f"{'engine':10} {'wall s':>8} {'calls/min':>10} {'peak MB':>18} same")
    for k, r in rows.items():
        peak = r.get("peak_mb") or r.get("worker_peak_mb")
        print(
            f"{k:10} {r['seconds']:8.1f} {60 * len(calls) / r['seconds']:10.2f} {str(peak):>18} {r.get('same_outputs', '-')}"
        )
    Path(a.out).write_text(json_dumps_strict(result, indent=1) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
