"""Tests for hdr_core.preprocess: boxes, circles and underlines round the digit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp

from .drawing import _marked, assert_model_input, box_of, digit_mask, iou, render


@pytest.mark.parametrize("mark", ["box", "big box", "circle", "underline"])
@pytest.mark.parametrize("text", ["3", "1", "7"])
def test_preprocess_leaves_out_a_box_circle_or_underline_round_the_digit(mark, text):
    """Worksheets print answer boxes, and students circle or underline their answer: the mark is ink
    clear of the digit, bigger than it, and was kept as the digit (a 3 in a box read 0). A box or a
    circle encloses the digit in its hole; an underline runs straight below it, clear of it."""
    mask = digit_mask(text, size=(400, 400), scale=5 if mark != "big box" else 3, thickness=8)
    truth = box_of(mask)
    gray = _marked(render(mask, 30, 240), truth, mark)
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.9
    assert not (result.ink & ~cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)).any()
    assert_model_input(result.model_input)


@pytest.mark.parametrize("inside", ["dot", "specks"])
def test_preprocess_keeps_a_zero_with_a_dot_or_specks_inside(inside):
    """A dotted zero, or specks of dirt in a 0's loop: the 0 encloses them, but they are no digit, so
    the 0 is no box round one."""
    mask = np.zeros((300, 300), np.uint8)
    cv2.ellipse(mask, (150, 150), (60, 95), 0, 0, 360, 1, 10)
    truth = box_of(mask > 0)
    if inside == "dot":
        cv2.circle(mask, (150, 150), 9, 1, -1)
    else:
        for x, y in [(115, 90), (180, 200), (150, 150), (120, 210)]:
            cv2.circle(mask, (x, y), 3, 1, -1)
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.95


def test_preprocess_keeps_a_nine_with_a_short_stroke_in_its_loop():
    """A bit of a shadow's edge, or a slip of the pen, inside a 9's loop: long enough for a small
    digit in an answer box, but a circle is drawn round a digit of a good size, so the 9 stays."""
    mask = digit_mask("9", size=(300, 240), scale=6, thickness=8).astype(np.uint8)
    truth = box_of(mask > 0)
    loop = cv2.floodFill(1 - mask, None, (0, 0), 0)[1]  # the 9's hole: background the outside flood misses
    ys, xs = np.nonzero(loop)
    cy, cx = int(ys.mean()), int(xs.mean())
    cv2.line(mask, (cx - 6, cy + 10), (cx + 6, cy - 10), 1, 4)
    assert cv2.connectedComponents(mask)[0] == 3  # the 9 and the stroke, apart
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.95


@pytest.mark.parametrize("text", ["2", "1"])
def test_preprocess_keeps_a_detached_foot_written_close_under_the_digit(text):
    """A 2 whose base, or a 1 whose foot, was written as a stroke of its own just below the rest: it
    looks like an underline, but it is written close, so it is part of the digit."""
    mask = digit_mask(text, size=(300, 300), scale=5, thickness=7).astype(np.uint8)
    box = box_of(mask > 0)
    foot = box.y + box.h + 4
    half = box.w // 2 + 6 if text == "2" else box.h // 3
    cv2.line(mask, (box.x + box.w // 2 - half, foot), (box.x + box.w // 2 + half, foot), 1, 7)
    if text == "2":  # the 2's own base goes: the curve ends just above the separate one
        mask[box.y + box.h - 10: box.y + box.h, :] = 0
    truth = box_of(mask > 0)
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.9
