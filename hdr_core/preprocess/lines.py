"""Ruled and squared paper's lines: found (level or at a tilt) and erased without cutting the strokes."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .components import _Components, _components, _labels_mask, _shrunk_mask, _stroke_width
from .loading import MIN_IMAGE_SIDE
from .params import Params
from .results import Box


@dataclass(frozen=True)
class RuleLines:
    """Ruled or squared paper's lines found in an ink mask (``_find_rule_lines``).

    Attributes
    ----------
    erase : (H, W) uint8 ndarray
        1 on the lines' own thin pixels (not where strokes cross them).
    count : int
        How many lines were found running the more common way.
    tilt : float or None
        The angle in degrees the picture was levelled by to find them; None when they were level.
    pale : bool
        Found among the pixels standing out less than ink must (``Cleaned.pale``): print about as pale as
        that level, which the ink's own contrast left dotted.
    """

    erase: np.ndarray
    count: int
    tilt: float | None
    pale: bool = False

    def reason(self) -> str:
        """One sentence for the trace: what was erased, and the evidence."""
        tilted = "" if self.tilt is None else f", photographed at a tilt of {abs(self.tilt):.0f}°"
        lines = "line" if self.count == 1 else "lines"
        pale = (
            "; the print is about as pale as the contrast ink needs, which left it dotted, so the lines were "
            "found among the paler pixels"
            if self.pale
            else ""
        )
        return (
            f"{self.count} ruled {lines} erased: straight, spanning the picture beyond the digit and thinner "
            f"than its strokes{tilted}{pale}; strokes crossing them stay whole."
        )


def _remove_rule_lines(mask: np.ndarray, *, params: Params) -> np.ndarray:
    """``mask`` ((H, W) uint8 0/1) with ruled or grid lines erased (``_find_rule_lines``); ``mask``
    itself when there are no lines."""
    found = _find_rule_lines(mask, params=params)
    return mask if found is None else mask & (1 - found.erase)


def _find_rule_lines(mask: np.ndarray, *, least: int = 1, params: Params) -> RuleLines | None:
    """Ruled or grid lines that cross the digit (lined paper, squared paper); None when there are none.

    A line is a straight run of ink spanning most of the picture (slightly tilted lines in photos
    are caught by thickening the mask across the line first; a picture photographed at a tilt is
    levelled by its lines' own tilt), thinner than the strokes, that reaches well beyond the rest of
    the ink on both ends; the stem of a "1" or the bar of a "7" in a tight crop does not: the digit
    ends where they end, and they are as thick as its other strokes. Only the line's own thin pixels
    are erased, so strokes crossing it stay whole; where squared paper's lines cross, what is left
    on its own goes too.
    """
    height, width = mask.shape
    if (
        min(height, width) < 2 * MIN_IMAGE_SIDE
        or max(mask.any(axis=0).mean(), mask.any(axis=1).mean()) < params.lines.rule_span
    ):
        return None  # no ink spans the picture either way: no line
    # Photographed at a tilt, a grid's lines are looked for on the picture levelled by their tilt:
    # levelled only by thickening, the crossing lines would join pieces of several lines into
    # staircases that span the picture.
    tilt = _rule_tilt(mask, params=params)
    if tilt is None:
        found = _rule_lines_to_erase(mask, least=least, params=params)
    else:
        turned, exact, within, back = _levelled(mask, tilt)
        found = _rule_lines_to_erase(turned, within, exact, least=max(least, params.lines.tilted_lines),
                                     params=params)
        if found is not None:  # back to the picture; turning there and back moves a pixel by up to one,
            # so the lines are widened by one, but not into what stays of the strokes
            erase, count = found
            size = (width, height)
            kept = cv2.warpAffine(exact & (1 - erase), back, size, flags=cv2.INTER_NEAREST)
            erase = (
                cv2.dilate(cv2.warpAffine(erase, back, size, flags=cv2.INTER_NEAREST), np.ones((3, 3), np.uint8))
                & mask
                & (1 - kept)
            )
            found = erase, count
    return None if found is None else RuleLines(erase=found[0], count=found[1], tilt=tilt)


def _rule_lines_to_erase(
    mask: np.ndarray,
    within: np.ndarray | None = None,
    exact: np.ndarray | None = None,
    *,
    least: int = 1,
    params: Params,
) -> tuple[np.ndarray, int] | None:
    """``(erase, count)``: (H, W) uint8, the pixels of level and upright rule lines in ``mask`` that are not the digit's
    own strokes (see ``_find_rule_lines``), and how many lines run the more common way; None when there
    are fewer than ``least`` such lines
    either way.
    For a picture turned into a larger frame (``_levelled``), ``within`` ((H, W) bool) is the part of
    the frame it covers and ``exact`` the mask turned pixel for pixel, on which strokes and lines are
    measured."""
    height, width = mask.shape
    found = []
    for horizontal in (True, False):
        reach = None if within is None else np.count_nonzero(within, axis=1 if horizontal else 0)
        lines, thin = _rule_lines(mask, horizontal=horizontal, reach=reach, params=params)
        if thin.any():
            found.append((_line_components(lines, horizontal, params=params), thin, horizontal))
    if not found:
        return None
    exact = mask if exact is None else exact
    rest = exact.copy()
    for _, thin, _ in found:
        rest &= 1 - thin
    longest_line = max(lines.area(i) for lines, _, _ in found for i in range(1, lines.count))
    if np.count_nonzero(rest) < params.lines.keep_share * longest_line:
        return None  # the "lines" are all there is: a tight crop of a 1, not ruled paper
    edge = None
    if within is not None:  # the picture's own edge in the larger frame
        inner = cv2.erode(
            within.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0
        )
        edge = within & (inner == 0)
    ink_box, main_ink = _main_ink(
        rest, edge, sliver=max(params.lines.edge_sliver_min, round(params.lines.edge_sliver * min(height, width)))
    )
    stroke_width = _stroke_width(main_ink)
    erase, erased = np.zeros_like(mask), [0, 0]
    # Each way separately: squared paper's lines cross, and a whole grid would be one "line" as
    # thick as its area over its width.
    for lines, thin, horizontal in found:
        digit_parts = []
        # what the other way's lines leave: a box's sides that are not lines themselves
        sides = exact.copy()
        for _, other, way in found:
            if way != horizontal:
                sides &= 1 - other
        depths, ruled_depth = _line_depths(lines, exact, horizontal), 0.0
        extents = lines.stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT]
        long = [
            i
            for i in range(1, lines.count)
            if extents[i] >= params.lines.run_fraction * (width if horizontal else height)
        ]
        if len(long) >= params.lines.ruled_family and _in_step(lines, long, depths, horizontal, params=params):
            # Printed lines are alike: a line no deeper than most of them is one of them, even when a
            # pencil's strokes are as fine (the digit's own straight strokes are rarely as thin as
            # the print and never in step with it).
            ruled_depth = params.lines.ruled_depth_slack * float(np.median(depths[long]))
        # A line found in pieces (stepping aside where the paper curls, a staircase on a levelled photo) is
        # still one line: its pieces in one band (``_bands``) are judged by where the band starts and ends,
        # and counted once.
        bands = _bands(lines, horizontal)
        counted = set()
        for i in range(1, lines.count):
            box = bands[i]
            if horizontal:
                start, end, ink_start, ink_end, length = box.x, box.x + box.w, ink_box.x, ink_box.x + ink_box.w, width
                away = max(ink_box.y - box.y - box.h, box.y - ink_box.y - ink_box.h) / height
            else:
                start, end, ink_start, ink_end, length = box.y, box.y + box.h, ink_box.y, ink_box.y + ink_box.h, height
                away = max(ink_box.x - box.x - box.w, box.x - ink_box.x - ink_box.w) / width
            if depths[i] > max(params.lines.thickness_share * stroke_width, ruled_depth):
                digit_parts.append(i)  # as thick as the strokes: part of the digit
            elif _turns_corners(lines, i, sides, within, horizontal, depths[i], params=params):
                digit_parts.append(i)  # a box's side (a form's row of boxes): its upright sides are no lines
                # and would be left as strokes of their own, so the box is left whole for the marks stage
            elif (
                away <= params.lines.beyond_ink
                and min(ink_start - start, end - ink_end) / length < params.lines.beyond_ink
            ):
                digit_parts.append(i)  # ends with the digit: part of it (unless well away from it: a tilted
                # line across a corner of the picture is short)
            elif end - start >= params.lines.run_fraction * length:
                counted.add(box)  # a line, not a bit of one
        erased[horizontal] = len(counted)
        erase |= thin & ~_labels_mask(lines, digit_parts) if digit_parts else thin
    if len(found) == 2 and erase.any():
        erase |= _left_at_crossings(mask, erase, found[0][0], found[1][0])
    return (erase, max(erased)) if max(erased) >= least and erase.any() else None


def _turns_corners(
    lines: _Components,
    index: int,
    exact: np.ndarray,
    within: np.ndarray | None,
    horizontal: bool,
    depth: float,
    *,
    params: Params,
) -> bool:
    """Whether line ``index`` of ``lines`` ends inside the picture and turns a corner at both ends in ``exact``
    ((H, W) uint8, less the other way's lines: a box all of whose sides are lines is erased whole): it stops
    ``params.lines.corner_inside`` of its length short of the picture's edge (of ``within`` in a levelled
    frame), and ink runs across it there, up or down from it, for ``params.lines.corner_run`` of its length
    (and three times its ``depth``) or more. A box's sides do (a form's row of boxes spans the picture like a
    ruled line, its short upright sides do not); a ruled or grid line runs off the picture, or stops short on
    one side at a margin."""
    box = lines.box(index)
    inside = np.ones(exact.shape, bool) if within is None else within
    labels, ink = (lines.labels, exact) if horizontal else (lines.labels.T, exact.T)
    inside = inside if horizontal else inside.T
    x, y, w, h = (box.x, box.y, box.w, box.h) if horizontal else (box.y, box.x, box.h, box.w)
    own = (labels[y : y + h, x : x + w] == index) & (ink[y : y + h, x : x + w] > 0)
    cols = np.flatnonzero(own.any(axis=0))
    if cols.size == 0:
        return False
    length = cols[-1] - cols[0] + 1
    needed = max(params.lines.corner_run * length, 3 * depth)
    reach = max(1, round(depth))
    margin = max(1, round(params.lines.corner_inside * length))
    for end, outward in ((cols[0], -1), (cols[-1], 1)):
        row = y + int(np.flatnonzero(own[:, end]).mean())
        beyond = x + end + outward * margin
        if not 0 <= beyond < ink.shape[1] or not inside[row, beyond]:
            return False  # runs (nearly) off the picture
        strip = ink[:, max(0, x + end - reach) : x + end + reach + 1].any(axis=1)
        gaps = np.flatnonzero(~strip)  # the run of ink through the line's row, up and down
        top = gaps[gaps < row].max(initial=-1) + 1
        bottom = gaps[gaps > row].min(initial=len(strip)) - 1
        if bottom - top + 1 - depth < needed:
            return False
    return True


def _in_step(lines: _Components, long: list[int], depths: np.ndarray, horizontal: bool, *, params: Params) -> bool:
    """Whether the ``long`` lines of ``lines`` lie apart like printed paper's: the median distance between
    neighbours at least ``params.lines.ruled_spacing`` times their median depth (a bold digit's bars, a 3's
    arcs in a tight crop, are a few strokes apart)."""
    across = np.sort(lines.centroids[long, 1 if horizontal else 0])
    return bool(np.median(np.diff(across)) >= params.lines.ruled_spacing * float(np.median(depths[long])))


def _bands(lines: _Components, horizontal: bool) -> list[Box]:
    """For each of ``lines``' components (index 0, the background, included), the box of its band: it and
    every component lying across the same rows (columns, for upright lines) as it, or as one that does, or
    less than its own depth beside them (a line bent where the paper curls steps aside)."""
    lo = lines.stats[:, cv2.CC_STAT_TOP if horizontal else cv2.CC_STAT_LEFT]
    hi = lo + lines.stats[:, cv2.CC_STAT_HEIGHT if horizontal else cv2.CC_STAT_WIDTH]
    boxes = [lines.box(0)] * lines.count
    order = sorted(range(1, lines.count), key=lambda i: lo[i])
    group: list[int] = []
    for i in [*order, None]:
        if group and (i is None or lo[i] >= max(hi[j] for j in group) + hi[i] - lo[i]):
            band = lines.box(group[0])
            for j in group[1:]:
                band = band.union(lines.box(j))
            for j in group:
                boxes[j] = band
            group = []
        if i is not None:
            group.append(i)
    return boxes


def _line_components(lines: np.ndarray, horizontal: bool, *, params: Params) -> _Components:
    """The lines of ``lines`` ((H, W) uint8, from ``_rule_lines``) as components, each bridged along over gaps
    of ``params.lines.line_gap`` of the picture's length, as they were found: a dotted line is one line."""
    along = _bridging(lines.shape[1 if horizontal else 0], params=params)
    size = (along, 1) if horizontal else (1, along)  # OpenCV sizes are (width, height)
    return _components(cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, size)))


def _bridging(length: float, *, params: Params) -> int:
    """How long a kernel along a line of ``length`` pixels bridges the gaps ``params.lines.line_gap`` allows."""
    return 2 * max(1, round(params.lines.line_gap * length)) + 1


def _left_at_crossings(mask: np.ndarray, erase: np.ndarray, level: _Components, upright: _Components) -> np.ndarray:
    """(H, W) uint8: what squared paper's lines leave where they cross. Each is deeper across there than a
    line, so neither way erases it; what is left there on its own, not joined to a stroke, goes too."""
    crossings = (level.labels > 0) & (upright.labels > 0)
    left = _components(mask & (1 - erase))
    inside = np.bincount(left.labels[crossings], minlength=left.count)
    alone = inside == left.stats[:, cv2.CC_STAT_AREA]
    alone[0] = False
    return alone[left.labels].astype(np.uint8)


def _line_depths(lines: _Components, exact: np.ndarray, horizontal: bool) -> np.ndarray:
    """(n,) float64: each line's typical depth across, in pixels of ``exact`` ((H, W) uint8), the median
    over its length (where strokes or other lines cross it, it is deeper); 0 for the background."""
    depths = np.zeros(lines.count)
    for i in range(1, lines.count):
        box = lines.box(i)
        line = (lines.labels[box.slices] == i) & (exact[box.slices] > 0)
        depths[i] = np.median(np.count_nonzero(line, axis=0 if horizontal else 1))
    return depths


def _rule_tilt(mask: np.ndarray, *, params: Params) -> float | None:
    """The angle in degrees (counter-clockwise, as ``cv2.getRotationMatrix2D`` takes it) that levels
    the picture's long straight lines, when at least two of them agree on it (ruled or squared paper
    photographed at a tilt); None when there are no such lines, or they are level already.
    """
    small, _ = _shrunk_mask(mask, params.lines.tilt_work_side)
    side = min(small.shape)
    if side < MIN_IMAGE_SIDE:
        return None
    segments = cv2.HoughLinesP(
        small, 1, np.pi / 180, threshold=max(8, side // 4), minLineLength=side / 2, maxLineGap=max(2, side // 50)
    )
    if segments is None:
        return None
    x0, y0, x1, y1 = segments.reshape(-1, 4).T.astype(np.float64)  # (N, 1, 4) in OpenCV 4, (N, 4) in 5
    off_axis = (np.degrees(np.arctan2(y1 - y0, x1 - x0)) + 45) % 90 - 45  # from the nearest axis, clockwise
    off_axis = off_axis[(np.abs(off_axis) >= params.lines.min_tilt) & (np.abs(off_axis) <= params.lines.max_tilt)]
    if len(off_axis) < 2:
        return None
    agreeing = off_axis[np.abs(off_axis - np.median(off_axis)) <= params.lines.tilt_agree]
    return float(np.median(agreeing)) if len(agreeing) >= 2 else None


def _levelled(mask: np.ndarray, tilt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``mask`` turned by ``tilt`` degrees about its centre into a frame large enough to hold all of it:
    ``(turned, exact, within, back)``: the turned (h, w) uint8 mask with its thin lines kept whole
    (a pixel wider), the same turned pixel for pixel (as wide as they were, but gappy), the (h, w)
    bool part of the frame the picture covers, and the (2, 3) matrix that turns the frame back."""
    height, width = mask.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), tilt, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    turn[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    # Interpolated, not nearest: a one-pixel line's staircase would come out of the turn in pieces.
    turned = (cv2.warpAffine(mask * 255, turn, size, flags=cv2.INTER_LINEAR) >= 64).astype(np.uint8)
    exact = cv2.warpAffine(mask, turn, size, flags=cv2.INTER_NEAREST)
    within = cv2.warpAffine(np.ones_like(mask), turn, size, flags=cv2.INTER_NEAREST) > 0
    return turned, exact, within, cv2.invertAffineTransform(turn)


def _rule_lines(
    mask: np.ndarray, *, horizontal: bool, reach: np.ndarray | None = None, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """Straight lines spanning most of the picture one way: ``(lines, thin)``, (H, W) uint8 each.

    ``lines`` holds the lines' pixels, ``thin`` only those no thicker across than the lines are (the
    pixels where strokes cross a line are left out of it). Lines are found on a copy at most
    ``params.lines.work_side`` pixels long (long kernels are slow on big photos), their pixels at full size.
    ``reach`` ((H,) for level lines, (W,) for upright ones) is how long a line in each row (column)
    can be, by default the picture's width (height) everywhere. Gaps of ``params.lines.line_gap`` of a
    line's length are bridged (a pale line left dotted).
    """
    height, width = mask.shape
    nothing = np.zeros_like(mask)
    span = (width if horizontal else height) if reach is None else float(reach.max())
    if (
        min(height, width) < 2 * MIN_IMAGE_SIDE
        or np.count_nonzero(mask.any(axis=0 if horizontal else 1)) < params.lines.rule_span * span
    ):
        return nothing, nothing  # no ink spans the picture this way: no line
    small, scale = _shrunk_mask(mask, params.lines.work_side)
    across = small.shape[0] if horizontal else small.shape[1]
    length = span * scale
    tilt = max(1, int(round(params.lines.tilt_tolerance * across)))
    run = max(3, int(round(params.lines.run_fraction * length)))

    def kernel(along: int, thick: int) -> np.ndarray:  # OpenCV sizes are (width, height)
        return cv2.getStructuringElement(cv2.MORPH_RECT, (along, thick) if horizontal else (thick, along))

    # Thickened across (a photo's lines tilt a little) and bridged along over gaps of a few pixels: a pale
    # line that the contrast cut or the noise left dotted is still one line.
    thickened = cv2.dilate(small, kernel(_bridging(length, params=params), 2 * tilt + 1))
    comps = _components(cv2.morphologyEx(thickened, cv2.MORPH_OPEN, kernel(run, 1)))
    extents = {i: comps.box(i).w if horizontal else comps.box(i).h for i in range(1, comps.count)}
    if reach is None:
        spans = [i for i, extent in extents.items() if extent >= params.lines.rule_span * length]
    else:  # the reach where the line runs (its centre's row or column, back at full size)
        where = comps.centroids[:, 1 if horizontal else 0] / scale
        at = np.clip(where.astype(int), 0, len(reach) - 1)
        spans = [i for i, extent in extents.items() if extent >= params.lines.rule_span * reach[at[i]] * scale]
    if not spans:
        return nothing, nothing
    found = (_labels_mask(comps, spans) & (small > 0)).astype(np.uint8)
    if scale < 1:
        found = cv2.resize(found, (width, height), interpolation=cv2.INTER_NEAREST)
        block = int(np.ceil(1 / scale)) + 1
        found = cv2.dilate(found, np.ones((block, block), np.uint8)) & mask
    # The lines' thickness; pixels in thicker runs across the line belong to strokes crossing it.
    total_length = sum(extents[i] for i in spans) / scale
    thickness = max(1, int(round(np.count_nonzero(found) / total_length)))
    crossing = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel(1, thickness + 2))
    return found, found & (1 - crossing)


def _main_ink(mask: np.ndarray, edge: np.ndarray | None = None, *, sliver: int = 0) -> tuple[Box, np.ndarray]:
    """The sizeable components of ``mask`` ((H, W) uint8), a tenth of the largest or more: their box and
    (H, W) uint8 mask. Leftover bits of lines (a grid's crossings, a line's stub) are ignored, so
    they neither stretch the box nor make the strokes look thinner. Smaller ones are ignored too
    when they lie within ``sliver`` pixels of one side of the frame (a line half cut off there is in
    bits too short to be found as a line), and in a turned picture when they touch its ``edge``
    ((H, W) bool): a corner of desk, or a line's end beyond the corner of the frame it was found in."""
    comps = _components(mask)
    indices = range(1, comps.count)
    largest = max(indices, key=comps.area)
    at_edge = np.zeros(comps.count, bool)
    if edge is not None:
        at_edge[comps.labels[edge]] = True
    if sliver:
        height, width = mask.shape
        x, y, w, h = (comps.stats[:, k] for k in range(4))
        at_edge |= (y + h <= sliver) | (y >= height - sliver) | (x + w <= sliver) | (x >= width - sliver)
    kept = [i for i in indices if comps.area(i) >= 0.1 * comps.area(largest) and (i == largest or not at_edge[i])]
    box = comps.box(kept[0])
    for other in kept[1:]:
        box = box.union(comps.box(other))
    return box, _labels_mask(comps, kept).astype(np.uint8)


def _is_line(comps: _Components, index: int, shape: tuple[int, ...], *, params: Params) -> bool:
    """A grid or rule line: runs (nearly) edge to edge one way, is thin the other way, and is straight.

    Lines that stop short of the edges are kept: the long stem of a thin-pen 4 or 1 looks the same.
    Lines that meet or cross (a grid cell's corner) are one component, so straightness is measured
    along both axes (``_is_straight``); a thin-pen 0 or a looped 1 that fills the crop is as
    elongated by this measure, but its ink curves.
    """
    box, area = comps.box(index), comps.area(index)
    height, width = shape[:2]
    if box.w >= box.h:
        long_side, span, start, end = box.w, width, box.x, box.x + box.w
    else:
        long_side, span, start, end = box.h, height, box.y, box.y + box.h
    edge_to_edge = start <= params.lines.edge_slack * span and end >= (1 - params.lines.edge_slack) * span
    thickness = area / max(long_side, 1)
    if not (
        (edge_to_edge or long_side >= params.lines.span * span) and long_side >= params.lines.elongation * thickness
    ):
        return False
    return _is_straight(comps.labels[box.slices] == index, params=params)


def _is_straight(pixels: np.ndarray, *, params: Params) -> bool:
    """Whether the True pixels of ``pixels`` (a component's box, (h, w) bool) form straight lines.

    Either ``params.lines.straight_share`` of them lie on horizontal or vertical runs at least
    ``params.lines.straight_run`` of the box's extent that way long, after thickening across by
    ``params.lines.straight_tilt`` of that length on each side (grid lines, which may meet or cross), or
    they spread across their principal direction less than ``params.lines.max_spread`` times as far as
    along it (one line at any slant).
    """
    mask = pixels.astype(np.uint8)
    on_runs = np.zeros(mask.shape, bool)
    for axis in (0, 1):  # 0: vertical runs, 1: horizontal runs
        length = mask.shape[axis]
        tilt = max(1, int(round(params.lines.straight_tilt * length)))
        run = max(3, int(round(params.lines.straight_run * length)))
        # OpenCV sizes are (width, height): a vertical run is thickened sideways, and vice versa.
        across, along = ((2 * tilt + 1, 1), (1, run)) if axis == 0 else ((1, 2 * tilt + 1), (run, 1))
        thickened = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, across))
        runs = cv2.morphologyEx(thickened, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, along))
        on_runs |= (runs > 0) & pixels
    count = int(pixels.sum())
    if count < 3 or on_runs.sum() >= params.lines.straight_share * count:
        return True
    ys, xs = np.nonzero(pixels)
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return bool(spread[0] <= params.lines.max_spread**2 * spread[1])
