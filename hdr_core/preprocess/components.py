"""Connected components of an ink mask and the measurements the selection rules share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .results import Box


@dataclass(frozen=True)
class _Components:
    """Connected components of a mask, with the measurements the selection rules need."""

    labels: np.ndarray  # (H, W) int32, 0 = background
    stats: np.ndarray  # (n, 5) int32: x, y, w, h, area (row 0 = background)
    centroids: np.ndarray  # (n, 2) float64

    @cached_property
    def border_counts(self) -> np.ndarray:
        """(4, n) int64: each component's pixels in the top row, bottom row, left and right column."""
        labels = self.labels
        return np.stack(
            [np.bincount(side, minlength=self.count) for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1])]
        )

    @property
    def count(self) -> int:
        return len(self.stats)

    def box(self, index: int) -> Box:
        x, y, w, h, _ = (int(v) for v in self.stats[index])
        return Box(x, y, w, h)

    def area(self, index: int) -> int:
        return int(self.stats[index, cv2.CC_STAT_AREA])

    def stroke_width(self, index: int) -> float:
        """2 * area / perimeter of one component, in pixels."""
        box = self.box(index)
        return _stroke_width(self.labels[box.slices] == index)


def _components(mask: np.ndarray) -> _Components:
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return _Components(labels, stats, centroids)


def _labels_mask(comps: _Components, labels: list[int]) -> np.ndarray:
    """(H, W) bool: the pixels of the given components (a lookup table: faster than np.isin)."""
    table = np.zeros(comps.count, bool)
    table[labels] = True
    return table[comps.labels]


def _touches_border(box: Box, shape: tuple[int, ...]) -> bool:
    height, width = shape[:2]
    return box.x == 0 or box.y == 0 or box.x + box.w >= width or box.y + box.h >= height


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they overlap)."""
    dx = max(0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
    dy = max(0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
    return float(np.hypot(dx, dy))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a mask in pixels: 2 * area / perimeter (exact for long strokes)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    area = float(np.count_nonzero(mask))
    return 2.0 * area / perimeter if perimeter > 0 else area**0.5


def _shrunk_mask(mask: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    """(H, W) uint8 0/1 -> a copy at most ``longest`` pixels long in which any ink in a block keeps the
    block (thin lines survive the shrinking; ``mask`` itself if it is no longer), and its scale."""
    height, width = mask.shape
    scale = min(1.0, longest / max(height, width))
    if scale == 1:
        return mask, scale
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return (cv2.resize(mask * 255, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8), scale


def _check_mask(mask: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ValueError(f"{name} must be a (H, W) boolean array, got {getattr(mask, 'shape', type(mask).__name__)}")
    return mask.astype(bool, copy=False)


def _crop_to_ink(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _weighted_median(values, weights) -> float:
    """The value holding the middle of the total weight (values and weights: equal-length sequences)."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, np.float64)[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
