"""Marks round the digits: answer boxes, circles and underlines, left out of the ink."""

from __future__ import annotations

import cv2
import numpy as np

from .components import _Components, _labels_mask, _shrunk_mask
from .lines import _is_straight
from .params import Params
from .results import Box


def _enclosers(comps: _Components, indices: list[int], *, numbers: bool = False, params: Params) -> set[int]:
    """Those of ``indices`` that enclose others: a box or circle drawn or printed round the digits.

    A component encloses another when ``params.marks.enclosed_share`` of the other's pixels lie in its holes. It
    frames a digit when one of those is at least ``params.marks.enclosed_min_side`` of the frame's long side long,
    and ``params.marks.enclosed_min_strokes`` times its own stroke width (a dotted 0, or an 8 with specks in a
    loop, frames nothing: the specks may span the loop, but each is small).

    A frame that is not straight-sided (a circle, not a box) may be a loop of a digit: it must hold a
    digit ``params.marks.circle_side`` of its size long, clear of it by ``params.marks.circle_clearance``
    of the hole's short
    side; or, when reading ``numbers``, two or more digits (a circled number fills its oval).
    """
    frames = set()
    for i in indices:
        box = comps.box(i)
        if box.w < 3 or box.h < 3:
            continue
        own = (comps.labels[box.slices] == i).astype(np.uint8)
        outside = np.pad(own, 1)  # flood the background from a frame of background round the box
        flood = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
        cv2.floodFill(outside, flood, (0, 0), 2)
        holes = outside[1:-1, 1:-1] == 0
        if not holes.any():
            continue
        inside = np.bincount(comps.labels[box.slices][holes], minlength=comps.count)
        enclosed = [j for j in indices if j != i and inside[j] >= params.marks.enclosed_share * comps.area(j)]
        if not enclosed:
            continue
        size = max(box.w, box.h)
        sides = {j: max(comps.box(j).w, comps.box(j).h) for j in enclosed}
        digits = [
            j
            for j in enclosed
            if sides[j] >= params.marks.enclosed_min_side * size
            and sides[j] >= params.marks.enclosed_min_strokes * comps.stroke_width(j)
        ]
        if not digits:
            continue
        if numbers and len(digits) >= 2:
            frames.add(i)
            continue
        ring, scale = _shrunk_mask(
            own, params.marks.frame_work_side
        )  # a big photo's frame is slow to measure at full size
        if not _is_straight(ring > 0, params=params):
            side = max(sides[j] for j in digits)
            hole = min(cv2.boundingRect(holes.astype(np.uint8))[2:])
            held = np.zeros(comps.count, np.uint8)
            held[digits] = 1
            inner, _ = _shrunk_mask(held[comps.labels[box.slices]], params.marks.frame_work_side)
            clear = float(cv2.distanceTransform(1 - ring, cv2.DIST_L2, 3)[inner > 0].min()) / scale
            if (
                not params.marks.circle_side[0] * size <= side <= params.marks.circle_side[1] * size
                or clear < params.marks.circle_clearance * hole
            ):
                continue
        frames.add(i)
    return frames


def _underlines(comps: _Components, indices: list[int], *, numbers: bool = False, params: Params) -> set[int]:
    """Those of ``indices`` that underline the ink above them: a straight stroke, much wider than tall,
    with nothing beside it in its columns (a 2's base cut off by a shadow's edge has the rest of the 2
    beside it; a 7's or a 4's bar, the stem), below its row of ink (see ``params.marks.underline_anchor``),
    and about as wide as the row or wider.

    It must lie clear of that row, in every column they share, by ``params.marks.underline_gap`` of the row's
    height: a 2's or a 1's detached foot is written closer. When reading ``numbers``, a line under
    ``params.marks.underline_close_digits`` or more digits side by side may lie closer (a foot is under one
    digit, and a student underlines a number close under it)."""
    boxes = {i: comps.box(i) for i in indices}
    lines = set()
    for i, box in boxes.items():
        if box.w < params.marks.underline_elongation * box.h:
            continue
        over = [j for j, b in boxes.items() if j != i and j not in lines and b.x < box.x + box.w and box.x < b.x + b.w]
        if any(boxes[j].y < box.y + box.h and boxes[j].y + boxes[j].h > box.y for j in over):
            continue  # something beside it
        above = [j for j in over if boxes[j].y + boxes[j].h <= box.y]
        if not above:
            continue
        biggest = max(comps.area(j) for j in above)
        sizeable = [j for j in above if comps.area(j) >= params.marks.underline_anchor * biggest]
        anchor = boxes[max(sizeable, key=lambda j: boxes[j].y + boxes[j].h)]  # the lowest sizeable piece over it
        row = [j for j in above if boxes[j].y < anchor.y + anchor.h and boxes[j].y + boxes[j].h > anchor.y]
        rest = boxes[row[0]]
        for j in row[1:]:
            rest = rest.union(boxes[j])
        needed = params.marks.underline_gap * rest.h
        if numbers and _side_by_side([boxes[j] for j in row if j in sizeable]) >= params.marks.underline_close_digits:
            needed = 0  # under several digits: lying below them (and apart from them) is enough
        if (
            box.w >= params.marks.underline_width * rest.w
            and sum(comps.area(j) for j in row) >= params.marks.underline_row_ink * comps.area(i)
            and _clearance(comps, i, row) >= needed
            and _is_straight(comps.labels[box.slices] == i, params=params)
        ):
            lines.add(i)
    return lines


def _side_by_side(boxes: list[Box]) -> int:
    """How many groups the ``boxes`` make when those sharing a column are grouped: digits side by side."""
    groups, right = 0, -1
    for box in sorted(boxes, key=lambda b: b.x):
        if box.x >= right:
            groups += 1
        right = max(right, box.x + box.w)
    return groups


def _clearance(comps: _Components, line: int, row: list[int]) -> int:
    """Rows of paper between component ``line`` and the ink of ``row`` over it: the fewest over the
    columns they share (a slanted line is measured where it is, not by its box)."""
    box = comps.box(line)
    labels = comps.labels[:, box.x : box.x + box.w]
    own = labels[box.y : box.y + box.h] == line
    top = np.where(own.any(axis=0), box.y + own.argmax(axis=0), -1)  # the line's first row in each column
    ink = _labels_mask(comps, row)[: box.y + box.h, box.x : box.x + box.w]
    bottom = np.where(ink.any(axis=0), ink.shape[0] - 1 - ink[::-1].argmax(axis=0), -1)  # the row's last row
    shared = (top >= 0) & (bottom >= 0)
    if not shared.any():
        return comps.labels.shape[0]  # more than any gap could be
    return int((top - bottom - 1)[shared].min())


def _without_marks(
    comps: _Components, indices: list[int], *, numbers: bool = False, params: Params
) -> tuple[list[int], dict[str, int]]:
    """``indices`` less the boxes, circles and underlines drawn round the digits (see ``_enclosers``,
    ``_underlines``), all of them when nothing else would be left; and how many of each kind were left out
    (``{"box or circle": n, "underline": m}``, only the kinds found)."""
    frames = _enclosers(comps, indices, numbers=numbers, params=params)
    kept = [i for i in indices if i not in frames]
    lines = _underlines(comps, kept, numbers=numbers, params=params)
    kept = [i for i in kept if i not in lines]
    if not kept:
        return indices, {}
    found = {"box or circle": len(frames), "underline": len(lines)}
    return kept, {kind: count for kind, count in found.items() if count}
