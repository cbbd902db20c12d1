"""The one shared transcript type, with readers and writers.

Standard library only (no numpy, no torch): every package in the project passes these
objects around. Third-party objects (pyannote ``Annotation``, faster-whisper segments) are
converted to these at the ``asr`` boundary.

Times are float seconds named ``start``/``end``.

Formats:

* JSON: our own (``Transcript.to_dict``) and, for reading, the Rev-style JSON of simsamu
  (``{"monologues": [{"speaker": {"id": ...}, "terms": [...]}]}``).
* RTTM: ``SPEAKER <file> 1 <start> <dur> <NA> <NA> <speaker> <NA> <NA>`` (speaker turns only;
  ``<NA>`` file ids are accepted).
* SRT: one cue per segment; the speaker is written as a ``[speaker]`` prefix. Readers accept
  cues with a trailing turn number after the timestamp (simsamu) and odd cue indexes.
* WebVTT: one cue per segment, speaker as a ``<v speaker>`` voice span.
* Plain text: ``speaker: text`` lines (written only; read back as untimed segments).
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = [
    "Word",
    "Segment",
    "Transcript",
    "FORMATS",
    "read_transcript",
    "write_transcript",
    "read_json",
    "write_json",
    "read_rttm",
    "write_rttm",
    "read_srt",
    "write_srt",
    "read_vtt",
    "write_vtt",
    "write_txt",
    "read_txt",
    "atomic_write_text",
    "json_safe",
    "json_dumps_strict",
    "segments_from_words",
    "fold_accents",
]

FORMATS = ("json", "rttm", "srt", "vtt", "txt")


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span (seconds) and probability (``None`` if unknown)."""

    text: str
    start: float
    end: float
    prob: float | None = None
    speaker: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"Word {self.text!r}: end {self.end} < start {self.start}")

    def to_dict(self) -> dict:
        d = {"text": self.text, "start": round(self.start, 3), "end": round(self.end, 3)}
        if self.prob is not None:
            d["prob"] = round(self.prob, 4)
        if self.speaker is not None:
            d["speaker"] = self.speaker
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Word:
        return cls(
            text=str(d["text"]),
            start=float(d["start"]),
            end=float(d["end"]),
            prob=None if d.get("prob") is None else float(d["prob"]),
            speaker=d.get("speaker"),
        )


@dataclass(frozen=True)
class Segment:
    """A run of speech by one speaker: ``text`` and, when known, its ``words``."""

    start: float
    end: float
    speaker: str | None = None
    text: str = ""
    words: tuple[Word, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"Segment at {self.start}: end {self.end} < start {self.start}")
        if not isinstance(self.words, tuple):
            object.__setattr__(self, "words", tuple(self.words))

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        d = {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "speaker": self.speaker,
            "text": self.text,
        }
        if self.words:
            d["words"] = [w.to_dict() for w in self.words]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        return cls(
            start=float(d["start"]),
            end=float(d["end"]),
            speaker=d.get("speaker"),
            text=str(d.get("text", "")),
            words=tuple(Word.from_dict(w) for w in d.get("words", ())),
        )


@dataclass(frozen=True)
class Transcript:
    """A speaker-labelled transcript.

    Args:
        segments: segments in time order.
        language: ISO 639-1 code (``"fr"``) or ``None``.
        duration: audio duration in seconds, if known.
        source: where it came from (a file name), informative only.
        speakers: speaker labels in order of first appearance; filled from the segments when
            left empty.
        roles: optional mapping speaker label -> role (``regulateur``/``appelant``).
        turns: speaker turns from diarization ("who spoke when", no text), when known. They
            can differ from ``segments`` (runs of one speaker's recognised words): a turn
            where nothing was recognised still counts as speech. RTTM output uses them.
        detected_language: the language Whisper hears in the audio (its own language
            identification on the first 30 s of speech), whatever ``language`` was forced
            to; ``None`` when not measured. ``language`` stays the language of the text
            (the one decoding used): French forced on English speech gives ``language="fr"``
            and ``detected_language="en"``.
        language_probability: Whisper's probability of ``detected_language`` (0..1), or
            ``None``.

    JSON: ``detected_language`` / ``language_probability`` are written only when known, and
    files without them read back as ``None`` (older files stay readable, older readers ignore
    the new keys).
    """

    segments: tuple[Segment, ...] = ()
    language: str | None = None
    duration: float | None = None
    source: str | None = None
    speakers: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)
    turns: tuple[Segment, ...] = ()
    detected_language: str | None = None
    language_probability: float | None = None

    def __post_init__(self) -> None:
        if self.language_probability is not None and not 0.0 <= self.language_probability <= 1.0:
            raise ValueError(
                f"Transcript.language_probability must be in [0, 1] or None, got {self.language_probability}"
            )
        if not isinstance(self.segments, tuple):
            object.__setattr__(self, "segments", tuple(self.segments))
        if not isinstance(self.turns, tuple):
            object.__setattr__(self, "turns", tuple(self.turns))
        if not self.speakers:
            seen: list[str] = []
            for s in self.segments:
                if s.speaker is not None and s.speaker not in seen:
                    seen.append(s.speaker)
            object.__setattr__(self, "speakers", tuple(seen))
        elif not isinstance(self.speakers, tuple):
            object.__setattr__(self, "speakers", tuple(self.speakers))

    @property
    def text(self) -> str:
        """All segment texts joined by spaces."""
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> list[Word]:
        """All words, each carrying its segment's speaker when it has none of its own."""
        out = []
        for s in self.segments:
            for w in s.words:
                out.append(w if w.speaker is not None else replace(w, speaker=s.speaker))
        return out

    def with_roles(self, roles: dict[str, str]) -> Transcript:
        return replace(self, roles=dict(roles))

    def relabel(self, mapping: dict[str, str]) -> Transcript:
        """Rename speakers (e.g. ``SPEAKER_00`` -> ``regulateur``)."""

        def m(s: str | None) -> str | None:
            return mapping.get(s, s) if s is not None else None

        segs = tuple(
            replace(
                s,
                speaker=m(s.speaker),
                words=tuple(replace(w, speaker=m(w.speaker)) for w in s.words),
            )
            for s in self.segments
        )
        return Transcript(
            segs,
            language=self.language,
            duration=self.duration,
            source=self.source,
            speakers=tuple(dict.fromkeys(m(s) for s in self.speakers)),
            roles={m(k): v for k, v in self.roles.items()},
            turns=tuple(replace(s, speaker=m(s.speaker)) for s in self.turns),
            detected_language=self.detected_language,
            language_probability=self.language_probability,
        )

    def to_dict(self) -> dict:
        d: dict = {"language": self.language}
        if self.detected_language is not None:
            d["detected_language"] = self.detected_language
        if self.language_probability is not None:
            d["language_probability"] = round(self.language_probability, 4)
        return d | {
            "duration": None if self.duration is None else round(self.duration, 3),
            "source": self.source,
            "speakers": list(self.speakers),
            "roles": dict(self.roles),
            "segments": [s.to_dict() for s in self.segments],
            "turns": [
                {"start": round(s.start, 3), "end": round(s.end, 3), "speaker": s.speaker} for s in self.turns
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Transcript:
        if not isinstance(d, dict) or "segments" not in d:
            raise ValueError("not a transcript dict: missing 'segments'")
        return cls(
            segments=tuple(Segment.from_dict(s) for s in d["segments"]),
            language=d.get("language"),
            duration=d.get("duration"),
            source=d.get("source"),
            speakers=tuple(d.get("speakers") or ()),
            roles=dict(d.get("roles") or {}),
            turns=tuple(Segment.from_dict(s) for s in d.get("turns") or ()),
            detected_language=d.get("detected_language"),
            language_probability=None
            if d.get("language_probability") is None
            else float(d["language_probability"]),
        )


# --------------------------------------------------------------------------- helpers


def fold_accents(text: str, keep_offsets: bool = False) -> str:
    """Lower-case ``text`` and remove its accents: ``"Éloïse à l'Hôpital"`` -> ``"eloise a l'hopital"``.

    The one accent-folding function of the project (rules, pseudonymisation, roles and summaries
    all match on folded text). Punctuation is kept; callers that want it gone map it themselves.

    Args:
        text: any text.
        keep_offsets: fold one character into exactly one character, so that offsets in the
            folded text are offsets in ``text`` (a character without a one-character folding,
            such as ``œ`` or ``ﬁ``, is only lower-cased; a lone combining mark stays as it is,
            so normalise to NFC first). Otherwise the text is decomposed (NFKD), marks dropped
            and the rest case-folded (``ﬁ`` -> ``fi``, ``ß`` -> ``ss``; lengths may change).
    Returns:
        the folded text.
    """
    if keep_offsets:
        return "".join([_fold_char(c) for c in text])
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    b = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()
    if len(b) == 1:
        return b
    low = c.lower()
    return low if len(low) == 1 else c


_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(obj):
    """``obj`` ready for standard JSON: NaN and infinite floats become ``None`` (``null``), at any
    depth of dicts, lists and tuples (tuples become lists); other values are returned as they are.

    The project's files never hold ``NaN``/``Infinity`` (JavaScript, ``jq`` and strict parsers
    refuse them); a metric with no data (the mean of an empty set) is written as ``null``.
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def json_dumps_strict(obj, **kwargs) -> str:
    """``json.dumps(obj, **kwargs)`` that never writes ``NaN``/``Infinity``: non-finite floats
    become ``null`` (:func:`json_safe`, also on what a ``default=`` hook returns), and
    ``allow_nan=False`` catches anything left. Use it for every file and CLI output of JSON."""
    default = kwargs.pop("default", None)
    if default is not None:
        kwargs["default"] = lambda o: json_safe(default(o))
    kwargs.pop("allow_nan", None)
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def _join_words(words: Iterable[str]) -> str:
    """Join word tokens into text, gluing punctuation and French elisions."""
    out = ""
    for w in words:
        w = w.strip()
        if not w:
            continue
        if not out:
            out = w
        elif w[0] in ",.;:!?)…" or out.endswith(("'", "’", "(")):
            # French typography would put a space before ;:!? but transcripts don't.
            out += w
        else:
            out += " " + w
    return out


def segments_from_words(words: Sequence[Word], max_gap: float = 2.0) -> tuple[Segment, ...]:
    """Group words into segments: runs of one speaker's words, split at pauses > ``max_gap``."""
    segs: list[Segment] = []
    cur: list[Word] = []
    for w in words:
        if cur and (w.speaker != cur[-1].speaker or w.start - cur[-1].end > max_gap):
            segs.append(_seg(cur))
            cur = []
        cur.append(w)
    if cur:
        segs.append(_seg(cur))
    return tuple(segs)


def _seg(words: list[Word]) -> Segment:
    return Segment(
        start=words[0].start,
        end=max(w.end for w in words),
        speaker=words[0].speaker,
        text=_join_words(w.text for w in words),
        words=tuple(words),
    )


# --------------------------------------------------------------------------- JSON


def read_json(path: str | os.PathLike) -> Transcript:
    """Read our transcript JSON or a Rev-style JSON (simsamu) with word timings."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable JSON transcript ({e})") from e
    if isinstance(d, dict) and "monologues" in d:
        return _from_rev(d, source=path.name)
    if isinstance(d, dict) and "segments" in d:
        try:
            t = Transcript.from_dict(d)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: malformed transcript JSON ({e})") from e
        return t if t.source else replace(t, source=path.name)
    raise ValueError(f"{path}: JSON is neither a transcript ('segments') nor Rev-style ('monologues')")


def _from_rev(d: dict, source: str | None = None) -> Transcript:
    segs = []
    for m in d["monologues"]:
        spk = (m.get("speaker") or {}).get("id") or m.get("speaker_name")
        if spk is not None:
            spk = str(spk)
        words: list[Word] = []
        tokens: list[str] = []
        for t in m.get("terms", ()):
            text = str(t.get("text", ""))
            if t.get("type", "WORD") == "WORD":
                s, e = float(t.get("start", 0.0)), float(t.get("end", 0.0))
                words.append(Word(text, s, max(s, e), t.get("confidence"), spk))
            tokens.append(text)
        start = float(m.get("start", words[0].start if words else 0.0))
        end = float(m.get("end", words[-1].end if words else start))
        segs.append(Segment(start, max(start, end), spk, _join_words(tokens), tuple(words)))
    segs.sort(key=lambda s: s.start)
    return Transcript(tuple(segs), language="fr", source=source)


def write_json(t: Transcript, path: str | os.PathLike) -> None:
    atomic_write_text(path, json_dumps_strict(t.to_dict(), ensure_ascii=False, indent=1) + "\n")


# --------------------------------------------------------------------------- RTTM


def read_rttm(path: str | os.PathLike, file_id: str | None = None) -> Transcript:
    """Read speaker turns from an RTTM file (text is empty).

    ``file_id`` keeps only lines of that file; ``<NA>`` ids always match.
    """
    path = Path(path)
    segs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] != "SPEAKER":
            continue
        if len(parts) < 8:
            raise ValueError(f"{path}:{n}: RTTM line has {len(parts)} fields, expected 10")
        if file_id is not None and parts[1] not in (file_id, "<NA>"):
            continue
        try:
            start, dur = float(parts[3]), float(parts[4])
        except ValueError as e:
            raise ValueError(f"{path}:{n}: bad RTTM time {parts[3]!r}/{parts[4]!r}") from e
        segs.append(Segment(start, start + max(0.0, dur), parts[7]))
    segs.sort(key=lambda s: s.start)
    return Transcript(tuple(segs), source=path.name)


def rttm_text(t: Transcript, file_id: str = "audio") -> str:
    """RTTM lines for the speaker turns (``t.turns`` when present, else the segments)."""
    file_id = re.sub(r"\s+", "_", file_id) or "audio"
    lines = [
        f"SPEAKER {file_id} 1 {s.start:.3f} {s.duration:.3f} <NA> <NA> {s.speaker or 'unknown'} <NA> <NA>"
        for s in (t.turns or t.segments)
        if s.duration > 0
    ]
    return "".join(line + "\n" for line in lines)


def write_rttm(t: Transcript, path: str | os.PathLike, file_id: str | None = None) -> None:
    atomic_write_text(path, rttm_text(t, file_id or Path(path).stem.split(".")[0]))


# --------------------------------------------------------------------------- SRT / VTT

_TS = r"(?:(\d+):)?(\d{2}):(\d{2})[,.](\d{1,3})"  # hours optional (WebVTT mm:ss.ttt)
_CUE_RE = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}(.*)$")
_SPK_PREFIX = re.compile(r"^\[([^\]]+)\]\s*")
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+([^>]+)>(.*?)(?:</v>)?$", re.S)


def _ts(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def _fmt(t: float, sep: str) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _read_cues(path: Path) -> list[tuple[float, float, str, str]]:
    """Parse SRT/VTT cues: (start, end, settings-or-trailer, text)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read subtitles ({e})") from e
    cues = []
    cur = None
    for line in raw.replace("\r\n", "\n").split("\n"):
        m = _CUE_RE.match(line)
        if m:
            if cur:
                cues.append(cur)
            g = m.groups()
            cur = [_ts(*g[0:4]), _ts(*g[4:8]), g[8].strip(), []]
        elif cur is not None:
            if line.strip():
                cur[3].append(line.strip())
            elif cur[3]:
                cues.append(cur)
                cur = None
    if cur:
        cues.append(cur)
    return [(s, max(s, e), tr, "\n".join(txt)) for s, e, tr, txt in cues]


def read_srt(path: str | os.PathLike, speakers_from: Transcript | None = None) -> Transcript:
    """Read SRT cues as segments.

    Speakers come from a ``[speaker]`` text prefix (what we write). Cue numbers before the
    timestamp and a trailing turn number after it (simsamu) are ignored. ``speakers_from``
    (e.g. the RTTM of the same recording) assigns each cue the speaker of the turn that
    overlaps it most.
    """
    path = Path(path)
    segs = []
    for s, e, _trailer, text in _read_cues(path):
        spk = None
        m = _SPK_PREFIX.match(text)
        if m:
            spk, text = m.group(1), text[m.end() :]
        text = " ".join(text.split())
        if text in ("<NA>", "NA"):  # simsamu marks empty turns this way
            text = ""
        segs.append(Segment(s, e, spk, text))
    if (
        not segs
        and path.stat().st_size > 0
        and "-->" not in path.read_text(encoding="utf-8", errors="replace")
    ):
        raise ValueError(f"{path}: no SRT cues found")
    t = Transcript(tuple(sorted(segs, key=lambda x: x.start)), source=path.name)
    if speakers_from is not None:
        t = _speakers_by_overlap(t, speakers_from)
    return t


def _speakers_by_overlap(t: Transcript, ref: Transcript) -> Transcript:
    segs = []
    for s in t.segments:
        best, best_ov = s.speaker, 0.0
        for r in ref.segments:
            ov = min(s.end, r.end) - max(s.start, r.start)
            if ov > best_ov:
                best, best_ov = r.speaker, ov
        segs.append(replace(s, speaker=best))
    return replace(t, segments=tuple(segs), speakers=())


def srt_text(t: Transcript) -> str:
    out = []
    for i, s in enumerate(t.segments, 1):
        prefix = f"[{s.speaker}] " if s.speaker else ""
        out.append(f"{i}\n{_fmt(s.start, ',')} --> {_fmt(s.end, ',')}\n{prefix}{s.text}\n")
    return "\n".join(out)


def write_srt(t: Transcript, path: str | os.PathLike) -> None:
    atomic_write_text(path, srt_text(t))


def read_vtt(path: str | os.PathLike) -> Transcript:
    """Read WebVTT cues; ``<v speaker>`` voice spans give the speaker."""
    path = Path(path)
    head = path.read_text(encoding="utf-8-sig", errors="replace")[:10]
    if not head.startswith("WEBVTT"):
        raise ValueError(f"{path}: not a WebVTT file (missing WEBVTT header)")
    segs = []
    for s, e, _settings, text in _read_cues(path):
        spk = None
        m = _VOICE.match(text)
        if m:
            spk, text = html.unescape(m.group(1).strip()), m.group(2)
        text = html.unescape(re.sub(r"</?[^>]+>", "", text))
        segs.append(Segment(s, e, spk, " ".join(text.split())))
    return Transcript(tuple(segs), source=path.name)


def _vtt_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(t: Transcript) -> str:
    out = ["WEBVTT\n"]
    for s in t.segments:
        body = _vtt_escape(s.text)
        if s.speaker:
            body = f"<v {_vtt_escape(s.speaker)}>{body}</v>"
        out.append(f"{_fmt(s.start, '.')} --> {_fmt(s.end, '.')}\n{body}\n")
    return "\n".join(out)


def write_vtt(t: Transcript, path: str | os.PathLike) -> None:
    atomic_write_text(path, vtt_text(t))


# --------------------------------------------------------------------------- text


def txt_text(t: Transcript) -> str:
    lines = []
    for s in t.segments:
        role = t.roles.get(s.speaker) if s.speaker else None
        who = role or s.speaker
        lines.append(f"{who}: {s.text}" if who else s.text)
    return "".join(line + "\n" for line in lines)


def write_txt(t: Transcript, path: str | os.PathLike) -> None:
    atomic_write_text(path, txt_text(t))


_TXT_LINE = re.compile(r"^\s*([^:]{1,60}?)\s*:\s*(.*)$")


def read_txt(path: str | os.PathLike) -> Transcript:
    """Read ``SPEAKER : text`` lines (our .txt output, FREDSum) as untimed segments.

    Lines without a ``speaker:`` prefix continue the previous speaker (or have none).
    Segment times are 0 (unknown).
    """
    path = Path(path)
    segs = []
    spk = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        m = _TXT_LINE.match(line)
        if m:
            spk, text = html.unescape(m.group(1).strip()), m.group(2).strip()
        else:
            text = line.strip()
        segs.append(Segment(0.0, 0.0, spk, text))
    return Transcript(tuple(segs), source=path.name)


# --------------------------------------------------------------------------- dispatch


def read_transcript(path: str | os.PathLike) -> Transcript:
    """Read a transcript by extension (.json, .rttm, .srt, .vtt, .txt).

    For a simsamu-style ``.srt`` with an ``.rttm`` beside it, speakers come from the RTTM.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    ext = path.suffix.lower()
    if ext == ".json":
        return read_json(path)
    if ext == ".rttm":
        return read_rttm(path)
    if ext == ".srt":
        rttm = path.with_suffix(".rttm")
        return read_srt(path, speakers_from=read_rttm(rttm) if rttm.exists() else None)
    if ext == ".vtt":
        return read_vtt(path)
    if ext == ".txt":
        return read_txt(path)
    raise ValueError(f"{path}: unknown transcript format {ext!r} (expected .json .rttm .srt .vtt .txt)")


def write_transcript(t: Transcript, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``t`` to ``path`` in ``fmt`` (default: from the extension), atomically."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    writers = {"json": write_json, "rttm": write_rttm, "srt": write_srt, "vtt": write_vtt, "txt": write_txt}
    if fmt not in writers:
        raise ValueError(f"unknown transcript format {fmt!r}; choose from {', '.join(FORMATS)}")
    writers[fmt](t, path)
