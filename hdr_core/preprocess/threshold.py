"""The grey level (or map) separating ink from paper: mean, Otsu or adaptive."""

from __future__ import annotations

import cv2
import numpy as np

from .grayscale import _check_gray, _spread
from .inversion import _ink_is_dark
from .params import DEFAULT_PARAMS, Params
from .results import THRESHOLD_METHODS, ThresholdMethod


def _check_method(method: str) -> None:
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"threshold method must be one of {THRESHOLD_METHODS}, got {method!r}")


def _default_block_size(shape: tuple[int, ...]) -> int:
    """Adaptive neighbourhood: a quarter of the short side (wider than strokes, follows shadows)."""
    return max(3, int(min(shape[:2]) / 4) | 1)


def threshold_value(
    gray: np.ndarray,
    method: ThresholdMethod = "mean",
    *,
    block_size: int | None = None,
    offset: float | None = None,
    params: Params | None = None,
) -> float | np.ndarray:
    """The grey level separating ink from paper.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale image. Not modified.
    method : {'mean', 'otsu', 'adaptive'}
        ``mean``: the image's mean (the reference pipeline's choice). ``otsu``: the level that best
        separates two classes of grey levels. ``adaptive``: a map, the mean of each pixel's
        ``block_size`` neighbourhood shifted by ``offset`` away from the paper; copes with uneven
        lighting where one global level cannot.
    block_size : int, optional, keyword-only
        Odd neighbourhood side for ``adaptive``; default a quarter of the short side.
    offset : float, optional, keyword-only
        How far (grey levels) ink must be from its neighbourhood mean for ``adaptive``; default 10%
        of the image's grey-level range, at least 5.

    Returns
    -------
    threshold : float or (H, W) float32 ndarray
        Pixels brighter than this are "bright" (``binarize`` returns True for them).
    """
    params = DEFAULT_PARAMS if params is None else params
    gray = _check_gray(gray)
    _check_method(method)
    if method == "mean":
        return float(gray.mean())
    if method == "otsu":
        level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return float(level)
    if block_size is None:
        block_size = _default_block_size(gray.shape)
    if block_size < 3 or block_size % 2 == 0:
        raise ValueError(f"block_size must be odd and >= 3, got {block_size}")
    if offset is None:
        offset = max(5.0, 0.1 * _spread(gray))
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    local_mean = cv2.blur(gray.astype(np.float32), (block_size, block_size), borderType=cv2.BORDER_REFLECT)
    # Shift away from the paper: below the local mean for dark ink, above it for bright ink.
    sign = -1.0 if _ink_is_dark(gray, params=params) else 1.0
    return local_mean + np.float32(sign * offset)


def binarize(
    gray: np.ndarray, method: ThresholdMethod = "mean", *, params: Params | None = None, **options
) -> np.ndarray:
    """Threshold a grayscale image.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Not modified.
    method : {'mean', 'otsu', 'adaptive'}
        See ``threshold_value``; ``options`` (``block_size``, ``offset``) are passed on to it.

    Returns
    -------
    binary : (H, W) bool ndarray
        True where the pixel is brighter than the threshold (before any inversion).
    """
    params = DEFAULT_PARAMS if params is None else params
    gray = _check_gray(gray)
    return gray > threshold_value(gray, method, **options, params=params)
