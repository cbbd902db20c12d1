"""Map-reduce with a fake LLM: chunking on turns, merging, bad model output."""

from __future__ import annotations

import re

import pytest

from summarize import SummaryOptions, summarize
from summarize.llm import chunk_turns, clean_output, is_garbage, token_counter

from .helpers import DEBATE, transcript


class FakeLLM:
    """Answers from a function of the prompt; records the prompts; counts words as tokens."""

    def __init__(self, answer, context_length: int = 400):
        self.answer = answer
        self.context_length = context_length
        self.prompts: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def __call__(self, prompt: str, max_new_tokens: int = 64, stop=()) -> str:
        self.prompts.append(prompt)
        return self.answer(prompt)


def _chunk_of(prompt: str) -> str:
    return prompt.rsplit("Transcription :\n", 1)[1].rsplit("\n\nRésumé :", 1)[0]


def _continuation(prompt: str, text: str) -> str:
    """Continue the answer started in the prompt once; nothing more after a finished sentence
    (like a model stopping at the end of its summary)."""
    written = prompt.rsplit("Résumé :\n", 1)[-1]
    return "" if written.rstrip().endswith(".") else text


def _speakers_said(prompt: str) -> str:
    """A sentence per speaker of the chunk, made of that speaker's first words."""
    said: dict[str, str] = {}
    for name, text in re.findall(r"^([^:\n]+) : (.*)$", _chunk_of(prompt), flags=re.M):
        said.setdefault(name, " ".join(text.split()[:8]).rstrip(".,;:!?"))
    return " ".join(f"{n} affirme : {w}." for n, w in said.items())


def long_debate(repeats: int = 6):
    return transcript(DEBATE * repeats)


def test_chunks_are_cut_on_turn_boundaries_and_fit_the_budget():
    t = long_debate()
    count = token_counter(FakeLLM(str))
    chunks = chunk_turns(t.segments, 120, count)
    assert len(chunks) > 1
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines == [f"{s.speaker} : {s.text}" for s in t.segments]  # whole turns, in order
    assert all(c.tokens <= 120 for c in chunks)


def test_a_turn_longer_than_a_chunk_is_split_on_sentences_with_its_speaker():
    t = transcript([("Jean Martin", " ".join(text for _, text in DEBATE))])
    chunks = chunk_turns(t.segments, 40, lambda s: len(s.split()))
    assert len(chunks) > 1
    for c in chunks:
        assert c.tokens <= 40
        assert all(s.speaker == "Jean Martin" for s in c.segments)
    assert " ".join(s.text for c in chunks for s in c.segments) == t.segments[0].text


def test_map_reduce_summarises_each_chunk_and_keeps_names():
    llm = FakeLLM(lambda p: _continuation(p, " débattent de l'école. " + _speakers_said(p)))
    s = summarize(long_debate(), SummaryOptions(method="llm", max_words=300), llm=llm)
    assert 1 < s.chunks <= len(llm.prompts)
    assert s.method == "llm" and not s.warnings
    assert "Jean Martin" in s.text and "Élise Bernard" in s.text
    assert s.word_count <= 300
    assert all("\n\nRésumé :\n" in p for p in llm.prompts)


def test_partial_summaries_longer_than_the_budget_are_merged_by_the_model():
    def answer(prompt: str) -> str:
        if "Résumés partiels :" in prompt:
            return "Jean Martin et Élise Bernard débattent de l'école, des classes et de l'apprentissage."
        return _continuation(
            prompt, " parlent. " + _speakers_said(prompt) + " Ils divergent sur le financement."
        )

    llm = FakeLLM(answer)
    s = summarize(long_debate(), SummaryOptions(method="llm", max_words=30), llm=llm)
    merges = [p for p in llm.prompts if "Résumés partiels :" in p]
    assert merges and "1. " in merges[0] and "2. " in merges[0]
    assert s.text.startswith("Jean Martin et Élise Bernard débattent")
    assert s.word_count <= 30


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \n",
        "la la la la la la la la la la la la la la la la la la",
        "%%%% #### 1234 5678 ////",
        "We think that this is the best school policy for the children and they are happy with it.",
    ],
)
def test_garbage_model_output_falls_back_to_extractive_with_a_warning(garbage):
    llm = FakeLLM(lambda prompt: garbage)
    s = summarize(long_debate(2), SummaryOptions(method="llm", max_words=80), llm=llm)
    assert s.text and s.word_count <= 80
    assert s.warnings and all("résumé extractif" in w or "bout à bout" in w for w in s.warnings)
    assert any(name in s.text for name in ("Jean Martin", "Élise Bernard", "Anne Dupré"))


def test_output_cleaning():
    raw = "Jean Martin veut des classes réduites. Jean Martin veut des classes réduites. Élise répond que\n###\n"
    assert clean_output(raw) == "Jean Martin veut des classes réduites."
    assert is_garbage("Jean Martin veut des classes réduites.") is None
    assert is_garbage("") and is_garbage("oui oui oui oui oui oui oui oui oui oui oui oui oui oui")


def test_call_summary_has_the_clinical_fields():
    def answer(prompt: str) -> str:
        return " chute.\nPatient : homme de 70 ans.\nSignes clés : douleur au poignet.\nDécision : ambulance.\n\n"

    call = transcript(
        [
            ("regulateur", "SAMU bonjour, je vous écoute."),
            ("appelant", "Mon père est tombé, il a mal au poignet, il a soixante-dix ans."),
        ]
    )
    s = summarize(call, SummaryOptions(method="llm", kind="call", max_words=60), llm=FakeLLM(answer))
    assert s.text.splitlines()[0] == "Motif : chute."
    assert [line.split(" :")[0] for line in s.text.splitlines()] == [
        "Motif",
        "Patient",
        "Signes clés",
        "Décision",
    ]


def test_plain_callable_without_token_counter_or_context():
    prompts = []

    def generate(prompt, **kw):
        prompts.append(kw)
        return " défendent des idées opposées sur l'apprentissage."

    s = summarize(long_debate(), SummaryOptions(method="llm", max_words=60), llm=generate)
    assert s.text.startswith("Dans ce débat, Jean Martin et Élise Bernard défendent des idées opposées")
    assert s.model == "function"
    assert s.text.count("idées opposées") == 1  # the repeated answer is dropped
    assert prompts and all(set(kw) >= {"max_new_tokens", "stop"} for kw in prompts)


def test_context_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match="context"):
        summarize(long_debate(), SummaryOptions(method="llm"), llm=FakeLLM(str, context_length=100))


def test_plumbing_with_a_tiny_random_model(tmp_path):
    from core_training.generate import LocalLLM
    from tests.tiny_llm import save_tiny_llama

    llm = LocalLLM(str(save_tiny_llama(tmp_path / "tiny")))
    assert llm.context_length == 1024
    s = summarize(
        transcript(DEBATE[1:5]), SummaryOptions(method="llm", max_words=30, chunk_tokens=128), llm=llm
    )
    # a random model writes nonsense: each chunk either passes the checks or falls back, never crashes
    assert s.method == "llm" and s.chunks >= 2 and s.model == "tiny"
    assert 0 < s.word_count <= 30
    assert len(s.warnings) <= s.chunks + 1
