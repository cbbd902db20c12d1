"""Word -> speaker assignment.

Each word gets the speaker of the turn it overlaps most; a word that overlaps no turn (it
fell in a gap) gets the speaker of the nearest turn. Segments are then runs of one
speaker's words (split also at long pauses).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

from asr.transcript import Segment, Word, segments_from_words

Turn = tuple[float, float, str]


def assign_words(words: Sequence[Word], turns: Sequence[Turn]) -> list[Word]:
    """Return ``words`` with ``speaker`` set from ``turns`` (start, end, speaker).

    Ties in overlap go to the earlier turn. With no turns, words are returned unchanged.
    """
    if not turns:
        return list(words)
    turns = sorted(turns)
    starts = [t[0] for t in turns]
    # turns are short and sorted: look only at turns that can overlap the word
    max_len = max(t[1] - t[0] for t in turns)
    out = []
    for w in words:
        lo = bisect.bisect_left(starts, w.start - max_len)
        hi = bisect.bisect_right(starts, w.end)
        best, best_ov = None, 0.0
        for s, e, spk in turns[lo:hi]:
            ov = min(e, w.end) - max(s, w.start)
            if ov > best_ov + 1e-9:
                best, best_ov = spk, ov
        if best is None:
            best = _nearest(turns, starts, w)
        out.append(replace(w, speaker=best))
    return out


def _nearest(turns: Sequence[Turn], starts: list[float], w: Word) -> str:
    mid = (w.start + w.end) / 2
    i = bisect.bisect_right(starts, mid)
    cands = []
    for j in (i - 1, i):
        if 0 <= j < len(turns):
            s, e, spk = turns[j]
            dist = 0.0 if s <= mid <= e else min(abs(mid - s), abs(mid - e))
            cands.append((dist, j, spk))
    # a long earlier turn may end after the previous start's neighbour: scan back a little
    for j in range(max(0, i - 4), i):
        s, e, spk = turns[j]
        dist = 0.0 if s <= mid <= e else min(abs(mid - s), abs(mid - e))
        cands.append((dist, j, spk))
    return min(cands)[2]


def words_to_segments(
    words: Sequence[Word], turns: Sequence[Turn], max_gap: float = 2.0
) -> tuple[Segment, ...]:
    """Assign speakers to ``words`` and group them into single-speaker segments."""
    return segments_from_words(assign_words(words, turns), max_gap=max_gap)
