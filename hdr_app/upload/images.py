"""The Upload page's pictures in NumPy and OpenCV: thumbnails for the browser, boxes and numbers drawn on a photo,
the model inputs side by side, the built-in examples.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np

from hdr_app import charts
from hdr_core.constants import IMAGE_SIZE
from hdr_core.preprocess import Box

DISPLAY_MAX_SIDE = 800  # step images are shrunk to at most this many pixels a side before the browser sees them


DISPLAY_MIN_SIDE = 280  # tiny images (a 28x28 scan cell) are blown up with square pixels to at least this


JPEG_QUALITY = 88


THUMB_SCALE = 2  # the 28x28 model input is shown 56x56 in the results table


BORDER_COLOR = 226  # a 1-pixel frame around each step image, so white paper does not melt into the page


BOX_COLOR = (234, 88, 12)  # orange-600: boxes and digit numbers, visible on paper and on blue ink


INK_COLOR = (37, 99, 235)  # the theme's blue: the ink that was kept


def display_scale(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> float:
    """Factor taking an image to at most ``max_side`` a side, or blowing a tiny one up to ``DISPLAY_MIN_SIDE``."""
    longest = max(height, width)
    if longest > max_side:
        return max_side / longest
    if longest < DISPLAY_MIN_SIDE:
        return float(int(np.ceil(DISPLAY_MIN_SIDE / longest)))
    return 1.0


def thumbnail(image: np.ndarray, *, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """A display copy of an image: at most ``max_side`` pixels a side.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 or bool ndarray
        Not modified. Bool masks become 0/255.
    max_side : int, keyword-only
        Longest side of the result. Images under ``DISPLAY_MIN_SIDE`` pixels are enlarged with square
        pixels (nearest neighbour) so that a 28x28 scan stays crisp.

    Returns
    -------
    thumb : (h, w) or (h, w, 3) uint8 ndarray
        Shrunk with area averaging (anti-aliased).
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        raise ValueError(f"image must be uint8 or bool, got {array.dtype}")
    height, width = array.shape[:2]
    scale = display_scale(height, width, max_side)
    if scale == 1.0:
        return np.ascontiguousarray(array)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    return cv2.resize(np.ascontiguousarray(array), size, interpolation=interpolation)


def encode_image(image: np.ndarray, *, photo: bool) -> bytes:
    """(h, w) or (h, w, 3) RGB uint8 -> JPEG (photos) or PNG (black and white) bytes."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if photo:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    else:
        ok, buffer = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("OpenCV could not encode a display image")
    return buffer.tobytes()


def decode(data: bytes) -> np.ndarray:
    """Encoded display image (from ``Steps``) -> (h, w, 3) RGB or (h, w) uint8 ndarray."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("not an encoded image")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def draw_boxes(
    image: np.ndarray,
    boxes: Sequence[Box],
    *,
    scale: float = 1.0,
    offset: tuple[int, int] = (0, 0),
    numbered: bool = False,
    ink: np.ndarray | None = None,
) -> np.ndarray:
    """Draw digit boxes (and their numbers) on a copy of a photo.

    Parameters
    ----------
    image : (h, w, 3) RGB or (h, w) gray uint8 ndarray
        Usually a ``thumbnail`` of the photo. Not modified.
    boxes : sequence of Box
        In the coordinates of the *original* image; multiplied by ``scale`` to land on ``image``.
    scale : float, keyword-only
        ``image`` size / original size.
    offset : (x, y), keyword-only
        Where ``image`` starts in the original (when it shows a crop): subtracted from the boxes.
    numbered : bool, keyword-only
        Write 1, 2, 3... at each box's top-left corner (reading order); under the box where the number
        before it is already there (digits cut apart where they touch).
    ink : (h, w) bool or uint8 ndarray, optional, keyword-only
        The ink that was kept, at ``image``'s size: painted blue, so dropped specks and lines show.

    Returns
    -------
    annotated : (h, w, 3) uint8 ndarray
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    height, width = out.shape[:2]
    if ink is not None:
        ink = np.asarray(ink)
        if ink.shape != (height, width):
            raise ValueError(f"ink must have the image's shape {(height, width)}, got {ink.shape}")
        weight = (ink.astype(np.float32) / (255.0 if ink.dtype == np.uint8 else 1.0))[:, :, None]
        out = np.clip(out * (1 - 0.85 * weight) + np.array(INK_COLOR, np.float32) * 0.85 * weight, 0, 255)
        out = np.rint(out).astype(np.uint8)
    # Sized for the page, where a step image is about 330 px wide: lines about 2 px and numbers about
    # 14 px tall on screen, whatever the thumbnail's own size.
    # The numbers are never taller than half a digit, so that small digits stay visible.
    on_screen = max(width, height * 4 / 3) / 330
    thickness = max(2, round(2 * on_screen))
    text_height = 14 * on_screen
    if boxes:
        text_height = min(text_height, 0.5 * float(np.median([b.h for b in boxes])) * scale)
    font_scale = max(0.35, text_height / 22)  # FONT_HERSHEY_SIMPLEX is about 22 px tall at scale 1
    font_thickness = max(1, round(font_scale * 1.8))
    tags: list[tuple[int, int, int, int]] = []  # (left, top, right, bottom) of each number drawn
    for number, box in enumerate(boxes, start=1):
        bx, by = box.x - offset[0], box.y - offset[1]
        x0, y0 = int(np.floor(bx * scale)), int(np.floor(by * scale))
        x1 = int(np.ceil((bx + box.w) * scale)) - 1
        y1 = int(np.ceil((by + box.h) * scale)) - 1
        pad = thickness
        x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
        x1, y1 = min(width - 1, x1 + pad), min(height - 1, y1 + pad)
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX_COLOR, thickness, lineType=cv2.LINE_AA)
        if numbered:
            label = str(number)
            (text_w, text_h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, font_thickness)
            tag_h = text_h + baseline + 4
            tag_w = text_w + 6
            top = y0 - tag_h if y0 - tag_h >= 0 else y0  # above the box, or inside it at the top
            left = min(x0, max(0, width - tag_w))
            if any(left <= r + 1 and left + tag_w >= l - 1 and top <= b + 1 and top + tag_h >= t - 1
                   for l, t, r, b in tags):  # a touching digit's number is there: this one goes under its box
                top = y1 + 1 if y1 + 1 + tag_h < height else max(0, y1 - tag_h)
            tags.append((left, top, left + tag_w, top + tag_h))
            cv2.rectangle(out, (left, top), (left + tag_w, top + tag_h), BOX_COLOR, -1)
            cv2.putText(out, label, (left + 3, top + text_h + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                        (255, 255, 255), font_thickness, lineType=cv2.LINE_AA)
    return out


def montage(model_inputs: np.ndarray, rows: Sequence[Sequence[int]], *, scale: int = 3, gap: int = 6) -> np.ndarray:
    """The digits' 28x28 model inputs side by side, one line per row of the number.

    Parameters
    ----------
    model_inputs : (K, 28, 28) float32 ndarray in [0, 1]
    rows : sequence of sequence of int
        Indices into ``model_inputs`` per row (``Steps.rows``).
    scale : int, keyword-only
        Each pixel becomes ``scale`` x ``scale`` (square pixels).
    gap : int, keyword-only
        White space between digits, in display pixels.

    Returns
    -------
    image : (h, w) uint8 ndarray
        Black digits tiles on a light grey background.
    """
    cell = IMAGE_SIZE * scale
    per_row = max((len(r) for r in rows), default=0)
    if per_row == 0:
        raise ValueError("rows must hold at least one digit index")
    height = len(rows) * cell + (len(rows) + 1) * gap
    width = per_row * cell + (per_row + 1) * gap
    out = np.full((height, width), 235, np.uint8)
    for r, row in enumerate(rows):
        for c, index in enumerate(row):
            y, x = gap + r * (cell + gap), gap + c * (cell + gap)
            out[y : y + cell, x : x + cell] = charts.enlarge(model_inputs[index], scale)
    return out


def model_input_data_uri(model_input: np.ndarray, *, scale: int = THUMB_SCALE) -> str:
    """A (28, 28) float32 model input as a ``data:image/png;base64,...`` URI (for a table's image column)."""
    png = encode_image(charts.enlarge(model_input, scale), photo=False)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


EXAMPLES = {
    "shadow-7.png": "a 7 on paper with a shadow",
    "number-2026.png": "the number 2026",
}


def example_image(name: str) -> bytes:
    """A generated example photo as PNG bytes: ``shadow-7.png`` or ``number-2026.png``.

    Drawn with OpenCV's Hershey script font on paper with uneven lighting, a shadow over one corner
    and a few specks, so every step of the pipeline has something to do (and one global threshold
    fails where the adaptive one does not). Deterministic.
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; choose one of {tuple(EXAMPLES)}")
    rng = np.random.default_rng(7)
    height, width = (360, 300) if name == "shadow-7.png" else (260, 620)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = 235 - 40 * (xx / width) * (yy / height)  # light falls off towards the bottom right...
    light = np.ones_like(paper)
    if name == "shadow-7.png":  # ...and the phone's shadow covers the bottom-right corner, with a soft edge
        edge = (xx / width + yy / height - 1.05) / 0.06
        light = 1.0 - 0.5 / (1.0 + np.exp(-edge))
    paper += rng.normal(0, 3, paper.shape).astype(np.float32)
    ink = np.zeros((height, width), np.uint8)
    font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    if name == "shadow-7.png":
        cv2.putText(ink, "7", (70, 290), font, 9, 255, 16, cv2.LINE_AA)
    else:
        for i, digit in enumerate("2026"):
            cv2.putText(ink, digit, (40 + i * 140, 200), font, 5.5, 255, 11, cv2.LINE_AA)
    for _ in range(6):  # specks the pipeline should ignore
        cv2.circle(ink, (int(rng.integers(10, width - 10)), int(rng.integers(10, height - 10))), 2, 200, -1)
    gray = (paper - (ink.astype(np.float32) / 255.0) * (paper - 45)) * light
    rgb = np.stack([gray * 0.96, gray * 0.98, gray], axis=2)  # slightly blue-ish paper, dark blue-black ink
    return encode_image(np.clip(rgb, 0, 255).astype(np.uint8), photo=False)
