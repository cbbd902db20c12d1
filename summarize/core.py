"""The summaries head: ``summarize(transcript, SummaryOptions(...), llm=None, hook=None) -> Summary``.

Two methods:

- ``extractive`` (default, no model): TextRank + MMR sentence selection under a word budget,
  speaker names kept (:mod:`summarize.extractive`);
- ``llm``: abstractive map-reduce with a language model (:mod:`summarize.llm`): the transcript
  is cut on speaker turns into chunks that fit the model's context, each chunk is summarised with
  a French prompt, and the partial summaries are merged. ``kind="call"`` asks for a short
  clinical summary (motif, patient, signes clés, décision) instead of a meeting summary.

The word budget, when not given, follows :data:`DEFAULT_BUDGET` (a share of the transcript's
length, clamped), chosen on FREDSum files outside the test split (see
``benchmarks/bench_summaries.py --tune``). The library never prints; progress goes through
``hook(step, completed, total)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

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
    "summarize",
    "with_full_names",
]

METHODS = ("extractive", "llm")
KINDS = ("meeting", "call")
Hook = Callable[[str, float, float], None]


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
        method: ``extractive`` (sentence selection, no model) or ``llm`` (abstractive, map-reduce).
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
    """

    method: str = "extractive"
    max_words: int | None = None
    kind: str = "meeting"
    mmr_lambda: float = 0.9  # tuned with the budget rule, see DEFAULT_BUDGET
    min_sentence_words: int = 6
    chunk_tokens: int = 1536
    model: str | None = None
    resolve_initials: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
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
            replaced by extractive text, ...).
        speaker_names: labels shown under another name (initials -> full name).
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

    @property
    def word_count(self) -> int:
        return count_words(self.text)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["speakers"] = list(self.speakers)
        d["warnings"] = list(self.warnings)
        d["speaker_names"] = dict(self.speaker_names)
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
        llm: for ``method="llm"``: a callable ``llm(prompt, max_new_tokens=, stop=[...]) -> str``
            (e.g. :class:`core_training.generate.LocalLLM`); ``.count_tokens(text)`` and
            ``.context_length`` are used when present.
        hook: progress callback ``hook(step, completed, total)``.

    Returns:
        a :class:`Summary`, never longer than its ``max_words``.

    Raises:
        ValueError: empty transcript, or ``method="llm"`` without an ``llm``.
    """
    opts = options or SummaryOptions()
    n_words = count_words(transcript.text)
    if n_words == 0:
        raise ValueError(f"{transcript.source or 'transcription'} : transcription vide, rien à résumer")
    if opts.method == "llm" and llm is None:
        raise ValueError("method='llm' needs an llm (a callable prompt -> text)")
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
        )

    from .llm import map_reduce

    text, n_chunks, llm_warnings = map_reduce(transcript, llm, budget, opts, hook=hook)
    return Summary(
        text,
        "llm",
        opts.kind,
        budget,
        opts.model or getattr(llm, "name", None) or type(llm).__name__,
        transcript.source,
        transcript.speakers,
        n_chunks,
        tuple(warnings + llm_warnings),
        names,
    )
