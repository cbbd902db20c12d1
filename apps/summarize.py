"""``llm4all summarize INPUTS... --out DIR``: transcripts (or audio) -> French summaries.

Inputs: our transcript JSON, simsamu JSON/SRT, WebVTT, FREDSum ``SPEAKER : text`` transcripts
(``.txt``, synthetic times), and audio files (transcribed first). Outputs per input:
``<name>.summary.txt`` (the summary) and ``<name>.summary.json`` (summary, method, model, word
count, source), written atomically. Batch behaviour as ``llm4all transcribe``: progress bars,
one bad file never stops the batch, finished inputs skipped on a rerun unless ``--overwrite``,
exit code 1 when any input failed (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from apps.batch import BatchResult, expand_inputs, load_llm, one_per_stem, output_stems, transcript_or_audio
from asr.audio import is_audio_path
from asr.transcript import Transcript, atomic_write_text, read_transcript
from summarize.core import KINDS, METHODS, SummaryOptions, summarize
from summarize.fredsum import looks_like_fredsum, read_fredsum

log = logging.getLogger(__name__)

_OUTPUT_SUFFIXES = (".summary.txt", ".summary.json")


def load_input(path: Path, kind: str, hook=None) -> tuple[Transcript, str]:
    """Read (or transcribe) one input; returns the transcript and a French word on its format."""
    ext = path.suffix.lower()
    if is_audio_path(path):
        from asr.diarize import DiarizeOptions
        from asr.pipeline import PipelineOptions, transcribe

        opts = PipelineOptions(
            roles=kind == "call",
            rename_speakers=kind == "call",
            diarize=DiarizeOptions(min_speakers=2 if kind == "call" else 1),
        )
        return transcribe(path, opts, hook=hook), "audio (transcrit par asr.pipeline)"
    if ext == ".txt":
        if looks_like_fredsum(path):
            return read_fredsum(path), "FREDSum .txt (temps synthétiques)"
        return read_transcript(path), "texte « locuteur: texte » (sans temps)"
    if ext in (".json", ".srt", ".vtt"):
        return read_transcript(path), ext.lstrip(".")
    raise ValueError(
        f"{path} : format non pris en charge {ext!r} (transcription .json/.srt/.vtt/.txt ou audio)"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all summarize",
        description="Résumer des transcriptions (ou des fichiers audio, transcrits d'abord) en français. "
        "Écrit <nom>.summary.txt et <nom>.summary.json dans --out.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        help="transcriptions (.json, .srt simsamu, .vtt, .txt FREDSum « LOCUTEUR : texte »), audio, ou dossiers",
    )
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="extractive",
        help="extractive (défaut : phrases choisies, sans modèle) ou llm (résumé rédigé par un modèle de langue)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="pour --method llm : modèle fourni (gemma3-270m, défaut ; smollm2) ou dossier de modèle transformers",
    )
    p.add_argument(
        "--max-words",
        type=int,
        default=None,
        help="longueur maximale du résumé en mots (défaut : 12 %% de la transcription, entre 60 et 400)",
    )
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="meeting",
        help="meeting (réunion, débat : qui dit quoi) ou call (appel : motif, patient, signes clés, décision)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="refaire les fichiers dont les sorties existent déjà"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="sans barres de progression")
    return p


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    a = parser().parse_args(argv)
    try:
        opts = SummaryOptions(method=a.method, max_words=a.max_words, kind=a.kind, model=a.model)
    except ValueError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2
    if a.model and a.method != "llm":
        print("erreur : --model ne sert qu'avec --method llm", file=sys.stderr)
        return 2
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        print(f"erreur : --out {out} existe et n'est pas un dossier", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    files, bad = expand_inputs(a.inputs, transcript_or_audio(_OUTPUT_SUFFIXES))
    files = one_per_stem(files)
    res = BatchResult(failed=list(bad))
    stems = output_stems(files)
    todo = [
        f
        for f in files
        if a.overwrite or not all((out / f"{stems[f]}{s}").exists() for s in _OUTPUT_SUFFIXES)
    ]
    res.skipped.extend(str(f) for f in files if f not in todo)

    llm = None
    if a.method == "llm" and todo:
        name = a.model or "gemma3-270m"
        llm, error = load_llm(a.model)
        if error:
            print(error, file=sys.stderr)
            return 2
        opts = SummaryOptions(method="llm", max_words=a.max_words, kind=a.kind, model=name)

    bar = tqdm(todo, desc="fichiers", unit="fichier", disable=a.quiet, file=sys.stderr)
    for f in bar:
        bar.set_postfix_str(f.name[:40])
        inner = tqdm(total=0, desc=f.name[:30], leave=False, disable=a.quiet, file=sys.stderr)

        def hook(step: str, completed: float, total: float, _bar=inner) -> None:
            _bar.total = round(total, 1)
            _bar.n = round(completed, 1)
            _bar.set_postfix_str({"map": "extraits", "reduce": "fusion"}.get(step, step))
            _bar.refresh()

        t0 = time.perf_counter()
        try:
            transcript, fmt = load_input(f, a.kind, hook=hook)
            summary = summarize(transcript, opts, llm=llm, hook=hook)
            data = summary.to_dict()
            data.update({"input": str(f), "input_format": fmt, "seconds": round(time.perf_counter() - t0, 2)})
            atomic_write_text(out / f"{stems[f]}.summary.txt", summary.text + "\n")
            atomic_write_text(
                out / f"{stems[f]}.summary.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            )
        except Exception as e:  # one bad file never stops the batch (KeyboardInterrupt still does)
            res.fail(f, e)
            continue
        finally:
            inner.close()
        res.done.append(str(f))
        for w in summary.warnings:
            print(f"  attention {f.name} : {w}", file=sys.stderr)
        log.info("%s: %d words, %.1f s", f.name, summary.word_count, time.perf_counter() - t0)
    print(res.summary(), file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
