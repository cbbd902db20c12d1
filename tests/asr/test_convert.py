"""CTranslate2 Whisper -> transformers -> openai-whisper conversions (asr.convert).

The fast tests build a tiny random transformers Whisper, convert it to CTranslate2 with
ctranslate2's own converter (offline, from a local directory), read it back and check the
round trip is exact. The slow test converts the real bundled model and transcribes a FLEURS clip.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from asr.convert import ct2_whisper_to_transformers, read_ct2_model, transformers_whisper_to_openai
from tests.asr.tiny_whisper import N_MELS, SPECIALS, build_tiny_whisper

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
ctranslate2 = pytest.importorskip("ctranslate2")

AUDIO_CTX = 24  # encoder positions; the encoder input has 2 * AUDIO_CTX mel frames


@pytest.fixture(scope="module")
def tiny_hf(tmp_path_factory) -> Path:
    """A random tiny transformers Whisper (+ tokenizer and generation config) on disk."""
    return build_tiny_whisper(
        tmp_path_factory.mktemp("tiny-hf"),
        max_source_positions=AUDIO_CTX,
        max_target_positions=32,
        noisy_init=True,
    )


@pytest.fixture(scope="module")
def tiny_ct2(tiny_hf, tmp_path_factory):
    """tiny_ct2(quantization) -> the tiny model converted by ctranslate2's own converter (memoised)."""
    from ctranslate2.converters import TransformersConverter

    done: dict[str | None, Path] = {}

    def get(quantization: str | None) -> Path:
        if quantization not in done:
            out = tmp_path_factory.mktemp(f"tiny-ct2-{quantization}")
            TransformersConverter(str(tiny_hf), copy_files=["tokenizer.json"]).convert(
                str(out), quantization=quantization, force=True
            )
            done[quantization] = out
        return done[quantization]

    return get


def _inputs(config):
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, N_MELS, 2 * config.max_source_positions, generator=g)
    tokens = torch.randint(0, config.vocab_size, (2, 7), generator=g)
    return feats, tokens


def _logits(model, feats, tokens):
    with torch.no_grad():
        return model(input_features=feats, decoder_input_ids=tokens).logits


def test_read_ct2_model_matches_source_weights(tiny_hf, tiny_ct2):
    from transformers import WhisperForConditionalGeneration

    ref = WhisperForConditionalGeneration.from_pretrained(tiny_hf).state_dict()
    v = read_ct2_model(tiny_ct2(None))

    def t(name):
        return ref[name].numpy()

    np.testing.assert_array_equal(v["encoder/conv1/weight"], t("model.encoder.conv1.weight"))
    np.testing.assert_array_equal(
        v["encoder/position_encodings/encodings"], t("model.encoder.embed_positions.weight")
    )
    qkv = v["decoder/layer_1/self_attention/linear_0/weight"]
    prefix = "model.decoder.layers.1.self_attn"
    expected = np.concatenate([t(f"{prefix}.{p}_proj.weight") for p in "qkv"])
    np.testing.assert_array_equal(qkv, expected)
    assert v["decoder/projection/weight"] is v["decoder/embeddings/weight"]  # alias resolved
    assert v["decoder/num_heads"].shape == () and int(v["decoder/num_heads"]) == 4
    assert v["encoder/conv1/weight"].dtype == np.float32


def test_read_ct2_model_int8_scales(tiny_ct2):
    ct2_dir = tiny_ct2("int8")
    raw = read_ct2_model(ct2_dir, dequantize=False)
    w = raw["encoder/layer_0/ffn/linear_0/weight"]
    scale = raw["encoder/layer_0/ffn/linear_0/weight_scale"]
    assert w.dtype == np.int8 and scale.shape == (w.shape[0],)
    deq = read_ct2_model(ct2_dir)
    assert "encoder/layer_0/ffn/linear_0/weight_scale" not in deq
    np.testing.assert_allclose(deq["encoder/layer_0/ffn/linear_0/weight"], w / scale[:, None], rtol=1e-6)


def _write_ct2(path: Path, version: int, variables: list[tuple[str, np.ndarray, int]], aliases=()):
    """Hand-written model.bin (binary version 3: item sizes; 6: dtype ids incl. bfloat16=5)."""

    def s(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", version) + s("TestSpec") + struct.pack("<I", 1)
    out += struct.pack("<I", len(variables))
    for name, arr, code in variables:
        out += s(name) + struct.pack("<B", arr.ndim) + struct.pack(f"<{arr.ndim}I", *arr.shape)
        if version >= 4:
            out += struct.pack("<BI", code, arr.nbytes)
        else:
            out += struct.pack("<BI", arr.itemsize, arr.size)
        out += arr.tobytes()
    out += struct.pack("<I", len(aliases))
    for a, b in aliases:
        out += s(a) + s(b)
    path.write_bytes(out)


def test_read_ct2_model_formats(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    bf16 = (x.view(np.uint32) >> 16).astype(np.uint16)  # exact: these values fit in bfloat16
    q = np.array([[127, -64], [10, 0]], dtype=np.int16)
    _write_ct2(
        tmp_path / "v6.bin",
        6,
        [("a/weight", x.astype(np.float16), 4), ("b/weight", bf16, 5), ("flag", np.array(1, np.int8), 1)],
        aliases=[("c/weight", "a/weight")],
    )
    v = read_ct2_model(tmp_path / "v6.bin")
    np.testing.assert_array_equal(v["a/weight"], x.astype(np.float16))
    np.testing.assert_array_equal(v["b/weight"], x)
    assert v["c/weight"] is v["a/weight"] and v["flag"].item() == 1
    _write_ct2(
        tmp_path / "v3.bin",
        3,
        [("w/weight", q, 2), ("w/weight_scale", np.array(2.0, np.float32), 0)],
        aliases=[("u/weight", "w/weight")],
    )
    v = read_ct2_model(tmp_path / "v3.bin")
    np.testing.assert_array_equal(v["w/weight"], q / 2.0)
    np.testing.assert_array_equal(v["u/weight"], q / 2.0)
    assert "w/weight_scale" not in v and "u/weight_scale" not in v
    (tmp_path / "bad.bin").write_bytes((tmp_path / "v3.bin").read_bytes()[:-9])
    with pytest.raises(ValueError, match="truncated"):
        read_ct2_model(tmp_path / "bad.bin")


@pytest.mark.parametrize(("quantization", "atol"), [(None, 0.0), ("float16", 2e-3), ("int8", 3e-2)])
def test_ct2_to_transformers_roundtrip_logits(tiny_hf, tiny_ct2, tmp_path, quantization, atol):
    from transformers import WhisperForConditionalGeneration

    ref = WhisperForConditionalGeneration.from_pretrained(tiny_hf).eval()
    out = ct2_whisper_to_transformers(tiny_ct2(quantization), tmp_path / "hf")
    got = WhisperForConditionalGeneration.from_pretrained(out).eval()
    assert got.dtype == torch.float32
    assert got.proj_out.weight.data_ptr() == got.model.decoder.embed_tokens.weight.data_ptr()
    feats, tokens = _inputs(ref.config)
    a, b = _logits(ref, feats, tokens), _logits(got, feats, tokens)
    if quantization is None:
        assert torch.equal(a, b)
    else:
        assert (a - b).abs().max().item() <= atol * a.abs().max().item()


def test_converted_generation_config_and_processor(tiny_ct2, tmp_path):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    out = ct2_whisper_to_transformers(tiny_ct2(None), tmp_path / "hf")
    model = WhisperForConditionalGeneration.from_pretrained(out).eval()
    proc = WhisperProcessor.from_pretrained(out)
    tok = proc.tokenizer
    gen = model.generation_config
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    assert gen.lang_to_id == {"<|en|>": ids["<|en|>"], "<|fr|>": ids["<|fr|>"]}
    assert gen.task_to_id == {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    assert gen.no_timestamps_token_id == ids["<|notimestamps|>"]
    assert gen.decoder_start_token_id == ids["<|startoftranscript|>"]
    assert gen.alignment_heads == [[1, 0], [1, 3]]
    assert gen.is_multilingual
    assert tok.all_special_ids[-1] == ids["<|notimestamps|>"]  # first timestamp = last special + 1
    assert proc.feature_extractor.feature_size == N_MELS

    seen = []  # decoder input ids of each generation step (generate() returns only new tokens)

    def hook(_module, args, kwargs):
        x = kwargs.get("input_ids", args[0] if args else None)
        if x is not None:
            seen.append(x[0].tolist())

    model.model.decoder.register_forward_pre_hook(hook, with_kwargs=True)
    feats, _ = _inputs(model.config)
    prompt = [ids[t] for t in ("<|startoftranscript|>", "<|fr|>", "<|transcribe|>", "<|notimestamps|>")]
    with torch.no_grad():
        seq = model.generate(feats[:1], language="fr", task="transcribe", max_new_tokens=3)
        assert seen[0] == prompt and seq.shape[0] == 1
        seen.clear()
        model.generate(feats[:1], language="fr", return_timestamps=True, max_new_tokens=3)
        assert seen[0] == prompt[:-1]  # timestamps on: no <|notimestamps|>
        seen.clear()
        model.generate(feats[:1], max_new_tokens=3)  # language detection, default task transcribe
        first = next(x for x in seen if len(x) > 1)  # seen[0] is the detection step ([sot])
        assert first[0] == prompt[0] and first[1] in gen.lang_to_id.values() and first[2:] == prompt[2:]
    assert tok.decode(tok("les").input_ids, skip_special_tokens=True) == "les"


def test_transformers_to_openai_logits(tiny_hf, tmp_path):
    whisper = pytest.importorskip("whisper")
    from transformers import WhisperForConditionalGeneration

    hf = WhisperForConditionalGeneration.from_pretrained(tiny_hf).eval()
    pt = transformers_whisper_to_openai(tiny_hf, tmp_path / "tiny.pt", dtype="float32")
    model = whisper.load_model(str(pt), device="cpu")
    assert model.dims.n_text_layer == 2 and model.dims.n_audio_ctx == AUDIO_CTX
    ckpt = torch.load(pt, map_location="cpu", weights_only=True)
    model.set_alignment_heads(ckpt["alignment_heads"])
    assert model.alignment_heads.to_dense().nonzero().tolist() == [[1, 0], [1, 3]]
    feats, tokens = _inputs(hf.config)
    with torch.no_grad():
        b = model(feats, tokens)
    a = _logits(hf, feats, tokens)
    assert (a - b).abs().max().item() < 1e-4


# --------------------------------------------------------------------------------------------

FLEURS = Path("/work/shared/data/audio/fleurs_fr/fleurs-fr-000.ogg")
KEY_WORDS = ("accident", "terrain", "montagneux", "malveillant")


@pytest.mark.slow
def test_bundled_model_conversions_transcribe_fleurs(tmp_path, monkeypatch):
    if not FLEURS.exists():
        pytest.skip(f"{FLEURS} not available")
    from faster_whisper import decode_audio
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from asr.convert import cached_openai_whisper, cached_transformers_whisper, load_openai_whisper

    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path))  # convert into a throwaway cache
    hf_dir = cached_transformers_whisper()
    assert json.loads((hf_dir / "config.json").read_text())["d_model"] == 512
    stamp = (hf_dir / "model.safetensors").stat().st_mtime_ns
    assert cached_transformers_whisper() == hf_dir  # reused, not rebuilt
    assert (hf_dir / "model.safetensors").stat().st_mtime_ns == stamp

    audio = decode_audio(str(FLEURS), sampling_rate=16000)
    proc = WhisperProcessor.from_pretrained(hf_dir)
    model = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    feats = proc(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        out = model.generate(feats, language="fr", task="transcribe")
    text = proc.batch_decode(out, skip_special_tokens=True)[0].lower()
    assert all(w in text for w in KEY_WORDS), text

    try:
        import whisper
    except ImportError:
        return
    pt = cached_openai_whisper()
    assert cached_openai_whisper() == pt
    ow = load_openai_whisper(pt)
    result = ow.transcribe(audio, language="fr", fp16=False, temperature=0.0)
    assert all(w in result["text"].lower() for w in KEY_WORDS), result["text"]
    # Same weights, same mel: the two implementations agree on the logits.
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio)))[None]
    tokens = torch.tensor([out[0, :12].tolist()])
    with torch.no_grad():
        a = model(input_features=mel, decoder_input_ids=tokens).logits
        b = ow(mel, tokens)
    assert (a - b).abs().max().item() < 1e-3
