"""ROUGE evaluation of summaries on FREDSum, with a tokenizer that keeps French words whole.

Scores are ROUGE-1/2/L F-measures (``rouge_score``, ``rougeL`` = LCS over the whole text, no
stemming), in percent, against the three abstractive reference styles of FREDSum
(``summary_abstractive/{1,2,3}``): for each file and each metric the best of the references
counts (``RougeScorer.score_multi``), then files are averaged.

The default ``rouge_score`` tokenizer keeps only ``[a-z0-9]`` (``"été"`` -> ``"t"``), which
inflates scores between French texts with unrelated accented words; :class:`FrenchTokenizer`
keeps every letter.

Baselines share the budget rule of our systems (:func:`summarize.core.budget_words`):

- ``lead-N``: the first sentences of the transcript;
- ``oracle``: sentences picked greedily to maximise ROUGE-1 + ROUGE-2 against the references
  (an upper bound for sentence extraction, it reads the references).
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .extractive import Unit, format_units, units
from .fredsum import PEER_SYSTEMS, REFERENCE_STYLES, list_test_split, read_fredsum, read_text
from .text import FrenchTokenizer, count_words, tokenize

log = logging.getLogger(__name__)

__all__ = [
    "METRICS",
    "make_scorer",
    "score_best_of",
    "FredsumItem",
    "load_items",
    "dev_names",
    "oracle_summary",
    "SystemScores",
    "evaluate",
    "format_table",
    "common_names",
    "oracle_system",
]

METRICS = ("rouge1", "rouge2", "rougeL")


def make_scorer(french: bool = True):
    """A ``RougeScorer`` for ROUGE-1/2/L; ``french=False`` gives the library default tokenizer."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(
        list(METRICS), use_stemmer=False, tokenizer=FrenchTokenizer() if french else None
    )


def score_best_of(prediction: str, references: Sequence[str], scorer=None) -> dict[str, float]:
    """ROUGE F-measures (percent) of ``prediction``, best reference per metric.

    An empty prediction scores 0.
    """
    refs = [r for r in references if r and r.strip()]
    if not refs:
        raise ValueError("no reference summary to score against")
    if not prediction.strip():
        return {m: 0.0 for m in METRICS}
    scorer = scorer or make_scorer()
    s = scorer.score_multi(refs, prediction)
    return {m: 100.0 * s[m].fmeasure for m in METRICS}


@dataclass(frozen=True)
class FredsumItem:
    """One FREDSum file: its transcript path, references by style, peer outputs by system."""

    name: str
    transcript: Path
    references: dict[str, str]
    peers: dict[str, str] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return self.name[:-4] if self.name.endswith(".txt") else self.name


def _read_if(p: Path) -> str | None:
    if not p.is_file():
        return None
    text = read_text(p).strip()
    return text or None


def load_items(root: str | os.PathLike, names: Sequence[str] | None = None) -> list[FredsumItem]:
    """FREDSum items for ``names`` (default: the test split).

    Files without any reference are skipped with a warning; missing peer outputs (no
    predictions exist for ``Destaing_Mitterrand_2``) are simply absent from ``peers``.
    """
    root = Path(root)
    if not (root / "transcript").is_dir():
        raise ValueError(f"{root} : pas un dossier FREDSum (sous-dossier transcript/ absent)")
    names = list(names) if names is not None else list_test_split(root)
    items = []
    for name in names:
        tp = root / "transcript" / name
        if not tp.is_file():
            log.warning("FREDSum: no transcript for %s", name)
            continue
        refs = {s: r for s in REFERENCE_STYLES if (r := _read_if(root / "summary_abstractive" / s / name))}
        if not refs:
            log.warning("FREDSum: no reference summary for %s", name)
            continue
        peers = {
            p: r for p in PEER_SYSTEMS if (r := _read_if(root / "summary_abstractive_prediction" / p / name))
        }
        items.append(FredsumItem(name, tp, refs, peers))
    return items


def dev_names(root: str | os.PathLike) -> list[str]:
    """FREDSum transcripts outside the test split (for tuning), sorted."""
    root = Path(root)
    test = set(list_test_split(root))
    return sorted(p.name for p in (root / "transcript").glob("*.txt") if p.name not in test)


# --------------------------------------------------------------------------- oracle


def _ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def _f(overlap: int, n_pred: int, n_ref: int) -> float:
    if not overlap or not n_pred or not n_ref:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def oracle_summary(us: Sequence[Unit], references: Sequence[str], max_words: int) -> str:
    """Greedy extractive oracle: add the sentence that most raises the mean over references of
    ROUGE-1 F + ROUGE-2 F, while the formatted summary fits ``max_words``; stop when none helps."""
    refs = [(_ngrams(tokenize(r), 1), _ngrams(tokenize(r), 2)) for r in references]
    grams = [(_ngrams(tokenize(u.text), 1), _ngrams(tokenize(u.text), 2)) for u in us]
    ref_sizes = [(sum(r1.values()), sum(r2.values())) for r1, r2 in refs]

    def value(c1: Counter, c2: Counter) -> float:
        n1, n2 = sum(c1.values()), sum(c2.values())
        tot = 0.0
        for (r1, r2), (m1, m2) in zip(refs, ref_sizes):
            tot += _f(sum((c1 & r1).values()), n1, m1) + _f(sum((c2 & r2).values()), n2, m2)
        return tot / len(refs)

    picked: list[int] = []
    excluded: set[int] = set()
    c1: Counter = Counter()
    c2: Counter = Counter()
    best = 0.0
    while True:
        best_i, best_s = None, best
        for i in range(len(us)):
            if i in excluded:
                continue
            s = value(c1 + grams[i][0], c2 + grams[i][1])
            if s > best_s:
                best_i, best_s = i, s
        if best_i is None:
            break
        excluded.add(best_i)
        trial = sorted([*picked, best_i])
        if count_words(format_units(us, trial)) > max_words:
            continue  # does not fit: the next round tries the others
        picked = trial
        c1, c2 = c1 + grams[best_i][0], c2 + grams[best_i][1]
        best = best_s
    return format_units(us, picked)


# --------------------------------------------------------------------------- evaluation

System = Callable[[FredsumItem], str]


@dataclass
class SystemScores:
    """Per-file scores and timings of one system."""

    name: str
    per_file: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def mean(self, names: Sequence[str] | None = None) -> dict[str, float]:
        keys = [n for n in (names if names is not None else self.per_file) if n in self.per_file]
        if not keys:
            return {m: float("nan") for m in METRICS}
        return {m: statistics.fmean(self.per_file[k][m] for k in keys) for m in METRICS}

    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds.values()) if self.seconds else None

    def median_words(self) -> float | None:
        return statistics.median(self.words.values()) if self.words else None


def evaluate(
    items: Sequence[FredsumItem],
    systems: Mapping[str, System],
    scorer=None,
    hook: Callable[[str, int, int], None] | None = None,
) -> dict[str, SystemScores]:
    """Run every system on every item and score it (best of the references).

    A system returns its summary text, or ``None`` when it has no output for that item (peer
    systems on files without predictions). Exceptions are recorded per file, never raised.
    """
    scorer = scorer or make_scorer()
    out = {name: SystemScores(name) for name in systems}
    total = len(items) * len(systems)
    done = 0
    for item in items:
        refs = list(item.references.values())
        for name, fn in systems.items():
            if hook:
                hook(name, done, total)
            t0 = time.perf_counter()
            try:
                pred = fn(item)
            except Exception as e:  # one failing system/file never stops the evaluation
                out[name].failed[item.name] = f"{type(e).__name__}: {e}"
                log.warning("%s failed on %s: %s", name, item.name, e)
                done += 1
                continue
            dt = time.perf_counter() - t0
            done += 1
            if pred is None:
                continue
            out[name].per_file[item.name] = score_best_of(pred, refs, scorer)
            out[name].seconds[item.name] = dt
            out[name].words[item.name] = count_words(pred)
    if hook:
        hook("done", total, total)
    return out


def common_names(results: Mapping[str, SystemScores]) -> list[str]:
    """Files every system has a score for (the fair comparison set)."""
    sets = [set(r.per_file) for r in results.values() if r.per_file]
    return sorted(set.intersection(*sets)) if sets else []


def format_table(results: Mapping[str, SystemScores], names: Sequence[str] | None = None) -> str:
    """A plain-text table: ROUGE-1/2/L (mean F, %) on ``names`` (default: common files),
    median words and median seconds per file."""
    names = list(names) if names is not None else common_names(results)
    head = f"{'système':<34} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'mots':>6} {'s/fichier':>9}  fichiers"
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        m = r.mean(names)
        n = sum(1 for k in names if k in r.per_file)
        w = r.median_words()
        s = r.median_seconds()
        lines.append(
            f"{name:<34} {m['rouge1']:6.2f} {m['rouge2']:6.2f} {m['rougeL']:6.2f} "
            f"{(f'{w:.0f}' if w is not None else '-'):>6} {(f'{s:.2f}' if s is not None else '-'):>9}  {n}"
        )
    return "\n".join(lines)


def oracle_system(budget: Callable[[int], int]) -> System:
    """The extractive oracle as a system (reads the item's references)."""

    def run(item: FredsumItem) -> str:
        from .core import with_full_names

        t, _ = with_full_names(read_fredsum(item.transcript))
        return oracle_summary(units(t), list(item.references.values()), budget(count_words(t.text)))

    return run
