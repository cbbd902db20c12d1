"""Extractive summaries: rank the sentences of a transcript and keep the best under a word budget.

Each sentence of each turn is a unit. Units are represented offline by TF-IDF vectors fitted on
the transcript itself (French tokenizer, French stop words removed, sublinear term frequency),
ranked by TextRank (PageRank over the cosine-similarity graph; centroid similarity for very long
transcripts, where the graph would be too large), and picked greedily by maximal marginal
relevance (MMR) so that the summary does not repeat itself. Picked sentences go back in
transcript order, grouped by turn, each group prefixed with its speaker's name
(``Nicolas Sarkozy : ...``). The budget counts every word of the output, names included.

Long transcripts: a sentence of more than :data:`~summarize.text.MAX_SENTENCE_WORDS` words (ASR
output without punctuation) is cut into pseudo-sentences at word boundaries; a sentence
repeated anywhere in the transcript (same words after folding case, accents, punctuation and
hesitations) is a candidate once, and a candidate too similar to a picked one (TF-IDF cosine
>= :data:`NEAR_DUPLICATE`) is never picked; above :data:`MAX_POOL` candidates only the most
central ones enter the selection, so the cost stays linear in the number of sentences.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asr.transcript import Transcript

from .text import (
    FRENCH_STOPWORDS,
    count_words,
    sentence_key,
    split_long,
    split_sentences,
    tokenize,
    truncate_words,
)

log = logging.getLogger(__name__)

__all__ = [
    "Unit",
    "units",
    "rank_units",
    "select_units",
    "format_units",
    "extractive_summary",
    "lead_summary",
]

# above this many sentences the dense similarity graph is skipped (memory grows as n²)
MAX_GRAPH_UNITS = 3000
# at most this many candidates (the most central) enter the MMR selection
MAX_POOL = 5000
# a candidate this similar (TF-IDF cosine) to a picked sentence is a near-duplicate, never picked
NEAR_DUPLICATE = 0.9


@dataclass(frozen=True)
class Unit:
    """One sentence of one turn: ``turn`` indexes the transcript's segments."""

    turn: int
    speaker: str | None
    text: str
    words: int


def units(t: Transcript) -> list[Unit]:
    """Sentences of every non-empty segment, in transcript order (sentences longer than
    :data:`~summarize.text.MAX_SENTENCE_WORDS` words cut into pseudo-sentences)."""
    out = []
    for i, seg in enumerate(t.segments):
        for sentence in split_sentences(seg.text):
            for s in split_long(sentence):
                n = count_words(s)
                if n:
                    out.append(Unit(i, seg.speaker, s, n))
    return out


def _label_words(u: Unit) -> int:
    return count_words(u.speaker) + 1 if u.speaker else 0  # "Name :" -> name words + the colon


def _vectors(texts: Sequence[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        tokenizer=tokenize,
        lowercase=False,
        token_pattern=None,
        stop_words=list(FRENCH_STOPWORDS),
        sublinear_tf=True,
        ngram_range=(1, 1),
    )
    try:
        return vec.fit_transform(texts)
    except ValueError:  # every sentence is stop words only
        return None


def rank_units(texts: Sequence[str], method: str = "textrank", damping: float = 0.85):
    """Relevance of each text (higher is more central) and the TF-IDF matrix (or ``None``).

    Args:
        texts: the sentences.
        method: ``textrank`` (PageRank on cosine similarities) or ``centroid`` (cosine to the
            mean vector); textrank falls back to centroid above :data:`MAX_GRAPH_UNITS`.
    Returns:
        ``(scores, X)``: scores is an array of shape (n,), X a sparse (n, vocab) matrix with
        L2-normalised rows.
    """
    n = len(texts)
    X = _vectors(texts)
    if X is None or n == 0:
        return np.zeros(n), X
    if method == "textrank" and n <= MAX_GRAPH_UNITS:
        S = (X @ X.T).toarray()
        np.fill_diagonal(S, 0.0)
        row = S.sum(axis=1, keepdims=True)
        P = np.divide(S, row, out=np.full_like(S, 1.0 / n), where=row > 0)
        r = np.full(n, 1.0 / n)
        for _ in range(100):
            r_new = (1 - damping) / n + damping * (P.T @ r)
            if np.abs(r_new - r).sum() < 1e-9:
                r = r_new
                break
            r = r_new
        return r / (r.max() or 1.0), X
    centroid = np.asarray(X.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid) or 1.0
    scores = np.asarray(X @ (centroid / norm)).ravel()
    return scores / (scores.max() or 1.0), X


def select_units(
    us: Sequence[Unit],
    max_words: int,
    *,
    lam: float = 0.9,
    min_words: int = 6,
    length_weight: float = 0.0,
    ranking: str = "textrank",
) -> list[int]:
    """Indexes of the units picked by MMR under the word budget (labels counted), in text order.

    Args:
        us: the units.
        max_words: budget for the formatted output, speaker labels included.
        lam: MMR trade-off: 1 = relevance only, 0 = novelty only.
        min_words: shorter sentences are not candidates (greetings, "Oui.", "Merci.").
        length_weight: adds ``length_weight * log(words)`` to the relevance (longer sentences
            carry more content).
        ranking: ``textrank`` or ``centroid`` (see :func:`rank_units`).
    Returns:
        indexes into ``us``, sorted; no two picked units are repeats or near-duplicates.
    """
    return _select(us, max_words, lam=lam, min_words=min_words, length_weight=length_weight, ranking=ranking)[
        0
    ]


def _candidates(us: Sequence[Unit], min_words: int) -> list[int]:
    """Units long enough to be picked, each repeated sentence once (its first occurrence)."""
    cand = [i for i, u in enumerate(us) if u.words >= min_words] or list(range(len(us)))
    seen: set[str] = set()
    out = []
    for i in cand:
        key = sentence_key(us[i].text)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def _select(
    us: Sequence[Unit],
    max_words: int,
    *,
    lam: float = 0.9,
    min_words: int = 6,
    length_weight: float = 0.0,
    ranking: str = "textrank",
) -> tuple[list[int], int | None]:
    """:func:`select_units` and the most relevant candidate (``None`` when there is none)."""
    if not us or max_words <= 0:
        return [], None
    cand = _candidates(us, min_words)
    rel, X = rank_units([us[i].text for i in cand], ranking)
    if length_weight:
        rel = rel + length_weight * np.log([us[i].words for i in cand])
    if len(cand) > MAX_POOL:
        keep = np.sort(np.argsort(-rel, kind="stable")[:MAX_POOL])
        cand = [cand[k] for k in keep]
        rel = rel[keep]
        X = X[keep] if X is not None else None
    best = cand[int(np.argmax(rel))]
    words = np.array([us[i].words for i in cand])
    label = np.array([_label_words(us[i]) for i in cand])
    turns = np.array([us[i].turn for i in cand])
    # the label is paid once per turn group; approximate by paying it when the turn is new
    new_turn = np.ones(len(cand), dtype=bool)
    max_sim = np.zeros(len(cand))
    alive = np.ones(len(cand), dtype=bool)
    picked: list[int] = []  # positions in cand
    used = 0
    while True:
        cost = words + label * new_turn
        ok = alive & (cost <= max_words - used)
        if not ok.any():
            break
        score = lam * rel - (1 - lam) * max_sim
        score[~ok] = -np.inf
        j = int(np.argmax(score))
        alive[j] = False
        picked.append(j)
        used += int(cost[j])
        new_turn &= turns != turns[j]
        if X is not None:
            sim = np.asarray((X @ X[j].T).todense()).ravel()
            max_sim = np.maximum(max_sim, sim)
            alive &= sim < NEAR_DUPLICATE
    return sorted(cand[j] for j in picked), best


def format_units(us: Sequence[Unit], idx: Sequence[int]) -> str:
    """``Speaker : sentence sentence`` lines: consecutive picked sentences of one turn share a line."""
    lines: list[str] = []
    last_turn = None
    for i in idx:
        u = us[i]
        if lines and u.turn == last_turn:
            lines[-1] += " " + u.text
        else:
            lines.append(f"{u.speaker} : {u.text}" if u.speaker else u.text)
        last_turn = u.turn
    return "\n".join(lines)


def _fit(us: Sequence[Unit], idx: list[int], max_words: int) -> list[int]:
    """Drop trailing picks until the formatted text fits (label accounting is approximate)."""
    while idx and count_words(format_units(us, idx)) > max_words:
        idx = idx[:-1]
    return idx


def extractive_summary(t: Transcript, max_words: int, **params) -> str:
    """The extractive summary of ``t`` in at most ``max_words`` words (see :func:`select_units`).

    When no sentence fits the budget, the most central one is cut to fit (ending with ``…``);
    the result is empty only when not even that fits (a speaker label longer than the budget)
    or ``t`` has no words.
    """
    us = units(t)
    picked, best = _select(us, max_words, **params)
    idx = _fit(us, picked, max_words)
    if idx or best is None:
        return format_units(us, idx)
    u = us[best]
    room = max_words - _label_words(u)
    if room < 1:
        return ""
    cut = truncate_words(u.text, room)
    return format_units([Unit(u.turn, u.speaker, cut, count_words(cut))], [0])


def lead_summary(t: Transcript, max_words: int) -> str:
    """Lead-N baseline: the first sentences of the transcript, in order, up to ``max_words``."""
    us = units(t)
    idx: list[int] = []
    for i in range(len(us)):
        if count_words(format_units(us, [*idx, i])) > max_words:
            break
        idx.append(i)
    return format_units(us, idx)
