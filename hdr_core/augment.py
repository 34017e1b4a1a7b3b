"""Data augmentation for training on digits, in NumPy and OpenCV.

Real handwriting differs from MNIST in slant, position, size, stroke thickness and sharpness; each
transform here covers one of those. It runs on uint8 batches as they are fed to the network, so the
dataset is never copied as float and every epoch sees fresh variants. Everything is driven by a
``numpy.random.Generator``, so a seed reproduces a run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .constants import IMAGE_SIZE


@dataclass(frozen=True)
class Augmentation:
    """How strongly to vary the training digits; all zero means no augmentation."""

    rotation: float = 0.0  # maximum rotation in degrees, either way (10-15 covers handwriting slant)
    shift: float = 0.0  # maximum shift as a fraction of the image size, either axis
    zoom: float = 0.0  # maximum relative change of size (0.15: 85% to 115%)
    thickness: float = 0.0  # probability of making strokes thinner or thicker (pens and brushes differ)
    blur: float = 0.0  # probability of a slight blur (out-of-focus photos, soft scans)

    def __post_init__(self) -> None:
        if not 0 <= self.rotation <= 180:
            raise ValueError(f"rotation must be between 0 and 180 degrees, got {self.rotation}")
        if not 0 <= self.shift < 0.5:
            raise ValueError(f"shift must be in [0, 0.5), got {self.shift}")
        if not 0 <= self.zoom < 1:
            raise ValueError(f"zoom must be in [0, 1), got {self.zoom}")
        for name in ("thickness", "blur"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} is a probability and must be in [0, 1], got {value}")

    @property
    def active(self) -> bool:
        return any((self.rotation, self.shift, self.zoom, self.thickness, self.blur))


_CENTRE = (IMAGE_SIZE / 2 - 0.5, IMAGE_SIZE / 2 - 0.5)
_THICKEN = np.ones((2, 2), np.uint8)  # a 2x2 dilation adds about one pixel of stroke width at 28x28
_MIN_INK_KEPT = 0.45  # thinning that leaves less than this share of the ink would erase thin strokes


def augment_batch(images: np.ndarray, augmentation: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """Randomly transform a batch of digits.

    Parameters
    ----------
    images : (N, 28, 28) uint8 ndarray
        Digits, ink bright on black. Not modified.
    augmentation : Augmentation
        Strength of each transform.
    rng : numpy.random.Generator
        Source of randomness; the same state gives the same output.

    Returns
    -------
    augmented : (N, 28, 28) uint8 ndarray
    """
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must have shape (N, 28, 28), got {images.shape}")
    out = np.empty_like(images)
    n = len(images)
    angles = rng.uniform(-augmentation.rotation, augmentation.rotation, n)
    scales = rng.uniform(1 - augmentation.zoom, 1 + augmentation.zoom, n)
    shifts = rng.uniform(-augmentation.shift, augmentation.shift, (n, 2)) * IMAGE_SIZE
    thickness = rng.random(n) < augmentation.thickness
    thicken = rng.random(n) < 0.5
    blur = rng.random(n) < augmentation.blur
    sigmas = rng.uniform(0.4, 0.9, n)
    geometric = bool(augmentation.rotation or augmentation.zoom or augmentation.shift)
    for i in range(n):
        image = images[i]
        if geometric:
            matrix = cv2.getRotationMatrix2D(_CENTRE, float(angles[i]), float(scales[i]))
            matrix[:, 2] += shifts[i]
            image = cv2.warpAffine(image, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if thickness[i]:
            if thicken[i]:
                image = cv2.dilate(image, _THICKEN)
            else:
                thinner = cv2.erode(image, _THICKEN)
                if int(thinner.sum()) >= _MIN_INK_KEPT * int(image.sum()):
                    image = thinner
        if blur[i]:
            image = cv2.GaussianBlur(image, (3, 3), float(sigmas[i]))
        out[i] = image
    return out
