"""asr.diarize_pyannote: options, errors, and a real pyannote.audio pipeline built locally.

The pipeline test needs no download: it writes a pyannote speaker-diarization pipeline directory
(``config.yaml`` + ``segmentation/`` PyanNet + ``embedding/`` WeSpeaker ResNet34 + ``plda/``,
the layout of ``pyannote/speaker-diarization-community-1``) from randomly initialised models,
then loads it through :func:`diarize_pyannote` and runs it on synthesised audio. Random weights
give meaningless speakers, so it checks structure, types, times, progress and that the speaker
count options reach pyannote.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from asr import diarize_pyannote as dp
from asr.diarize_pyannote import PyannoteOptions, diarize_pyannote

SR = 16_000
DURATION = 6.0


def _synth_audio(seed: int = 0) -> np.ndarray:
    """Low noise plus three tone bursts of different pitch (a stand-in for three turns)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(DURATION * SR)) / SR
    x = 0.01 * rng.standard_normal(t.size)
    for start, end, freq in ((0.3, 2.0, 180.0), (2.4, 4.0, 320.0), (4.3, 5.8, 240.0)):
        m = (t >= start) & (t < end)
        x[m] += 0.3 * np.sin(2 * np.pi * freq * t[m]) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t[m]))
    return x.astype(np.float32)


# ---------------------------------------------------------------- options and errors (no pyannote)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"pipeline": ""}, "pipeline"),
        ({"pipeline": "x", "token": ""}, "token"),
        ({"pipeline": "x", "num_speakers": 0}, "num_speakers"),
        ({"pipeline": "x", "min_speakers": 1.5}, "min_speakers"),
        ({"pipeline": "x", "max_speakers": True}, "max_speakers"),
        ({"pipeline": "x", "min_speakers": 3, "max_speakers": 2}, "max_speakers"),
        ({"pipeline": "x", "device": "gpu"}, "device"),
    ],
)
def test_options_validation(kwargs, field):
    with pytest.raises(ValueError, match=rf"PyannoteOptions\.{field}"):
        PyannoteOptions(**kwargs)


def test_options_valid_and_frozen(tmp_path):
    o = PyannoteOptions(pipeline=tmp_path, min_speakers=1, max_speakers=3, device="cuda:1")
    assert o.pipeline == str(tmp_path)
    with pytest.raises(AttributeError):
        o.device = "cpu"  # type: ignore[misc]


def test_missing_pipeline_dir_is_a_clear_error(tmp_path):
    audio = np.zeros(SR, dtype=np.float32)
    with pytest.raises(ValueError, match=r"PyannoteOptions\.pipeline: no such directory"):
        diarize_pyannote(audio, PyannoteOptions(pipeline=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no config.yaml"):
        diarize_pyannote(audio, PyannoteOptions(pipeline=str(tmp_path / "empty")))


def test_bad_audio_is_rejected(tmp_path):
    opts = PyannoteOptions(pipeline=str(tmp_path))
    with pytest.raises(ValueError, match="1-D"):
        diarize_pyannote(np.zeros((2, SR), dtype=np.float32), opts)
    with pytest.raises(ValueError, match="NaN"):
        diarize_pyannote(np.full(SR, np.nan, dtype=np.float32), opts)


def test_missing_pyannote_says_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("pipeline: {name: x}\n")
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # makes the import fail
    with pytest.raises(RuntimeError, match=r"pip install 'llm4all\[pyannote\]'"):
        diarize_pyannote(np.zeros(SR, dtype=np.float32), PyannoteOptions(pipeline=str(tmp_path)))


# ---------------------------------------------------------------- real pipeline (random weights)


def _save_checkpoint(model, path) -> None:
    """Write a pyannote.audio model checkpoint (what Lightning's Trainer would save)."""
    import lightning
    import torch

    ckpt = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(ckpt)  # adds pyannote.audio versions, architecture, specifications
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    dp.prepare_pyannote_import()  # CPU torch + CUDA torchaudio wheel workaround, telemetry off
    pytest.importorskip(
        "pyannote.audio", reason="pyannote.audio not installed (pip install -r requirements-pyannote.txt)"
    )
    import pyannote.audio
    import torch
    import yaml
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    root = tmp_path_factory.mktemp("pipeline")
    torch.manual_seed(0)

    # segmentation: small PyanNet, powerset over 2 local speakers per 5 s chunk (overlap allowed)
    seg = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 32, "num_layers": 1},
        linear={"hidden_size": 32, "num_layers": 1},
    )
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        min_duration=5.0,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    seg.build()
    # powerset classes: {}, {spk1}, {spk2}, {spk1, spk2}. Random weights give an almost constant
    # class; favour single-speaker classes so chunks have clean speech and clustering really runs.
    with torch.no_grad():
        seg.classifier.bias.copy_(torch.tensor([0.0, 3.0, 2.5, -3.0]))
    _save_checkpoint(seg, root / "segmentation" / "pytorch_model.bin")

    # embedding: WeSpeaker ResNet34 (the community-1 embedding architecture), random weights
    emb = WeSpeakerResNet34()
    emb.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0, min_duration=0.5
    )
    emb.build()
    _save_checkpoint(emb, root / "embedding" / "pytorch_model.bin")

    # PLDA for VBx clustering: orthonormal LDA, identity PLDA transform
    dim, lda_dim = emb.dimension, 32
    rng = np.random.default_rng(0)
    lda, _ = np.linalg.qr(rng.standard_normal((dim, lda_dim)))
    (root / "plda").mkdir()
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(dim), mean2=np.zeros(lda_dim), lda=lda)
    np.savez(
        root / "plda" / "plda.npz", mu=np.zeros(lda_dim), tr=np.eye(lda_dim), psi=np.linspace(2, 0.5, lda_dim)
    )

    config = {
        "dependencies": {"pyannote.audio": pyannote.audio.__version__},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "$model/segmentation",
                "segmentation_step": 0.5,
                "segmentation_batch_size": 8,
                "embedding": "$model/embedding",
                "embedding_batch_size": 8,
                "embedding_exclude_overlap": True,
                "plda": "$model/plda",
                "clustering": "VBxClustering",
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def _check_turns(turns, duration):
    assert isinstance(turns, list)
    for turn in turns:
        assert type(turn) is tuple and len(turn) == 3
        start, end, label = turn
        assert type(start) is float and type(end) is float and type(label) is str
        assert 0.0 <= start < end <= duration + 1e-6
        assert label.startswith("SPEAKER_")
    assert turns == sorted(turns)


@pytest.mark.filterwarnings("ignore:std\\(\\)")  # random embeddings on tiny masked spans
@pytest.mark.filterwarnings("ignore:\\s*The detected number of speakers")
def test_local_pipeline_runs_end_to_end(pipeline_dir, monkeypatch):
    audio = _synth_audio()
    seen: list[dict] = []
    opts = PyannoteOptions(pipeline=str(pipeline_dir), min_speakers=1, max_speakers=2)

    # spy on the loaded pyannote pipeline to see what reaches it
    pipeline = dp.load_pyannote(opts)
    apply = pipeline.apply

    def spy(file, **kwargs):
        seen.append({"file": file, **kwargs})
        return apply(file, **kwargs)

    monkeypatch.setattr(pipeline, "apply", spy)

    progress: list[tuple] = []
    turns = diarize_pyannote(audio, opts, hook=lambda *a: progress.append(a), pipeline=pipeline)

    _check_turns(turns, DURATION)
    assert turns, "random segmentation weights still mark some frames as speech"
    assert len({label for _, _, label in turns}) <= 2
    assert seen[-1]["min_speakers"] == 1 and seen[-1]["max_speakers"] == 2
    assert seen[-1]["num_speakers"] is None
    assert seen[-1]["file"]["sample_rate"] == SR
    assert tuple(seen[-1]["file"]["waveform"].shape) == (1, audio.size)

    # progress: hook(step, completed, total) with ints, each step ends complete
    steps = [p[0] for p in progress]
    assert {"segmentation", "embeddings"} <= set(steps)
    for step, done, total in progress:
        assert type(step) is str and type(done) is int and type(total) is int
        assert 0 <= done <= total
    last = {step: (done, total) for step, done, total in progress}
    assert all(done == total for done, total in last.values())

    # an exact speaker count reaches pyannote and is honoured
    one = diarize_pyannote(
        audio, PyannoteOptions(pipeline=str(pipeline_dir), num_speakers=1), pipeline=pipeline
    )
    _check_turns(one, DURATION)
    assert seen[-1]["num_speakers"] == 1
    assert {label for _, _, label in one} <= {"SPEAKER_00"}

    # empty audio: no turns, no pyannote call
    n_calls = len(seen)
    assert diarize_pyannote(np.zeros(0, dtype=np.float32), opts, pipeline=pipeline) == []
    assert len(seen) == n_calls


@pytest.mark.filterwarnings("ignore:std\\(\\)")
@pytest.mark.filterwarnings("ignore:\\s*The detected number of speakers")
def test_pipeline_uses_pyannote_turns(pipeline_dir, medkit_dir):
    """transcribe(..., diarizer=pyannote): the RTTM turns are pyannote's, words get its labels."""
    from asr.diarize import DiarizeOptions
    from asr.pipeline import PipelineOptions, transcribe

    opts = PipelineOptions(
        diarize=DiarizeOptions(backend="pyannote", pyannote_pipeline=str(pipeline_dir), max_speakers=2)
    )
    t = transcribe(medkit_dir / "dialog.ogg", opts)
    assert "orléans" in t.text.lower()  # recognition is unaffected by the diarizer
    labels = {s.speaker for s in t.turns}
    assert labels and labels <= {"SPEAKER_00", "SPEAKER_01"}
    assert all(0.0 <= s.start <= s.end <= t.duration + 1e-6 for s in t.turns)
    assert {w.speaker for w in t.words} <= labels
