"""A small text-generation handle shared by the task heads.

Heads take the LLM as a callable ``generate(prompt, **kw) -> str`` (so tests can pass a fake);
:class:`LocalLLM` is the real one around a transformers causal LM. It also exposes ``model`` and
``tokenizer`` for heads that constrain decoding, ``count_tokens`` and ``context_length`` for
heads that must split long inputs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class LocalLLM:
    """Greedy (deterministic) generation with a transformers causal LM.

    Args:
        model: a model directory, a bundled name (``gemma3-270m``, ``smollm2``) or a hub id, or an
            already loaded ``(model, tokenizer)`` pair.
        max_context: cap on prompt + output tokens (default: the model's own limit, at most 8192
            so CPU memory stays reasonable).
        threads: torch CPU threads (default: leave torch's choice).
        allow_download: fetch a hub id missing from the local Hugging Face cache (otherwise a
            ``ValueError`` at once; see :func:`core_training.models.resolve_model`).
    """

    def __init__(
        self,
        model=None,
        max_context: int | None = None,
        threads: int | None = None,
        allow_download: bool = False,
    ):
        import torch

        from core_training.models import load_causal_lm

        if threads:
            torch.set_num_threads(threads)
        if isinstance(model, tuple):
            self.model, self.tokenizer = model
            self.name = getattr(self.model.config, "_name_or_path", "model")
        else:
            self.model, self.tokenizer = load_causal_lm(model, allow_download=allow_download)
            self.name = os.path.basename(str(model)) if model else "gemma3-270m"
        self._stop_cache: dict = {}
        limit = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.context_length = int(min(limit, max_context or 8192))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def __call__(
        self,
        prompt: str,
        max_new_tokens: int = 256,
        stop: Sequence[str] = (),
        prefix_allowed_tokens_fn: Callable | None = None,
        repetition_penalty: float = 1.0,
    ) -> str:
        """Continue ``prompt`` greedily; the returned text excludes the prompt and is cut at
        the first stop string (the stop string itself is dropped)."""
        import torch

        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        enc = self.tokenizer(prompt, return_tensors="pt")
        n_prompt = enc["input_ids"].shape[1]
        budget = self.context_length - n_prompt
        if budget < 1:
            raise ValueError(
                f"prompt of {n_prompt} tokens does not fit the model context ({self.context_length} tokens)"
            )
        kw = {}
        if stop:
            # built once per stop tuple: transformers' own stop_strings path rebuilds its token
            # table on every call (seconds with Gemma's 262k vocabulary)
            key = tuple(stop)
            crit = self._stop_cache.get(key)
            if crit is None:
                from transformers import StoppingCriteriaList, StopStringCriteria

                crit = StoppingCriteriaList([StopStringCriteria(self.tokenizer, list(key))])
                self._stop_cache[key] = crit
            kw["stopping_criteria"] = crit
        if prefix_allowed_tokens_fn is not None:
            kw["prefix_allowed_tokens_fn"] = prefix_allowed_tokens_fn
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=min(max_new_tokens, budget),
                do_sample=False,
                repetition_penalty=repetition_penalty,
                pad_token_id=self.tokenizer.pad_token_id,
                **kw,
            )
        text = self.tokenizer.decode(out[0, n_prompt:], skip_special_tokens=True)
        for s in stop:
            i = text.find(s)
            if i >= 0:
                text = text[:i]
        return text
