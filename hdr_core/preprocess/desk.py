"""The desk or a shadow beyond the page's edge: bands along a side, strips joined to a digit, wedges, blobs."""

from __future__ import annotations

import cv2
import numpy as np

from .components import _Components, _stroke_width, _touches_border
from .params import Params


def _is_background_blob(
    comps: _Components, index: int, shape: tuple[int, ...], stroke_width: float | None = None, *, params: Params
) -> tuple[bool, bool]:
    """Whether a component is a big border-touching region (desk, shadow, page edge), not strokes.

    Returns ``(blob, sure)``. It is a blob when it is thick for its size (2 * area / perimeter over
    a fifth of its long side; strokes, even a thick painted 0 cropped tight, stay below) or far
    thicker than the digit's strokes (``stroke_width``, the largest interior component's). The second
    test is ``sure``: a desk frame around the paper is thin for its size but 20x thicker than a pen.
    """
    box, area = comps.box(index), comps.area(index)
    height, width = shape[:2]
    if not _touches_border(box, shape) or area < params.desk.blob_share * height * width:
        return False, False
    thickness = comps.stroke_width(index)
    sure = stroke_width is not None and thickness >= params.desk.blob_stroke_ratio * stroke_width
    return sure or thickness >= params.desk.blob_thickness * max(box.w, box.h), sure


def _desk_bands(
    comps: _Components, indices: list[int], shape: tuple[int, ...], reference: float | None, *, params: Params
) -> list[int]:
    """The components that lie along a side of the picture beside a digit: the desk or a shadow
    beyond the page's edge (see ``params.desk.band_side_share``). ``reference``: the stroke width of the digit
    away from the border, if there is one."""
    height, width = comps.labels.shape
    side_lengths = np.array([width, width, height, height])[:, None]
    lying = (comps.border_counts >= params.desk.band_side_share * side_lengths).any(axis=0)
    along = [i for i in indices if lying[i]]
    sizeable = params.locate.significant_side * min(shape[:2])
    others = [i for i in indices if i not in along and max(comps.box(i).w, comps.box(i).h) >= sizeable]
    if not along or not others:
        return []
    if reference is not None:
        return along
    thinnest = params.desk.band_stroke_ratio * comps.stroke_width(max(others, key=comps.area))
    return [i for i in along if comps.stroke_width(i) >= thinnest]


def _desk_wedges(
    comps: _Components,
    indices: list[int],
    stroke_width: float,
    size: float,
    sheet_contact: np.ndarray | None = None,
    *,
    params: Params,
) -> set[int]:
    """The components of a whole number's picture that lie along its edge and are far thicker
    (``stroke_width``) or longer (``size``, the long side) than the digits away from the edge: the
    desk's corners and strips beside a turned sheet, and the sheet's edge (see ``params.desk.wedge_contact_share``).
    ``sheet_contact`` (see ``_sheet_edge_contact``) adds the outline of a sheet found on a desk to the
    edge: desk just beyond the sheet, brighter than the rest, can fall inside that outline. The edge
    of such a crop is the sheet's, so a component flush with it all along is the sheet's shaded rim,
    however thin."""
    contact = comps.border_counts.sum(axis=0)
    if sheet_contact is not None:
        contact = contact + sheet_contact
    wedges = set()
    for i in indices:
        box = comps.box(i)
        long_side = max(box.w, box.h)
        if contact[i] < params.desk.wedge_contact_share * long_side:
            continue
        width = comps.stroke_width(i)
        flush = contact[i] >= params.desk.edge_flush_share * long_side
        if long_side >= params.desk.wedge_length_ratio * size or width >= params.desk.wedge_stroke_ratio * stroke_width:
            wedges.add(i)
        elif flush and (sheet_contact is not None or width <= params.desk.edge_thin_ratio * stroke_width):
            wedges.add(i)  # the sheet's edge: flush with the picture's all along, and thinner than any stroke
        elif _fills_corner(comps, i, params=params):
            wedges.add(i)
    return wedges


def _fills_corner(comps: _Components, index: int, *, params: Params) -> bool:
    """Whether component ``index`` is a solid right triangle in a corner of the picture, its legs
    along the two sides there: the desk beyond a sheet's edge that crosses the corner
    (see ``params.desk.corner_solidity``)."""
    height, width = comps.labels.shape
    box = comps.box(index)
    top, bottom, left, right = comps.border_counts[:, index]
    across = top if box.y == 0 else bottom if box.y + box.h == height else 0
    down = left if box.x == 0 else right if box.x + box.w == width else 0
    if across < params.desk.edge_flush_share * box.w or down < params.desk.edge_flush_share * box.h:
        return False
    area = comps.area(index)
    if not params.desk.corner_fill[0] <= area / (box.w * box.h) <= params.desk.corner_fill[1]:
        return False
    hull = cv2.convexHull(cv2.findNonZero((comps.labels[box.slices] == index).astype(np.uint8)))
    hull_pixels = cv2.contourArea(hull) + cv2.arcLength(hull, True) / 2 + 1  # Pick: the pixels, not their centres' area
    return area >= params.desk.corner_solidity * hull_pixels


def _cut_desk_strips(mask: np.ndarray, *, params: Params) -> np.ndarray:
    """Cut strips of desk along the sides of the picture off the digit that touches them.

    A digit written up to the page's edge joins the desk beyond it into one component, which the
    desk-band rule (``_desk_bands``) then cannot tell from the digit. A side holds such a strip when
    ink covers ``params.desk.band_side_share`` of it to an even depth (``params.desk.strip_even_share``
    of its rows within
    ``params.desk.strip_depth_slack`` times the median) and the strip's ink reaches well beyond that depth (a
    digit joined to it, or a strip along a neighbouring side). It is cut, a little deeper than it
    runs, when its depth is at least ``params.desk.band_stroke_ratio`` times the width of the strokes left once
    every such strip is cleared (a tight crop's "1" along the edge is as thin as itself). Strips along
    two neighbouring sides that meet in their corner are the desk beyond a page's corner, however
    thin: a digit's strokes do not run the whole length of two sides at an even depth. Both are cut
    when a digit is joined to them or one of them is cut anyway (the other would stay behind as a
    bar beside the digit), and erased whole otherwise (a digit close to them keeps its edge).
    Returns ``mask`` itself when nothing is cut.

    Parameters
    ----------
    mask : (H, W) uint8 0/1 ndarray
        Ink after ``_erase_and_join``. Not modified.
    """
    strips = []  # (turns, depth, cut, its labels): the side is the left-hand side of np.rot90(mask, turns)
    all_labels = None
    for turns in range(4):
        view = np.rot90(mask, turns)
        at_side = view[:, 0] > 0
        if at_side.mean() < params.desk.band_side_share:
            continue
        runs = np.where(view.all(axis=1), view.shape[1], np.argmin(view, axis=1))[at_side]
        depth = float(np.median(runs))
        if np.mean(runs <= params.desk.strip_depth_slack * depth + 2) < params.desk.strip_even_share:
            continue  # a wedge or a ragged shadow, not a strip of even depth
        cut = int(np.ceil(params.desk.strip_depth_slack * depth)) + 2
        if all_labels is None:
            all_labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[1]
        labels = np.rot90(all_labels, turns)
        own = np.unique(labels[:, 0][at_side])
        joined = np.isin(labels[:, cut:], own)
        if joined.any() and np.flatnonzero(joined.any(axis=0)).max() >= cut:
            strips.append((turns, depth, cut, own))  # ink beyond twice the cut is joined to the strip
    if not strips:
        return mask
    out = mask.copy()
    for turns, _, cut, _ in strips:
        np.rot90(out, turns)[:, :cut] = 0  # a view: clears the side in ``out``
    if not out.any():
        return mask
    width = _stroke_width(out > 0)
    thick = {turns for turns, depth, _, _ in strips if depth >= params.desk.band_stroke_ratio * width}
    holding = {turns for turns, _, _, labels in strips if np.isin(labels, all_labels[out > 0]).any()}  # a digit
    last_row, last_col = mask.shape[0] - 1, mask.shape[1] - 1
    corners = {(0, 1): (0, 0), (1, 2): (0, last_col), (2, 3): (last_row, last_col), (0, 3): (last_row, 0)}
    sides = {strip[0] for strip in strips}
    cut_sides, loose_sides = set(thick), set()
    for pair, corner in corners.items():
        if set(pair) <= sides and mask[corner]:
            if set(pair) & (thick | holding):
                cut_sides |= set(pair)
            else:
                loose_sides |= set(pair)
    if not cut_sides | loose_sides:
        return mask
    out = mask.copy()
    for turns, _, cut, labels in strips:
        if turns in cut_sides:
            np.rot90(out, turns)[:, :cut] = 0
        elif turns in loose_sides:
            out[np.isin(all_labels, labels)] = 0  # the strips' labels: ink at the side, never 0
    return out
