"""Summaries of speaker-labelled transcripts: extractive (default, no model) or with an LLM.

>>> from summarize import summarize, SummaryOptions
>>> s = summarize(transcript, SummaryOptions(method="extractive", max_words=150))
>>> print(s.text)
"""

from .core import DEFAULT_BUDGET, FAITHFULNESS, KINDS, METHODS, BudgetRule, Summary, SummaryOptions, summarize
from .faithfulness import FaithfulnessReport, check_faithfulness
from .fredsum import read_fredsum

__all__ = [
    "summarize",
    "SummaryOptions",
    "Summary",
    "BudgetRule",
    "DEFAULT_BUDGET",
    "METHODS",
    "KINDS",
    "FAITHFULNESS",
    "check_faithfulness",
    "FaithfulnessReport",
    "read_fredsum",
]
