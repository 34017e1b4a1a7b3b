"""Which side of the grey scale the ink is on, and turning it bright on black like MNIST."""

from __future__ import annotations

import cv2
import numpy as np

from .grayscale import _check_gray, _histogram
from .params import DEFAULT_PARAMS, Params
from .results import Inversion
from .worksize import _wide_level


def _skewness(gray: np.ndarray, hist: np.ndarray | None = None) -> float:
    """Third standardised moment of the grey levels, from the histogram (fast on any size)."""
    hist = _histogram(gray) if hist is None else hist
    levels = np.arange(256, dtype=np.float64)
    total = hist.sum()
    mean = (hist * levels).sum() / total
    centred = levels - mean
    var = (hist * centred**2).sum() / total
    if var < 1e-9:
        return 0.0
    return float((hist * centred**3).sum() / total / var**1.5)


def _flat_background(gray: np.ndarray, hist: np.ndarray | None = None, *, params: Params) -> int | None:
    """The grey level of a perfectly flat background (drawn digitally: canvas, paint program).

    Returns the level shared by at least 60% of the pixels, or None (photos and scans never have
    one: noise spreads their paper over several levels).
    """
    hist = _histogram(gray) if hist is None else hist
    level = int(np.argmax(hist))
    return level if hist[level] >= params.inversion.flat_background_share * gray.size else None


def _even_lighting(gray: np.ndarray, *, params: Params) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8: each pixel minus its neighbourhood's median level, plus 128.

    The median of a window a third of the picture wide is the paper's level where the ink is the
    minority, so a shadow or a lighting gradient across the page cancels out and the paper lands
    near 128, with the ink on one side of it.
    """
    paper = _wide_level(gray, cv2.medianBlur, params=params)
    return np.clip(gray.astype(np.int16) - paper + 128, 0, 255).astype(np.uint8)


def _ink_is_dark(gray: np.ndarray, hist: np.ndarray | None = None, *, on_sheet: bool = False, params: Params) -> bool:
    """Whether the ink is darker than the paper.

    Ink is the minority: the grey levels' long tail points towards the ink (negative skewness for
    dark ink). This holds for photos whose border is a dark desk or vignetting, where asking "is the
    border bright?" gets it wrong. When the histogram is nearly symmetric, the tail is looked for
    again with the lighting evened out (a shadow across the page spreads the paper's own levels
    and hides it; not first, because evening out also brightens the paper's edges against a dark
    desk). When that is symmetric too (tight crops where the ink covers about half the picture) the
    border decides: most of it is background. But ``on_sheet`` (a picture cropped to a sheet found on a
    desk) the border is all paper, and a lamp to one side can put half of it below Otsu's level, so the
    evened-out tail's side decides instead, however short.
    """
    hist = _histogram(gray) if hist is None else hist
    flat = _flat_background(gray, hist, params=params)
    if flat is not None:
        levels = np.arange(256)
        darker, lighter = hist[levels < flat].sum(), hist[levels > flat].sum()
        return bool(darker > lighter) if darker != lighter else flat >= 128
    skew = _skewness(gray, hist)
    if abs(skew) >= params.inversion.skew_decides:
        return skew < 0
    skew = _skewness(_even_lighting(gray, params=params))
    if abs(skew) >= params.inversion.even_skew_decides or on_sheet:
        return skew < 0
    return _border_brightness(gray, params=params)[0]


def _border_brightness(gray: np.ndarray, *, params: Params) -> tuple[bool, bool]:
    """Whether most of the outermost rows and columns are on the bright side of Otsu's level, and
    whether sides were left out as a desk.

    Sides that are dark nearly all along are left out when another side is bright nearly all along:
    that is a desk beside the page or a shadow over part of it, not a dark background (a dark
    background darkens every side).
    """
    level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    sides = [side > level for side in (gray[0], gray[-1], gray[:, 0], gray[:, -1])]
    shares = [float(side.mean()) for side in sides]
    desk = max(shares) >= params.desk.band_side_share and min(shares) <= 1 - params.desk.band_side_share
    if desk:
        sides = [side for side, share in zip(sides, shares) if share > 1 - params.desk.band_side_share]
    bright = bool(np.mean(np.concatenate(sides)) >= 0.5)
    return bright, desk and bright


def auto_invert(gray: np.ndarray, binary: np.ndarray, *, params: Params | None = None) -> Inversion:
    """Make the ink bright on black, like MNIST, and say why.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale image. Not modified.
    binary : (H, W) bool ndarray
        ``binarize(gray)``: True = brighter than the threshold.

    Returns
    -------
    Inversion
        ``gray`` with ink bright, the ink mask, whether it was inverted and a one-sentence reason.
    """
    params = DEFAULT_PARAMS if params is None else params
    gray = _check_gray(gray)
    if not isinstance(binary, np.ndarray) or binary.shape != gray.shape:
        raise ValueError(f"binary must be an array of shape {gray.shape}, got {getattr(binary, 'shape', binary)}")
    return _auto_invert(gray, binary.astype(bool, copy=False), _histogram(gray), params=params)


def _auto_invert(
    gray: np.ndarray,
    binary: np.ndarray,
    hist: np.ndarray,
    dark_ink: bool | None = None,
    *,
    on_sheet: bool = False,
    params: Params,
) -> Inversion:
    """``auto_invert``; ``dark_ink``: ``_ink_is_dark(gray, hist)`` when the caller has it already;
    ``on_sheet``: ``gray`` is a crop to a sheet found on a desk (the reason says so)."""
    if dark_ink is None:
        dark_ink = _ink_is_dark(gray, hist, on_sheet=on_sheet, params=params)
    border_bright, desk = _border_brightness(gray, params=params)
    if on_sheet:
        if dark_ink:
            reason = (
                "The picture was cropped to the sheet of paper, and the marks on it are darker than the paper: "
                "inverted so the ink is bright like MNIST."
            )
            return Inversion(gray=255 - gray, ink=~binary, inverted=True, reason=reason)
        reason = (
            "The picture was cropped to the sheet, and the marks on it are brighter than the sheet: kept as it "
            "is, the ink is already bright like MNIST."
        )
        return Inversion(gray=gray.copy(), ink=binary.copy(), inverted=False, reason=reason)
    if dark_ink:
        if desk:
            reason = (
                "Some sides of the picture are light paper all along and the others dark (a desk beside the "
                "page, or a shadow over part of it), so the ink is dark on light paper: inverted so the ink is "
                "bright like MNIST."
            )
        elif border_bright:
            reason = (
                "The border is mostly bright, so the background is light paper: inverted so the ink is "
                "bright like MNIST."
            )
        else:
            reason = (
                "Most of the picture is lighter than the strokes (the dark border is a desk or a shadow), "
                "so the ink is dark on light paper: inverted so the ink is bright like MNIST."
            )
        return Inversion(gray=255 - gray, ink=~binary, inverted=True, reason=reason)
    if not border_bright:
        reason = (
            "The border is mostly dark, so the background is dark: kept as it is, the ink is already bright like MNIST."
        )
    else:
        reason = (
            "Most of the picture is darker than the strokes, so the ink is already bright like MNIST: kept as it is."
        )
    return Inversion(gray=gray.copy(), ink=binary.copy(), inverted=False, reason=reason)
