"""Whole numbers: the digits' pieces, joined, split where they touch, and ordered in rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

import cv2
import numpy as np

from .components import _Components, _touches_border, _weighted_median
from .desk import _desk_bands, _desk_wedges, _is_background_blob
from .lines import _is_line
from .marks import _without_marks
from .normalize import _normalize_mask, _slant
from .params import Params
from .results import Box


@dataclass(frozen=True)
class _Piece:
    """Components forming one digit: their labels, and the box to take them from (for touching
    digits split apart, only the columns of this digit); for a digit cut from its neighbour along a path
    (``_read_apart``), ``mask``: its own ink within ``box`` ((h, w) bool)."""

    labels: list[int]
    box: Box
    area: int
    mask: np.ndarray | None = field(default=None, compare=False)  # an array: never compared, as the box tells


def _tight_box(mask: np.ndarray, within: Box) -> Box:
    """Box of the ink of ``mask`` (a crop taken at ``within``), in picture coordinates."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(
        within.x + int(cols[0]), within.y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
    )


def _overlap_area(a: Box, b: Box) -> int:
    """Pixels two boxes share."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(w, 0) * max(h, 0)


def _sheet_edge_contact(comps: _Components, page: Box | None, sheet: np.ndarray | None) -> np.ndarray | None:
    """(n,) int64: when the picture was cropped to a sheet found on a desk, each component's pixels on
    the sheet's outline where the desk beyond a turned or tilted sheet was painted out (``sheet``, (H, W) bool;
    zeros when none was); None when there is no sheet. That outline is the picture's edge as much as
    the crop's border is."""
    if page is None:
        return None
    if sheet is None:
        return np.zeros(comps.count, np.int64)
    outline = sheet & ~cv2.erode(sheet.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return np.bincount(comps.labels[outline], minlength=comps.count)


def _digit_pieces(
    comps: _Components, shape: tuple[int, ...], sheet_contact: np.ndarray | None = None, *, params: Params
) -> tuple[list[_Piece], dict[str, int]]:
    """Components that can be (parts of) digits: no lines, desk/shadow regions, specks or dots; and how
    many components of each kind were left out (only the kinds found).
    ``sheet_contact``: see ``_sheet_edge_contact``; a component on the sheet's outline is not interior,
    and its pixels there count as touching the picture's edge for the wedge rules."""
    sizeable = [i for i in range(1, comps.count) if comps.area(i) >= params.locate.min_speck_area]
    candidates = [i for i in sizeable if not _is_line(comps, i, shape, params=params)]
    dropped = {"speck": comps.count - 1 - len(sizeable), "ruled or grid line": len(sizeable) - len(candidates)}
    if not candidates:
        return [], _found(dropped)
    interior = [
        i
        for i in candidates
        if not _touches_border(comps.box(i), shape) and (sheet_contact is None or not sheet_contact[i])
    ]
    reference, wedges = None, set()
    if interior:
        biggest = max(comps.area(i) for i in interior)
        digits = [i for i in interior if comps.area(i) >= 0.1 * biggest]
        reference = float(np.median([comps.stroke_width(i) for i in digits]))
        size = float(np.median([max(comps.box(i).w, comps.box(i).h) for i in digits]))
        wedges = _desk_wedges(comps, candidates, reference, size, sheet_contact, params=params)
    bands = _desk_bands(comps, candidates, shape, reference, params=params)
    before = len(candidates)
    candidates = [
        i
        for i in candidates
        if i not in bands and i not in wedges and not _is_background_blob(comps, i, shape, reference, params=params)[0]
    ]
    dropped["desk or shadow"] = before - len(candidates)
    candidates, marks = _without_marks(comps, candidates, numbers=True, params=params)
    dropped.update(marks)
    if not candidates:
        return [], _found(dropped)
    # Specks and dots are tiny against a typical digit: the area of the component holding the median
    # ink pixel (many specks hold little ink, so they cannot make themselves typical).
    areas = [comps.area(i) for i in candidates]
    typical = _weighted_median(areas, areas)
    pieces = [
        _Piece([i], comps.box(i), comps.area(i))
        for i in candidates
        if comps.area(i) >= params.segment.digit_speck_share * typical
    ]
    dropped["speck"] += len(candidates) - len(pieces)
    return pieces, _found(dropped)


def _found(counts: dict[str, int]) -> dict[str, int]:
    """``counts`` without the kinds of which none were found."""
    return {kind: count for kind, count in counts.items() if count}


def _drop_faint(
    pieces: list[_Piece], comps: _Components, ink_gray: np.ndarray, clean: np.ndarray, *, params: Params
) -> list[_Piece]:
    """The pieces whose ink stands out from the paper around them at least ``params.segment.faint_piece_share`` as
    much as a typical piece's: the 90th percentile of its ink's brightness in ``ink_gray``
    (ink bright), less the median of the non-ink pixels in its box widened by half its long side."""
    if len(pieces) < 3:
        return pieces
    contrasts = []
    for piece in pieces:
        box = piece.box
        ink = np.isin(comps.labels[box.slices], piece.labels)
        pad = max(box.w, box.h) // 2
        around = (slice(max(0, box.y - pad), box.y + box.h + pad), slice(max(0, box.x - pad), box.x + box.w + pad))
        paper = ink_gray[around][~clean[around]]
        level = float(np.median(paper)) if paper.size else 0.0
        contrasts.append(float(np.percentile(ink_gray[box.slices][ink], 90)) - level)
    typical = _weighted_median(contrasts, [piece.area for piece in pieces])
    return [
        piece for piece, contrast in zip(pieces, contrasts) if contrast >= params.segment.faint_piece_share * typical
    ]


def _typical_height(pieces: list[_Piece]) -> float:
    """Height of a typical digit: the median weighted by ink, so that many specks cannot sway it."""
    return _weighted_median([p.box.h for p in pieces], [p.area for p in pieces])


def _join_pieces(pieces: list[_Piece], height: float, slope: float = 0.0, *, params: Params) -> list[_Piece]:
    """Join pieces of one digit: they overlap horizontally and are close vertically, heights taken
    across the rows' ``slope`` (dy/dx, see ``_row_slope``) so that on a tilted photo a digit is not
    joined to its neighbour in the next row, and together they are no wider than one digit can be
    (``params.segment.wide_aspect`` digit heights): a piece of ruled line that the light let fade before the
    picture's edge, lying across the tops of several digits, is not part of each of them."""
    pieces = list(pieces)

    def level(box: Box) -> float:  # the box's top, measured from the row line through x = 0
        return box.y - slope * (box.x + box.w / 2)

    merged = True
    while merged:
        merged = False
        for a in range(len(pieces)):
            for b in range(a + 1, len(pieces)):
                pa, pb = pieces[a], pieces[b]
                overlap = min(pa.box.x + pa.box.w, pb.box.x + pb.box.w) - max(pa.box.x, pb.box.x)
                narrower = min(pa.box.w, pb.box.w)
                top_a, top_b = level(pa.box), level(pb.box)
                vertical_gap = max(top_a, top_b) - min(top_a + pa.box.h, top_b + pb.box.h)
                if (
                    overlap >= params.segment.join_overlap * narrower
                    and vertical_gap <= params.segment.join_gap * height
                    and pa.box.union(pb.box).w <= params.segment.wide_aspect * height
                ):
                    pieces[a] = _Piece(pa.labels + pb.labels, pa.box.union(pb.box), pa.area + pb.area)
                    del pieces[b]
                    merged = True
                    break
            if merged:
                break
    return pieces


def _join_bars(
    pieces: list[_Piece], dashes: list[_Piece], comps: _Components, height: float, reader: DigitReader, *,
    params: Params
) -> tuple[list[_Piece], list[_Piece], int]:
    """Give the digits back their bars written apart: ``(pieces, dashes left over, how many were joined)``.

    A dash is a piece too short for a digit (under ``params.segment.min_digit_height_share`` of ``height``). One at
    least ``params.segment.bar_aspect`` times as long as it is tall that overlaps a digit's columns, lies within
    ``params.segment.join_gap`` digit heights of it and with it is no wider than a digit can be
    (``wide_aspect``) is joined to the digit that the ``reader`` reads more surely with it than without (the
    product of the most likely digit's probability and the probability of a digit at all): a 5's top written
    apart and reaching past its body, which ``_join_pieces`` leaves apart, as it does a hyphen between digits.
    Read without its bar a 5 is a 3 or an S. Dots and dashes that no digit reads better with are left out."""
    pieces, left, joined = list(pieces), [], 0
    for dash in dashes:
        best, best_gain = None, 0.0
        if dash.box.w >= params.segment.bar_aspect * dash.box.h:
            for k, piece in enumerate(pieces):
                overlap = min(dash.box.x + dash.box.w, piece.box.x + piece.box.w) - max(dash.box.x, piece.box.x)
                gap = max(dash.box.y - piece.box.y - piece.box.h, piece.box.y - dash.box.y - dash.box.h)
                union = piece.box.union(dash.box)
                if (overlap <= 0 or gap > params.segment.join_gap * height
                        or union.w > params.segment.wide_aspect * height):
                    continue
                both = _Piece(piece.labels + dash.labels, union, piece.area + dash.area)
                surety = _surety([_piece_mask(piece, comps), _piece_mask(both, comps)], reader, params=params)
                gain = _log_surety(surety[1:]) - _log_surety(surety[:1])
                if gain > best_gain:
                    best, best_gain = (k, both), gain
        if best is None:
            left.append(dash)
        else:
            pieces[best[0]] = best[1]
            joined += 1
    return pieces, left, joined


def _piece_mask(piece: _Piece, comps: _Components) -> np.ndarray:
    """(h, w) bool: the ink of ``piece``'s components within its box (its own ``mask`` when it has one)."""
    if piece.mask is not None:
        return piece.mask
    table = np.zeros(comps.count, bool)
    table[piece.labels] = True
    return table[comps.labels[piece.box.slices]]


class DigitReader(Protocol):
    """How surely pictures are digits: what ``segment`` asks of the ways a wide piece of ink could be cut
    (``hdr_core.piece_reader.default_reader`` is the shipped network with the digit check)."""

    flag_below: float  # a picture whose probability of being a digit at all is under this may not be one

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs -> (N, 3) float64: the most likely digit's probability, the
        probability that the picture is a digit at all, and the most likely digit (0-9)."""
        ...


def _split_touching(
    pieces: list[_Piece], comps: _Components, height: float, reader: DigitReader | None = None, *, params: Params
) -> tuple[list[_Piece], int, int, int, int]:
    """Cut pieces much wider than the digits are tall into touching digits, at the emptiest columns: the
    pieces, how many wide pieces were cut, how many were kept whole, how many were cut otherwise as reading
    their parts showed, and how many read as one digit were cut in two (``_read_apart``).

    Wide is measured on the piece stood upright (``_upright_width``): a slanted digit is wide, not two.
    The number of digits is guessed from that width (``params.segment.digit_aspect``). A cut is kept only
    where it leaves a digit on each side, ink at least ``params.segment.min_digit_height_share`` of the
    row's height tall (what is shorter is a dash: a 5's long bar, a 2's foot), and, in a piece under
    ``params.segment.wide_aspect`` row heights wide, where the digits meet at a joint (see
    ``SegmentParams.joint_share``); one digit fewer is tried before the piece is kept whole.
    With a ``reader``, a piece over ``params.segment.reread_aspect`` row heights wide is read again (``_reread``):
    two digits written close enough to touch can be narrower than the width rule sees, and a width can be cut
    into too many, and a piece it would keep whole can hold two digits read as one (``_read_apart``)."""
    out: list[_Piece] = []
    cut = whole = reread = apart = 0
    for piece in pieces:
        row_height = max(height, 0.5 * piece.box.h)
        wide = piece.box.w > params.segment.touching_aspect * row_height
        if not wide and (reader is None or piece.box.w <= params.segment.reread_aspect * row_height):
            out.append(piece)
            continue
        mask = np.isin(comps.labels[piece.box.slices], piece.labels)
        profile = np.convolve(mask.sum(axis=0).astype(np.float64), np.ones(3) / 3, mode="same")
        aspect = _upright_width(mask, params=params) / row_height
        edges = _width_cut(mask, profile, aspect, row_height, params=params) if wide else [0, mask.shape[1]]
        better = None if reader is None else _reread(mask, profile, edges, aspect, row_height, reader, params=params)
        if better is not None:
            edges, reread = better, reread + 1
        elif reader is not None and len(edges) == 2 and (
                two := _read_apart(mask, profile, row_height, reader, params=params)) is not None:
            apart += 1
            out.extend(_cut_from(piece, part) for part in two)
            continue
        elif len(edges) > 2:
            cut += 1
        elif wide:
            whole += 1
        out.extend(
            _Piece(piece.labels, Box(piece.box.x + lo, piece.box.y, hi - lo, piece.box.h), piece.area)
            for lo, hi in pairwise(edges)
            if hi - lo >= 2
        )
    return out, cut, whole, reread, apart


def _cut_from(piece: _Piece, part: np.ndarray) -> _Piece:
    """The digit whose ink is ``part`` ((h, w) bool, within ``piece.box``), cut from ``piece`` along a path."""
    box = _tight_box(part, piece.box)
    top, left = box.y - piece.box.y, box.x - piece.box.x
    own = np.ascontiguousarray(part[top: top + box.h, left: left + box.w])
    return _Piece(piece.labels, box, int(np.count_nonzero(own)), own)


def _width_cut(mask: np.ndarray, profile: np.ndarray, aspect: float, row_height: float, *, params: Params
               ) -> list[int]:
    """Where the width rule cuts a wide piece (``mask``, (H, W) bool; ``profile``, its (W,) ink per column;
    ``aspect``, its upright width in row heights): ``[0, cut, ..., W]``, or ``[0, W]`` when it is kept whole
    (see ``_split_touching``)."""
    joint = _joint_level(profile, params=params)
    estimate = max(2, round(aspect / params.segment.digit_aspect))
    for count in range(estimate if aspect > params.segment.touching_aspect else 1, 1, -1):
        edges = _cuts(profile, count)
        tall = not any(_is_dash(mask[:, lo:hi], row_height, params=params)
                       for lo, hi in pairwise(edges) if mask[:, lo:hi].any())
        joined = aspect >= params.segment.wide_aspect or all(profile[at] <= joint for at in edges[1:-1])
        if tall and joined:
            return edges
    return [0, mask.shape[1]]


def _parts(mask: np.ndarray, edges: list[int], row_height: float, *, params: Params) -> list[np.ndarray] | None:
    """The columns of ``mask`` between ``edges``, or None when one of them holds no digit: no ink, or ink
    under ``params.segment.min_digit_height_share`` of the row's height tall (a dash)."""
    parts = [mask[:, lo:hi] for lo, hi in pairwise(edges) if hi - lo >= 2]
    if not parts or any(_is_dash(part, row_height, params=params) for part in parts):
        return None
    return parts


def _is_dash(part: np.ndarray, row_height: float, *, params: Params) -> bool:
    """Whether the ink of ``part`` ((H, w) bool) is too short for a digit (none at all included): under
    ``params.segment.min_digit_height_share`` of the row's height, as a 5's long bar or a 2's foot is."""
    return _ink_height(part) < params.segment.min_digit_height_share * row_height


def _joint_level(profile: np.ndarray, *, params: Params) -> float:
    """The most ink a column of ``profile`` ((W,) ink per column) holds where two digits meet at a joint:
    ``params.segment.joint_share`` of a typical column's."""
    return params.segment.joint_share * float(np.median(profile[profile > 0]))


def _reread(mask: np.ndarray, profile: np.ndarray, edges: list[int], aspect: float, row_height: float,
            reader: DigitReader, *, params: Params) -> list[int] | None:
    """A better way to cut a piece than ``edges``, by reading its parts; None to keep ``edges``. ``aspect`` is
    the piece's upright width in row heights (``_upright_width``).

    A piece that the width rule cut into N digits is cut into N - 1 (whole, for N = 2) when those parts read
    at least as surely as digits (the product below), and so on down: the width only guesses how many digits a
    piece holds (a wide, low 2; a 0 and a 3 written close, cut in three), and the halves of a digit can each
    look like a digit, so the reading settles it and fewer digits win a tie.

    When every part of the way chosen reads as a digit at all (``reader.flag_below``), that way stands.
    Otherwise the piece is cut every way it could hold 1, 2, ... digits (one more than the width suggests), at
    joints only (``SegmentParams.joint_share``): at the emptiest columns near even divisions (``_cuts``) and, for
    two digits, at the emptiest columns of its middle three fifths. Each way scores the product over its parts
    of the most likely digit's probability and the probability of a digit at all; the best replaces the way
    chosen when it is ``params.segment.reread_margin`` times surer."""
    parts = _parts(mask, edges, row_height, params=params)
    surety = None if parts is None else _surety(parts, reader, params=params)
    chosen = edges
    while surety is not None and len(chosen) > 2:  # one digit fewer, as surely read: the width guessed too many
        fewer = [(way, _surety(parts, reader, params=params)) for way in _candidate_cuts(profile, len(chosen) - 2)
                 if (parts := _parts(mask, way, row_height, params=params)) is not None]
        if not fewer:
            break
        way, got = max(fewer, key=lambda item: _log_surety(item[1]))
        if _log_surety(got) < _log_surety(surety):
            break
        chosen, surety = way, got
    if surety is not None and surety[:, 1].min() >= reader.flag_below:
        return None if chosen is edges else chosen
    best = None if chosen is edges else chosen
    best_score = (-np.inf if surety is None else _log_surety(surety)) + np.log(params.segment.reread_margin)
    most = max(len(edges), round(aspect / params.segment.digit_aspect) + 1)
    joint = _joint_level(profile, params=params)
    for count in range(1, most + 1):
        for candidate in _candidate_cuts(profile, count):
            if candidate in (edges, chosen) or any(profile[at] > joint for at in candidate[1:-1]):
                continue
            parts = _parts(mask, candidate, row_height, params=params)
            if parts is None:
                continue
            score = _log_surety(_surety(parts, reader, params=params))
            if score > best_score:
                best, best_score = candidate, score
    return best


def _read_apart(mask: np.ndarray, profile: np.ndarray, row_height: float, reader: DigitReader, *,
                params: Params) -> tuple[np.ndarray, np.ndarray] | None:
    """The two digits' ink ((H, W) bool each, left one first) in a piece read as one digit that holds two, or
    None to keep it whole. ``mask`` is the piece's ink ((H, W) bool), ``profile`` its (W,) ink per column.

    The network reads a digit written touching another as that digit, the other's ink ignored: "51" and "16"
    read as a 5 and a 6, often as surely as a digit alone, so neither the digit check nor the width rule finds
    them. The evidence is in the parts: the piece is cut in two, straight down the columns ``_candidate_cuts``
    picks or winding from top to bottom through as little ink as possible (``_path_cuts``: crossing the middle
    row at those columns and at others every half ``params.segment.apart_reach_share`` of the height across its
    middle three fifths, and at most that share aside from there), as a 2's foot runs under the 1 written close
    beside it and a 1 leans into the columns of the 3 before it. A cut counts where each part is one
    stroke-connected piece of ink at least ``params.segment.apart_height_share`` of the piece's height tall (the
    digits of a number are about as tall as each other) and no dash (``_is_dash``), reads as a digit at least
    ``params.segment.apart_sure`` surely (which digit, and a digit at all), one of them as the digit the whole
    was read as, and the two more surely than the whole (the product of their probabilities); and where it
    crosses at most one stroke (``_crossings``), less than ``params.segment.apart_touch_share`` of the piece's
    height long, as where two digits touch (none: two pieces the overlap joined). The surest such cut is taken.
    The parts of a single digit seldom pass them all: a 0's halves read as two 1s, neither of them a 0; a 7's
    hook, a 4's open side, an 8's tail are short; the end of a crossed 7's bar and the foot of its stem, cut off
    together, are two pieces; a cut through a loop crosses two strokes. A whole read as a 1 is never cut: any
    piece of a stroke reads as a 1, so its parts say nothing (a 1 with a long flag is two sure 1s)."""
    height, width = mask.shape
    if width < 4:
        return None
    # As tall as the piece, and no dash beside the row's digits (a wide, low 2 is a piece no taller than a dash)
    tall = max(params.segment.apart_height_share * height, params.segment.min_digit_height_share * row_height)
    across = params.segment.apart_touch_share * height
    reach = max(1, round(params.segment.apart_reach_share * height))
    ways, parts, seen = [], [], set()
    columns = np.arange(width)
    straight = [way[1] for way in _candidate_cuts(profile, 2)]
    starts = [*straight, *range(int(0.2 * width), int(0.8 * width) + 1, max(1, reach // 2))]
    cuts = [np.full(height, at, np.intp) for at in straight]  # straight down the emptiest columns, and winding
    for path in [*cuts, *_path_cuts(mask, starts, reach)]:
        if path.tobytes() in seen:
            continue
        seen.add(path.tobytes())
        on_path = mask[np.arange(height), path]
        left = mask & (columns[None, :] < path[:, None])
        pair = (left, mask & ~left)
        if (_crossings(on_path) <= 1 and on_path.sum() <= across
                and all(_ink_height(part) >= tall and _pieces_of(part) == 1 for part in pair)):
            ways.append((pair, len(parts), len(parts) + 2))
            parts.extend(pair)
    if not ways:  # most single digits: no cut leaves two digit-shaped parts, so nothing is read
        return None
    surety = _surety([mask, *parts], reader, params=params)  # the whole and every candidate's parts at once
    whole = surety[:1]
    if whole[0, 2] == 1:
        return None
    best, best_score = None, _log_surety(whole)
    for pair, first, last in ways:
        read = surety[1 + first: 1 + last]
        score = _log_surety(read)
        if score > best_score and read[:, :2].min() >= params.segment.apart_sure and whole[0, 2] in read[:, 2]:
            best, best_score = pair, score
    return best


def _path_cuts(mask: np.ndarray, through: list[int], reach: int) -> np.ndarray:
    """Cuts from the top of ``mask`` ((H, W) bool, ink) to its bottom through as little ink as possible, the k-th
    crossing the middle row at column ``through[k]`` and straying at most ``reach`` columns from it, clear of the
    first and last columns: (K, H) int, for each row the first column right of the cut. Each row's step is at
    most one column aside, a sideways step costing half a pixel and an ink pixel more than any detour through
    the paper: two shortest-path passes, down from the top and up from the bottom, every cut's at once."""
    height, width = mask.shape
    span = min(2 * reach + 1, width - 2)
    at = np.clip(np.asarray(through, np.intp), 1, width - 2)
    lo = np.clip(at - reach, 1, width - 1 - span)
    ink = mask[:, lo[:, None] + np.arange(span)].astype(np.float64) * (height + width)  # (H, K, span)
    down, up = _cheapest_from_first_row(ink), _cheapest_from_first_row(ink[::-1])
    cuts = np.arange(len(lo))
    mid = height // 2
    path = np.empty((len(lo), height), np.intp)
    path[:, mid] = at - lo
    steps = np.array([0, -1, 1])
    for y in range(mid, 0, -1):  # up to the top, the way the downward pass came
        path[:, y - 1] = path[:, y] + steps[down[y, cuts, path[:, y]]]
    for y in range(mid, height - 1):  # down to the bottom, the way the upward pass came
        path[:, y + 1] = path[:, y] + steps[up[height - 1 - y, cuts, path[:, y]]]
    return lo[:, None] + path


def _cheapest_from_first_row(ink: np.ndarray) -> np.ndarray:
    """(H, K, n) float64 cost of stepping on each pixel of K strips -> (H, K, n) int8: where the cheapest path
    from the first row to each pixel came from (0: straight above, 1: above left, 2: above right; one column
    aside per row at most, half a pixel a sideways step; straight wins a tie)."""
    cost = ink[0].copy()
    came = np.zeros(ink.shape, np.int8)
    from_left, from_right = np.full(cost.shape, np.inf), np.full(cost.shape, np.inf)
    for y in range(1, ink.shape[0]):
        np.add(cost[:, :-1], 0.5, out=from_left[:, 1:])
        np.add(cost[:, 1:], 0.5, out=from_right[:, :-1])
        best = np.minimum(np.minimum(cost, from_left), from_right)
        came[y][from_left == best] = 1
        came[y][from_right == best] = 2
        came[y][cost == best] = 0
        cost = best + ink[y]
    return came


def _crossings(column: np.ndarray) -> int:
    """How many strokes a cut crosses, given the ink along it (``column``, (H,) bool): its runs of ink."""
    return int(np.count_nonzero(np.diff(np.r_[0, column.astype(np.int8), 0]) == 1))


def _pieces_of(mask: np.ndarray) -> int:
    """How many 8-connected pieces of ink ``mask`` ((H, W) bool) holds."""
    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] - 1


def _candidate_cuts(profile: np.ndarray, count: int, extra: int = 3) -> list[list[int]]:
    """Ways to cut a piece of ``profile.size`` columns into ``count`` digits: ``_cuts``'s, and for two digits
    up to ``extra`` more at the emptiest columns of the middle three fifths (touching digits are seldom
    equally wide: a 1 beside a 0)."""
    width = profile.size
    if count == 1:
        return [[0, width]]
    ways = [_cuts(profile, count)]
    lo, hi = int(0.2 * width), int(0.8 * width)
    if count == 2 and hi > lo + 2:
        for at in lo + np.argsort(profile[lo:hi], kind="stable")[: 4 * extra]:
            if all(abs(int(at) - way[1]) > 1 for way in ways):
                ways.append([0, int(at), width])
            if len(ways) > extra:
                break
    return ways


def _surety(parts: list[np.ndarray], reader: DigitReader, *, params: Params) -> np.ndarray:
    """``reader``'s (N, 2) answer for each part's model input."""
    return np.asarray(reader(np.stack([_normalize_mask(part, params=params)[0] for part in parts])), np.float64)


def _log_surety(surety: np.ndarray) -> float:
    """How surely every part is a digit, and which: the log of the product of the first two columns of
    ``surety`` ((N, 3), ``DigitReader``'s answer)."""
    return float(np.log(np.clip(surety[:, :2], 1e-9, 1.0)).sum())


def _upright_width(mask: np.ndarray, *, params: Params) -> float:
    """Width of the ink of ``mask`` ((H, W) bool) stood upright: its slant (the shear that makes its principal
    axis vertical, at most ``params.normalize.max_shear``) taken out. A slanted 8 is wide, not two digits."""
    ys, xs = np.nonzero(mask)
    shear, centre_y = _slant(mask.astype(np.uint8)) or (0.0, 0.0)
    limit = params.normalize.max_shear
    upright = xs - float(np.clip(shear, -limit, limit)) * (ys - centre_y)
    return float(upright.max() - upright.min() + 1)


def _ink_height(mask: np.ndarray) -> int:
    """Rows from the first to the last holding ink in ``mask`` ((H, W) bool), 0 when it holds none."""
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _cuts(profile: np.ndarray, count: int) -> list[int]:
    """Where to cut a piece whose column profile (ink per column, (W,) float64) holds ``count`` digits:
    the emptiest column near each even division, edges included: ``[0, cut, ..., W]``."""
    width = profile.size
    step = width / count
    cuts = []
    for k in range(1, count):
        centre = round(k * step)
        half = max(1, int(step * 0.35))
        lo, hi = max(1, centre - half), min(width - 1, centre + half)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else centre)
    return [0, *cuts, width]


def _row_slope(pieces: list[_Piece], height: float, *, params: Params) -> float:
    """How much the rows climb or fall, dy/dx: the median over the pieces of the link to the nearest
    piece on their right (within ``params.segment.row_link_reach`` digit heights, at most
    ``params.segment.max_row_slope`` steep).
    A photo taken at an angle, or a number written askew, tilts every row the same way; 0 when
    fewer than two pieces have such a neighbour (one digit per row)."""
    centres = np.array([(p.box.x + p.box.w / 2, p.box.y + p.box.h / 2) for p in pieces], np.float64)
    slopes = []
    for x, y in centres:
        dx, dy = centres[:, 0] - x, centres[:, 1] - y
        distance = np.where((dx > 0) & (np.abs(dy) <= params.segment.max_row_slope * dx), np.hypot(dx, dy), np.inf)
        nearest = int(np.argmin(distance))
        if distance[nearest] <= params.segment.row_link_reach * height:
            slopes.append(dy[nearest] / dx[nearest])
    return float(np.median(slopes)) if len(slopes) >= 2 else 0.0


def _rows(pieces: list[_Piece], height: float, *, params: Params) -> list[list[_Piece]]:
    """Group pieces into rows (by gaps between vertical centres, measured across the rows' common
    slope), each sorted left to right."""
    slope = _row_slope(pieces, height, params=params)

    def across(piece: _Piece) -> float:  # the centre's height above the row line through x = 0
        return piece.box.y + piece.box.h / 2 - slope * (piece.box.x + piece.box.w / 2)

    ordered = sorted(pieces, key=across)
    rows: list[list[_Piece]] = [[ordered[0]]]
    for piece in ordered[1:]:
        if across(piece) - across(rows[-1][-1]) > params.segment.row_gap * height:
            rows.append([])
        rows[-1].append(piece)
    return [sorted(row, key=lambda p: p.box.x) for row in rows]
