"""``llm4all transcribe FILES... --out DIR``: batch audio -> speaker-labelled transcripts."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from apps.batch import BatchResult, expand_inputs, output_stems
from asr.audio import is_audio_path
from asr.diarize import DIARIZERS, DiarizeOptions
from asr.recognize import BACKENDS, AsrOptions
from asr.transcript import FORMATS, write_transcript

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="audio files or directories of audio files")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--formats",
        default="json,rttm,srt,vtt,txt",
        help=f"comma-separated output formats among {','.join(FORMATS)} (default: all)",
    )
    p.add_argument("--overwrite", action="store_true", help="redo files whose outputs already exist")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    g = p.add_argument_group("recognition")
    g.add_argument("--backend", choices=BACKENDS, default="faster-whisper")
    g.add_argument("--model", default=None, help="Whisper model dir or hub id (default: bundled Whisper base)")
    g.add_argument("--language", default="fr", help="language code, or 'auto' to detect (default: fr)")
    g.add_argument("--beam-size", type=int, default=5)
    g.add_argument("--compute-type", default="int8", help="CTranslate2 compute type (default: int8)")
    g.add_argument("--threads", type=int, default=0, help="CPU threads for CTranslate2 (0 = default)")
    g.add_argument("--device", default="cpu")
    g = p.add_argument_group("speakers")
    g.add_argument("--diarizer", choices=DIARIZERS, default="embedding")
    g.add_argument("--num-speakers", type=int, default=None)
    g.add_argument("--min-speakers", type=int, default=1)
    g.add_argument("--max-speakers", type=int, default=8)
    g.add_argument("--pyannote-pipeline", default=None, help="pyannote pipeline dir or hub id (--diarizer pyannote)")
    g.add_argument("--pyannote-token", default=None, help="hub token for a gated pyannote pipeline")
    g.add_argument(
        "--kind",
        choices=("call", "meeting"),
        default="call",
        help="call: label speakers regulateur/appelant; meeting: keep SPEAKER_nn labels",
    )
    g.add_argument("--rename-speakers", action="store_true", help="with --kind call, name speakers by role")


def options_from_args(a: argparse.Namespace):
    from asr.pipeline import PipelineOptions

    return PipelineOptions(
        asr=AsrOptions(
            backend=a.backend,
            model=a.model,
            language=None if a.language in ("auto", "detect", "") else a.language,
            beam_size=a.beam_size,
            compute_type=a.compute_type,
            device=a.device,
            cpu_threads=a.threads,
        ),
        diarize=DiarizeOptions(
            backend=a.diarizer,
            num_speakers=a.num_speakers,
            min_speakers=a.min_speakers,
            max_speakers=a.max_speakers,
            pyannote_pipeline=a.pyannote_pipeline,
            pyannote_token=a.pyannote_token,
        ),
        roles=a.kind == "call",
        rename_speakers=a.rename_speakers,
    )


def parse_formats(s: str) -> list[str]:
    fmts = [f.strip().lower() for f in s.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"--formats: unknown format(s) {bad or s!r}; choose from {','.join(FORMATS)}")
    return list(dict.fromkeys(fmts))


def run(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    try:
        fmts = parse_formats(a.formats)
        opts = options_from_args(a)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a directory", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    files, bad = expand_inputs(a.inputs, is_audio_path)
    res = BatchResult(failed=list(bad))
    stems = output_stems(files)
    quiet = getattr(a, "quiet", False)
    from asr.pipeline import transcribe

    bar = tqdm(files, desc="files", unit="file", disable=quiet, file=sys.stderr)
    for f in bar:
        targets = [out / f"{stems[f]}.{fmt}" for fmt in fmts]
        if not a.overwrite and all(t.exists() for t in targets):
            res.skipped.append(str(f))
            continue
        bar.set_postfix_str(f.name)
        inner = tqdm(total=0, desc=f.name[:30], unit="s", leave=False, disable=quiet, file=sys.stderr)

        def hook(step: str, completed: float, total: float, _bar=inner) -> None:
            if step == "transcribe":
                _bar.total = round(total, 1)
                _bar.n = round(completed, 1)
                _bar.refresh()
            elif step == "diarize" and completed == 0:
                _bar.set_postfix_str("diarizing")

        t0 = time.perf_counter()
        try:
            tr = transcribe(f, opts, hook=hook)
            for fmt, target in zip(fmts, targets):
                write_transcript(tr, target, fmt)
        except (ValueError, RuntimeError, OSError) as e:
            res.failed.append((str(f), str(e)))
            log.debug("failed on %s", f, exc_info=True)
            continue
        finally:
            inner.close()
        res.done.append(str(f))
        log.info("%s: %d segments, %d speakers, %.1f s", f.name, len(tr.segments), len(tr.speakers), time.perf_counter() - t0)
    print(res.summary(), file=sys.stderr)
    return 0 if res.ok else 1
