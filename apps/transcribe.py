"""``llm4all transcribe FILES... --out DIR``: batch audio -> speaker-labelled transcripts.

User-facing text (help, summary) is French, as in the rest of the CLI."""

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
    p.add_argument("inputs", nargs="+", help="fichiers audio ou dossiers de fichiers audio")
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--formats",
        default="json,rttm,srt,vtt,txt",
        help=f"formats de sortie séparés par des virgules parmi {','.join(FORMATS)} (défaut : tous)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="refaire les fichiers dont les sorties existent déjà"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="sans barres de progression"
    )
    g = p.add_argument_group("reconnaissance")
    g.add_argument("--backend", choices=BACKENDS, default="faster-whisper", help="moteur de reconnaissance")
    g.add_argument(
        "--model",
        default=None,
        help="dossier ou identifiant hub du modèle Whisper (défaut : Whisper base fourni)",
    )
    g.add_argument(
        "--language", default="fr", help="code de langue, ou 'auto' pour la détecter (défaut : fr)"
    )
    g.add_argument("--beam-size", type=int, default=5, help="largeur du faisceau (1 = glouton ; défaut 5)")
    g.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="0 (défaut) : décodage séquentiel avec repli en température ; N>=2 : décodage par lots "
        "de N extraits de 30 s au plus, plus rapide sur les longs fichiers, moins robuste sur l'audio très dégradé",
    )
    g.add_argument("--compute-type", default="int8", help="type de calcul CTranslate2 (défaut : int8)")
    g.add_argument("--threads", type=int, default=0, help="threads CPU pour CTranslate2 (0 = automatique)")
    g.add_argument("--device", default="cpu", help="cpu ou cuda")
    g = p.add_argument_group("locuteurs")
    g.add_argument(
        "--diarizer",
        choices=DIARIZERS,
        default="embedding",
        help="embedding (hors ligne), pyannote, ou none (un seul locuteur)",
    )
    g.add_argument("--num-speakers", type=int, default=None, help="nombre exact de locuteurs, s'il est connu")
    g.add_argument(
        "--min-speakers", type=int, default=None, help="défaut : 2 pour --kind call, 1 pour meeting"
    )
    g.add_argument("--max-speakers", type=int, default=8, help="nombre maximal de locuteurs (défaut 8)")
    g.add_argument(
        "--pyannote-pipeline",
        default=None,
        help="dossier ou identifiant hub du pipeline pyannote (--diarizer pyannote)",
    )
    g.add_argument(
        "--pyannote-token", default=None, help="jeton hub pour un pipeline pyannote à accès restreint"
    )
    g.add_argument(
        "--kind",
        choices=("call", "meeting"),
        default="call",
        help="call : locuteurs étiquetés regulateur/appelant ; meeting : étiquettes SPEAKER_nn",
    )
    g.add_argument(
        "--rename-speakers", action="store_true", help="avec --kind call, nommer les locuteurs par leur rôle"
    )


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
            batch_size=a.batch_size,
        ),
        diarize=DiarizeOptions(
            backend=a.diarizer,
            num_speakers=a.num_speakers,
            # a call has two parties unless the user says otherwise
            min_speakers=a.min_speakers
            if a.min_speakers is not None
            else min(2 if a.kind == "call" else 1, a.max_speakers),
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
        raise ValueError(f"--formats : format(s) inconnu(s) {bad or s!r} ; choisir parmi {','.join(FORMATS)}")
    return list(dict.fromkeys(fmts))


def run(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    try:
        fmts = parse_formats(a.formats)
        opts = options_from_args(a)
    except ValueError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        print(f"erreur : --out {out} existe et n'est pas un dossier", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    files, bad = expand_inputs(a.inputs, is_audio_path)
    res = BatchResult(failed=list(bad))
    stems = output_stems(files)
    quiet = getattr(a, "quiet", False)
    from asr.pipeline import transcribe

    bar = tqdm(files, desc="fichiers", unit="fichier", disable=quiet, file=sys.stderr)
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
                _bar.set_postfix_str("diarisation")

        t0 = time.perf_counter()
        try:
            tr = transcribe(f, opts, hook=hook)
            for fmt, target in zip(fmts, targets):
                write_transcript(tr, target, fmt)
        except Exception as e:  # one bad file never stops the batch (KeyboardInterrupt still does)
            res.fail(f, e)
            continue
        finally:
            inner.close()
        res.done.append(str(f))
        log.info(
            "%s: %d segments, %d speakers, %.1f s",
            f.name,
            len(tr.segments),
            len(tr.speakers),
            time.perf_counter() - t0,
        )
    print(res.summary(), file=sys.stderr)
    return 0 if res.ok else 1
