"""The real bundled Gemma 3 270M writes a French summary that names the speakers (slow)."""

from __future__ import annotations

import pytest

from summarize import SummaryOptions, summarize
from summarize.text import french_ratio

from .helpers import transcript


@pytest.mark.slow
def test_gemma_map_reduce_summary_is_french_names_speakers_and_fits():
    from core_training.generate import LocalLLM

    try:
        llm = LocalLLM("gemma3-270m")
    except RuntimeError as e:
        pytest.skip(f"bundled Gemma not available: {e}")
    s = summarize(transcript(), SummaryOptions(method="llm", max_words=60), llm=llm)
    assert s.method == "llm" and s.model == "gemma3-270m" and s.chunks == 1
    assert 5 < s.word_count <= 60
    assert french_ratio(s.text) > 0.8
    assert "Jean Martin" in s.text or "Élise Bernard" in s.text
