"""Finding the one digit in an ink mask: strokes joined, specks, lines, desk and marks left out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .components import _check_mask, _Components, _components, _gap, _labels_mask, _touches_border
from .desk import _cut_desk_strips, _desk_bands, _is_background_blob
from .lines import RuleLines, _find_rule_lines, _is_line
from .marks import _without_marks
from .params import DEFAULT_PARAMS, Params
from .results import Box


def _closing_kernel(shape: tuple[int, ...], fraction: float) -> np.ndarray | None:
    """The disc joining broken strokes: ``fraction`` of the short side across (odd), None under 2 px."""
    side = int(round(min(shape[:2]) * fraction))
    if side < 2:
        return None
    side |= 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def _erase_and_join(
    ink: np.ndarray, fraction: float, *, pale: np.ndarray | None = None, params: Params
) -> tuple[RuleLines | None, np.ndarray, np.ndarray, int]:
    """Ruled lines erased from the (H, W) bool ``ink``, then strokes broken by light pencil, JPEG noise or
    the erased lines joined again (a closing ``fraction`` of the short side across).

    ``pale`` ((H, W) bool, ``Cleaned.pale``): the ink at a lower contrast, where print about as pale as the
    contrast ink needs is whole, not dotted. When it holds a ruled family (``params.lines.ruled_family`` lines
    one way or more) and more lines than ``ink`` shows, those lines are the ones erased.

    Returns ``(lines, erased, joined, side)``: the lines found (None when none), the (H, W) uint8 mask
    without them, that mask closed, and the closing's diameter in pixels (0: none, ``joined`` is ``erased``).
    """
    mask = ink.astype(np.uint8)
    lines = _find_rule_lines(mask, params=params)
    if pale is not None:
        whole = _find_rule_lines(pale.astype(np.uint8), least=params.lines.ruled_family, params=params)
        if whole is not None and (lines is None or whole.count > lines.count):
            lines = replace(whole, pale=True)
    erased = mask if lines is None else mask & (1 - lines.erase)
    kernel = _closing_kernel(mask.shape, fraction)
    if kernel is None:
        return lines, erased, erased, 0
    return lines, erased, cv2.morphologyEx(erased, cv2.MORPH_CLOSE, kernel), kernel.shape[0]


@dataclass(frozen=True)
class Located:
    """What locating one digit did, step by step (``locate_digit``).

    Attributes
    ----------
    lines : RuleLines or None
        Ruled or squared paper's lines erased first; None when there were none.
    erased : (H, W) uint8 ndarray
        The ink with those lines erased (the ink itself when there were none).
    joined : (H, W) uint8 ndarray
        ``erased`` with broken strokes joined (a closing ``join_side`` px across; ``erased`` when 0).
    join_side : int
        The closing disc's diameter in pixels; 0 when the picture is too small to need one.
    stripped : (H, W) uint8 ndarray
        ``joined`` with strips of desk along the picture's sides cut off (``joined`` itself when none).
    ink : (H, W) bool ndarray
        The components that make up the digit.
    box : Box
        Their box.
    dropped : dict of str to int
        Components left out, by kind ("speck", "ruled or grid line", "desk or shadow", "box or circle",
        "underline", "piece away from the digit"); only the kinds found.
    """

    lines: RuleLines | None
    erased: np.ndarray
    joined: np.ndarray
    join_side: int
    stripped: np.ndarray
    ink: np.ndarray
    box: Box
    dropped: dict[str, int]


def locate_digit(ink: np.ndarray, *, pale: np.ndarray | None = None, params: Params) -> Located | None:
    """Find the one digit in an ink mask ((H, W) bool, ink True); None when nothing could be a digit. ``pale``:
    the ink at a lower contrast, where pale printed lines are whole (see ``_erase_and_join``)."""
    lines, erased, joined, side = _erase_and_join(ink, params.locate.closing_fraction, pale=pale, params=params)
    stripped = _cut_desk_strips(joined, params=params)
    comps = _components(stripped)
    candidates, dropped = _digit_candidates(comps, stripped.shape, params=params)
    candidates, marks = _without_marks(comps, candidates, params=params)
    if not candidates:
        return None
    keep, box = _assemble_digit(comps, candidates, stripped.shape, params=params)
    dropped.update(marks)
    if len(candidates) > len(keep):
        dropped["piece away from the digit"] = len(candidates) - len(keep)
    return Located(
        lines=lines,
        erased=erased,
        joined=joined,
        join_side=side,
        stripped=stripped,
        ink=_labels_mask(comps, keep),
        box=box,
        dropped=dropped,
    )


def locate_blob(ink: np.ndarray, *, params: Params) -> Located | None:
    """The textbook's locating, for a clean picture: all its ink but specks and neighbours' bits.

    ``ink``: (H, W) bool. None when there is no ink. The picture was judged clean (``clean_reason``)
    because no piece of ink lies away from the digit, so every piece that is not a speck belongs to it
    (a 5's bar, a faint stroke broken in two, a piece cut by the edge of a tight crop), unless it is a
    bit of a neighbouring digit: cut by the picture's edge, clear of the digit's largest piece and
    smaller than ``params.locate.piece_min_share_at_border`` of it. Nothing is erased, joined or cut.
    """
    mask = ink.astype(np.uint8)
    comps = _components(mask)
    sizeable = [i for i in range(1, comps.count) if comps.area(i) >= params.locate.min_speck_area]
    pieces = _drop_specks(comps, sizeable, params=params)
    if not pieces:
        return None
    main = max(pieces, key=comps.area)
    small = params.locate.piece_min_share_at_border * comps.area(main)
    keep = [
        i for i in pieces
        if i == main
        or not _touches_border(comps.box(i), mask.shape)
        or comps.area(i) >= small
        or _gap(comps.box(main), comps.box(i)) == 0
    ]
    box = comps.box(main)
    for i in keep:
        box = box.union(comps.box(i))
    dropped = {"speck": comps.count - 1 - len(pieces), "piece of a neighbour cut by the edge": len(pieces) - len(keep)}
    return Located(lines=None, erased=mask, joined=mask, join_side=0, stripped=mask, ink=_labels_mask(comps, keep),
                   box=box, dropped={kind: count for kind, count in dropped.items() if count})


def _digit_candidates(
    comps: _Components, shape: tuple[int, ...], *, params: Params
) -> tuple[list[int], dict[str, int]]:
    """Components that may belong to the digit: no specks, and no lines or desk/shadow regions
    unless nothing else could be the digit (a tight crop of a "1" is a long thin line, a tight crop
    of a thick "0" a big border-touching blob); and how many of each kind were left out."""
    candidates = [i for i in range(1, comps.count) if comps.area(i) >= params.locate.min_speck_area]
    reference = _reference_stroke_width(comps, candidates, shape, params=params)
    bands = _desk_bands(comps, candidates, shape, reference, params=params)
    lines, blobs, sure_blobs, plain = [], [], [], []
    for i in candidates:
        if i in bands:
            sure_blobs.append(i)
            continue
        if _is_line(comps, i, shape, params=params):
            lines.append(i)
            continue
        blob, sure = _is_background_blob(comps, i, shape, reference, params=params)
        if sure:
            sure_blobs.append(i)
        elif blob:
            blobs.append(i)
        else:
            plain.append(i)
    biggest_plain = max((comps.area(i) for i in plain), default=0)
    longest_plain = max((max(comps.box(i).w, comps.box(i).h) for i in plain), default=0)
    kept_blobs = [
        i for i in blobs if longest_plain < params.locate.significant_share * max(comps.box(i).w, comps.box(i).h)
    ]
    kept_lines = [i for i in lines if biggest_plain < params.lines.keep_share * comps.area(i)]
    kept = _drop_specks(comps, plain + kept_lines + kept_blobs, params=params) or _drop_specks(
        comps, sure_blobs, params=params
    )
    left = set(kept)
    dropped = {
        "speck": comps.count - 1 - len(candidates) + sum(i not in left for i in plain),
        "ruled or grid line": sum(i not in left for i in lines),
        "desk or shadow": sum(i not in left for i in blobs + sure_blobs),
    }
    return kept, {kind: count for kind, count in dropped.items() if count}


def _assemble_digit(
    comps: _Components, candidates: list[int], shape: tuple[int, ...], *, params: Params
) -> tuple[list[int], Box]:
    """The main component (the largest away from the border, if one is big enough: shadows and
    neighbours' fragments touch the border) plus the pieces near it; returns labels and their box."""
    largest = max(comps.area(i) for i in candidates)
    interior = [
        i
        for i in candidates
        if not _touches_border(comps.box(i), shape) and comps.area(i) >= params.locate.main_min_share * largest
    ]
    main = max(interior or candidates, key=comps.area)
    main_box = comps.box(main)
    size = max(main_box.w, main_box.h)
    keep, box = [main], main_box
    for i in candidates:
        at_border = _touches_border(comps.box(i), shape)
        min_share = params.locate.piece_min_share_at_border if at_border else params.locate.piece_min_share
        if i == main or comps.area(i) < min_share * comps.area(main):
            continue
        near = params.locate.near_factor_at_border if at_border else params.locate.near_factor
        if _gap(main_box, comps.box(i)) <= near * size:
            keep.append(i)
            box = box.union(comps.box(i))
    return keep, box


def _reference_stroke_width(
    comps: _Components, indices: list[int], shape: tuple[int, ...], *, params: Params
) -> float | None:
    """Stroke width of the largest sizeable component away from the border (None if there is none)."""
    sizeable = params.locate.significant_side * min(shape[:2])
    interior = [
        i
        for i in indices
        if not _touches_border(comps.box(i), shape) and max(comps.box(i).w, comps.box(i).h) >= sizeable
    ]
    if not interior:
        return None
    return comps.stroke_width(max(interior, key=comps.area))


def _drop_specks(comps: _Components, indices: list[int], *, params: Params) -> list[int]:
    """Indices of the components that are not specks (tiny against the largest of them)."""
    if not indices:
        return []
    largest = max(comps.area(i) for i in indices)
    floor = max(params.locate.min_speck_area, params.locate.speck_share_of_largest * largest)
    return [i for i in indices if comps.area(i) >= floor]


def locate_ink(ink: np.ndarray, *, params: Params | None = None) -> Box | None:
    """Find the digit in an ink mask.

    Parameters
    ----------
    ink : (H, W) bool ndarray
        Ink pixels (ink bright after ``auto_invert``, ideally cleaned by ``clean_ink``). Not modified.

    Returns
    -------
    box : Box or None
        The digit's box, or None when there is no ink. Ruled and grid lines are erased (long,
        straight, thinner than the strokes, reaching well beyond the digit; strokes crossing them
        stay whole), strokes broken by light pencil joined (a closing scaled to the image), specks
        dropped, desk/shadow regions dropped (a desk showing along a side of the picture too, when
        there is a digit beside it), a box, circle or underline drawn round the digit dropped
        (``_enclosers``, ``_underlines``), and fragments of neighbouring digits cut by the border
        passed over in favour of the largest component away from the border; nearby pieces (a 5's
        detached bar) are added to the box.
    """
    params = DEFAULT_PARAMS if params is None else params
    located = locate_digit(_check_mask(ink, "ink"), params=params)
    return None if located is None else located.box
