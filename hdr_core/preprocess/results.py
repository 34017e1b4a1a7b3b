"""What the preprocessing returns: boxes, the inversion decision, one digit's or a whole number's steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

ThresholdMethod = Literal["mean", "otsu", "adaptive"]
THRESHOLD_METHODS: tuple[str, ...] = get_args(ThresholdMethod)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixel coordinates: columns ``x .. x+w-1``, rows ``y .. y+h-1``."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        """``[x, y, w, h]`` as plain ints (for JSON)."""
        return [int(self.x), int(self.y), int(self.w), int(self.h)]

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the box from an ``(H, W)`` array."""
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    def union(self, other: Box) -> Box:
        """The smallest box holding both boxes."""
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Stage:
    """One stage that ran on a picture, as the trace records it.

    Attributes
    ----------
    name : str
        The stage: ``"load"``, ``"sheet"``, ``"grayscale"``, ``"threshold"``, ``"invert"``, ``"clean"``,
        ``"lines"``, ``"join"``, ``"desk"``, ``"locate"`` / ``"digits"``, ``"normalize"``.
    title : str
        A short title for the Upload page ("Sheet found").
    reason : str
        One sentence: what the stage did and the evidence it had for doing it.
    image : ndarray
        What the stage made: (H, W, 3) or (H, W) uint8, (H, W) bool (True = ink, or brighter than the
        threshold), or (28, 28) / (K, 28, 28) float32 model inputs for ``"normalize"``.
    """

    name: str
    title: str
    reason: str
    image: np.ndarray

    def as_dict(self) -> dict[str, str]:
        """``{"stage", "reason"}`` for JSON (``predict --json``'s ``"steps"``)."""
        return {"stage": self.name, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class Inversion:
    """What ``auto_invert`` decided.

    Attributes
    ----------
    gray : (H, W) uint8 ndarray
        The grayscale image with ink bright on dark (inverted when ``inverted``).
    ink : (H, W) bool ndarray
        The threshold's ink pixels (``~binary`` for dark ink, ``binary`` for bright ink).
    inverted : bool
        Whether the image was inverted (dark ink on light paper).
    reason : str
        One sentence for the Upload page saying why.
    """

    gray: np.ndarray
    ink: np.ndarray
    inverted: bool
    reason: str


@dataclass(frozen=True)
class Preprocessed:
    """Every step of turning one image into the model input (the Upload page shows them all).

    Attributes
    ----------
    original : (H, W, 3) or (H, W) uint8 ndarray
        The image as given; cropped to the sheet of paper when ``page`` is set (every other image
        and box here is then in the crop's pixels).
    gray : (H, W) uint8 ndarray
        Grayscale.
    binary : (H, W) bool ndarray
        The threshold's output before inversion: True = brighter than the threshold.
    threshold : float
        The threshold used (the mean of the threshold map for ``adaptive``).
    method : str
        ``"mean"``, ``"otsu"`` or ``"adaptive"``.
    inverted : bool
        Whether dark ink on light paper was inverted to bright ink on black.
    invert_reason : str
        One sentence saying why (or why not).
    ink : (H, W) bool ndarray
        The ink that was kept: after inversion, cleaning (local contrast, specks, lines, fragments).
    box : Box
        Where the digit is, in original pixel coordinates.
    model_input : (28, 28) float32 ndarray
        The model input in [0, 1], ink bright on black, like MNIST.
    page : Box or None
        Where the sheet lies in the image as given, when the photo shows a sheet of paper on a
        darker desk (``find_page``) or a slate on a lighter one and was cropped to it; None otherwise.
    trace : tuple of Stage
        The stages that ran on this picture, in order, each with its image and the reason it ran.
        Stages whose evidence was absent (no sheet, no ruled lines...) are not in it.
    reading : str
        One sentence: whether the picture was clean (even paper, one blob of ink), so that only the
        textbook's stages ran, or what evidence it showed for the corrective ones.
    """

    original: np.ndarray
    gray: np.ndarray
    binary: np.ndarray
    threshold: float
    method: str
    inverted: bool
    invert_reason: str
    ink: np.ndarray
    box: Box
    model_input: np.ndarray
    page: Box | None = None
    trace: tuple[Stage, ...] = ()
    reading: str = ""


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a whole number: where it is and its model input ((28, 28) float32 in [0, 1])."""

    box: Box
    model_input: np.ndarray


@dataclass(frozen=True)
class MultiPreprocessed(Preprocessed):
    """Every step of segmenting a whole number, plus its digits.

    The fields of ``Preprocessed`` mean the same; ``box`` holds all digits and ``model_input`` is the
    first digit's, so code written for one digit still works.

    Attributes
    ----------
    digits : tuple of DigitCrop
        The digits in reading order: rows top to bottom, left to right in each row.
    rows : tuple of tuple of int
        Indices into ``digits``, one tuple per row.
    """

    digits: tuple[DigitCrop, ...] = ()
    rows: tuple[tuple[int, ...], ...] = ()

    def number(self, labels) -> str:
        """The number as text: ``labels`` (one string or int per digit, in ``digits``' order) joined row by row,
        rows separated by ``/`` (as in real-dev's labels): ``"123/45"``."""
        return "/".join("".join(str(labels[i]) for i in row) for row in self.rows)
