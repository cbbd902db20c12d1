"""Speaker diarization: who spoke when.

Offline default (``backend="embedding"``): speech regions from the VAD are cut into sliding
windows (1.6 s, hop 0.4 s); each window gets a Resemblyzer d-vector (the GE2E speaker encoder
whose weights ship inside the ``resemblyzer`` wheel), computed on the mel spectrogram from
which the stationary line noise has been subtracted (``denoise``). Clustering
(:func:`cluster_embeddings`):

1. the d-vectors are centred on the recording's mean: what every window shares (the
   telephone channel, the microphone, the language) is removed, so two similar voices on one
   line (two women on a telephone call sit at a cosine distance of only ~0.1 in the raw
   space) become separable; they are then projected on their main directions and whitened
   by the *within-speaker* scatter, estimated without labels from the differences between
   consecutive windows of one speech region (:func:`_within_whiten`): the directions along
   which one voice drifts (the line noise's share of a window at a low SNR, the level, what
   is being said) are shrunk, those that differ only from speaker to speaker stand out;
2. consecutive windows of one speech region are averaged in chunks of ``chunk_windows``
   (~1.6-2.8 s of speech each), which tames the noise of single short windows;
3. the chunks are clustered (average-linkage agglomerative clustering on cosine distance; the
   number of speakers is the one with the best silhouette within
   ``min_speakers``/``max_speakers``, or exactly ``num_speakers``);
4. with ``resegment`` the windows are re-labelled by Viterbi decoding of a hidden Markov model
   whose states are the speakers (emission: the window's scaled projection on each speaker's
   centroid direction, so ambiguous windows near the mean are left to the prior; a speaker
   change is unlikely inside a speech region and likelier at a pause), and the centroids are
   re-estimated, a few rounds (a light form of VBx resegmentation);
5. clusters with too little speech, or whose centroids in the *raw* space are closer than
   ``threshold``, are merged (never below ``min_speakers``): this is where "one speaker or
   two" is decided, and it stays conservative (see ``threshold``).

6. with ``fine`` a second, finer pass: windows of 0.8 s every 0.2 s are labelled by another
   Viterbi decoding, their emissions taken from the speakers' centroids among these short
   windows (centred and whitened as in step 1, so that short windows are compared with short
   windows) plus a bonus for the
   coarse label; this places turn changes to 0.2 s rather than 0.4 s and finds more of the
   short turns (back-channels) that a 1.6 s window blends into the other voice.

Each window labels the stretch of time around its centre; runs of one label become speaker
turns. The turns then follow the speech more closely than the VAD regions (frame energy
against the noise floor, 10 ms frames): with ``edge_trim_s`` the outer edges of each region
are moved in to where the energy rises above the floor (the VAD pads its regions for the
recogniser), with ``edge_extend_s`` moved out where the speech runs on past the region (the
VAD cuts weak onsets and tails), and with ``pauses`` a speaker change is moved to a pause
near it and pauses of 0.3 s or more inside a region are left out of the turns.

Embedding is incremental (:class:`EmbeddingDiarizer` ``add`` per audio window, then
``finish``), so a long recording never needs to be held whole: only small vectors are kept
(one per 0.4 s window, and one per 0.2 s fine window with ``fine``: ~8 KB per second of
speech), plus the pauses found in each region. :mod:`asr.diarizer` puts this backend, pyannote and ``none`` behind one
interface.

``backend="pyannote"`` runs a pyannote.audio pipeline (see :mod:`asr.diarize_pyannote`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from asr.audio import SAMPLE_RATE
from asr.progress import Hook, call_hook

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
        threshold: speakers whose centroid embeddings (raw, not centred) are closer than this
            cosine distance are merged (automatic count). Distinct synthetic voices or a man
            and a woman sit at 0.25-0.4; two women on one telephone line at ~0.06-0.13, as do
            the two halves of one speaker's short recording: with ``min_speakers=1`` such a pair
            stays one speaker (calls should pass ``min_speakers=2``, as the apps do).
        window_s / step_s: embedding window length and hop, seconds.
        chunk_windows: consecutive windows of one speech region averaged into one item for
            the initial clustering (1: every window alone).
        resegment: re-label windows with the speaker HMM (Viterbi) after clustering.
        edge_trim_s: at most this much is trimmed from each end of a speech region where the
            frame energy is still at the noise floor (0: turns follow the VAD regions).
        denoise: subtract the stationary noise (line hiss, hum), estimated on the non-speech
            frames, from the mel spectrogram before embedding.
        edge_extend_s: where the speech runs on past a VAD region's edge (frame energy still
            above the trimming threshold), the edge follows it outwards by at most this much
            (never into the next region; 0: off). The VAD cuts weak onsets and tails.
        pauses: find the pauses inside each speech region (frame energy at the noise floor for
            at least 0.1 s); a speaker change is moved to the longest pause within ``snap_s``
            seconds of it (the pause is left to neither speaker), and every pause of at least
            ``pause_gap_s`` seconds is cut out of the turns (the RTTM convention: a pause of
            0.3 s ends a turn).
        fine: after the coarse labelling, re-label finer windows (0.8 s, hop 0.2 s) with a
            second speaker HMM seeded by the coarse labels: turn changes and short turns
            (back-channels inside the other speaker's region) get a 0.2 s resolution instead
            of ``step_s``. About doubles the embedding time.
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
    chunk_windows: int = 4
    resegment: bool = True
    edge_trim_s: float = 0.2
    denoise: bool = True
    min_speaker_s: float = 1.5
    min_speaker_share: float = 0.05
    edge_extend_s: float = 0.3
    pauses: bool = True
    pause_gap_s: float = 0.3
    snap_s: float = 0.6
    fine: bool = True
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
        if (
            isinstance(self.chunk_windows, bool)
            or not isinstance(self.chunk_windows, int)
            or self.chunk_windows < 1
        ):
            raise ValueError(
                f"DiarizeOptions.chunk_windows must be an integer >= 1, got {self.chunk_windows!r}"
            )
        if not isinstance(self.resegment, bool):
            raise ValueError(f"DiarizeOptions.resegment must be a bool, got {self.resegment!r}")
        if not isinstance(self.denoise, bool):
            raise ValueError(f"DiarizeOptions.denoise must be a bool, got {self.denoise!r}")
        if not 0.0 <= self.edge_trim_s <= 1.0:
            raise ValueError(f"DiarizeOptions.edge_trim_s must be in [0, 1] seconds, got {self.edge_trim_s}")
        if not 0.0 <= self.edge_extend_s <= 1.0:
            raise ValueError(
                f"DiarizeOptions.edge_extend_s must be in [0, 1] seconds, got {self.edge_extend_s}"
            )
        for name in ("pauses", "fine"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"DiarizeOptions.{name} must be a bool, got {getattr(self, name)!r}")
        if self.pause_gap_s < 0 or self.snap_s < 0:
            raise ValueError(
                f"DiarizeOptions.pause_gap_s/snap_s must be >= 0 seconds, got {self.pause_gap_s}/{self.snap_s}"
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
    if end - start <= win + 1e-6:  # a region a float hair longer than a window is one window
        return [(start, end, start, end)]
    starts = list(np.arange(start, end - win, step)) or [start]
    if end - win - starts[-1] > 1e-6:
        starts.append(end - win)
    centres = [s + win / 2 for s in starts]
    bounds = [start] + [(a + b) / 2 for a, b in zip(centres[:-1], centres[1:])] + [end]
    return [(float(s), float(s + win), float(bounds[i]), float(bounds[i + 1])) for i, s in enumerate(starts)]


class EmbeddingDiarizer:
    """Incremental VAD + d-vector + clustering diarizer (see module docstring).

    Implements :class:`asr.diarizer.Diarizer`: ``add`` per audio window, ``finish`` once."""

    def __init__(self, opts: DiarizeOptions | None = None, encoder=None):
        """``encoder``: a :func:`load_encoder` handle to reuse; ``None`` loads one when needed."""
        self.opts = opts or DiarizeOptions()
        self.encoder = encoder
        self.cores: list[tuple[float, float]] = []
        self.embs: list[np.ndarray] = []
        self.region_ids: list[int] = []
        self.region_edges: dict[int, tuple[float, float]] = {}  # trimmed (start, end), absolute
        self.region_pauses: dict[int, list[tuple[float, float]]] = {}  # pauses inside, absolute
        self.fine_cores: list[tuple[float, float]] = []
        self.fine_embs: list[np.ndarray] = []
        self.fine_region_ids: list[int] = []
        self._region = 0

    def add(self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0) -> None:
        """Embed the speech ``regions`` (seconds relative to ``audio``) of one audio window."""
        if not regions:
            return
        if self.encoder is None:
            self.encoder = load_encoder()
        enc = self.encoder
        db = _frame_db(audio, int(0.01 * SAMPLE_RATE))
        edges = _trim(db, regions, self.opts.edge_trim_s) if self.opts.edge_trim_s > 0 else regions
        if self.opts.edge_extend_s > 0:
            edges = _extend(db, regions, edges, self.opts.edge_extend_s)
        pauses = region_pauses(db, regions) if self.opts.pauses else [[] for _ in regions]
        mel = _mel_frames(audio, regions, self.opts.denoise)
        first = self._region + 1
        for (ts, te), ps in zip(edges, pauses):
            self._region += 1
            self.region_edges[self._region] = (ts + offset, te + offset)
            self.region_pauses[self._region] = [(a + offset, b + offset) for a, b in ps if ts < a and b < te]
        embs, cores, rids = _embed_windows(enc, audio, mel, regions, self.opts.window_s, self.opts.step_s)
        self.cores.extend((cs + offset, ce + offset) for cs, ce in cores)
        self.embs.extend(embs)
        self.region_ids.extend(first + r for r in rids)
        if self.opts.fine:
            embs, cores, rids = _embed_windows(enc, audio, mel, regions, _FINE_WIN, _FINE_STEP)
            self.fine_cores.extend((cs + offset, ce + offset) for cs, ce in cores)
            self.fine_embs.extend(embs)
            self.fine_region_ids.extend(first + r for r in rids)

    def finish(self, hook: Hook | None = None) -> list[Turn]:
        """Cluster all windows seen so far and return speaker turns (labels ``SPEAKER_00``...).

        ``hook("cluster", 0, 1)`` / ``hook("cluster", 1, 1)`` bracket the clustering."""
        call_hook(hook, "cluster", 0, 1)
        if not self.embs:
            call_hook(hook, "cluster", 1, 1)
            return []
        labels = cluster_embeddings(
            np.stack(self.embs),
            self._durations(),
            self.opts,
            region_ids=self.region_ids,
        )
        if not self.opts.resegment:
            labels = _smooth(labels, self.region_ids)
        cores, region_ids = self.cores, self.region_ids
        if self.opts.fine and self.fine_embs:
            labels = self._fine_labels(labels)
            cores, region_ids = self.fine_cores, self.fine_region_ids
        turns: list[Turn] = []
        i, n = 0, len(labels)
        while i < n:
            j = i
            while j < n and region_ids[j] == region_ids[i]:
                j += 1
            rid = region_ids[i]
            rs, re_ = self.region_edges.get(rid, (cores[i][0], cores[j - 1][1]))
            runs = _runs(cores[i:j], labels[i:j], rs, re_)
            if self.opts.pauses:
                runs = _cut_pauses(
                    runs, self.region_pauses.get(rid, []), self.opts.snap_s, self.opts.pause_gap_s
                )
            turns.extend((a, b, f"SPEAKER_{lab:02d}") for a, b, lab in runs)
            i = j
        call_hook(hook, "cluster", 1, 1)
        return turns

    def _fine_labels(self, labels: np.ndarray) -> np.ndarray:
        """Labels of the fine windows (``fine``): Viterbi decoding over them, emission = their
        scaled projection on each speaker's centroid *among fine windows* (centred on the fine
        windows' mean and whitened, as the coarse pass does) + a bonus for the label of the coarse window
        holding their centre; the centroids are re-estimated, a few rounds."""
        ks = np.unique(labels)
        fr = np.asarray(self.fine_region_ids)
        cstart = np.array([c[0] for c in self.cores])
        fc = np.array([(a + b) / 2 for a, b in self.fine_cores])
        coarse = labels[np.clip(np.searchsorted(cstart, fc, side="right") - 1, 0, len(cstart) - 1)]
        if len(ks) < 2:
            return coarse
        fx = _unit(np.stack(self.fine_embs).astype(np.float64))
        fw = np.array([b - a for a, b in self.fine_cores])
        # whitened when the coarse pass would be: as much speech (fine windows hop more often)
        # but noisier vectors, so the same number of pairs estimates the scatter less well
        min_pairs = 2 * _WHITEN_DIM * max(1, round(self.opts.step_s / _FINE_STEP))
        fz = fx - np.average(fx, axis=0, weights=fw if fw.sum() > 0 else None)
        fz = _within_whiten(fz, fw, fr, min_pairs)
        zs = fz / max(float(np.median(np.linalg.norm(fz, axis=1))), 1e-8)
        same = np.concatenate([[False], fr[1:] == fr[:-1]])
        prior = _FINE_PRIOR * (coarse[:, None] == ks[None, :])
        lab = coarse
        for _ in range(_FINE_ROUNDS):
            if any(not np.any(lab == k) for k in ks):
                return coarse
            cents = _centroids(fz, lab, ks)
            new = ks[_viterbi(_FINE_SCALE * (zs @ cents.T) + prior, same, _FINE_STAY)]
            if np.array_equal(new, lab):
                break
            lab = new
        return lab if len(np.unique(lab)) == len(ks) else coarse

    def _durations(self) -> np.ndarray:
        return np.array([ce - cs for cs, ce in self.cores], dtype=np.float64)


def _runs(cores, labels, rs: float, re_: float) -> list[list]:
    """Runs of one label over the window cores of one region, clipped to [rs, re_]:
    ``[start, end, label]`` lists in time order."""
    runs: list[list] = []
    for (cs, ce), lab in zip(cores, labels):
        cs, ce = max(cs, rs), min(ce, re_)
        if ce - cs <= 1e-6:
            continue
        if runs and runs[-1][2] == int(lab) and abs(runs[-1][1] - cs) < 1e-6:
            runs[-1][1] = ce
        else:
            runs.append([cs, ce, int(lab)])
    if runs:  # edges moved outwards past the windows
        runs[0][0] = min(runs[0][0], rs)
        runs[-1][1] = max(runs[-1][1], re_)
    return runs


def _cut_pauses(runs: list[list], pauses: list[tuple[float, float]], snap: float, gap: float) -> list[tuple]:
    """Move each speaker change of one region to the longest pause within ``snap`` seconds of
    it (the pause becomes a gap: neither speaker talks in it), then cut every pause of at least
    ``gap`` seconds out of the turns (the RTTM convention: a pause of 0.3 s ends a turn)."""
    for a, b in zip(runs, runs[1:]):
        t = a[1]
        cands = [
            (pe - ps, ps, pe)
            for ps, pe in pauses
            if pe > t - snap and ps < t + snap and ps > a[0] and pe < b[1]
        ]
        if cands:
            _, ps, pe = max(cands)
            a[1], b[0] = ps, pe
    out = []
    long_pauses = [(ps, pe) for ps, pe in pauses if pe - ps >= gap - 1e-9] if gap > 0 else []
    for s, e, lab in runs:
        for ps, pe in long_pauses:
            if ps > s and pe < e:
                out.append((s, ps, lab))
                s = pe
        if e - s > 1e-6:
            out.append((s, e, lab))
    return out


def _embed_windows(enc, audio, mel, regions, win: float, step: float):
    """d-vectors of the sliding windows (``win``/``step``) over ``regions``: (embeddings,
    cores, index of the region in ``regions``), times relative to ``audio``."""
    import torch

    mels, cores, rids = [], [], []
    for r, (s, e) in enumerate(regions):
        for ws, we, cs, ce in window_spans(s, e, win, step):
            a = audio[int(ws * SAMPLE_RATE) : int(we * SAMPLE_RATE)]
            if a.size < int(0.2 * SAMPLE_RATE):
                continue
            # the window's frames (centred STFT, as Resemblyzer computes them on the clip),
            # at the level Resemblyzer would see after peak normalisation
            f0 = int(round(ws * SAMPLE_RATE / _MEL_HOP))
            m = mel[f0 : f0 + a.size // _MEL_HOP + 1]
            peak = float(np.max(np.abs(a)))
            gain = (0.9 / peak) ** 2 if 1e-3 < peak < 0.9 else 1.0
            mels.append((m * gain).astype(np.float32))
            cores.append((cs, ce))
            rids.append(r)
    # Batch windows of equal length (most are full windows); short ones go alone.
    out: list = [None] * len(mels)
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
    return out, cores, rids


_MEL_HOP = 160  # Resemblyzer's mel frames: 25 ms windows, 10 ms hop, 40 bands, 16 kHz


def _mel_frames(audio: np.ndarray, regions: list[tuple[float, float]], denoise: bool) -> np.ndarray:
    """Resemblyzer's (power) mel spectrogram of the whole window, frames x 40.

    With ``denoise``, stationary noise is subtracted: its spectrum is the mean of the frames
    outside the speech ``regions`` (the 10th percentile of every band when there is under 1 s
    of them), each band keeping at least 5 % of its power."""
    import librosa
    from resemblyzer.hparams import mel_n_channels, mel_window_length

    # = librosa.feature.melspectrogram(y=audio, center=True) as Resemblyzer calls it, computed
    # 5 s at a time so that memory stays small for long windows
    n_fft = int(SAMPLE_RATE * mel_window_length / 1000)
    half, n = n_fft // 2, len(audio)
    total = 1 + n // _MEL_HOP
    mel = np.empty((total, mel_n_channels), dtype=np.float32)
    for t0 in range(0, total, 500):
        t1 = min(total, t0 + 500)
        a, b = t0 * _MEL_HOP - half, (t1 - 1) * _MEL_HOP + half
        piece = np.asarray(audio[max(a, 0) : min(b, n)], dtype=np.float32)
        if a < 0 or b > n:  # librosa's centring pads the signal's ends with zeros
            piece = np.pad(piece, (max(0, -a), max(0, b - n)))
        mel[t0:t1] = librosa.feature.melspectrogram(
            y=piece, sr=SAMPLE_RATE, n_fft=n_fft, hop_length=_MEL_HOP, n_mels=mel_n_channels, center=False
        ).T
    if not denoise:
        return mel
    inside = np.zeros(len(mel), dtype=bool)
    for s, e in regions:
        inside[int(s * SAMPLE_RATE / _MEL_HOP) : int(np.ceil(e * SAMPLE_RATE / _MEL_HOP)) + 1] = True
    noise = mel[~inside].mean(axis=0) if (~inside).sum() >= 100 else np.percentile(mel, 10, axis=0)
    return np.maximum(mel - noise, 0.05 * mel)


def _frame_db(audio: np.ndarray, hop: int) -> np.ndarray:
    """Energy (dB) of consecutive ``hop``-sample frames, computed 1000 frames at a time."""
    m = len(audio) // hop
    out = np.empty(m)
    for i in range(0, m, 1000):
        j = min(m, i + 1000)
        f = np.asarray(audio[i * hop : j * hop], dtype=np.float64).reshape(j - i, hop)
        out[i:j] = 10 * np.log10(np.einsum("ij,ij->i", f, f) / hop + 1e-12)
    return out


def _speech_frames(
    db: np.ndarray, regions: list[tuple[float, float]], margin_db: float, range_db: float
) -> tuple[float, list[np.ndarray]]:
    """Noise floor (dB) and, per region, which of its 10 ms frames are above both the floor +
    ``margin_db`` and the region's peak - ``range_db``. The floor is the median frame energy
    outside the regions (the 5th percentile of all frames when there is under 1 s of them)."""
    inside = np.zeros(db.size, dtype=bool)
    for s, e in regions:
        inside[int(s * 100) : int(np.ceil(e * 100))] = True
    outside = db[~inside]
    floor = float(np.median(outside)) if outside.size >= 100 else float(np.percentile(db, 5))
    on = []
    for s, e in regions:
        seg = db[int(s * 100) : min(db.size, int(np.ceil(e * 100)))]
        on.append(seg > max(floor + margin_db, float(seg.max(initial=-200.0)) - range_db))
    return floor, on


def trim_regions(
    audio: np.ndarray,
    regions: list[tuple[float, float]],
    max_trim: float = 0.2,
    margin_db: float = 4.0,
    range_db: float = 45.0,
    pad: float = 0.03,
) -> list[tuple[float, float]]:
    """Move each region's start and end inwards to the first/last 10 ms frame whose energy is
    above both the noise floor + ``margin_db`` and the region's peak - ``range_db`` (minus
    ``pad``), by at most ``max_trim`` seconds per side. The noise floor is the median frame
    energy outside the regions (the 5th percentile of all frames when there is under 1 s of
    non-speech). A region with no frame above the threshold is left alone."""
    return _trim(_frame_db(audio, int(0.01 * SAMPLE_RATE)), regions, max_trim, margin_db, range_db, pad)


def _trim(db, regions, max_trim=0.2, margin_db=4.0, range_db=45.0, pad=0.03) -> list[tuple[float, float]]:
    if db.size == 0:
        return list(regions)
    _, ons = _speech_frames(db, regions, margin_db, range_db)
    out = []
    for (s, e), seg in zip(regions, ons):
        on = np.flatnonzero(seg)
        if len(on) == 0:
            out.append((s, e))
            continue
        ns = s + min(max_trim, max(0.0, on[0] * 0.01 - pad))
        ne = e - min(max_trim, max(0.0, (seg.size - 1 - on[-1]) * 0.01 - pad))
        out.append((ns, ne) if ne - ns >= 0.05 else (s, e))
    return out


def _extend(db, regions, edges, max_ext: float, margin_db: float = 4.0, range_db: float = 45.0, gap: int = 3):
    """Move each edge outwards past the region (at most ``max_ext`` seconds, never into the
    next region) while the 10 ms frames stay above the thresholds of :func:`trim_regions`
    (gaps of up to ``gap`` frames bridged): the VAD's regions can stop short of weak onsets
    and tails."""
    if db.size == 0 or max_ext <= 0:
        return list(edges)
    floor, _ = _speech_frames(db, regions, margin_db, range_db)
    out = []
    for i, ((s, e), (ts, te)) in enumerate(zip(regions, edges)):
        seg = db[int(s * 100) : min(db.size, int(np.ceil(e * 100)))]
        thr = max(floor + margin_db, float(seg.max(initial=-200.0)) - range_db)
        lo_lim = max(0.0, s - max_ext, edges[i - 1][1] if i else 0.0)
        hi_lim = min(db.size * 0.01, e + max_ext, edges[i + 1][0] if i + 1 < len(edges) else np.inf)
        if ts - s < 0.015:  # speech right at the region's start: follow it back
            f, last, miss = int(s * 100) - 1, None, 0
            while f >= 0 and f * 0.01 >= lo_lim and miss <= gap:
                if db[f] > thr:
                    last, miss = f, 0
                else:
                    miss += 1
                f -= 1
            if last is not None:
                ts = max(lo_lim, last * 0.01)
        if e - te < 0.015:
            f, last, miss = int(np.ceil(e * 100)), None, 0
            while f < db.size and (f + 1) * 0.01 <= hi_lim and miss <= gap:
                if db[f] > thr:
                    last, miss = f, 0
                else:
                    miss += 1
                f += 1
            if last is not None:
                te = min(hi_lim, (last + 1) * 0.01)
        out.append((ts, te))
    return out


def region_pauses(
    db: np.ndarray,
    regions: list[tuple[float, float]],
    min_pause: float = 0.1,
    margin_db: float = 4.0,
    range_db: float = 45.0,
    pad: float = 0.03,
    max_spike: int = 1,
) -> list[list[tuple[float, float]]]:
    """Pauses inside each speech region: runs of 10 ms frames (energies ``db``) at the noise
    floor (the thresholds of :func:`trim_regions`), shrunk by ``pad`` on both sides, that still
    last at least ``min_pause`` seconds and have speech on both sides (seconds, as ``regions``).
    A burst of at most ``max_spike`` frames above the floor inside a pause (a click, line noise)
    does not split it."""
    if db.size == 0:
        return [[] for _ in regions]
    _, ons = _speech_frames(db, regions, margin_db, range_db)
    out = []
    for (s, _e), on in zip(regions, ons):
        on = _drop_spikes(np.asarray(on, dtype=bool), max_spike)
        idx = np.flatnonzero(on)
        found = []
        if idx.size >= 2:
            for a, b in zip(idx[:-1], idx[1:]):
                if b - a > 1:  # frames a+1 .. b-1 are off
                    ps, pe = s + (a + 1) * 0.01 + pad, s + b * 0.01 - pad
                    if pe - ps >= min_pause - 1e-9:
                        found.append((ps, pe))
        out.append(found)
    return out


def _drop_spikes(on: np.ndarray, max_len: int) -> np.ndarray:
    """``on`` with every run of at most ``max_len`` True frames that has False frames on both
    sides set to False (runs touching either end are kept: they are the region's speech)."""
    if max_len < 1 or on.size < 3:
        return on
    out = on.copy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2]):  # a True run is frames a .. b-1
        if a > 0 and b < on.size and b - a <= max_len:
            out[a:b] = False
    return out


def _smooth(labels: np.ndarray, region_ids: list[int]) -> np.ndarray:
    """Majority filter (width 3) within each speech region: drops single-window flips."""
    lab = labels.copy()
    for i in range(1, len(lab) - 1):
        if region_ids[i - 1] == region_ids[i] == region_ids[i + 1] and lab[i - 1] == lab[i + 1] != lab[i]:
            lab[i] = lab[i - 1]
    return lab


# HMM resegmentation: emission = _HMM_SCALE * cosine(window, speaker centroid) (centred space);
# the speaker stays with probability _STAY_IN_REGION between windows of one speech region and
# _STAY_AT_PAUSE across a pause.
_HMM_SCALE = 10.0
_STAY_IN_REGION = 0.98
_STAY_AT_PAUSE = 0.8
_HMM_ROUNDS = 10
# Fine pass (``fine``): windows of _FINE_WIN s every _FINE_STEP s; emission _FINE_SCALE *
# cosine(window, fine centroid) + _FINE_PRIOR for the coarse label; the speaker stays with
# probability _FINE_STAY between fine windows of one region (_STAY_AT_PAUSE across a pause);
# _FINE_ROUNDS rounds of Viterbi + centroid re-estimation.
_FINE_WIN = 0.8
_FINE_STEP = 0.2
_FINE_SCALE = 10.0
_FINE_PRIOR = 1.0
_FINE_STAY = 0.97
_FINE_ROUNDS = 3
# k: the fewest speakers whose silhouette is within this of the best one (parsimony: two
# similar voices otherwise often come out as three or more near-equal clusters)
_SILHOUETTE_SLACK = 0.05
# within-speaker whitening (:func:`_within_whiten`): the centred embeddings are projected on
# their _WHITEN_DIM main directions; the within-speaker covariance is shrunk by _WHITEN_SHRINK
# towards its mean variance (a flat spectrum: 1 would leave the projection as it is)
_WHITEN_DIM = 24
_WHITEN_SHRINK = 0.5


def _within_whiten(
    z: np.ndarray, w: np.ndarray, rids: np.ndarray, min_pairs: int = 2 * _WHITEN_DIM
) -> np.ndarray:
    """``z`` (centred embeddings [N, D], time order) projected on its ``_WHITEN_DIM`` main
    directions (weights ``w``) and whitened by the within-speaker covariance, estimated without
    labels from the differences between consecutive windows of one speech region (``rids``),
    which almost always hold one speaker, shrunk by ``_WHITEN_SHRINK`` towards its mean variance.

    Why: two similar voices (two women on one line) differ along a few directions, while one
    voice drifts along others: at a low SNR (~15 dB) the share of line noise in each window,
    its level, the words. The clustering's first split followed that drift (loud windows
    against quiet ones) although a straight line still separated the speakers; in the whitened
    space the drift directions are shrunk and the speakers' direction stands out. ``z``
    unchanged when there are fewer than ``min_pairs`` such pairs (too little to estimate it:
    the default asks for ~20 s of speech at the 0.4 s hop)."""
    same = np.flatnonzero(rids[1:] == rids[:-1])
    d = min(_WHITEN_DIM, len(z) - 1, z.shape[1])
    if d < 2 or len(same) < min_pairs:
        return z
    sq = np.sqrt(np.maximum(w, 0.0) / max(float(w.sum()), 1e-12))
    _, _, vt = np.linalg.svd(z * sq[:, None], full_matrices=False)
    p = z @ vt[:d].T
    diff = p[same + 1] - p[same]
    cov = diff.T @ diff / (2.0 * len(same))
    cov = (1.0 - _WHITEN_SHRINK) * cov + _WHITEN_SHRINK * np.eye(d) * float(np.trace(cov)) / d
    e, v = np.linalg.eigh(cov)
    return p @ (v / np.sqrt(np.maximum(e, 1e-12)))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def _chunks(region_ids: np.ndarray, size: int) -> np.ndarray:
    """Chunk id of each window: runs of at most ``size`` consecutive windows of one region."""
    n = len(region_ids)
    out = np.zeros(n, dtype=int)
    cur, count = 0, 0
    for i in range(1, n):
        count += 1
        if region_ids[i] != region_ids[i - 1] or count >= size:
            cur += 1
            count = 0
        out[i] = cur
    return out


def _viterbi(
    ll: np.ndarray, same_region: np.ndarray, stay_in: float | None = None, stay_pause: float | None = None
) -> np.ndarray:
    """Best state path for emissions ``ll`` [N, K]; ``same_region[i]``: window i and i-1 are in
    one speech region."""
    n, k = ll.shape
    if k == 1:
        return np.zeros(n, dtype=int)
    trans = {}
    stay_in = _STAY_IN_REGION if stay_in is None else stay_in
    stay_pause = _STAY_AT_PAUSE if stay_pause is None else stay_pause
    for flag, stay in ((True, stay_in), (False, stay_pause)):
        t = np.full((k, k), np.log((1.0 - stay) / (k - 1)))
        np.fill_diagonal(t, np.log(stay))
        trans[flag] = t
    back = np.zeros((n, k), dtype=np.int32)
    score = ll[0].copy()
    for i in range(1, n):
        cand = score[:, None] + trans[bool(same_region[i])]
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(k)] + ll[i]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _resegment(z: np.ndarray, lab: np.ndarray, region_ids: np.ndarray, min_k: int) -> np.ndarray:
    """Alternate Viterbi labelling and centroid re-estimation (a few rounds); a round that
    would leave fewer than ``min_k`` speakers is not taken.

    ``z``: centred (and whitened), *not* re-normalised embeddings: a window near the recording's mean (an
    ambiguous one) has a small norm and weak emissions, so the continuity prior decides it."""
    same = np.concatenate([[False], region_ids[1:] == region_ids[:-1]])
    zs = z / max(float(np.median(np.linalg.norm(z, axis=1))), 1e-8)
    for _ in range(_HMM_ROUNDS):
        ks = np.unique(lab)
        if len(ks) < 2:
            return lab
        cents = _centroids(z, lab, ks)
        new = ks[_viterbi(_HMM_SCALE * (zs @ cents.T), same)]
        if np.array_equal(new, lab) or len(np.unique(new)) < min_k:
            break
        lab = new
    return lab


def cluster_embeddings(
    embs: np.ndarray, durations: np.ndarray, opts: DiarizeOptions, region_ids=None
) -> np.ndarray:
    """Cluster speaker embeddings [N, D] (in time order) into speakers; returns labels 0..k-1
    ordered by first appearance.

    Args:
        embs: one embedding per window.
        durations: seconds of time each window labels (weights).
        opts: speaker bounds, ``threshold``, ``chunk_windows``, ``resegment``...
        region_ids: speech region of each window (windows of one region are contiguous);
            ``None``: every window is its own region (no chunking, no continuity prior,
            no whitening).

    Steps (module docstring): centre and whiten (:func:`_within_whiten`); average chunks of consecutive windows;
    one average-linkage tree on cosine distance (scipy) cut at every k in the allowed range,
    best silhouette wins; HMM resegmentation of the windows; clusters with less than
    ``min_speaker_s`` seconds or ``min_speaker_share`` of the speech merge into their nearest
    neighbour, and clusters whose raw centroids are closer than ``threshold`` merge, both never
    below ``min_speakers``. More than 2000 chunks are first reduced to 400 k-means centroids,
    so memory stays small for hour-long audio.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(embs)
    lo, hi = opts.bounds
    if n == 1 or hi == 1:
        return np.zeros(n, dtype=int)
    x = _unit(np.asarray(embs, dtype=np.float64))
    weights = np.asarray(durations, dtype=np.float64)
    rids = np.arange(n) if region_ids is None else np.asarray(region_ids)
    z = _within_whiten(
        x - np.average(x, axis=0, weights=weights if weights.sum() > 0 else None), weights, rids
    )
    chunk = _chunks(rids, opts.chunk_windows)
    m = int(chunk[-1]) + 1
    zc = _unit(
        np.stack([np.bincount(chunk, weights=z[:, j], minlength=m) for j in range(z.shape[1])], axis=1)
    )
    wc = np.bincount(chunk, weights=weights, minlength=m)
    assign = np.arange(m)
    if m > 2000:
        km = KMeans(n_clusters=400, n_init=1, random_state=0).fit(zc, sample_weight=wc)
        assign = km.labels_
        zc = _unit(km.cluster_centers_)
    m2 = len(zc)
    if m2 < 2:
        return np.zeros(n, dtype=int)
    tree = linkage(zc, method="average", metric="cosine")

    def cut(k: int) -> np.ndarray:
        return fcluster(tree, t=k, criterion="maxclust") - 1

    if lo == hi:
        lab_c = cut(min(lo, m2))
    else:
        cands = []
        for k in range(max(2, lo), min(hi, m2 - 1) + 1):
            lab_k = cut(k)
            if len(np.unique(lab_k)) >= 2:
                cands.append((silhouette_score(zc, lab_k, metric="cosine"), lab_k))
        if cands:
            best_sil = max(sil for sil, _ in cands)
            lab_c = next(lab_k for sil, lab_k in cands if sil >= best_sil - _SILHOUETTE_SLACK)
        else:
            lab_c = cut(min(max(lo, 1), m2))
    lab = lab_c[assign][chunk]
    if opts.resegment:
        lab = _resegment(z, lab, rids, lo)
    if lo != hi:
        merged = _merge_close(x, _merge_small(x, lab, weights, opts, lo), opts.threshold, lo)
        if opts.resegment and len(np.unique(merged)) < len(np.unique(lab)):
            merged = _resegment(z, merged, rids, lo)
        lab = merged
    order: dict[int, int] = {}
    for v in lab:
        order.setdefault(int(v), len(order))
    return np.array([order[int(v)] for v in lab], dtype=int)


def _centroids(x: np.ndarray, lab: np.ndarray, ks: np.ndarray) -> np.ndarray:
    return _unit(np.stack([x[lab == k].mean(0) for k in ks]))


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
    hook: Hook | None = None,
    encoder=None,
    pyannote_pipeline=None,
) -> list[Turn]:
    """Diarize a whole in-memory signal given its speech regions.

    ``encoder`` / ``pyannote_pipeline``: loaded models to reuse (see
    :func:`asr.pipeline.load_front_end`); ``None`` loads what the backend needs for this call.
    ``hook(step, completed, total)`` gets the backend's steps (pyannote's, or ``cluster``)."""
    from asr.diarizer import make_diarizer

    d = make_diarizer(opts or DiarizeOptions(), encoder=encoder, pyannote_pipeline=pyannote_pipeline)
    d.add(audio, regions)
    return d.finish(hook)
