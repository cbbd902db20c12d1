"""``llm4all report --out report.html``: one self-contained HTML evaluation page from the benchmark
results (``benchmarks/results/*.json``).

Every section shows a figure (matplotlib, Agg, embedded as a base64 PNG: the page loads nothing
from the network), the table of the numbers behind it, and a sentence saying which data the system
was tuned on where the results say it. A missing, unreadable or unexpected result file gives a
visible note in its section, never a failure. The SAMU motif confusion matrix is computed here
(the results keep only the errors): the rule extractor on the simsamu reference transcripts of the
``dev`` split, compared with the gold forms.

    llm4all report --out report.html [--results benchmarks/results] [--simsamu ../shared/data/simsamu]
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import logging
import math
import os
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core_training.data import default_shared_dir

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_SIMSAMU = default_shared_dir() / "simsamu"  # $LLM4ALL_SHARED_DATA or ../shared/data

MISSING = "—"  # shown for a value the results do not have (None, NaN)
_NNBSP = "\u202f"  # French thousands separator
_NBSP = "\u00a0"  # before % and units

# one colour per system / run, stable across figures
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")

# --------------------------------------------------------------------------- number formatting


def fmt_number(x: Any, digits: int | None = None) -> str:
    """A number as a French reader expects it: decimal comma, narrow no-break space between
    thousands, ``—`` for a missing value (None, NaN), ``∞`` for infinity.

    Args:
        x: the value (int, float, bool or None; anything else is shown as text).
        digits: decimals to show; None chooses by magnitude (2 below 10, 1 below 100, none
            below 100,000, ``2,7e5`` style beyond and below 0.001).
    """
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return "oui" if x else "non"
    if not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return MISSING
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
    if isinstance(x, int) and digits is None:
        s = f"{x:,d}"
    elif digits is not None:
        s = f"{x:,.{digits}f}"
    else:
        ax = abs(x)
        if ax == 0:
            s = "0"
        elif ax < 1e5 and float(x).is_integer():
            s = f"{int(x):,d}"
        elif ax >= 1e5 or ax < 1e-3:
            mantissa, exponent = f"{x:.1e}".split("e")
            s = f"{mantissa}e{int(exponent)}"
        elif ax >= 100:
            s = f"{x:,.0f}"
        elif ax >= 10:
            s = f"{x:,.1f}"
        elif ax >= 0.01:
            s = f"{x:.2f}"
        else:
            s = f"{x:.3f}"
    return s.replace(",", _NNBSP).replace(".", ",")


def fmt_percent(x: Any, digits: int = 1) -> str:
    """A fraction (0.695) as a French percentage (``69,5 %``); ``—`` when missing."""
    if not isinstance(x, int | float) or isinstance(x, bool) or math.isnan(x):
        return MISSING
    return f"{fmt_number(100 * x, digits)}{_NBSP}%"


def fmt_seconds(x: Any) -> str:
    """A duration in seconds: 3 decimals below 1 s, 1 below 100 s, none beyond."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return MISSING
    ax = abs(x)
    if ax < 1e-3:
        return fmt_number(x)
    return fmt_number(x, 3 if ax < 1 else 1 if ax < 100 else 0)


def _num(x: Any) -> float:
    """A value for a figure: a float, NaN when missing or not a number."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return math.nan
    return float(x)


def _get(d: Any, *keys: Any, default: Any = None) -> Any:
    """``d[k1][k2]...`` or ``default`` where a level is missing or not a container."""
    for k in keys:
        if isinstance(d, dict) and k in d:
            d = d[k]
        elif isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return default
    return d


# --------------------------------------------------------------------------- results files


@dataclass
class _ResultFile:
    name: str
    data: Any = None
    problem: str | None = None  # French: why it could not be read
    used: bool = False
    unexpected: bool = False  # readable JSON of another shape than its benchmark writes


def _read_result(path: Path) -> _ResultFile:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return _ResultFile(path.name, problem="pas du texte UTF-8")
    except OSError as e:
        return _ResultFile(path.name, problem=f"lecture impossible ({e.strerror or e})")
    try:
        return _ResultFile(path.name, data=json.loads(text))
    except json.JSONDecodeError as e:
        return _ResultFile(path.name, problem=f"JSON invalide, ligne {e.lineno} colonne {e.colno} : {e.msg}")
    except RecursionError:
        return _ResultFile(path.name, problem="JSON trop imbriqué")


class _Results:
    """Every ``*.json`` of the results folder, read once; files are fetched by name or prefix."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files = {p.name: _read_result(p) for p in sorted(directory.glob("*.json")) if p.is_file()}

    def get(self, name: str) -> _ResultFile | None:
        f = self.files.get(name)
        if f is not None:
            f.used = True
        return f

    def matching(self, prefix: str) -> list[_ResultFile]:
        out = [f for n, f in self.files.items() if n.startswith(prefix)]
        for f in out:
            f.used = True
        return out


class _Unexpected(Exception):
    """A result file whose structure is not what its benchmark writes."""


# --------------------------------------------------------------------------- HTML pieces


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _p(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{_esc(text)}</p>' if cls else f"<p>{_esc(text)}</p>"


def _note(text: str) -> str:
    return f'<p class="note">⚠ {_esc(text)}</p>'


def _tuned(text: str) -> str:
    return f'<p class="tuned"><b>Données de réglage :</b> {_esc(text)}</p>'


def _h3(text: str) -> str:
    return f"<h3>{_esc(text)}</h3>"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], text_cols: int = 1, caption: str = ""
) -> str:
    """An HTML table; cells are shown as text (escaped); the first ``text_cols`` columns are
    left-aligned labels, the others right-aligned numbers."""
    out = ['<table class="data">']
    if caption:
        out.append(f"<caption>{_esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in headers) + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = "" if i < text_cols else ' class="num"'
            cells.append(f"<td{cls}>{_esc(MISSING if c is None else c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


@dataclass
class _Context:
    results: _Results
    simsamu_dir: Path | None
    gold_dir: Path | None
    figures: int = 0
    notes: list[str] = field(default_factory=list)

    def figure(self, fig: Any, alt: str) -> str:
        """The figure as an embedded PNG ``<img>``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        self.figures += 1
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(alt)}"><figcaption>{_esc(alt)}</figcaption></figure>'

    def note(self, text: str) -> str:
        self.notes.append(text)
        log.info("report note: %s", text)
        return _note(text)

    def load(self, name: str, parts: list[str]) -> Any:
        """The data of one result file, or None with a note in ``parts`` saying why."""
        f = self.results.get(name)
        if f is None:
            parts.append(
                self.note(f"{name} absent de {self.results.directory} : pas de données pour cette partie.")
            )
            return None
        if f.problem:
            parts.append(self.note(f"{name} illisible ({f.problem}) : partie ignorée."))
            return None
        if not isinstance(f.data, dict):
            f.unexpected = True
            parts.append(
                self.note(f"{name} : structure inattendue (un objet JSON était attendu) : partie ignorée.")
            )
            return None
        return f.data

    def block(self, parts: list[str], what: str, files: str, fn: Callable[[], list[str]]) -> None:
        """Run one part of a section; an unexpected structure becomes a note, never a failure."""
        try:
            parts.extend(fn())
        except Exception as e:  # a result file of another shape must not stop the page
            log.debug("report block %s failed", what, exc_info=True)
            if isinstance(e, _Unexpected):
                detail = str(e)
            else:
                detail = f"{type(e).__name__} : {e}" if str(e) else type(e).__name__
            parts.append(
                self.note(f"{what} : structure inattendue dans {files} ({detail}) : partie ignorée.")
            )


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _fr_ticks(ax: Any, axis: str = "y", percent: bool = False) -> None:
    """Decimal commas on a linear axis."""
    from matplotlib.ticker import FuncFormatter

    def f(v: float, _pos: int) -> str:
        s = f"{v:g}".replace(".", ",").replace("-", "−")
        return f"{s} %" if percent else s

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(f))


def _grouped_barh(ax: Any, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> None:
    """Horizontal grouped bars: one group per label, one bar per series (NaN: no bar)."""
    n = max(1, len(series))
    h = 0.8 / n
    for k, (name, vals) in enumerate(series):
        ys = [i + (k - (n - 1) / 2) * h for i in range(len(labels))]
        ax.barh(ys, vals, height=h, label=name, color=_COLORS[k % len(_COLORS)])
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)


def _grouped_bar(ax: Any, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> None:
    """Vertical grouped bars: one group per label, one bar per series (NaN: no bar)."""
    n = max(1, len(series))
    w = 0.8 / n
    for k, (name, vals) in enumerate(series):
        xs = [i + (k - (n - 1) / 2) * w for i in range(len(labels))]
        ax.bar(xs, vals, width=w, label=name, color=_COLORS[k % len(_COLORS)])
    ax.set_xticks(range(len(labels)), labels)


# --------------------------------------------------------------------------- 1. ASR

_ASR_SYSTEMS = {
    "ours": "nous (défaut)",
    "ours-batched": "nous (--batch-size 8)",
    "openai-whisper": "openai-whisper (référence)",
    "transformers": "transformers",
}
_ASR_SETS = {
    "fleurs": "FLEURS fr",
    "medkit": "dialogue medkit",
    "synth": "appels synthétiques",
}
_REFERENCE_SYSTEM = "openai-whisper"


def _asr_name(system: str) -> str:
    return _ASR_SYSTEMS.get(system, system)


def _asr_systems(data: dict) -> dict[str, dict]:
    systems = data.get("systems")
    if not isinstance(systems, dict) or not systems:
        raise _Unexpected("« systems » absent ou vide")
    return {k: v for k, v in systems.items() if isinstance(v, dict)}


def _asr_files(systems: dict[str, dict], set_name: str) -> tuple[list[str], dict[str, dict[str, dict]]]:
    """File names of one set (in the order of the system that has most) and ``{system: {file: row}}``."""
    by_system: dict[str, dict[str, dict]] = {}
    names: list[str] = []
    for s, e in systems.items():
        rows = {r["name"]: r for r in _get(e, set_name, "files", default=[]) or [] if isinstance(r, dict)}
        by_system[s] = rows
        if len(rows) > len(names):
            names = list(rows)
    return names, by_system


def _empty_hypothesis(row: dict) -> bool:
    ref = row.get("ref_words") or 0
    return (
        ref > 0 and row.get("deletions") == ref and not row.get("substitutions") and not row.get("insertions")
    )


def _section_asr(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load("asr.json", parts)
    if data is None:
        return parts
    settings = data.get("settings") or {}
    bits = []
    if settings.get("language"):
        bits.append(f"langue {settings['language']} imposée")
    if settings.get("beam_size"):
        bits.append(f"faisceau {settings['beam_size']}")
    if settings.get("collar_each_side_s") is not None:
        bits.append(f"collar {fmt_number(settings['collar_each_side_s'])} s de chaque côté pour le DER")
    cpus = _get(data, "machine", "cpus")
    parts.append(
        _tuned(
            "asr.json n'en déclare aucune : les modèles (Whisper base) sont utilisés tels quels, "
            "sans réglage sur ces fichiers"
            + (f" ; réglages de la mesure : {', '.join(bits)}" if bits else "")
            + (f" ; {cpus} cœurs CPU." if cpus else ".")
        )
    )
    ctx.block(parts, "WER/CER par fichier", "asr.json", lambda: _asr_quality(ctx, data))
    ctx.block(parts, "Vitesse", "asr.json", lambda: _asr_speed(ctx, data))
    return parts


def _asr_quality(ctx: _Context, data: dict) -> list[str]:
    systems = _asr_systems(data)
    order = list(systems)
    groups: list[tuple[str, list[str], dict[str, dict[str, dict]]]] = []
    for set_name in _ASR_SETS:
        names, rows = _asr_files(systems, set_name)
        if names:
            groups.append((set_name, names, rows))
    if not groups:
        raise _Unexpected("aucun fichier évalué (fleurs, medkit, synth)")
    out = [_h3("Taux d'erreur par fichier (WER, CER)")]
    labels: list[str] = []
    bounds: list[tuple[int, str]] = []
    wer: dict[str, list[float]] = {s: [] for s in order}
    cer: dict[str, list[float]] = {s: [] for s in order}
    for set_name, names, rows in groups:
        bounds.append((len(labels), _ASR_SETS[set_name]))
        for n in names:
            labels.append(n)
            for s in order:
                r = rows[s].get(n, {})
                wer[s].append(100 * _num(r.get("wer")))
                cer[s].append(100 * _num(r.get("cer")))
    fig = _new_figure(11, 0.3 * len(labels) * max(1, len(order)) / 2.2 + 1.8)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, vals, title in ((axes[0], wer, "WER (%)"), (axes[1], cer, "CER (%)")):
        _grouped_barh(ax, labels, [(_asr_name(s), vals[s]) for s in order])
        ax.set_xlabel(title)
        _fr_ticks(ax, "x")
        ax.grid(axis="x", alpha=0.3)
        from matplotlib.transforms import blended_transform_factory

        tr = blended_transform_factory(ax.transAxes, ax.transData)
        for start, set_label in bounds:
            if start:
                ax.axhline(start - 0.5, color="0.4", lw=0.8)
            ax.text(
                0.99, start - 0.45, set_label, transform=tr, ha="right", va="top", fontsize=8, color="0.3"
            )
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=len(order), fontsize=8)
    out.append(
        ctx.figure(
            fig,
            "WER et CER par fichier et par système (barre absente : fichier non passé par ce système)",
        )
    )
    headers = ["jeu", "fichier", "durée (s)"]
    for s in order:
        headers += [f"WER {_asr_name(s)}", f"CER {_asr_name(s)}"]
    durations = {}
    for e in systems.values():
        for r in e.get("per_file") or []:
            if isinstance(r, dict) and "name" in r:
                durations.setdefault(r["name"], r.get("audio_s"))
    rows_out = []
    empties = []
    for set_name, names, rows in groups:
        for n in names:
            row: list[Any] = [_ASR_SETS[set_name], n, fmt_number(durations.get(n), 1)]
            for s in order:
                r = rows[s].get(n)
                if r is None:
                    row += [MISSING, MISSING]
                    continue
                if r.get("status") not in (None, "ok"):
                    row += [f"échec ({r.get('status')})", MISSING]
                    continue
                row += [fmt_percent(r.get("wer")), fmt_percent(r.get("cer"))]
                if _empty_hypothesis(r):
                    empties.append(f"{_asr_name(s)} / {n} ({r.get('ref_words')} mots de référence)")
            rows_out.append(row)
        total_row: list[Any] = [_ASR_SETS[set_name], "total", MISSING]
        for s in order:
            t = _get(systems[s], set_name, "total", default={}) or {}
            scored = t.get("scored")
            total_row += [fmt_percent(t.get("wer")), fmt_percent(t.get("cer"))]
            if scored is not None and t.get("files") and scored < t["files"]:
                total_row[-2] += f" ({scored}/{t['files']} fichiers)"
        rows_out.append(total_row)
    subset = [
        (s, _get(systems[s], "synth_speed_subset", "total", default={}) or {})
        for s in order
        if _get(systems[s], "synth_speed_subset", "files")
    ]
    if subset and _REFERENCE_SYSTEM in systems:
        n_common = len(_get(systems[_REFERENCE_SYSTEM], "synth_speed_subset", "files", default=[]) or [])
        rows_out.append(
            ["appels synthétiques", f"les {n_common} appels passés par tous", MISSING]
            + [
                x
                for s in order
                for x in (
                    fmt_percent(_get(systems[s], "synth_speed_subset", "total", "wer")),
                    fmt_percent(_get(systems[s], "synth_speed_subset", "total", "cer")),
                )
            ]
        )
    out.append(
        _table(headers, rows_out, text_cols=2, caption="WER / CER (normalisation française d'asr.evaluate)")
    )
    for e in empties:
        out.append(
            ctx.note(
                f"Transcription vide : {e} — tous les mots sont comptés supprimés (WER 100 %) et le "
                "DER de ce fichier n'est pas calculé ; les totaux ci-dessus l'incluent."
            )
        )
    return out


def _asr_speed(ctx: _Context, data: dict) -> list[str]:
    systems = _asr_systems(data)
    order = [s for s in systems if isinstance(systems[s].get("speed"), dict)]
    if not order:
        raise _Unexpected("pas de clé « speed »")
    out = [_h3("Vitesse (facteur temps réel, chargement du modèle exclu)")]
    speed_files = list(systems[order[0]].get("speed_files") or [])
    proc: dict[str, dict[str, float]] = {}
    audio: dict[str, float] = {}
    for s in order:
        proc[s] = {}
        for r in systems[s].get("per_file") or []:
            if isinstance(r, dict) and r.get("name") in speed_files:
                proc[s][r["name"]] = _num(r.get("proc_s"))
                audio[r["name"]] = _num(r.get("audio_s"))
    ref = _REFERENCE_SYSTEM if _REFERENCE_SYSTEM in order else None

    def ratio_total(s: str) -> float:
        if ref is None:
            return math.nan
        return _num(systems[ref]["speed"].get("proc_s")) / _num(systems[s]["speed"].get("proc_s"))

    def ratio_median(s: str) -> float:
        if ref is None:
            return math.nan
        r = [
            proc[ref][f] / proc[s][f]
            for f in speed_files
            if f in proc[ref] and f in proc[s] and proc[s][f] > 0
        ]
        return statistics.median(r) if r else math.nan

    fig = _new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[3, 1])
    _grouped_bar(
        ax1,
        speed_files,
        [
            (_asr_name(s), [proc[s].get(f, math.nan) / audio.get(f, math.nan) for f in speed_files])
            for s in order
        ],
    )
    ax1.tick_params(axis="x", labelrotation=30, labelsize=8)
    for lab in ax1.get_xticklabels():
        lab.set_horizontalalignment("right")
    ax1.set_ylabel("facteur temps réel (temps / durée audio)")
    ax1.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax1.legend(fontsize=8)
    _fr_ticks(ax1)
    ax1.grid(axis="y", alpha=0.3)
    totals = [_num(systems[s]["speed"].get("rtf")) for s in order]
    ax2.bar(range(len(order)), totals, color=[_COLORS[i % len(_COLORS)] for i in range(len(order))])
    ax2.set_xticks(range(len(order)), [_asr_name(s).replace(" (", "\n(") for s in order], fontsize=8)
    ax2.set_title("total", fontsize=10)
    _fr_ticks(ax2)
    for i, s in enumerate(order):
        r = ratio_total(s)
        if not math.isnan(r) and s != ref:
            ax2.text(i, totals[i], f"×{fmt_number(r, 1)}", ha="center", va="bottom", fontsize=9)
    ax2.grid(axis="y", alpha=0.3)
    out.append(
        ctx.figure(
            fig,
            "Facteur temps réel par fichier et au total ; « ×n » : temps d'openai-whisper divisé par celui du système",
        )
    )
    rows = []
    for s in order:
        sp = systems[s]["speed"]
        rows.append(
            [
                _asr_name(s),
                fmt_number(sp.get("audio_s"), 1),
                fmt_number(sp.get("proc_s"), 1),
                fmt_number(sp.get("rtf"), 3),
                fmt_number(sp.get("rtf_median_file"), 3),
                fmt_number(sp.get("load_s"), 1),
                fmt_number(sp.get("peak_rss_mb"), 0),
                fmt_number(ratio_total(s), 2),
                fmt_number(ratio_median(s), 2),
            ]
        )
    out.append(
        _table(
            [
                "système",
                "audio (s)",
                "calcul (s)",
                "RTF total",
                "RTF médian par fichier",
                "chargement (s)",
                "mémoire max (Mo)",
                "openai-whisper ÷ système (total)",
                "openai-whisper ÷ système (médiane par fichier)",
            ],
            rows,
            caption=f"Mêmes {len(speed_files)} fichiers pour chaque système",
        )
    )
    if ref is None:
        out.append(ctx.note("openai-whisper absent d'asr.json : pas de rapport de vitesse à la référence."))
    return out


# --------------------------------------------------------------------------- 2. diarization and roles


def _section_diarization(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load("asr.json", parts)
    if data is not None:
        parts.append(
            _tuned(
                "asr.json n'en déclare aucune pour la diarisation (empreintes Resemblyzer et regroupement, "
                "sans réglage sur ces fichiers)."
            )
        )
        ctx.block(parts, "DER par conversation", "asr.json", lambda: _diar_der(ctx, data))
    roles = ctx.load("roles.json", parts)
    ctx.block(parts, "Rôles des locuteurs", "roles.json / asr.json", lambda: _diar_roles(ctx, roles, data))
    return parts


def _diar_der(ctx: _Context, data: dict) -> list[str]:
    systems = _asr_systems(data)
    out = [_h3("Erreur de diarisation par conversation (DER, JER)")]
    labels: list[str] = []
    rows_by: dict[str, dict[str, dict]] = {}
    for set_name in ("medkit", "synth"):
        names, rows = _asr_files(systems, set_name)
        for s, r in rows.items():
            rows_by.setdefault(s, {}).update(r)
        labels += [n for n in names if n not in labels]
    order = [
        s
        for s in systems
        if any(isinstance(rows_by.get(s, {}).get(n, {}).get("der"), int | float) for n in labels)
    ]
    if not order:
        raise _Unexpected("aucun DER par fichier")
    fig = _new_figure(11, 4.2)
    ax = fig.subplots()
    series = [(_asr_name(s), [100 * _num(rows_by[s].get(n, {}).get("der")) for n in labels]) for s in order]
    _grouped_bar(ax, labels, series)
    n = len(order)
    w = 0.8 / n
    for k, (_, vals) in enumerate(series):
        for i, v in enumerate(vals):
            if math.isnan(v):
                ax.text(
                    i + (k - (n - 1) / 2) * w,
                    0,
                    "n.c.",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color="#c00000",
                )
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    ax.set_ylabel("DER (%)")
    _fr_ticks(ax)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    out.append(ctx.figure(fig, "DER par conversation (tours RTTM du diariseur ; n.c. : non calculé)"))
    headers = ["fichier"]
    for s in order:
        headers += [
            f"DER {_asr_name(s)}",
            f"JER {_asr_name(s)}",
            f"cpWER {_asr_name(s)}",
            f"locuteurs {_asr_name(s)}",
        ]
    rows = []
    for n in labels:
        row: list[Any] = [n]
        for s in order:
            r = rows_by[s].get(n, {})
            spk = f"{fmt_number(r.get('hyp_speakers'))}/{fmt_number(r.get('ref_speakers'))}" if r else MISSING
            row += [
                fmt_percent(r.get("der"), 2),
                fmt_percent(r.get("jer"), 2),
                fmt_percent(r.get("cpwer")),
                spk,
            ]
        rows.append(row)
    for set_name in ("medkit", "synth"):
        row = [f"total {_ASR_SETS[set_name]}"]
        for s in order:
            t = _get(systems[s], set_name, "total", default={}) or {}
            der_files = t.get("der_files")
            der = fmt_percent(t.get("der"), 2)
            if der_files is not None and t.get("files") and der_files < t["files"]:
                der += f" ({der_files}/{t['files']} fichiers)"
            row += [der, fmt_percent(t.get("jer"), 2), fmt_percent(t.get("cpwer")), MISSING]
        rows.append(row)
        row = [f"DER des segments de mots, {_ASR_SETS[set_name]}"]
        for s in order:
            row += [
                fmt_percent(_get(systems[s], set_name, "der_word_segments"), 2),
                MISSING,
                MISSING,
                MISSING,
            ]
        rows.append(row)
    out.append(
        _table(
            headers,
            rows,
            caption="DER/JER sur les tours du diariseur ; « segments de mots » compte aussi la parole que Whisper a manquée ; "
            "locuteurs : trouvés / référence",
        )
    )
    return out


_ROLE_VARIANTS = {
    "full": "complet",
    "no punctuation": "sans ponctuation",
    "no first-speaker bonus": "sans l'indice « parle en premier »",
    "no punct., no first bonus": "sans ponctuation ni indice « parle en premier »",
}


def _diar_roles(ctx: _Context, roles: dict | None, asr: dict | None) -> list[str]:
    out = [_h3("Rôles régulateur / appelant")]
    labels: list[str] = []
    spk_acc: list[float] = []
    call_acc: list[float] = []
    rows = []
    if roles is not None:
        for variant, r in roles.items():
            if not isinstance(r, dict):
                continue
            label = f"transcriptions de référence, {_ROLE_VARIANTS.get(variant, variant)}"
            labels.append(label)
            spk_acc.append(100 * _num(r.get("speaker_accuracy")))
            call_acc.append(100 * _num(r.get("call_accuracy")))
            wrong = r.get("wrong_calls") or []
            rows.append(
                [
                    label,
                    fmt_number(r.get("speakers")),
                    fmt_percent(r.get("speaker_accuracy")),
                    fmt_number(r.get("calls")),
                    fmt_percent(r.get("call_accuracy")),
                    ", ".join(map(str, wrong)) if wrong else "aucun",
                    fmt_number(r.get("ms_per_call"), 1),
                ]
            )
    if asr is not None:
        for s, e in _asr_systems(asr).items():
            r = _get(e, "synth", "roles")
            if not isinstance(r, dict):
                continue
            label = f"sortie ASR de {_asr_name(s)}, appels synthétiques"
            labels.append(label)
            spk_acc.append(100 * _num(r.get("accuracy")))
            call_acc.append(math.nan)
            rows.append(
                [
                    label,
                    f"{fmt_number(r.get('correct'))}/{fmt_number(r.get('speakers'))}",
                    fmt_percent(r.get("accuracy")),
                    MISSING,
                    MISSING,
                    MISSING,
                    MISSING,
                ]
            )
    if not labels:
        out.append(ctx.note("Aucune mesure de rôles (roles.json, asr.json) : pas de figure."))
        return out
    if roles is not None:
        calls = next((r.get("calls") for r in roles.values() if isinstance(r, dict) and r.get("calls")), None)
        out.append(
            _tuned(
                f"roles.json n'en déclare aucune ; la mesure porte sur les {fmt_number(calls)} appels simsamu "
                "(noms des locuteurs masqués)."
            )
        )
    fig = _new_figure(11, 0.55 * len(labels) + 1.4)
    ax = fig.subplots()
    _grouped_barh(
        ax, [lab.replace(", ", ",\n", 1) for lab in labels], [("locuteurs", spk_acc), ("appels", call_acc)]
    )
    for i, (a, b) in enumerate(zip(spk_acc, call_acc)):
        for v, dy in ((a, -0.2), (b, 0.2)):
            if not math.isnan(v):
                ax.text(
                    v - 1, i + dy, f"{fmt_number(v, 1)} %", ha="right", va="center", fontsize=8, color="white"
                )
    ax.set_xlim(0, 100)
    ax.set_xlabel("exactitude (%)")
    ax.tick_params(axis="y", labelsize=8)
    _fr_ticks(ax, "x")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=8)
    out.append(ctx.figure(fig, "Exactitude des rôles par locuteur et par appel"))
    out.append(
        _table(
            [
                "mesure",
                "locuteurs",
                "exactitude (locuteurs)",
                "appels",
                "exactitude (appels)",
                "appels erronés",
                "ms par appel",
            ],
            rows,
        )
    )
    return out


# --------------------------------------------------------------------------- 3. SAMU forms

_FIELD_LABELS = {
    "qualification.motif": "motif",
    "qualification.priority": "priorité",
    "patient.age": "âge",
    "patient.sex": "sexe",
    "caller.type": "type d'appelant",
    "caller.communication": "difficulté de communication",
    "location.address_present": "adresse présente",
    "location.city": "commune",
    "decision.type": "type de décision",
    "decision.resource": "moyen engagé",
    "decision.orientation": "orientation",
}
_SPLIT_ORDER = {"dev": 0, "test": 1, "test2": 2, "all": 3}
_SPLIT_MEANING = {
    "dev": "dev : les appels sur lesquels les règles ont été écrites (score optimiste)",
    "test": "test : mesuré une fois (fichier « 1re mesure »), puis utilisé pour réviser les règles",
    "test2": "test2 : annoté en dernier, mesuré une fois après la révision des règles sur dev + test (seul jeu tenu à l'écart)",
}
_NONE = "(aucun)"


def _samu_label(name: str, d: dict) -> str:
    source = str(d.get("source") or "")
    if source == "extractor:rules":
        who = "règles"
    elif source == "extractor:llm":
        who = f"LLM {d.get('model') or ''}".strip()
    else:
        who = Path(source).name or name
    label = f"{who} · {d.get('split', '?')}"
    if "first_measure" in name:
        label += " (1re mesure)"
    return label


def _run_entries(data: dict) -> dict:
    """The runs of a several-runs results file: every key but the ``_``-prefixed metadata."""
    return {k: v for k, v in data.items() if not str(k).startswith("_")}


def _samu_runs(ctx: _Context, parts: list[str]) -> list[tuple[str, str, dict]]:
    runs = []
    for f in ctx.results.matching("samu_"):
        if f.name == _SAMU_MODEL_FILE:  # its own section (samu/calls splits, not simsamu's)
            continue
        if f.problem:
            parts.append(ctx.note(f"{f.name} illisible ({f.problem}) : ignoré."))
        elif (
            isinstance(f.data, dict)
            and _run_entries(f.data)
            and all(
                isinstance(v, dict) and isinstance(v.get("per_field"), dict)
                for v in _run_entries(f.data).values()
            )
        ):  # several runs in one file (bench_samu_calls.py: "<system>/<split>" -> run; "_meta" aside)
            for key, run in _run_entries(f.data).items():
                runs.append((f"{f.name}:{key}", f"{key} ({f.name})", run))
        elif not isinstance(f.data, dict) or not isinstance(f.data.get("per_field"), dict):
            f.unexpected = True
            parts.append(ctx.note(f"{f.name} : structure inattendue (pas de « per_field ») : ignoré."))
        else:
            runs.append((f.name, _samu_label(f.name, f.data), f.data))

    def key(r: tuple[str, str, dict]) -> tuple:
        name, _, d = r
        return (
            str(d.get("source")) != "extractor:rules",
            _SPLIT_ORDER.get(str(d.get("split")), 9),
            "first_measure" not in name,
            name,
        )

    return sorted(runs, key=key)


def _section_samu(ctx: _Context) -> list[str]:
    parts: list[str] = []
    runs = _samu_runs(ctx, parts)
    if not runs:
        parts.append(ctx.note(f"Aucun résultat samu_*.json lisible dans {ctx.results.directory}."))
    else:
        splits = sorted({str(d.get("split")) for _, _, d in runs}, key=lambda s: _SPLIT_ORDER.get(s, 9))
        meanings = [_SPLIT_MEANING[s] for s in splits if s in _SPLIT_MEANING]
        parts.append(
            _tuned(
                "les règles ont été écrites et révisées sur dev puis test ; "
                + " ; ".join(meanings)
                + " (découpage de samu/gold_splits.json, sous-ensemble indiqué par chaque fichier)."
            )
        )
        ctx.block(parts, "F1 par champ", "samu_*.json", lambda: _samu_f1(ctx, runs))
    ctx.block(parts, "Matrice de confusion du motif", "samu/gold", lambda: _samu_confusion(ctx, runs))
    return parts


def _samu_f1(ctx: _Context, runs: list[tuple[str, str, dict]]) -> list[str]:
    out = [_h3("F1 par champ, par extracteur et par sous-ensemble")]
    fields: list[str] = []
    for _, _, d in runs:
        fields += [f for f in d["per_field"] if f not in fields]
    targets: set[str] = set()
    for _, _, d in runs:
        targets |= set(d.get("target_fields") or [])
    labels = [f"{_FIELD_LABELS.get(f, f)}{' ★' if f in targets else ''}" for f in fields]
    series = [
        (f"{label} ({d.get('calls', '?')} appels)", [_f1(d, f) for f in fields]) for _, label, d in runs
    ]
    fig = _new_figure(11, 0.16 * len(fields) * len(runs) + 1.8)
    ax = fig.subplots()
    _grouped_barh(ax, labels, series)
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    _fr_ticks(ax, "x")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=min(3, len(runs)), fontsize=8)
    out.append(
        ctx.figure(
            fig,
            "F1 par champ (★ : champ cible du micro-F1) ; barre absente : F1 nul, ou non défini "
            "(« — » dans le tableau : ni valeur de référence ni prédiction)",
        )
    )
    headers = ["champ", "code"] + [label for _, label, _ in runs]
    rows: list[list[Any]] = []
    for f, lab in zip(fields, labels):
        rows.append([lab, f] + [fmt_number(_f1(d, f), 2) for _, _, d in runs])
    rows.append(
        ["micro-F1, champs cibles ★", ""] + [fmt_number(_get(d, "micro_target", "f1"), 3) for _, _, d in runs]
    )
    rows.append(
        ["micro-F1, tous les champs", ""] + [fmt_number(_get(d, "micro_all", "f1"), 3) for _, _, d in runs]
    )
    rows.append(["appels", ""] + [fmt_number(d.get("calls")) for _, _, d in runs])
    rows.append(
        ["temps médian par appel (s)", ""]
        + [fmt_seconds(d.get("seconds_per_call_median")) for _, _, d in runs]
    )
    rows.append(
        ["temps max par appel (s)", ""] + [fmt_seconds(d.get("seconds_per_call_max")) for _, _, d in runs]
    )
    out.append(
        _table(
            headers, rows, text_cols=2, caption="F1 par champ ; source : " + ", ".join(n for n, _, _ in runs)
        )
    )
    missing = [(n, d["missing"]) for n, _, d in runs if d.get("missing")]
    for n, m in missing:
        out.append(
            ctx.note(f"{n} : {len(m)} appel(s) sans fiche lisible, comptés vides : {', '.join(map(str, m))}.")
        )
    return out


def _f1(d: dict, f: str) -> float:
    """A field's F1, NaN when undefined (no gold value and no prediction on any call)."""
    c = _get(d, "per_field", f, default={}) or {}
    if all(c.get(k) == 0 for k in ("tp", "fp", "fn")):
        return math.nan
    return _num(c.get("f1"))


def _motif_pairs(
    ctx: _Context, calls: list[str]
) -> tuple[list[tuple[str, str | None, str | None]], list[str]]:
    """``(call, gold motif, rule-extractor motif)`` for each call whose transcript is present."""
    from asr.transcript import read_transcript
    from samu import extract_form

    pairs = []
    absent = []
    gold = _load_gold(ctx)
    for call in calls:
        src = ctx.simsamu_dir / call / f"{call}.json" if ctx.simsamu_dir else None
        if src is None or not src.is_file() or call not in gold:
            absent.append(call)
            continue
        form = extract_form(read_transcript(src), "rules")
        pairs.append(
            (call, gold[call]["fields"].get("qualification.motif"), form.values().get("qualification.motif"))
        )
    return pairs, absent


def _load_gold(ctx: _Context) -> dict[str, dict]:
    from samu.gold import GOLD_DIR, load_gold_dir

    return load_gold_dir(ctx.gold_dir or GOLD_DIR, check_codes=False)


def _splits(ctx: _Context) -> dict:
    from samu.gold import GOLD_DIR

    f = (ctx.gold_dir or GOLD_DIR).parent / "gold_splits.json"
    return json.loads(f.read_text(encoding="utf-8"))


def _samu_confusion(ctx: _Context, runs: list[tuple[str, str, dict]]) -> list[str]:
    out = [_h3("Matrice de confusion du motif (règles, sous-ensemble dev)")]
    held = [n for n, _, d in runs if isinstance(d.get("predictions"), list)]
    intro = (
        "Les fichiers de résultats ne gardent que les erreurs, pas les prédictions de chaque appel : "
        "la matrice est calculée ici avec l'extracteur à règles sur les transcriptions de référence simsamu "
        "des appels du sous-ensemble dev seulement (les appels qui ont servi à écrire les règles : "
        "elle montre les confusions qu'elles font encore, pas une mesure tenue à l'écart)."
    )
    if held:
        intro += f" ({', '.join(held)} contient des prédictions, non utilisées ici pour rester sur dev.)"
    out.append(_p(intro))
    if ctx.simsamu_dir is None or not ctx.simsamu_dir.is_dir():
        out.append(
            ctx.note(f"Données simsamu absentes ({ctx.simsamu_dir}) : matrice de confusion non calculée.")
        )
        return out
    try:
        dev = list(_splits(ctx).get("dev") or [])
    except (OSError, ValueError) as e:
        out.append(ctx.note(f"Découpage samu/gold_splits.json illisible ({e}) : matrice non calculée."))
        return out
    try:
        pairs, absent = _motif_pairs(ctx, dev)
    except (ImportError, FileNotFoundError, ValueError) as e:
        out.append(ctx.note(f"Fiches de référence ou extracteur indisponibles ({e}) : matrice non calculée."))
        return out
    if absent:
        out.append(
            ctx.note(
                f"{len(absent)} appel(s) dev sans transcription ou sans fiche de référence, ignorés : {', '.join(absent)}."
            )
        )
    if not pairs:
        out.append(ctx.note("Aucun appel dev à évaluer : matrice non calculée."))
        return out
    gold_codes = sorted({g or _NONE for _, g, _ in pairs})
    pred_codes = sorted({p or _NONE for _, _, p in pairs})
    codes = sorted(set(gold_codes) | set(pred_codes), key=lambda c: (c == _NONE, c))
    index = {c: i for i, c in enumerate(codes)}
    matrix = [[0] * len(codes) for _ in codes]
    for _, g, p in pairs:
        matrix[index[g or _NONE]][index[p or _NONE]] += 1
    correct = sum(1 for _, g, p in pairs if g == p)
    labels = _motif_labels()
    fig = _new_figure(10, 0.32 * len(codes) + 2.6)
    ax = fig.subplots()
    import numpy as np

    m = np.array(matrix, dtype=float)
    diagonal = np.eye(len(codes), dtype=bool)
    top = max(1.0, m.max())
    # right answers in greens on the diagonal, confusions in reds elsewhere; empty cells blank
    ax.imshow(
        np.where(diagonal & (m > 0), m, np.nan), cmap="Greens", vmin=-0.5 * top, vmax=top, aspect="auto"
    )
    ax.imshow(np.where(~diagonal & (m > 0), m, np.nan), cmap="Reds", vmin=-0.5 * top, vmax=top, aspect="auto")
    for i in range(len(codes)):
        for j in range(len(codes)):
            if matrix[i][j]:
                dark = matrix[i][j] > 0.6 * top
                ax.text(
                    j,
                    i,
                    str(matrix[i][j]),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(len(codes)), codes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(
        range(len(codes)), [f"{c} {_shorten(labels.get(c, ''), 34)}".strip() for c in codes], fontsize=8
    )
    ax.set_xticks([x - 0.5 for x in range(len(codes) + 1)], minor=True)
    ax.set_yticks([y - 0.5 for y in range(len(codes) + 1)], minor=True)
    ax.grid(which="minor", color="0.85", lw=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("motif prédit (règles)")
    ax.set_ylabel("motif de référence (fiche gold)")
    out.append(
        ctx.figure(
            fig,
            f"Motif de référence × motif prédit, {len(pairs)} appels dev ; en vert la diagonale "
            f"({correct}/{len(pairs)} exacts), en rouge les confusions ; une ligne vide : code seulement prédit",
        )
    )
    out.append(
        _p(
            f"Motif exact sur {correct} des {len(pairs)} appels dev ({fmt_percent(correct / len(pairs))}), "
            f"{len(codes)} codes en jeu."
        )
    )
    rows = []
    for g in gold_codes:
        preds = Counter(p or _NONE for _, gg, p in pairs if (gg or _NONE) == g)
        wrong = ", ".join(f"{c} ×{n}" for c, n in sorted(preds.items()) if c != g)
        rows.append([g, labels.get(g, ""), sum(preds.values()), preds.get(g, 0), wrong or MISSING])
    out.append(
        _table(
            ["motif de référence", "libellé Hub Santé", "appels", "bien prédits", "prédits à la place"],
            [[r[0], r[1], fmt_number(r[2]), fmt_number(r[3]), r[4]] for r in rows],
            text_cols=2,
        )
    )
    dev_run = next(
        (d for _, _, d in runs if d.get("split") == "dev" and d.get("source") == "extractor:rules"), None
    )
    if dev_run is not None:
        measured = sorted(
            (e.get("call"), e.get("gold"), e.get("predicted"))
            for e in dev_run.get("errors") or []
            if isinstance(e, dict) and e.get("field") == "qualification.motif"
        )
        now = sorted((c, g, p) for c, g, p in pairs if g != p)
        if measured == now:
            out.append(
                _p(
                    f"Mêmes {len(now)} erreurs de motif que samu_rules_dev.json : les règles n'ont pas changé depuis."
                )
            )
        else:
            out.append(
                ctx.note(
                    f"Les erreurs de motif diffèrent de samu_rules_dev.json ({len(measured)} alors, {len(now)} maintenant) : "
                    "les règles ou les fiches ont changé depuis cette mesure."
                )
            )
    return out


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _motif_labels() -> dict[str, str]:
    try:
        from samu.schema import code_labels

        return code_labels("motif")
    except (ImportError, OSError):  # Hub Santé lists absent: codes only
        return {}


# --------------------------------------------------------------------------- 4. summaries

_SUMMARY_NAMES = {"oracle extractif": "oracle extractif", "ours: extractif": "nous : extractif"}


def _summary_name(s: str) -> str:
    if s in _SUMMARY_NAMES:
        return _SUMMARY_NAMES[s]
    return s.replace("ours: ", "nous : ").replace("Openassistant_Llama_30b", "OpenAssistant-Llama-30B")


def _section_summaries(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load("summaries.json", parts)
    if data is None:
        return parts
    tuning = data.get("tuning")
    if isinstance(tuning, dict) and tuning.get("dev_files"):
        chosen = tuning.get("chosen") or {}
        bits = ", ".join(f"{k} = {fmt_number(v)}" for k, v in chosen.items())
        parts.append(
            _tuned(
                f"paramètres de notre système extractif choisis sur les {fmt_number(tuning['dev_files'])} fichiers "
                f"FREDSum hors test ({bits} ; ROUGE-L {fmt_number(tuning.get('dev_rougeL'), 2)} sur ces fichiers) ; "
                "le jeu de test mesuré ici n'a pas servi au réglage. Les pairs (Barthez, ChatGPT, OpenAssistant) "
                "sont leurs résumés publiés."
            )
        )
    else:
        parts.append(_tuned("summaries.json ne le dit pas."))
    ctx.block(parts, "ROUGE des résumés", "summaries.json", lambda: _summaries_rouge(ctx, data))
    return parts


def _summaries_rouge(ctx: _Context, data: dict) -> list[str]:
    systems = data.get("systems")
    if not isinstance(systems, dict) or not systems:
        raise _Unexpected("« systems » absent ou vide")
    common = data.get("common_files") or []
    out = [_h3(f"ROUGE F1 sur le test FREDSum ({len(common)} fichiers communs à tous les systèmes)")]
    full = [s for s, v in systems.items() if isinstance(v, dict) and (v.get("n_files") or 0) >= len(common)]
    partial = [s for s, v in systems.items() if isinstance(v, dict) and s not in full]
    subset = _get(data, "llm", "table_on_subset")
    subset_files = _get(data, "llm", "files", default=[]) or []
    metrics = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"))
    panels = [(f"{len(common)} fichiers communs", full, lambda s: _get(systems, s, "common", default={}))]
    if isinstance(subset, dict) and subset:
        panels.append(
            (f"sous-ensemble LLM ({len(subset_files)} fichiers)", list(subset), lambda s: subset.get(s) or {})
        )
    fig = _new_figure(11, 4.6)
    axes = fig.subplots(1, len(panels), width_ratios=[len(p[1]) for p in panels], squeeze=False)[0]
    for ax, (title, names, get) in zip(axes, panels):
        _grouped_bar(
            ax,
            [_summary_name(s).replace(" : ", " :\n") for s in names],
            [(lab, [_num(get(s).get(k)) for s in names]) for k, lab in metrics],
        )
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8, labelrotation=25)
        for lab in ax.get_xticklabels():
            lab.set_horizontalalignment("right")
            if lab.get_text().startswith("nous"):
                lab.set_fontweight("bold")
        ax.set_ylabel("F1 (%)")
        _fr_ticks(ax)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    out.append(ctx.figure(fig, "ROUGE-1/2/L (F1, %) par système ; nos systèmes en gras"))
    rows = []
    for s in full + partial:
        v = systems[s]
        c = v.get("common") or {}
        rows.append(
            [
                _summary_name(s),
                fmt_number(v.get("n_files")),
                fmt_number(c.get("rouge1"), 2),
                fmt_number(c.get("rouge2"), 2),
                fmt_number(c.get("rougeL"), 2),
                fmt_number(v.get("median_words")),
                fmt_seconds(v.get("median_seconds_per_file")),
            ]
        )
    out.append(
        _table(
            ["système", "fichiers", "R-1", "R-2", "R-L", "mots (médiane)", "s par fichier (médiane)"],
            rows,
            caption="ROUGE F1 (%) sur les fichiers communs ; tokeniseur français, meilleure des trois références par fichier",
        )
    )
    if partial:
        out.append(
            ctx.note(
                f"{', '.join(_summary_name(s) for s in partial)} : passé(s) sur une partie des fichiers seulement ; "
                "sa ligne « fichiers communs » ne porte que sur ceux qu'il a : comparer sur le sous-ensemble ci-dessous."
            )
        )
    if isinstance(subset, dict) and subset:
        out.append(
            _table(
                ["système", "R-1", "R-2", "R-L"],
                [
                    [
                        _summary_name(s),
                        fmt_number(_get(subset, s, "rouge1"), 2),
                        fmt_number(_get(subset, s, "rouge2"), 2),
                        fmt_number(_get(subset, s, "rougeL"), 2),
                    ]
                    for s in subset
                ],
                caption=f"Sous-ensemble du LLM ({_get(data, 'llm', 'model', default='?')}), ROUGE F1 (%)",
            )
        )
        out.append(_p(f"Fichiers du sous-ensemble : {', '.join(map(str, subset_files))}.", cls="small"))
    return out


# --------------------------------------------------------------------------- 5. training core

_METHOD_NAMES = {
    "prune-activation": "élagage, activation",
    "prune-magnitude": "élagage, magnitude",
    "svd-whitened": "SVD blanchie",
    "svd-plain": "SVD simple",
    "depth-activation": "élagage en profondeur",
}


def _method(m: Any) -> str:
    return MISSING if m is None else _METHOD_NAMES.get(str(m), str(m))


def _section_training(ctx: _Context) -> list[str]:
    parts: list[str] = []
    compress = ctx.load("compress.json", parts)
    distill = ctx.load("distill.json", parts)
    sweep_file = ctx.results.get("distill_lr_sweep.json")
    sweep = (
        sweep_file.data
        if sweep_file and not sweep_file.problem and isinstance(sweep_file.data, dict)
        else None
    )
    if sweep_file and sweep_file.problem:
        parts.append(ctx.note(f"distill_lr_sweep.json illisible ({sweep_file.problem}) : ignoré."))
    facts: dict[str, list[str]] = {}  # French statement -> models it holds for
    for d in (compress, distill):
        for model, m in ((d or {}).get("models") or {}).items():
            setup = m.get("setup") if isinstance(m, dict) else None
            for text in _setup_facts(setup):
                facts.setdefault(text, []).append(model)
    tuned = [f"{text} ({', '.join(dict.fromkeys(models))})" for text, models in facts.items()]
    if sweep is not None and distill is not None:
        same = any(
            _get(sweep, "models", model, "setup", "val_chars") == _get(m, "setup", "val_chars") is not None
            for model, m in (distill.get("models") or {}).items()
        )
        tuned.append(
            "taux d'apprentissage de distillation choisis par un court balayage (distill_lr_sweep.json)"
            + (
                " mesuré sur ce même texte de validation : ces scores ne sont pas tenus à l'écart"
                if same
                else ""
            )
        )
    if tuned:
        parts.append(_tuned(" ; ".join(tuned) + "."))
    if compress is not None:
        ctx.block(parts, "Compression", "compress.json", lambda: _training_compress(ctx, compress))
    if distill is not None:
        ctx.block(
            parts, "Distillation avant → après", "distill.json", lambda: _training_distill(ctx, distill)
        )
    ctx.block(
        parts, "Courbes de distillation", "distill*.json", lambda: _training_curves(ctx, distill, sweep)
    )
    ctx.block(parts, "Pré-entraînement continu", "train*.json", lambda: _training_cpt(ctx, parts))
    return parts


def _setup_facts(setup: Any) -> list[str]:
    """French statements on the data behind a compress/distill run (its ``setup``)."""
    if not isinstance(setup, dict):
        return []
    out = []
    teacher = str(setup.get("teacher") or "")
    if "vocabulary trimmed to the French train split" in teacher:
        out.append("maître : le modèle au vocabulaire réduit aux jetons du découpage train français")
    elif teacher:
        out.append(f"maître : {teacher}")
    calibration = str(setup.get("calibration") or "")
    if calibration:
        calibration = calibration.replace(
            " tokens from the French train split", " jetons du découpage train français"
        )
        out.append(f"calibration : {calibration.replace(' x ', ' × ')}")
    if setup.get("train_docs"):
        out.append(f"découpage train : {fmt_number(setup['train_docs'])} documents")
    if setup.get("val_chars"):
        docs = f" ({fmt_number(setup['val_docs'])} documents)" if setup.get("val_docs") else ""
        out.append(f"mesures sur {fmt_number(setup['val_chars'])} caractères de validation{docs}")
    return out


def _ratio(name: str, row: dict) -> float:
    """A compressed row's ratio: its ``ratio`` field, else the ``@0.3`` of its name."""
    r = _num(row.get("ratio"))
    return _split_row(name)[1] if math.isnan(r) else r


def _finite(values: Iterable[float]) -> list[float]:
    """Sorted distinct finite values (tick positions)."""
    return sorted({v for v in values if math.isfinite(v)})


def _split_row(name: str) -> tuple[str, float]:
    """``"prune-activation@0.3"`` -> ``("prune-activation", 0.3)``."""
    method, _, ratio = name.partition("@")
    try:
        return method, float(ratio.split("/")[0])
    except ValueError:
        return method, math.nan


def _training_compress(ctx: _Context, data: dict) -> list[str]:
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise _Unexpected("« models » absent ou vide")
    out = [_h3("Compression avant distillation (réduction du vocabulaire, élagage, SVD)")]
    fig = _new_figure(11, 4.0)
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    for ax, (model, m) in zip(axes, models.items()):
        rows = m.get("rows") or {}
        ref = rows.get("trim") or rows.get("base") or {}
        by_method: dict[str, list[tuple[float, float]]] = {}
        for name, r in rows.items():
            method, ratio = _split_row(name)
            if "@" in name and isinstance(r, dict):
                by_method.setdefault(method, []).append((ratio, _num(r.get("bpc")) - _num(ref.get("bpc"))))
        for k, (method, pts) in enumerate(sorted(by_method.items())):
            pts.sort()
            ax.plot(
                [100 * p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                label=_method(method),
                color=_COLORS[k % len(_COLORS)],
            )
        ax.set_title(model, fontsize=10)
        ax.set_xlabel("paramètres hors plongements retirés (%)")
        ax.set_xticks(_finite(100 * p[0] for pts in by_method.values() for p in pts))
        ax.grid(alpha=0.3)
        _fr_ticks(ax)
    axes[0].set_ylabel("hausse des bits par caractère\n(vs modèle au vocabulaire réduit)")
    axes[0].legend(fontsize=8)
    out.append(
        ctx.figure(
            fig,
            "Perte de qualité due à la compression seule, avant distillation (bits par caractère ; 0 = référence)",
        )
    )
    rows_out = []
    for model, m in models.items():
        rows = m.get("rows") or {}
        base = rows.get("base") or {}
        for name, r in rows.items():
            if not isinstance(r, dict):
                continue
            removed = r.get("non_embedding_removed")
            if name.startswith("trim") and r.get("params_removed") is not None and base.get("params_total"):
                removed_txt = f"{fmt_number(r.get('params_removed'))} ({fmt_percent(r['params_removed'] / base['params_total'])} du total)"
            else:
                removed_txt = fmt_percent(removed) if removed is not None else MISSING
            vocab = (
                f"{fmt_number(r['vocab_before'])} → {fmt_number(r['vocab_after'])}"
                if r.get("vocab_before") and r.get("vocab_after")
                else MISSING
            )
            rows_out.append(
                [
                    model,
                    name,
                    fmt_number(r.get("params_total")),
                    removed_txt,
                    vocab,
                    fmt_number(r.get("ppl_word")),
                    fmt_number(r.get("bpc"), 3),
                    fmt_number(r.get("ppl_word_vs_ref") or r.get("ppl_word_vs_base")),
                ]
            )
    out.append(
        _table(
            [
                "modèle",
                "configuration",
                "paramètres",
                "retirés",
                "vocabulaire",
                "perplexité (mots)",
                "bits/caractère",
                "× référence",
            ],
            rows_out,
            text_cols=2,
            caption="Retirés : part des paramètres hors plongements (réduction du vocabulaire : paramètres de plongement) ; "
            "référence : le modèle de base pour « trim », le modèle au vocabulaire réduit sinon",
        )
    )
    return out


def _distill_rows(data: dict | None) -> list[tuple[str, str, dict]]:
    rows = []
    for model, m in ((data or {}).get("models") or {}).items():
        for name, r in ((m or {}).get("rows") or {}).items():
            if name != "teacher" and isinstance(r, dict) and "x_teacher_after" in r:
                rows.append((model, name, r))
    return rows


def _training_distill(ctx: _Context, data: dict) -> list[str]:
    rows = sorted(
        ((m, n, r) for m, n, r in _distill_rows(data) if "/" not in n),
        key=lambda x: (x[0], str(x[2].get("method")), _ratio(x[1], x[2])),
    )
    if not rows:
        raise _Unexpected("aucune ligne élève")
    out = [_h3("Distillation : perplexité en multiple du maître, avant → après")]
    models = list(dict.fromkeys(m for m, _, _ in rows))
    fig = _new_figure(11, 4.4)
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    for ax, model in zip(axes, models):
        methods = sorted({r.get("method") or _split_row(n)[0] for m, n, r in rows if m == model})
        for k, method in enumerate(methods):
            pts = sorted(
                (_ratio(n, r), _num(r.get("x_teacher_before")), _num(r.get("x_teacher_after")))
                for m, n, r in rows
                if m == model and (r.get("method") or _split_row(n)[0]) == method
            )
            color = _COLORS[k % len(_COLORS)]
            xs = [100 * p[0] for p in pts]
            ax.plot(xs, [p[1] for p in pts], "o--", mfc="none", color=color, alpha=0.7)
            ax.plot(xs, [p[2] for p in pts], "o-", color=color, label=_method(method))
            for x, b, a in zip(xs, [p[1] for p in pts], [p[2] for p in pts]):
                ax.annotate(
                    "",
                    xy=(x, a),
                    xytext=(x, b),
                    arrowprops={"arrowstyle": "->", "color": color, "alpha": 0.4},
                )
        ax.set_yscale("log")
        ax.axhline(1.0, color="0.3", lw=0.8)
        ax.set_title(model, fontsize=10)
        ax.set_xlabel("paramètres hors plongements retirés (%)")
        ax.set_xticks(_finite(100 * _ratio(n, r) for m, n, r in rows if m == model))
        ax.grid(alpha=0.3, which="both", axis="y")
    axes[0].set_ylabel("perplexité (mots) ÷ maître, échelle log")
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside lower center",
        ncols=4,
        fontsize=8,
        title="pointillés : avant ; trait plein : après",
        title_fontsize=8,
    )
    out.append(ctx.figure(fig, "Avant (pointillés) → après distillation (trait plein) ; 1 = le maître"))
    table = []
    for model, name, r in rows:
        table.append(
            [
                model,
                _method(r.get("method") or _split_row(name)[0]),
                fmt_percent(_ratio(name, r), 0),
                fmt_number(r.get("x_teacher_before")),
                fmt_number(r.get("x_teacher_after")),
                fmt_number(r.get("lr")),
                fmt_number(r.get("temperature")),
                fmt_number(r.get("tokens")),
                fmt_number(r.get("train_s"), 0),
            ]
        )
    out.append(
        _table(
            [
                "modèle",
                "méthode",
                "réduction",
                "× maître avant",
                "× maître après",
                "lr",
                "T",
                "jetons",
                "entraînement (s)",
            ],
            table,
            text_cols=2,
        )
    )
    return out


def _training_curves(ctx: _Context, distill: dict | None, sweep: dict | None) -> list[str]:
    runs = [
        (src, m, n, r)
        for src, d in (("distill.json", distill), ("distill_lr_sweep.json", sweep))
        for m, n, r in _distill_rows(d)
    ]
    runs = [x for x in runs if len(x[3].get("curve") or []) > 1]
    out = [_h3("Courbes de distillation (perplexité ÷ maître au fil des jetons)")]
    if not runs:
        out.append(
            ctx.note(
                "Aucune courbe de distillation à plusieurs points dans distill.json / distill_lr_sweep.json."
            )
        )
        return out
    fig = _new_figure(11, 4.6)
    ax = fig.subplots()
    styles = ("-", "--", ":", "-.")
    for k, (src, model, _name, r) in enumerate(runs):
        curve = [c for c in r["curve"] if isinstance(c, dict)]
        xs = [0.0] + [_num(c.get("tokens")) / 1000 for c in curve]
        ys = [_num(r.get("x_teacher_before"))] + [_num(c.get("x_teacher")) for c in curve]
        if r.get("method") in (None, "none") or not r.get("ratio"):
            what = "maître affiné, sans compression"
        else:
            what = f"{_method(r.get('method'))} {fmt_percent(r.get('ratio'), 0)}"
        label = f"{model} · {what} · lr {fmt_number(r.get('lr'))}"
        if r.get("alpha_ce"):
            label += f" · T {fmt_number(r.get('temperature'))} + CE"
        if src != "distill.json":
            label += " (balayage)"
        ax.plot(
            xs,
            ys,
            marker="o",
            ms=3,
            ls=styles[k // len(_COLORS) % len(styles)],
            color=_COLORS[k % len(_COLORS)],
            label=label,
        )
    ax.set_yscale("log")
    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.set_xlabel("jetons d'entraînement (milliers)")
    ax.set_ylabel("perplexité ÷ maître (log)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper right")
    out.append(ctx.figure(fig, "Courbes de distillation ; le premier point est l'élève avant distillation"))
    rows = []
    for src, model, name, r in runs:
        rows.append(
            [
                src,
                model,
                name,
                fmt_number(r.get("lr")),
                fmt_number(r.get("temperature")),
                fmt_number(r.get("alpha_ce")),
                fmt_number(r.get("tokens")),
                fmt_number(r.get("x_teacher_before")),
                fmt_number(r.get("x_teacher_after")),
                fmt_number(r.get("best_x_teacher")),
            ]
        )
    out.append(
        _table(
            [
                "fichier",
                "modèle",
                "élève",
                "lr",
                "T",
                "poids CE",
                "jetons",
                "× maître avant",
                "× maître après",
                "meilleur",
            ],
            rows,
            text_cols=3,
            caption="« none » : le maître lui-même affiné sur les mêmes jetons (référence adaptée au domaine)",
        )
    )
    return out


def _cpt_experiments(ctx: _Context, parts: list[str]) -> list[tuple[str, str, dict]]:
    out = []
    for f in ctx.results.matching("train"):
        if f.problem:
            parts.append(ctx.note(f"{f.name} illisible ({f.problem}) : ignoré."))
            continue
        if not isinstance(f.data, dict):
            f.unexpected = True
            parts.append(ctx.note(f"{f.name} : structure inattendue (un objet JSON était attendu) : ignoré."))
            continue
        for key, v in f.data.items():
            table = v.get("table") if isinstance(v, dict) else None
            if (
                isinstance(table, list)
                and table
                and isinstance(table[0], dict)
                and "replay_ratio" in table[0]
            ):
                out.append((f.name, key, v))
    return out


def _training_cpt(ctx: _Context, parts: list[str]) -> list[str]:
    exps = _cpt_experiments(ctx, parts)
    out = [_h3("Pré-entraînement continu et oubli (rejeu de l'ancien domaine)")]
    if not exps:
        out.append(ctx.note("Aucune expérience de pré-entraînement continu (train*.json)."))
        return out
    out.append(
        _tuned(
            "train*.json ne nomme pas les données ; chaque expérience indique les jetons d'entraînement "
            "par exécution et la taille du texte d'évaluation de chaque domaine (tableau). Nouveau domaine : "
            "dialogues français ; ancien domaine : le corpus de rejeu ; la perplexité est mesurée sur leurs "
            "découpages de validation (benchmarks/bench_train.py)."
        )
    )
    fig = _new_figure(11, 3.8)
    axes = fig.subplots(1, len(exps), sharey=True, squeeze=False)[0]
    for ax, (fname, _key, v) in zip(axes, exps):
        table = [r for r in v["table"] if isinstance(r, dict)]
        labels = [fmt_percent(r.get("replay_ratio"), 0) for r in table]
        _grouped_bar(
            ax,
            labels,
            [
                ("nouveau domaine (français)", [100 * _num(r.get("new_ppl_change")) for r in table]),
                ("ancien domaine (rejeu)", [100 * _num(r.get("old_ppl_change")) for r in table]),
            ],
        )
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_title(
            f"{v.get('model', '?')}, lr {fmt_number(v.get('lr'))}\n{fmt_number(v.get('tokens_per_run'))} jetons ({fname})",
            fontsize=9,
        )
        ax.set_xlabel("part de rejeu")
        ax.grid(axis="y", alpha=0.3)
        _fr_ticks(ax, percent=True)
    axes[0].set_ylabel("variation de perplexité (jetons)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=8)
    out.append(
        ctx.figure(
            fig,
            "Variation de perplexité après pré-entraînement continu : négatif = mieux ; l'ancien domaine qui monte, c'est l'oubli",
        )
    )
    rows = []
    for fname, key, v in exps:
        for r in v["table"]:
            if not isinstance(r, dict):
                continue
            new, old = r.get("new_ppl") or [None, None], r.get("old_ppl") or [None, None]
            rows.append(
                [
                    f"{fname} · {key}",
                    str(v.get("model", MISSING)),
                    fmt_number(v.get("lr")),
                    fmt_number(r.get("train_tokens")),
                    fmt_number(v.get("eval_chars_per_domain")),
                    fmt_percent(r.get("replay_ratio"), 0),
                    f"{fmt_number(_get(new, 0), 2)} → {fmt_number(_get(new, 1), 2)}",
                    f"{fmt_number(_get(old, 0), 2)} → {fmt_number(_get(old, 1), 2)}",
                    fmt_number(r.get("old_rise_bpc"), 4),
                    fmt_number(r.get("old_rise_cut_vs_no_replay"), 2),
                ]
            )
    out.append(
        _table(
            [
                "expérience",
                "modèle",
                "lr",
                "jetons",
                "éval. (caractères par domaine)",
                "rejeu",
                "perplexité nouveau domaine",
                "perplexité ancien domaine",
                "hausse ancien (bits/car.)",
                "hausse divisée par (vs sans rejeu)",
            ],
            rows,
            text_cols=2,
            caption="Perplexité par jeton, avant → après",
        )
    )
    for fname, key, v in exps:
        if v.get("note"):
            out.append(
                _p(f"Note de {fname} « {key} » (en anglais dans le fichier) : {v['note']}", cls="small")
            )
    out += _training_recipe_tables(ctx, parts)
    return out


def _training_recipe_tables(ctx: _Context, parts: list[str]) -> list[str]:
    """train.json's recipe distillation and speed tables (numbers only)."""
    f = ctx.results.get("train.json")
    if f is None or f.problem or not isinstance(f.data, dict):
        return []
    out = []
    distill = f.data.get("distill")
    if isinstance(distill, dict) and isinstance(distill.get("table"), list):
        rows = [
            [
                str(r.get("student", MISSING)),
                fmt_number(r.get("parameters")),
                fmt_percent(r.get("parameter_reduction")),
                f"{fmt_number(r.get('ppl_before'))} → {fmt_number(r.get('ppl_after'))}",
                f"{fmt_number(r.get('ratio_before'))} → {fmt_number(r.get('ratio_after'))}",
                fmt_number(r.get("distill_tokens")),
                fmt_number(r.get("distill_seconds"), 0),
            ]
            for r in distill["table"]
            if isinstance(r, dict)
        ]
        out.append(_h3("Recettes enchaînées (train.json) : compression puis distillation"))
        out.append(
            _table(
                [
                    "élève",
                    "paramètres",
                    "réduction",
                    "perplexité (jetons)",
                    "× maître",
                    "jetons",
                    "distillation (s)",
                ],
                rows,
                caption=f"maître {distill.get('teacher', '?')}, distillation sur {fmt_number(distill.get('distill_tokens'))} jetons",
            )
        )
    speed = _get(f.data, "speed", "runs")
    if isinstance(speed, dict) and speed:
        out.append(_h3("Vitesse et mémoire (train.json)"))
        out.append(
            _table(
                [
                    "modèle / fils",
                    "entraînement (jetons/s)",
                    "évaluation (jetons/s)",
                    "génération (jetons/s)",
                    "mémoire max entraînement (Mo)",
                ],
                [
                    [
                        name,
                        fmt_number(r.get("train_tokens_per_s"), 1),
                        fmt_number(r.get("score_tokens_per_s"), 1),
                        fmt_number(r.get("generate_tokens_per_s"), 1),
                        fmt_number(r.get("peak_rss_train_mb"), 0),
                    ]
                    for name, r in speed.items()
                    if isinstance(r, dict)
                ],
            )
        )
    return out


# --------------------------------------------------------------------------- 6. pseudonymization

_VARIANTS = {
    "as written": "tel quel",
    "lower case": "minuscules",
    "lower case, no punctuation": "minuscules, sans ponctuation",
}


def _section_pseudonymization(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load("pseudonymize.json", parts)
    if data is None:
        return parts
    parts.append(
        _tuned(
            f"pseudonymize.json n'en déclare aucune ; mesure sur {fmt_number(data.get('calls'))} transcriptions simsamu "
            f"(vérité terrain {data.get('ground_truth', '?')}) et sur des données plantées."
        )
    )
    ctx.block(parts, "Pseudonymisation", "pseudonymize.json", lambda: _pseudo(ctx, data))
    return parts


def _pseudo(ctx: _Context, data: dict) -> list[str]:
    variants = data.get("variants") or {}
    planted = data.get("planted") or {}
    if not variants and not planted:
        raise _Unexpected("ni « variants » ni « planted »")
    out = [_h3("Rappel par type de donnée personnelle")]
    fig = _new_figure(11, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    kinds = list((planted.get("recall") or {}).keys())
    ax1.bar(kinds, [100 * _num(planted["recall"][k]) for k in kinds], color=_COLORS[0])
    ax1.set_title("données plantées : rappel par type", fontsize=10)
    ax1.set_ylim(0, 105)
    _fr_ticks(ax1, percent=True)
    ax1.tick_params(axis="x", labelsize=8)
    names = list(variants)
    ax2.bar(
        [_VARIANTS.get(n, n).replace(", ", ",\n") for n in names],
        [100 * _num(variants[n].get("doctor_surname_recall_text")) for n in names],
        color=_COLORS[1],
    )
    ax2.set_title("nom du médecin régulateur : rappel", fontsize=10)
    ax2.set_ylim(0, 105)
    _fr_ticks(ax2, percent=True)
    ax2.tick_params(axis="x", labelsize=8)
    out.append(
        ctx.figure(
            fig, "Rappel de la pseudonymisation (données plantées ; nom du médecin dans les appels simsamu)"
        )
    )
    out.append(
        _table(
            ["type", "plantés", "retirés avec le bon type", "rappel"],
            [
                [
                    k,
                    fmt_number(_get(planted, "planted", k)),
                    fmt_number(_get(planted, "removed_with_right_kind", k)),
                    fmt_percent(_get(planted, "recall", k)),
                ]
                for k in kinds
            ],
        )
    )
    out.append(
        _table(
            [
                "variante",
                "rappel nom du médecin",
                "mentions restantes",
                "remplacements",
                "mots remplacés",
                "aller-retour exact",
                "ms par transcription",
            ],
            [
                [
                    _VARIANTS.get(n, n),
                    fmt_percent(v.get("doctor_surname_recall_text")),
                    fmt_number(v.get("doctor_surname_mentions_left_anywhere")),
                    fmt_number(v.get("words_replaced")),
                    fmt_percent(v.get("fraction_words_replaced"), 2),
                    f"{fmt_number(v.get('round_trip_exact_calls'))}/{fmt_number(data.get('calls'))}",
                    fmt_number(v.get("ms_per_transcript_mean"), 1),
                ]
                for n, v in variants.items()
                if isinstance(v, dict)
            ],
        )
    )
    return out


# --------------------------------------------------------------------------- 7. SAMU model (samu_model.json)

_SAMU_MODEL_FILE = "samu_model.json"
_EXTRACTORS = {
    "rules": "règles",
    "model": "modèle seul",
    "hybrid": "hybride",
    "hybrid-motif": "hybride (motif seul)",
    "hybrid-strict": "hybride strict",
}
_MODEL_SPLITS = {
    "train": "train (samu/calls)",
    "dev": "dev (samu/calls)",
    "blind": "blind (samu/calls)",
    "simsamu-test2": "simsamu test2",
}
_ISSUE_FIELDS_FR = "âge, sexe, motif, priorité, type de décision, moyen engagé, type d'appelant"


def _order(value: str, known: Iterable[str]) -> tuple[int, str]:
    """Sort key: the known values in their order, then the others by name."""
    known = list(known)
    return (known.index(value) if value in known else len(known), value)


def _samu_model_runs(data: dict) -> list[tuple[str, str, str, dict]]:
    """``(key, extractor, split, run)`` of samu_model.json, by split then extractor."""
    runs = []
    for key, run in _run_entries(data).items():
        if isinstance(run, dict) and isinstance(run.get("per_field"), dict):
            extractor = str(run.get("extractor") or key)
            runs.append((str(key), extractor, str(run.get("split") or "?"), run))
    if not runs:
        raise _Unexpected("aucune exécution avec « per_field »")
    return sorted(runs, key=lambda r: (_order(r[2], _MODEL_SPLITS), _order(r[1], _EXTRACTORS), r[0]))


def _extractor_name(extractor: str) -> str:
    return _EXTRACTORS.get(extractor, extractor)


def _model_split_name(split: str) -> str:
    return _MODEL_SPLITS.get(split, split)


def _samu_model_tuning(runs: list[tuple[str, str, str, dict]]) -> str:
    """What each extractor was tuned on (the ``tuned_on`` keys, quoted) and which splits they name."""
    by_text: dict[str, list[str]] = {}
    for _, extractor, _, run in runs:
        if run.get("tuned_on"):
            by_text.setdefault(str(run["tuned_on"]), []).append(_extractor_name(extractor))
    if not by_text:
        return "samu_model.json ne le dit pas (pas de clé « tuned_on »)."
    out = ["d'après samu_model.json (clés « tuned_on », en anglais dans le fichier) : "]
    out.append(" ; ".join(f"{', '.join(dict.fromkeys(who))} : « {text} »" for text, who in by_text.items()))
    training = next((r.get("training") for *_, r in runs if isinstance(r.get("training"), dict)), None)
    if training:
        bits = []
        if training.get("split"):
            bits.append(f"découpage « {training['split']} »")
        if training.get("calls"):
            bits.append(f"{fmt_number(training['calls'])} appels")
        if training.get("epochs") is not None:
            bits.append(f"{fmt_number(training['epochs'])} époques")
        if training.get("steps"):
            bits.append(f"{fmt_number(training['steps'])} pas")
        lora = training.get("lora")
        if isinstance(lora, dict) and lora.get("r"):
            bits.append(
                f"LoRA r {fmt_number(lora['r'])}"
                + (f", couches : {lora['layers']}" if lora.get("layers") else "")
            )
        if bits:
            out.append(f" ; apprentissage du modèle : {', '.join(bits)}")
    texts = " ".join(by_text)
    splits = list(dict.fromkeys(split for _, _, split, _ in runs))
    named = [s for s in splits if re.search(rf"\b{re.escape(s.removeprefix('simsamu-'))}\b", texts)]
    held = [s for s in splits if s not in named]
    if named:
        out.append(
            f". {', '.join(map(_model_split_name, named))} : nommé(s) dans « tuned_on » (score optimiste)"
        )
    if held:
        out.append(
            f" ; {', '.join(map(_model_split_name, held))} : nommé(s) dans aucun « tuned_on » "
            "(tenu(s) à l'écart d'après ces clés)"
        )
    return "".join(out) + "."


def _section_samu_model(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load(_SAMU_MODEL_FILE, parts)
    if data is None:
        return parts

    def build() -> list[str]:
        runs = _samu_model_runs(data)
        return [_tuned(_samu_model_tuning(runs))] + _samu_model_scores(ctx, runs)

    ctx.block(parts, "Extracteurs SAMU", _SAMU_MODEL_FILE, build)
    return parts


def _samu_model_scores(ctx: _Context, runs: list[tuple[str, str, str, dict]]) -> list[str]:
    out = [_h3("Micro-F1 sur 7 champs et catégorie du motif, par extracteur et par sous-ensemble")]
    splits = list(dict.fromkeys(split for _, _, split, _ in runs))
    extractors = sorted({ex for _, ex, _, _ in runs}, key=lambda e: _order(e, _EXTRACTORS))
    by = {(ex, split): run for _, ex, split, run in runs}
    calls = {split: next((r.get("calls") for _, _, s, r in runs if s == split), None) for split in splits}
    labels = [f"{_model_split_name(s)}\n{fmt_number(calls[s])} appels" for s in splits]
    fig = _new_figure(11, 4.2)
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        (axes[0], "micro_issue", "micro-F1 sur 7 champs"),
        (axes[1], "motif_category", "catégorie du motif (Mxx) : F1"),
    )
    for ax, key, title in panels:
        series = [
            (_extractor_name(ex), [_num(_get(by.get((ex, s)), key, "f1")) for s in splits])
            for ex in extractors
        ]
        _grouped_bar(ax, labels, series)
        n = len(series)
        for k, (_, vals) in enumerate(series):
            for i, v in enumerate(vals):
                if not math.isnan(v):
                    x = i + (k - (n - 1) / 2) * 0.8 / n
                    ax.text(x, v + 0.01, fmt_number(v, 2), ha="center", va="bottom", fontsize=7)
        ax.set_ylim(0, 1.08)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        _fr_ticks(ax)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("F1")
    fig.legend(
        *axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=len(extractors), fontsize=8
    )
    out.append(
        ctx.figure(
            fig,
            f"Micro-F1 sur les 7 champs ({_ISSUE_FIELDS_FR}) et F1 de la catégorie du motif (3 premiers "
            "caractères du code), par extracteur ; barre absente : extracteur non mesuré sur ce sous-ensemble",
        )
    )
    best = []
    for s in splits:
        scored = [(_num(_get(by.get((ex, s)), "micro_issue", "f1")), ex) for ex in extractors]
        scored = [x for x in scored if not math.isnan(x[0])]
        if scored:
            f1, ex = max(scored)
            best.append(f"{_model_split_name(s)} : {_extractor_name(ex)} ({fmt_number(f1, 3)})")
    if best:
        out.append(_p("Meilleur micro-F1 sur 7 champs par sous-ensemble : " + " ; ".join(best) + "."))
    models = list(
        dict.fromkeys(k.split("/")[0] for k, ex, _, _ in runs if ex != "rules" and k.count("/") >= 2)
    )
    rows = []
    for _, ex, s, r in runs:
        load = r.get("load_average_1min")
        rows.append(
            [
                _extractor_name(ex),
                _model_split_name(s),
                fmt_number(r.get("calls")),
                fmt_number(_get(r, "micro_issue", "f1"), 3),
                fmt_number(_get(r, "micro_target", "f1"), 3),
                fmt_number(_get(r, "micro_all", "f1"), 3),
                fmt_number(_get(r, "motif_category", "f1"), 3),
                fmt_number(_get(r, "per_field", "qualification.motif", "f1"), 2),
                fmt_seconds(r.get("seconds_median")),
                fmt_seconds(r.get("seconds_max")),
                fmt_seconds(r.get("load_seconds")),
                f"{fmt_number(_get(load, 0), 2)} → {fmt_number(_get(load, 1), 2)}"
                if isinstance(load, list)
                else MISSING,
                fmt_number(r.get("model_values_dropped")),
            ]
        )
    out.append(
        _table(
            [
                "extracteur",
                "sous-ensemble",
                "appels",
                "micro-F1, 7 champs",
                "micro-F1, champs cibles ★",
                "micro-F1, tous les champs",
                "catégorie du motif (F1)",
                "motif exact (F1)",
                "s par appel (médiane)",
                "s par appel (max)",
                "chargement (s)",
                "charge 1 min, début → fin",
                "valeurs du modèle écartées",
            ],
            rows,
            text_cols=2,
            caption=(f"modèle : {', '.join(models)} ; " if models else "")
            + "★ : champs cibles du fichier (target_fields) ; la charge de la machine diffère d'un "
            "sous-ensemble à l'autre : ne comparer les temps qu'au sein d'un même sous-ensemble",
        )
    )
    fields: list[str] = []
    for *_, r in runs:
        fields += [f for f in r["per_field"] if f not in fields]
    targets = {f for *_, r in runs for f in r.get("target_fields") or []}
    out.append(
        _table(
            ["champ", "code"] + [f"{_extractor_name(ex)} · {_model_split_name(s)}" for _, ex, s, _ in runs],
            [
                [f"{_FIELD_LABELS.get(f, f)}{' ★' if f in targets else ''}", f]
                + [fmt_number(_f1(r, f), 2) for *_, r in runs]
                for f in fields
            ],
            text_cols=2,
            caption="F1 par champ (« — » : ni valeur de référence ni prédiction sur ces appels)",
        )
    )
    return out


# --------------------------------------------------------------------------- 8. summary model (summary_model.json)

_SUMMARY_MODEL_FILE = "summary_model.json"


def _section_summary_model(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load(_SUMMARY_MODEL_FILE, parts)
    if data is None:
        return parts
    parts.append(_tuned(_summary_model_tuning(data)))
    ctx.block(
        parts, "ROUGE du modèle de résumé", _SUMMARY_MODEL_FILE, lambda: _summary_model_rouge(ctx, data)
    )
    ctx.block(parts, "Temps et fidélité", _SUMMARY_MODEL_FILE, lambda: _summary_model_decoding(ctx, data))
    return parts


def _summary_model_tuning(data: dict) -> str:
    bits = []
    if data.get("tuned_on"):
        bits.append(f"d'après summary_model.json (en anglais dans le fichier) : « {data['tuned_on']} »")
    training = _get(data, "model", "training")
    if isinstance(training, dict):
        t = []
        if training.get("data"):
            t.append(f"données « {training['data']} »")
        for key, unit in (("debates", "débats"), ("examples", "exemples"), ("tokens", "jetons vus")):
            if training.get(key):
                t.append(f"{fmt_number(training[key])} {unit}")
        if training.get("epochs") is not None:
            t.append(f"{fmt_number(training['epochs'])} époque")
        if training.get("base"):
            t.append(f"sur la base « {training['base']} »")
        if t:
            bits.append(
                f"apprentissage de {_get(data, 'model', 'name', default='ce modèle')} : {', '.join(t)}"
            )
    if not bits:
        return "summary_model.json ne le dit pas."
    return " ; ".join(bits) + "."


def _summary_model_main(data: dict, systems: dict) -> str | None:
    """The system of the measured model (its name in ``model.name``)."""
    name = _get(data, "model", "name")
    mine = [s for s in systems if name and str(name) in s]
    return next((s for s in mine if "(défaut)" in s), mine[0] if mine else None)  # its own decoding


def _summary_model_rouge(ctx: _Context, data: dict) -> list[str]:
    systems = {k: v for k, v in (data.get("systems") or {}).items() if isinstance(v, dict)}
    if not systems:
        raise _Unexpected("« systems » absent ou vide")
    common = data.get("common_files") or []
    dataset = str(data.get("dataset") or "FREDSum")
    out = [
        _h3(
            f"ROUGE F1 du modèle de résumé et des autres systèmes ({len(common)} fichiers communs, {dataset})"
        )
    ]
    names = list(systems)
    labels = [_summary_name(s).replace(", ", ",\n") for s in names]
    metrics = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"))
    fig = _new_figure(11, 0.5 * len(names) + 1.6)
    ax1, ax2 = fig.subplots(1, 2, sharey=True, width_ratios=[3, 1.2])
    _grouped_barh(
        ax1, labels, [(lab, [_num(_get(systems, s, "common", k)) for s in names]) for k, lab in metrics]
    )
    ax1.set_xlabel("ROUGE F1 (%)")
    ax1.legend(fontsize=8, loc="lower right")
    words = [_num(systems[s].get("median_words")) for s in names]
    ax2.barh(range(len(names)), words, color="0.55")
    for i, w in enumerate(words):
        if not math.isnan(w):
            ax2.text(w, i, f" {fmt_number(w)}", va="center", fontsize=8)
    ax2.set_xlim(0, max([w for w in words if not math.isnan(w)] or [1]) * 1.25)
    ax2.set_xlabel("mots par résumé (médiane)")
    for lab in ax1.get_yticklabels():
        lab.set_fontsize(8)
        if lab.get_text().startswith("nous"):
            lab.set_fontweight("bold")
    for ax in (ax1, ax2):
        _fr_ticks(ax, "x")
        ax.grid(axis="x", alpha=0.3)
    out.append(
        ctx.figure(
            fig,
            "ROUGE-1/2/L (F1, %) sur les fichiers communs et longueur médiane des résumés ; nos systèmes en gras",
        )
    )
    rows = []
    for s in names:
        v = systems[s]
        rows.append(
            [
                _summary_name(s),
                fmt_number(v.get("n_files")),
                fmt_number(_get(v, "common", "rouge1"), 2),
                fmt_number(_get(v, "common", "rouge2"), 2),
                fmt_number(_get(v, "common", "rougeL"), 2),
                fmt_number(v.get("median_words")),
                fmt_seconds(v.get("median_seconds_per_file")),
                fmt_number(len(v["failed"])) if isinstance(v.get("failed"), dict | list) else MISSING,
            ]
        )
    out.append(
        _table(
            ["système", "fichiers", "R-1", "R-2", "R-L", "mots (médiane)", "s par débat (médiane)", "échecs"],
            rows,
            caption=f"ROUGE F1 (%) sur les {len(common)} fichiers que tous les systèmes ont ; {dataset} ; "
            "s par débat : le temps que ce banc a mis à obtenir chaque résumé",
        )
    )
    main = _summary_model_main(data, systems)
    if main is not None:
        others = [
            _num(systems[s].get("median_words"))
            for s in names
            if s != main and not s.startswith("ours: modèle")
        ]
        others = [w for w in others if not math.isnan(w)]
        w = _num(systems[main].get("median_words"))
        if others and not math.isnan(w):
            out.append(
                _p(
                    f"{_summary_name(main)} écrit {fmt_number(w)} mots en médiane, contre {fmt_number(min(others))} "
                    f"à {fmt_number(max(others))} pour les systèmes qui ne sont pas ce modèle : un résumé plus court "
                    "perd en rappel, donc en ROUGE-1 surtout."
                )
            )
    scorer = data.get("scorer")
    if isinstance(scorer, dict) and scorer:
        out.append(
            _p(
                "Mesure (en anglais dans le fichier) : "
                + " ; ".join(f"{k} : {v}" for k, v in scorer.items())
                + ".",
                cls="small",
            )
        )
    targets = data.get("targets")
    if isinstance(targets, dict) and targets:
        out.append(
            _p(
                "Repères notés dans le fichier (targets) : "
                + " ; ".join(f"{k} {fmt_number(v)}" for k, v in targets.items())
                + ".",
                cls="small",
            )
        )
    return out


def _summary_model_decoding(ctx: _Context, data: dict) -> list[str]:
    main = _summary_model_main(data, data.get("systems") or {}) or _get(
        data, "model", "name", default="modèle"
    )
    configs: list[tuple[str, dict]] = []
    if isinstance(data.get("decoding"), dict) or isinstance(data.get("faithfulness"), dict):
        configs.append((_summary_name(str(main)), data))
    for name, v in (data.get("variants") or {}).items():
        if isinstance(v, dict):
            configs.append((_summary_name(str(name)), v))
    gvb = data.get("greedy_vs_beam")
    if not configs and not isinstance(gvb, dict):
        raise _Unexpected("ni « decoding », ni « faithfulness », ni « greedy_vs_beam »")
    out = [_h3("Modèle de résumé : temps par débat et fidélité (noms, nombres)")]
    decoding = [(n, v["decoding"]) for n, v in configs if isinstance(v.get("decoding"), dict)]
    machine = data.get("machine") or {}
    if decoding:
        out.append(
            _table(
                [
                    "configuration",
                    "débats",
                    "s par débat (médiane)",
                    "s par débat (max)",
                    "jetons générés (médiane)",
                    "jetons de consigne (médiane)",
                    "jetons générés par s",
                    "replis",
                ],
                [
                    [
                        n,
                        fmt_number(d.get("files")),
                        fmt_seconds(d.get("median_seconds_per_debate")),
                        fmt_seconds(d.get("max_seconds_per_debate")),
                        fmt_number(d.get("median_new_tokens")),
                        fmt_number(d.get("median_prompt_tokens")),
                        fmt_number(d.get("generation_tokens_per_second"), 2),
                        fmt_number(d.get("fallbacks")),
                    ]
                    for n, d in decoding
                ],
                caption="Génération sur CPU"
                + (f", {machine['cpus']} cœurs" if machine.get("cpus") else "")
                + (
                    f", {machine['torch_threads']} fil(s) torch par processus"
                    if machine.get("torch_threads")
                    else ""
                ),
            )
        )
    if isinstance(gvb, dict) and isinstance(gvb.get("greedy"), dict) and isinstance(gvb.get("beam"), dict):
        out.append(
            _table(
                [
                    "décodage",
                    "débats",
                    "R-1",
                    "R-2",
                    "R-L",
                    "s par débat (médiane)",
                    "jetons générés (médiane)",
                ],
                [
                    [
                        label,
                        fmt_number(r.get("files")),
                        fmt_number(r.get("rouge1"), 2),
                        fmt_number(r.get("rouge2"), 2),
                        fmt_number(r.get("rougeL"), 2),
                        fmt_seconds(r.get("median_seconds_per_debate")),
                        fmt_number(r.get("median_new_tokens")),
                    ]
                    for label, r in (
                        ("glouton", gvb["greedy"]),
                        (f"faisceau de {fmt_number(gvb.get('num_beams'))}", gvb["beam"]),
                    )
                ],
                caption=f"Glouton contre faisceau sur {len(gvb.get('files') or [])} débats seulement (ROUGE F1, %)",
            )
        )
    faith = [(n, v["faithfulness"]) for n, v in configs if isinstance(v.get("faithfulness"), dict)]
    if faith:
        out.append(
            _table(
                [
                    "configuration",
                    "noms absents du débat",
                    "taux (noms)",
                    "nombres absents du débat",
                    "taux (nombres)",
                    "exemples",
                ],
                [
                    [
                        n,
                        f"{fmt_number(_get(f, 'names', 'unsupported'))}/{fmt_number(_get(f, 'names', 'total'))}",
                        fmt_percent(_get(f, "names", "rate")),
                        f"{fmt_number(_get(f, 'numbers', 'unsupported'))}/{fmt_number(_get(f, 'numbers', 'total'))}",
                        fmt_percent(_get(f, "numbers", "rate")),
                        ", ".join(map(str, f.get("examples") or [])) or MISSING,
                    ]
                    for n, f in faith
                ],
                caption="Fidélité (summarize.faithfulness) : noms propres et nombres des résumés introuvables dans la "
                "transcription du débat, sur tous les débats mesurés",
            )
        )
    else:
        out.append(ctx.note("summary_model.json ne contient pas de mesure de fidélité (« faithfulness »)."))
    if data.get("note"):
        out.append(_p(f"Note du fichier (en anglais) : {data['note']}", cls="small"))
    return out


# --------------------------------------------------------------------------- 9. llama.cpp (llamacpp.json)

_LLAMACPP_FILE = "llamacpp.json"


def _section_llamacpp(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load(_LLAMACPP_FILE, parts)
    if data is None:
        return parts
    files = data.get("files") if isinstance(data.get("files"), list) else []
    cpus = _get(data, "machine", "cpus")
    bits = [
        "llamacpp.json n'en déclare aucune propre à cette mesure : le modèle de résumé livré (section "
        "« Modèle de résumé »), fusionné puis converti en GGUF f16 et quantifié (Q8_0, Q4_K_M), sans "
        "nouvel apprentissage"
    ]
    if data.get("tuned_on"):
        bits.append(f"llamacpp.json (en anglais) : « {data['tuned_on']} »")
    if files:
        bits.append(f"mesure sur {fmt_number(len(files))} débats ({', '.join(map(str, files))})")
    bits.append("les deux moteurs reçoivent les mêmes identifiants de jetons")
    if cpus:
        bits.append(f"{cpus} cœurs CPU")
    parts.append(_tuned(" ; ".join(bits) + "."))
    ctx.block(parts, "llama.cpp contre transformers", _LLAMACPP_FILE, lambda: _llamacpp(ctx, data))
    return parts


def _llamacpp(ctx: _Context, data: dict) -> list[str]:
    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)]
    if not rows:
        raise _Unexpected("« rows » absent ou vide")
    out = [_h3("Vitesse de génération et accord avec transformers, par moteur")]
    labels = [str(r.get("engine", "?")).replace(" (", "\n(") for r in rows]
    fig = _new_figure(11, 4.4)
    ax1, ax2 = fig.subplots(1, 2)
    speed = [_num(r.get("median_decode_tokens_per_second")) for r in rows]
    ax1.bar(range(len(rows)), speed, color=[_COLORS[i % len(_COLORS)] for i in range(len(rows))])
    for i, r in enumerate(rows):
        if not math.isnan(speed[i]):
            ax1.text(
                i,
                speed[i],
                f"{fmt_seconds(r.get('median_generate_seconds_per_debate'))} s/débat\n"
                f"×{fmt_number(r.get('speedup_generate_vs_transformers'), 2)}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax1.set_xticks(range(len(rows)), labels)
    ax1.set_ylabel("décodage (jetons/s, médiane)")
    ax1.set_title("vitesse ; « ×n » : accélération par débat", fontsize=10)
    ax1.set_ylim(0, max([v for v in speed if not math.isnan(v)] or [1]) * 1.25)
    _grouped_bar(
        ax2,
        labels,
        [
            (
                "ROUGE-L contre la sortie transformers",
                [_num(r.get("median_rougeL_vs_transformers_raw")) for r in rows],
            ),
            ("ROUGE-L contre les références", [_num(r.get("median_rougeL_vs_references")) for r in rows]),
        ],
    )
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("ROUGE-L F1 (%, médiane par débat)")
    ax2.set_title("accord et qualité", fontsize=10)
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelsize=8)
        _fr_ticks(ax)
        ax.grid(axis="y", alpha=0.3)
    out.append(
        ctx.figure(
            fig,
            "Médianes par débat : vitesse de décodage, temps de génération par débat et accélération par rapport à "
            "transformers ; à droite, ROUGE-L des sorties contre celles de transformers (100 : même texte) et "
            "contre les résumés de référence",
        )
    )
    n_files = len(data.get("files") or [])
    table = []
    for r in rows:
        same = r.get("identical_outputs")
        table.append(
            [
                str(r.get("engine", MISSING)),
                fmt_number(r.get("size_mb"), 1),
                fmt_seconds(r.get("load_seconds")),
                fmt_number(r.get("median_prompt_tokens")),
                fmt_number(r.get("median_new_tokens")),
                fmt_seconds(r.get("median_prefill_seconds")),
                fmt_number(r.get("median_decode_tokens_per_second"), 1),
                fmt_seconds(r.get("median_generate_seconds_per_debate")),
                fmt_number(r.get("speedup_generate_vs_transformers"), 2),
                fmt_number(r.get("median_rougeL_vs_transformers_raw"), 2),
                fmt_number(r.get("median_rougeL_vs_transformers_cleaned"), 2),
                f"{fmt_number(same)}/{n_files}" if same is not None and n_files else fmt_number(same),
                fmt_number(r.get("median_rougeL_vs_references"), 2),
                fmt_number(r.get("unusable_outputs")),
            ]
        )
    out.append(
        _table(
            [
                "moteur",
                "taille (Mo)",
                "chargement (s)",
                "jetons de consigne",
                "jetons générés",
                "pré-remplissage (s)",
                "décodage (jetons/s)",
                "s par débat",
                "accélération",
                "R-L contre transformers (brut)",
                "R-L contre transformers (nettoyé)",
                "sorties identiques",
                "R-L contre références",
                "sorties inutilisables",
            ],
            table,
            caption="Médianes par débat ; accélération : temps de génération de transformers ÷ celui du moteur",
        )
    )
    ref = next((r for r in rows if str(r.get("engine", "")).startswith("transformers")), None)
    ref_new = _num((ref or {}).get("median_new_tokens"))
    for r in rows:
        new = _num(r.get("median_new_tokens"))
        if r is not ref and ref_new > 0 and not math.isnan(new) and abs(new - ref_new) > 0.1 * ref_new:
            out.append(
                ctx.note(
                    f"{r.get('engine')} : {fmt_number(new)} jetons générés en médiane contre {fmt_number(ref_new)} "
                    "pour transformers — ses résumés diffèrent, et son temps par débat en dépend autant que sa vitesse "
                    "par jeton."
                )
            )
    quantize = _get(data, "conversion", "quantize")
    if quantize:
        out.append(_p(f"Quantification (en anglais dans le fichier) : {quantize}", cls="small"))
    contended = _get(data, "contended_first_run", "note")
    if contended:
        out.append(_p(f"Première mesure écartée (en anglais dans le fichier) : {contended}", cls="small"))
    return out


# --------------------------------------------------------------------------- 10. French foundation (foundation.json)

_FOUNDATION_FILE = "foundation.json"
_FOUNDATION_DOMAINS = (
    ("new", "dialogues français (validation)"),
    ("old", "ancien domaine (validation du rejeu)"),
)


def _section_foundation(ctx: _Context) -> list[str]:
    parts: list[str] = []
    data = ctx.load(_FOUNDATION_FILE, parts)
    if data is None:
        return parts
    runs = (
        [r for r in data.get("runs") or [] if isinstance(r, dict)]
        if isinstance(data.get("runs"), list)
        else []
    )
    tokens = sorted({r.get("tokens") for r in runs if isinstance(r.get("tokens"), int | float)})
    evals = sorted({r.get("eval_tokens") for r in runs if isinstance(r.get("eval_tokens"), int | float)})
    if data.get("tuned_on"):
        bits = [f"d'après foundation.json (en anglais) : « {data['tuned_on']} »"]
    else:
        bits = ["foundation.json ne nomme pas les données d'entraînement (pas de clé « tuned_on »)"]
    bits.append(
        "d'après benchmarks/bench_foundation.py, « new » est la validation des dialogues français et « old » "
        "celle du corpus de rejeu (ancien domaine), et la référence « avant » est la base au vocabulaire réduit"
    )
    if tokens:
        bits.append(f"{' ou '.join(fmt_number(t) for t in tokens)} jetons d'entraînement par exécution")
    if evals:
        bits.append(f"perplexité mesurée sur {' ou '.join(fmt_number(t) for t in evals)} jetons par domaine")
    parts.append(_tuned(" ; ".join(bits) + "."))
    ctx.block(parts, "Fondation française", _FOUNDATION_FILE, lambda: _foundation(ctx, data))
    return parts


def _foundation(ctx: _Context, data: dict) -> list[str]:
    runs = [
        r for r in data.get("runs") or [] if isinstance(r, dict) and isinstance(r.get("perplexity"), dict)
    ]
    if not runs:
        raise _Unexpected("« runs » absent, vide ou sans « perplexity »")
    out = [_h3("Perplexité par mot avant (base au vocabulaire réduit) et après l'adaptateur, par domaine")]
    # one "before" bar when every run starts from the same base with the same scores
    befores = {
        (
            r.get("trimmed_base_sha256"),
            *(_get(r, "perplexity", d, "word_before") for d, _ in _FOUNDATION_DOMAINS),
        )
        for r in runs
    }
    shared_base = len(befores) == 1
    labels: list[str] = []
    values: dict[str, list[float]] = {d: [] for d, _ in _FOUNDATION_DOMAINS}
    kinds: list[str] = []
    for i, r in enumerate(runs):
        if i == 0 or not shared_base:
            labels.append(
                "base au vocabulaire réduit" + ("" if shared_base else f"\n(avant {r.get('label', '?')})")
            )
            kinds.append("base")
            for d, _ in _FOUNDATION_DOMAINS:
                values[d].append(_num(_get(r, "perplexity", d, "word_before")))
        labels.append(str(r.get("label", "?")))
        kinds.append("run")
        for d, _ in _FOUNDATION_DOMAINS:
            values[d].append(_num(_get(r, "perplexity", d, "word_after")))
    fig = _new_figure(11, 0.45 * len(labels) + 1.6)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (d, title) in zip(axes, _FOUNDATION_DOMAINS):
        vals = values[d]
        colors = ["0.6" if k == "base" else _COLORS[j % len(_COLORS)] for j, k in enumerate(kinds)]
        ax.barh(range(len(labels)), vals, color=colors)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        base = next((v for v, k in zip(vals, kinds) if k == "base"), math.nan)
        for j, v in enumerate(vals):
            if not math.isnan(v):
                change = (
                    ""
                    if kinds[j] == "base" or not base
                    else f" ({'+' if v > base else ''}{fmt_percent(v / base - 1, 1)})"
                )
                ax.text(v, j, f" {fmt_number(v, 1)}{change}", va="center", fontsize=8)
        ax.set_xlim(0, max([v for v in vals if not math.isnan(v)] or [1]) * 1.3)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("perplexité par mot (plus bas = mieux)")
        _fr_ticks(ax, "x")
        ax.grid(axis="x", alpha=0.3)
    out.append(
        ctx.figure(
            fig,
            "Perplexité par mot de la base au vocabulaire réduit (gris) et de chaque exécution après adaptation ; "
            "entre parenthèses, la variation par rapport à la base (négatif = mieux ; l'ancien domaine qui monte, c'est l'oubli)",
        )
    )
    rows = []
    for r in runs:
        row: list[Any] = [
            str(r.get("label", MISSING)),
            fmt_percent(r.get("replay_ratio"), 0),
            fmt_number(r.get("lr")),
            fmt_number(r.get("steps")),
            fmt_number(r.get("tokens")),
        ]
        for d, _ in _FOUNDATION_DOMAINS:
            p = _get(r, "perplexity", d, default={}) or {}
            row.append(f"{fmt_number(p.get('word_before'), 1)} → {fmt_number(p.get('word_after'), 1)}")
            row.append(f"{fmt_number(p.get('bpc_before'), 3)} → {fmt_number(p.get('bpc_after'), 3)}")
        row += [
            fmt_number(r.get("train_seconds"), 0),
            fmt_number(r.get("tokens_per_s"), 1),
            fmt_number(r.get("peak_rss_gb"), 2),
            fmt_number(r.get("adapter_mb"), 1),
            fmt_number(r.get("eval_tokens")),
        ]
        rows.append(row)
    out.append(
        _table(
            [
                "exécution",
                "rejeu",
                "lr",
                "pas",
                "jetons",
                "perplexité/mot, dialogues français",
                "bits/car., dialogues français",
                "perplexité/mot, ancien domaine",
                "bits/car., ancien domaine",
                "entraînement (s)",
                "jetons/s",
                "mémoire max (Go)",
                "adaptateur (Mo)",
                "jetons d'évaluation par domaine",
            ],
            rows,
            text_cols=1,
            caption="Avant → après l'adaptateur ; les temps dépendent de la charge de la machine pendant chaque exécution",
        )
    )
    extra = [f"adaptateur livré : {data['adapter']}"] if data.get("adapter") else []
    if data.get("full_finetuning_reference"):
        extra.append(f"référence en affinage complet : {data['full_finetuning_reference']}")
    if extra:
        out.append(_p(" ; ".join(extra) + ".", cls="small"))
    return out


# --------------------------------------------------------------------------- page

_SECTIONS: tuple[tuple[str, str, Callable[[_Context], list[str]]], ...] = (
    ("asr", "1. Transcription de la parole (ASR)", _section_asr),
    ("diarisation", "2. Diarisation et rôles des locuteurs", _section_diarization),
    ("samu", "3. Fiches d'appel SAMU", _section_samu),
    ("samu-modele", "4. Modèle SAMU : règles, modèle, hybride (samu/calls et simsamu)", _section_samu_model),
    ("resumes", "5. Résumés (FREDSum)", _section_summaries),
    ("resume-modele", "6. Modèle de résumé (test FREDSum)", _section_summary_model),
    ("llamacpp", "7. Modèle de résumé avec llama.cpp (GGUF) contre transformers", _section_llamacpp),
    (
        "entrainement",
        "8. Cœur d'entraînement (compression, distillation, pré-entraînement continu)",
        _section_training,
    ),
    ("fondation", "9. Fondation française (adaptateur LoRA, dialogues français)", _section_foundation),
    ("pseudonymisation", "10. Pseudonymisation", _section_pseudonymization),
)
SECTION_TITLES: tuple[str, ...] = tuple(t for _, t, _ in _SECTIONS)

_CSS = """
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;max-width:1150px;margin:1.5em auto;padding:0 1em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #1f77b4;padding-bottom:.2em;margin-top:2.2em}
h3{margin-top:1.6em;color:#333}
table.data{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.82em}
table.data caption{caption-side:top;text-align:left;color:#555;font-size:.95em;padding-bottom:.3em}
table.data th,table.data td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}
table.data th{background:#eef3f8;text-align:left}
table.data td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.data tbody tr:nth-child(even){background:#f8f8f8}
figure{margin:.8em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}
p.note{background:#fff4ce;border-left:4px solid #e0a800;padding:.4em .7em}
p.tuned{background:#eef6ee;border-left:4px solid #2ca02c;padding:.4em .7em}
p.small{font-size:.85em;color:#555}
nav ol{columns:2}
"""


@dataclass(frozen=True)
class RenderedReport:
    """The page and what it holds: ``html`` (self-contained), ``figures`` (embedded PNGs) and
    ``notes`` (French sentences about missing, unreadable or unexpected results)."""

    html: str
    figures: int
    notes: tuple[str, ...]


def render_report(
    results_dir: str | os.PathLike = DEFAULT_RESULTS,
    *,
    simsamu_dir: str | os.PathLike | None = DEFAULT_SIMSAMU,
    gold_dir: str | os.PathLike | None = None,
) -> RenderedReport:
    """Build the evaluation page from every ``*.json`` of ``results_dir``.

    Args:
        results_dir: the benchmark results folder (``benchmarks/results``).
        simsamu_dir: simsamu reference transcripts (``<rec>/<rec>.json``) for the motif confusion
            matrix; None or absent: the matrix is replaced by a note.
        gold_dir: gold SAMU forms (default ``samu/gold``, splits in ``gold_splits.json`` beside it).

    Returns:
        The page; missing, unreadable or unexpected result files appear as notes in it.

    Raises:
        ValueError: ``results_dir`` is not a directory.
    """
    rdir = Path(results_dir)
    if not rdir.is_dir():
        raise ValueError(f"dossier de résultats introuvable : {rdir}")
    import matplotlib

    ctx = _Context(
        results=_Results(rdir),
        simsamu_dir=Path(simsamu_dir) if simsamu_dir is not None else None,
        gold_dir=Path(gold_dir) if gold_dir is not None else None,
    )
    bodies = []
    rc = {
        "font.size": 9,
        "axes.titlesize": 10,
        "svg.fonttype": "none",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(rc):
        for anchor, title, build in _SECTIONS:
            parts: list[str] = []
            ctx.block(parts, title, "les résultats", lambda build=build, parts=parts: build(ctx))
            bodies.append(
                f'<section id="{anchor}"><h2>{_esc(title)}</h2>\n' + "\n".join(parts) + "\n</section>"
            )
    files_rows = []
    for name, f in ctx.results.files.items():
        if f.problem:
            state = f"illisible : {f.problem}"
        elif f.unexpected:
            state = "structure inattendue : ignoré"
        elif f.used:
            state = "lu"
        else:
            state = "lu, non utilisé par ce rapport"
        files_rows.append([name, state])
    if not files_rows:
        ctx.notes.append(f"Aucun fichier *.json dans {rdir}.")
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    head = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Rapport d'évaluation llm4all</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Rapport d'évaluation llm4all</h1>",
        _p(
            f"Généré le {now} à partir de {len(ctx.results.files)} fichier(s) de résultats dans {rdir} ; "
            f"{ctx.figures} figure(s), {len(ctx.notes)} remarque(s). Valeurs absentes : « {MISSING} »."
        ),
        "<nav><ol>"
        + "".join(f'<li><a href="#{a}">{_esc(t.split(". ", 1)[-1])}</a></li>' for a, t, _ in _SECTIONS)
        + "</ol></nav>",
        "<h2>Fichiers de résultats</h2>",
        _table(["fichier", "état"], files_rows, text_cols=2)
        if files_rows
        else _note(f"Aucun fichier *.json dans {rdir}."),
    ]
    page = "\n".join(head + bodies + ["</body></html>", ""])
    return RenderedReport(html=page, figures=ctx.figures, notes=tuple(ctx.notes))


def build_report(
    results_dir: str | os.PathLike = DEFAULT_RESULTS,
    out_path: str | os.PathLike = "report.html",
    *,
    simsamu_dir: str | os.PathLike | None = DEFAULT_SIMSAMU,
    gold_dir: str | os.PathLike | None = None,
) -> Path:
    """Write the evaluation page (:func:`render_report`) to ``out_path`` atomically; returns its path."""
    from asr.transcript import atomic_write_text

    report = render_report(results_dir, simsamu_dir=simsamu_dir, gold_dir=gold_dir)
    out = Path(out_path)
    atomic_write_text(out, report.html)
    return out


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all report",
        description="Rapport d'évaluation HTML autonome (figures incluses) à partir des résultats des bancs d'essai.",
    )
    p.add_argument("--out", required=True, help="fichier HTML à écrire (ex. rapport.html)")
    p.add_argument(
        "--results",
        default=str(DEFAULT_RESULTS),
        help="dossier des résultats *.json (défaut : benchmarks/results)",
    )
    p.add_argument(
        "--simsamu",
        default=str(DEFAULT_SIMSAMU),
        help="dossier simsamu (transcriptions) pour la matrice de confusion du motif",
    )
    p.add_argument("--gold", default=None, help="dossier des fiches SAMU de référence (défaut : samu/gold)")
    p.add_argument("-q", "--quiet", action="store_true", help="sans message final")
    return p


def _unwritable(out: Path) -> str | None:
    """Why ``out`` cannot be written, or None."""
    if out.is_dir():
        return f"--out {out} est un dossier"
    parent = out.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {out} : {existing} n'est pas un dossier"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {out} : pas le droit d'écrire dans {existing}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    problem = _unwritable(out)
    if problem:
        print(f"erreur : {problem}", file=sys.stderr)
        return 2
    if not Path(args.results).is_dir():
        print(f"erreur : --results {args.results} n'est pas un dossier", file=sys.stderr)
        return 2
    report = render_report(args.results, simsamu_dir=args.simsamu, gold_dir=args.gold)
    from asr.transcript import atomic_write_text

    try:
        atomic_write_text(out, report.html)
    except OSError as e:
        print(f"erreur : impossible d'écrire {out} : {e.strerror or e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"rapport écrit : {out} ({report.figures} figures, {len(report.notes)} remarque(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
