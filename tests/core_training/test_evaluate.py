"""Perplexity (token / word / bpc), parameter counts, speed, memory and the forgetting report."""

from __future__ import annotations

import math

import pytest
import torch

from core_training.evaluate import (
    count_parameters,
    forgetting_report,
    generation_speed,
    peak_rss_mb,
    perplexity,
)
from tests.core_training.tiny import FRENCH_SAMPLE, tiny_model, tiny_tokenizer


@pytest.fixture(scope="module")
def lm():
    tok = tiny_tokenizer()
    return tiny_model("llama", vocab_size=len(tok)), tok


def _manual_nll(model, tok, text):
    ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    lp = torch.log_softmax(logits[:-1].double(), -1)
    return -lp.gather(1, torch.tensor(ids[1:])[:, None]).sum().item(), len(ids) - 1


def test_perplexity_matches_manual_computation(lm):
    model, tok = lm
    texts = FRENCH_SAMPLE[:4]
    r = perplexity(model, tok, texts, block_size=256, batch_size=3)
    nll, n = map(sum, zip(*(_manual_nll(model, tok, t) for t in texts)))
    assert r["tokens"] == n
    assert r["nll_sum"] == pytest.approx(nll, rel=1e-5)
    assert r["ppl_token"] == pytest.approx(math.exp(nll / n), rel=1e-5)
    chars, words = sum(map(len, texts)), sum(len(t.split()) for t in texts)
    assert (r["chars"], r["words"]) == (chars, words)
    assert r["ppl_word"] == pytest.approx(math.exp(nll / words), rel=1e-5)
    assert r["bpc"] == pytest.approx(nll / chars / math.log(2), rel=1e-5)


def test_long_documents_are_scored_in_windows_with_every_token_once(lm):
    model, tok = lm
    text = " ".join(FRENCH_SAMPLE)
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    full = perplexity(model, tok, [text], block_size=1024)
    win = perplexity(model, tok, [text], block_size=16, context=8)
    assert win["tokens"] == full["tokens"] == n
    # windows lose context beyond 8 tokens: close to, not equal to, the full-context score
    assert win["nll_sum"] == pytest.approx(full["nll_sum"], rel=0.2)
    calls = []
    perplexity(model, tok, [text], block_size=16, context=0, hook=lambda *a: calls.append(a))
    assert calls[-1][1] == calls[-1][2] == math.ceil(n / 16)


def test_max_tokens_cuts_text_at_a_token_boundary(lm):
    model, tok = lm
    r = perplexity(model, tok, FRENCH_SAMPLE, max_tokens=10)
    assert r["tokens"] == 10
    ids = tok(FRENCH_SAMPLE[0], add_special_tokens=False)["input_ids"][:10]
    assert r["chars"] == len(tok.decode(ids))


def test_perplexity_bad_inputs(lm):
    model, tok = lm
    with pytest.raises(ValueError, match="block_size"):
        perplexity(model, tok, ["x"], block_size=1)
    with pytest.raises(ValueError, match="context"):
        perplexity(model, tok, ["x"], block_size=8, context=8)
    with pytest.raises(ValueError, match="empty"):
        perplexity(model, tok, ["", ""])


def test_count_parameters_tied_and_untied():
    untied = tiny_model("llama", vocab_size=100)  # embed + lm_head
    tied = tiny_model("qwen2", vocab_size=100)
    c = count_parameters(untied)
    assert c["embedding"] == 2 * 100 * 32
    assert c["total"] == sum(p.numel() for p in untied.parameters())
    assert c["non_embedding"] == c["total"] - c["embedding"]
    t = count_parameters(tied)
    assert t["embedding"] == 100 * 32 and t["total"] == sum(p.numel() for p in tied.parameters())


def test_generation_speed_and_memory(lm):
    model, tok = lm
    s = generation_speed(model, tok, "bonjour", new_tokens=5)
    assert s["new_tokens"] == 5 and s["tokens_per_s"] > 0 and s["prompt_tokens"] >= 2
    assert peak_rss_mb() > 10


def test_forgetting_report():
    base = {"new": {"bpc": 2.0, "ppl_word": 100.0}, "old": {"bpc": 1.0, "ppl_word": 50.0}}
    after = {"new": {"bpc": 1.5, "ppl_word": 60.0}, "old": {"bpc": 1.1, "ppl_word": 55.0}}
    r = forgetting_report(base, after)
    assert r["new_gain_bpc"] == pytest.approx(0.5) and r["old_rise_bpc"] == pytest.approx(0.1)
    assert r["forgetting_ratio"] == pytest.approx(0.2)
    assert r["new_ppl_word_change"] == pytest.approx(-0.4) and r["old_ppl_word_change"] == pytest.approx(0.1)
    assert forgetting_report(after, base)["forgetting_ratio"] is None
    with pytest.raises(ValueError, match="old"):
        forgetting_report({"new": base["new"]}, after)
