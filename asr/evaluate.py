"""ASR and diarization evaluation: WER, CER, DER, JER and cpWER for French transcripts.

Pure functions on :class:`~asr.transcript.Transcript` objects and files; nothing here prints.
The CLI is ``apps/evaluate_asr.py`` (``llm4all evaluate-asr``).

Text normalisation (:func:`normalize_fr`)
-----------------------------------------
Applied identically to hypothesis and reference before WER, CER and cpWER, in this order:

1. Unicode NFKC (no-break and narrow spaces become spaces, ligatures ``ﬁ`` are split), then
   format characters (category ``Cf``: zero-width spaces, which the simsamu JSON contains, BOM)
   are deleted; lower-case. Accents are kept (``é`` ≠ ``e``); ``œ``/``æ`` become ``oe``/``ae``
   (``cœur`` = ``coeur``).
2. Apostrophes ``’ ‘ ʼ ´ ` ′`` become ``'``.
3. Numbers written with digits become French words (``num2words``, ``lang="fr"``, masculine
   cardinals), before punctuation is touched so that these forms are read as a whole:
   thousands groups ``10 000`` / ``10.000`` -> ``dix mille``; ordinals ``1er`` -> ``premier``,
   ``1re``/``1ère`` -> ``première``, ``2e``/``2ème`` -> ``deuxième``; clock times ``14h30`` ->
   ``quatorze heures trente``, ``1h`` -> ``une heure``; decimals ``37,5`` -> ``trente-sept
   virgule cinq``; leading zeros are read one by one (``06`` -> ``zéro six``); ``%`` -> ``pour
   cent``. Any other digit run is a cardinal (``2024`` -> ``deux mille vingt-quatre``).
   Cardinals are masculine: ``1`` is ``un``, so a reference ``une`` against ``1`` still counts
   one substitution.
4. Punctuation and symbols are removed (replaced by a space); only letters, digits, apostrophes
   and hyphens survive this step.
5. With ``drop_disfluencies`` (the default): word fragments, i.e. tokens ending in a hyphen
   (``p-``, ``l'hô-``: simsamu marks false starts this way; ASR systems do not transcribe them),
   are dropped whole.
6. Hyphens become spaces: ``dix-sept`` = ``dix sept``, ``peut-être`` = ``peut être``,
   ``est-ce`` = ``est ce``. Compounds are spelled both ways in the wild; the cost is that a
   compound counts as several words in the reference length.
7. Elisions are split after the apostrophe, which stays on the clitic: ``l'homme`` ->
   ``l' homme``, ``qu'il`` -> ``qu' il``, so ``l'`` is always its own token. Clitics: ``c d j
   l m n s t ç qu jusqu lorsqu puisqu quoiqu presqu``. Other word-internal apostrophes stay
   (``aujourd'hui``, ``quelqu'un`` are one token); stray apostrophes (quotes) are removed.
8. With ``drop_disfluencies``: the non-lexical fillers ``euh heu hum hm mh`` and their spelling
   variants (:data:`FILLERS`) are dropped. Discourse words that carry meaning and that ASR
   systems do write (``hein ben bah ah oh ouais bon``) are kept.
9. Whitespace is collapsed to single spaces.

The function is idempotent: ``normalize_fr(normalize_fr(x)) == normalize_fr(x)``.

Metrics
-------
* **WER** (jiwer ``process_words``) on the whole file's text, segments in time order, speakers
  ignored; a segment's text is its words joined by spaces when it has words, else its ``text``. Corpus WER = total errors (S + D + I) / total reference words, not a mean of files;
  the median of per-file WERs is reported beside it.
* **CER** (jiwer ``process_characters``) on the same normalised text; the single spaces between
  words count as characters (jiwer's convention). Corpus CER = total errors / total reference
  characters.
* **DER / JER** (``pyannote.metrics``: ``DiarizationErrorRate``, ``JaccardErrorRate``, overlap
  scored, ``skip_overlap=False``) between reference speaker turns and hypothesis segments.
  ``collar`` is the NIST ``md-eval -c`` / dscore ``--collar`` forgiveness: the ``collar``
  seconds **on each side** of every reference turn boundary are not scored (a 2 x ``collar``
  wide window centred on the boundary). pyannote's own ``collar`` argument is that total
  width, so we pass it ``2 * collar``; the default 0.25 s here is pyannote ``collar=0.5``.
  The same collar applies to JER. The scored region (UEM) starts at 0 s and ends at the last
  reference turn end (``uem="reference"``, hypothesis speech after it is ignored) or at the
  last reference or hypothesis end (``uem="union"``, the default: nothing is ignored).
  Corpus DER = total (missed + false alarm + confusion) / total reference speech; corpus JER =
  total per-speaker Jaccard error / number of reference speakers over all files.
* **cpWER** (concatenated minimum-permutation WER, ``meeteval``): each speaker's words are
  concatenated in time order in reference and hypothesis, speakers are paired to minimise
  the total errors (Hungarian algorithm; extra speakers on either side are paired with an
  empty stream), cpWER = errors / reference words.

DER, JER and cpWER are computed only where both sides have speakers; WER/CER only where the
reference has text. A metric that does not apply is ``None``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jiwer
from num2words import num2words

from asr.transcript import Segment, Transcript, read_json, read_rttm, read_srt, read_transcript, read_vtt

__all__ = [
    "FILLERS",
    "UEM_MODES",
    "ErrorCounts",
    "DiarizationScores",
    "CpWerScores",
    "Reference",
    "normalize_fr",
    "word_errors",
    "char_errors",
    "wer",
    "cer",
    "diarization_scores",
    "cpwer",
    "recording_name",
    "find_references",
    "load_reference",
    "load_references",
    "find_hypotheses",
    "load_hypothesis",
    "evaluate",
]

logger = logging.getLogger(__name__)

FILLERS = frozenset(
    {
        "euh",
        "euhh",
        "euuh",
        "euhm",
        "heu",
        "heuu",
        "hum",
        "humm",
        "hmm",
        "hm",
        "mh",
        "mhm",
        "mmh",
        "mm",
        "mmm",
    }
    | {"pff", "pfff"}
)
"""Non-lexical hesitation sounds dropped by ``normalize_fr(drop_disfluencies=True)``."""

UEM_MODES = ("union", "reference")
UNKNOWN_SPEAKER = "<unknown>"
"""Label given to hypothesis segments without a speaker when other segments have one."""

REFERENCE_EXTS = (".json", ".rttm", ".srt", ".vtt", ".txt")

# --------------------------------------------------------------------------- normalisation

_APOSTROPHES = str.maketrans({c: "'" for c in "’‘ʼ´`′ʹ"})
_LETTER = r"[^\W\d_]"
_CLITIC_RE = re.compile(r"^(jusqu|lorsqu|puisqu|quoiqu|presqu|qu|[cdjlmnstç])'(.*)$")
_THOUSANDS_RE = re.compile(r"(?<![\d,.])(\d{1,3})((?:[ .]\d{3})+)(?![\d]|[.,]\d)")
_ORDINAL_RE = re.compile(rf"(?<!\d)(\d+)(ères?|eres?|res?|ers?|èmes?|emes?|es?|è)(?!{_LETTER})")
_TIME_RE = re.compile(rf"(?<![\d,.])(\d{{1,2}}) ?h ?(\d{{2}})?(?!{_LETTER}|\d)")
_DECIMAL_RE = re.compile(r"(?<![\d,])(\d+),(\d+)(?![\d,])")
_DIGITS_RE = re.compile(r"\d+")
_PUNCT_RE = re.compile(r"[^\w\s'-]|_")


def _cardinal(digits: str) -> str:
    """Read a digit string: leading zeros one by one (``06`` -> ``zéro six``), then the number."""
    stripped = digits.lstrip("0")
    zeros = ["zéro"] * (len(digits) - len(stripped) if stripped else len(digits))
    return " ".join(zeros + ([num2words(int(stripped), lang="fr")] if stripped else []))


def _ordinal(m: re.Match) -> str:
    n, suffix = int(m.group(1)), m.group(2)
    if n == 1 and suffix.startswith(("r", "èr")):
        return " première" + ("s" if suffix.endswith("s") else "") + " "
    if n == 0:
        return f" {_cardinal(m.group(1))} {suffix} "
    word = num2words(n, lang="fr", to="ordinal")
    return f" {word}{'s' if suffix.endswith('s') else ''} "


def _time(m: re.Match) -> str:
    hours = _cardinal(m.group(1))
    if re.search(r"(^|[ -])un$", hours):  # 1 h, 21 h: une heure, vingt et une heures
        hours = hours[:-2] + "une"
    unit = "heure" if int(m.group(1)) <= 1 else "heures"
    minutes = f" {_cardinal(m.group(2))}" if m.group(2) else ""
    return f" {hours} {unit}{minutes} "


def _numbers_to_words(s: str) -> str:
    s = _THOUSANDS_RE.sub(lambda m: m.group(1) + re.sub(r"[ .]", "", m.group(2)), s)
    s = _ORDINAL_RE.sub(_ordinal, s)
    s = _TIME_RE.sub(_time, s)
    s = _DECIMAL_RE.sub(lambda m: f" {_cardinal(m.group(1))} virgule {_cardinal(m.group(2))} ", s)
    s = s.replace("%", " pour cent ")
    return _DIGITS_RE.sub(lambda m: f" {_cardinal(m.group(0))} ", s)


def _split_token(tok: str) -> list[str]:
    """Split one hyphen-free token into clitics and a word; drop stray apostrophes."""
    out = []
    while tok:
        tok = tok.lstrip("'")
        m = _CLITIC_RE.match(tok)
        if not m:
            break
        out.append(m.group(1) + "'")
        tok = m.group(2)
    tok = tok.strip("'")
    if tok:
        out.append(tok)
    return out


def normalize_fr(text: str, *, drop_disfluencies: bool = True) -> str:
    """Normalise French text for WER/CER scoring (rules in the module docstring).

    Args:
        text: raw transcript or reference text.
        drop_disfluencies: drop fillers (:data:`FILLERS`) and word fragments ending in ``-``.

    Returns:
        Lower-case words separated by single spaces, without digits or punctuation other than
        elision and word-internal apostrophes.
    """
    s = unicodedata.normalize("NFKC", text)
    s = "".join(c for c in s if unicodedata.category(c) != "Cf").lower()
    s = s.translate(_APOSTROPHES).replace("œ", "oe").replace("æ", "ae")
    s = _numbers_to_words(s)
    s = _PUNCT_RE.sub(" ", s)
    words: list[str] = []
    for token in s.split():
        if drop_disfluencies and token.endswith("-") and re.search(_LETTER, token):
            continue
        for part in token.split("-"):
            for w in _split_token(part):
                if not (drop_disfluencies and w in FILLERS):
                    words.append(w)
    return " ".join(words)


# --------------------------------------------------------------------------- WER / CER


@dataclass(frozen=True)
class ErrorCounts:
    """Edit operations of a hypothesis against a reference of ``ref_len`` units (words/chars)."""

    substitutions: int
    deletions: int
    insertions: int
    ref_len: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float | None:
        """``errors / ref_len``; ``None`` for an empty reference."""
        return self.errors / self.ref_len if self.ref_len else None


def _prepare(text: str, normalize: bool, drop_disfluencies: bool) -> str:
    return normalize_fr(text, drop_disfluencies=drop_disfluencies) if normalize else " ".join(text.split())


def word_errors(ref: str, hyp: str, *, normalize: bool = True, drop_disfluencies: bool = True) -> ErrorCounts:
    """Word-level edit counts (jiwer) of ``hyp`` against ``ref`` after :func:`normalize_fr`.

    ``normalize=False`` only collapses whitespace.
    """
    r, h = _prepare(ref, normalize, drop_disfluencies), _prepare(hyp, normalize, drop_disfluencies)
    o = jiwer.process_words(r, h)
    return ErrorCounts(o.substitutions, o.deletions, o.insertions, o.substitutions + o.deletions + o.hits)


def char_errors(ref: str, hyp: str, *, normalize: bool = True, drop_disfluencies: bool = True) -> ErrorCounts:
    """Character-level edit counts (jiwer); single spaces between words count as characters."""
    r, h = _prepare(ref, normalize, drop_disfluencies), _prepare(hyp, normalize, drop_disfluencies)
    o = jiwer.process_characters(r, h)
    return ErrorCounts(o.substitutions, o.deletions, o.insertions, o.substitutions + o.deletions + o.hits)


def wer(ref: str, hyp: str, **kw) -> float | None:
    """Word error rate of one pair (``None`` when the normalised reference is empty)."""
    return word_errors(ref, hyp, **kw).rate


def cer(ref: str, hyp: str, **kw) -> float | None:
    """Character error rate of one pair (``None`` when the normalised reference is empty)."""
    return char_errors(ref, hyp, **kw).rate


# --------------------------------------------------------------------------- transcript helpers


def _segment_text(s: Segment) -> str:
    # Words, when known, are the primary tokens (and Segment.text of a Rev-style JSON glues a
    # false start to the next word: "amen- euh" -> "amen-euh").
    return " ".join(w.text for w in s.words) if s.words else s.text


def _full_text(t: Transcript) -> str:
    """The whole transcript's text, segments in time order (speakers ignored)."""
    return " ".join(_segment_text(s) for s in sorted(t.segments, key=lambda s: s.start))


def _has_speakers(t: Transcript) -> bool:
    return any(s.speaker is not None for s in t.segments) or any(
        w.speaker is not None for s in t.segments for w in s.words
    )


def _speaker_texts(t: Transcript) -> dict[str, str]:
    """Each speaker's words concatenated in time order (word timings where known)."""
    items: list[tuple[float, int, str, str]] = []
    for s in t.segments:
        seg_spk = s.speaker if s.speaker is not None else UNKNOWN_SPEAKER
        if s.words:
            for w in s.words:
                spk = w.speaker if w.speaker is not None else seg_spk
                items.append((w.start, len(items), spk, w.text))
        elif s.text.strip():
            items.append((s.start, len(items), seg_spk, s.text))
    out: dict[str, list[str]] = {}
    for _, _, spk, text in sorted(items):
        out.setdefault(spk, []).append(text)
    return {spk: " ".join(texts) for spk, texts in out.items()}


def _end(t: Transcript) -> float:
    return max((s.end for s in t.segments), default=0.0)


# --------------------------------------------------------------------------- DER / JER


@dataclass(frozen=True)
class DiarizationScores:
    """Diarization errors of one file, durations in seconds over the scored region.

    ``der = (missed + false_alarm + confusion) / total``; ``jer = jer_error / jer_speakers``
    (per-speaker Jaccard errors summed, over the number of reference speakers).
    """

    total: float
    missed: float
    false_alarm: float
    confusion: float
    jer_error: float
    jer_speakers: int

    @property
    def der(self) -> float | None:
        return (self.missed + self.false_alarm + self.confusion) / self.total if self.total > 0 else None

    @property
    def jer(self) -> float | None:
        return self.jer_error / self.jer_speakers if self.jer_speakers else None


def _check_collar(collar: float) -> None:
    if not isinstance(collar, (int, float)) or not math.isfinite(collar) or collar < 0:
        raise ValueError(f"collar must be a finite number of seconds >= 0, got {collar!r}")


def _check_uem(uem: str) -> None:
    if uem not in UEM_MODES:
        raise ValueError(f"uem must be one of {', '.join(UEM_MODES)}, got {uem!r}")


def _annotation(t: Transcript, uri: str):
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    ann = Annotation(uri=uri)
    for i, s in enumerate(t.segments):
        if s.end > s.start:
            ann[PSegment(s.start, s.end), i] = s.speaker if s.speaker is not None else UNKNOWN_SPEAKER
    return ann.support()


def diarization_scores(
    ref: Transcript, hyp: Transcript, collar: float = 0.25, *, uem: str = "union"
) -> DiarizationScores:
    """DER and JER components of ``hyp`` segments against ``ref`` speaker turns (pyannote.metrics).

    Args:
        ref: reference turns (segments with speakers; text is ignored).
        hyp: hypothesis with speakers: its ``turns`` when it has them (the diarizer's
            output), else its segments.
        collar: seconds not scored on **each side** of every reference boundary (NIST/dscore
            meaning; pyannote is given ``2 * collar``).
        uem: ``"union"``: score [0, last reference or hypothesis end]; ``"reference"``: score
            [0, last reference end].

    Returns:
        :class:`DiarizationScores` (``.der``, ``.jer``).
    """
    _check_collar(collar)
    _check_uem(uem)
    from pyannote.core import Segment as PSegment
    from pyannote.core import Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    if hyp.turns:  # the diarizer's own turns ("who spoke when"), as in the RTTM output
        hyp = Transcript(hyp.turns, duration=hyp.duration)
    r, h = _annotation(ref, "ref"), _annotation(hyp, "ref")
    end = _end(ref) if uem == "reference" else max(_end(ref), _end(hyp))
    if end <= 0:
        return DiarizationScores(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    timeline = Timeline([PSegment(0.0, end)], uri="ref")
    d = DiarizationErrorRate(collar=2 * collar, skip_overlap=False)(r, h, uem=timeline, detailed=True)
    if r.labels():
        j = JaccardErrorRate(collar=2 * collar, skip_overlap=False)(r, h, uem=timeline, detailed=True)
        jer_error, jer_speakers = float(j["speaker error"]), int(j["speaker count"])
    else:
        jer_error, jer_speakers = 0.0, 0
    return DiarizationScores(
        total=float(d["total"]),
        missed=float(d["missed detection"]),
        false_alarm=float(d["false alarm"]),
        confusion=float(d["confusion"]),
        jer_error=jer_error,
        jer_speakers=jer_speakers,
    )


# --------------------------------------------------------------------------- cpWER


@dataclass(frozen=True)
class CpWerScores:
    """cpWER of one file: ``errors / ref_words`` under the best speaker pairing.

    ``assignment`` pairs reference and hypothesis speakers (``None``: paired with nothing).
    """

    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    assignment: tuple[tuple[str | None, str | None], ...]

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float | None:
        return self.errors / self.ref_words if self.ref_words else None


def cpwer(ref: Transcript, hyp: Transcript, *, drop_disfluencies: bool = True) -> CpWerScores:
    """Concatenated minimum-permutation WER (meeteval) of two speaker-attributed transcripts.

    Each speaker's words are concatenated in time order and normalised with
    :func:`normalize_fr`; unlabelled hypothesis segments form one ``<unknown>`` speaker.
    """
    try:
        from meeteval.wer import cp_word_error_rate
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("cpWER needs the 'meeteval' package: pip install meeteval") from e

    def norm(t: Transcript) -> dict[str, str]:
        return {k: normalize_fr(v, drop_disfluencies=drop_disfluencies) for k, v in _speaker_texts(t).items()}

    r, h = norm(ref), norm(hyp)
    if not r and not h:
        return CpWerScores(0, 0, 0, 0, ())
    try:
        res = cp_word_error_rate(r, h, reference_sort=False, hypothesis_sort=False)
    except Exception as e:  # meeteval raises assorted types on odd input
        raise RuntimeError(f"meeteval cpWER failed: {e}") from e
    return CpWerScores(
        substitutions=int(res.substitutions),
        deletions=int(res.deletions),
        insertions=int(res.insertions),
        ref_words=int(res.length),
        assignment=tuple((a, b) for a, b in res.assignment),
    )


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Reference:
    """What is known about one recording's reference.

    Args:
        name: recording / clip name (file stem before the first dot).
        transcript: the reference text (with speakers where known), ``None`` if only turns exist.
        turns: speaker turns for DER/JER, ``None`` without speaker information.
        sources: the files it was read from.
    """

    name: str
    transcript: Transcript | None
    turns: Transcript | None
    sources: tuple[str, ...] = ()


def recording_name(path: str | os.PathLike) -> str:
    """The name that matches hypotheses to references: the file name before its first dot."""
    return Path(path).name.split(".")[0]


def _transcript_files(folder: Path, exts: Iterable[str]) -> list[Path]:
    exts = tuple(exts)
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in exts
    )


def find_references(ref_path: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """Group reference files by recording name: ``{name: {".json": path, ".rttm": path, ...}}``.

    Layouts: a single file (its siblings with the same name are included, so a simsamu
    ``<rec>.json`` brings its ``<rec>.rttm``); a flat folder of ``<name>.{json,rttm,srt,vtt,txt}``
    (FLEURS ``<clip>.txt``, our synthesised ``<rec>.json`` + ``<rec>.rttm``); a folder of
    per-recording subfolders ``<rec>/<rec>.*`` (simsamu). Files in the folder itself and in
    its immediate subfolders are both collected; other extensions are ignored.

    Raises:
        ValueError: missing path, no reference file, or one name found in two places.
    """
    ref_path = Path(ref_path)
    if not ref_path.exists():
        raise ValueError(f"{ref_path}: no such reference file or folder")
    if ref_path.is_file():
        if ref_path.suffix.lower() not in REFERENCE_EXTS:
            raise ValueError(f"{ref_path}: unknown reference format (expected {' '.join(REFERENCE_EXTS)})")
        name = recording_name(ref_path)
        files = [p for p in _transcript_files(ref_path.parent, REFERENCE_EXTS) if recording_name(p) == name]
        return {name: {p.suffix.lower(): p for p in files}}
    found: dict[str, dict[str, Path]] = {}
    folders = [ref_path] + sorted(p for p in ref_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        for p in _transcript_files(folder, REFERENCE_EXTS):
            group = found.setdefault(recording_name(p), {})
            ext = p.suffix.lower()
            if ext in group:
                raise ValueError(f"reference {recording_name(p)!r} found twice: {group[ext]} and {p}")
            group[ext] = p
    if not found:
        raise ValueError(
            f"{ref_path}: no reference files ({' '.join(REFERENCE_EXTS)}) here or one level down"
        )
    return dict(sorted(found.items()))


def _read_plain_text(path: Path) -> Transcript:
    try:
        text = " ".join(path.read_text(encoding="utf-8-sig").split())
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read reference text ({e})") from e
    return Transcript((Segment(0.0, 0.0, None, text),), source=path.name)


def load_reference(name: str, files: dict[str, Path]) -> Reference:
    """Read one recording's reference from its files (see :func:`find_references`).

    Text: ``.json`` (word timings and speakers; simsamu Rev-style or ours), else ``.srt`` (speakers
    from the ``.rttm`` beside it), else ``.vtt``, else ``.txt`` read as plain text (FLEURS; no
    ``speaker:`` parsing). Turns: ``.rttm``, else the text's segments when they carry speakers
    and times.

    Raises:
        ValueError: a malformed file.
    """
    rttm = read_rttm(files[".rttm"]) if ".rttm" in files else None
    if ".json" in files:
        text = read_json(files[".json"])
    elif ".srt" in files:
        text = read_srt(files[".srt"], speakers_from=rttm)
    elif ".vtt" in files:
        text = read_vtt(files[".vtt"])
    elif ".txt" in files:
        text = _read_plain_text(files[".txt"])
    else:
        text = None
    turns = rttm
    if turns is None and text is not None and _has_speakers(text) and _end(text) > 0:
        turns = text
    if turns is not None and not turns.segments:
        turns = None
    return Reference(name, text, turns, tuple(str(p) for p in files.values()))


def load_references(ref_path: str | os.PathLike) -> dict[str, Reference]:
    """Read every reference under ``ref_path`` (layouts in :func:`find_references`).

    Returns:
        ``{name: Reference}`` sorted by name.

    Raises:
        ValueError: bad path or a malformed file (the first one met).
    """
    return {name: load_reference(name, files) for name, files in find_references(ref_path).items()}


def find_hypotheses(hyp_path: str | os.PathLike) -> dict[str, Path]:
    """Hypothesis files by recording name: every ``*.json`` in the folder, or one file.

    Raises:
        ValueError: missing path, or two files with the same recording name.
    """
    hyp_path = Path(hyp_path)
    if not hyp_path.exists():
        raise ValueError(f"{hyp_path}: no such hypothesis folder or file")
    if hyp_path.is_file():
        return {recording_name(hyp_path): hyp_path}
    out: dict[str, Path] = {}
    for p in _transcript_files(hyp_path, (".json",)):
        name = recording_name(p)
        if name in out:
            raise ValueError(f"two hypotheses for {name!r}: {out[name].name} and {p.name}")
        out[name] = p
    return out


def load_hypothesis(path: str | os.PathLike) -> Transcript:
    """Read one hypothesis transcript (our JSON, or any format :func:`read_transcript` knows)."""
    return read_transcript(path)


# --------------------------------------------------------------------------- evaluate


def _score(ref: Reference, hyp: Transcript, collar: float, uem: str, drop_disfluencies: bool) -> dict:
    row: dict = {}
    if ref.transcript is not None:
        r_text, h_text = _full_text(ref.transcript), _full_text(hyp)
        w = word_errors(r_text, h_text, drop_disfluencies=drop_disfluencies)
        c = char_errors(r_text, h_text, drop_disfluencies=drop_disfluencies)
        row.update(
            ref_words=w.ref_len,
            substitutions=w.substitutions,
            deletions=w.deletions,
            insertions=w.insertions,
            word_errors=w.errors,
            wer=w.rate,
            ref_chars=c.ref_len,
            char_errors=c.errors,
            cer=c.rate,
        )
    hyp_spk = _has_speakers(hyp)
    row["hyp_speakers"] = len(hyp.speakers) + (
        1 if hyp_spk and any(s.speaker is None for s in hyp.segments) else 0
    )
    if ref.turns is not None:
        row["ref_speakers"] = len(ref.turns.speakers)
        if hyp_spk:
            d = diarization_scores(ref.turns, hyp, collar, uem=uem)
            row.update(
                ref_speech=d.total,
                missed=d.missed,
                false_alarm=d.false_alarm,
                confusion=d.confusion,
                der=d.der,
                jer_error=d.jer_error,
                jer_speakers=d.jer_speakers,
                jer=d.jer,
            )
    if ref.transcript is not None and _has_speakers(ref.transcript) and hyp_spk:
        cp = cpwer(ref.transcript, hyp, drop_disfluencies=drop_disfluencies)
        row.update(
            cp_errors=cp.errors,
            cp_ref_words=cp.ref_words,
            cpwer=cp.rate,
            speaker_map={str(a): b for a, b in cp.assignment if a is not None},
        )
    return row


_ROW_KEYS = (
    "ref_words substitutions deletions insertions word_errors wer ref_chars char_errors cer "
    "ref_speakers hyp_speakers ref_speech missed false_alarm confusion der jer_error jer_speakers jer "
    "cp_errors cp_ref_words cpwer speaker_map"
).split()


def _ratio(rows: list[dict], num: Iterable[str], den: str) -> float | None:
    rows = [r for r in rows if r.get(den) is not None]
    total = sum(r[den] for r in rows)
    return sum(r[k] for r in rows for k in num) / total if total else None


def _median(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def _aggregate(rows: list[dict]) -> dict:
    ok = [r for r in rows if r["status"] == "ok"]
    total: dict = {
        "files": len(rows),
        "scored": len(ok),
        "missing": sum(r["status"] == "missing" for r in rows),
        "failed": sum(r["status"] == "error" for r in rows),
    }
    for key in (
        "ref_words",
        "substitutions",
        "deletions",
        "insertions",
        "word_errors",
        "ref_chars",
        "char_errors",
    ):
        total[key] = sum(r.get(key) or 0 for r in ok)
    for key in ("ref_speech", "missed", "false_alarm", "confusion"):
        total[key] = round(sum(r.get(key) or 0.0 for r in ok), 3)
    total["wer"] = _ratio(ok, ["word_errors"], "ref_words")
    total["cer"] = _ratio(ok, ["char_errors"], "ref_chars")
    total["der"] = _ratio(ok, ["missed", "false_alarm", "confusion"], "ref_speech")
    total["jer"] = _ratio(ok, ["jer_error"], "jer_speakers")
    total["cpwer"] = _ratio(ok, ["cp_errors"], "cp_ref_words")
    for key in ("wer", "cer", "der", "jer", "cpwer"):
        total[f"{key}_median"] = _median(ok, key)
        total[f"{key}_files"] = sum(r.get(key) is not None for r in ok)
    return total


def evaluate(
    hyp_dir: str | os.PathLike,
    ref_path: str | os.PathLike,
    collar: float = 0.25,
    *,
    uem: str = "union",
    drop_disfluencies: bool = True,
    hook: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Score a folder of hypothesis transcripts against references.

    Args:
        hyp_dir: folder of ``<name>.json`` transcripts (``llm4all transcribe`` output), or one
            transcript file.
        ref_path: reference file or folder (layouts in :func:`find_references`).
        collar: DER/JER collar in seconds on each side of reference boundaries (NIST meaning).
        uem: DER/JER scored region, ``"union"`` or ``"reference"`` (see module docstring).
        drop_disfluencies: passed to :func:`normalize_fr`.
        hook: progress callback ``hook("evaluate", completed, total)``.

    Returns:
        ``{"options": {...}, "files": [row, ...], "total": {...}, "missing": [names],
        "failed": [names], "extra_hypotheses": [names]}``. One row per reference, sorted by name,
        with ``name``, ``status`` (``ok``/``missing``/``error``), ``error``, ``hypothesis``,
        ``reference`` and the metrics that apply (rates are fractions, ``None`` where they do not
        apply): ``wer cer der jer cpwer`` with their counts (``ref_words``, ``substitutions``,
        ``deletions``, ``insertions``, ``word_errors``, ``ref_chars``, ``char_errors``,
        ``ref_speech``, ``missed``, ``false_alarm``, ``confusion`` (seconds), ``jer_error``,
        ``jer_speakers``, ``cp_errors``, ``cp_ref_words``, ``ref_speakers``, ``hyp_speakers``,
        ``speaker_map``). ``total`` holds corpus-level rates (total errors / total reference
        size over scored files), ``<metric>_median`` over files, ``<metric>_files`` (how many
        files have it), and the ``files``/``scored``/``missing``/``failed`` counts.

    Raises:
        ValueError: bad options, missing paths, no reference files, or no hypothesis matching
            any reference. A malformed single file does not raise: its row has ``status="error"``.
    """
    _check_collar(collar)
    _check_uem(uem)
    refs = find_references(ref_path)
    hyps = find_hypotheses(hyp_dir)
    matched = sorted(set(refs) & set(hyps))
    if not matched:
        ref_names = ", ".join(list(refs)[:3]) + (", ..." if len(refs) > 3 else "")
        hyp_names = ", ".join(list(hyps)[:3]) + (", ..." if len(hyps) > 3 else "") or "none"
        raise ValueError(
            f"no hypothesis in {hyp_dir} matches a reference in {ref_path} "
            f"(references: {ref_names}; hypothesis .json files: {hyp_names})"
        )
    rows = []
    for i, name in enumerate(refs, 1):
        row: dict = {
            "name": name,
            "status": "ok",
            "error": None,
            "hypothesis": str(hyps[name]) if name in hyps else None,
            "reference": [str(p) for p in refs[name].values()],
        }
        if name not in hyps:
            row["status"] = "missing"
            row["error"] = "no hypothesis"
        else:
            try:
                ref = load_reference(name, refs[name])
                hyp = load_hypothesis(hyps[name])
                row.update(_score(ref, hyp, collar, uem, drop_disfluencies))
            except (ValueError, RuntimeError, OSError, UnicodeDecodeError) as e:
                logger.info("%s: cannot score: %s", name, e)
                row["status"], row["error"] = "error", str(e)
        for key in _ROW_KEYS:
            row.setdefault(key, None)
        rows.append(row)
        if hook is not None:
            hook("evaluate", i, len(refs))
    return {
        "options": {
            "collar": collar,
            "collar_meaning": "seconds not scored on each side of every reference turn boundary "
            f"(NIST md-eval -c; pyannote collar={2 * collar:g})",
            "uem": uem,
            "drop_disfluencies": drop_disfluencies,
            "normalisation": "asr.evaluate.normalize_fr",
        },
        "files": rows,
        "total": _aggregate(rows),
        "missing": [r["name"] for r in rows if r["status"] == "missing"],
        "failed": [r["name"] for r in rows if r["status"] == "error"],
        "extra_hypotheses": sorted(set(hyps) - set(refs)),
    }
