"""Tests for hdr_core.preprocess: finding the one digit in an ink mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.preprocess import Box

from .drawing import _blank, _ring, box_of, digit_mask, iou, render


def test_locate_ink_single_shape():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_empty_is_none():
    assert pp.locate_ink(_blank()) is None


def test_locate_ink_drops_specks():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[5, 5] = ink[90, 90] = ink[95, 10] = True
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_drops_grid_lines():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[5:7, :] = True  # rule line across the page
    ink[:, 92:94] = True  # the cell's edge
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_keeps_a_thin_pen_zero_that_fills_the_crop():
    """A grid cell cut tight round a thin-pen 0 written with a second, inner stroke: the oval runs
    from the top to the bottom edge and is as thin for its length as a grid line, but it is curved,
    so it is the digit, not a line to drop in favour of the inner stroke."""
    ink = _blank((127, 168)).view(np.uint8)
    cv2.ellipse(ink, (92, 63), (52, 62), 0, 0, 360, 1, 2)
    cv2.ellipse(ink, (96, 70), (28, 50), -10, 150, 330, 1, 6)  # the inner stroke, down the left side
    box = pp.locate_ink(ink.view(bool))
    assert box.h == 127 and box.w >= 104  # the whole oval, not the inner stroke's 60 px


def test_locate_ink_keeps_a_lone_one_that_looks_like_a_line():
    ink = _blank((100, 30))
    ink[:, 12:17] = True  # a tight crop of a "1", edge to edge
    assert pp.locate_ink(ink) == Box(12, 0, 5, 100)


def test_locate_ink_prefers_the_digit_over_border_fragments():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[30:70, 88:100] = True  # a neighbouring digit cut by the right border
    ink[0:10, 0:40] = True  # and one cut by the top-left corner
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_adds_detached_pieces():
    """A 5 whose top bar was written separately belongs together."""
    ink = _ring(_blank(), Box(30, 40, 30, 40))
    ink[28:32, 30:62] = True  # the bar, 8 px above
    assert pp.locate_ink(ink) == Box(30, 28, 32, 52)


def test_photo_of_a_page_on_a_desk_reads_only_the_digit():
    # A photo whose page does not fill the frame: dark desk along the left and the bottom.
    rng = np.random.default_rng(0)
    mask = digit_mask("4", size=(220, 200), scale=5.0, thickness=14)
    photo = render(mask, ink=40, paper=215).astype(np.int16)
    photo = np.pad(photo, ((0, 20), (20, 0)), constant_values=50)  # the desk
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(photo)
    assert result.inverted
    assert iou(result.box, Box(box_of(mask).x + 20, box_of(mask).y, box_of(mask).w, box_of(mask).h)) > 0.9


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_locate_ink_accepts_uint8_masks(dtype):
    ink = _ring(_blank(), Box(30, 20, 30, 50)).astype(dtype)
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)
