"""Text corpora for the training core: French dialogues (new domain), replay text (old domain),
and their conversion to token tensors.

Every corpus is a ``dict[str, list[str]]`` with keys ``"train"`` and ``"validation"``; each item
is one document. Dialogue documents are one turn per line, ``SPEAKER : text``. Splits are
deterministic: a document (or, for FREDSum, a whole debate) goes to validation when a hash of
its name and the seed falls below ``val_fraction``, so adding files never reshuffles the others.

See ``data_cards/french_dialogue_corpus.md`` and ``data_cards/replay_corpus.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "french_dialogue_corpus",
    "replay_corpus",
    "replay_documents",
    "read_text_file",
    "token_blocks",
    "calibration_batches",
    "start_token_id",
    "dialogue_text",
    "fredsum_dialogue",
    "fredsum_test_files",
    "simsamu_dialogues",
    "fredsum_dialogues",
    "take_chars",
]

SHARED_DATA_ENV = "LLM4ALL_SHARED_DATA"


def default_shared_dir() -> Path:
    """``$LLM4ALL_SHARED_DATA``, else ``../shared/data`` beside the project checkout."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _check_fraction(name: str, value: float, allow_zero: bool = True) -> None:
    lo_ok = value >= 0 if allow_zero else value > 0
    if not (lo_ok and value < 1):
        raise ValueError(f"{name} must be in {'[0' if allow_zero else '(0'}, 1), got {value!r}")


def _in_validation(key: str, val_fraction: float, seed: int) -> bool:
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < val_fraction


def _split(named_docs: Iterable[tuple[str, str]], val_fraction: float, seed: int) -> dict[str, list[str]]:
    """Split ``(group, document)`` pairs by a hash of the group; order follows the input."""
    out: dict[str, list[str]] = {"train": [], "validation": []}
    for group, doc in named_docs:
        out["validation" if _in_validation(group, val_fraction, seed) else "train"].append(doc)
    return out


# --------------------------------------------------------------------------- formatting


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def dialogue_text(turns: Iterable[tuple[str | None, str]]) -> str:
    """Format ``(speaker, text)`` turns as ``SPEAKER : text`` lines.

    Consecutive turns of the same speaker are merged; whitespace is collapsed and zero-width
    characters (simsamu JSON has some) removed; empty turns dropped; a turn with no speaker is written as bare text.
    """
    merged: list[list] = []
    for spk, text in turns:
        text = " ".join(str(text).translate(_INVISIBLE).split())
        if not text:
            continue
        if merged and merged[-1][0] == spk:
            merged[-1][1] += " " + text
        else:
            merged.append([spk, text])
    return "\n".join(f"{spk} : {text}" if spk else text for spk, text in merged)


# --------------------------------------------------------------------------- simsamu


def simsamu_dialogues(simsamu_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """``(recording, dialogue)`` for every ``<rec>/<rec>.json`` under ``simsamu_dir``, sorted.

    Speakers keep their simsamu ids (``medecin``, ``patient_1``...). Unreadable files are
    logged and skipped.

    Raises:
        ValueError: when ``simsamu_dir`` does not exist.
    """
    from asr.transcript import read_transcript

    root = Path(simsamu_dir)
    if not root.is_dir():
        raise ValueError(f"simsamu directory not found: {root}")
    out = []
    for rec in sorted(p for p in root.iterdir() if p.is_dir()):
        path = rec / f"{rec.name}.json"
        if not path.exists():
            continue
        try:
            t = read_transcript(path)
        except (ValueError, OSError, KeyError) as e:
            log.warning("skipping %s: %s", path, e)
            continue
        text = dialogue_text((s.speaker, s.text) for s in t.segments)
        if text:
            out.append((rec.name, text))
    return out


# --------------------------------------------------------------------------- FREDSum

# speaker label: starts with a letter, at most 60 chars without sentence punctuation, then ":"
_LABEL = re.compile(r"^\s*([^\W\d_][^:,;!?«»\"]{0,59}?)\s*:\s*(.*)$", re.UNICODE)


def _read_fredsum_bytes(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
    # Windows-1252 right quote mis-decoded as the C1 control \x92 (sometimes doubled)
    text = text.replace("\x92’", "’").replace("’\x92", "’").replace("\x92", "’")
    return re.sub(r"[\x80-\x9f]", "", text)


def fredsum_dialogue(path: str | os.PathLike) -> str:
    """One FREDSum transcript (``SPEAKER : text`` lines, continuation lines) as a dialogue."""
    turns: list[tuple[str | None, str]] = []
    for line in _read_fredsum_bytes(Path(path)).split("\n"):
        line = line.strip()
        if not line:
            continue
        m = _LABEL.match(line)
        if m and len(m.group(1).split()) <= 6:
            turns.append((m.group(1).strip().rstrip("."), m.group(2)))
        elif turns:
            turns.append((turns[-1][0], line))
        else:
            turns.append((None, line))
    return dialogue_text(turns)


def _spelling_key(name: str) -> str:
    """Case- and doubled-letter-insensitive key: ``Destaing_Mitterrand_2`` == ``Destaing_Mitterand_2``."""
    stem = name[:-4] if name.lower().endswith(".txt") else name
    return re.sub(r"(.)\1+", r"\1", stem.lower())


def fredsum_test_files(fredsum_dir: str | os.PathLike) -> set[str]:
    """Transcript file names (as on disk) of the FREDSum test split.

    ``FREDSum_test.json`` and the file names do not always agree on spelling (the test list
    has ``Destaing_Mitterrand_2`` where the corpus has shipped ``Destaing_Mitterand_2``), so
    names are matched ignoring case and doubled letters. Test names that match no file are
    logged.

    Raises:
        ValueError: when the test list is missing or unreadable (without it the test split
            could leak into training).
    """
    root = Path(fredsum_dir)
    p = root / "FREDSum_test.json"
    try:
        names = json.loads(p.read_text(encoding="utf-8"))["FREDSum_test"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"FREDSum test list missing or unreadable: {p} ({e})") from e
    on_disk = {_spelling_key(f.name): f.name for f in (root / "transcript").glob("*.txt")}
    out = set()
    for n in names:
        k = _spelling_key(str(n))
        if k in on_disk:
            out.add(on_disk[k])
        else:
            log.warning("FREDSum test file %s not found in %s", n, root / "transcript")
    return out


def fredsum_dialogues(
    fredsum_dir: str | os.PathLike, include_test: bool = False
) -> list[tuple[str, str, str]]:
    """``(debate, file name, dialogue)`` for FREDSum transcripts, sorted by file name.

    ``debate`` is the part of the name before ``--`` (all parts of one debate share it).
    Test-split files are excluded unless ``include_test``.

    Raises:
        ValueError: when ``fredsum_dir/transcript`` does not exist.
    """
    root = Path(fredsum_dir)
    tdir = root / "transcript"
    if not tdir.is_dir():
        raise ValueError(f"FREDSum transcript directory not found: {tdir}")
    test = set() if include_test else fredsum_test_files(root)
    out = []
    for f in sorted(tdir.glob("*.txt")):
        if f.name in test:
            continue
        text = fredsum_dialogue(f)
        if text:
            out.append((_spelling_key(f.name.split("--")[0]), f.name, text))
    return out


def french_dialogue_corpus(
    shared_dir: str | os.PathLike | None = None, val_fraction: float = 0.1, seed: int = 0
) -> dict[str, list[str]]:
    """French dialogue corpus (new domain): simsamu calls and FREDSum debates, FREDSum test excluded.

    Args:
        shared_dir: the shared data directory holding ``simsamu/`` and ``fredsum/``
            (default :func:`default_shared_dir`).
        val_fraction: fraction of recordings (simsamu) and of whole debates (FREDSum; all parts
            of a debate go to the same side) sent to validation, in [0, 1).
        seed: split seed.

    Returns:
        ``{"train": [...], "validation": [...]}``, each document ``SPEAKER : text`` per line;
        simsamu documents first, then FREDSum, each in file-name order.

    Raises:
        ValueError: ``val_fraction`` outside [0, 1), or a missing data directory (named).
    """
    _check_fraction("val_fraction", val_fraction)
    root = Path(shared_dir) if shared_dir is not None else default_shared_dir()
    if not root.is_dir():
        raise ValueError(f"shared data directory not found: {root}")
    docs = [(f"simsamu/{rec}", text) for rec, text in simsamu_dialogues(root / "simsamu")]
    docs += [(f"fredsum/{debate}", text) for debate, _, text in fredsum_dialogues(root / "fredsum")]
    out = _split(docs, val_fraction, seed)
    log.info(
        "french dialogue corpus: %d train / %d validation documents",
        len(out["train"]),
        len(out["validation"]),
    )
    return out


# --------------------------------------------------------------------------- replay (old domain)

_MIN_REPLAY_CHARS = 400
_OWN_DISTRIBUTION = "llm4all"


def _package_descriptions(site_packages: Sequence[Path]) -> list[tuple[str, str]]:
    """``(distribution, long description)`` from ``*.dist-info/METADATA`` files, deduplicated."""
    seen: set[str] = set()
    out = []
    for sp in site_packages:
        for meta in sorted(Path(sp).glob("*.dist-info/METADATA")):
            try:
                raw = meta.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            head, sep, body = raw.partition("\n\n")
            if not sep:
                continue
            body = body.strip()
            name = meta.parent.name.split("-")[0].lower()
            if name == _OWN_DISTRIBUTION:  # our own README: French, and it changes with every edit
                continue
            digest = hashlib.sha256(body.encode()).hexdigest()
            if name in seen or digest in seen or len(body) < _MIN_REPLAY_CHARS:
                continue
            seen.update((name, digest))
            out.append((name, body))
    return out


def _site_packages() -> list[Path]:
    import site

    paths = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    return paths or [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]


REPLAY_MANIFEST = Path(__file__).with_name("replay_manifest.json")


def replay_manifest(docs: Sequence[tuple[str, str]]) -> dict:
    """A manifest that freezes a package-description corpus without copying its text: the
    distribution names and the SHA-256 of each description."""
    return {
        "what": "long descriptions (*.dist-info/METADATA) of these Python distributions; text not stored here",
        "documents": [
            {"name": n, "sha256": hashlib.sha256(d.encode()).hexdigest(), "chars": len(d)} for n, d in docs
        ],
    }


def _frozen_descriptions(manifest_path: Path) -> list[tuple[str, str]]:
    """The installed descriptions the manifest lists, in its order, checked by hash; missing or
    changed ones are left out with a warning (so a newly installed package never enters)."""
    try:
        wanted = json.loads(Path(manifest_path).read_text())["documents"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"replay manifest unreadable: {manifest_path} ({e})") from None
    found = dict(_package_descriptions(_site_packages()))
    docs, lost = [], []
    for entry in wanted:
        body = found.get(entry["name"])
        if body is not None and hashlib.sha256(body.encode()).hexdigest() == entry["sha256"]:
            docs.append((entry["name"], body))
        else:
            lost.append(entry["name"])
    if lost:
        log.warning(
            "replay corpus: %d of %d frozen documents missing or changed in this environment (%s%s)",
            len(lost),
            len(wanted),
            ", ".join(lost[:8]),
            ", ..." if len(lost) > 8 else "",
        )
    if not docs:
        raise ValueError(
            f"none of the {len(wanted)} package descriptions listed in {manifest_path} is installed "
            "unchanged; pass source='installed' or a text source"
        )
    return docs


def replay_corpus(
    source: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_chars_per_doc: int = 20000,
) -> dict[str, list[str]]:
    """Old-domain ("replay") text: English technical prose the base models were trained on.

    By default, the long descriptions (README rendered into ``METADATA``) of Python
    distributions installed in this environment: English documentation with some code,
    available offline, licensed by each package (mostly MIT/BSD/Apache). One document per
    distribution, deduplicated by name and content. The default set is **frozen** by
    ``core_training/replay_manifest.json`` (names and SHA-256 of the descriptions measured in
    the benchmarks): installing another package does not change it, and a description that
    changed or disappeared is left out with a warning.

    Args:
        source: ``None`` (the frozen set), ``"installed"`` (every installed distribution, as it
            is now), or a text file / directory of ``.txt`` / ``.jsonl`` files / list of such
            files read with :func:`read_text_file`.
        val_fraction: fraction of documents (by name hash) sent to validation, in [0, 1).
        seed: split seed.
        max_chars_per_doc: documents are cut to this many characters (0: no cut).

    Returns:
        ``{"train": [...], "validation": [...]}``.

    Raises:
        ValueError: bad ``val_fraction``, a missing ``source`` path (named), or a frozen set
            with none of its documents installed.
    """
    _check_fraction("val_fraction", val_fraction)
    docs = replay_documents(source, max_chars_per_doc)
    out = _split(docs, val_fraction, seed)
    log.info("replay corpus: %d train / %d validation documents", len(out["train"]), len(out["validation"]))
    return out


def replay_documents(
    source: str | os.PathLike | Sequence[str | os.PathLike] | None = None, max_chars_per_doc: int = 20000
) -> list[tuple[str, str]]:
    """``(name, document)`` pairs of the replay corpus before its split (see :func:`replay_corpus`):
    distribution names for package descriptions, ``<file name>:<index>`` for text files.

    Raises:
        ValueError: a missing ``source`` path (named), or a frozen set with none of its
            documents installed.
    """
    if source is None:
        docs = _frozen_descriptions(REPLAY_MANIFEST)
    elif isinstance(source, str) and source == "installed":
        docs = _package_descriptions(_site_packages())
    else:
        paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        files: list[Path] = []
        for p in map(Path, paths):
            if p.is_dir():
                files += sorted(x for x in p.rglob("*") if x.suffix in (".txt", ".jsonl", ".md"))
            elif p.exists():
                files.append(p)
            else:
                raise ValueError(f"replay source not found: {p}")
        docs = []
        for f in files:
            docs += [(f"{f.name}:{i}", d) for i, d in enumerate(read_text_file(f))]
    if max_chars_per_doc:
        docs = [(n, d[:max_chars_per_doc]) for n, d in docs]
    return docs


def read_text_file(path: str | os.PathLike) -> list[str]:
    """Documents of a text file.

    - ``.jsonl``: one JSON object per line, the document in its ``"text"`` field;
    - anything else (``.txt``, ``.md``): documents separated by blank lines.

    Raises:
        ValueError: when ``path`` does not exist, or a ``.jsonl`` line is not an object with
            a string ``"text"`` (the line number is named).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"text file not found: {p}")
    raw = p.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    if p.suffix == ".jsonl":
        docs = []
        for i, line in enumerate(raw.split("\n"), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{p}:{i}: expected a JSON object with a string 'text' ({e})") from e
            if text.strip():
                docs.append(text)
        return docs
    return [d.strip() for d in re.split(r"\n\s*\n", raw) if d.strip()]


def take_chars(texts: Sequence[str], max_chars: int) -> list[str]:
    """The first documents of ``texts`` up to ``max_chars`` characters in all (the last one cut
    at a line or word boundary), so models with different tokenizers score the same text."""
    out, n = [], 0
    for t in texts:
        if n >= max_chars:
            break
        room = max_chars - n
        if len(t) > room:
            cut = t[:room]
            for sep in ("\n", " "):
                i = cut.rfind(sep)
                if i > room // 2:
                    cut = cut[:i]
                    break
            if cut.strip():
                out.append(cut.rstrip())
            break
        out.append(t)
        n += len(t)
    return out


# --------------------------------------------------------------------------- tokens


def start_token_id(tokenizer) -> int | None:
    """The token put in front of every document and block: the BOS the tokenizer adds itself
    (Gemma, Llama), else its ``bos_token_id``, else ``eos_token_id`` (document separator)."""
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    if len(ids) > len(plain) and ids[0] != (plain[0] if plain else None):
        return int(ids[0])
    for tid in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    return None


def token_blocks(texts: Sequence[str], tokenizer, block_size: int):
    """Concatenate documents and cut them into training blocks.

    Each document is tokenized without special tokens and followed by ``eos_token_id``; the
    stream is cut into pieces of ``block_size - 1`` tokens, each prefixed with
    :func:`start_token_id` (so every block starts like a document, which Gemma needs). The
    incomplete tail is dropped.

    Returns:
        ``torch.LongTensor [n_blocks, block_size]`` (``n_blocks`` may be 0).

    Raises:
        ValueError: ``block_size`` < 2.
    """
    import torch

    if int(block_size) < 2:
        raise ValueError(f"block_size must be >= 2, got {block_size!r}")
    start = start_token_id(tokenizer)
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for t in texts:
        stream += tokenizer(t, add_special_tokens=False)["input_ids"]
        if eos is not None:
            stream.append(int(eos))
    body = block_size - (1 if start is not None else 0)
    n = len(stream) // body
    x = torch.tensor(stream[: n * body], dtype=torch.long).view(n, body)
    if start is not None:
        x = torch.cat([torch.full((n, 1), start, dtype=torch.long), x], dim=1)
    return x


def calibration_batches(texts: Sequence[str], tokenizer, n: int = 16, seq_len: int = 256, seed: int = 0):
    """``n`` calibration sequences of ``seq_len`` tokens drawn (seeded) from :func:`token_blocks`.

    Returns:
        list of ``torch.LongTensor [1, seq_len]`` (fewer than ``n`` when the texts are short;
        a warning is logged).

    Raises:
        ValueError: ``n`` < 1 or no full block can be made from ``texts``.
    """
    import torch

    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    blocks = token_blocks(texts, tokenizer, seq_len)
    if len(blocks) == 0:
        raise ValueError(f"texts too short for one calibration block of seq_len={seq_len} tokens")
    if len(blocks) < n:
        log.warning("only %d calibration blocks of %d tokens available (asked %d)", len(blocks), seq_len, n)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(blocks), generator=g)[:n].sort().values
    return [blocks[i : i + 1].clone() for i in idx.tolist()]
