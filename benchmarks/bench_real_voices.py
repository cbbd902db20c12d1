"""Speech front end on real recorded voices: two French women on telephone band.

Data (``data_cards/real_voices.md``): Debian's Asterisk prompts, ``june`` (Canadian French,
``asterisk-core-sounds-fr-wav``, transcripts from ``asterisk-core-sounds-fr``) and ``armelle``
(French, ``asterisk-prompt-fr-armelle``, GSM), both 8 kHz, both women.

* **ASR**: WER/CER of the front end (VAD + bundled Whisper base, French, diarizer off) on the
  transcribed June prompts, with the French normalisation of :mod:`asr.evaluate`; a seeded
  sample of ``--asr N`` prompts (``--asr all``: every one; ``--asr 0``: skip).
* **Diarization**: ``--conversations`` two-speaker conversations assembled with
  :mod:`asr.realvoice` (turns of 1-3 prompts, back-channel turns, overlap, level changes,
  telephone band, line noise; four conditions x seeds), exact reference RTTM. The front end's
  VAD + the configured diarizer (default: the offline embedding diarizer, speaker count
  automatic) run on each; DER/JER strict (collar 0) and with a 0.25 s collar (each side), per
  conversation and in total (pyannote.metrics via :func:`asr.evaluate.diarization_scores`).
* **Synthetic check** (``--synthetic N``): the same diarizer on ``N`` espeak-ng calls rendered
  by :mod:`asr.synth` (first 90 s), so an improvement on real voices can be checked not to
  lose the synthetic result.

Audio, RTTM and reference JSON are written to ``benchmarks/audio/real_voices/`` (git-ignored).
Prints tables and writes ``benchmarks/results/real_voices.json``; ``--compare OLD.json`` adds
the DER of an earlier run beside each conversation.

    .venv/bin/python benchmarks/bench_real_voices.py                      # 8 conversations + 100 prompts
    .venv/bin/python benchmarks/bench_real_voices.py --asr 0 --synthetic 4 --compare benchmarks/results/real_voices_before.json
    .venv/bin/python benchmarks/bench_real_voices.py --fetch-transcripts  # apt-get download the June transcripts
    .venv/bin/python benchmarks/bench_real_voices.py --asr 0 --seed 200 --out benchmarks/results/real_voices_blind.json
    .venv/bin/python benchmarks/bench_real_voices.py --asr 0 --seed 300 --out benchmarks/results/real_voices_seed300.json

Sets (data card): ``--seed 0`` dev (tuned on; also the extra dev draws ``--seed 10`` and
``--seed 20``), ``--seed 100`` test, ``--seed 200`` the first blind set (seen since),
``--seed 300`` the second blind set (measured once, with the pause/fine-pass diarizer).

Timings are reported but are not a speed benchmark (shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.transcript import atomic_write_text, json_dumps_strict  # noqa: E402

AUDIO = ROOT / "benchmarks" / "audio" / "real_voices"
SYNTH_CALLS = ("dj_2022_feu", "dj_mai_asthme_vento", "reu_grand_mere", "dj_2023_da")

# Four conditions; conversation i uses condition i % 4 and seed i // 4 (+ --seed).
CONDITIONS = (
    {"id": "june-first", "voices": ("june", "armelle"), "opts": {}},
    {"id": "armelle-first", "voices": ("armelle", "june"), "opts": {}},
    {
        "id": "busy-equal-levels",
        "voices": ("june", "armelle"),
        "opts": {"level_db": (-21.0, -21.0), "overlap_p": 0.3, "backchannel_p": 0.3},
    },
    {
        "id": "busy-noisy",
        "voices": ("armelle", "june"),
        "opts": {"level_db": (-21.0, -21.0), "overlap_p": 0.3, "backchannel_p": 0.3, "snr_db": (15.0, 20.0)},
    },
)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fetch_transcripts(dest: Path = AUDIO) -> Path:
    """``apt-get download asterisk-core-sounds-fr`` and extract its transcript file under
    ``dest`` (the package conflicts with the Armelle voice, so it is not installed)."""
    from asr.realvoice import TRANSCRIPT_PACKAGE

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", TRANSCRIPT_PACKAGE], cwd=tmp, check=True)
        deb = next(Path(tmp).glob("*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest / TRANSCRIPT_PACKAGE)], check=True)
    from asr.realvoice import find_transcripts

    found = find_transcripts([dest])
    if found is None:
        raise RuntimeError(f"{TRANSCRIPT_PACKAGE} has no core-sounds-fr.txt")
    return found


# --------------------------------------------------------------------------- conversations


def build_conversations(n: int, duration: float, seed: int, transcripts: dict[str, str]) -> list:
    """Assemble ``n`` conversations and write them to :data:`AUDIO`; returns
    ``(Conversation, condition)`` pairs."""
    from asr.realvoice import (
        ConversationOptions,
        PromptBank,
        assemble_conversation,
        list_prompts,
        write_conversation,
    )

    banks = {v: PromptBank(list_prompts(v, transcripts=transcripts)) for v in ("june", "armelle")}
    out = []
    for i in range(n):
        cond = CONDITIONS[i % len(CONDITIONS)]
        s = seed + i // len(CONDITIONS)
        rng = random.Random(1000 * s + i)
        dur = round(duration * rng.uniform(0.8, 1.2), 1)
        opts = ConversationOptions(duration_s=dur, seed=1000 * s + i, **cond["opts"])
        name = f"conv{i:02d}_{cond['id']}_s{s}"
        conv = assemble_conversation(
            (banks[cond["voices"][0]], banks[cond["voices"][1]]), opts, speakers=cond["voices"], name=name
        )
        write_conversation(conv, AUDIO)
        out.append((conv, cond))
    return out


# --------------------------------------------------------------------------- diarization


def _scores(ref, turns, duration: float) -> dict:
    from asr.evaluate import diarization_scores
    from asr.transcript import Segment, Transcript

    hyp = Transcript(tuple(Segment(s, e, spk) for s, e, spk in turns), duration=duration)
    out = {}
    for tag, collar in (("strict", 0.0), ("collar", 0.25)):
        sc = diarization_scores(ref, hyp, collar=collar)
        out[tag] = {
            "total": sc.total,
            "missed": sc.missed,
            "false_alarm": sc.false_alarm,
            "confusion": sc.confusion,
            "jer_error": sc.jer_error,
            "jer_speakers": sc.jer_speakers,
            "der": sc.der,
            "jer": sc.jer,
        }
    return out


def _total(rows: list[dict]) -> dict:
    out = {}
    for tag in ("strict", "collar"):
        tot = {
            k: sum(r["scores"][tag][k] for r in rows) for k in ("total", "missed", "false_alarm", "confusion")
        }
        je = sum(r["scores"][tag]["jer_error"] for r in rows)
        js = sum(r["scores"][tag]["jer_speakers"] for r in rows)
        ders = [r["scores"][tag]["der"] for r in rows if r["scores"][tag]["der"] is not None]
        tot["der"] = (
            (tot["missed"] + tot["false_alarm"] + tot["confusion"]) / tot["total"] if tot["total"] else None
        )
        tot["jer"] = je / js if js else None
        tot["der_median"] = statistics.median(ders) if ders else None
        tot["der_worst"] = max(ders) if ders else None
        out[tag] = tot
    return out


def run_diarization(items: list[tuple[str, object, object, dict]], front, opts) -> dict:
    """Diarize ``(name, audio, reference turns Transcript, extra)`` items; per-item and total
    scores. ``front``: the loaded :class:`asr.pipeline.FrontEnd` (VAD + diarizer models)."""
    from asr.vad import detect_speech

    rows = []
    for name, audio, ref, extra in items:
        t0 = time.perf_counter()
        regions = detect_speech(audio, opts.vad, model=front.vad)
        turns = _diarize(audio, regions, opts.diarize, front)
        dt = time.perf_counter() - t0
        row = {
            "name": name,
            "duration": len(audio) / 16000,
            "ref_speech": sum(s.end - s.start for s in ref.segments),
            "hyp_speakers": len({t[2] for t in turns}),
            "seconds": round(dt, 2),
            "scores": _scores(ref, turns, len(audio) / 16000),
            **extra,
        }
        rows.append(row)
        _log(
            f"  {name}: DER {_pct(row['scores']['strict']['der'])} strict, "
            f"{_pct(row['scores']['collar']['der'])} collar, {row['hyp_speakers']} speakers ({dt:.1f} s)"
        )
    return {"files": rows, "total": _total(rows)}


def _diarize(audio, regions, dopts, front) -> list:
    """The front end's diarizer on one whole signal (as :func:`asr.pipeline.transcribe` feeds it)."""
    try:
        from asr.diarizer import make_diarizer
    except ImportError:  # a checkout from before asr.diarizer (for --tag before runs)
        from asr.diarize import diarize

        return diarize(audio, regions, dopts, encoder=front.encoder, pyannote_pipeline=front.pyannote)
    d = make_diarizer(dopts, encoder=front.encoder, pyannote_pipeline=front.pyannote)
    d.add(audio, regions)
    return d.finish()


def synthetic_items(n: int) -> list:
    """The first ``n`` of :data:`SYNTH_CALLS` rendered with espeak-ng (first 90 s)."""
    from asr.audio import load_audio
    from asr.synth import SynthOptions, render_calls
    from asr.transcript import read_rttm

    out_dir = AUDIO / "synth90"
    names = list(SYNTH_CALLS[:n])
    todo = [c for c in names if not (out_dir / f"{c}.wav").exists()]
    if todo:
        render_calls(todo, out_dir, SynthOptions(max_duration=90.0))
    return [(c, load_audio(out_dir / f"{c}.wav"), read_rttm(out_dir / f"{c}.rttm"), {}) for c in names]


# --------------------------------------------------------------------------- ASR


def run_asr(n: int | None, seed: int, transcripts: dict[str, str], front, opts) -> dict:
    """WER/CER of the front end on ``n`` seeded June prompts with text (``None``: all)."""
    from asr.evaluate import char_errors, normalize_fr, word_errors
    from asr.pipeline import transcribe
    from asr.realvoice import decode_prompt, list_prompts

    prompts = [p for p in list_prompts("june", transcripts=transcripts) if p.text and normalize_fr(p.text)]
    if n is not None and n < len(prompts):
        prompts = sorted(random.Random(seed).sample(prompts, n), key=lambda p: p.name)
    rows, audio_s, t0 = [], 0.0, time.perf_counter()
    for i, p in enumerate(prompts):
        x = decode_prompt(p.path)
        audio_s += len(x) / 16000
        tr = transcribe(x, opts, models=front)
        hyp = " ".join(w.text for s in tr.segments for w in s.words) or " ".join(s.text for s in tr.segments)
        we, ce = word_errors(p.text, hyp), char_errors(p.text, hyp)
        rows.append(
            {
                "name": p.name,
                "duration": round(len(x) / 16000, 2),
                "ref": p.text,
                "hyp": hyp,
                "words": we.ref_len,
                "word_errors": we.errors,
                "sub": we.substitutions,
                "del": we.deletions,
                "ins": we.insertions,
                "chars": ce.ref_len,
                "char_errors": ce.errors,
                "wer": we.rate,
            }
        )
        if (i + 1) % 20 == 0:
            _log(f"  asr {i + 1}/{len(prompts)}")
    words = sum(r["words"] for r in rows)
    chars = sum(r["chars"] for r in rows)
    wers = [r["wer"] for r in rows if r["wer"] is not None]
    return {
        "prompts": len(rows),
        "sample": "all" if n is None else n,
        "audio_s": round(audio_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "words": words,
        "wer": sum(r["word_errors"] for r in rows) / words if words else None,
        "sub": sum(r["sub"] for r in rows),
        "del": sum(r["del"] for r in rows),
        "ins": sum(r["ins"] for r in rows),
        "cer": sum(r["char_errors"] for r in rows) / chars if chars else None,
        "wer_median": statistics.median(wers) if wers else None,
        "exact": sum(1 for r in rows if r["word_errors"] == 0),
        "files": rows,
    }


# --------------------------------------------------------------------------- tables


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def diar_table(res: dict, old: dict | None = None) -> str:
    old_rows = {r["name"]: r for r in (old or {}).get("files", [])}
    head = f"{'conversation':<34} {'dur':>5} {'spk':>3} {'DER0':>6} {'JER0':>6} {'DER.25':>6} {'JER.25':>6} {'miss':>5} {'FA':>5} {'conf':>5}"
    if old:
        head += f" | {'old DER0':>8} {'old DER.25':>10}"
    lines = [head, "-" * len(head)]

    def line(name, dur, spk, sc, o):
        c = sc["collar"]
        s = f"{name:<34} {dur:>5.0f} {spk:>3} {_pct(sc['strict']['der']):>6} {_pct(sc['strict']['jer']):>6} "
        s += f"{_pct(c['der']):>6} {_pct(c['jer']):>6} {c['missed']:>5.1f} {c['false_alarm']:>5.1f} {c['confusion']:>5.1f}"
        if old:
            s += (
                f" | {_pct(o['strict']['der']):>8} {_pct(o['collar']['der']):>10}"
                if o
                else f" | {'':>8} {'':>10}"
            )
        return s

    for r in res["files"]:
        o = old_rows.get(r["name"], {}).get("scores")
        lines.append(line(r["name"], r["duration"], r["hyp_speakers"], r["scores"], o))
    lines.append("-" * len(head))
    tot = res["total"]
    dur = sum(r["duration"] for r in res["files"])
    lines.append(line("TOTAL", dur, "", tot, (old or {}).get("total")))
    lines.append(
        f"{'median / worst DER (collar)':<34} {'':>5} {'':>3} {'':>6} {'':>6} {_pct(tot['collar']['der_median']):>6} "
        f"{_pct(tot['collar']['der_worst']):>6}"
    )
    lines.append("(DER0/JER0: collar 0; DER.25/JER.25: 0.25 s each side; miss/FA/conf: seconds, collar 0.25)")
    return "\n".join(lines)


def asr_table(a: dict) -> str:
    return (
        f"ASR on June prompts ({a['prompts']} prompts, {a['words']} words, {a['audio_s']:.0f} s): "
        f"WER {_pct(a['wer'])} % (S {a['sub']} D {a['del']} I {a['ins']}), CER {_pct(a['cer'])} %, "
        f"median prompt WER {_pct(a['wer_median'])} %, {a['exact']} prompts exact"
    )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=8, help="two-speaker conversations (0: none)")
    ap.add_argument("--duration", type=float, default=75.0, help="mean conversation length, s (+-20 %%)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--asr", default="100", help="June prompts to transcribe: N, 'all' or 0")
    ap.add_argument(
        "--synthetic", type=int, default=0, help=f"espeak-ng calls to diarize too (max {len(SYNTH_CALLS)})"
    )
    ap.add_argument("--transcripts", type=Path, help="core-sounds-fr.txt[.gz], or a folder holding it")
    ap.add_argument(
        "--fetch-transcripts", action="store_true", help="apt-get download the June transcripts first"
    )
    ap.add_argument(
        "--min-speakers",
        type=int,
        default=2,
        help="diarizer's lower bound on the speaker count (default 2, as the apps set for calls; 1: library default)",
    )
    ap.add_argument("--num-speakers", type=int, help="give the diarizer the exact speaker count")
    ap.add_argument("--tag", default="current", help="label of this run in the JSON")
    ap.add_argument("--compare", type=Path, help="an earlier results JSON: its DER is printed beside")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "real_voices.json")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    from asr.diarize import DiarizeOptions
    from asr.pipeline import PipelineOptions, load_front_end
    from asr.realvoice import find_transcripts, missing_voices, read_transcripts

    missing = missing_voices()
    if missing:
        _log("real voices not available:\n  " + "\n  ".join(missing))
        return 2
    if a.fetch_transcripts:
        fetch_transcripts()
    tpath = find_transcripts([a.transcripts] if a.transcripts else [])
    transcripts = read_transcripts(tpath) if tpath else {}
    n_asr = None if a.asr == "all" else int(a.asr)
    if n_asr != 0 and not transcripts:
        _log("June transcripts not found: run with --fetch-transcripts, or --asr 0")
        return 2

    results: dict = {
        "tag": a.tag,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "note": "timings measured on a shared, loaded machine: not speed figures",
        "transcripts": str(tpath) if tpath else None,
    }
    dopts = (
        DiarizeOptions(num_speakers=a.num_speakers)
        if a.num_speakers
        else DiarizeOptions(min_speakers=a.min_speakers)
    )
    opts = PipelineOptions(diarize=dopts)
    t0 = time.perf_counter()
    front = load_front_end(opts)
    results["load_s"] = round(time.perf_counter() - t0, 1)
    results["settings"] = {"diarize": {k: v for k, v in asdict(dopts).items() if "token" not in k}}
    old = json.loads(a.compare.read_text()) if a.compare else {}

    if a.conversations:
        _log(f"assembling {a.conversations} conversations into {AUDIO}")
        convs = build_conversations(a.conversations, a.duration, a.seed, transcripts)
        items = [
            (
                c.name,
                c.audio,
                c.turns,
                {
                    "condition": cond["id"],
                    "voices": list(cond["voices"]),
                    "prompts": len(c.placed),
                    "backchannels": sum(p.backchannel for p in c.placed),
                    "overlap_s": round(_overlap(c.turns), 2),
                    "snr_db": round(c.snr_db, 1),
                },
            )
            for c, cond in convs
        ]
        _log("diarizing the real-voice conversations")
        results["diarization"] = run_diarization(items, front, opts)
        print("\nDiarization, real voices (two women, telephone band)")
        print(diar_table(results["diarization"], old.get("diarization")))
    if a.synthetic:
        _log(f"diarizing {a.synthetic} synthetic espeak-ng calls")
        results["synthetic"] = run_diarization(synthetic_items(a.synthetic), front, opts)
        print("\nDiarization, synthetic espeak-ng calls (first 90 s)")
        print(diar_table(results["synthetic"], old.get("synthetic")))
    if n_asr != 0:
        _log("ASR on June prompts")
        aopts = replace(opts, diarize=DiarizeOptions(backend="none"))
        results["asr"] = run_asr(n_asr, a.seed, transcripts, front, aopts)
        print("\n" + asr_table(results["asr"]))
    elif old.get("asr"):
        results["asr"] = old["asr"]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out, json_dumps_strict(results, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {a.out}")
    return 0


def _overlap(t) -> float:
    """Seconds where both reference speakers talk."""
    segs = sorted((s.start, s.end, s.speaker) for s in t.segments)
    tot = 0.0
    for i, (_s1, e1, k1) in enumerate(segs):
        for s2, e2, k2 in segs[i + 1 :]:
            if s2 >= e1:
                break
            if k2 != k1:
                tot += min(e1, e2) - s2
    return tot


if __name__ == "__main__":
    raise SystemExit(main())
