"""Tests for hdr_core.preprocess: mean, Otsu and adaptive thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from hdr_core import preprocess as pp

from .drawing import _uneven_lighting, assert_model_input, box_of, digit_mask, iou, render


def test_mean_threshold_exact():
    gray = np.array([[0, 0], [100, 200]], np.uint8)
    assert pp.threshold_value(gray, "mean") == 75.0
    assert np.array_equal(pp.binarize(gray, "mean"), [[False, False], [True, True]])


def test_otsu_threshold_separates_two_levels():
    gray = np.array([[10] * 6 + [200] * 2] * 4, np.uint8)
    level = pp.threshold_value(gray, "otsu")
    assert 10 <= level < 200
    assert np.array_equal(pp.binarize(gray, "otsu"), gray > 100)


def test_adaptive_threshold_is_a_map(three):
    mask, _ = three
    gray = render(mask)
    level = pp.threshold_value(gray, "adaptive")
    assert isinstance(level, np.ndarray) and level.shape == gray.shape and level.dtype == np.float32
    assert pp.threshold_value(gray, "adaptive", block_size=11, offset=3).shape == gray.shape


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "median"}, "threshold method must be one of"),
        ({"method": "adaptive", "block_size": 10}, "block_size must be odd and >= 3, got 10"),
        ({"method": "adaptive", "offset": -1}, "offset must be >= 0, got -1"),
    ],
)
def test_threshold_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pp.threshold_value(np.zeros((20, 20), np.uint8), **kwargs)


def test_adaptive_handles_uneven_lighting_where_mean_fails():
    mask = digit_mask("4", size=(200, 300), scale=4, thickness=8, origin=(180, 140))  # on the dark side
    truth = box_of(mask)
    gray = _uneven_lighting(mask)

    ink_by_mean = ~pp.binarize(gray, "mean")
    assert ink_by_mean.mean() > 0.3  # the whole shaded side counts as "ink"
    assert iou(box_of(ink_by_mean), truth) < 0.3

    ink_by_adaptive = ~pp.binarize(gray, "adaptive")
    overlap = (ink_by_adaptive & mask).sum() / (ink_by_adaptive | mask).sum()
    assert overlap > 0.6
    result = pp.preprocess(gray, threshold="adaptive")
    assert iou(result.box, truth) > 0.85
    assert_model_input(result.model_input)
