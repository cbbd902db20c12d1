"""Render simsamu calls into synthetic two-speaker French audio with an exact reference.

For each call, writes ``<rec>.wav`` (16 kHz mono), ``<rec>.rttm`` and ``<rec>.json`` (the turns
as rendered) into the output folder, plus ``.synth_manifest.json`` (options, voices, espeak-ng
version, per-call numbers and a listening-free energy check). See ``asr/synth.py`` and
``data_cards/synth_simsamu.md``.

The default set is fixed and documented in ``asr.synth.DEFAULT_CALLS``: every 5th of the 60
two-speaker simsamu calls in sorted order (the 3-party call is left out); ``--n`` above 12 adds the
other two-speaker calls in sorted order.

    python benchmarks/make_synth_calls.py                     # 12 calls -> benchmarks/audio/synth_simsamu
    python benchmarks/make_synth_calls.py --n 2 --max-duration 30 --out /tmp/synth
    python benchmarks/make_synth_calls.py --calls dj_2022_feu,reu_vppb

Generated audio is never committed (``benchmarks/audio/`` is git-ignored).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from asr import synth  # noqa: E402
from asr.transcript import atomic_write_text, json_dumps_strict  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "audio" / "synth_simsamu"


def _db(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--n", type=int, default=len(synth.DEFAULT_CALLS), help="number of calls of the fixed set")
    p.add_argument("--calls", default=None, help="comma-separated call names (overrides --n)")
    p.add_argument("--max-duration", type=float, default=None, help="keep turns starting before S seconds")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument(
        "--data-dir", type=Path, default=None, help="simsamu folder (default ../shared/data/simsamu)"
    )
    a = p.parse_args(argv)

    try:
        opts = synth.SynthOptions(sample_rate=a.sample_rate, max_duration=a.max_duration)
        names = [c.strip() for c in a.calls.split(",") if c.strip()] if a.calls else None
        names = names or synth.default_calls(a.n, a.data_dir)
        for n in names:
            synth.load_call(n, a.data_dir)
        version = synth.espeak_version()
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print(f"espeak-ng {version}; {len(names)} calls -> {a.out}")
    head = f"{'call':32} {'turns':>5} {'audio_s':>8} {'sped_up':>7} {'tempo':>5} {'min_turn_dB':>11} {'outside_dB':>10} {'time_s':>6}"
    print(head)
    print("-" * len(head))
    rows, failed = [], []
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        try:
            res = synth.render_call(name, a.out, opts, a.data_dir)
        except (ValueError, RuntimeError, OSError) as e:
            print(f"{name:32} FAILED: {e}", file=sys.stderr)
            failed.append(name)
            continue
        dt = time.perf_counter() - t0
        import soundfile as sf

        audio, sr = sf.read(res.wav_path, dtype="float32")
        rep = synth.energy_report(audio, sr, res.reference)
        sped = sum(t.speed > res.voices[t.speaker].speed or t.tempo > 1.0 for t in res.turns)
        tempo = sum(t.tempo > 1.0 for t in res.turns)
        row = {
            "call": name,
            "turns": len(res.turns),
            "skipped_turns": res.skipped,
            "audio_s": round(res.duration, 3),
            "speech_fraction": round(rep["speech_fraction"], 4),
            "sped_up_turns": sped,
            "tempo_turns": tempo,
            "max_tempo": max((t.tempo for t in res.turns), default=1.0),
            "max_speed": max((t.speed for t in res.turns), default=0),
            "min_turn_rms_db": _db(rep["min_turn_rms_db"]),
            "outside_rms_db": _db(rep["outside_rms_db"]),
            "render_s": round(dt, 2),
        }
        rows.append(row)
        outside = "-inf" if row["outside_rms_db"] is None else f"{row['outside_rms_db']:.1f}"
        print(
            f"{name:32} {row['turns']:5d} {row['audio_s']:8.1f} {sped:7d} {tempo:5d} "
            f"{row['min_turn_rms_db']:11.1f} {outside:>10} {dt:6.1f}"
        )
    total_s = time.perf_counter() - t_all
    audio_s = sum(r["audio_s"] for r in rows)
    print("-" * len(head))
    print(f"{len(rows)} calls, {audio_s / 60:.1f} min of audio in {total_s:.1f} s")
    manifest = {
        "source": "simsamu (MIT, (c) 2023 HeKA Research Team), text and turn times only",
        "espeak_ng": version,
        "options": {k: v for k, v in asdict(opts).items() if k not in ("regulator", "callers", "voices")},
        "voices": {
            "regulator": asdict(opts.regulator),
            "callers": [asdict(v) for v in opts.callers],
        },
        "calls": rows,
        "failed": failed,
        "total_audio_s": round(audio_s, 3),
        "wall_s": round(total_s, 2),
    }
    atomic_write_text(
        a.out / ".synth_manifest.json", json_dumps_strict(manifest, indent=1, ensure_ascii=False) + "\n"
    )
    if failed:
        print(f"{len(failed)} call(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
