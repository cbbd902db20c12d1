"""SAMU call forms: Hub Santé-aligned fields, each backed by evidence in the transcript.

``extract_form(transcript, extractor="rules" | "llm" | "model" | "hybrid" | "hybrid-motif", llm=None)`` is the
entry point; the rule extractor (:mod:`samu.rules`) needs no model, the LLM extractor
(:mod:`samu.llm`) takes any callable ``generate(prompt, **kw) -> str`` or a
:class:`core_training.generate.LocalLLM`; ``model`` and ``hybrid`` (:mod:`samu.model`) take a
:class:`samu.model.SamuModel` (``load_samu_model()``): the fine-tuned model scores the
classification fields, and in ``hybrid`` the rules fill the rest and an evidence check keeps
only the model values the transcript supports; ``hybrid-motif`` takes only the motif from the
model (the best measured on unseen calls, and the entry points' default: ``DEFAULT_EXTRACTOR``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from asr.transcript import Transcript
from samu.schema import CallForm

EXTRACTORS = ("rules", "llm", "model", "hybrid", "hybrid-motif")
MODEL_EXTRACTORS = ("model", "hybrid", "hybrid-motif")  # need a samu.model.SamuModel
# What every entry point (samu-form, process, demo, evaluate-samu, ProcessOptions) uses unless told
# otherwise: the extractor best measured on calls written after its freeze (blind7: 0.914 vs rules
# 0.912; simsamu test2: 0.927 vs 0.893; ~2 s per call on 2 cores), by the rule fixed beforehand at
# commit e3c3e42. It needs the shipped SAMU model (samu/adapters); ``extract_form`` itself, which
# takes no model, keeps "rules" as its default.
DEFAULT_EXTRACTOR = "hybrid-motif"


def extract_form(
    transcript: Transcript,
    extractor: str = "rules",
    llm: Callable[..., str] | None = None,
    hook: Callable[[str, int, int], None] | None = None,
    call_date: date | None = None,
) -> CallForm:
    """Fill a SAMU call form from ``transcript`` with the chosen extractor.

    ``call_date`` is the day of the call, used to turn a stated birth year into an age (by the
    rules, under every extractor; today when None)."""
    if extractor not in EXTRACTORS:
        raise ValueError(f"extractor must be one of {', '.join(EXTRACTORS)}, got {extractor!r}")
    if extractor == "rules":
        from samu.rules import extract_rules

        return extract_rules(transcript, hook=hook, call_date=call_date)
    if extractor in MODEL_EXTRACTORS:
        from samu.model import SamuModel, extract_hybrid, extract_hybrid_motif, extract_model

        if not isinstance(llm, SamuModel):
            raise ValueError(
                f"the {extractor} extractor needs a SAMU model (samu.model.load_samu_model()), "
                f"got {type(llm).__name__}"
            )
        if extractor == "model":
            return extract_model(transcript, llm, hook=hook)
        if extractor == "hybrid-motif":
            return extract_hybrid_motif(transcript, llm, hook=hook, call_date=call_date)
        return extract_hybrid(transcript, llm, hook=hook, call_date=call_date)
    if llm is None:
        raise ValueError("the llm extractor needs an llm (a callable or core_training.generate.LocalLLM)")
    from samu.llm import extract_llm

    return extract_llm(transcript, llm, hook=hook, call_date=call_date)
