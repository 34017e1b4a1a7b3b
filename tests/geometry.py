"""Measurements on digit images shared by the test modules."""

from __future__ import annotations

import cv2
import numpy as np


def ink_shear(image: np.ndarray) -> float:
    """The horizontal shear that would make the ink's principal axis vertical (mu11 / mu02).

    ``image`` is (H, W) ink bright on black, any dtype. Positive when the top leans left.
    """
    m = cv2.moments(image.astype(np.float32))
    return m["mu11"] / m["mu02"]
