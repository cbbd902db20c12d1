"""Offline diarizer: windowing, clustering and speaker-count rules on controlled embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from asr.diarize import DiarizeOptions, EmbeddingDiarizer, cluster_embeddings, window_spans


def _blobs(sizes, dim=32, spread=0.15, seed=0):
    """Unit vectors around well-separated random centres, one blob per speaker."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.standard_normal((dim, dim)))[0][: len(sizes)]  # orthogonal
    x = np.concatenate(
        [c + spread * rng.standard_normal((n, dim)) / np.sqrt(dim) for c, n in zip(centres, sizes)]
    )
    return x, np.repeat(np.arange(len(sizes)), sizes)


def _agree(labels, truth):
    """Fraction of items whose label matches the majority label of their true group."""
    ok = 0
    for g in np.unique(truth):
        vals, counts = np.unique(labels[truth == g], return_counts=True)
        ok += counts.max()
    return ok / len(truth)


def test_window_cores_tile_the_region():
    spans = window_spans(10.0, 15.0, 1.6, 0.4)
    assert spans[0][2] == 10.0 and spans[-1][3] == 15.0
    for (_, _, _, e1), (_, _, s2, _) in zip(spans, spans[1:]):
        assert e1 == pytest.approx(s2)
    assert all(ws <= cs <= ce <= we for ws, we, cs, ce in spans)
    assert window_spans(3.0, 4.0, 1.6, 0.4) == [(3.0, 4.0, 3.0, 4.0)]
    # a region a float hair longer than one window (508.46 + 1.6 = 510.06000000000006): one
    # window, where the sliding-window arithmetic once found none and raised IndexError
    end = 508.46 + 1.6
    assert end - 508.46 > 1.6
    assert window_spans(508.46, end, 1.6, 0.4) == [(508.46, end, 508.46, end)]


@pytest.mark.parametrize("sizes", [(60, 40), (50, 30, 40), (30, 30, 30, 30)])
def test_automatic_count_finds_the_speakers(sizes):
    x, truth = _blobs(sizes)
    lab = cluster_embeddings(x, np.full(len(x), 0.4), DiarizeOptions())
    assert len(np.unique(lab)) == len(sizes)
    assert _agree(lab, truth) == 1.0
    assert lab[0] == 0  # labels numbered by first appearance


def test_bounds_and_exact_count():
    x, _ = _blobs((40, 40, 40))
    d = np.full(len(x), 0.4)
    assert len(np.unique(cluster_embeddings(x, d, DiarizeOptions(max_speakers=2)))) == 2
    assert len(np.unique(cluster_embeddings(x, d, DiarizeOptions(min_speakers=4)))) == 4
    assert len(np.unique(cluster_embeddings(x, d, DiarizeOptions(num_speakers=1)))) == 1


def test_tiny_cluster_is_merged():
    x, _ = _blobs((80, 80, 2))  # 2 windows = 0.8 s of a "third speaker": a glitch, not a person
    lab = cluster_embeddings(x, np.full(len(x), 0.4), DiarizeOptions())
    assert len(np.unique(lab)) == 2


def test_one_speaker_when_allowed():
    x, _ = _blobs((100,), spread=0.5)
    lab = cluster_embeddings(x, np.full(len(x), 0.4), DiarizeOptions(min_speakers=1))
    assert len(np.unique(lab)) == 1


def test_large_input_stays_correct():
    x, truth = _blobs((1500, 1200))  # > 2000 windows: k-means reduction first
    lab = cluster_embeddings(x, np.full(len(x), 0.4), DiarizeOptions())
    assert len(np.unique(lab)) == 2 and _agree(lab, truth) == 1.0


def test_empty_diarizer_gives_no_turns():
    d = EmbeddingDiarizer()
    d.add(np.zeros(16000, np.float32), [])
    assert d.finish() == []


def test_option_errors_name_the_field():
    for kw, field in [
        ({"num_speakers": 0}, "num_speakers"),
        ({"threshold": 3}, "threshold"),
        ({"window_s": 1.0, "step_s": 2.0}, "window_s"),
        ({"min_speaker_share": 0.7}, "min_speaker_share"),
        ({"backend": "kmeans"}, "backend"),
    ]:
        with pytest.raises(ValueError, match=field):
            DiarizeOptions(**kw)
    assert "tok" not in repr(DiarizeOptions(backend="pyannote", pyannote_pipeline="x", pyannote_token="tok"))
