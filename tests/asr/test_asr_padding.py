"""Whisper gets context around the tight VAD regions (word onsets and endings were lost)."""

from __future__ import annotations

import pytest

from asr.pipeline import PipelineOptions
from asr.vad import pad_regions


def test_pad_regions_widens_clips_and_merges():
    regions = [(0.1, 1.0), (1.5, 2.0), (5.0, 6.0)]
    assert pad_regions(regions, 0.0) == regions
    # 0.3 s each side, clipped at 0 and at the limit; the first two would overlap: the
    # pause between them is split at its middle
    assert pad_regions(regions, 0.3, limit=6.1) == [(0.0, 1.25), (1.25, 2.3), (4.7, 6.1)]
    assert pad_regions([], 0.3) == []
    # a region that ends at the window cut is never padded past it
    assert pad_regions([(9.0, 10.0)], 0.5, limit=10.0) == [(8.5, 10.0)]
    with pytest.raises(ValueError, match="pad"):
        pad_regions(regions, -0.1)


def test_asr_pad_option_validates():
    assert PipelineOptions().asr_pad_s == pytest.approx(0.3)
    with pytest.raises(ValueError, match="asr_pad_s"):
        PipelineOptions(asr_pad_s=-1.0)
    with pytest.raises(ValueError, match="asr_pad_s"):
        PipelineOptions(asr_pad_s=5.0)
