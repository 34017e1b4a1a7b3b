"""Tests for hdr_core.preprocess: the trace (the stages that ran, their images and reasons) and Params."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError

from tests.geometry import ink_shear
from .drawing import _marked, _number, box_of, digit_mask, render, sheet_on_desk


def names(result: pp.Preprocessed) -> list[str]:
    return [stage.name for stage in result.trace]


def test_every_picture_starts_and_ends_with_the_textbook_stages():
    result = pp.preprocess(render(digit_mask("3"), 30, 230))
    assert names(result)[:4] == ["load", "grayscale", "threshold", "invert"]
    assert names(result)[-2:] == ["locate", "normalize"]
    assert all(stage.reason and stage.title for stage in result.trace)
    assert "sheet" not in names(result) and "lines" not in names(result) and "desk" not in names(result)


def test_each_stage_carries_the_image_the_pipeline_used():
    gray = render(digit_mask("7"), 30, 230)
    result = pp.preprocess(gray)
    by_name = {stage.name: stage for stage in result.trace}
    assert np.array_equal(by_name["load"].image, gray)
    assert np.array_equal(by_name["grayscale"].image, result.gray)
    assert np.array_equal(by_name["threshold"].image, result.binary)
    assert np.array_equal(by_name["invert"].image, ~result.binary)  # dark ink inverted
    assert np.array_equal(by_name["locate"].image, result.ink)  # the mask the box was taken from
    assert np.array_equal(by_name["normalize"].image, result.model_input)
    assert "Mean threshold" in by_name["threshold"].reason
    assert by_name["invert"].reason == result.invert_reason


def test_a_sheet_on_a_desk_is_a_stage_that_says_its_evidence():
    photo, _ = sheet_on_desk(digit_mask("4", size=(200, 160), scale=5, thickness=12))
    result = pp.preprocess(photo)
    [sheet] = [stage for stage in result.trace if stage.name == "sheet"]
    assert names(result).index("sheet") == 1  # read before anything else is measured
    assert "desk" in sheet.reason and "cropped to it" in sheet.reason and "% of the photo" in sheet.reason
    assert sheet.image.shape[:2] == (result.page.h, result.page.w) == result.gray.shape


def test_ruled_lines_erased_are_a_stage_that_counts_them():
    mask = digit_mask("5", size=(300, 240), scale=5, thickness=6)
    gray = render(mask, 30, 240)
    for y in range(20, 300, 28):
        cv2.line(gray, (0, y), (239, y), 150, 2)
    result = pp.preprocess(gray)
    [lines] = [stage for stage in result.trace if stage.name == "lines"]
    assert "ruled lines erased" in lines.reason
    assert int(lines.reason.split()[0]) >= 8  # ten lines cross the picture; the digit hides some
    assert lines.image.dtype == bool and np.count_nonzero(lines.image) < np.count_nonzero(result.trace[3].image)


def test_a_box_round_the_digit_is_named_among_what_was_left_out():
    mask = digit_mask("3", size=(260, 220), scale=4, thickness=10)
    gray = _marked(render(mask, 30, 235), box_of(mask), "box")
    result = pp.preprocess(gray)
    locate = result.trace[names(result).index("locate")]
    assert "box or circle" in locate.reason


def test_a_whole_number_has_its_own_trace():
    gray, _ = _number(["2026"])
    result = pp.segment(gray)
    assert names(result)[:4] == ["load", "grayscale", "threshold", "invert"]
    assert names(result)[-2:] == ["digits", "normalize"]
    digits = result.trace[-2]
    assert digits.reason.startswith("4 digits found in 1 row")
    assert np.array_equal(digits.image, result.ink)
    assert np.array_equal(result.trace[-1].image, np.stack([d.model_input for d in result.digits]))


def test_stage_as_dict_is_what_predict_json_prints():
    result = pp.preprocess(render(digit_mask("1"), 30, 230))
    assert result.trace[0].as_dict() == {"stage": "load", "title": "Original", "reason": result.trace[0].reason}


def test_params_are_frozen_dataclasses_with_defaults():
    params = pp.Params()
    assert params == pp.DEFAULT_PARAMS
    with pytest.raises(FrozenInstanceError):
        params.normalize.straighten_share = 0.0  # type: ignore[misc]
    for group in fields(params):
        stage = getattr(params, group.name)
        assert fields(stage), group.name  # every stage's dataclass holds its tuning values


def test_params_passed_in_reach_the_stage_that_uses_them():
    """Nothing reads a module global: a changed value passed to ``preprocess`` changes what it does."""
    mask = np.zeros((200, 200), bool)
    cv2.line(mask.view(np.uint8), (70, 170), (130, 30), 1, 14)  # a "1" leaning right
    gray = render(mask, 30, 230)
    default = pp.preprocess(gray).model_input
    kept_slant = pp.preprocess(gray, params=pp.Params(normalize=pp.NormalizeParams(straighten_share=0.0)))
    assert abs(ink_shear(kept_slant.model_input > 0.5)) > 1.5 * abs(ink_shear(default > 0.5))
    strict = pp.Params(blank=replace(pp.BlankParams(), min_digit_side_share=0.95))
    with pytest.raises(BlankImageError):
        pp.preprocess(gray, params=strict)  # the digit is shorter than 95% of the picture: a speck
