"""Speaker diarization: who spoke when.

Offline default (``backend="embedding"``): speech regions from the VAD are cut into sliding
windows (1.6 s, hop 0.4 s); each window gets a Resemblyzer d-vector (the GE2E speaker encoder
whose weights ship inside the ``resemblyzer`` wheel); the windows are clustered (average-linkage
agglomerative clustering on cosine distance; the number of speakers is the one with the best
silhouette within ``min_speakers``/``max_speakers``, or exactly ``num_speakers``); each window labels
the stretch of time around its centre, and runs of one label become speaker turns.

Embedding is incremental (:class:`EmbeddingDiarizer` ``add`` per audio window, then
``finish``), so a long recording never needs to be held whole: only one small vector per
window is kept.

``backend="pyannote"`` runs a pyannote.audio pipeline (see :mod:`asr.diarize_pyannote`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from asr.audio import SAMPLE_RATE

log = logging.getLogger(__name__)

Turn = tuple[float, float, str]  # (start, end, speaker)
DIARIZERS = ("embedding", "pyannote", "none")


@dataclass(frozen=True)
class DiarizeOptions:
    """Diarization settings.

    Attributes:
        backend: ``embedding`` (offline default), ``pyannote`` or ``none`` (one speaker).
        num_speakers: exact number of speakers if known (overrides min/max).
        min_speakers / max_speakers: bounds on the automatic count.
        threshold: speakers whose centroid embeddings are closer than this cosine distance
            are merged (automatic count). Two real or synthetic voices sit at 0.25-0.4.
        window_s / step_s: embedding window length and hop, seconds.
        min_speaker_s / min_speaker_share: a cluster with less speech than this many seconds,
            or than this share of all speech, is merged into its nearest neighbour (unless
            that would go below ``min_speakers``).
        pyannote_pipeline: local pipeline directory or hub id (``backend="pyannote"``).
        pyannote_token: hub token for a gated hub pipeline (online users only).
        allow_download: fetch a hub ``pyannote_pipeline`` missing from the local hub cache
            (otherwise a ``ValueError`` at once).
    """

    backend: str = "embedding"
    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8
    threshold: float = 0.2
    window_s: float = 1.6
    step_s: float = 0.4
    min_speaker_s: float = 1.5
    min_speaker_share: float = 0.05
    pyannote_pipeline: str | None = None
    pyannote_token: str | None = field(default=None, repr=False)
    allow_download: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_download, bool):
            raise ValueError(f"DiarizeOptions.allow_download must be a bool, got {self.allow_download!r}")
        if self.backend not in DIARIZERS:
            raise ValueError(f"DiarizeOptions.backend must be one of {DIARIZERS}, got {self.backend!r}")
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ValueError(f"DiarizeOptions.num_speakers must be >= 1, got {self.num_speakers}")
        if self.min_speakers < 1:
            raise ValueError(f"DiarizeOptions.min_speakers must be >= 1, got {self.min_speakers}")
        if self.max_speakers < self.min_speakers:
            raise ValueError(
                f"DiarizeOptions.max_speakers ({self.max_speakers}) must be >= min_speakers ({self.min_speakers})"
            )
        if self.min_speaker_s < 0:
            raise ValueError(f"DiarizeOptions.min_speaker_s must be >= 0, got {self.min_speaker_s}")
        if not 0.0 <= self.min_speaker_share < 0.5:
            raise ValueError(
                f"DiarizeOptions.min_speaker_share must be in [0, 0.5), got {self.min_speaker_share}"
            )
        if not 0.0 < self.threshold < 2.0:
            raise ValueError(f"DiarizeOptions.threshold must be in (0, 2), got {self.threshold}")
        if self.window_s <= 0 or self.step_s <= 0 or self.step_s > self.window_s:
            raise ValueError(
                f"DiarizeOptions.window_s/step_s must satisfy 0 < step_s <= window_s, got {self.window_s}/{self.step_s}"
            )
        if self.backend == "pyannote" and not self.pyannote_pipeline:
            raise ValueError("DiarizeOptions.pyannote_pipeline is required with backend='pyannote'")

    @property
    def bounds(self) -> tuple[int, int]:
        if self.num_speakers is not None:
            return self.num_speakers, self.num_speakers
        return self.min_speakers, self.max_speakers


def load_encoder():
    """Load the Resemblyzer speaker encoder (its weights ship in the ``resemblyzer`` wheel).
    Load it once and pass it to :class:`EmbeddingDiarizer` / :func:`diarize`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder
    except ImportError as e:  # pragma: no cover
        raise RuntimeError("the embedding diarizer needs: pip install resemblyzer") from e
    return VoiceEncoder("cpu", verbose=False)


def window_spans(
    start: float, end: float, win: float, step: float
) -> list[tuple[float, float, float, float]]:
    """Sliding windows over [start, end]: (win_start, win_end, core_start, core_end).

    Cores tile [start, end] exactly: each is the part of time nearest to its window's centre.
    """
    if end - start <= win:
        return [(start, end, start, end)]
    starts = list(np.arange(start, end - win, step))
    if end - win - starts[-1] > 1e-6:
        starts.append(end - win)
    centres = [s + win / 2 for s in starts]
    bounds = [start] + [(a + b) / 2 for a, b in zip(centres[:-1], centres[1:])] + [end]
    return [(float(s), float(s + win), float(bounds[i]), float(bounds[i + 1])) for i, s in enumerate(starts)]


class EmbeddingDiarizer:
    """Incremental VAD + d-vector + clustering diarizer (see module docstring)."""

    def __init__(self, opts: DiarizeOptions | None = None, encoder=None):
        """``encoder``: a :func:`load_encoder` handle to reuse; ``None`` loads one when needed."""
        self.opts = opts or DiarizeOptions()
        self.encoder = encoder
        self.cores: list[tuple[float, float]] = []
        self.embs: list[np.ndarray] = []
        self.region_ids: list[int] = []
        self._region = 0

    def add(self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0) -> None:
        """Embed the speech ``regions`` (seconds relative to ``audio``) of one audio window."""
        if not regions:
            return
        import torch
        from resemblyzer.audio import wav_to_mel_spectrogram

        from asr.vad import normalize_gain

        if self.encoder is None:
            self.encoder = load_encoder()
        enc = self.encoder
        mels, cores, rids = [], [], []
        for s, e in regions:
            self._region += 1
            for ws, we, cs, ce in window_spans(s, e, self.opts.window_s, self.opts.step_s):
                a = audio[int(ws * SAMPLE_RATE) : int(we * SAMPLE_RATE)]
                if a.size < int(0.2 * SAMPLE_RATE):
                    continue
                mels.append(wav_to_mel_spectrogram(normalize_gain(a)))
                cores.append((cs + offset, ce + offset))
                rids.append(self._region)
        if not mels:
            return
        # Batch windows of equal length (most are full windows); short ones go alone.
        out = [None] * len(mels)
        by_len: dict[int, list[int]] = {}
        for i, m in enumerate(mels):
            by_len.setdefault(m.shape[0], []).append(i)
        with torch.inference_mode():
            for _, idx in by_len.items():
                for k in range(0, len(idx), 256):
                    chunk = idx[k : k + 256]
                    x = torch.from_numpy(np.stack([mels[i] for i in chunk]))
                    e = enc(x).cpu().numpy()
                    for i, v in zip(chunk, e):
                        out[i] = v
        self.cores.extend(cores)
        self.embs.extend(out)
        self.region_ids.extend(rids)

    def finish(self) -> list[Turn]:
        """Cluster all windows seen so far and return speaker turns (labels ``SPEAKER_00``...)."""
        if not self.embs:
            return []
        labels = cluster_embeddings(np.stack(self.embs), self._durations(), self.opts)
        labels = _smooth(labels, self.region_ids)
        turns: list[Turn] = []
        for (cs, ce), lab in zip(self.cores, labels):
            spk = f"SPEAKER_{lab:02d}"
            if turns and turns[-1][2] == spk and abs(turns[-1][1] - cs) < 1e-6:
                turns[-1] = (turns[-1][0], ce, spk)
            else:
                turns.append((cs, ce, spk))
        return turns

    def _durations(self) -> np.ndarray:
        return np.array([ce - cs for cs, ce in self.cores], dtype=np.float64)


def _smooth(labels: np.ndarray, region_ids: list[int]) -> np.ndarray:
    """Majority filter (width 3) within each speech region: drops single-window flips."""
    lab = labels.copy()
    for i in range(1, len(lab) - 1):
        if region_ids[i - 1] == region_ids[i] == region_ids[i + 1] and lab[i - 1] == lab[i + 1] != lab[i]:
            lab[i] = lab[i - 1]
    return lab


def cluster_embeddings(embs: np.ndarray, durations: np.ndarray, opts: DiarizeOptions) -> np.ndarray:
    """Cluster L2-normalised embeddings [N, D] into speakers; returns labels 0..k-1 ordered by
    first appearance.

    One average-linkage tree on cosine distance (scipy) is cut at every k in the allowed
    range; the k with the best silhouette wins. Then clusters holding less than
    ``min_speaker_s`` seconds or ``min_speaker_share`` of the speech are merged into their
    nearest neighbour, and clusters whose centroids are closer than ``threshold`` merge, both
    never below ``min_speakers``. Large inputs (> 2000 windows) are first reduced to 400
    k-means centroids, so memory stays small for hour-long audio.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(embs)
    lo, hi = opts.bounds
    if n == 1 or hi == 1:
        return np.zeros(n, dtype=int)
    x = embs / np.maximum(np.linalg.norm(embs, axis=1, keepdims=True), 1e-8)
    weights = np.asarray(durations, dtype=np.float64)
    assign = np.arange(n)
    if n > 2000:
        km = KMeans(n_clusters=400, n_init=1, random_state=0).fit(x, sample_weight=weights)
        assign = km.labels_
        x = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-8)
        weights = np.bincount(assign, weights=durations, minlength=len(x))
    m = len(x)
    tree = linkage(x, method="average", metric="cosine")

    def cut(k: int) -> np.ndarray:
        return fcluster(tree, t=k, criterion="maxclust") - 1

    if lo == hi:
        lab = cut(min(lo, m))
    else:
        best, best_sil = None, -2.0
        for k in range(max(2, lo), min(hi, m - 1) + 1):
            lab_k = cut(k)
            if len(np.unique(lab_k)) < 2:
                continue
            sil = silhouette_score(x, lab_k, metric="cosine")
            if sil > best_sil:
                best, best_sil = lab_k, sil
        lab = best if best is not None else cut(min(max(lo, 1), m))
        lab = _merge_small(x, lab, weights, opts, lo)
        lab = _merge_close(x, lab, opts.threshold, lo)
    lab = lab[assign]
    order: dict[int, int] = {}
    for v in lab:
        order.setdefault(int(v), len(order))
    return np.array([order[int(v)] for v in lab], dtype=int)


def _centroids(x: np.ndarray, lab: np.ndarray, ks: np.ndarray) -> np.ndarray:
    c = np.stack([x[lab == k].mean(0) for k in ks])
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-8)


def _merge_small(x: np.ndarray, lab: np.ndarray, w: np.ndarray, opts: DiarizeOptions, lo: int) -> np.ndarray:
    lab = lab.copy()
    total = float(w.sum())
    while True:
        ks = np.unique(lab)
        if len(ks) <= max(lo, 1):
            return lab
        dur = np.array([w[lab == k].sum() for k in ks])
        small = int(np.argmin(dur))
        if dur[small] >= max(opts.min_speaker_s, opts.min_speaker_share * total):
            return lab
        cents = _centroids(x, lab, ks)
        sims = cents @ cents[small]
        sims[small] = -np.inf
        lab[lab == ks[small]] = ks[int(np.argmax(sims))]


def _merge_close(x: np.ndarray, lab: np.ndarray, threshold: float, lo: int) -> np.ndarray:
    lab = lab.copy()
    while True:
        ks = np.unique(lab)
        if len(ks) <= max(lo, 1):
            return lab
        cents = _centroids(x, lab, ks)
        dist = 1.0 - cents @ cents.T
        np.fill_diagonal(dist, np.inf)
        a, b = np.unravel_index(int(np.argmin(dist)), dist.shape)
        if dist[a, b] >= threshold:
            return lab
        lab[lab == ks[b]] = ks[a]


def diarize(
    audio: np.ndarray,
    regions: list[tuple[float, float]],
    opts: DiarizeOptions | None = None,
    hook=None,
    encoder=None,
    pyannote_pipeline=None,
) -> list[Turn]:
    """Diarize a whole in-memory signal given its speech regions.

    ``encoder`` / ``pyannote_pipeline``: loaded models to reuse (see
    :func:`asr.pipeline.load_front_end`); ``None`` loads what the backend needs for this call.
    ``hook(step, completed, total)`` gets pyannote's steps."""
    opts = opts or DiarizeOptions()
    if opts.backend == "none":
        return [(s, e, "SPEAKER_00") for s, e in regions]
    if opts.backend == "pyannote":
        from asr.diarize_pyannote import PyannoteOptions, diarize_pyannote

        return diarize_pyannote(
            audio,
            PyannoteOptions(
                pipeline=opts.pyannote_pipeline,
                token=opts.pyannote_token,
                allow_download=opts.allow_download,
                num_speakers=opts.num_speakers,
                min_speakers=None if opts.num_speakers else opts.min_speakers,
                max_speakers=None if opts.num_speakers else opts.max_speakers,
            ),
            hook=hook,
            pipeline=pyannote_pipeline,
        )
    d = EmbeddingDiarizer(opts, encoder=encoder)
    d.add(audio, regions)
    return d.finish()
