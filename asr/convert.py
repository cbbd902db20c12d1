"""Convert the bundled CTranslate2 Whisper model to transformers and openai-whisper weights.

The bundled Whisper (``asr.models.bundled_whisper_dir()``) is a CTranslate2 directory:
``model.bin`` (CT2 binary format, float16), ``config.json`` (alignment heads, language ids,
suppressed tokens), ``tokenizer.json`` and ``vocabulary.json``. This module turns those very
weights into

* a transformers ``WhisperForConditionalGeneration`` directory (+ ``WhisperProcessor`` and a
  generation config that supports ``generate(language="fr", task="transcribe",
  return_timestamps=...)``), built fully offline; and
* an openai-whisper checkpoint (``{"dims", "model_state_dict", "alignment_heads"}``) that
  ``whisper.load_model(path)`` loads without any download.

Both conversions are exact: the float16 CT2 values are stored as float32 (transformers) or
float16 (openai-whisper, like the official checkpoints), so the three backends run the same
numbers. ``cached_transformers_whisper()`` / ``cached_openai_whisper()`` convert once into
``asr.models.cache_dir()`` and reuse the result while the bundled model is unchanged.

Heavy imports (torch, transformers, whisper) happen inside the functions.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "read_ct2_model",
    "ct2_whisper_to_transformers",
    "transformers_whisper_to_openai",
    "cached_transformers_whisper",
    "cached_openai_whisper",
    "load_openai_whisper",
]

# --------------------------------------------------------------------------------------------
# CTranslate2 model.bin reader
# --------------------------------------------------------------------------------------------

#: Highest ``model.bin`` binary version this reader knows (CTranslate2 4.x writes 6).
CT2_MAX_BINARY_VERSION = 6

# DataType enum of include/ctranslate2/types.h (same order as model_spec._dtype_to_type_id).
_CT2_DTYPES: dict[int, str] = {
    0: "float32",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "float16",
    5: "bfloat16",
}
# Binary versions < 4 stored the item size instead of a type id (model.cc get_dtype_from_item_size).
_CT2_ITEMSIZE_DTYPES = {4: "float32", 2: "int16", 1: "int8"}


class _Reader:
    def __init__(self, buf: bytearray | bytes, path: Path):
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError(
                f"{self.path} is truncated: wanted {n} bytes at offset {self.pos}, file has {len(self.buf)}"
            )
        view = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size))[0]

    def string(self) -> str:
        # uint16 length (including the trailing NUL), then the UTF-8 bytes and a NUL.
        n = self.unpack("H")
        raw = bytes(self.take(n))
        return raw.split(b"\0", 1)[0].decode("utf-8")


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _read_ct2(path: str | os.PathLike) -> tuple[str, int, int, dict[str, np.ndarray], dict[str, str]]:
    """Parse model.bin -> (spec name, spec revision, binary version, variables, aliases)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    data = bytearray(path.read_bytes())  # writable buffer: arrays below are writable views
    r = _Reader(data, path)

    version = r.unpack("I")
    if version < 1 or version > CT2_MAX_BINARY_VERSION:
        raise ValueError(
            f"{path}: unsupported CTranslate2 binary version {version} "
            f"(this reader knows 1..{CT2_MAX_BINARY_VERSION})"
        )
    spec, revision = "", 1
    if version >= 2:
        spec = r.string()
        revision = r.unpack("I")

    variables: dict[str, np.ndarray] = {}
    for _ in range(r.unpack("I")):
        name = r.string()
        rank = r.unpack("B")
        shape = tuple(r.unpack("I") for _ in range(rank))
        if version >= 4:
            type_id = r.unpack("B")
            if type_id not in _CT2_DTYPES:
                raise ValueError(f"{path}: variable {name} has unknown dtype id {type_id}")
            dtype = _CT2_DTYPES[type_id]
            num_bytes = r.unpack("I")
        else:
            item_size = r.unpack("B")
            dtype = _CT2_ITEMSIZE_DTYPES[item_size]
            num_bytes = r.unpack("I") * item_size  # old versions stored the element count
        raw = r.take(num_bytes)
        if dtype == "bfloat16":
            arr = _bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        expected = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if arr.size != expected:
            raise ValueError(f"{path}: variable {name} has {arr.size} values for shape {shape}")
        variables[name] = arr.reshape(shape)

    aliases: dict[str, str] = {}
    if version >= 3:
        for _ in range(r.unpack("I")):
            alias = r.string()
            aliases[alias] = r.string()

    if r.pos != len(data):
        # model.bin has no trailing section in any known version (config/vocabulary live in
        # separate JSON files); flag rather than guess.
        log.warning("%s: %d unexpected trailing bytes ignored", path, len(data) - r.pos)
    return spec, revision, version, variables, aliases


def _dequantize(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Replace int8/int16 ``X`` + ``X_scale`` pairs by float32 ``X`` (inverse of model_spec._quantize)."""
    out = dict(variables)
    for name, value in variables.items():
        scale_name = name + "_scale"
        if value.dtype not in (np.int8, np.int16) or scale_name not in variables:
            continue
        if name + "_zero" in variables:
            raise NotImplementedError(f"{name}: AWQ-style (weight_zero) quantization is not supported")
        scale = variables[scale_name].astype(np.float32)
        values = value.astype(np.float32)
        if scale.ndim == 0 or scale.size == 1:  # int16: one scale per tensor
            out[name] = values / scale.reshape(())
        else:  # int8: one scale per output row (conv weights were flattened to 2D)
            out[name] = values / scale.reshape((-1,) + (1,) * (values.ndim - 1))
        del out[scale_name]
    return out


def read_ct2_model(path: str | os.PathLike, *, dequantize: bool = True) -> dict[str, np.ndarray]:
    """Read the variables of a CTranslate2 ``model.bin`` (or of the directory holding it).

    Written by hand because no library exposes CTranslate2's weights: the ``ctranslate2``
    package only writes this format (``specs/model_spec.py: ModelSpec._serialize``) and loads
    it in C++ (``src/models/model.cc: Model::load``). The format, little-endian::

        uint32 binary_version                       (1..6; 4.x writes 6)
        [v>=2] string spec_name, uint32 spec_revision
        uint32 num_variables, then per variable:
            string name, uint8 rank, uint32 dims[rank],
            v>=4: uint8 dtype_id (float32, int8, int16, int32, float16, bfloat16), uint32 num_bytes
            v<4:  uint8 item_size, uint32 num_elements
            raw bytes
        [v>=3] uint32 num_aliases, then (string alias, string target) pairs
        (string = uint16 length incl. NUL, UTF-8 bytes, NUL)

    There is no trailing config section: the model config (and vocabulary) are separate JSON
    files in the model directory. Scalars (flags such as ``decoder/pre_norm``, ``num_heads``)
    come back as 0-d arrays. Aliases (e.g. ``decoder/projection/weight`` ->
    ``decoder/embeddings/weight`` for tied embeddings) are resolved to the same array, as are
    their ``_scale`` companions. bfloat16 is returned as float32 (numpy has no bfloat16).

    With ``dequantize`` (default), int8 / int16 weights that have a ``<name>_scale`` companion
    are returned as float32 ``value / scale`` and the ``_scale`` entries are dropped; with
    ``dequantize=False`` the raw integers and scales are returned.

    Arrays are views into one writable buffer holding the file.
    """
    return _read_resolved(path, dequantize)[1]


def _read_resolved(path: str | os.PathLike, dequantize: bool) -> tuple[str, dict[str, np.ndarray]]:
    spec, _rev, _version, variables, aliases = _read_ct2(path)
    for alias, target in aliases.items():
        if target in variables:
            variables[alias] = variables[target]
            if target + "_scale" in variables:
                variables[alias + "_scale"] = variables[target + "_scale"]
    return spec, (_dequantize(variables) if dequantize else variables)


# --------------------------------------------------------------------------------------------
# CTranslate2 Whisper -> transformers
# --------------------------------------------------------------------------------------------

_WHISPER_NON_LANG = {
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|nospeech|>",
    "<|notimestamps|>",
}


def _count_layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    pat = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in variables if (m := pat.match(name))}
    if found != set(range(len(found))):
        raise ValueError(f"non-contiguous layers under {prefix}: {sorted(found)}")
    return len(found)


def _scalar(variables: dict[str, np.ndarray], name: str, default: Any = None) -> Any:
    if name not in variables:
        if default is None:
            raise KeyError(f"CT2 model has no variable {name}")
        return default
    return variables[name].item()


def _ct2_whisper_state_dict(variables: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """Map CT2 Whisper variable names to transformers names; return (state dict, shape info)."""
    v = variables
    d_model = v["encoder/conv1/weight"].shape[0]
    info = {
        "d_model": d_model,
        "num_mel_bins": v["encoder/conv1/weight"].shape[1],
        "encoder_layers": _count_layers(v, "encoder"),
        "decoder_layers": _count_layers(v, "decoder"),
        "encoder_attention_heads": int(_scalar(v, "encoder/num_heads")),
        "decoder_attention_heads": int(_scalar(v, "decoder/num_heads")),
        "encoder_ffn_dim": v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        "decoder_ffn_dim": v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        "vocab_size": v["decoder/embeddings/weight"].shape[0],
        "max_source_positions": v["encoder/position_encodings/encodings"].shape[0],
        "max_target_positions": v["decoder/position_encodings/encodings"].shape[0],
    }
    # Sanity checks on the decoder flags the transformers Whisper hard-codes.
    if not _scalar(v, "decoder/pre_norm", True):
        raise ValueError("CT2 Whisper decoder is not pre-norm; not a Whisper model?")
    if _scalar(v, "decoder/scale_embeddings", False):
        raise ValueError("CT2 Whisper decoder scales its embeddings; transformers Whisper does not")
    act = int(_scalar(v, "decoder/activation", 3))
    if act != 3:  # ctranslate2.specs.common_spec.Activation.GELU
        raise ValueError(f"unexpected decoder activation id {act} (Whisper uses exact GELU = 3)")

    sd: dict[str, np.ndarray] = {}

    def linear(src: str, dst: str, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = v[f"{src}/weight"]
        if bias:
            sd[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(src: str, dst: str) -> None:
        sd[f"{dst}.weight"] = v[f"{src}/gamma"]
        sd[f"{dst}.bias"] = v[f"{src}/beta"]

    def split_linear(src: str, dsts: list[str], no_bias: set[str]) -> None:
        """Split a fused CT2 linear (rows concatenated) into len(dsts) equal linears."""
        w, b = v[f"{src}/weight"], v[f"{src}/bias"]
        n = len(dsts)
        if w.shape[0] % n:
            raise ValueError(f"{src}: {w.shape[0]} rows do not split in {n}")
        rows = w.shape[0] // n
        for i, dst in enumerate(dsts):
            sd[f"{dst}.weight"] = w[i * rows : (i + 1) * rows]
            part = b[i * rows : (i + 1) * rows]
            if dst in no_bias:
                # k_proj has no bias in Whisper; CT2's fuse_linear filled zeros for it.
                if np.any(part != 0):
                    raise ValueError(f"{src}: non-zero bias for {dst}, which has no bias in Whisper")
            else:
                sd[f"{dst}.bias"] = part

    def attention_self(src: str, dst: str) -> None:
        split_linear(
            f"{src}/linear_0", [f"{dst}.q_proj", f"{dst}.k_proj", f"{dst}.v_proj"], {f"{dst}.k_proj"}
        )
        linear(f"{src}/linear_1", f"{dst}.out_proj")

    def attention_cross(src: str, dst: str) -> None:
        linear(f"{src}/linear_0", f"{dst}.q_proj")
        split_linear(f"{src}/linear_1", [f"{dst}.k_proj", f"{dst}.v_proj"], {f"{dst}.k_proj"})
        linear(f"{src}/linear_2", f"{dst}.out_proj")

    def ffn(src: str, dst: str) -> None:
        linear(f"{src}/linear_0", f"{dst}.fc1")
        linear(f"{src}/linear_1", f"{dst}.fc2")
        norm(f"{src}/layer_norm", f"{dst}.final_layer_norm")

    e = "model.encoder"
    linear("encoder/conv1", f"{e}.conv1")
    linear("encoder/conv2", f"{e}.conv2")
    sd[f"{e}.embed_positions.weight"] = v["encoder/position_encodings/encodings"]
    norm("encoder/layer_norm", f"{e}.layer_norm")
    for i in range(info["encoder_layers"]):
        s, t = f"encoder/layer_{i}", f"{e}.layers.{i}"
        attention_self(f"{s}/self_attention", f"{t}.self_attn")
        norm(f"{s}/self_attention/layer_norm", f"{t}.self_attn_layer_norm")
        ffn(f"{s}/ffn", t)

    d = "model.decoder"
    sd[f"{d}.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    sd[f"{d}.embed_positions.weight"] = v["decoder/position_encodings/encodings"]
    norm("decoder/layer_norm", f"{d}.layer_norm")
    for i in range(info["decoder_layers"]):
        s, t = f"decoder/layer_{i}", f"{d}.layers.{i}"
        attention_self(f"{s}/self_attention", f"{t}.self_attn")
        norm(f"{s}/self_attention/layer_norm", f"{t}.self_attn_layer_norm")
        attention_cross(f"{s}/attention", f"{t}.encoder_attn")
        norm(f"{s}/attention/layer_norm", f"{t}.encoder_attn_layer_norm")
        ffn(f"{s}/ffn", t)

    proj = v.get("decoder/projection/weight", v["decoder/embeddings/weight"])
    bias = v.get("decoder/projection/bias")
    if bias is not None and np.any(bias != 0):
        raise ValueError("CT2 Whisper has an output projection bias; transformers Whisper has none")
    tied = proj is v["decoder/embeddings/weight"] or np.array_equal(proj, v["decoder/embeddings/weight"])
    info["tie_word_embeddings"] = tied
    if not tied:
        sd["proj_out.weight"] = proj

    return sd, info


def _whisper_special_ids(tokenizer, ct2_config: dict) -> dict[str, Any]:
    def tid(token: str) -> int | None:
        i = tokenizer.convert_tokens_to_ids(token)
        return None if i is None or (i == tokenizer.unk_token_id and token != tokenizer.unk_token) else i

    ids = {
        "eot": tid("<|endoftext|>"),
        "sot": tid("<|startoftranscript|>"),
        "translate": tid("<|translate|>"),
        "transcribe": tid("<|transcribe|>"),
        "prev": tid("<|startofprev|>"),
        "no_timestamps": tid("<|notimestamps|>"),
    }
    missing = [k for k in ("eot", "sot", "transcribe", "no_timestamps") if ids[k] is None]
    if missing:
        raise ValueError(f"tokenizer.json lacks Whisper special tokens: {missing}")
    lang_ids = ct2_config.get("lang_ids")
    if lang_ids:
        lang_tokens = tokenizer.convert_ids_to_tokens(list(lang_ids))
    else:  # older CT2 conversions: the language tokens sit between <|startoftranscript|> and the task tokens
        lang_tokens = [
            t
            for t in tokenizer.convert_ids_to_tokens(list(range(ids["sot"] + 1, ids["no_timestamps"])))
            if t not in _WHISPER_NON_LANG and re.fullmatch(r"<\|[a-z]{2,3}(_[a-z]+)?\|>", t or "")
        ]
    ids["lang_to_id"] = {t: tokenizer.convert_tokens_to_ids(t) for t in lang_tokens}
    return ids


def _build_tokenizer(tokenizer_json: Path, max_length: int):
    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    from transformers import WhisperTokenizerFast

    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    specials = [
        a["content"] for a in sorted(spec.get("added_tokens", []), key=lambda a: a["id"]) if a.get("special")
    ]
    # <|endoftext|> is bos/eos/unk/pad; every other special token is an "additional" special token
    # (order matters: transformers takes the last special id + 1 as the first timestamp token).
    extra = [t for t in specials if t != "<|endoftext|>"]
    return WhisperTokenizerFast(
        tokenizer_file=str(tokenizer_json),
        unk_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=extra,
        add_prefix_space=False,
        model_max_length=max_length,
    )


def ct2_whisper_to_transformers(ct2_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write a transformers Whisper model + processor built from a CTranslate2 Whisper directory.

    ``ct2_dir`` must hold ``model.bin``, ``config.json`` and ``tokenizer.json`` (as faster-whisper
    models do). The architecture comes from the weight shapes; alignment heads, language ids and
    suppressed tokens from ``config.json``; the tokenizer is built offline from ``tokenizer.json``.
    Weights are saved as float32 safetensors (exact upcast of the CT2 float16 values; float32
    because transformers 5 loads with ``dtype="auto"`` and float16 is slow on CPU).

    The generation config mirrors the hub's ``openai/whisper-*`` ones (``lang_to_id``,
    ``task_to_id``, ``no_timestamps_token_id``, ``alignment_heads``, suppress tokens ...; the
    deprecated ``forced_decoder_ids`` is replaced by a default ``task="transcribe"``), so
    ``model.generate(feats, language="fr", task="transcribe", return_timestamps=True)`` works,
    and so does ``generate(feats)`` (language detection, then transcription). Returns ``out_dir``.
    """
    import torch

    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    spec, variables = _read_resolved(ct2_dir / "model.bin", dequantize=True)
    if spec and spec != "WhisperSpec":
        raise ValueError(f"{ct2_dir} holds a CTranslate2 {spec}, not a WhisperSpec")
    ct2_config = (
        json.loads((ct2_dir / "config.json").read_text()) if (ct2_dir / "config.json").exists() else {}
    )
    tok_path = ct2_dir / "tokenizer.json"
    if not tok_path.exists():
        raise FileNotFoundError(f"{tok_path} is missing (needed to build the tokenizer offline)")

    sd_np, info = _ct2_whisper_state_dict(variables)
    tokenizer = _build_tokenizer(tok_path, info["max_target_positions"])
    ids = _whisper_special_ids(tokenizer, ct2_config)
    if len(tokenizer) != info["vocab_size"]:
        log.warning("tokenizer has %d tokens, model vocabulary %d", len(tokenizer), info["vocab_size"])

    suppress = list(ct2_config.get("suppress_ids") or [])
    begin_suppress = list(ct2_config.get("suppress_ids_begin") or [220, ids["eot"]])
    n_dec, n_heads = info["decoder_layers"], info["decoder_attention_heads"]
    heads = ct2_config.get("alignment_heads") or [
        [layer, head] for layer in range(n_dec // 2, n_dec) for head in range(n_heads)
    ]
    heads = [[int(a), int(b)] for a, b in heads]
    # Real checkpoints: 51864 tokens = English-only, >= 51865 = multilingual. Other sizes (custom
    # or test models): multilingual when the tokenizer has language and translate tokens.
    if info["vocab_size"] >= 51864:
        is_multilingual = info["vocab_size"] >= 51865
    else:
        is_multilingual = bool(ids["lang_to_id"]) and ids["translate"] is not None

    config = WhisperConfig(
        vocab_size=info["vocab_size"],
        num_mel_bins=info["num_mel_bins"],
        d_model=info["d_model"],
        encoder_layers=info["encoder_layers"],
        encoder_attention_heads=info["encoder_attention_heads"],
        decoder_layers=info["decoder_layers"],
        decoder_attention_heads=info["decoder_attention_heads"],
        encoder_ffn_dim=info["encoder_ffn_dim"],
        decoder_ffn_dim=info["decoder_ffn_dim"],
        max_source_positions=info["max_source_positions"],
        max_target_positions=info["max_target_positions"],
        activation_function="gelu",
        scale_embedding=False,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        pad_token_id=ids["eot"],
        bos_token_id=ids["eot"],
        eos_token_id=ids["eot"],
        decoder_start_token_id=ids["sot"],
        suppress_tokens=suppress,
        begin_suppress_tokens=begin_suppress,
        tie_word_embeddings=info["tie_word_embeddings"],
        architectures=["WhisperForConditionalGeneration"],
    )
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in sd_np.items()}
    if info["tie_word_embeddings"]:
        state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected or [m for m in missing if m != "proj_out.weight"]:
        raise RuntimeError(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    if info["tie_word_embeddings"]:
        model.tie_weights()
    leftovers = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftovers:
        raise RuntimeError(f"weights left uninitialised: {leftovers}")
    model.eval()

    task_to_id = {"transcribe": ids["transcribe"]}
    if ids["translate"] is not None:
        task_to_id["translate"] = ids["translate"]
    gen = GenerationConfig(
        decoder_start_token_id=ids["sot"],
        bos_token_id=ids["eot"],
        eos_token_id=ids["eot"],
        pad_token_id=ids["eot"],
        max_length=info["max_target_positions"],
        suppress_tokens=suppress,
        begin_suppress_tokens=begin_suppress,
        alignment_heads=heads,
        is_multilingual=is_multilingual,
        lang_to_id=ids["lang_to_id"],
        task_to_id=task_to_id,
        no_timestamps_token_id=ids["no_timestamps"],
        prev_sot_token_id=ids["prev"],
        max_initial_timestamp_index=50,
        return_timestamps=False,
        # The hub configs carry forced_decoder_ids=[[1, None], [2, <|transcribe|>]] (language left
        # to detection, then transcribe); transformers 5 deprecates that (a warning on every call)
        # in favour of `task`/`language`, which give the same prompt: so default task=transcribe.
        task="transcribe" if is_multilingual else None,
    )
    model.generation_config = gen

    feature_extractor = WhisperFeatureExtractor(
        feature_size=info["num_mel_bins"],
        sampling_rate=16000,
        hop_length=160,
        chunk_length=30,
        n_fft=400,
        padding_value=0.0,
        return_attention_mask=False,
    )
    processor = WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


# --------------------------------------------------------------------------------------------
# transformers -> openai-whisper
# --------------------------------------------------------------------------------------------

_HF_TO_OPENAI = [
    (r"^model\.encoder\.embed_positions\.weight$", "encoder.positional_embedding"),
    (r"^model\.decoder\.embed_positions\.weight$", "decoder.positional_embedding"),
    (r"^model\.decoder\.embed_tokens\.", "decoder.token_embedding."),
    (r"^model\.encoder\.layer_norm\.", "encoder.ln_post."),
    (r"^model\.decoder\.layer_norm\.", "decoder.ln."),
    (r"^model\.(encoder|decoder)\.layers\.(\d+)\.", r"\1.blocks.\2."),
    (r"^model\.encoder\.conv", "encoder.conv"),
    (r"\.self_attn\.q_proj\.", ".attn.query."),
    (r"\.self_attn\.k_proj\.", ".attn.key."),
    (r"\.self_attn\.v_proj\.", ".attn.value."),
    (r"\.self_attn\.out_proj\.", ".attn.out."),
    (r"\.self_attn_layer_norm\.", ".attn_ln."),
    (r"\.encoder_attn\.q_proj\.", ".cross_attn.query."),
    (r"\.encoder_attn\.k_proj\.", ".cross_attn.key."),
    (r"\.encoder_attn\.v_proj\.", ".cross_attn.value."),
    (r"\.encoder_attn\.out_proj\.", ".cross_attn.out."),
    (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
    (r"\.fc1\.", ".mlp.0."),
    (r"\.fc2\.", ".mlp.2."),
    (r"\.final_layer_norm\.", ".mlp_ln."),
]


def _hf_name_to_openai(name: str) -> str:
    for pat, repl in _HF_TO_OPENAI:
        name = re.sub(pat, repl, name)
    return name


def _encode_alignment_heads(heads: list[list[int]], n_layers: int, n_heads: int) -> bytes:
    """openai-whisper's alignment-head format: base85(gzip(bool[n_text_layer, n_text_head]))."""
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    for layer, head in heads:
        mask[int(layer), int(head)] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def transformers_whisper_to_openai(
    hf_dir: str | os.PathLike, out_pt: str | os.PathLike, *, dtype: str = "float16"
) -> Path:
    """Write an openai-whisper checkpoint for a transformers Whisper directory.

    The file holds ``{"dims": {...}, "model_state_dict": {...}, "alignment_heads": bytes}``:
    ``whisper.load_model(out_pt)`` loads it (a local path: no download). ``load_model`` ignores
    ``alignment_heads`` for local files; :func:`load_openai_whisper` applies them (they only
    matter for word timestamps). ``dtype`` is the stored precision: ``"float16"`` (like the
    official checkpoints, exact for weights that came from float16 CT2) or ``"float32"``.
    The output projection must be tied to the token embeddings and the FFN width must be
    4 * d_model (openai-whisper hard-codes both).
    """
    import torch

    out_pt = Path(out_pt)
    checkpoint = _openai_checkpoint(Path(hf_dir), dtype)
    out_pt.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out_pt)
    return out_pt


def _openai_checkpoint(hf_dir: Path, dtype: str) -> dict:
    import torch

    from asr._compat import ensure_torchaudio_importable

    ensure_torchaudio_importable()
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(hf_dir, dtype=torch.float32)
    cfg = model.config
    sd = model.state_dict()
    emb = sd["model.decoder.embed_tokens.weight"]
    proj = sd.get("proj_out.weight")
    if proj is not None and proj.data_ptr() != emb.data_ptr() and not torch.equal(proj, emb):
        raise ValueError("proj_out is not tied to the token embeddings; openai-whisper cannot express that")

    for ffn in (cfg.encoder_ffn_dim, cfg.decoder_ffn_dim):
        if ffn != 4 * cfg.d_model:
            raise ValueError(f"openai-whisper hard-codes ffn_dim = 4 * d_model; this model has {ffn}")
    torch_dtype = {"float16": torch.float16, "float32": torch.float32}[dtype]
    out_sd = {}
    for name, tensor in sd.items():
        if name == "proj_out.weight":
            continue
        out_sd[_hf_name_to_openai(name)] = tensor.detach().to(torch_dtype).contiguous().clone()
    dims = {
        "n_mels": cfg.num_mel_bins,
        "n_audio_ctx": cfg.max_source_positions,
        "n_audio_state": cfg.d_model,
        "n_audio_head": cfg.encoder_attention_heads,
        "n_audio_layer": cfg.encoder_layers,
        "n_vocab": cfg.vocab_size,
        "n_text_ctx": cfg.max_target_positions,
        "n_text_state": cfg.d_model,
        "n_text_head": cfg.decoder_attention_heads,
        "n_text_layer": cfg.decoder_layers,
    }
    heads = getattr(model.generation_config, "alignment_heads", None) or [
        [layer, head]
        for layer in range(cfg.decoder_layers // 2, cfg.decoder_layers)
        for head in range(cfg.decoder_attention_heads)
    ]
    return {
        "dims": dims,
        "model_state_dict": out_sd,
        "alignment_heads": _encode_alignment_heads(heads, cfg.decoder_layers, cfg.decoder_attention_heads),
    }


def load_openai_whisper(path: str | os.PathLike | None = None, device: str = "cpu"):
    """``whisper.load_model`` on a converted checkpoint (default: the cached bundled one),
    with the checkpoint's alignment heads applied (``load_model`` skips them for local files)."""
    import torch
    import whisper

    path = Path(path) if path is not None else cached_openai_whisper()
    model = whisper.load_model(str(path), device=device)
    ckpt = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    if ckpt.get("alignment_heads"):
        model.set_alignment_heads(ckpt["alignment_heads"])
    return model


# --------------------------------------------------------------------------------------------
# Cached conversions of the bundled model
# --------------------------------------------------------------------------------------------

_STAMP = "llm4all-source.json"


def _source_stamp(ct2_dir: Path) -> dict:
    """Identity of the bundled CT2 model (its checksum.json from asr.models, else size+mtime)."""
    checksum = ct2_dir / "checksum.json"
    if checksum.exists():
        meta = json.loads(checksum.read_text())
        return {"sha256": meta.get("sha256"), "size": meta.get("size")}
    st = (ct2_dir / "model.bin").stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stamp_matches(path: Path, stamp: dict) -> bool:
    try:
        return json.loads(path.read_text()) == stamp
    except (OSError, ValueError):
        return False


def cached_transformers_whisper() -> Path:
    """The bundled Whisper as a transformers directory, converted once into
    ``cache_dir()/whisper-base-hf`` (rebuilt when the bundled model changes)."""
    from asr.models import bundled_whisper_dir, cache_dir

    src = bundled_whisper_dir()
    stamp = _source_stamp(src)
    out = cache_dir() / "whisper-base-hf"
    if _stamp_matches(out / _STAMP, stamp) and (out / "config.json").exists():
        return out
    log.info("converting %s to transformers format in %s", src, out)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
    try:
        ct2_whisper_to_transformers(src, tmp)
        (tmp / _STAMP).write_text(json.dumps(stamp, allow_nan=False))
        if out.exists():  # stale: move aside, then swap in the new one
            old = Path(tempfile.mkdtemp(prefix=out.name + ".old-", dir=out.parent))
            try:
                os.replace(out, old / "d")
            except OSError:
                pass
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, out)
        except OSError:
            # Another process won the race; use its result if it is current.
            if not _stamp_matches(out / _STAMP, stamp):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def cached_openai_whisper() -> Path:
    """The bundled Whisper as an openai-whisper checkpoint, converted once into
    ``cache_dir()/whisper-base-openai.pt`` (float16, like the official checkpoints)."""
    import torch

    from asr.models import bundled_whisper_dir, cache_dir

    stamp = _source_stamp(bundled_whisper_dir())
    out = cache_dir() / "whisper-base-openai.pt"
    if out.exists():
        try:
            ckpt = torch.load(out, map_location="cpu", mmap=True, weights_only=True)
            if ckpt.get("llm4all_source") == stamp:
                return out
        except Exception as exc:  # corrupt or foreign file: rebuild
            log.warning("rebuilding %s (%s)", out, exc)
    hf_dir = cached_transformers_whisper()
    fd, tmp_name = tempfile.mkstemp(prefix=out.name + ".tmp-", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600
    try:
        ckpt = _openai_checkpoint(hf_dir, "float16")
        ckpt["llm4all_source"] = stamp
        torch.save(ckpt, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
