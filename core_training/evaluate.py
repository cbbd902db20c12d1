"""Evaluation of causal LMs: perplexity (token, word, bits per character), parameter counts,
generation speed, peak memory and a forgetting report.

Token perplexity depends on the tokenizer; word perplexity (``exp(nll / words)``) and bits per
character (``nll / (chars * ln 2)``) are normalised by the *text*, so models with different
tokenizers (or a trimmed vocabulary) compare on the same documents.
"""

from __future__ import annotations

import logging
import math
import resource
import sys
import time
from collections.abc import Sequence

from asr._compat import ensure_torchaudio_importable
from asr.progress import Hook

ensure_torchaudio_importable()

import torch  # noqa: E402

from .data import start_token_id  # noqa: E402

log = logging.getLogger(__name__)

__all__ = ["perplexity", "count_parameters", "generation_speed", "peak_rss_mb", "forgetting_report"]


def _windows(ids: list[int], block_size: int, context: int) -> list[tuple[list[int], int]]:
    """Cut a document's token ids into ``(window, n_scored)`` pairs.

    Each window is at most ``block_size`` tokens *after* the start token; it repeats up to
    ``context`` already-scored tokens as left context, and its last ``n_scored`` tokens are
    the new ones to score.
    """
    out = []
    pos = 0
    new = block_size - context
    while pos < len(ids):
        left = max(0, pos - context) if pos else 0
        step = min(block_size - (pos - left), len(ids) - pos)
        out.append((ids[left : pos + step], step))
        pos += step
        assert step > 0 and new > 0
    return out


@torch.no_grad()
def perplexity(
    model,
    tokenizer,
    texts: Sequence[str],
    block_size: int = 512,
    max_tokens: int | None = None,
    hook: Hook | None = None,
    context: int | None = None,
    batch_size: int = 4,
) -> dict:
    """Perplexity of ``model`` on ``texts`` (one document each), scored document by document.

    Every document is tokenized without special tokens and scored after the tokenizer's start
    token (:func:`core_training.data.start_token_id`), so its first token is predicted too and
    the scored tokens spell exactly the document's text. Documents longer than ``block_size``
    are scored in windows that each start with the start token and repeat ``context`` tokens
    of the previous window as left context (default ``block_size // 4``).

    Args:
        model: a causal LM (``model(input_ids, attention_mask).logits``).
        tokenizer: its tokenizer.
        texts: documents.
        block_size: tokens per window after the start token.
        max_tokens: stop after scoring this many tokens (the last document is cut at a token
            boundary and its characters/words counted up to there). For comparisons across
            tokenizers cut the *texts* instead (:func:`core_training.data.take_chars`).
        hook: ``hook("perplexity", windows_done, windows_total)``.
        context: left-context tokens repeated across windows (``0 <= context < block_size``).
        batch_size: windows per forward pass.

    Returns:
        dict with ``tokens`` (scored), ``chars``, ``words`` (whitespace-separated), ``nll_sum``
        (nats), ``ppl_token`` = exp(nll/tokens), ``ppl_word`` = exp(nll/words),
        ``bpc`` = nll/(chars·ln 2), ``seconds``.

    Raises:
        ValueError: bad ``block_size``/``context``/``max_tokens``, or nothing to score.
    """
    if int(block_size) < 2:
        raise ValueError(f"block_size must be >= 2, got {block_size!r}")
    context = block_size // 4 if context is None else int(context)
    if not 0 <= context < block_size:
        raise ValueError(f"context must be in [0, block_size), got {context!r}")
    if max_tokens is not None and int(max_tokens) < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens!r}")
    t0 = time.perf_counter()
    start = start_token_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (start or 0)

    windows: list[tuple[list[int], int]] = []
    chars = words = tokens = 0
    for text in texts:
        if max_tokens is not None and tokens >= max_tokens:
            break
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=max_tokens is not None)
        ids = list(enc["input_ids"])
        if not ids:
            continue
        if max_tokens is not None and tokens + len(ids) > max_tokens:
            ids = ids[: max_tokens - tokens]
            text = text[: enc["offset_mapping"][len(ids) - 1][1]]
        tokens += len(ids)
        chars += len(text)
        words += len(text.split())
        windows += _windows(ids, block_size, context)
    if not windows:
        raise ValueError("nothing to score: texts are empty")

    device = next(model.parameters()).device
    prefix = [] if start is None else [start]
    order = sorted(range(len(windows)), key=lambda i: -len(windows[i][0]))
    nll = 0.0
    done = 0
    for b in range(0, len(order), batch_size):
        batch = [windows[i] for i in order[b : b + batch_size]]
        seqs = [prefix + w for w, _ in batch]
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        target = torch.full((len(seqs), width), -100, dtype=torch.long)
        for r, (s, (_, n_scored)) in enumerate(zip(seqs, batch)):
            ids[r, : len(s)] = torch.tensor(s)
            mask[r, : len(s)] = 1
            target[r, len(s) - n_scored : len(s)] = torch.tensor(s[len(s) - n_scored :])
        if not prefix:  # no start token: the first token of a window cannot be predicted
            target[:, 0] = -100
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        lp = torch.log_softmax(logits[:, :-1], dim=-1)
        tgt = target[:, 1:].to(device)
        valid = tgt != -100
        picked = lp.gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        nll -= picked[valid].double().sum().item()
        done += len(batch)
        if hook:
            hook("perplexity", done, len(windows))
    if not prefix:  # a window without left context cannot predict its first token
        tokens -= sum(1 for w, n in windows if n == len(w))
    return {
        "tokens": tokens,
        "chars": chars,
        "words": words,
        "nll_sum": nll,
        "ppl_token": math.exp(nll / max(tokens, 1)),
        "ppl_word": math.exp(nll / max(words, 1)),
        "bpc": nll / (max(chars, 1) * math.log(2)),
        "seconds": time.perf_counter() - t0,
    }


def count_parameters(model) -> dict:
    """Parameter counts: ``total``, ``embedding`` (input embedding, plus the output head when it is
    not tied to it) and ``non_embedding`` = total − embedding. Shared tensors count once."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    emb = 0
    counted: set[int] = set()
    mods = [model.get_input_embeddings()]
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if out is not None:
        mods.append(out)
    for m in mods:
        for p in m.parameters():
            key = p.data_ptr()
            if key not in counted:
                counted.add(key)
                emb += p.numel()
    return {"total": total, "embedding": emb, "non_embedding": total - emb}


@torch.no_grad()
def generation_speed(model, tokenizer, prompt: str, new_tokens: int = 64, repeats: int = 1) -> dict:
    """Greedy generation speed: ``new_tokens`` tokens after ``prompt`` (EOS ignored), best of
    ``repeats`` runs after one warm-up token.

    Returns:
        dict with ``tokens_per_s``, ``seconds``, ``new_tokens``, ``prompt_tokens``.
    """
    if int(new_tokens) < 1:
        raise ValueError(f"new_tokens must be >= 1, got {new_tokens!r}")
    device = next(model.parameters()).device
    enc = tokenizer(prompt, return_tensors="pt").to(device)
    kw = dict(do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    model.generate(**enc, max_new_tokens=1, **kw)
    best = math.inf
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kw)
        best = min(best, time.perf_counter() - t0)
    n = out.shape[1] - enc["input_ids"].shape[1]
    return {
        "tokens_per_s": n / best,
        "seconds": best,
        "new_tokens": int(n),
        "prompt_tokens": int(enc["input_ids"].shape[1]),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (CUDA: peak allocated, if larger)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = kb / 1024 / (1024 if sys.platform == "darwin" else 1)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        mb = max(mb, torch.cuda.max_memory_allocated() / 2**20)
    return float(mb)


def forgetting_report(base: dict, after: dict) -> dict:
    """Compare a model before and after training on the new domain.

    Args:
        base, after: ``{"new": perplexity(...), "old": perplexity(...)}`` (new domain = the
            training domain, old domain = replay validation), as returned by :func:`perplexity`.

    Returns:
        dict with, per domain, the word perplexity and bpc before/after, ``new_gain_bpc``
        (bpc drop on the new domain, > 0 is better), ``old_rise_bpc`` (bpc rise on the old
        domain, > 0 is forgetting), their relative word-perplexity changes, and
        ``forgetting_ratio`` = old_rise_bpc / new_gain_bpc (None when there is no gain).
        bpc is used because it does not depend on the tokenizer.

    Raises:
        ValueError: when a ``"new"``/``"old"`` entry or its ``bpc``/``ppl_word`` is missing.
    """
    for name, d in (("base", base), ("after", after)):
        for dom in ("new", "old"):
            if dom not in d or "bpc" not in d[dom] or "ppl_word" not in d[dom]:
                raise ValueError(f"{name}[{dom!r}] must be a perplexity() result with 'bpc' and 'ppl_word'")
    gain = base["new"]["bpc"] - after["new"]["bpc"]
    rise = after["old"]["bpc"] - base["old"]["bpc"]
    return {
        "new_ppl_word": [base["new"]["ppl_word"], after["new"]["ppl_word"]],
        "old_ppl_word": [base["old"]["ppl_word"], after["old"]["ppl_word"]],
        "new_bpc": [base["new"]["bpc"], after["new"]["bpc"]],
        "old_bpc": [base["old"]["bpc"], after["old"]["bpc"]],
        "new_gain_bpc": gain,
        "old_rise_bpc": rise,
        "new_ppl_word_change": after["new"]["ppl_word"] / base["new"]["ppl_word"] - 1,
        "old_ppl_word_change": after["old"]["ppl_word"] / base["old"]["ppl_word"] - 1,
        "forgetting_ratio": rise / gain if gain > 0 else None,
    }
