"""Vocabulary trimming keeps the model's outputs on the corpus and any text encodable."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from core_training.trim_vocab import trim_vocabulary
from tests.core_training.tiny import FRENCH_SAMPLE, logits, tiny_model, tiny_tokenizer

CORPUS = FRENCH_SAMPLE[:5]
UNSEEN = "Ωmega 😀 中文 — naïve façade\t\n"


def _cached_tokenizer(name):
    from core_training.models import cache_dir

    d = cache_dir() / f"{name}-hf"
    if not (d / "tokenizer.json").exists():
        pytest.skip(f"{name} not converted in {d} (run core_training.models.bundled_model_dir({name!r}))")
    return AutoTokenizer.from_pretrained(str(d))


def _check_trim(tok, kind, tmp_path):
    model = tiny_model(kind, vocab_size=len(tok))
    ref = {t: (tok(t)["input_ids"], logits(model, torch.tensor([tok(t)["input_ids"]]))) for t in CORPUS}
    old_vocab = len(tok)
    model, new_tok, info = trim_vocabulary(model, tok, CORPUS)
    kept = torch.tensor(info["kept_ids"])
    assert info["new_vocab"] == len(new_tok) == model.config.vocab_size == len(kept) < old_vocab
    assert model.get_input_embeddings().weight.shape[0] == len(kept)
    assert info["params_removed"] == (old_vocab - len(kept)) * 32 * (
        1 if model.config.tie_word_embeddings else 2
    )
    for text, (old_ids, old_logits) in ref.items():
        new_ids = new_tok(text)["input_ids"]
        assert kept[new_ids].tolist() == old_ids  # same tokens, new numbering
        new_logits = logits(model, torch.tensor([new_ids]))
        torch.testing.assert_close(new_logits, old_logits[..., kept], rtol=0, atol=1e-5)
    # any text still encodes (byte fallback / byte alphabet) and decodes back unchanged
    ids = new_tok(UNSEEN, add_special_tokens=False)["input_ids"]
    assert new_tok.unk_token_id is None or new_tok.unk_token_id not in ids
    assert new_tok.decode(ids) == tok.decode(tok(UNSEEN, add_special_tokens=False)["input_ids"])
    assert new_tok.bos_token == tok.bos_token and new_tok.eos_token == tok.eos_token
    assert new_tok.convert_ids_to_tokens(new_tok.eos_token_id) == tok.eos_token
    # the pair saves and reloads as a standard checkpoint
    model.save_pretrained(tmp_path)
    new_tok.save_pretrained(tmp_path)
    model2 = AutoModelForCausalLM.from_pretrained(str(tmp_path)).eval()
    tok2 = AutoTokenizer.from_pretrained(str(tmp_path))
    assert tok2(CORPUS[0])["input_ids"] == new_tok(CORPUS[0])["input_ids"]
    torch.testing.assert_close(logits(model2, torch.tensor([ids])), logits(model, torch.tensor([ids])))
    return info


def test_trim_tiny_byte_level_bpe(tmp_path):
    tok = tiny_tokenizer(vocab_size=600)
    info = _check_trim(tok, "llama", tmp_path)
    assert info["n_fallback"] > 0  # byte alphabet kept


def test_trim_smollm2_tokenizer(tmp_path):
    tok = _cached_tokenizer("smollm2")
    info = _check_trim(tok, "qwen2", tmp_path)  # tied embeddings
    assert info["new_vocab"] < 2000


@pytest.mark.slow
def test_trim_gemma3_tokenizer_byte_fallback(tmp_path):
    tok = _cached_tokenizer("gemma3-270m")
    info = _check_trim(tok, "gemma3", tmp_path)
    assert info["n_fallback"] >= 250 and info["new_vocab"] < 10000


def test_trim_rejects_empty_corpus():
    tok = tiny_tokenizer()
    with pytest.raises(ValueError, match="texts"):
        trim_vocabulary(tiny_model("llama", vocab_size=len(tok)), tok, [])
    with pytest.raises(ValueError, match="embedding rows"):
        trim_vocabulary(tiny_model("llama", vocab_size=10), tok, CORPUS)
