"""``llm4all transcribe FILES... --out DIR``: batch audio -> speaker-labelled transcripts.

User-facing text (help, summary) is French, as in the rest of the CLI."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from asr.diarize import DIARIZERS, DiarizeOptions
from asr.recognize import BACKENDS, AsrOptions
from asr.transcript import FORMATS

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="fichiers audio ou dossiers (parcourus récursivement)")
    p.add_argument("--out", required=True, help="dossier de sortie")
    p.add_argument(
        "--formats",
        default="json,rttm,srt,vtt,txt",
        help=f"formats de sortie séparés par des virgules parmi {','.join(FORMATS)} (défaut : tous)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="refaire les fichiers déjà faits (voir manifest.json)"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="sans barres de progression"
    )
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="autoriser le téléchargement depuis le hub Hugging Face d'un modèle (--model, "
        "--pyannote-pipeline) absent du cache local ; sans cette option, un modèle introuvable "
        "hors ligne est une erreur immédiate",
    )
    add_asr_arguments(p)


def add_asr_arguments(p: argparse.ArgumentParser) -> None:
    """The speech front end's options (recognition, speakers), shared by every command that
    takes audio."""
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

    allow_download = bool(getattr(a, "allow_download", False))  # commands without the flag: off
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
            allow_download=allow_download,
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
            allow_download=allow_download,
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
    from apps.pipeline import ProcessOptions, artifacts, load_models, process
    from apps.runner import Job, accept_audio, execute, usage_error

    try:
        fmts = parse_formats(a.formats)
        opts = ProcessOptions(kind=a.kind, front_end=options_from_args(a), form=False, summary=None)
    except ValueError as e:
        return usage_error(e)
    models = {}

    def render(path: Path, stem: str, hook):
        r = process(path, opts, models["m"], hook)
        for w in r.warnings:
            log.warning("%s : %s", path.name, w)
        row = r.index_row()
        log.info(
            "%s: %d segments, %d speakers, %.1f s",
            path.name,
            len(r.transcript.segments),
            len(r.transcript.speakers),
            r.seconds,
        )
        return artifacts(r, stem, tuple(fmts), report=False), row

    def prepare(plan) -> None:
        models["m"] = load_models(opts, audio=True)

    job = Job("transcribe", {"formats": fmts, "options": opts.settings()}, render)
    return execute(
        a.inputs,
        a.out,
        job,
        accept=accept_audio,
        overwrite=a.overwrite,
        quiet=getattr(a, "quiet", False),
        prepare=prepare,
    )
