"""Vocabulary trimming: keep only the tokens a corpus uses, remapping tokenizer and embeddings.

Gemma 3 270M spends ~170M of its 268M parameters on a 262k-token embedding (tied with the
output head). A French corpus uses a small fraction of those tokens. :func:`trim_vocabulary`
keeps

- every token the tokenizer produces on the corpus,
- the special tokens (``<bos>``, ``<eos>``, ``<pad>``, chat markers...; Gemma's ~6k
  ``<unusedN>`` placeholders are dropped),
- the byte fallback tokens ``<0x00>``..``<0xFF>`` (BPE with ``byte_fallback``) or the 256
  byte-level alphabet symbols (byte-level BPE), so that *any* text still encodes,
- for BPE, every token a kept merge goes through (the merge closure): a merge is kept when its
  result is kept, so the trimmed tokenizer applies exactly the same merges to the corpus.

New ids are the kept old ids in increasing order (special tokens at the start stay where they
were). The model's input embedding rows (and the output head rows, when untied) are selected
accordingly, so on the corpus the trimmed model's logits equal the original's restricted to
the kept tokens, id for id through the mapping. Probabilities differ only by the mass the
original put on dropped tokens (perplexity can only go down on text that encodes the same).

Text with words the corpus never had is still encoded, but in smaller pieces (down to bytes)
that the model rarely saw: measured in ``benchmarks/results/compress.json``, trimming Gemma to
the French train split costs +0.03 bits/char on French validation (mostly speaker names absent
from training) and makes English text nearly unreadable (1.33 → 6.8 bits/char). Pass the replay
corpus too (``texts = french + replay``) when the old domain must survive: 39.6k tokens instead
of 19.3k, old-domain bpc unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from asr._compat import ensure_torchaudio_importable

ensure_torchaudio_importable()

import torch  # noqa: E402

log = logging.getLogger(__name__)

__all__ = ["trim_vocabulary", "used_token_ids"]

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")
_UNUSED = re.compile(r"<unused\d+>")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table (the byte-level BPE alphabet)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def _is_byte_level(tj: dict) -> bool:
    def has(node) -> bool:
        if isinstance(node, dict):
            if node.get("type") == "ByteLevel":
                return True
            return any(has(v) for v in node.values())
        if isinstance(node, list):
            return any(has(v) for v in node)
        return False

    return has(tj.get("pre_tokenizer")) or has(tj.get("decoder"))


def used_token_ids(tokenizer, texts: Sequence[str]) -> set[int]:
    """Ids the tokenizer produces on ``texts`` (with and without special tokens)."""
    used: set[int] = set()
    for i in range(0, len(texts), 64):
        batch = list(texts[i : i + 64])
        for ids in tokenizer(batch, add_special_tokens=True)["input_ids"]:
            used.update(ids)
    return used


def _merge_pairs(merges: list) -> list[tuple[str, str]]:
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]


def _bpe_closure(keep_tokens: set[str], merges: list[tuple[str, str]], vocab: dict[str, int]) -> set[str]:
    """Add every token some merge producing a kept token consumes, recursively."""
    by_result: dict[str, list[tuple[str, str]]] = {}
    for a, b in merges:
        by_result.setdefault(a + b, []).append((a, b))
    stack = list(keep_tokens)
    out = set(keep_tokens)
    while stack:
        t = stack.pop()
        for a, b in by_result.get(t, ()):
            for c in (a, b):
                if c not in out and c in vocab:
                    out.add(c)
                    stack.append(c)
    return out


def _remap_post_processor(node, old_to_new: dict[int, int]):
    """Rewrite token ids inside a post-processor tree (TemplateProcessing, RobertaProcessing...)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "ids" and isinstance(v, list):
                out[k] = [old_to_new[i] for i in v]
            elif k in ("sep", "cls") and isinstance(v, list) and len(v) == 2 and isinstance(v[1], int):
                out[k] = [v[0], old_to_new[v[1]]]
            else:
                out[k] = _remap_post_processor(v, old_to_new)
        return out
    if isinstance(node, list):
        return [_remap_post_processor(v, old_to_new) for v in node]
    return node


def _select_rows(module, keep: torch.Tensor, dim_name: str) -> None:
    w = module.weight
    module.weight = torch.nn.Parameter(
        w.data.index_select(0, keep.to(w.device)).clone(), requires_grad=w.requires_grad
    )
    setattr(module, dim_name, len(keep))
    if getattr(module, "bias", None) is not None:
        b = module.bias
        module.bias = torch.nn.Parameter(
            b.data.index_select(0, keep.to(b.device)).clone(), requires_grad=b.requires_grad
        )


def trim_vocabulary(model, tokenizer, texts: Sequence[str], keep_special: bool = True, extra_tokens=()):
    """Trim ``model`` and ``tokenizer`` to the tokens ``texts`` use (see the module docstring).

    Args:
        model: a transformers causal LM whose vocabulary matches ``tokenizer``; modified in
            place (embedding rows selected, ``config.vocab_size`` and special token ids updated).
        tokenizer: a fast tokenizer backed by a ``tokenizer.json`` with a BPE or Unigram model.
        texts: the corpus whose tokens are kept.
        keep_special: keep the tokenizer's special tokens (except ``<unusedN>`` placeholders).
        extra_tokens: token strings or ids to keep as well.

    Returns:
        ``(model, new_tokenizer, info)`` where ``info`` has ``old_vocab``, ``new_vocab``,
        ``kept_ids`` (old id of each new id, list), ``n_used``, ``n_special``, ``n_fallback``,
        ``n_closure`` (added by the merge closure), ``params_before``, ``params_after``,
        ``params_removed``.

    Raises:
        ValueError: a tokenizer that is not a fast BPE/Unigram tokenizer, a model/tokenizer
            vocabulary mismatch, or empty ``texts``.
    """
    if not texts:
        raise ValueError("texts must contain at least one document to decide which tokens to keep")
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is None:
        raise ValueError(f"{type(tokenizer).__name__} has no tokenizers backend (a fast tokenizer is needed)")
    tj = json.loads(backend.to_str())
    kind = tj["model"]["type"]
    if kind not in ("BPE", "Unigram"):
        raise ValueError(f"vocabulary trimming supports BPE and Unigram tokenizers, not {kind!r}")

    if kind == "BPE":
        vocab: dict[str, int] = dict(tj["model"]["vocab"])
    else:
        vocab = {piece: i for i, (piece, _) in enumerate(tj["model"]["vocab"])}
    for t in tj.get("added_tokens", []):
        vocab.setdefault(t["content"], t["id"])
    old_n = max(vocab.values()) + 1
    emb = model.get_input_embeddings()
    if emb.weight.shape[0] < old_n:
        raise ValueError(
            f"model has {emb.weight.shape[0]} embedding rows but the tokenizer has ids up to {old_n - 1}"
        )
    id_to_tok = {i: t for t, i in vocab.items()}

    used = used_token_ids(tokenizer, texts)
    keep: set[int] = set(used)
    special: set[int] = set()
    if keep_special:
        for t in tj.get("added_tokens", []):
            if t.get("special") and not _UNUSED.fullmatch(t["content"]):
                special.add(t["id"])
        for tid in tokenizer.all_special_ids:
            if tid is not None and not _UNUSED.fullmatch(str(id_to_tok.get(tid, ""))):
                special.add(int(tid))
    for tid in (
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
        tokenizer.pad_token_id,
        tokenizer.unk_token_id,
    ):
        if tid is not None:
            special.add(int(tid))
    for cfg_id in ("bos_token_id", "eos_token_id", "pad_token_id"):
        v = getattr(model.config, cfg_id, None)
        for tid in v if isinstance(v, list) else [v]:
            if tid is not None and tid < old_n:
                special.add(int(tid))
    for x in extra_tokens:
        tid = x if isinstance(x, int) else vocab.get(x)
        if tid is None:
            raise ValueError(f"extra token {x!r} is not in the vocabulary")
        special.add(int(tid))
    keep |= special

    fallback: set[int] = set()
    if kind == "BPE" and tj["model"].get("byte_fallback"):
        fallback = {i for t, i in vocab.items() if _BYTE_TOKEN.fullmatch(t)}
    elif _is_byte_level(tj):
        fallback = {vocab[c] for c in _bytes_to_unicode().values() if c in vocab}
    unk = tj["model"].get("unk_token") if kind == "BPE" else None
    if kind == "Unigram" and tj["model"].get("unk_id") is not None:
        fallback.add(int(tj["model"]["unk_id"]))
    if unk is not None and unk in vocab:
        fallback.add(vocab[unk])
    keep |= fallback

    n_closure = 0
    if kind == "BPE":
        merges = _merge_pairs(tj["model"].get("merges", []))
        before = {id_to_tok[i] for i in keep if i in id_to_tok}
        closed = _bpe_closure(before, merges, vocab)
        n_closure = len(closed) - len(before)
        keep |= {vocab[t] for t in closed}

    kept_ids = sorted(keep)
    old_to_new = {o: n for n, o in enumerate(kept_ids)}
    kept_tok = {id_to_tok[i] for i in kept_ids}

    # ---- tokenizer.json
    if kind == "BPE":
        tj["model"]["vocab"] = {t: old_to_new[i] for t, i in tj["model"]["vocab"].items() if i in old_to_new}
        tj["model"]["merges"] = [
            [a, b] for a, b in merges if a + b in kept_tok and a in kept_tok and b in kept_tok
        ]
    else:
        tj["model"]["vocab"] = [pv for i, pv in enumerate(tj["model"]["vocab"]) if i in old_to_new]
        if tj["model"].get("unk_id") is not None:
            tj["model"]["unk_id"] = old_to_new[tj["model"]["unk_id"]]
    tj["added_tokens"] = [
        dict(t, id=old_to_new[t["id"]]) for t in tj.get("added_tokens", []) if t["id"] in old_to_new
    ]
    if tj.get("post_processor"):
        tj["post_processor"] = _remap_post_processor(tj["post_processor"], old_to_new)
    if tj.get("padding") and tj["padding"].get("pad_id") in old_to_new:
        tj["padding"]["pad_id"] = old_to_new[tj["padding"]["pad_id"]]

    new_tok = _rebuild_tokenizer(tokenizer, tj, old_to_new)

    # ---- model
    params_before = sum(p.numel() for p in model.parameters())
    idx = torch.tensor(kept_ids, dtype=torch.long)
    out = model.get_output_embeddings()
    tied = out is not None and out.weight is emb.weight
    _select_rows(emb, idx, "num_embeddings")
    if getattr(emb, "padding_idx", None) is not None:
        emb.padding_idx = old_to_new.get(emb.padding_idx)
    if out is not None:
        if tied or getattr(model.config, "tie_word_embeddings", False):
            out.weight = emb.weight
            out.out_features = len(kept_ids)
        else:
            _select_rows(out, idx, "out_features")
    _update_config_ids(model.config, old_to_new, len(kept_ids))
    gen = getattr(model, "generation_config", None)
    if gen is not None:
        _update_config_ids(gen, old_to_new, None)
    params_after = sum(p.numel() for p in model.parameters())

    info = {
        "old_vocab": old_n,
        "new_vocab": len(kept_ids),
        "kept_ids": kept_ids,
        "n_used": len(used),
        "n_special": len(special - used),
        "n_fallback": len(fallback - used - special),
        "n_closure": n_closure,
        "params_before": params_before,
        "params_after": params_after,
        "params_removed": params_before - params_after,
    }
    log.info(
        "vocabulary trimmed from %d to %d tokens (%d parameters removed)",
        old_n,
        len(kept_ids),
        info["params_removed"],
    )
    return model, new_tok, info


def _update_config_ids(cfg, old_to_new: dict[int, int], vocab_size: int | None) -> None:
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "decoder_start_token_id"):
        v = getattr(cfg, name, None)
        if v is None:
            continue
        if isinstance(v, list):
            setattr(cfg, name, [old_to_new[i] for i in v if i in old_to_new])
        else:
            setattr(cfg, name, old_to_new.get(v))
    if vocab_size is not None:
        cfg.vocab_size = vocab_size


def _rebuild_tokenizer(tokenizer, tj: dict, old_to_new: dict[int, int]):
    """Save ``tokenizer``, swap in the edited ``tokenizer.json`` and reload it with its own class."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="trim-vocab-") as d:
        tokenizer.save_pretrained(d)
        (Path(d) / "tokenizer.json").write_text(
            json.dumps(tj, ensure_ascii=False, allow_nan=False), encoding="utf-8"
        )
        cfg_path = Path(d) / "tokenizer_config.json"
        if cfg_path.exists():
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
            atd = cfg.get("added_tokens_decoder")
            if isinstance(atd, dict):
                cfg["added_tokens_decoder"] = {
                    str(old_to_new[int(k)]): v for k, v in atd.items() if int(k) in old_to_new
                }
            cfg_path.write_text(
                json.dumps(cfg, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
            )
        for stale in ("vocab.json", "merges.txt", "tokenizer.model", "spiece.model", "vocab.txt"):
            (Path(d) / stale).unlink(missing_ok=True)
        new = AutoTokenizer.from_pretrained(d)
    if new.pad_token_id is None and tokenizer.pad_token is not None:
        new.pad_token = tokenizer.pad_token
    return new
