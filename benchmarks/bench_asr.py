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
    .venv/bin/python benchmarks/bench_asr.py --vocab-prompts 100 --vocab-configs none,initial_prompt
    .venv/bin/python benchmarks/bench_asr.py --vocab-prompts 20 --vocab-configs none,hotwords
    .venv/bin/python benchmarks/bench_asr.py --interleaved        # fair speed ratios on a busy machine

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

from asr.transcript import atomic_write_text, json_dumps_strict  # noqa: E402

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
        from asr.pipeline import PipelineOptions, load_front_end, transcribe
        from asr.recognize import AsrOptions

        opts = PipelineOptions(roles=True, asr=AsrOptions(batch_size=8 if system == "ours-batched" else 0))
        models = load_front_end(opts)  # once, as the reference's load_model (not timed per file)

        def run(path: str):
            return transcribe(path, opts, models=models)

        transcribe(warm, opts, models=models)

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
        load_before = [round(x, 2) for x in os.getloadavg()]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{system} failed:\n{p.stderr[-3000:]}")
        out = json.loads(res.read_text())
        out["wall_s"] = time.perf_counter() - t0
        # 1/5/15-min load averages: speed figures from a busy machine are not comparable
        out["load_avg"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
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


# --------------------------------------------------------------------------- interleaved


def interleaved(paths: list[tuple[Path, str]], out: Path, log) -> dict:
    """Same-moment comparison for a busy machine: each file is run by ``ours`` (the defaults),
    ``openai-whisper`` and ``ours-before`` (no ASR padding, no language identification) in
    turn, in one process with every model loaded once; per-file seconds, WER and 1-min load."""
    import torch
    import whisper

    from asr.audio import load_audio
    from asr.convert import cached_openai_whisper, load_openai_whisper
    from asr.evaluate import word_errors
    from asr.pipeline import PipelineOptions, load_front_end, transcribe
    from asr.recognize import AsrOptions

    torch.set_num_threads(os.cpu_count() or 1)
    ow = load_openai_whisper(cached_openai_whisper())
    cfg = {
        "ours": PipelineOptions(roles=True),
        "ours-before": PipelineOptions(roles=True, asr_pad_s=0.0, asr=AsrOptions(detect_language=False)),
    }
    fe = load_front_end(cfg["ours"])
    warm = load_audio(ROOT / "examples" / "appel_exemple.ogg")[: 16000 * 6]
    transcribe(warm, cfg["ours"], models=fe)
    ow.transcribe(warm, language="fr", beam_size=5, best_of=5, fp16=False)
    rows = []
    for path, ref in paths:
        dur = len(load_audio(path)) / 16000
        for system in ("ours", "openai-whisper", "ours-before"):
            load1 = os.getloadavg()[0]
            t0 = time.perf_counter()
            if system == "openai-whisper":
                r = ow.transcribe(
                    whisper.load_audio(str(path)),
                    language="fr",
                    beam_size=5,
                    best_of=5,
                    fp16=False,
                    condition_on_previous_text=False,
                )
                text = " ".join(seg["text"].strip() for seg in r["segments"])
            else:
                fe.asr.opts = cfg[system].asr  # the loaded backend decodes with its own options
                tr = transcribe(str(path), cfg[system], models=fe)
                text = " ".join(" ".join(w.text for w in g.words) or g.text for g in tr.segments)
            dt = time.perf_counter() - t0
            e = word_errors(ref, text)
            rows.append(
                {"file": path.stem, "system": system, "audio_s": round(dur, 2), "proc_s": round(dt, 2),
                 "errors": e.errors, "ref_words": e.ref_len, "load1": round(load1, 2)}
            )  # fmt: skip
            log(
                f"  {path.stem} {system}: WER {100 * e.errors / e.ref_len:.1f} % in {dt:.1f} s (load {load1:.1f})"
            )
    res: dict = {"rows": rows, "systems": {}}
    for system in ("ours", "openai-whisper", "ours-before"):
        mine = {r["file"]: r for r in rows if r["system"] == system}
        ours = {r["file"]: r for r in rows if r["system"] == "ours"}
        res["systems"][system] = {
            "wer": sum(r["errors"] for r in mine.values()) / sum(r["ref_words"] for r in mine.values()),
            "proc_s": round(sum(r["proc_s"] for r in mine.values()), 2),
            "total_x_ours": round(
                sum(r["proc_s"] for r in mine.values()) / sum(r["proc_s"] for r in ours.values()), 2
            ),
            "median_file_x_ours": round(
                statistics.median(mine[f]["proc_s"] / ours[f]["proc_s"] for f in mine), 2
            ),
        }
    res["load1_range"] = [min(r["load1"] for r in rows), max(r["load1"] for r in rows)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json_dumps_strict(res, indent=1, ensure_ascii=False) + "\n")
    return res


def interleaved_table(res: dict) -> str:
    lines = [f"{'system':15} {'WER %':>6} {'proc s':>7} {'total x ours':>12} {'median file x ours':>18}"]
    for s, e in res["systems"].items():
        lines.append(
            f"{s:15} {_pct(e['wer']):>6} {e['proc_s']:7.1f} {e['total_x_ours']:12.2f} {e['median_file_x_ours']:18.2f}"
        )
    lines.append(f"1-min load average during the run: {res['load1_range']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- vocabulary help

SAMU_PROMPT = (
    "Appel au SAMU, centre 15. Le médecin régulateur envoie le SMUR, une ambulance ou les pompiers. "
    "Douleur thoracique, dyspnée, malaise, AVC, convulsions, détresse respiratoire, inconscient, "
    "saturation, glycémie, tension. Paracétamol, Doliprane, Ventoline, aspirine, insuline."
)
SAMU_HOTWORDS = (
    "SAMU SMUR régulateur pompiers dyspnée AVC convulsions saturation glycémie "
    "paracétamol Doliprane Ventoline aspirine insuline"
)
VOCAB_CONFIGS = {
    "none": {},
    "initial_prompt": {"initial_prompt": SAMU_PROMPT},
    "hotwords": {"hotwords": SAMU_HOTWORDS},
}


def vocab_experiment(n: int, seed: int, out: Path, log, configs: list[str] | None = None) -> dict:
    """WER of the front end on ``n`` seeded June telephone prompts (``asr/realvoice.py``), without
    and with SAMU vocabulary given to Whisper (``initial_prompt`` / ``hotwords``); counts the
    prompts where a vocabulary word appears in the output but not in the reference (a
    hallucination the vocabulary caused)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_real_voices import run_asr

    from asr.diarize import DiarizeOptions
    from asr.evaluate import normalize_fr
    from asr.pipeline import PipelineOptions, load_front_end
    from asr.realvoice import find_transcripts, read_transcripts
    from asr.recognize import AsrOptions

    tpath = find_transcripts([])
    if tpath is None:
        raise SystemExit("June transcripts not found: benchmarks/bench_real_voices.py --fetch-transcripts")
    transcripts = read_transcripts(tpath)
    vocab = set(normalize_fr(SAMU_PROMPT + " " + SAMU_HOTWORDS).split()) - set(
        normalize_fr("au le la les une ou un de des du en et centre envoie médecin").split()
    )
    front = load_front_end(PipelineOptions(diarize=DiarizeOptions(backend="none")))
    # runs add to the file: one run per prompt count (hotwords are slow: they loop)
    res: dict = json.loads(out.read_text()) if out.exists() else {}
    res = res if "runs" in res else {"runs": {}}
    res.update(prompt=SAMU_PROMPT, hotwords=SAMU_HOTWORDS)
    run = res["runs"].setdefault(
        f"{n} prompts, seed {seed}",
        {"set": f"{n} June telephone prompts (seed {seed}) of bench_real_voices.py"},
    )
    run["load_avg_before"] = [round(x, 2) for x in os.getloadavg()]
    run.setdefault("configs", {})
    for name in configs or list(VOCAB_CONFIGS):
        kw = VOCAB_CONFIGS[name]
        opts = PipelineOptions(asr=AsrOptions(**kw), diarize=DiarizeOptions(backend="none"))
        front.asr.opts = opts.asr  # the loaded backend decodes with its own options
        log(f"vocabulary config {name}")
        r = run_asr(n, seed, transcripts, front, opts)
        leaks = [
            f["name"]
            for f in r["files"]
            if (set(normalize_fr(f["hyp"]).split()) - set(normalize_fr(f["ref"]).split())) & vocab
        ]
        r["vocab_leaks"] = len(leaks)
        r["vocab_leak_prompts"] = leaks
        run["configs"][name] = r
        run["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json_dumps_strict(res, indent=1, ensure_ascii=False) + "\n")  # after each
    return res


def vocab_table(res: dict) -> str:
    hdr = f"{'vocabulary':15} {'prompts':>7} {'words':>6} {'WER %':>6} {'S':>4} {'D':>4} {'I':>4} {'CER %':>6} {'exact':>6} {'leaks':>6} {'s':>6}"
    lines = []
    for run in res["runs"].values():
        lines += ["", f"ASR on {run['set']}", hdr, "-" * len(hdr)]
        for name, r in run["configs"].items():
            lines.append(
                f"{name:15} {r['prompts']:7d} {r['words']:6d} {_pct(r['wer']):>6} {r['sub']:4d} {r['del']:4d} "
                f"{r['ins']:4d} {_pct(r['cer']):>6} {r['exact']:6d} {r['vocab_leaks']:6d} {r['seconds']:6.0f}"
            )
        lines.append(f"load averages {run.get('load_avg_before')} -> {run.get('load_avg_after')}")
    lines.append("leaks: prompts whose output has a vocabulary word that is not in the reference")
    return "\n".join(lines)


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
    ap.add_argument(
        "--vocab-prompts",
        type=int,
        default=0,
        help="only the vocabulary experiment: N June telephone prompts without / with SAMU vocabulary "
        "(writes benchmarks/results/asr_vocab.json)",
    )
    ap.add_argument("--seed", type=int, default=0, help="prompt sample of --vocab-prompts")
    ap.add_argument("--vocab-configs", default=",".join(VOCAB_CONFIGS), help="with --vocab-prompts")
    ap.add_argument(
        "--interleaved",
        action="store_true",
        help="only a same-moment speed/WER comparison on FLEURS + medkit (busy machines): each file "
        "by ours, openai-whisper and the previous defaults in turn (benchmarks/results/asr_interleaved.json)",
    )
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

    if a.interleaved:
        from asr.transcript import read_srt

        fl = DATA / "audio" / "fleurs_fr"
        mk = DATA / "audio" / "medkit_dialog"
        paths = [(p, p.with_suffix(".txt").read_text()) for p in sorted(fl.glob("*.ogg"))]
        paths.append((mk / "dialog.ogg", read_srt(mk / "dialog.srt").text))
        out = ROOT / "benchmarks" / "results" / "asr_interleaved.json"
        print(interleaved_table(interleaved(paths, out, log)))
        print(f"\nwrote {out}")
        return 0
    if a.vocab_prompts:
        out = ROOT / "benchmarks" / "results" / "asr_vocab.json"
        configs = [c.strip() for c in a.vocab_configs.split(",") if c.strip()]
        if any(c not in VOCAB_CONFIGS for c in configs):
            ap.error(f"--vocab-configs: among {','.join(VOCAB_CONFIGS)}, got {a.vocab_configs!r}")
        print(vocab_table(vocab_experiment(a.vocab_prompts, a.seed, out, log, configs)))
        print(f"\nwrote {out}")
        return 0

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
        entry = {
            "speed": sp,
            "speed_files": sorted(speed_names),
            "per_file": r["files"],
            "load_avg": r["load_avg"],
        }
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
    lines.append(
        "load averages (1/5/15 min) before -> after each system: "
        + "; ".join(
            f"{s} {e['load_avg']['before']} -> {e['load_avg']['after']}" for s, e in res["systems"].items()
        )
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
