"""Tests for hdr_core.preprocess: the desk beyond the page's edge: bands, strips, corners."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.preprocess import Box

from .drawing import _blank, _desk_along_left_and_bottom, _ring


def test_locate_ink_drops_a_desk_frame_around_the_paper():
    ink = _ring(_blank((200, 200)), Box(0, 0, 200, 200), thickness=25)  # the desk all around
    ink = _ring(ink, Box(80, 70, 30, 50), thickness=3)
    assert pp.locate_ink(ink) == Box(80, 70, 30, 50)


def test_locate_ink_drops_a_desk_strip_beside_a_digit_near_the_page_edge():
    # A strip a tenth of the picture deep, as thick as a marker's strokes, 4 px from the digit.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(24, 70, 40, 60), thickness=12)
    assert pp.locate_ink(ink) == Box(24, 70, 40, 60)


def test_locate_ink_drops_a_desk_strip_beside_a_digit_cut_by_the_top_edge():
    # No digit away from the border here, but the strip is far thicker than the strokes.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(60, 0, 40, 60), thickness=4)
    assert pp.locate_ink(ink) == Box(60, 0, 40, 60)


def test_locate_ink_cuts_a_thin_desk_corner_off_a_digit_written_into_it():
    # The desk shows along the left side and the bottom, less deep than twice the strokes are thick
    # (a marker on a small picture), and the digit's tail runs into the bottom strip.
    ink = _ring(_blank((200, 200)), Box(60, 50, 70, 100), thickness=8)
    ink[:, :12] = True
    ink[-10:, :] = True
    cv2.line(ink.view(np.uint8), (95, 150), (95, 199), 1, 8)
    box = pp.locate_ink(ink)
    assert box.x >= 12 and box.y + box.h <= 190  # nothing of the strips
    assert box.x <= 60 and box.y <= 50 and box.x + box.w >= 130 and box.y + box.h >= 150  # the whole digit


def test_locate_ink_drops_the_thin_strip_left_behind_by_a_thick_one():
    # A grid cell cut tight at the top of a 4 (so no digit lies away from the border): the desk along
    # the left is cut off as thicker than the strokes, and the shallower strip along the bottom, which
    # meets it in the corner, is the same desk, not a bar under the digit.
    ink = _blank((136, 182))
    ink[:, :14] = True
    ink[-10:, :] = True
    canvas = ink.view(np.uint8)
    cv2.line(canvas, (110, 0), (112, 118), 1, 6)  # the 4's stem, from the top edge
    cv2.line(canvas, (80, 0), (70, 70), 1, 6)
    cv2.line(canvas, (70, 70), (130, 70), 1, 6)
    box = pp.locate_ink(ink)
    assert box.y + box.h <= 124 and box.x >= 60


@pytest.mark.parametrize("tail", [((60, 100), (5, 115)), ((95, 140), (95, 198)), ((60, 140), (5, 198))],
                         ids=["into-the-left-strip", "into-the-bottom-strip", "into-the-corner"])
def test_locate_ink_cuts_a_desk_strip_off_a_digit_written_up_to_the_page_edge(tail):
    # A stroke of the digit runs into the desk strip (20 px deep; strokes 6 px), so they are one
    # component. Without the cut the model sees an "L" beside the digit.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(60, 60, 70, 80), thickness=6)
    cv2.line(ink.view(np.uint8), *tail, 1, 6)
    box = pp.locate_ink(ink)
    assert box.x >= 20 and box.y + box.h <= 180  # nothing of the strips
    assert box.x <= 60 and box.y <= 60 and box.x + box.w >= 130 and box.y + box.h >= 140  # the whole digit


def test_locate_ink_keeps_a_tight_crops_own_stroke_along_a_side():
    # A 7 cropped at its top bar, the bar written apart from the stem: the bar lies along the top
    # side, but it is as thin as the stem, so it is the digit's, not a desk.
    ink = _blank((200, 160))
    ink[0:10, 0:160] = True
    cv2.line(ink.view(np.uint8), (150, 16), (70, 199), 1, 10)
    assert pp.locate_ink(ink) == Box(0, 0, 160, 200)
