"""MNIST-style normalisation: strokes as thick as MNIST's, slant halved, 20x20 box, centre of mass (14, 14)."""

from __future__ import annotations

import cv2
import numpy as np

from ..constants import DIGIT_BOX, IMAGE_SIZE
from ..errors import BlankImageError
from .blank import BLANK_MESSAGE
from .components import _check_mask, _crop_to_ink, _stroke_width
from .grayscale import _check_gray
from .params import DEFAULT_PARAMS, Params
from .results import Box

SUPERSAMPLE = 4  # strokes are reshaped and placed at 4x the final size, then averaged down 4x4


WORK_SIZE = SUPERSAMPLE * DIGIT_BOX  # the digit's long side at that resolution (80 px)


CENTRE = IMAGE_SIZE / 2  # MNIST's centre of mass: (14.0, 14.0) +- 0.5 in pixel-index coordinates


def _stroke_change(mask: np.ndarray, *, params: Params) -> tuple[float, float]:
    """The strokes' width in pixels of the (h, w) bool crop ``mask``, and how much wider (negative:
    narrower) they must be to come out as wide as MNIST's once fit into 20x20; 0 when within tolerance.

    Thin strokes are thickened to MNIST's typical width (``params.normalize.stroke_width``); bold ones are
    thinned only down to MNIST's bold strokes (``bold_stroke_width``), and those between are left as they are:
    MNIST has them too, and thinning a bold blurred digit whose loops have filled leaves a stick."""
    length = float(max(mask.shape))
    width = _stroke_width(mask)
    goal = _stroke_goal(width * DIGIT_BOX / length, params=params)
    target = goal * (length - width) / (DIGIT_BOX - goal)
    change = target - width
    bold = goal > params.normalize.stroke_width
    tolerance = params.normalize.bold_tolerance if bold else params.normalize.stroke_tolerance
    return width, 0.0 if abs(change) <= tolerance * width else change


def _stroke_goal(fitted: float, *, params: Params) -> float:
    """The width (px at MNIST's scale) strokes ``fitted`` px wide at that scale are made: MNIST's typical width
    for thin ones, its bold width for bolder ones, and their own between the two."""
    typical, bold = params.normalize.stroke_width, max(params.normalize.stroke_width, params.normalize.bold_stroke_width)
    return float(np.clip(fitted, typical, bold))


def _reshape_strokes(mask: np.ndarray, width: float, change: float, *, params: Params) -> np.ndarray:
    """Thicken or thin the strokes so that, fit into 20x20, they are as wide as MNIST's.

    Works at the resolution of ``mask`` (a crop of the digit); returns a float32 mask of the digit
    cropped to its new ink box. If the box's long side is L and the strokes w wide, growing the
    strokes by d grows the box by d too, so the width after fitting is (w + d) * 20 / (L + d);
    solving for the target gives the d used here (dilation or erosion by a distance transform).
    ``width, change``: ``_stroke_change(mask)``.
    """
    if change == 0:
        return mask.astype(np.float32)
    if change > 0:
        radius = change / 2
        pad = int(np.ceil(radius)) + 1
        padded = np.pad(mask, pad).astype(np.uint8)
        distance = cv2.distanceTransform(1 - padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        grown = distance <= radius
        return _crop_to_ink(grown).astype(np.float32)
    share = params.normalize.max_thinning_share
    radius = min(-change / 2, share * width)
    padded = np.pad(mask, 1).astype(np.uint8)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # Each stroke is thinned by at most its own share: a thin stroke joined to a thick one (a 6's stem on its
    # bold loop) keeps its core. A pixel's stroke is as wide as twice the largest distance within reach.
    reach = 2 * int(np.ceil(radius / (2 * share))) + 1
    local = cv2.dilate(distance, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    thinned = distance > np.minimum(radius, share * 2 * local)
    if np.count_nonzero(thinned) < 0.3 * np.count_nonzero(mask):
        return mask.astype(np.float32)  # thinning would erase the digit: keep it as it is
    return _crop_to_ink(thinned).astype(np.float32)


def _slant(ink: np.ndarray) -> tuple[float, float] | None:
    """The slant of ``ink`` ((h, w) float32 or uint8, ink bright): ``(shear, centre_y)``, the horizontal shear
    (x per row, mu11 / mu02) that makes its principal axis vertical about its centre row ``centre_y``; None
    when it holds no ink or lies in one row."""
    moments = cv2.moments(ink)
    if moments["m00"] <= 0 or moments["mu02"] <= 0:
        return None
    return moments["mu11"] / moments["mu02"], moments["m01"] / moments["m00"]


def _straighten(digit: np.ndarray, *, params: Params) -> tuple[np.ndarray, float]:
    """Halve a digit's slant: (h, w) float32 ink in [0, 1] -> (h, w') float32, cropped to the ink,
    and the shear applied (0 when none).

    A horizontal shear about the ink's centre row by ``params.normalize.straighten_share`` of the one that would make
    the principal axis vertical (the classic deskew, from second-order moments). Rows keep their
    height, so the digit's long side is the same unless the slant made it wide.
    """
    slant = _slant(digit)
    if slant is None:
        return digit, 0.0
    full, centre_y = slant
    limit = params.normalize.max_shear
    shear = float(np.clip(params.normalize.straighten_share * full, -limit, limit))
    height, width = digit.shape
    # x' = x - shear * (y - centre_y), moved right by `pad` so nothing falls off the left edge.
    pad = int(np.ceil(abs(shear) * height)) + 1
    matrix = np.float32([[1, -shear, shear * centre_y + pad], [0, 1, 0]])
    sheared = cv2.warpAffine(digit, matrix, (width + 2 * pad, height), flags=cv2.INTER_LINEAR)
    cols = np.flatnonzero(sheared.max(axis=0) > 0)
    if cols.size == 0:
        return digit, 0.0
    return np.ascontiguousarray(sheared[:, cols[0] : cols[-1] + 1]), shear


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(x, y) centre of mass of a small float image in pixel-index coordinates."""
    total = float(image.sum())
    if total <= 0:
        raise BlankImageError(BLANK_MESSAGE)
    x = float(image.sum(axis=0) @ np.arange(image.shape[1], dtype=np.float64)) / total
    y = float(image.sum(axis=1) @ np.arange(image.shape[0], dtype=np.float64)) / total
    return x, y


def _fit_and_centre(digit: np.ndarray) -> np.ndarray:
    """(h, w) float32 ink in [0, 1] -> (28, 28) float32: long side 20, centre of mass at (14, 14).

    Like MNIST: the digit is scaled so its long side is 20 pixels and shifted by whole pixels so its
    centre of mass is within half a pixel of (14, 14) (MNIST's box is exactly 20 wide, so its shift
    was whole pixels too). The work happens on a 4x canvas averaged down 4x4, which anti-aliases the
    edges without the blur an interpolated sub-pixel shift would add.
    """
    height, width = digit.shape
    scale = WORK_SIZE / max(height, width)
    new_w = min(WORK_SIZE, max(1, int(round(width * scale))))
    new_h = min(WORK_SIZE, max(1, int(round(height * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    big = cv2.resize(digit, (new_w, new_h), interpolation=interpolation)
    # Averaged down 4x4 at the origin first, so the centre of mass is measured on the output's own
    # pixels; shifting by whole output pixels then moves it exactly, to within half a pixel of 14.
    side = SUPERSAMPLE * IMAGE_SIZE
    canvas = np.zeros((side, side), np.float32)
    canvas[:new_h, :new_w] = big
    small = canvas.reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE).mean(axis=(1, 3))
    cx, cy = _centre_of_mass(small)
    ink_w, ink_h = -(-new_w // SUPERSAMPLE), -(-new_h // SUPERSAMPLE)  # output pixels the ink covers
    # Clamped so no ink falls off the frame (for a very lopsided shape, like an L, the centre of
    # mass then stays a little off-centre rather than losing part of the digit).
    left = min(max(int(round(CENTRE - cx)), 0), IMAGE_SIZE - ink_w)
    top = min(max(int(round(CENTRE - cy)), 0), IMAGE_SIZE - ink_h)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    out[top : top + ink_h, left : left + ink_w] = small[:ink_h, :ink_w]
    return np.clip(out, 0.0, 1.0)


def _normalize_mask(mask: np.ndarray, *, straighten: bool = True, params: Params) -> tuple[np.ndarray, str]:
    """A digit's (h, w) bool ink crop -> (28, 28) float32 model input, and one sentence saying what was done."""
    if not mask.any():
        raise BlankImageError(BLANK_MESSAGE)
    mask = _crop_to_ink(mask)
    length = max(mask.shape)
    if length < WORK_SIZE:
        # Small digits: upsample first so strokes can be reshaped with sub-pixel precision.
        factor = WORK_SIZE / length
        size = (max(1, round(mask.shape[1] * factor)), max(1, round(mask.shape[0] * factor)))
        mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) >= 0.5
        if not mask.any():
            raise BlankImageError(BLANK_MESSAGE)
        mask = _crop_to_ink(mask)
    width, change = _stroke_change(mask, params=params)  # measured once: reshaped, then described
    strokes = _reshape_strokes(mask, width, change, params=params)
    shear = 0.0
    if straighten:
        strokes, shear = _straighten(strokes, params=params)
    return _fit_and_centre(strokes), _normalising_reason(mask, width, change, shear, params=params)


def _normalising_reason(mask: np.ndarray, width: float, change: float, shear: float, *, params: Params) -> str:
    """What ``_normalize_mask`` did to the (h, w) bool crop ``mask`` (``width, change``: ``_stroke_change``)."""
    scale = DIGIT_BOX / max(mask.shape)  # what a pixel of the crop becomes at MNIST's scale
    fitted = width * scale
    goal = _stroke_goal(fitted, params=params)
    if change == 0 and goal > params.normalize.stroke_width:
        strokes = f"strokes {fitted:.1f} px wide, as bold as many of MNIST's: left as they are"
    elif change == 0:
        strokes = f"strokes already about MNIST's {goal:g} px wide"
    else:
        bold = " (MNIST's bold strokes)" if goal > params.normalize.stroke_width else " (MNIST's)"
        strokes = f"strokes {'thickened' if change > 0 else 'thinned'} from {fitted:.1f} px to about {goal:g} px{bold}"
    slant = f"slant halved (shear {shear:+.2f})" if abs(shear) >= 0.01 else "upright"
    fit = f"long side fit to {DIGIT_BOX} px and centre of mass at (14, 14), like MNIST"
    return f"{strokes[0].upper()}{strokes[1:]}; {slant}; {fit}."


def normalize(
    ink_gray: np.ndarray, ink_mask: np.ndarray, box: Box, *, straighten: bool = True, params: Params | None = None
) -> np.ndarray:
    """MNIST-style normalisation of one digit.

    Parameters
    ----------
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright (``auto_invert(...).gray``); used to check the image shape.
    ink_mask : (H, W) bool ndarray
        The digit's ink (``Preprocessed.ink``); only the part inside ``box`` is used. Not modified.
    box : Box
        The digit's box (``locate_ink``).
    straighten : bool, keyword-only
        Halve the slant (default). The training augmentation renders its digits with ``False``:
        it adds slant of its own, and the shipped models were trained on renders without this step.

    Returns
    -------
    model_input : (28, 28) float32 ndarray
        In [0, 1], ink bright on black: thin strokes thickened to MNIST's typical ~2.2 px, bold ones
        thinned to its bold ~3.2 px (``params.normalize``), those between left as they are; slant
        halved (a shear, ``params.normalize.straighten_share`` of the moment deskew), then the ink's box fit into
        20x20 keeping its aspect ratio (long side exactly 20), anti-aliased (reshaped
        at 4x, averaged down 4x4), centre of mass within half a pixel of (14, 14) (a whole-pixel
        shift, as in MNIST).

    Notes
    -----
    The strokes are rendered from the mask rather than from the grey levels: the mask is free of
    lighting and paper texture, and averaging it down gives MNIST's soft edges.

    Raises
    ------
    BlankImageError
        No ink inside ``box``.
    """
    params = DEFAULT_PARAMS if params is None else params
    ink_gray = _check_gray(ink_gray, "ink_gray")
    ink_mask = _check_mask(ink_mask, "ink_mask")
    if ink_mask.shape != ink_gray.shape:
        raise ValueError(f"ink_mask shape {ink_mask.shape} differs from ink_gray shape {ink_gray.shape}")
    if not isinstance(box, Box) or box.w <= 0 or box.h <= 0:
        raise ValueError(f"box must be a non-empty Box, got {box!r}")
    return _normalize_mask(ink_mask[box.slices], straighten=straighten, params=params)[0]
