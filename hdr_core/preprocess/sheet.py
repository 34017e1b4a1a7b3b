"""A sheet of paper (or a slate) lying on a desk, seen whole: found, and the picture cropped to it."""

from __future__ import annotations

import cv2
import numpy as np

from .components import _stroke_width
from .grayscale import _check_gray
from .inversion import _flat_background
from .loading import MIN_IMAGE_SIDE
from .params import DEFAULT_PARAMS, Params
from .results import Box
from .worksize import _edge, _work_copy


def find_page(gray: np.ndarray, *, params: Params | None = None) -> Box | None:
    """Where a sheet of paper lies on a darker desk, when the picture shows it whole.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale photo. Not modified.

    Returns
    -------
    Box or None
        The box of the sheet, one work-copy pixel inside its edge, in ``gray``'s pixel coordinates;
        None when the picture is not a sheet on a desk (a crop of the paper, a digital drawing,
        light ink on a dark background). See ``SheetParams`` for the tests: the picture's
        edge is mostly dark, and its largest bright region is a convex sheet well inside the frame.
    """
    params = DEFAULT_PARAMS if params is None else params
    found = _find_sheet(_check_gray(gray), params=params)
    return None if found is None else found[0]


def _find_sheet(
    gray: np.ndarray, hist: np.ndarray | None = None, *, dark: bool = False, params: Params
) -> tuple[Box, np.ndarray] | None:
    """``find_page``'s box, and the sheet's outline as a (N, 2) int32 polygon in the box's pixels.
    ``dark``: look for a dark sheet (a slate, a black card) on a lighter desk instead (``params.sheet.dark_marks``)."""
    if _flat_background(gray, hist, params=params) is not None:
        return None  # drawn digitally: there is no desk
    small = _work_copy(gray, params=params)
    if dark:
        small = 255 - small  # the slate is the bright part of the inverted work copy
    found = _sheet_in(small, straight=dark, params=params)
    if found is None and not dark:
        found = _sheet_in(_desk_lit_evenly(small, params=params), params=params)
    if found is None:
        return None
    xs, ys, outline = found
    factor_y, factor_x = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    x0, x1 = int(np.ceil((xs.min() + 1) * factor_x)), int(xs.max() * factor_x)
    y0, y1 = int(np.ceil((ys.min() + 1) * factor_y)), int(ys.max() * factor_y)
    if min(x1 - x0, y1 - y0) < MIN_IMAGE_SIDE:
        return None
    hull = cv2.convexHull(outline).reshape(-1, 2).astype(np.float64)
    polygon = np.round(hull * (factor_x, factor_y) - (x0, y0)).astype(np.int32)
    return Box(x0, y0, x1 - x0, y1 - y0), polygon


def _desk_lit_evenly(small: np.ndarray, *, params: Params) -> np.ndarray:
    """(h, w) uint8 work copy divided by the desk's lighting (see ``params.sheet.light_border_trim``), scaled back by
    the lighting's median: an evenly lit picture is left as it is. (Scaled by the picture's own median instead, a
    bright digit filling a dark picture was brightened until its soft rim looked like paper's edge.)"""
    height, width = small.shape
    ys, xs = np.mgrid[0:height, 0:width]
    ring = np.ones((height, width), bool)
    ring[1:-1, 1:-1] = False
    logs = np.log1p(small.astype(np.float64))
    design = np.stack([np.ones(height * width), xs.ravel() / width, ys.ravel() / height], axis=1)
    rows = design[ring.ravel()]
    values = logs[ring]
    coefficients = np.linalg.lstsq(rows, values, rcond=None)[0]
    above = values - rows @ coefficients
    keep = above <= np.quantile(above, 1 - params.sheet.light_border_trim)
    coefficients = np.linalg.lstsq(rows[keep], values[keep], rcond=None)[0]
    light = (design @ coefficients).reshape(height, width)
    even = logs - light + float(np.median(light))
    return np.clip(np.expm1(even), 0, 255).astype(np.uint8)


def _sheet_in(
    small: np.ndarray, *, straight: bool = False, params: Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The sheet in a work copy (see ``SheetParams``): its pixels' columns and rows, and its
    outline as an OpenCV contour; None when the bright part of ``small`` is not a sheet. ``straight``:
    the further test for a dark sheet, looked for on an inverted copy: marks on ``params.sheet.dark_marks`` of it."""
    _, bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if _edge(bright).mean() > 1 - params.sheet.desk_edge_share:
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    sheet = np.zeros_like(region)
    cv2.drawContours(sheet, [outline], -1, 1, thickness=cv2.FILLED)
    area = np.count_nonzero(sheet)
    if not params.sheet.min_share * sheet.size <= area <= params.sheet.max_share * sheet.size:
        return None
    if _edge(sheet).mean() > params.sheet.max_edge_share:
        return None
    ys, xs = np.nonzero(sheet)
    short, long = sorted((int(np.ptp(ys)) + 1, int(np.ptp(xs)) + 1))
    # Solidity: the share of the convex hull that is neither sheet nor paper-bright, not counting dark
    # strokes (at most params.sheet.ink_width of the sheet wide). A digit written up to the edge of a sticky
    # note joins the desk and cuts a notch, up to the digit's whole shape, into the sheet's outline;
    # the dark background between a bright digit's strokes is wider than any stroke.
    hull = np.zeros_like(sheet)
    hull_points = cv2.convexHull(outline)
    cv2.fillConvexPoly(hull, hull_points, 1)
    dark = (hull > 0) & (sheet == 0) & (bright == 0)
    stroke = max(3, int(round(params.sheet.ink_width * short)) | 1)
    wide = cv2.morphologyEx(
        dark.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (stroke, stroke))
    )
    if np.count_nonzero(wide) > (1 - params.sheet.solidity) * np.count_nonzero(hull):
        return None
    holes = sheet.astype(bool) & (bright == 0)  # the marks on it (islands of paper inside a "0" are not)
    if np.count_nonzero(holes) >= params.sheet.max_holes * area:
        return None
    if long > params.sheet.max_aspect * short:
        return None
    if holes.any() and _stroke_width(holes) > params.sheet.ink_width * short:
        return None
    if not _sharp_edge(small, sheet, params=params):
        return None  # a bright middle fading into dark corners: vignetting, not a sheet
    # A sheet is straight-sided (a quadrilateral, even in perspective); a bright blob of a digit is rounded.
    polygon = cv2.approxPolyDP(hull_points, params.sheet.slack * cv2.arcLength(hull_points, True), True)
    if len(polygon) > params.sheet.corners:
        return None
    turned_short, turned_long = sorted(cv2.minAreaRect(outline)[1])
    if turned_long > params.sheet.max_aspect * max(turned_short, 1.0):
        return None  # long and thin however it is turned: a bold stroke filling its crop, not a sheet
    if straight and np.count_nonzero(holes) < params.sheet.dark_marks * area:
        return None  # a dark sheet with no chalk on it
    return xs, ys, outline


def _sheet_only(
    original: np.ndarray, box: Box, polygon: np.ndarray, *, params: Params
) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture cropped to ``box``, with the desk in its corners (outside ``polygon``, a turned
    or tilted sheet's outline, less one work pixel) painted in the sheet's median colour; and the
    (h, w) bool mask of the sheet in the crop, None when the sheet fills it (nothing was painted)."""
    crop = original[box.slices].copy()
    sheet = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(sheet, [polygon], 1)
    inset = max(1, round(max(crop.shape[:2]) / params.contrast.work_side))
    sheet = cv2.erode(sheet, np.ones((3, 3), np.uint8), iterations=inset).astype(bool)
    if not sheet.any() or sheet.all():
        return crop, None
    crop[~sheet] = np.median(crop[sheet], axis=0).astype(np.uint8)
    return crop, sheet


def _sharp_edge(small: np.ndarray, sheet: np.ndarray, *, params: Params) -> bool:
    """Whether the sheet's outline is a step in brightness rather than a slow fall-off.

    The step across the outline is weighed against how much brighter the sheet's rim is than the
    desk beyond, not its middle: a sheet on a lighter mat or desk, found together with some of the
    mat, has a rim partly of mat, much darker than the paper in its middle, and a step all the same.
    """
    ring = np.ones((5, 5), np.uint8)
    inside = sheet.astype(bool) & ~cv2.erode(sheet, ring).astype(bool)
    outside = cv2.dilate(sheet, ring).astype(bool) & ~sheet.astype(bool)
    desk = ~cv2.dilate(sheet, ring, iterations=2).astype(bool)
    if not (inside.any() and outside.any() and desk.any()):
        return False
    rim_minus_desk = float(np.median(small[inside])) - float(np.median(small[desk]))
    step = float(np.median(small[inside])) - float(np.median(small[outside]))
    return rim_minus_desk > 0 and step >= params.sheet.edge_step * rim_minus_desk
