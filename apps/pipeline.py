"""One pipeline under every entry point: ``process(input, options, models, hook) -> CallResult``.

Any input (audio in any format :mod:`asr.audio` decodes, our transcript JSON, simsamu JSON/SRT,
WebVTT, FREDSum ``SPEAKER : text`` or plain ``speaker: text`` files, or a :class:`Transcript`)
becomes a speaker-labelled :class:`Transcript` (calls: roles ``regulateur``/``appelant`` and at
least two speakers; meetings: ``SPEAKER_nn``), optionally pseudonymised, then a SAMU call form
with its Hub Santé RS-EDA message (calls), then a summary. :func:`artifacts` renders every output
file of one result in memory (transcript formats, form, RS-EDA, summary, HTML report), so the
batch runner (:mod:`apps.runner`), the Gradio app (:mod:`apps.demo`) and the Ray engine
(:mod:`apps.engine_ray`) all share it.

Models are loaded once (:func:`load_models`) and passed in, as openai-whisper does
``load_model()`` then ``transcribe(model, ...)``; a :class:`Models` handle serves one call at a
time (its lock), so a server or a worker can hold it for its lifetime.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from asr.language import language_warning
from asr.pipeline import FrontEnd, PipelineOptions
from asr.progress import Hook, call_hook, prefixed
from asr.transcript import (
    FORMATS,
    Transcript,
    json_dumps_strict,
    read_transcript,
    rttm_text,
    srt_text,
    txt_text,
    vtt_text,
)
from samu import DEFAULT_EXTRACTOR

log = logging.getLogger(__name__)

KINDS = ("call", "meeting")
ORG_RE = re.compile(r"([a-zA-Z0-9_-]+\.?){4,9}")

# output suffixes of one call, by stage
TRANSCRIPT_SUFFIXES = tuple(f".{f}" for f in FORMATS)
FORM_SUFFIXES = (".form.json", ".rs-eda.json")
SUMMARY_SUFFIXES = (".summary.txt", ".summary.json")
REPORT_SUFFIX = ".report.html"
NOTE_SUFFIX = ".note.txt"  # the short call note (samu.note), calls with a form
PSEUDO_SUFFIXES = (".pseudo.json", ".restored.json")
# files the project writes: never taken as inputs when a folder is expanded
OUTPUT_SUFFIXES = FORM_SUFFIXES + SUMMARY_SUFFIXES + PSEUDO_SUFFIXES + (REPORT_SUFFIX, NOTE_SUFFIX)


class KeyStore(Protocol):
    """Pseudonymises a transcript with a re-identification key kept somewhere safe (a locked
    file for batches, memory for the app)."""

    def pseudonymize(self, t: Transcript) -> Transcript: ...


class MemoryKeyStore:
    """A key held in memory (the app's pseudonymised export)."""

    def __init__(self, options=None) -> None:
        from samu.pseudonymize import PseudoKey, PseudoOptions

        self.key = PseudoKey()
        self.options = options or PseudoOptions()

    def pseudonymize(self, t: Transcript) -> Transcript:
        from samu.pseudonymize import pseudonymize

        out, self.key = pseudonymize(t, self.key, self.options)
        return out


@dataclass(frozen=True)
class ProcessOptions:
    """What :func:`process` makes of one input.

    Attributes:
        kind: ``call`` (roles, SAMU form, call summary) or ``meeting`` (``SPEAKER_nn``, summary).
        front_end: speech front-end options for audio inputs (default: from ``kind``).
        form: fill the SAMU form and its RS-EDA message (calls only).
        extractor: SAMU extractor (:data:`samu.EXTRACTORS`; default :data:`samu.DEFAULT_EXTRACTOR`,
            which loads the shipped SAMU model; ``"rules"`` needs no model).
        summary: summary options, or ``None`` for no summary.
        llm_model: the LLM for ``extractor="llm"`` or ``summary.method="llm"`` (bundled name,
            directory or hub id; ``None`` = the bundled default, and for summaries the shipped
            summary model, :func:`summarize.model.load_summary_model`).
        samu_adapter: the SAMU model for ``extractor="model"|"hybrid"|"hybrid-motif"`` (a directory written by
            ``llm4all train-samu``; ``None`` = the adapter shipped in ``samu/adapters``).
        pseudonymize: pseudonymise the transcript (needs a key store) before the form and summary.
        org: the sending organisation id of the RS-EDA message.
    """

    kind: str = "call"
    front_end: PipelineOptions | None = None
    form: bool = True
    extractor: str = DEFAULT_EXTRACTOR
    summary: Any = "default"  # SummaryOptions | None; "default" = SummaryOptions(kind=kind)
    llm_model: str | None = None
    samu_adapter: str | None = None
    pseudonymize: bool = False
    org: str = "fr.health.samu000"

    def __post_init__(self) -> None:
        from samu import EXTRACTORS
        from summarize.core import SummaryOptions

        if self.kind not in KINDS:
            raise ValueError(f"ProcessOptions.kind must be one of {KINDS}, got {self.kind!r}")
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"ProcessOptions.extractor must be one of {EXTRACTORS}, got {self.extractor!r}")
        if not ORG_RE.fullmatch(self.org):
            raise ValueError(
                f"ProcessOptions.org {self.org!r} is not an organisation id (e.g. fr.health.samu690)"
            )
        if self.summary == "default":
            object.__setattr__(self, "summary", SummaryOptions(kind=self.kind))
        if self.summary is not None and not isinstance(self.summary, SummaryOptions):
            raise ValueError(f"ProcessOptions.summary must be SummaryOptions or None, got {self.summary!r}")
        if self.front_end is None:
            object.__setattr__(self, "front_end", front_end_options(self.kind))

    @property
    def needs_samu_model(self) -> bool:
        from samu import MODEL_EXTRACTORS

        return self.kind == "call" and self.form and self.extractor in MODEL_EXTRACTORS

    @property
    def needs_summary_model(self) -> bool:
        return self.summary is not None and self.summary.method == "llm" and self.llm_model is None

    @property
    def needs_llm(self) -> bool:
        fills_form = self.kind == "call" and self.form and self.extractor == "llm"
        summary_llm = self.summary is not None and self.summary.method == "llm" and self.llm_model is not None
        return fills_form or summary_llm

    def settings(self) -> dict:
        """The options as plain data (what the batch manifest records). ``allow_download`` is left
        out (it changes where a model may come from, never the outputs: no rerun for it), and so
        is ``pyannote_token``, a secret that must not be written to disk."""
        from dataclasses import asdict

        def drop(d):
            if isinstance(d, dict):
                return {k: drop(v) for k, v in d.items() if k not in ("allow_download", "pyannote_token")}
            return d

        return drop(json.loads(json.dumps(asdict(self), default=str)))


def front_end_options(kind: str, **asr) -> PipelineOptions:
    """The front-end preset of ``kind``: calls get roles and at least two speakers."""
    from asr.diarize import DiarizeOptions
    from asr.recognize import AsrOptions

    return PipelineOptions(
        asr=AsrOptions(**asr),
        diarize=DiarizeOptions(min_speakers=2 if kind == "call" else 1),
        roles=kind == "call",
    )


@dataclass
class Models:
    """Everything :func:`process` runs, loaded once by :func:`load_models`.

    Attributes:
        front_end: the speech front end (``None`` when no audio is expected).
        llm: the LLM (:class:`core_training.generate.LocalLLM`) when an option needs one.
        samu_model: the SAMU model (:class:`samu.model.SamuModel`) for the model/hybrid extractors.
        summary_model: the summary model (:class:`summarize.model.SummaryModel`) for LLM summaries
            when no other LLM is named.
        lock: one call at a time per handle (a Gradio queue or a Ray actor holds one handle).
    """

    front_end: FrontEnd | None = None
    llm: Any = None
    samu_model: Any = None
    summary_model: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load_models(opts: ProcessOptions, *, audio: bool = True, hook: Hook | None = None) -> Models:
    """Load the models ``opts`` needs: the front end when ``audio`` inputs are expected, the LLM
    when the extractor or the summary needs one. Errors here concern every input, so callers
    report them once (exit 2) instead of once per file.

    Raises:
        ValueError: a named model does not exist; RuntimeError: it cannot be loaded.
    """
    fe = None
    if audio:
        from asr.pipeline import load_front_end

        fe = load_front_end(opts.front_end, hook=prefixed(hook, "asr"))
    llm = None
    if opts.needs_llm:
        from core_training.generate import LocalLLM

        call_hook(hook, "llm", 0, 1)
        try:
            llm = LocalLLM(opts.llm_model)
        except OSError as e:
            raise RuntimeError(f"cannot load the LLM {opts.llm_model or 'gemma3-270m'}: {e}") from e
        call_hook(hook, "llm", 1, 1)
    samu_model = None
    if opts.needs_samu_model:
        from samu.model import load_samu_model

        samu_model = load_samu_model(opts.samu_adapter, hook=prefixed(hook, "samu-model"))
    summary_model = None
    if opts.needs_summary_model:
        from summarize.model import load_summary_model

        try:
            summary_model = load_summary_model(hook=prefixed(hook, "summary-model"))
        except OSError as e:  # its base (the foundation) is not installed
            raise RuntimeError(f"cannot load the summary model: {e}") from e
    return Models(front_end=fe, llm=llm, samu_model=samu_model, summary_model=summary_model)


@dataclass(frozen=True)
class CallResult:
    """What :func:`process` made of one input.

    Attributes:
        source: the input's name.
        input_format: a French word on how the input was read.
        transcript: the (possibly pseudonymised) speaker-labelled transcript.
        form: the SAMU call form (calls with ``form``), else ``None``.
        rs_eda: the schema-validated Hub Santé RS-EDA message, else ``None``.
        summary: the summary, else ``None``.
        warnings: French messages for the user.
        note: the short call note read off the form's evidence (:class:`samu.note.CallNote`;
            calls with a form), else ``None``.
        seconds: wall time of the whole call.
    """

    source: str
    input_format: str
    transcript: Transcript
    form: Any = None
    rs_eda: dict | None = None
    summary: Any = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    kind: str = "call"
    note: Any = None

    def index_row(self) -> dict:
        """One line of the batch index (no transcript text)."""
        f = self.form
        return {
            "duration": round(
                self.transcript.duration or max((s.end for s in self.transcript.segments), default=0.0), 2
            ),
            "speakers": len(self.transcript.speakers),
            "motif": f.value("qualification.motif") if f else None,
            "priority": f.value("qualification.priority") if f else None,
            "decision": f.value("decision.type") if f else None,
        }


def read_input(
    path: str | os.PathLike, opts: ProcessOptions, models: Models | None = None, hook: Hook | None = None
) -> tuple[Transcript, str]:
    """Read (or transcribe) one input; returns the transcript and a French word on its format.

    Raises:
        ValueError: unsupported, unreadable or empty input (the message names the file).
    """
    from asr.audio import is_audio_path
    from summarize.fredsum import looks_like_fredsum, read_fredsum

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} : fichier introuvable")
    ext = path.suffix.lower()
    if is_audio_path(path):
        from asr.pipeline import transcribe

        fe = models.front_end if models is not None else None
        return transcribe(path, opts.front_end, hook=hook, models=fe), "audio"
    try:
        if ext == ".txt":
            if looks_like_fredsum(path):
                return read_fredsum(path), "FREDSum .txt (temps synthétiques)"
            return read_transcript(path), "texte « locuteur: texte » (sans temps)"
        if ext in (".json", ".srt", ".vtt"):
            return read_transcript(path), ext.lstrip(".")
    except (json.JSONDecodeError, KeyError, TypeError, IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} : transcription illisible ({type(e).__name__}: {e})") from e
    raise ValueError(
        f"{path} : format non pris en charge {ext!r} (transcription .json/.srt/.vtt/.txt ou audio)"
    )


def process(
    source: str | os.PathLike | Transcript,
    opts: ProcessOptions | None = None,
    models: Models | None = None,
    hook: Hook | None = None,
    keys: KeyStore | None = None,
) -> CallResult:
    """Turn one input into a transcript, a SAMU form (calls) and a summary.

    Args:
        source: a file path (audio or transcript) or a :class:`Transcript`.
        opts: what to make (default: a call, the default extractor ``hybrid-motif``, extractive summary).
        models: loaded models (:func:`load_models`); ``None`` loads what is needed for this
            call only (slow in a loop).
        hook: ``hook(step, completed, total)``; steps ``asr/transcribe``, ``asr/diarize``,
            ``pseudonymize``, ``form``, ``summary``.
        keys: where the pseudonymisation key lives (needed when ``opts.pseudonymize``).

    Raises:
        ValueError: bad input (the message names it) or an empty transcript.
        RuntimeError: a model or schema step failed.
    """
    opts = opts or ProcessOptions()
    if opts.pseudonymize and keys is None:
        raise ValueError("ProcessOptions.pseudonymize needs a key store (keys=...)")
    if models is None:
        from asr.audio import is_audio_path

        is_audio = not isinstance(source, Transcript) and is_audio_path(Path(source))
        models = load_models(opts, audio=is_audio)
    with models.lock:
        return _process(source, opts, models, hook, keys)


def _process(source, opts: ProcessOptions, models: Models, hook: Hook | None, keys) -> CallResult:
    t0 = time.perf_counter()
    warnings: list[str] = []
    if isinstance(source, Transcript):
        t, fmt, name = source, "transcription", source.source or "transcription"
    else:
        t, fmt = read_input(source, opts, models, hook=prefixed(hook, "asr"))
        name = Path(source).name
    if not t.segments and ((opts.kind == "call" and opts.form) or opts.summary is not None):
        raise ValueError(f"{name} : transcription vide (aucune parole) : ni fiche ni résumé possibles")
    if (lang_warning := language_warning(t)) is not None:
        warnings.append(lang_warning)
    if opts.kind == "call" and len(t.speakers) < 2:
        warnings.append("un seul locuteur détecté : rôles régulateur/appelant incertains")
    if opts.pseudonymize:
        call_hook(hook, "pseudonymize", 0, 1)
        t = keys.pseudonymize(t)
        call_hook(hook, "pseudonymize", 1, 1)
    form = msg = note = None
    if opts.kind == "call" and opts.form:
        from samu import extract_form
        from samu.export import to_rs_eda, validate_rs_eda

        call_hook(hook, "form", 0, 1)
        form_llm = models.samu_model if opts.needs_samu_model else models.llm
        form = extract_form(t, opts.extractor, llm=form_llm, hook=prefixed(hook, "form"))
        ref = name if isinstance(source, Transcript) else str(Path(source).resolve())
        msg = to_rs_eda(form, case_ref=ref, org=opts.org)
        errors = validate_rs_eda(msg)
        if errors:
            raise RuntimeError("message RS-EDA non conforme au schéma : " + " ; ".join(errors[:3]))
        warnings.extend(form.warnings)
        from samu.note import call_note

        note = call_note(form)
        call_hook(hook, "form", 1, 1)
    summary = None
    if opts.summary is not None:
        from summarize.core import summarize

        call_hook(hook, "summary", 0, 1)
        sopts = opts.summary
        llm = models.llm
        if sopts.method == "llm" and opts.needs_summary_model and models.summary_model is not None:
            llm = models.summary_model
        if sopts.method == "llm" and sopts.model is None:
            sopts = replace(sopts, model=opts.llm_model or getattr(llm, "name", None) or "gemma3-270m")
        summary = summarize(t, sopts, llm=llm, hook=prefixed(hook, "summary"))
        warnings.extend(summary.warnings)
        call_hook(hook, "summary", 1, 1)
    return CallResult(
        source=name,
        input_format=fmt,
        transcript=t,
        form=form,
        rs_eda=msg,
        summary=summary,
        warnings=tuple(warnings),
        seconds=round(time.perf_counter() - t0, 3),
        kind=opts.kind,
        note=note,
    )


def dumps(data: Any) -> str:
    """Strict, readable JSON (NaN/Infinity written as null) with a final newline."""
    return json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n"


def artifacts(
    result: CallResult, stem: str, formats: tuple[str, ...] = FORMATS, report: bool = True
) -> dict[str, str]:
    """Every output file of ``result``, in memory: ``{file name: text}``.

    Transcript formats (``<stem>.json`` ...), ``<stem>.form.json`` and ``<stem>.rs-eda.json``
    (when a form was made), ``<stem>.note.txt`` (the short call note, when the form has
    grounded values), ``<stem>.summary.txt`` / ``.summary.json`` (when a summary was made) and
    ``<stem>.report.html`` (when ``report``)."""
    t = result.transcript
    render: dict[str, Callable[[], str]] = {
        "json": lambda: json_dumps_strict(t.to_dict(), ensure_ascii=False, indent=1) + "\n",
        "rttm": lambda: rttm_text(t, file_id=stem),
        "srt": lambda: srt_text(t),
        "vtt": lambda: vtt_text(t),
        "txt": lambda: txt_text(t),
    }
    out: dict[str, str] = {}
    for fmt in formats:
        if fmt not in render:
            raise ValueError(f"unknown transcript format {fmt!r}; choose from {', '.join(FORMATS)}")
        out[f"{stem}.{fmt}"] = render[fmt]()
    if result.form is not None:
        out[f"{stem}.form.json"] = (
            json_dumps_strict(result.form.to_dict(), ensure_ascii=False, indent=2) + "\n"
        )
        out[f"{stem}.rs-eda.json"] = json_dumps_strict(result.rs_eda, ensure_ascii=False, indent=2) + "\n"
    if result.note is not None and result.note.lines:
        out[f"{stem}{NOTE_SUFFIX}"] = result.note.text + "\n"
    if result.summary is not None:
        data = result.summary.to_dict()
        data.update({"input": result.source, "input_format": result.input_format, "seconds": result.seconds})
        out[f"{stem}.summary.txt"] = result.summary.text + "\n"
        out[f"{stem}.summary.json"] = dumps(data)
    if report:
        out[f"{stem}{REPORT_SUFFIX}"] = html_report(result)
    return out


# --------------------------------------------------------------------------- HTML report

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _clock(s: float) -> str:
    s = max(0.0, float(s))
    return f"{int(s // 60):02d}:{s % 60:04.1f}"


def speaker_colours(t: Transcript) -> dict[str, str]:
    """A stable colour per speaker (order of first appearance)."""
    return {s: _COLOURS[i % len(_COLOURS)] for i, s in enumerate(t.speakers)}


def speaker_label(t: Transcript, speaker: str | None) -> str:
    """``SPEAKER_00 (regulateur)`` or just the speaker, for display."""
    if speaker is None:
        return "?"
    role = t.roles.get(speaker)
    return f"{speaker} ({role})" if role and role != speaker else speaker


def html_report(result: CallResult) -> str:
    """A printable, self-contained French HTML report: transcript with speakers, roles and times,
    the form with its evidence quotes, and the summary."""
    t = result.transcript
    esc = html.escape
    colours = speaker_colours(t)
    rows = []
    for i, s in enumerate(t.segments):
        c = colours.get(s.speaker, "#555")
        rows.append(
            f'<tr id="seg{i}"><td class="t">{_clock(s.start)}</td>'
            f'<td style="color:{c};font-weight:bold">{esc(speaker_label(t, s.speaker))}</td>'
            f"<td>{esc(s.text)}</td></tr>"
        )
    form_html = ""
    if result.form is not None:
        frows = []
        for name, fv in result.form.fields.items():
            quotes = " ".join(
                f"<q>{esc(e.quote)}</q>"
                + (f' <span class="t">({_clock(e.start)})</span>' if e.start is not None else "")
                for e in fv.evidence
            )
            frows.append(
                f"<tr><td>{esc(name)}</td><td><b>{esc(str(fv.value))}</b></td>"
                f"<td>{fv.confidence:.2f}</td><td>{quotes}</td></tr>"
            )
        form_html = (
            "<h2>Fiche SAMU</h2><table><tr><th>champ</th><th>valeur</th><th>confiance</th>"
            "<th>preuve</th></tr>" + "".join(frows) + "</table>"
        )
    note_html = ""
    if result.note is not None and result.note.lines:
        note_html = "<h2>Note d'appel</h2>" + "".join(f"<p>{esc(line)}</p>" for line in result.note.lines)
    summary_html = ""
    if result.summary is not None:
        summary_html = "<h2>Résumé</h2>" + "".join(
            f"<p>{esc(line)}</p>" for line in result.summary.text.splitlines() if line.strip()
        )
    warn = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Rapport — {esc(result.source)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}}
.t{{color:#777;font-family:monospace}} q{{background:#fff3b0}} @media print{{h2{{page-break-before:auto}}}}</style>
</head><body>
<h1>Rapport d'analyse — {esc(result.source)}</h1>
<p>Durée : {_clock(t.duration or 0)} · locuteurs : {len(t.speakers)} · entrée : {esc(result.input_format)}
· traitement : {result.seconds:.1f} s</p>
{"<ul>" + warn + "</ul>" if warn else ""}
{note_html}
{summary_html}
{form_html}
<h2>Transcription</h2>
<table><tr><th>temps</th><th>locuteur</th><th>texte</th></tr>{"".join(rows)}</table>
<p class="t">Aide à la régulation : cette fiche est une proposition à vérifier, elle ne décide rien.</p>
</body></html>
"""
