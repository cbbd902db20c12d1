"""Tiny random Whisper models for tests: a byte-level BPE tokenizer with Whisper's special
tokens, a 2+2-layer model of width 32, and the generation config Whisper decoding needs."""

from __future__ import annotations

from pathlib import Path

SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|fr|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]
N_TIMESTAMPS = 16
N_MELS = 80


def tiny_tokenizer_json(path: Path) -> None:
    """A byte-level BPE with Whisper's special tokens and a few timestamp tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    merges = [("l", "e"), ("e", "s"), ("Ġ", "l")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.add_tokens([AddedToken(f"<|{i * 0.02:.2f}|>", special=False) for i in range(N_TIMESTAMPS)])
    tok.save(str(path))


def build_tiny_whisper(
    d: Path,
    *,
    max_source_positions: int,
    max_target_positions: int,
    noisy_init: bool = False,
    processor: bool = False,
    max_length: int | None = None,
) -> Path:
    """Save a random tiny ``WhisperForConditionalGeneration`` (+ tokenizer) into ``d``.

    Args:
        max_source_positions: encoder positions (1500 = a real 30 s window; the input has twice
            as many mel frames).
        max_target_positions: decoder context (bounds generation of a random model).
        noisy_init: non-trivial values everywhere (layer norms, biases, positions), for exact
            conversion tests.
        processor: also save a ``WhisperProcessor`` (feature extractor + tokenizer).
        max_length: generation length cap stored in the generation config.
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    tiny_tokenizer_json(d / "tokenizer.json")
    tok = WhisperTokenizerFast(
        tokenizer_file=str(d / "tokenizer.json"),
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[1:],
    )
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    common = dict(
        pad_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[ids["<|endoftext|>"]],
    )
    config = WhisperConfig(
        vocab_size=len(tok),
        num_mel_bins=N_MELS,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,  # openai-whisper hard-codes 4 * d_model
        decoder_ffn_dim=128,
        max_source_positions=max_source_positions,
        max_target_positions=max_target_positions,
        bos_token_id=ids["<|endoftext|>"],
        **common,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    if noisy_init:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name != "proj_out.weight":
                    p.normal_(0.0, 0.3)
    extra = {} if max_length is None else {"max_length": max_length}
    model.generation_config = GenerationConfig(
        alignment_heads=[[1, 0], [1, 3]],
        lang_to_id={"<|en|>": ids["<|en|>"], "<|fr|>": ids["<|fr|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        is_multilingual=True,
        **common,
        **extra,
    )
    model.save_pretrained(d)
    if processor:
        WhisperProcessor(WhisperFeatureExtractor(feature_size=N_MELS), tok).save_pretrained(d)
    else:
        tok.save_pretrained(d)
    return d
