"""ASR front-end benchmark: quality and speed, ours vs the reference implementations.

Systems (each runs in its own subprocess, one after the other, so peak memory is its own):

* ``ours``: the whole pipeline (decode + Silero VAD + faster-whisper int8 + diarization +
  roles), bundled Whisper base (CTranslate2).
* ``openai-whisper``: the reference PyTorch implementation on the *same* Whisper base weights
  (converted from the bundled CT2 model by :mod:`asr.convert`), ``whisper.load_audio`` (FFmpeg)
  for decoding, ASR only (no VAD, no diarization).
* ``ours-batched``: the same pipeline with faster-whisper's batched decoding (``--batch-size 8``).
* ``transformers``: ``WhisperForConditionalGeneration`` on the same weights, ASR only (not in
  the default set: slow and 6 GB peak; ``--systems ours,transformers``).

All use French forced, beam 5, no conditioning on previous text, CPU, every core.

Sets: FLEURS fr (5 real read-speech clips), the real two-speaker medkit dialog, and the
synthesized simsamu calls (``benchmarks/make_synth_calls.py``; missing calls are rendered
first). Quality: WER/CER (French normalisation of :mod:`asr.evaluate`), DER/JER (collar 0.25 s
each side) on the RTTM turns, DER of the word segments, cpWER. Speed: real-time factor
(processing seconds / audio seconds, model loading excluded and reported apart), per file and
in total, peak RSS, and the ratio against ``ours``.

    .venv/bin/python benchmarks/bench_asr.py                       # everything (~30 min on 2 cores)
    .venv/bin/python benchmarks/bench_asr.py --speed-calls 2 --systems ours,openai-whisper

Prints a table and writes ``benchmarks/results/asr.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import json_dumps_strict  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SYNTH = ROOT / "benchmarks" / "audio" / "synth_simsamu"
SYSTEMS = ("ours", "ours-batched", "openai-whisper", "transformers")
DEFAULT_SYSTEMS = ("ours", "ours-batched", "openai-whisper")


# --------------------------------------------------------------------------- worker


def _worker(system: str, manifest: Path, hyp_dir: Path, result: Path) -> None:
    """Run one system over the files in ``manifest``; write hypotheses and timings."""
    warnings.filterwarnings("ignore")
    from asr.transcript import Segment, Transcript, write_json

    files = json.loads(manifest.read_text())
    from asr.audio import load_audio

    warm = load_audio(ROOT / "examples" / "appel_exemple.ogg")[: 16000 * 6]  # first-call costs go to loading
    t0 = time.perf_counter()
    if system in ("ours", "ours-batched"):
        from asr.pipeline import PipelineOptions, transcribe
        from asr.recognize import AsrOptions, make_backend

        opts = PipelineOptions(roles=True, asr=AsrOptions(batch_size=8 if system == "ours-batched" else 0))
        make_backend(opts.asr)  # load the model (cached by the backend)

        def run(path: str):
            return transcribe(path, opts)

        transcribe(warm, opts)

    elif system == "openai-whisper":
        import torch
        import whisper

        from asr.convert import cached_openai_whisper, load_openai_whisper

        torch.set_num_threads(os.cpu_count() or 1)
        model = load_openai_whisper(cached_openai_whisper())

        def run(path: str):
            audio = whisper.load_audio(path)
            r = model.transcribe(
                audio, language="fr", beam_size=5, best_of=5, fp16=False, condition_on_previous_text=False
            )
            segs = tuple(
                Segment(float(s["start"]), float(s["end"]), None, s["text"].strip()) for s in r["segments"]
            )
            return Transcript(segs, language="fr", duration=len(audio) / 16000)

        model.transcribe(warm, language="fr", beam_size=5, best_of=5, fp16=False)

    elif system == "transformers":
        import torch

        from asr.recognize import AsrOptions, TransformersBackend

        torch.set_num_threads(os.cpu_count() or 1)
        backend = TransformersBackend(AsrOptions(backend="transformers"))
        import numpy as np

        from asr.transcript import segments_from_words

        def run(path: str):
            x = load_audio(path)
            # ASR only, like openai-whisper: the whole signal as one region
            words, lang = backend.recognize(x, [(0.0, len(x) / 16000)])
            return Transcript(segments_from_words(words), language=lang, duration=float(np.size(x) / 16000))

        backend.recognize(warm, [(0.0, len(warm) / 16000)])

    else:
        raise ValueError(system)
    load_s = time.perf_counter() - t0
    rows = []
    for f in files:
        t1 = time.perf_counter()
        tr = run(f["path"])
        dt = time.perf_counter() - t1
        write_json(tr, hyp_dir / f"{f['name']}.json")
        rows.append({"name": f["name"], "audio_s": f["duration"], "proc_s": dt})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.write_text(
        json_dumps_strict({"system": system, "load_s": load_s, "files": rows, "peak_rss_mb": peak_mb})
    )


# --------------------------------------------------------------------------- driver


def _files(paths: list[Path]) -> list[dict]:
    from asr.audio import probe

    return [{"name": p.name.split(".")[0], "path": str(p), "duration": probe(p).duration} for p in paths]


def _run_system(system: str, files: list[dict], hyp_dir: Path, log) -> dict:
    hyp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        man, res = Path(tmp) / "files.json", Path(tmp) / "result.json"
        man.write_text(json_dumps_strict(files))
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            system,
            "--manifest",
            str(man),
            "--hyp-dir",
            str(hyp_dir),
            "--result",
            str(res),
        ]
        log(f"running {system} on {len(files)} files ({sum(f['duration'] for f in files):.0f} s of audio)")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{system} failed:\n{p.stderr[-3000:]}")
        out = json.loads(res.read_text())
        out["wall_s"] = time.perf_counter() - t0
        return out


def _speed(r: dict) -> dict:
    audio = sum(f["audio_s"] for f in r["files"])
    proc = sum(f["proc_s"] for f in r["files"])
    return {
        "audio_s": round(audio, 2),
        "proc_s": round(proc, 2),
        "rtf": round(proc / audio, 4),
        "rtf_median_file": round(statistics.median(f["proc_s"] / f["audio_s"] for f in r["files"]), 4),
        "load_s": round(r["load_s"], 2),
        "peak_rss_mb": round(r["peak_rss_mb"], 1),
    }


def _quality(hyp_dir: Path, ref: Path, names: set[str]) -> dict:
    """Scores of the hypotheses ``names`` only (totals over exactly those files)."""
    from asr.evaluate import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            (Path(tmp) / f"{n}.json").symlink_to((hyp_dir / f"{n}.json").resolve())
        res = evaluate(Path(tmp), ref, collar=0.25)
    rows = [r for r in res["files"] if r["name"] in names]
    return {
        "total": res["total"],
        "files": rows,
        "missing": [m for m in res.get("missing", []) if m in names],
    }


def _der_words(hyp_dir: Path, ref_dir: Path, names: list[str]) -> float | None:
    """DER of the word segments (speaker-labelled words only, ignoring the diarizer's turns)."""
    from asr.evaluate import diarization_scores
    from asr.transcript import Transcript, read_json, read_rttm

    err = tot = 0.0
    for n in names:
        h = read_json(hyp_dir / f"{n}.json")
        rttm = ref_dir / f"{n}.rttm"
        if not rttm.exists():
            return None
        s = diarization_scores(read_rttm(rttm), Transcript(h.segments, duration=h.duration), collar=0.25)
        err += s.missed + s.false_alarm + s.confusion
        tot += s.total
    return err / tot if tot else None


def _roles_on_hyps(hyp_dir: Path, ref_dir: Path, names: list[str]) -> dict:
    """Role accuracy on our transcripts: each hypothesis speaker is matched to the reference
    speaker it overlaps most; correct when regulateur <-> medecin."""
    from asr.transcript import read_json, read_rttm

    ok = tot = 0
    for n in names:
        h, r = read_json(hyp_dir / f"{n}.json"), read_rttm(ref_dir / f"{n}.rttm")
        for spk, role in h.roles.items():
            ov: dict[str, float] = {}
            for a in h.turns or h.segments:
                if a.speaker != spk:
                    continue
                for b in r.segments:
                    o = min(a.end, b.end) - max(a.start, b.start)
                    if o > 0:
                        ov[b.speaker] = ov.get(b.speaker, 0.0) + o
            if not ov:
                continue
            tot += 1
            ok += (role == "regulateur") == (max(ov, key=ov.get) == "medecin")
    return {"speakers": tot, "correct": ok, "accuracy": round(ok / tot, 4) if tot else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS), help=f"among {','.join(SYSTEMS)}")
    ap.add_argument("--synth-dir", type=Path, default=SYNTH)
    ap.add_argument("--synth-calls", type=int, default=12, help="synthesized calls for quality (ours)")
    ap.add_argument(
        "--speed-calls", type=int, default=2, help="synthesized calls also run by the reference systems"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "asr.json")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "bench_asr")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--hyp-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        _worker(a.worker, a.manifest, a.hyp_dir, a.result)
        return 0

    def log(msg: str) -> None:
        print(f"[bench_asr] {msg}", file=sys.stderr, flush=True)

    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    bad = [s for s in systems if s not in SYSTEMS]
    if bad or "ours" not in systems:
        ap.error(f"--systems must include 'ours' and be among {SYSTEMS}, got {systems}")
    if not DATA.exists():
        ap.error(f"reference data not found at {DATA}")
    fleurs_dir, medkit_dir = DATA / "audio" / "fleurs_fr", DATA / "audio" / "medkit_dialog"
    fleurs = _files(sorted(fleurs_dir.glob("*.ogg")))
    medkit = _files([medkit_dir / "dialog.ogg"])

    from asr.synth import default_calls, render_calls

    calls = default_calls(a.synth_calls)
    missing = [c for c in calls if not (a.synth_dir / f"{c}.wav").exists()]
    if missing:
        log(f"rendering {len(missing)} synthesized calls into {a.synth_dir}")
        render_calls(missing, a.synth_dir)
    synth = _files([a.synth_dir / f"{c}.wav" for c in calls])
    speed_synth = synth[: a.speed_calls]

    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {"language": "fr", "beam_size": 5, "collar_each_side_s": 0.25},
        "systems": {},
    }
    for system in systems:
        full = system.startswith("ours")
        files = fleurs + medkit + (synth if full else speed_synth)
        hyp = a.work / system
        r = _run_system(system, files, hyp, log)
        speed_names = {f["name"] for f in fleurs + medkit + speed_synth}
        sp = _speed({**r, "files": [f for f in r["files"] if f["name"] in speed_names]})
        entry = {"speed": sp, "speed_files": sorted(speed_names), "per_file": r["files"]}
        entry["fleurs"] = _quality(hyp, fleurs_dir, {f["name"] for f in fleurs})
        entry["medkit"] = _quality(hyp, medkit_dir, {"dialog"})
        synth_names = [f["name"] for f in (synth if full else speed_synth)]
        entry["synth"] = _quality(hyp, a.synth_dir, set(synth_names))
        entry["synth_speed_subset"] = _quality(hyp, a.synth_dir, {f["name"] for f in speed_synth})
        if full:
            entry["synth"]["der_word_segments"] = _der_words(hyp, a.synth_dir, synth_names)
            entry["synth"]["roles"] = _roles_on_hyps(hyp, a.synth_dir, synth_names)
            entry["medkit"]["der_word_segments"] = _der_words(hyp, medkit_dir, ["dialog"])
        results["systems"][system] = entry

    ours = results["systems"]["ours"]["speed"]
    ours_files = {f["name"]: f["proc_s"] for f in results["systems"]["ours"]["per_file"]}
    for e in results["systems"].values():
        e["speed"]["speedup_vs_this"] = round(e["speed"]["rtf"] / ours["rtf"], 2)
        ratios = [f["proc_s"] / ours_files[f["name"]] for f in e["per_file"] if f["name"] in e["speed_files"]]
        e["speed"]["median_file_ratio_vs_ours"] = round(statistics.median(ratios), 2)

    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json_dumps_strict(results, indent=1, ensure_ascii=False) + "\n")
    print(_table(results))
    print(f"\nwrote {a.out}")
    return 0


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:6.2f}"


def _table(res: dict) -> str:
    lines = []
    hdr = f"{'system':15} {'FLEURS WER':>10} {'CER':>6} {'medkit WER':>10} {'DER':>6} {'synth WER':>9} {'subset WER':>10} {'DER':>6} {'JER':>6} {'cpWER':>6}"
    lines += [
        "Quality (%; DER/JER collar 0.25 s each side; synth = espeak-ng simsamu calls)",
        hdr,
        "-" * len(hdr),
    ]
    for s, e in res["systems"].items():
        ft, mt, st, sst = (
            e["fleurs"]["total"],
            e["medkit"]["total"],
            e["synth"]["total"],
            e["synth_speed_subset"]["total"],
        )
        lines.append(
            f"{s:15} {_pct(ft.get('wer')):>10} {_pct(ft.get('cer')):>6} {_pct(mt.get('wer')):>10} {_pct(mt.get('der')):>6} "
            f"{_pct(st.get('wer')):>9} {_pct(sst.get('wer')):>10} {_pct(st.get('der')):>6} {_pct(st.get('jer')):>6} {_pct(st.get('cpwer')):>6}"
        )
    for s, o in res["systems"].items():
        if "roles" in o["synth"]:
            lines.append(
                f"{s}: DER of word segments synth {_pct(o['synth'].get('der_word_segments'))}, "
                f"medkit {_pct(o['medkit'].get('der_word_segments'))}; "
                f"roles on ASR output {o['synth']['roles']['correct']}/{o['synth']['roles']['speakers']}"
            )
    hdr = f"{'system':15} {'audio s':>8} {'proc s':>8} {'RTF':>7} {'RTF med':>8} {'load s':>7} {'peak MB':>8} {'total x ours':>12} {'median file x ours':>18}"
    lines += ["", "Speed (same files for every system; model loading excluded)", hdr, "-" * len(hdr)]
    for s, e in res["systems"].items():
        sp = e["speed"]
        lines.append(
            f"{s:15} {sp['audio_s']:8.1f} {sp['proc_s']:8.1f} {sp['rtf']:7.3f} {sp['rtf_median_file']:8.3f} {sp['load_s']:7.1f} {sp['peak_rss_mb']:8.0f} {sp['speedup_vs_this']:12.2f} {sp['median_file_ratio_vs_ours']:18.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
