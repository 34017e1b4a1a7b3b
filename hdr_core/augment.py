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
from .errors import BlankImageError
from .preprocess import Box, normalize


@dataclass(frozen=True)
class Augmentation:
    """How strongly to vary the training digits; all zero means no augmentation."""

    rotation: float = 0.0  # maximum rotation in degrees, either way (10-15 covers handwriting slant)
    shift: float = 0.0  # maximum shift as a fraction of the image size, either axis
    zoom: float = 0.0  # maximum relative change of size (0.15: 85% to 115%)
    thickness: float = 0.0  # probability of making strokes thinner or thicker (pens and brushes differ)
    blur: float = 0.0  # probability of a slight blur (out-of-focus photos, soft scans)
    slant: float = 0.0  # maximum horizontal shear either way (0.3: italic up to about 17 degrees)
    # Probability of writing a 7 or a 1 the continental-European way: a 7 with a bar across its stem,
    # a 1 with a long up-stroke. MNIST's American writers almost never do, so without this a network
    # reads such a 7 as a 4 and such a 1 as a 7. Half of these restyle MNIST's digit (cross_seven,
    # flag_one), half are drawn afresh with a thin pen (pen_seven, pen_one).
    style: float = 0.0
    # Probability of an elastic distortion: a smooth random displacement field that wobbles the
    # strokes the way a hand does (Simard et al., 2003), so loops open, corners round and bars bend.
    elastic: float = 0.0
    # Probability of re-rendering a digit the way the preprocessing renders real input (binarised,
    # strokes reshaped to MNIST's 2.2-3.2 px, fit into 20x20 and centred by mass). MNIST's own digits were
    # rendered differently (grey anti-aliasing, 1.7-3.2 px strokes), so without it every photo or
    # scan reaches the network in a rendering it never saw in training.
    renormalize: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.rotation <= 180:
            raise ValueError(f"rotation must be between 0 and 180 degrees, got {self.rotation}")
        if not 0 <= self.shift < 0.5:
            raise ValueError(f"shift must be in [0, 0.5), got {self.shift}")
        if not 0 <= self.zoom < 1:
            raise ValueError(f"zoom must be in [0, 1), got {self.zoom}")
        if not 0 <= self.slant <= 1:
            raise ValueError(f"slant must be in [0, 1], got {self.slant}")
        for name in ("thickness", "blur", "style", "elastic", "renormalize"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} is a probability and must be in [0, 1], got {value}")

    @property
    def active(self) -> bool:
        return any((self.rotation, self.shift, self.zoom, self.thickness, self.blur, self.style, self.slant,
                    self.elastic, self.renormalize))


_CENTRE = (IMAGE_SIZE / 2 - 0.5, IMAGE_SIZE / 2 - 0.5)
_THICKEN = np.ones((2, 2), np.uint8)  # a 2x2 dilation adds about one pixel of stroke width at 28x28
_MIN_INK_KEPT = 0.45  # thinning that leaves less than this share of the ink would erase thin strokes


_INK = 128  # a pixel at least this bright belongs to a stroke
_SUBPIXEL = 4  # cv2.line's shift: coordinates in 1/16 pixel


def _stroke_width(image: np.ndarray) -> int:
    """Typical stroke width of a 28x28 digit in whole pixels (2 or 3, as MNIST's pens are)."""
    ink = image >= _INK
    thinned = cv2.erode(ink.astype(np.uint8), _THICKEN)
    # Ink that survives one 2x2 erosion lies in strokes at least 3 px wide.
    return 3 if thinned.sum() > 0.35 * ink.sum() else 2


def _line(image: np.ndarray, start, end, width: int = 2) -> None:
    """Draw an anti-aliased stroke ``width`` px wide from ``start`` to ``end`` (x, y floats) into ``image`` in place."""
    scale = 1 << _SUBPIXEL
    canvas = np.zeros_like(image)
    cv2.line(canvas, (round(start[0] * scale), round(start[1] * scale)), (round(end[0] * scale), round(end[1] * scale)),
             255, thickness=width, lineType=cv2.LINE_AA, shift=_SUBPIXEL)
    np.maximum(image, canvas, out=image)


def cross_seven(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of a 7 with a bar across the middle of its stem, as many Europeans write it.

    The bar is about as long as half the top bar or more (8-14 px at MNIST's scale), roughly level, a
    little below the middle and not always centred on the stem. Writers who cross their 7s often write
    them narrow and dip the top bar into a "v" (a lead-in down from its left end, then up to the corner
    where the stem starts, so the top looks like a "y"); half of the variants are squeezed to 60-90% of
    their width and, independently, half get the dipped top. With the bar, that dip is what makes such
    a 7 look like a 4 to a network that has only seen MNIST.

    Parameters
    ----------
    image : (28, 28) uint8 ndarray
        A 7, ink bright on black.
    rng : numpy.random.Generator

    Returns
    -------
    crossed : (28, 28) uint8 ndarray
        The restyled digit; without a bar when no stem is found at its height.
    """
    if rng.random() < 0.5:  # such 7s are often narrow: squeeze the width about the ink's centre
        columns = np.flatnonzero(image.max(axis=0) >= _INK)
        if len(columns):
            squeeze = rng.uniform(0.6, 0.9)
            centre = (columns[0] + columns[-1]) / 2
            matrix = np.array([[squeeze, 0.0, centre * (1 - squeeze)], [0.0, 1.0, 0.0]])
            image = cv2.warpAffine(image, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR)
    rows = np.flatnonzero(image.max(axis=1) >= _INK)
    if len(rows) < 8:
        return image.copy()
    height = rows[-1] - rows[0]
    y = rows[0] + height * rng.uniform(0.42, 0.7)
    stem = np.flatnonzero(image[int(round(y))] >= _INK)
    if not len(stem):
        return image.copy()
    width = _stroke_width(image)
    length = height * rng.uniform(0.4, 0.7)
    left = length * rng.uniform(0.35, 0.65)  # share of the bar left of the stem
    tilt = rng.uniform(-1.2, 1.2)
    x = stem.mean()
    out = image.copy()
    _line(out, (x - left, y + tilt), (x + length - left, y - tilt), width)
    if rng.random() < 0.5:
        band = slice(rows[0], rows[0] + max(2, height // 5))  # the top bar's rows
        ys, xs = np.nonzero(out[band] >= _INK)
        left_end, corner = xs.min() + 0.5, xs.max() - 0.5
        out[band, :max(int(corner) - width, 0)] = 0
        top = rows[0] + 0.5
        start = (left_end + rng.uniform(-1.5, 1.5), top + rng.uniform(0.0, 2.0))
        valley = (left_end + (corner - left_end) * rng.uniform(0.3, 0.6), top + height * rng.uniform(0.15, 0.4))
        _line(out, start, valley, width)
        _line(out, valley, (corner, top), width)
    return out


_FLAG_FROM_VERTICAL = (30.0, 60.0)  # degrees: a 1's up-stroke falls steeply; a 7's top bar is near level
_FLAG_FROM_STEM = 20.0  # degrees: the least angle between up-stroke and stem, so the two stay apart


def _flag_angle(lean: float, rng: np.random.Generator) -> float:
    """Angle in radians from a 1's stem to its up-stroke, turning towards the left.

    The up-stroke's direction is drawn against the page's vertical, not the stem's: a leaning stem
    with an up-stroke at a fixed angle to it puts the up-stroke level, and a 1 drawn that way is a 7
    (MNIST's short-barred 7s were read as 1s when the angle was taken from the stem). ``lean`` is the
    stem's angle in radians from the vertical, positive when its top is to the right.
    """
    from_vertical = np.deg2rad(rng.uniform(*_FLAG_FROM_VERTICAL))
    return float(max(from_vertical - lean, np.deg2rad(_FLAG_FROM_STEM)))


def flag_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of a 1 with a long up-stroke from its top down to the left, as many Europeans write it.

    The up-stroke is 30-65% of the digit's height and falls 30-60 degrees below the level, at least
    20 degrees off the stem (see :func:`_flag_angle`); one in four also gets a foot, the short level bar
    some writers put under a 1.

    Parameters
    ----------
    image : (28, 28) uint8 ndarray
        A 1, ink bright on black.
    rng : numpy.random.Generator

    Returns
    -------
    flagged : (28, 28) uint8 ndarray
    """
    rows = np.flatnonzero(image.max(axis=1) >= _INK)
    if len(rows) < 8:
        return image.copy()
    top, bottom = rows[0], rows[-1]
    height = bottom - top
    width = _stroke_width(image)
    x = np.flatnonzero(image[top:top + 2].max(axis=0) >= _INK).mean()
    # The stem's direction, top to bottom (the principal axis of the ink), so a slanted 1 gets its
    # up-stroke at the same angle to its stem as an upright one.
    ys, xs = np.nonzero(image >= _INK)
    _, _, axes = np.linalg.svd(np.stack([xs - xs.mean(), ys - ys.mean()], axis=1), full_matrices=False)
    down = axes[0] if axes[0][1] >= 0 else -axes[0]
    if down[1] < 0.7:  # not a stroke-like 1 (a blob, or lying down): assume upright
        down = np.array([0.0, 1.0])
    length = height * rng.uniform(0.3, 0.65)
    angle = _flag_angle(np.arctan2(-down[0], down[1]), rng)
    direction = np.array([down[0] * np.cos(angle) - down[1] * np.sin(angle),
                          down[0] * np.sin(angle) + down[1] * np.cos(angle)])
    out = image.copy()
    _line(out, (x, top + 0.5), (x + length * direction[0], top + 0.5 + length * direction[1]), width)
    if rng.random() < 0.25:
        foot = np.flatnonzero(image[bottom - 1:bottom + 1].max(axis=0) >= _INK).mean()
        half = height * rng.uniform(0.12, 0.25)
        _line(out, (foot - half, bottom), (foot + half, bottom), 2)
    return out


_ELASTIC_SIGMA = 4.0  # smoothness of the displacement field, in pixels (Simard et al.: 4 at 28x28)
_ELASTIC_ALPHA = (20.0, 34.0)  # its strength; the smoothed field's largest shifts come to about 1-3 px
_GRID = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)  # (2, 28, 28): row, column of each pixel


def elastic_distort(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wobble a digit's strokes with a smooth random displacement field.

    Parameters
    ----------
    image : (28, 28) uint8 ndarray
        One digit, ink bright on black. Not modified.
    rng : numpy.random.Generator
        Source of the random field.

    Returns
    -------
    distorted : (28, 28) uint8 ndarray
        The same digit, its strokes bent by a few pixels at most, ink kept inside the frame.
    """
    alpha = rng.uniform(*_ELASTIC_ALPHA)
    field = rng.uniform(-1.0, 1.0, (2, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    dy, dx = (cv2.GaussianBlur(f, (0, 0), _ELASTIC_SIGMA) * alpha for f in field)
    return cv2.remap(image, _GRID[1] + dx, _GRID[0] + dy, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


_PEN_CANVAS = 4 * IMAGE_SIZE  # continental digits are drawn at 4x and rendered down like real input


def _pen_point(x: float, y: float, scale: float, margin: float) -> tuple[int, int]:
    return int(round((margin + x * scale) * 2**_SUBPIXEL)), int(round((margin + y * scale) * 2**_SUBPIXEL))


def _render_pen(strokes: list[list[tuple[float, float]]], width: float) -> np.ndarray:
    """Polylines in a unit-height frame (x right, y down) drawn with a pen ``width`` of the height."""
    margin = 0.15 * _PEN_CANVAS
    scale = 0.6 * _PEN_CANVAS
    canvas = np.zeros((_PEN_CANVAS + int(scale), _PEN_CANVAS + int(scale)), np.uint8)
    pen = max(2, int(round(width * scale)))
    for stroke in strokes:
        points = np.array([_pen_point(x, y, scale, margin) for x, y in stroke], np.int32)
        cv2.polylines(canvas, [points], False, 255, thickness=pen, lineType=cv2.LINE_AA, shift=_SUBPIXEL)
    return _render_like_input(canvas)


def _render_like_input(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 ink bright on black -> (28, 28) uint8 through ``preprocess.normalize``.

    Without the slant step: the augmentation's own shear (``slant``) and the pen strokes' lean are
    the slant variety it means to add, and the shipped models were trained on renders made this way.
    """
    full = Box(0, 0, image.shape[1], image.shape[0])
    return np.round(normalize(image, image >= _INK, full, straighten=False) * 255).astype(np.uint8)


def _bent(start, end, rng: np.random.Generator, bend: float = 0.06) -> list[tuple[float, float]]:
    """A stroke from start to end that bows a little to one side, as a hand does."""
    (x0, y0), (x1, y1) = start, end
    length = float(np.hypot(x1 - x0, y1 - y0)) or 1.0
    offset = rng.uniform(-bend, bend) * length
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    return [(x0 + (x1 - x0) * t + nx * offset * 4 * t * (1 - t), y0 + (y1 - y0) * t + ny * offset * 4 * t * (1 - t))
            for t in np.linspace(0.0, 1.0, 9)]


def pen_seven(rng: np.random.Generator) -> np.ndarray:
    """A continental 7 drawn with a thin pen: top bar (straight, or dipped into a "v" as deep as a
    "y"), a long stem down to the left, and a bar across the stem anywhere from its middle to near its
    foot, where with the top bar it makes a crossed "Z".

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every proportion, angle and pen width; the same state draws the same digit.

    Returns
    -------
    seven : (28, 28) uint8 ndarray
        Rendered like real input (see :func:`renormalize_digit`).
    """
    width = rng.uniform(0.45, 0.85)
    corner = (width * rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.06))
    bottom = (width * rng.uniform(0.0, 0.45), 1.0)
    start = (rng.uniform(0.0, 0.1) * width, rng.uniform(0.0, 0.15))
    if rng.random() < 0.5:
        top = _bent(start, corner, rng)
    else:  # a "v" dip, down to almost half the height in a "y"-topped 7
        valley = (width * rng.uniform(0.3, 0.6), rng.uniform(0.12, 0.45))
        top = _bent(start, valley, rng)[:-1] + _bent(valley, corner, rng)
    stem = _bent(corner, bottom, rng)
    t = rng.uniform(0.4, 0.88)  # low bars too: some writers cross the stem near its foot, like a "Z"
    px, py = corner[0] + t * (bottom[0] - corner[0]), corner[1] + t * (bottom[1] - corner[1])
    length = rng.uniform(0.3, 0.7)
    left = length * rng.uniform(0.2, 0.65)  # the bar always crosses the stem, often reaching further right
    tilt = np.tan(np.deg2rad(rng.uniform(-8, 8)))
    bar = _bent((px - left, py + left * tilt), (px + length - left, py - (length - left) * tilt), rng)
    return _render_pen([top + stem[1:], bar], rng.uniform(0.04, 0.09))


def pen_one(rng: np.random.Generator) -> np.ndarray:
    """A continental 1 drawn with a thin pen: an up-stroke 25-60% of the height falling 30-60 degrees
    below the level (see :func:`_flag_angle`), the stem itself upright or leaning, and a foot on a
    quarter of them, under the stem or crossing it just above its end.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every proportion, angle and pen width; the same state draws the same digit.

    Returns
    -------
    one : (28, 28) uint8 ndarray
        Rendered like real input (see :func:`renormalize_digit`).
    """
    lean = rng.uniform(-0.1, 0.35)  # how far right the top is of the bottom, per unit of height
    apex, bottom = (0.5 + lean / 2, 0.0), (0.5 - lean / 2, 1.0)
    down = np.array([bottom[0] - apex[0], 1.0]) / np.hypot(bottom[0] - apex[0], 1.0)
    angle = _flag_angle(np.arctan2(-down[0], down[1]), rng)
    direction = (down[0] * np.cos(angle) - down[1] * np.sin(angle), down[0] * np.sin(angle) + down[1] * np.cos(angle))
    length = rng.uniform(0.25, 0.6)
    flag_end = (apex[0] + length * direction[0], apex[1] + length * direction[1])
    strokes = [_bent(flag_end, apex, rng)[:-1] + _bent(apex, bottom, rng, 0.03)]
    if rng.random() < 0.25:  # the foot: under the stem, or across it a little above its end
        half = rng.uniform(0.12, 0.3)
        y = rng.uniform(0.86, 1.0)
        x = apex[0] + (bottom[0] - apex[0]) * y
        strokes.append(_bent((x - half, y), (x + half, y), rng))
    return _render_pen(strokes, rng.uniform(0.04, 0.09))


def renormalize_digit(image: np.ndarray) -> np.ndarray:
    """Re-render a 28x28 digit exactly as the preprocessing renders a photographed or scanned one.

    Parameters
    ----------
    image : (28, 28) uint8 ndarray
        One digit, ink bright on black. Not modified.

    Returns
    -------
    rendered : (28, 28) uint8 ndarray
        Its ink (pixels >= 128) with strokes reshaped to MNIST's 2.2-3.2 px, fit into 20x20 and centred by
        mass, as :func:`hdr_core.preprocess.normalize` does (its slant kept: the augmentation varies
        slant itself); the input unchanged if it has no such ink.
    """
    try:
        return _render_like_input(image)
    except BlankImageError:
        return image.copy()


def augment_batch(images: np.ndarray, augmentation: Augmentation, rng: np.random.Generator,
                  labels: np.ndarray | None = None) -> np.ndarray:
    """Randomly transform a batch of digits.

    Parameters
    ----------
    images : (N, 28, 28) uint8 ndarray
        Digits, ink bright on black. Not modified.
    augmentation : Augmentation
        Strength of each transform.
    rng : numpy.random.Generator
        Source of randomness; the same state gives the same output.
    labels : (N,) int ndarray, optional
        Digit labels 0-9; needed for the style variants of 1 and 7, which are skipped without them.

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
    restyle = rng.random(n) < augmentation.style
    # Drawn only when asked for, so runs without slant see the same random stream as before it existed.
    shears = rng.uniform(-augmentation.slant, augmentation.slant, n) if augmentation.slant else np.zeros(n)
    elastic = rng.random(n) < augmentation.elastic if augmentation.elastic else np.zeros(n, bool)
    renormalize = (rng.random(n) < augmentation.renormalize if augmentation.renormalize
                   else np.zeros(n, bool))
    geometric = bool(augmentation.rotation or augmentation.zoom or augmentation.shift or augmentation.slant)
    for i in range(n):
        image = images[i]
        if labels is not None and restyle[i]:
            # Half restyle MNIST's own digit, half are drawn afresh with a thin pen (MNIST's thick
            # 1s and 7s, restyled, keep their heavy look, which real continental writing lacks).
            if labels[i] == 7:
                image = pen_seven(rng) if rng.random() < 0.5 else cross_seven(image, rng)
            elif labels[i] == 1:
                image = pen_one(rng) if rng.random() < 0.5 else flag_one(image, rng)
        if renormalize[i]:  # after the style variant, so its added strokes are re-rendered too
            image = renormalize_digit(image)
        if elastic[i]:
            image = elastic_distort(image, rng)
        if geometric:
            matrix = cv2.getRotationMatrix2D(_CENTRE, float(angles[i]), float(scales[i]))
            if shears[i]:  # slant first, about the centre: x += k * (y - centre)
                shear = np.array([[1.0, shears[i], -shears[i] * _CENTRE[1]], [0.0, 1.0, 0.0]])
                offset = matrix[:, :2] @ shear[:, 2] + matrix[:, 2]
                matrix = np.hstack([matrix[:, :2] @ shear[:, :2], offset[:, None]])
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
