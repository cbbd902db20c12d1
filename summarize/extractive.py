"""Extractive summaries: rank the sentences of a transcript and keep the best under a word budget.

Each sentence of each turn is a unit. Units are represented offline by TF-IDF vectors fitted on
the transcript itself (French tokenizer, French stop words removed, sublinear term frequency),
ranked by TextRank (PageRank over the cosine-similarity graph; centroid similarity for very long
transcripts, where the graph would be too large), and picked greedily by maximal marginal
relevance (MMR) so that the summary does not repeat itself. Picked sentences go back in
transcript order, grouped by turn, each group prefixed with its speaker's name
(``Nicolas Sarkozy : ...``). The budget counts every word of the output, names included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asr.transcript import Transcript

from .text import FRENCH_STOPWORDS, count_words, split_sentences, tokenize

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


@dataclass(frozen=True)
class Unit:
    """One sentence of one turn: ``turn`` indexes the transcript's segments."""

    turn: int
    speaker: str | None
    text: str
    words: int


def units(t: Transcript) -> list[Unit]:
    """Sentences of every non-empty segment, in transcript order."""
    out = []
    for i, seg in enumerate(t.segments):
        for s in split_sentences(seg.text):
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
    """
    if not us or max_words <= 0:
        return []
    cand = [i for i, u in enumerate(us) if u.words >= min_words] or list(range(len(us)))
    rel, X = rank_units([us[i].text for i in cand], ranking)
    if length_weight:
        rel = rel + length_weight * np.log([us[i].words for i in cand])
    picked: list[int] = []  # positions in cand
    used = 0
    max_sim = np.zeros(len(cand))
    alive = np.ones(len(cand), dtype=bool)
    prev_turns: set[int] = set()
    while alive.any():
        score = lam * rel - (1 - lam) * max_sim
        score[~alive] = -np.inf
        j = int(np.argmax(score))
        alive[j] = False
        u = us[cand[j]]
        # the label is paid once per turn group; approximate by paying it when the turn is new
        cost = u.words + (_label_words(u) if u.turn not in prev_turns else 0)
        if used + cost > max_words:
            continue
        picked.append(j)
        prev_turns.add(u.turn)
        used += cost
        if X is not None:
            sim = np.asarray((X @ X[j].T).todense()).ravel()
            max_sim = np.maximum(max_sim, sim)
    return sorted(cand[j] for j in picked)


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
    """The extractive summary of ``t`` in at most ``max_words`` words (see :func:`select_units`)."""
    us = units(t)
    idx = _fit(us, select_units(us, max_words, **params), max_words)
    return format_units(us, idx)


def lead_summary(t: Transcript, max_words: int) -> str:
    """Lead-N baseline: the first sentences of the transcript, in order, up to ``max_words``."""
    us = units(t)
    idx: list[int] = []
    for i in range(len(us)):
        if count_words(format_units(us, [*idx, i])) > max_words:
            break
        idx.append(i)
    return format_units(us, idx)
