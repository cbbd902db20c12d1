"""The project's corpora as Hugging Face ``datasets``, built from local files and cached.

    from core_training.datasets import load_corpus, block_dataset
    dd = load_corpus("fredsum")            # DatasetDict {"train": 115 rows, "test": 29 rows}
    dd.save_to_disk("fredsum_ds")          # datasets.load_from_disk("fredsum_ds") reads it back
    blocks = block_dataset(load_corpus("french_dialogue")["train"], tokenizer, 256)

Corpora (:data:`CORPORA`; one data card each in ``data_cards/``):

- ``french_dialogue``: the continued-pretraining corpus of :func:`core_training.data.french_dialogue_corpus`
  (simsamu calls + FREDSum non-test debates), splits ``train`` / ``validation``; columns
  ``text``, ``source`` (``simsamu`` / ``fredsum``), ``doc_id``, ``group`` (the split key);
- ``fredsum``: FREDSum with its official split, ``train`` (115 transcripts) / ``test`` (the 29 of
  ``FREDSum_test.json``); columns ``name``, ``debate``, ``dialogue`` (``SPEAKER : text`` lines),
  ``references`` (``{"1", "2", "3"}``: the abstractive summaries, ``None`` where missing);
- ``samu_calls``: the project's SAMU calls with their gold forms (``samu/calls``), splits
  ``train`` / ``dev`` (the blind set is never exposed); columns ``call``, ``writer``,
  ``call_date``, ``style``, ``turns`` (``[{"speaker", "text"}]``), ``text`` (``speaker : text``
  lines), ``fields`` (the 11 gold fields), ``evidence`` (``[{"field", "turn", "quote"}]``), ``notes``;
- ``replay``: the old-domain corpus of :func:`core_training.data.replay_corpus`, ``train`` /
  ``validation``; columns ``text``, ``name``.

Nothing is downloaded and no third-party text is stored in the project: each corpus is built at
run time from ``../shared/data`` (``$LLM4ALL_SHARED_DATA``), the project's ``samu/calls`` or the
installed packages, then saved with ``save_to_disk`` under ``$LLM4ALL_CACHE/datasets``
(default ``~/.cache/llm4all/datasets``) in a directory named by a fingerprint of the source
files' contents, the options and this module's code: a changed source, option or builder
rebuilds, an unchanged one loads in milliseconds (memory-mapped Arrow files).

Training text becomes blocks in two ``Dataset.map`` passes: :func:`tokenize_documents` (one row
per document, ``eos`` appended) and :func:`pack_blocks` (``batched=True``; fixed-size blocks, each
prefixed with :func:`core_training.data.start_token_id`). The blocks are exactly those of
:func:`core_training.data.token_blocks`: same token stream, same cut, incomplete tail dropped,
including blocks that straddle two map batches. On a cached corpus the map results are cached
beside it (keyed by the tokenizer's content), so a second run does not tokenize again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from core_training import data

log = logging.getLogger(__name__)

__all__ = [
    "CORPORA",
    "load_corpus",
    "datasets_cache_dir",
    "samu_calls_dir",
    "tokenize_documents",
    "pack_blocks",
    "block_dataset",
    "blocks_tensor",
]

CORPORA = ("french_dialogue", "fredsum", "samu_calls", "replay")
SPLITS = {
    "french_dialogue": ("train", "validation"),
    "fredsum": ("train", "test"),
    "samu_calls": ("train", "dev"),
    "replay": ("train", "validation"),
}
# bump when the layout of a built corpus changes in a way the code hash would not show
_LAYOUT = 1
_OPTIONS = {
    "french_dialogue": {"val_fraction": 0.1, "seed": 0},
    "fredsum": {},
    "samu_calls": {},
    "replay": {"source": None, "val_fraction": 0.1, "seed": 0, "max_chars_per_doc": 20000},
}


# --------------------------------------------------------------------------- helpers


def datasets_cache_dir() -> Path:
    """``$LLM4ALL_CACHE/datasets`` (default ``~/.cache/llm4all/datasets``)."""
    from asr.models import cache_dir

    return cache_dir() / "datasets"


def samu_calls_dir() -> Path:
    """The ``samu/calls`` directory of the installed project, found without importing ``samu``
    (``core_training`` never imports a head)."""
    import importlib.util

    spec = importlib.util.find_spec("samu")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "calls"
    return Path(__file__).resolve().parents[1] / "samu" / "calls"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No ``datasets`` progress bars inside the library (apps show progress through hooks)."""
    import datasets

    was = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was:
            datasets.enable_progress_bars()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()


def _code_hash() -> str:
    """Hash of the code that builds the corpora (this module and :mod:`core_training.data`)."""
    h = hashlib.sha256()
    for mod_file in (Path(__file__), Path(data.__file__)):
        h.update(mod_file.read_bytes())
    return h.hexdigest()


def _fingerprint(
    name: str, options: dict, files: Sequence[tuple[str, Path]] = (), texts: Sequence[str] = ()
) -> str:
    """SHA-256 (first 16 hex) of the corpus name, options, code, and source contents."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"name": name, "layout": _LAYOUT, "options": options}, sort_keys=True, default=str
        ).encode()
    )
    h.update(_code_hash().encode())
    for rel, path in files:
        h.update(f"\0{rel}\0{_sha256_file(path)}".encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode()).digest())
    return h.hexdigest()[:16]


def _cached(name: str, fingerprint: str, build: Callable[[], Any], cache_dir: Path | None, rebuild: bool):
    """Load ``<cache>/<name>-<fingerprint>`` or build it, publish it atomically, and load it.

    Concurrent builders (several ranks, several users of one cache) each write a temporary
    directory; the first rename wins, the others are discarded.
    """
    from datasets import load_from_disk

    root = Path(cache_dir) if cache_dir is not None else datasets_cache_dir()
    final = root / f"{name}-{fingerprint}"
    if rebuild and final.exists():
        shutil.rmtree(final, ignore_errors=True)
    if not (final / "dataset_dict.json").exists():
        root.mkdir(parents=True, exist_ok=True)
        dd = build()
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
        try:
            with _quiet():
                # one shard per split: an empty split saved with none cannot be loaded back
                dd.save_to_disk(str(tmp), num_shards={k: 1 for k in dd})
            try:
                os.replace(tmp, final)
            except OSError:  # another process published it first
                if not (final / "dataset_dict.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in root.glob(f"{name}-*"):  # earlier versions of this corpus
            if old != final and old.is_dir() and len(old.name) == len(final.name):
                shutil.rmtree(old, ignore_errors=True)
        log.info("built %s in %s", name, final)
    return load_from_disk(str(final))


# --------------------------------------------------------------------------- corpora


def load_corpus(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
    **options,
):
    """One corpus of :data:`CORPORA` as a ``datasets.DatasetDict`` (built once, then cached).

    Args:
        name: ``french_dialogue``, ``fredsum``, ``samu_calls`` or ``replay``.
        data_dir: where the corpus is read from: the shared data directory (``french_dialogue``;
            default :func:`core_training.data.default_shared_dir`), the FREDSum directory
            (``fredsum``; default ``<shared>/fredsum``), the calls directory (``samu_calls``;
            default :func:`samu_calls_dir`). Not used by ``replay`` (see ``source``).
        cache_dir: where built corpora are kept (default :func:`datasets_cache_dir`).
        rebuild: build again even when the cache holds this fingerprint.
        **options: ``val_fraction``, ``seed`` (``french_dialogue``, ``replay``); ``source``,
            ``max_chars_per_doc`` (``replay``, as in :func:`core_training.data.replay_corpus`).

    Returns:
        ``DatasetDict`` with the splits of :data:`SPLITS` (memory-mapped from the cache).

    Raises:
        ValueError: unknown corpus or option (named), a missing data directory, or an invalid
            source file (named).
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r} (corpora: {', '.join(CORPORA)})")
    unknown = sorted(set(options) - set(_OPTIONS[name]))
    if unknown:
        raise ValueError(f"{name}: unknown options {unknown} (options: {sorted(_OPTIONS[name]) or 'none'})")
    opts = {**_OPTIONS[name], **options}
    if name == "replay":
        if data_dir is not None:
            raise ValueError("replay: pass the text source as source=..., not data_dir")
        data._check_fraction("val_fraction", opts["val_fraction"])
        docs = data.replay_documents(opts["source"], opts["max_chars_per_doc"])
        fp = _fingerprint(
            name,
            {k: v for k, v in opts.items() if k != "source"},
            texts=[n for n, _ in docs] + [d for _, d in docs],
        )
        return _cached(name, fp, lambda: _replay(docs, opts), cache_dir, rebuild)
    if name == "french_dialogue":
        data._check_fraction("val_fraction", opts["val_fraction"])
        root = Path(data_dir) if data_dir is not None else data.default_shared_dir()
        if not root.is_dir():
            raise ValueError(f"shared data directory not found: {root}")
        files = _files(root / "simsamu", "*/*.json", "simsamu") + _fredsum_files(
            root / "fredsum", summaries=False
        )
        fp = _fingerprint(name, opts, files)
        return _cached(name, fp, lambda: _french_dialogue(root, opts), cache_dir, rebuild)
    if name == "fredsum":
        root = Path(data_dir) if data_dir is not None else data.default_shared_dir() / "fredsum"
        if not (root / "transcript").is_dir():
            raise ValueError(f"FREDSum transcript directory not found: {root / 'transcript'}")
        fp = _fingerprint(name, opts, _fredsum_files(root, summaries=True))
        return _cached(name, fp, lambda: _fredsum(root), cache_dir, rebuild)
    root = Path(data_dir) if data_dir is not None else samu_calls_dir()
    if not root.is_dir():
        raise ValueError(f"SAMU calls directory not found: {root}")
    files = [(f"{s}/{rel}", p) for s in SPLITS["samu_calls"] for rel, p in _files(root / s, "*/*.json", "")]
    fp = _fingerprint(name, opts, files)
    return _cached(name, fp, lambda: _samu_calls(root), cache_dir, rebuild)


def _files(root: Path, pattern: str, prefix: str) -> list[tuple[str, Path]]:
    if not root.is_dir():
        return []
    return [(f"{prefix}/{p.relative_to(root)}", p) for p in sorted(root.glob(pattern)) if p.is_file()]


def _fredsum_files(root: Path, summaries: bool) -> list[tuple[str, Path]]:
    out = _files(root, "transcript/*.txt", "fredsum")
    if (root / "FREDSum_test.json").is_file():
        out.append(("fredsum/FREDSum_test.json", root / "FREDSum_test.json"))
    if summaries:
        out += _files(root, "summary_abstractive/*/*.txt", "fredsum")
    return out


def _dataset_dict(rows: dict[str, list[dict]], features):
    from datasets import Dataset, DatasetDict

    def one(r: list[dict]):  # an empty split keeps its columns
        return (
            Dataset.from_list(r, features=features)
            if r
            else Dataset.from_dict({k: [] for k in features}, features=features)
        )

    return DatasetDict({split: one(r) for split, r in rows.items()})


def _french_dialogue(root: Path, opts: dict):
    from datasets import Features, Value

    docs = [
        ("simsamu", rec, f"simsamu/{rec}", text) for rec, text in data.simsamu_dialogues(root / "simsamu")
    ]
    docs += [
        ("fredsum", fname, f"fredsum/{debate}", text)
        for debate, fname, text in data.fredsum_dialogues(root / "fredsum")
    ]
    rows: dict[str, list[dict]] = {"train": [], "validation": []}
    for source, doc_id, group, text in docs:  # the split rule of data._split
        split = "validation" if data._in_validation(group, opts["val_fraction"], opts["seed"]) else "train"
        rows[split].append({"text": text, "source": source, "doc_id": doc_id, "group": group})
    features = Features({k: Value("string") for k in ("text", "source", "doc_id", "group")})
    return _dataset_dict(rows, features)


def _read_reference(path: Path) -> str | None:
    """A FREDSum summary as :func:`summarize.evaluate.load_items` reads it (None if absent/empty)."""
    if not path.is_file():
        return None
    text = data._read_fredsum_bytes(path).replace("\\'", "'").strip()
    return text or None


def _fredsum(root: Path):
    from datasets import Features, Value

    test = data.fredsum_test_files(root)
    rows: dict[str, list[dict]] = {"train": [], "test": []}
    for f in sorted((root / "transcript").glob("*.txt")):
        dialogue = data.fredsum_dialogue(f)
        if not dialogue:
            log.warning("FREDSum: empty transcript %s skipped", f.name)
            continue
        refs = {s: _read_reference(root / "summary_abstractive" / s / f.name) for s in ("1", "2", "3")}
        rows["test" if f.name in test else "train"].append(
            {"name": f.name, "debate": f.name.split("--")[0], "dialogue": dialogue, "references": refs}
        )
    features = Features(
        {
            "name": Value("string"),
            "debate": Value("string"),
            "dialogue": Value("string"),
            "references": {s: Value("string") for s in ("1", "2", "3")},
        }
    )
    return _dataset_dict(rows, features)


_SAMU_KEYS = ("call", "call_date", "style", "turns", "fields", "evidence", "notes")


def _samu_calls(root: Path):
    """The calls of ``root/{train,dev}/<writer>/<call>.json`` as rows (format: ``samu/corpus.py``;
    ``python -m samu.corpus samu/calls`` validates the files)."""
    from datasets import Features, List, Value

    rows: dict[str, list[dict]] = {}
    field_types: dict[str, str] = {}
    for split in SPLITS["samu_calls"]:
        rows[split] = []
        for p in sorted((root / split).glob("*/*.json")):
            try:
                raw = json.loads(p.read_text(encoding="utf-8"))
                missing = [k for k in _SAMU_KEYS if k not in raw]
                if missing:
                    raise ValueError(f"missing keys {missing}")
                turns = [{"speaker": str(s), "text": str(t)} for s, t in raw["turns"]]
                evidence = [
                    {"field": f, "turn": int(it["turn"]), "quote": str(it["quote"])}
                    for f, items in raw["evidence"].items()
                    for it in items
                ]
            except (ValueError, TypeError, KeyError) as e:
                raise ValueError(f"{p}: not a SAMU call file ({e})") from e
            fields = raw["fields"]
            if field_types and set(fields) != set(field_types):
                raise ValueError(f"{p}: gold fields {sorted(fields)} differ from the other calls'")
            for k, v in fields.items():
                kind = "bool" if isinstance(v, bool) else "string" if isinstance(v, str) else None
                if v is not None and kind is None:
                    raise ValueError(f"{p}: gold field {k} = {v!r}: expected a string, a boolean or null")
                if kind is not None and field_types.get(k) not in (None, kind):
                    raise ValueError(f"{p}: gold field {k} = {v!r}: other calls give it as {field_types[k]}")
                if kind is not None or k not in field_types:
                    field_types[k] = kind or field_types.get(k)
            rows[split].append(
                {
                    "call": raw["call"],
                    "writer": p.parent.name,
                    "call_date": str(raw["call_date"]),
                    "style": raw["style"],
                    "turns": turns,
                    "text": data.dialogue_text((t["speaker"], t["text"]) for t in turns),
                    "fields": fields,
                    "evidence": evidence,
                    "notes": raw["notes"],
                }
            )
    first = next((r["fields"] for split in rows.values() for r in split), {})
    features = Features(
        {
            "call": Value("string"),
            "writer": Value("string"),
            "call_date": Value("string"),
            "style": Value("string"),
            "turns": List({"speaker": Value("string"), "text": Value("string")}),
            "text": Value("string"),
            "fields": {k: Value(field_types.get(k) or "string") for k in first},
            "evidence": List({"field": Value("string"), "turn": Value("int32"), "quote": Value("string")}),
            "notes": Value("string"),
        }
    )
    return _dataset_dict(rows, features)


def _replay(docs: list[tuple[str, str]], opts: dict):
    from datasets import Features, Value

    rows: dict[str, list[dict]] = {"train": [], "validation": []}
    for n, text in docs:
        split = "validation" if data._in_validation(n, opts["val_fraction"], opts["seed"]) else "train"
        rows[split].append({"text": text, "name": n})
    return _dataset_dict(rows, Features({"text": Value("string"), "name": Value("string")}))


# --------------------------------------------------------------------------- tokens and blocks


def _tokenizer_hash(tokenizer) -> str:
    """A content hash of a tokenizer (vocabulary, merges, normaliser, special tokens)."""
    h = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    else:
        from datasets.fingerprint import Hasher

        h.update(Hasher.hash(tokenizer).encode())
    h.update(repr((tokenizer.eos_token_id, tokenizer.bos_token_id, data.start_token_id(tokenizer))).encode())
    return h.hexdigest()


def _derive(ds, *parts) -> str:
    return hashlib.sha256(repr((ds._fingerprint, *parts)).encode()).hexdigest()[:16]


def tokenize_documents(ds, tokenizer, column: str = "text", num_proc: int | None = None):
    """One row per document: ``input_ids`` (no special tokens, ``eos_token_id`` appended) and
    ``length``; made with ``Dataset.map(batched=True)``, cached beside a cached corpus.

    Args:
        ds: a ``datasets.Dataset`` with a string ``column``.
        tokenizer: a transformers tokenizer.
        num_proc: processes for the map (None: this one).

    Returns:
        ``Dataset`` with columns ``input_ids`` (int32 lists) and ``length``.
    """
    from datasets import Features, List, Value

    if column not in ds.column_names:
        raise ValueError(f"no column {column!r} in the dataset (columns: {ds.column_names})")
    eos = tokenizer.eos_token_id
    tail = [] if eos is None else [int(eos)]

    def encode(batch):
        ids = [x + tail for x in tokenizer(batch[column], add_special_tokens=False)["input_ids"]]
        return {"input_ids": ids, "length": [len(x) for x in ids]}

    features = Features({"input_ids": List(Value("int32")), "length": Value("int64")})
    with _quiet():
        return ds.map(
            encode,
            batched=True,
            remove_columns=ds.column_names,
            features=features,
            num_proc=num_proc,
            new_fingerprint=_derive(ds, "tokenize", column, _tokenizer_hash(tokenizer)),
            desc="tokenize",
        )


def pack_blocks(tokenized, block_size: int, start_id: int | None, batch_size: int = 1000):
    """Cut the stream of ``tokenized`` documents into blocks, with ``map(batched=True)``.

    The stream is the concatenation of the ``input_ids`` rows; it is cut into pieces of
    ``block_size - 1`` tokens each prefixed with ``start_id`` (``block_size`` tokens when
    ``start_id`` is None); the incomplete tail is dropped. A block belongs to the map batch where
    it starts and reads the following documents when it runs past the batch, so the blocks do
    not depend on ``batch_size`` (unlike packing that drops each batch's remainder).

    Returns:
        ``Dataset`` with one column ``input_ids`` of ``block_size`` int32 tokens per row.

    Raises:
        ValueError: ``block_size`` < 2.
    """
    import numpy as np
    from datasets import Features, List, Value

    if int(block_size) < 2:
        raise ValueError(f"block_size must be >= 2, got {block_size!r}")
    body = block_size - (1 if start_id is not None else 0)
    lengths = tokenized.with_format("numpy", columns=["length"])[:]["length"] if len(tokenized) else []
    offsets = np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))]).tolist()
    n_blocks = offsets[-1] // body
    head = [] if start_id is None else [int(start_id)]

    def cut(batch, indices):
        first, end = indices[0], indices[-1] + 1
        lo, hi = offsets[first], offsets[end]
        j0, j1 = -(-lo // body), min(-(-hi // body), n_blocks)
        if j1 <= j0:
            return {"input_ids": []}
        stream = [t for ids in batch["input_ids"] for t in ids]
        d = end
        while len(stream) < j1 * body - lo:  # the last block runs into the next documents
            stream += tokenized[d]["input_ids"]
            d += 1
        return {"input_ids": [head + stream[j * body - lo : (j + 1) * body - lo] for j in range(j0, j1)]}

    with _quiet():
        return tokenized.map(
            cut,
            batched=True,
            batch_size=batch_size,
            with_indices=True,
            remove_columns=tokenized.column_names,
            features=Features({"input_ids": List(Value("int32"), length=block_size)}),
            new_fingerprint=_derive(tokenized, "pack", block_size, start_id),
            desc="pack",
        )


def block_dataset(docs, tokenizer, block_size: int, column: str = "text", max_docs: int | None = None):
    """Training blocks of ``docs`` (a ``Dataset`` with a text ``column``, or a list of strings):
    :func:`tokenize_documents` then :func:`pack_blocks` with :func:`core_training.data.start_token_id`.

    ``max_docs`` keeps the first documents only. The rows equal those of
    :func:`core_training.data.token_blocks` on the same documents.
    """
    from datasets import Dataset

    if not isinstance(docs, Dataset):
        docs = Dataset.from_dict({column: [str(t) for t in docs]})
    if max_docs is not None and max_docs < len(docs):
        docs = docs.select(range(max_docs))
    return pack_blocks(
        tokenize_documents(docs, tokenizer, column), block_size, data.start_token_id(tokenizer)
    )


def blocks_tensor(blocks) -> Any:
    """The ``input_ids`` of a block dataset as ``torch.LongTensor [n_blocks, block_size]``."""
    import torch

    size = blocks.features["input_ids"].length
    if len(blocks) == 0:
        return torch.empty((0, size), dtype=torch.long)
    return blocks.with_format("torch", columns=["input_ids"])[:]["input_ids"].long()
