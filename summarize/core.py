"""The summaries head: ``summarize(transcript, SummaryOptions(...), llm=None, hook=None) -> Summary``.

Two methods:

- ``extractive`` (default, no model): TextRank + MMR sentence selection under a word budget,
  speaker names kept (:mod:`summarize.extractive`);
- ``llm``: abstractive. With the project's summary model (:mod:`summarize.model`, a LoRA
  adapter loaded by :func:`summarize.model.load_summary_model`; what ``llm4all summarize
  --method llm`` uses unless ``--model`` names another model), an extractive selection of the
  transcript is rewritten into a summary in one generation. With any other language model
  (:mod:`summarize.llm`), map-reduce: the transcript is cut on speaker turns into chunks that fit
  the model's context, each chunk is summarised with a French prompt, and the partial summaries
  are merged. ``kind="call"`` asks for a short clinical summary (motif, patient, signes clés,
  décision) instead of a meeting summary (always map-reduce; the summary model then serves as
  its base model, adapter off).

Every summary is then checked for faithfulness (:mod:`summarize.faithfulness`): names and
numbers absent from the transcript are flagged in ``Summary.warnings`` (or their sentences
dropped, ``SummaryOptions(faithfulness="drop")``). An empty summary is an error, never a result.

The word budget, when not given, follows :data:`DEFAULT_BUDGET` (a share of the transcript's
length, clamped), chosen on FREDSum files outside the test split (see
``benchmarks/bench_summaries.py --tune``). The library never prints; progress goes through
``hook(step, completed, total)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from asr.progress import Hook
from asr.transcript import Transcript

from .extractive import extractive_summary
from .text import count_words, french_ratio, resolve_initials

log = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "KINDS",
    "BudgetRule",
    "DEFAULT_BUDGET",
    "SummaryOptions",
    "Summary",
    "FAITHFULNESS",
    "summarize",
    "with_full_names",
]

METHODS = ("extractive", "llm")
KINDS = ("meeting", "call")
FAITHFULNESS = ("off", "flag", "drop")


@dataclass(frozen=True)
class BudgetRule:
    """Word budget from the transcript length: ``clamp(round(ratio * words), minimum, maximum)``."""

    ratio: float = 0.1
    minimum: int = 60
    maximum: int = 400

    def __post_init__(self) -> None:
        if not 0 < self.ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {self.ratio}")
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(
                f"need 1 <= minimum <= maximum, got minimum={self.minimum} maximum={self.maximum}"
            )

    def __call__(self, n_words: int) -> int:
        return max(self.minimum, min(self.maximum, round(self.ratio * n_words)))


# chosen on the 115 FREDSum files outside the test split (benchmarks/bench_summaries.py --tune):
# 12 % of the transcript's words; FREDSum reference summaries are 5-14 % of their debate
DEFAULT_BUDGET = BudgetRule(ratio=0.12, minimum=60, maximum=400)


@dataclass(frozen=True)
class SummaryOptions:
    """What summary to make.

    Args:
        method: ``extractive`` (sentence selection, no model) or ``llm`` (abstractive: the summary
            model, or map-reduce with any other LLM).
        max_words: word budget of the summary; ``None`` = :data:`DEFAULT_BUDGET` of the
            transcript's length.
        kind: ``meeting`` (who said what) or ``call`` (SAMU-style clinical summary with the LLM).
        mmr_lambda: extractive relevance/novelty trade-off in [0, 1] (1 = relevance only).
        min_sentence_words: extractive: shorter sentences are not picked.
        chunk_tokens: llm: at most this many transcript tokens per chunk (also capped by the
            model's context).
        model: name recorded in the output (the LLM itself is passed to :func:`summarize`).
        resolve_initials: show speakers labelled by initials (``EM``, ``MLP``) under the full
            name found in the transcript (``Emmanuel Macron``), see
            :func:`summarize.text.resolve_initials`; the mapping is in ``Summary.speaker_names``.
        faithfulness: check the summary's names and numbers against the transcript
            (:func:`summarize.faithfulness.check_faithfulness`): ``flag`` (default) adds a
            warning per name or number the transcript does not contain, ``drop`` also removes
            the sentences that contain one, ``off`` skips the check.
    """

    method: str = "extractive"
    max_words: int | None = None
    kind: str = "meeting"
    mmr_lambda: float = 0.9  # tuned with the budget rule, see DEFAULT_BUDGET
    min_sentence_words: int = 6
    chunk_tokens: int = 1536
    model: str | None = None
    resolve_initials: bool = True
    faithfulness: str = "flag"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.faithfulness not in FAITHFULNESS:
            raise ValueError(f"faithfulness must be one of {FAITHFULNESS}, got {self.faithfulness!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.max_words is not None and (not isinstance(self.max_words, int) or self.max_words < 10):
            raise ValueError(f"max_words must be an integer >= 10 or None, got {self.max_words!r}")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {self.mmr_lambda}")
        if self.min_sentence_words < 0:
            raise ValueError(f"min_sentence_words must be >= 0, got {self.min_sentence_words}")
        if self.chunk_tokens < 128:
            raise ValueError(f"chunk_tokens must be >= 128, got {self.chunk_tokens}")


@dataclass(frozen=True)
class Summary:
    """A summary and how it was made.

    Attributes:
        text: the summary (French; extractive lines are ``Speaker : sentences``).
        method, kind, model: what made it (``model`` is ``None`` for extractive).
        max_words: the budget it was made under.
        source: the transcript's source (a file name), if known.
        speakers: the transcript's speakers.
        chunks: llm: how many chunks the transcript was cut into (0 for extractive).
        warnings: French messages for the user (non-French input, unusable model output
            replaced by extractive text, names or numbers absent from the transcript, ...).
        speaker_names: labels shown under another name (initials -> full name).
        unsupported: names and numbers of the summary (as written) that the transcript does
            not contain (see ``SummaryOptions.faithfulness``; with ``drop`` their sentences
            were removed from ``text``).
    """

    text: str
    method: str
    kind: str
    max_words: int
    model: str | None = None
    source: str | None = None
    speakers: tuple[str, ...] = ()
    chunks: int = 0
    warnings: tuple[str, ...] = field(default=())
    speaker_names: dict[str, str] = field(default_factory=dict)
    unsupported: tuple[str, ...] = field(default=())

    @property
    def word_count(self) -> int:
        return count_words(self.text)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["speakers"] = list(self.speakers)
        d["warnings"] = list(self.warnings)
        d["speaker_names"] = dict(self.speaker_names)
        d["unsupported"] = list(self.unsupported)
        d["word_count"] = self.word_count
        return d


def with_full_names(transcript: Transcript) -> tuple[Transcript, dict[str, str]]:
    """The transcript with speakers labelled by initials renamed to the full name found in its
    text (see :func:`summarize.text.resolve_initials`), and that mapping."""
    names = resolve_initials(transcript.speakers, transcript.text)
    return (transcript.relabel(names) if names else transcript), names


def summarize(
    transcript: Transcript,
    options: SummaryOptions | None = None,
    llm: Callable[..., str] | None = None,
    hook: Hook | None = None,
) -> Summary:
    """Summarise a transcript.

    Args:
        transcript: the transcript (segments with speakers and text).
        options: see :class:`SummaryOptions` (default: extractive, automatic budget).
        llm: for ``method="llm"``: the summary model (:func:`summarize.model.load_summary_model`,
            extract-then-abstract for meetings) or a callable ``llm(prompt, max_new_tokens=,
            stop=[...]) -> str`` (e.g. :class:`core_training.generate.LocalLLM`, map-reduce);
            ``.count_tokens(text)`` and ``.context_length`` are used when present.
        hook: progress callback ``hook(step, completed, total)``.

    Returns:
        a :class:`Summary`, never longer than its ``max_words``, never empty.

    Raises:
        ValueError: empty transcript, ``method="llm"`` without an ``llm``, or nothing left to
            show (no sentence fits the budget, or ``faithfulness="drop"`` removed every one).
    """
    opts = options or SummaryOptions()
    n_words = count_words(transcript.text)
    if n_words == 0:
        raise ValueError(f"{transcript.source or 'transcription'} : transcription vide, rien à résumer")
    if opts.method == "llm" and llm is None:
        raise ValueError(
            "method='llm' needs an llm: summarize.model.load_summary_model() or a callable prompt -> text"
        )
    budget = opts.max_words or DEFAULT_BUDGET(n_words)
    warnings: list[str] = []
    if french_ratio(transcript.text) < 0.5:
        warnings.append("la transcription ne semble pas être en français : résumé de qualité incertaine")
    if opts.kind == "call" and len(transcript.speakers) < 2:
        warnings.append("un seul locuteur dans cet appel : rôles régulateur/appelant inconnus")
    names: dict[str, str] = {}
    if transcript.roles:
        # a call labelled by the front end: show "regulateur" / "appelant" rather than SPEAKER_00
        seen: dict[str, int] = {}
        for spk in transcript.speakers:
            role = transcript.roles.get(spk)
            if role:
                seen[role] = seen.get(role, 0) + 1
                names[spk] = role if seen[role] == 1 else f"{role}_{seen[role]}"
        if names:
            transcript = transcript.relabel(names)
    if opts.resolve_initials:
        transcript, more = with_full_names(transcript)
        names.update(more)
    log.info("summarize %s: %d words, method %s, budget %d", transcript.source, n_words, opts.method, budget)

    if opts.method == "extractive":
        if hook:
            hook("extractive", 0, 1)
        text = extractive_summary(transcript, budget, lam=opts.mmr_lambda, min_words=opts.min_sentence_words)
        if hook:
            hook("extractive", 1, 1)
        text, unsupported = _checked(text, transcript, names, opts, budget, warnings)
        return Summary(
            text,
            "extractive",
            opts.kind,
            budget,
            None,
            transcript.source,
            transcript.speakers,
            0,
            tuple(warnings),
            names,
            unsupported,
        )

    if getattr(llm, "is_summary_model", False) and opts.kind == "meeting":
        from .model import model_summary

        text, llm_warnings, _info = model_summary(llm, transcript, budget, hook=hook)
        n_chunks = 1
    else:
        from .llm import map_reduce

        text, n_chunks, llm_warnings = map_reduce(transcript, llm, budget, opts, hook=hook)
    warnings += llm_warnings
    text, unsupported = _checked(text, transcript, names, opts, budget, warnings)
    return Summary(
        text,
        "llm",
        opts.kind,
        budget,
        opts.model or getattr(llm, "name", None) or type(llm).__name__,
        transcript.source,
        transcript.speakers,
        n_chunks,
        tuple(warnings),
        names,
        unsupported,
    )


def _checked(
    text: str,
    transcript: Transcript,
    names: dict[str, str],
    opts: SummaryOptions,
    budget: int,
    warnings: list[str],
) -> tuple[str, tuple[str, ...]]:
    """The summary after the faithfulness check (``warnings`` extended), and its unsupported
    mentions; ``ValueError`` when nothing is left to show."""
    where = transcript.source or "transcription"
    if not text.strip():
        why = (
            f"aucune phrase de la transcription ne tient dans le budget de {budget} mots, "
            "nom du locuteur compris"
            if opts.method == "extractive"
            else "le modèle n'a rien produit d'utilisable"
        )
        raise ValueError(f"{where} : résumé vide ({why})")
    if opts.faithfulness == "off":
        return text, ()
    from .faithfulness import check_faithfulness

    report = check_faithfulness(text, transcript, names)
    unsupported = tuple(dict.fromkeys(m.text for m in report.unsupported))
    if not unsupported:
        return text, ()
    warnings.extend(report.warnings())
    if opts.faithfulness == "drop":
        text = report.kept_text()
        n = len(report.flagged)
        warnings.append(
            f"{n} phrase{'s' if n > 1 else ''} retirée{'s' if n > 1 else ''} du résumé (noms ou nombres absents de la transcription)"
        )
        if not text.strip():
            raise ValueError(
                f"{where} : résumé vide, toutes ses phrases citent des noms ou nombres absents "
                f"de la transcription ({', '.join(unsupported[:5])})"
            )
    return text, unsupported
