"""``llm4all demo``: a French Gradio app for a regulating doctor or a meeting secretary.

An audio file, a microphone recording, the bundled example call or a transcript file goes through
the one pipeline (:func:`apps.pipeline.process`) with models loaded once at start; the page shows
the speaker-coloured transcript (a turn clicked plays the audio from there), the SAMU form with
each value's confidence and evidence quote (a field chosen highlights its quote; every edit is
re-validated against the form's lists and the Hub Santé RS-EDA schema), the summary, and every
artifact to download. The same analysis is the named API endpoint ``analyser`` for
``gradio_client``.

This module stays thin: pure functions convert between widgets and library types
(:func:`form_rows`, :func:`transcript_html`, :func:`apply_edit`...), :func:`build_app` wires
them into a ``gr.Blocks``, :func:`main` parses the command line.

Safety: binds 127.0.0.1 unless told otherwise, optional login, upload size limit, one analysis at
a time, no analytics nor run history, no transcript text in logs above DEBUG, uploads and results
in a private temporary folder (0700) removed on exit.
"""

from __future__ import annotations

import argparse
import atexit
import html
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from apps.pipeline import (
    CallResult,
    MemoryKeyStore,
    Models,
    ProcessOptions,
    artifacts,
    load_models,
    process,
    speaker_colours,
)
from asr.audio import is_audio_path
from asr.transcript import Transcript, atomic_write_text, fold_accents
from samu import DEFAULT_EXTRACTOR
from samu.note import MANUAL  # FieldValue.source of a value the user set
from samu.schema import AGE_UNITS, FIELDS, CallForm, Evidence, FieldValue, code_labels, validate_value

# gradio is imported lazily (build_app), so this comes first: no telemetry, no run history
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["GRADIO_RUN_HISTORY"] = "False"

log = logging.getLogger(__name__)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "appel_exemple.ogg"
TRANSCRIPT_TYPES = (".json", ".srt", ".vtt", ".txt")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

MODE_CALL = "Appel SAMU (régulation)"
MODE_MEETING = "Réunion (compte rendu)"
MODES = {MODE_CALL: "call", MODE_MEETING: "meeting"}
API_MODES = {
    "appel": "call",
    "call": "call",
    "reunion": "meeting",
    "réunion": "meeting",
    "meeting": "meeting",
}

FIELD_LABELS = {
    "qualification.motif": "Motif de recours",
    "qualification.priority": "Priorité",
    "qualification.whats_happened": "Ce qui s'est passé",
    "qualification.risks": "Risques",
    "location.address_present": "Adresse donnée",
    "location.address": "Adresse",
    "location.city": "Commune",
    "location.access": "Accès",
    "location.freetext": "Lieu (précisions)",
    "caller.type": "Type d'appelant",
    "caller.communication": "Communication",
    "patient.age": "Âge du patient",
    "patient.sex": "Sexe",
    "patient.complaint": "Plainte",
    "patient.consciousness": "Conscience",
    "patient.breathing": "Respiration",
    "patient.bleeding": "Saignement",
    "patient.pain": "Douleur",
    "patient.history": "Antécédents",
    "patient.treatments": "Traitements",
    "decision.type": "Décision",
    "decision.resource": "Moyen engagé",
    "decision.orientation": "Orientation",
}
assert set(FIELD_LABELS) == set(FIELDS), "every form field needs a French label"
LABEL_FIELDS = {v: k for k, v in FIELD_LABELS.items()}
# Hub Santé code list (HubSante.<name>.csv) that labels each coded field
CODE_LISTS = {
    "qualification.motif": "motif",
    "qualification.priority": "priorite",
    "qualification.risks": "risque",
    "caller.type": "typeAppelant",
    "caller.communication": "communication",
    "patient.sex": "sexe",
    "decision.type": "typeDecision",
    "decision.resource": "typeRessource",
    "decision.orientation": "typeOrientation",
}
ROLE_LABELS = {"regulateur": "Régulateur", "appelant": "Appelant"}
FORM_HEADERS = ["Champ", "Valeur", "Confiance", "Preuve (citation de l'appel)"]
SEP = " — "

# ----------------------------------------------------------------------------- pure helpers


def clock(seconds: float | None) -> str:
    """``75.2`` -> ``"01:15"`` (minutes:seconds, for display)."""
    s = max(0.0, float(seconds or 0.0))
    return f"{int(s // 60):02d}:{int(s % 60):02d}"


def _esc(text: str) -> str:
    """HTML-escape, braces and dollars too (gr.HTML renders its value through a template)."""
    return html.escape(str(text)).replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;")


def md_text(text: str) -> str:
    """Plain text made safe to show inside Markdown (no tags, no emphasis, no links)."""
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", html.escape(str(text), quote=False))


def _labels(field: str) -> dict[str, str]:
    """``{code: label}`` of the field's Hub Santé list (empty when not coded or the data is absent)."""
    name = CODE_LISTS.get(field)
    if name is None:
        return {}
    try:
        return code_labels(name)
    except FileNotFoundError:
        return {}


def allowed_codes(field: str) -> tuple[str, ...]:
    """The values a coded field accepts: the form's enumeration, else its whole Hub Santé list."""
    kind, allowed = FIELDS[field]
    if kind == "bool":
        return ("oui", "non")
    if allowed is not None:
        return allowed
    return tuple(_labels(field))


def code_choice(field: str, code: str) -> str:
    """``"P1 — Prioritaire"``: a code with its Hub Santé label (just the code if it has none)."""
    label = _labels(field).get(code)
    return f"{code}{SEP}{label}" if label else code


def field_choices(field: str) -> list[tuple[str, str]]:
    """Dropdown choices ``(shown, value)`` of a coded, listed or yes/no field; ``[]`` for free text."""
    kind, _ = FIELDS[field]
    if kind in ("text", "age"):
        return []
    return [(code_choice(field, c), c) for c in allowed_codes(field)]


def display_value(field: str, value: Any) -> str:
    """A form value as the user reads it (codes with their label, booleans as oui/non)."""
    if value is None:
        return "—"
    kind, _ = FIELDS[field]
    if kind == "bool":
        return "oui" if value else "non"
    if kind == "codes":
        return ", ".join(code_choice(field, c) for c in value) or "—"
    if kind == "code":
        return code_choice(field, value)
    return str(value)


def evidence_text(fv: FieldValue | None) -> str:
    """The quotes behind a value, with their times: ``« est tombé » (00:05)``."""
    if fv is None:
        return ""
    parts = []
    for e in fv.evidence:
        when = f" ({clock(e.start)})" if e.start is not None else ""
        parts.append(f"« {e.quote} »{when}")
    return " ; ".join(parts)


def confidence_text(fv: FieldValue | None) -> str:
    if fv is None:
        return ""
    if fv.source == MANUAL:
        return "saisi par vous"
    return f"{round(100 * fv.confidence)} %"


def form_rows(form: CallForm | None) -> list[list[str]]:
    """One row per form field, in the form's order: French name, value, confidence, evidence.
    Fields the call did not fill show ``—`` so the doctor sees what is missing."""
    rows = []
    for name in FIELDS:
        fv = form.fields.get(name) if form is not None else None
        rows.append(
            [
                FIELD_LABELS[name],
                display_value(name, fv.value) if fv is not None else "—",
                confidence_text(fv),
                evidence_text(fv),
            ]
        )
    return rows


def findings_markdown(form: CallForm | None) -> str:
    """Symptoms and signs of the call, negations apart (``pas de fièvre`` is a sign stated absent)."""
    if form is None or not form.findings:
        return ""
    present = [f.name + (" (incertain)" if f.hedged else "") for f in form.findings if not f.negated]
    absent = [f.name for f in form.findings if f.negated]
    lines = []
    if present:
        lines.append("**Signes relevés :** " + md_text(", ".join(dict.fromkeys(present))))
    if absent:
        lines.append("**Signes absents :** " + md_text(", ".join(dict.fromkeys(absent))))
    return "  \n".join(lines)


def speaker_name(t: Transcript, speaker: str | None) -> str:
    """``Régulateur (SPEAKER_00)``, ``Appelant``, ``SPEAKER_01``: the label shown for a speaker."""
    if speaker is None:
        return "?"
    role = t.roles.get(speaker)
    if role in ROLE_LABELS:
        shown = ROLE_LABELS[role]
        return shown if speaker == role else f"{shown} ({speaker})"
    return ROLE_LABELS.get(speaker, speaker)


def _spans(text: str, quotes: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of ``quotes`` in ``text`` (case- and accent-insensitive), merged."""
    folded = fold_accents(text, keep_offsets=True)
    found = []
    for q in quotes:
        fq = fold_accents(q.strip(), keep_offsets=True)
        if not fq:
            continue
        i = folded.find(fq)
        while i >= 0:
            found.append((i, i + len(fq)))
            i = folded.find(fq, i + len(fq))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(found):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def transcript_html(transcript: Transcript | None, highlight: Sequence[Evidence] | None = None) -> str:
    """The transcript as HTML: a legend, then one turn per segment with its time, its speaker
    (coloured, role in French) and its text. A turn carries ``data-start`` (seconds) so a click
    can play the audio from there. ``highlight``: evidence whose segments get the class
    ``l4a-hl`` and whose quotes are wrapped in ``<mark>``."""
    if transcript is None or not transcript.segments:
        return '<div class="l4a-empty">La transcription apparaîtra ici après l\'analyse.</div>'
    colours = speaker_colours(transcript)
    quotes: dict[int, list[str]] = {}
    for e in highlight or ():
        quotes.setdefault(e.segment, []).append(e.quote)
    legend = "".join(
        f'<span class="l4a-who" style="--c:{colours[s]}">{_esc(speaker_name(transcript, s))}</span>'
        for s in transcript.speakers
    )
    turns = []
    for i, seg in enumerate(transcript.segments):
        colour = colours.get(seg.speaker, "#555")
        text = seg.text
        body, last = [], 0
        for s, e in _spans(text, quotes.get(i, ())):
            body.append(_esc(text[last:s]) + f'<mark class="l4a-quote">{_esc(text[s:e])}</mark>')
            last = e
        body.append(_esc(text[last:]))
        cls = "l4a-turn l4a-hl" if i in quotes else "l4a-turn"
        turns.append(
            f'<div class="{cls}" id="l4a-seg{i}" data-seg="{i}" data-start="{seg.start:.2f}" '
            f'style="--c:{colour}" role="button" tabindex="0" title="Écouter à partir de {clock(seg.start)}">'
            f'<span class="l4a-time">{clock(seg.start)}</span> '
            f'<span class="l4a-spk">{_esc(speaker_name(transcript, seg.speaker))}</span>'
            f'<div class="l4a-text">{"".join(body)}</div></div>'
        )
    return (
        f'<div class="l4a-legend">{legend}<span class="l4a-hint">Cliquer sur un tour de parole pour '
        f"l'écouter.</span></div>"
        f'<div class="l4a-turns">{"".join(turns)}</div>'
    )


def _age(text: str) -> str:
    m = re.fullmatch(r"(\d{1,3})\s*(ans?|mois|semaines?|jours?)", text.strip().lower())
    if not m:
        raise ValueError(
            f"« {text} » : écrire l'âge en chiffres suivi de l'unité ({', '.join(AGE_UNITS)}), "
            "par exemple « 16 ans » ou « 3 mois »."
        )
    unit = {"an": "ans", "semaine": "semaines", "jour": "jours"}.get(m.group(2), m.group(2))
    return f"{int(m.group(1))} {unit}"


def _code(field: str, raw: str) -> str:
    code = str(raw).split(SEP)[0].strip()
    allowed = allowed_codes(field)
    for c in allowed:
        if c.casefold() == code.casefold():
            return c
    shown = ", ".join(allowed) if len(allowed) <= 12 else f"{', '.join(allowed[:6])}…"
    raise ValueError(f"« {code} » ne fait pas partie de la liste ({shown}).")


def parse_value(field: str, raw: Any) -> Any:
    """A widget value (text, a dropdown choice, a list of choices) as the form's value for ``field``.

    Returns ``None`` for an empty value (the field is cleared).

    Raises:
        ValueError: the value does not fit the field (French message, without the field name).
    """
    kind, _ = FIELDS[field]
    if (
        raw is None
        or (isinstance(raw, str) and not raw.strip())
        or (isinstance(raw, (list, tuple)) and not raw)
    ):
        return None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).split(SEP)[0].strip().lower()
        if word in ("oui", "vrai", "true"):
            return True
        if word in ("non", "faux", "false"):
            return False
        raise ValueError(f"« {raw} » : répondre oui ou non.")
    if kind == "codes":
        items = raw if isinstance(raw, (list, tuple)) else re.split(r"[,;]", str(raw))
        return tuple(dict.fromkeys(_code(field, x) for x in items if str(x).strip()))
    if kind == "code":
        return _code(field, raw)
    if kind == "age":
        return _age(str(raw))
    text = " ".join(str(raw).split())
    if len(text) > 300:
        raise ValueError(f"texte trop long ({len(text)} caractères, 300 au plus).")
    return text


def apply_edit(form: CallForm, field: str, raw: Any) -> tuple[CallForm, str | None]:
    """Set ``field`` of ``form`` to the widget value ``raw`` (empty clears the field).

    The new value is checked against the field's list or shape (:func:`samu.schema.validate_value`)
    and the whole form against the Hub Santé RS-EDA schema (:func:`samu.export.to_rs_eda` then
    :func:`samu.export.validate_rs_eda`). An edited value keeps the evidence of the value it
    replaces, with confidence 1 and source ``manuel``.

    Returns:
        ``(new form, None)``, or ``(form unchanged, French error message)``.
    """
    from samu.export import to_rs_eda, validate_rs_eda

    label = FIELD_LABELS.get(field, field)
    if field not in FIELDS:
        return form, f"Champ inconnu : « {field} »."
    try:
        value = parse_value(field, raw)
        fields = dict(form.fields)
        if value is None:
            fields.pop(field, None)
        else:
            validate_value(field, value)
            old = form.fields.get(field)
            fields[field] = FieldValue(value, old.evidence if old else (), 1.0, MANUAL)
        new = replace(form, fields={k: fields[k] for k in FIELDS if k in fields})
    except ValueError as e:
        return form, f"{label} : {e}"
    errors = validate_rs_eda(to_rs_eda(new, case_ref="validation"))
    if errors:
        return form, (
            f"{label} : le message Hub Santé RS-EDA ne serait plus conforme à son schéma ("
            + " ; ".join(errors[:3])
            + ")."
        )
    return new, None


def with_form(result: CallResult, form: CallForm, case_ref: str, org: str) -> CallResult:
    """``result`` with an edited form and its RS-EDA message rebuilt (same ids and creation time)."""
    from samu.export import to_rs_eda, validate_rs_eda

    creation = (result.rs_eda or {}).get("creation")
    msg = to_rs_eda(form, case_ref=case_ref, org=org, creation=creation)
    errors = validate_rs_eda(msg)
    if errors:
        raise ValueError("message RS-EDA non conforme : " + " ; ".join(errors[:3]))
    from samu.note import call_note

    return replace(result, form=form, rs_eda=msg, note=call_note(form))


# pipeline steps -> (start, end) of the overall bar and the French label
_STEPS = (
    ("asr/transcribe", 0.02, 0.72, "Transcription de l'audio"),
    ("asr/diarize", 0.72, 0.85, "Séparation des locuteurs"),
    ("pseudonymize", 0.85, 0.87, "Pseudonymisation"),
    ("form", 0.87, 0.95, "Remplissage de la fiche SAMU"),
    ("summary", 0.95, 1.0, "Résumé"),
)


def progress_step(step: str, completed: float, total: float) -> tuple[float, str]:
    """A pipeline hook call as ``(fraction of the whole analysis, French label)``."""
    frac = min(1.0, max(0.0, completed / total)) if total else 0.0
    for prefix, lo, hi, label in _STEPS:
        if step == prefix or step.startswith(prefix + "/"):
            if prefix == "asr/transcribe" and total:
                label = f"{label} ({clock(completed)} / {clock(total)})"
            return lo + (hi - lo) * frac, label
    return 0.0, "Analyse en cours"


def status_markdown(result: CallResult, pseudonymized: bool = False, audio_only_player: bool = False) -> str:
    """A short French account of the analysis: duration, speakers, timing, warnings."""
    t = result.transcript
    dur = t.duration or max((s.end for s in t.segments), default=0.0)
    who = ", ".join(speaker_name(t, s) for s in t.speakers) or "aucun"
    lines = [
        f"**Analyse terminée** en {result.seconds:.1f} s · enregistrement de {clock(dur)} · "
        f"{len(t.speakers)} locuteur(s) : {md_text(who)} · entrée : {md_text(result.input_format)}"
    ]
    if audio_only_player:
        lines.append("La transcription fournie a été analysée ; l'audio sert de lecteur.")
    if pseudonymized:
        lines.append(
            "Pseudonymisé : noms, téléphones, adresses, dates de naissance remplacés ; "
            "la clé reste en mémoire de cette session et n'est jamais écrite."
        )
    lines += [f"**Attention :** {md_text(w)}" for w in result.warnings]
    return "  \n".join(lines)


def write_artifacts(result: CallResult, stem: str, folder: str | os.PathLike) -> list[str]:
    """Write every artifact of ``result`` (:func:`apps.pipeline.artifacts`) into ``folder``;
    returns their paths (transcript formats, form, RS-EDA, summary, HTML report)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in artifacts(result, stem).items():
        atomic_write_text(folder / name, text)  # an edit rewrites them while one may be downloading
        paths.append(str(folder / name))
    return paths


def neutral_names(result: CallResult, stem: str) -> CallResult:
    """``result`` with every trace of the input's file name replaced by ``stem`` (a pseudonymised
    export must not carry a file named after the patient)."""
    t = replace(result.transcript, source=stem)
    form = replace(result.form, source=stem) if result.form is not None else None
    summary = result.summary
    if summary is not None and hasattr(summary, "source"):
        summary = replace(summary, source=stem)
    return replace(result, source=stem, transcript=t, form=form, summary=summary)


def safe_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.UNICODE).strip("._")
    return stem[:80] or "appel"


def private_workdir() -> Path:
    """A private temporary folder (0700) for uploads and results, named to Gradio as its cache
    (``GRADIO_TEMP_DIR``) and removed at exit."""
    d = Path(tempfile.mkdtemp(prefix="llm4all-demo-"))
    os.chmod(d, 0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(d)
    atexit.register(shutil.rmtree, d, True)
    return d


# ----------------------------------------------------------------------------- the app


@dataclass
class Session:
    """One browser session's analysis: the result, where its files are, what its ids hash."""

    result: CallResult
    folder: str
    stem: str
    case_ref: str
    files: list[str]


def _drop_session(session: Session | None) -> None:
    if isinstance(session, Session):
        shutil.rmtree(session.folder, ignore_errors=True)


JS_ON_LOAD = """
const play = (turn) => {
  element.querySelectorAll('.l4a-playing').forEach((e) => e.classList.remove('l4a-playing'));
  turn.classList.add('l4a-playing');
  const audio = document.querySelector('#l4a-lecteur audio');
  if (!audio) return;
  audio.currentTime = parseFloat(turn.dataset.start) || 0;
  const p = audio.play();
  if (p && p.catch) p.catch(() => {});
};
element.addEventListener('click', (ev) => {
  const turn = ev.target.closest('.l4a-turn');
  if (turn) play(turn);
});
element.addEventListener('keydown', (ev) => {
  const turn = ev.target.closest('.l4a-turn');
  if (turn && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); play(turn); }
});
// a highlighted quote is scrolled into view inside the transcript box (the page does not jump)
watch('value', () => {
  const hl = element.querySelector('.l4a-hl');
  const box = element.querySelector('.l4a-turns');
  if (!hl || !box) return;
  const dy = hl.getBoundingClientRect().top - box.getBoundingClientRect().top;
  if (dy < 0 || dy > box.clientHeight - hl.offsetHeight) box.scrollBy({top: dy - 40, behavior: 'smooth'});
});
"""

TRANSCRIPT_CSS = """
.l4a-legend { display: flex; flex-wrap: wrap; gap: .4em 1.2em; align-items: center; margin-bottom: .4em; }
.l4a-who { font-weight: 600; color: var(--c); }
.l4a-who::before { content: "● "; }
.l4a-hint { color: var(--body-text-color-subdued); font-size: .85em; margin-left: auto; }
.l4a-turns { max-height: 36em; overflow-y: auto; padding-right: .3em; }
.l4a-turn { border-left: 5px solid var(--c); padding: .25em .6em; margin: .3em 0; cursor: pointer;
  border-radius: 4px; }
.l4a-turn:hover, .l4a-turn:focus { background: rgba(127, 127, 127, .12); outline: none; }
.l4a-turn.l4a-playing { box-shadow: inset 0 0 0 2px var(--c); }
.l4a-turn.l4a-hl { background: rgba(255, 200, 0, .18); }
.l4a-time { font-family: monospace; color: var(--body-text-color-subdued); font-size: .85em; }
.l4a-spk { font-weight: 600; color: var(--c); font-size: .9em; }
.l4a-text { margin-top: .1em; line-height: 1.45; }
mark.l4a-quote { background: #ffd54a; color: #000; padding: 0 .1em; border-radius: 2px; }
.l4a-empty { color: var(--body-text-color-subdued); padding: 1em 0; }
"""


# page-wide: the form table in the text font (Gradio tables default to monospace)
PAGE_CSS = "#l4a-form { --font-mono: var(--font); }"


def build_app(
    models: Models,
    call_opts: ProcessOptions | None = None,
    meeting_opts: ProcessOptions | None = None,
    workdir: str | os.PathLike | None = None,
) -> Any:
    """The Gradio app (a ``gr.Blocks``) around loaded ``models``.

    Args:
        models: loaded once (:func:`apps.pipeline.load_models`), shared by every session; its lock
            makes analyses run one at a time.
        call_opts / meeting_opts: what an analysis makes in each mode (they should differ only in
            ``kind``, since both run on ``models``).
        workdir: private folder for uploads and results (default: a new :func:`private_workdir`);
            set as Gradio's cache before gradio is imported.

    Returns:
        the ``gr.Blocks``; launch it with :func:`launch`.
    """
    if workdir is None:
        workdir = private_workdir()
    workdir = Path(workdir)
    os.environ["GRADIO_TEMP_DIR"] = str(workdir)
    import gradio as gr

    call_opts = call_opts or demo_options("call")
    meeting_opts = meeting_opts or demo_options("meeting")
    options = {"call": call_opts, "meeting": meeting_opts}

    def run(
        audio: str | None, transcript_file: str | None, kind: str, pseudonymize: bool, progress
    ) -> tuple[CallResult, str, str]:
        """Analyse one input; returns the result, its file stem and the id reference."""
        source = transcript_file or audio
        if not source:
            raise gr.Error(
                "Choisissez un enregistrement (fichier ou micro), l'exemple fourni ou une transcription."
            )
        if not transcript_file and not is_audio_path(source):
            ext = Path(source).suffix.lower() or "sans extension"
            raise gr.Error(f"Format audio non pris en charge : {ext} (wav, mp3, m4a, ogg, flac, webm...).")
        opts = options[kind]
        keys = None
        if pseudonymize:
            opts = replace(opts, pseudonymize=True)
            from samu.pseudonymize import PseudoOptions

            # explicit options: MemoryKeyStore() alone passes options=None to pseudonymize()
            keys = MemoryKeyStore(PseudoOptions())

        def hook(step: str, completed: float, total: float) -> None:
            frac, label = progress_step(step, completed, total)
            progress(frac, desc=label)

        progress(0.0, desc="Lecture de la transcription…" if transcript_file else "Transcription de l'audio…")
        t0 = time.perf_counter()
        try:
            result = process(source, opts, models, hook=hook, keys=keys)
        except ValueError as e:
            raise gr.Error(str(e).replace(str(source), Path(source).name)) from e
        except Exception as e:  # a model or schema failure: say so without leaking content
            log.error("analyse impossible (%s)", type(e).__name__)
            log.debug("analyse impossible", exc_info=True)
            raise gr.Error(f"L'analyse a échoué ({type(e).__name__}). Voir les journaux du serveur.") from e
        log.info("analyse (%s) terminée en %.1f s", kind, time.perf_counter() - t0)
        if pseudonymize:
            stem = "appel_pseudonymise" if kind == "call" else "reunion_pseudonymisee"
            result = neutral_names(result, stem)
        else:
            stem = safe_stem(Path(source).name)
        return result, stem, str(Path(source).resolve())

    def analyse(audio, transcript_file, mode, pseudonymize, old, progress=gr.Progress()):  # noqa: B008
        kind = MODES.get(mode, "call")
        result, stem, ref = run(audio, transcript_file, kind, bool(pseudonymize), progress)
        _drop_session(old)
        folder = tempfile.mkdtemp(prefix="resultats-", dir=workdir)
        files = write_artifacts(result, stem, folder)
        session = Session(result, folder, stem, ref, files)
        has_form = result.form is not None
        return (
            session,
            audio,
            transcript_html(result.transcript),
            form_rows(result.form),
            findings_markdown(result.form),
            gr.update(visible=has_form),
            gr.update(value=None),
            "",
            summary_text(result),
            files,
            status_markdown(result, bool(pseudonymize), bool(transcript_file and audio)),
        )

    def api_analyse(fichier, mode, pseudonymiser, progress=gr.Progress()):  # noqa: B008
        kind = API_MODES.get(str(mode or "appel").strip().lower())
        if kind is None:
            raise gr.Error(f"mode inconnu « {mode} » : appel ou reunion.")
        is_transcript = bool(fichier) and Path(fichier).suffix.lower() in TRANSCRIPT_TYPES
        result, _, _ = run(
            None if is_transcript else fichier,
            fichier if is_transcript else None,
            kind,
            bool(pseudonymiser),
            progress,
        )
        return (
            result.transcript.to_dict(),
            result.form.to_dict() if result.form is not None else None,
            summary_text(result),
        )

    def editor(session: Session | None, field: str | None):
        """Highlight the field's evidence and load its value into the matching editor widget."""
        t = session.result.transcript if session else None
        form = session.result.form if session else None
        fv = form.fields.get(field) if (form is not None and field) else None
        page = transcript_html(t, fv.evidence if fv else None)
        kind = FIELDS[field][0] if field in FIELDS else None
        value = fv.value if fv else None
        single = kind in ("code", "bool")
        if kind == "bool" and value is not None:
            value = "oui" if value else "non"
        where = ""
        if field in FIELDS:
            where = (
                f"Citation surlignée dans la transcription : {md_text(evidence_text(fv))}"
                if fv and fv.evidence
                else "Aucune citation pour ce champ."
            )
        return (
            page,
            gr.update(
                choices=field_choices(field) if single else [],
                value=value if single else None,
                visible=single,
            ),
            gr.update(
                choices=field_choices(field) if kind == "codes" else [],
                value=list(value or ()) if kind == "codes" else [],
                visible=kind == "codes",
            ),
            gr.update(
                value=str(value or "") if kind in ("text", "age") else "", visible=kind in ("text", "age")
            ),
            where,
            "",
        )

    def select_row(evt):
        """The form field of the row the user chose (by its French label, so sorting is harmless)."""
        row = evt.row_value if evt.row_value else None
        if row:
            return LABEL_FIELDS.get(str(row[0]))
        names = list(FIELDS)
        i = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return names[i] if isinstance(i, int) and 0 <= i < len(names) else None

    # a real class, not the string that `from __future__ import annotations` leaves: gradio reads
    # this hint to pass the selection
    select_row.__annotations__["evt"] = gr.SelectData

    def edit(session: Session | None, field, code_value, codes_value, text_value):
        if session is None or session.result.form is None:
            raise gr.Error("Analysez d'abord un appel.")
        if field not in FIELDS:
            raise gr.Error("Choisissez le champ à modifier.")
        kind = FIELDS[field][0]
        raw = codes_value if kind == "codes" else text_value if kind in ("text", "age") else code_value
        form, error = apply_edit(session.result.form, field, raw)
        if error:
            return (
                session,
                gr.update(),
                gr.update(),
                gr.update(),
                f"**Modification refusée** — {md_text(error)}",
            )
        try:
            result = with_form(session.result, form, session.case_ref, options["call"].org)
        except ValueError as e:
            return (
                session,
                gr.update(),
                gr.update(),
                gr.update(),
                f"**Modification refusée** — {FIELD_LABELS[field]} : {md_text(str(e))}",
            )
        session.result = result
        session.files = write_artifacts(result, session.stem, session.folder)
        fv = form.fields.get(field)
        shown = display_value(field, fv.value) if fv else "effacé"
        msg = (
            f"**Modification enregistrée** — {FIELD_LABELS[field]} : {md_text(shown)}. Fiche "
            "revalidée ; message RS-EDA conforme au schéma Hub Santé ; fichiers mis à jour."
        )
        return (
            session,
            form_rows(form),
            transcript_html(result.transcript, fv.evidence if fv else None),
            session.files,
            msg,
        )

    with gr.Blocks(
        title="llm4all — aide à la régulation", analytics_enabled=False, delete_cache=(1800, 4 * 3600)
    ) as app:
        session = gr.State(None, delete_callback=_drop_session)
        gr.Markdown(
            "# llm4all — transcription, fiche SAMU et résumé\n"
            "Aide à la régulation et aux comptes rendus : la fiche est une **proposition à vérifier**, "
            "elle ne décide rien. Les enregistrements restent sur ce serveur et sont effacés à son arrêt."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                mode = gr.Radio(list(MODES), value=MODE_CALL, label="Type d'enregistrement")
                pseudo = gr.Checkbox(
                    False,
                    label="Pseudonymiser (noms, téléphones, adresses) l'affichage et les exports",
                    elem_id="l4a-pseudo",
                )
                go = gr.Button("Analyser", variant="primary", elem_id="l4a-analyser")
                status = gr.Markdown(elem_id="l4a-status")
            with gr.Column(scale=1, min_width=280):
                audio_in = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label="Enregistrement (fichier audio ou micro)",
                    buttons=["download"],
                    elem_id="l4a-audio",
                )
                if EXAMPLE.is_file():
                    gr.Examples(
                        [[str(EXAMPLE)]],
                        inputs=[audio_in],
                        label="Exemple fourni : appel simulé (cliquer pour le charger)",
                        cache_examples=False,
                    )
            with gr.Column(scale=1, min_width=280):
                transcript_in = gr.File(
                    label="… ou une transcription (.json, .srt, .vtt, .txt)",
                    file_types=list(TRANSCRIPT_TYPES),
                    height=190,
                    elem_id="l4a-transcript-file",
                )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=380):
                player = gr.Audio(
                    label="Lecteur",
                    interactive=False,
                    buttons=["download"],
                    elem_id="l4a-lecteur",
                    waveform_options=gr.WaveformOptions(show_recording_waveform=False),
                )
                transcript_view = gr.HTML(
                    transcript_html(None),
                    label="Transcription",
                    elem_id="l4a-transcription",
                    css_template=TRANSCRIPT_CSS,
                    js_on_load=JS_ON_LOAD,
                )
            with gr.Column(scale=1, min_width=380, elem_id="l4a-fiche") as form_box:
                gr.Markdown(
                    "### Fiche SAMU\nCliquer sur un champ : sa preuve est surlignée et il peut être modifié."
                )
                table = gr.Dataframe(
                    form_rows(None),
                    headers=FORM_HEADERS,
                    interactive=False,
                    wrap=True,
                    column_widths=["19%", "30%", "16%", "35%"],
                    max_height=520,
                    elem_id="l4a-form",
                )
                findings = gr.Markdown(elem_id="l4a-signes")
                with gr.Row(equal_height=False):
                    field = gr.Dropdown(
                        [(FIELD_LABELS[k], k) for k in FIELDS],
                        value=None,
                        label="Champ à modifier",
                        elem_id="l4a-champ",
                        scale=1,
                    )
                    code_value = gr.Dropdown(
                        [],
                        value=None,
                        label="Nouvelle valeur",
                        elem_id="l4a-valeur-code",
                        visible=False,
                        scale=2,
                    )
                    codes_value = gr.Dropdown(
                        [],
                        value=[],
                        multiselect=True,
                        label="Nouvelles valeurs",
                        elem_id="l4a-valeur-codes",
                        visible=False,
                        scale=2,
                    )
                    text_value = gr.Textbox(
                        label="Nouvelle valeur (vide = effacer)",
                        elem_id="l4a-valeur-texte",
                        visible=False,
                        scale=2,
                    )
                apply = gr.Button("Valider la modification", elem_id="l4a-valider")
                where = gr.Markdown(elem_id="l4a-preuve")
                edit_status = gr.Markdown(elem_id="l4a-edit-status")
        with gr.Row(equal_height=False):
            summary = gr.Textbox(
                label="Résumé", lines=7, interactive=False, buttons=["copy"], elem_id="l4a-resume", scale=1
            )
            files = gr.File(
                label="Téléchargements (transcriptions, fiche, RS-EDA, résumé, rapport HTML)",
                file_count="multiple",
                interactive=False,
                elem_id="l4a-fichiers",
                scale=1,
            )

        # the API twin of the button: a file in; transcript, form and summary out
        with gr.Row(visible=False):
            api_file = gr.File(label="fichier")
            api_mode = gr.Textbox("appel", label="mode")
            api_pseudo = gr.Checkbox(False, label="pseudonymiser")
            api_transcript = gr.JSON(label="transcription")
            api_form = gr.JSON(label="fiche")
            api_summary = gr.Textbox(label="résumé")
            api_go = gr.Button("analyser")

        go.click(
            analyse,
            [audio_in, transcript_in, mode, pseudo, session],
            [
                session,
                player,
                transcript_view,
                table,
                findings,
                form_box,
                field,
                edit_status,
                summary,
                files,
                status,
            ],
            api_visibility="private",
            concurrency_id="analyse",
            show_progress_on=[transcript_view, status],
        )
        api_go.click(
            api_analyse,
            [api_file, api_mode, api_pseudo],
            [api_transcript, api_form, api_summary],
            api_name="analyser",
            api_description="Analyse un enregistrement (audio) ou une transcription (.json, .srt, .vtt, "
            ".txt) ; mode « appel » ou « reunion ». Renvoie la transcription (JSON), la fiche SAMU "
            "(JSON, appels) et le résumé.",
            concurrency_id="analyse",
        )
        table.select(select_row, None, [field], api_visibility="private")
        field.change(
            editor,
            [session, field],
            [transcript_view, code_value, codes_value, text_value, where, edit_status],
            api_visibility="private",
        )
        apply.click(
            edit,
            [session, field, code_value, codes_value, text_value],
            [session, table, transcript_view, files, edit_status],
            api_visibility="private",
        )
        text_value.submit(
            edit,
            [session, field, code_value, codes_value, text_value],
            [session, table, transcript_view, files, edit_status],
            api_visibility="private",
        )
    app.queue(default_concurrency_limit=1)
    app.l4a_workdir = str(workdir)  # for launch(): the only folder it serves files from
    return app


def summary_text(result) -> str:
    """What the Résumé box shows: the call note (form values with evidence), then the summary."""
    parts = []
    if result.note is not None and result.note.lines:
        parts.append(result.note.text)
    if result.summary is not None:
        parts.append(result.summary.text)
    return "\n\n".join(parts)


def demo_options(kind: str, extractor: str = DEFAULT_EXTRACTOR, llm: str | None = None) -> ProcessOptions:
    """The app's options for ``kind`` (``call``/``meeting``): the same presets as ``llm4all
    process`` (so a call gives the same transcript and form in both), differing only in ``kind``."""
    return ProcessOptions(kind=kind, extractor=extractor, llm_model=llm)


def launch(
    app: Any,
    host: str = "127.0.0.1",
    port: int | None = None,
    auth: tuple[str, str] | None = None,
    max_upload_mb: int = 200,
    quiet: bool = False,
    block: bool = True,
):
    """Launch ``app`` with the project's safety settings (no share link, no analytics, no run
    history, no monitoring, no MCP server, upload limit, files served only from the private
    folder). ``block=False`` returns at once (tests). Returns ``(fastapi app, local url, share url)``."""
    return app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="Connexion requise : identifiants fournis par l'administrateur de l'application.",
        share=False,
        max_file_size=f"{max_upload_mb}mb",
        allowed_paths=[getattr(app, "l4a_workdir", os.environ.get("GRADIO_TEMP_DIR", ""))],
        quiet=quiet,
        prevent_thread_lock=not block,
        show_error=True,
        footer_links=["api", "settings"],
        css=PAGE_CSS,
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
        pwa=False,
    )


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    from samu import DEFAULT_EXTRACTOR, EXTRACTORS

    p = argparse.ArgumentParser(
        prog="llm4all demo",
        description="Application web (Gradio) : enregistrement d'appel ou de réunion -> transcription avec "
        "locuteurs, fiche SAMU modifiable (message Hub Santé RS-EDA), résumé et téléchargements.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="adresse d'écoute (défaut : 127.0.0.1, ce poste seulement ; 0.0.0.0 = tout le réseau)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (défaut : 7860)")
    p.add_argument("--auth", default=None, metavar="UTILISATEUR:MOT_DE_PASSE", help="exiger une connexion")
    p.add_argument(
        "--max-upload-mb",
        type=int,
        default=200,
        help="taille maximale d'un fichier envoyé, en Mo (défaut : 200)",
    )
    p.add_argument(
        "--extractor",
        choices=EXTRACTORS,
        default=DEFAULT_EXTRACTOR,
        help=f"extracteur de la fiche SAMU (défaut : {DEFAULT_EXTRACTOR} ; rules : sans modèle)",
    )
    p.add_argument(
        "--llm",
        default=None,
        help="modèle de langue pour --extractor llm (gemma3-270m par défaut, ou un dossier)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="n'afficher que les avertissements et les erreurs"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """``llm4all demo``: load the models once, then serve the app until interrupted."""
    a = build_parser().parse_args(argv)
    auth = None
    if a.auth is not None:
        user, sep, password = a.auth.partition(":")
        if not sep or not user or not password:
            print("erreur : --auth attend « utilisateur:mot_de_passe »", file=sys.stderr)
            return 2
        auth = (user, password)
    if not 1 <= a.port <= 65535:
        print(f"erreur : --port doit être entre 1 et 65535, reçu {a.port}", file=sys.stderr)
        return 2
    if a.max_upload_mb < 1:
        print(f"erreur : --max-upload-mb doit être >= 1, reçu {a.max_upload_mb}", file=sys.stderr)
        return 2
    if a.host not in LOCAL_HOSTS:
        print(
            f"attention : l'application écoute sur {a.host} et sera joignable depuis le réseau. Les "
            "enregistrements d'appels sont des données de santé : "
            + (
                "réseau de confiance, HTTPS (proxy) et --auth conseillés."
                if auth is None
                else "réseau de confiance et HTTPS (proxy) conseillés (sinon le mot de passe circule en clair)."
            ),
            file=sys.stderr,
        )
    workdir = private_workdir()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` cleans up
    try:
        call_opts = demo_options("call", a.extractor, a.llm)
        meeting_opts = demo_options("meeting", a.extractor, a.llm)

        def say(message: str) -> None:
            if not a.quiet:
                print(message, file=sys.stderr, flush=True)

        say("Chargement des modèles…")
        t0 = time.perf_counter()
        try:
            models = load_models(call_opts, audio=True)
        except (ValueError, RuntimeError) as e:
            print(f"erreur : {e}", file=sys.stderr)
            return 2
        say(f"Modèles chargés en {time.perf_counter() - t0:.1f} s.")
        app = build_app(models, call_opts, meeting_opts, workdir=workdir)
        shown = "127.0.0.1" if a.host in ("0.0.0.0", "::") else a.host
        say(f"Application : http://{shown}:{a.port}  (Ctrl-C pour arrêter)")
        try:
            # Gradio's own banner stays quiet (it suggests a public share link)
            launch(app, a.host, a.port, auth, a.max_upload_mb, quiet=True)
        except OSError as e:
            print(f"erreur : impossible d'écouter sur {a.host}:{a.port} ({e})", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
