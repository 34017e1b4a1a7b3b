"""Small work copies: lighting and paper are measured on a copy a few hundred pixels long, then brought back."""

from __future__ import annotations

import cv2
import numpy as np

from .params import Params


def _work_copy(gray: np.ndarray, *, params: Params) -> np.ndarray:
    """(H, W) uint8 -> a copy at most ``params.contrast.work_side`` long (area-averaged; ``gray`` itself if
    it is no longer)."""
    height, width = gray.shape
    scale = min(1.0, params.contrast.work_side / max(height, width))
    if scale == 1:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _full_size(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A map made on the work copy, brought back to the picture's (H, W) (bilinear)."""
    if small.shape == shape[:2]:
        return small
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _wide_kernel_side(small: np.ndarray, *, params: Params) -> int:
    """The odd window side a third of the work copy's long side (at least 3)."""
    return max(3, int(max(small.shape) * params.contrast.kernel_fraction) | 1)


def _gray_opening(small: np.ndarray, side: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    return cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)


def _wide_level(gray: np.ndarray, level_of, *, params: Params) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8: a level that follows only what is wider than strokes.

    ``level_of(small, side)`` filters a copy at most ``params.contrast.work_side`` long with a window
    ``side`` (odd) a third of its long side; the result is brought back to full size. Working on
    the small copy keeps it fast on any photo, and lighting is smooth anyway.
    """
    small = _work_copy(gray, params=params)
    return _full_size(level_of(small, _wide_kernel_side(small, params=params)), gray.shape)


def _edge(mask: np.ndarray) -> np.ndarray:
    """The outermost rows and columns of a 2-D array, as one 1-D array."""
    return np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
