"""Pictures the preprocessing tests draw: digits in OpenCV's Hershey fonts (and two drawn by hand at 8x8), on
paper, desks and slates.

Nothing here is committed data; every picture is made when a test runs. The ground truth of each
drawing is the box of the pixels the digit was drawn on, rendered separately on a blank mask.
"""

from __future__ import annotations

import io
import zipfile

import cv2
import numpy as np
from PIL import Image

from hdr_core import preprocess as pp
from hdr_core.preprocess import Box

FONT = cv2.FONT_HERSHEY_SIMPLEX


def digit_mask(
    text: str = "3",
    *,
    size: tuple[int, int] = (160, 140),
    scale: float = 4.0,
    thickness: int = 10,
    origin: tuple[int, int] | None = None,
    font: int = FONT,
) -> np.ndarray:
    """(H, W) bool: where ``text`` is drawn; centred unless ``origin`` (bottom-left, x, y) is given."""
    height, width = size
    (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
    if origin is None:
        origin = ((width - text_w) // 2, (height + text_h) // 2)
    mask = np.zeros((height, width), np.uint8)
    cv2.putText(mask, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return mask > 127


def render(mask: np.ndarray, ink=0, paper=255) -> np.ndarray:
    """Paint a mask: (H, W) uint8 for scalar colours, (H, W, 3) for RGB tuples."""
    ink_arr, paper_arr = np.asarray(ink, np.uint8), np.asarray(paper, np.uint8)
    if ink_arr.ndim == 0 and paper_arr.ndim == 0:
        return np.where(mask, ink_arr, paper_arr).astype(np.uint8)
    out = np.empty(mask.shape + (3,), np.uint8)
    out[:] = paper_arr
    out[mask] = ink_arr
    return out


def hershey_digit(text: str, thickness: int) -> np.ndarray:
    """One digit drawn with a Hershey font as MNIST holds one: (28, 28) uint8, ink bright (for
    ``benchmarks/whole_numbers.py``'s ``written_number``)."""
    digit = np.zeros((28, 28), np.uint8)
    cv2.putText(digit, text, (5, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 255, thickness, cv2.LINE_AA)
    return digit


# Digits kept at 8x8 as small digit sets keep them (each pixel its 4x4 block's share of ink, 0-16), drawn by hand
# for the tests: a 0, and a 1 with a flag.
_TINY = {
    "0": [[0, 0, 9, 11, 12, 5, 0, 0], [0, 5, 14, 13, 5, 13, 8, 0], [0, 2, 13, 2, 0, 5, 11, 0],
          [0, 6, 7, 0, 0, 6, 8, 0], [0, 5, 5, 0, 0, 4, 9, 0], [0, 8, 10, 0, 0, 8, 7, 0],
          [0, 5, 15, 7, 7, 16, 0, 0], [0, 0, 3, 10, 13, 3, 0, 0]],
    "1": [[0, 0, 0, 3, 14, 13, 0, 0], [0, 0, 6, 16, 16, 10, 0, 0], [0, 9, 16, 15, 16, 5, 0, 0],
          [0, 12, 10, 10, 16, 3, 0, 0], [0, 0, 0, 8, 16, 1, 0, 0], [0, 0, 0, 8, 16, 2, 0, 0],
          [0, 0, 0, 8, 16, 3, 0, 0], [0, 0, 0, 6, 16, 6, 0, 0]],
}


def tiny_digit(text: str) -> np.ndarray:
    """A hand-drawn digit ("0" or "1") kept at 8x8: (8, 8) float32, the ink's share of each pixel in [0, 1]."""
    return np.array(_TINY[text], np.float32) / 16


def box_of(mask: np.ndarray) -> Box:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


def iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a.w * a.h + b.w * b.h - inter)


def encode(array: np.ndarray | Image.Image, fmt: str, **options) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    ys, xs = np.indices(image.shape)
    return float((xs * image).sum() / total), float((ys * image).sum() / total)


def ink_box_side(model_input: np.ndarray) -> int:
    box = box_of(model_input > 0)
    return max(box.w, box.h)


def assert_model_input(x: np.ndarray) -> None:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x.max() > 0.9  # stroke cores are fully bright, like MNIST
    cx, cy = centre_of_mass(x)
    assert abs(cx - 14) <= 0.5 + 1e-6 and abs(cy - 14) <= 0.5 + 1e-6  # whole-pixel shift: a tie is half a pixel
    assert ink_box_side(x) == 20


def _png(size=(40, 40)) -> bytes:
    return encode(np.full(size, 200, np.uint8), "PNG")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (the pixel data is never reached)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def _canvas(mask: np.ndarray, stroke, *, background=None) -> np.ndarray:
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    if background is not None:
        rgba[:] = (*background, 255)
    rgba[mask] = (*stroke, 255)
    return rgba


def _uneven_lighting(mask: np.ndarray) -> np.ndarray:
    """Paper lit from the left: 250 fading to 80, ink 70 levels darker than the paper under it."""
    height, width = mask.shape
    paper = np.tile(np.linspace(250, 80, width), (height, 1))
    return np.clip(np.where(mask, paper - 70, paper), 0, 255).astype(np.uint8)


def _blank(shape=(100, 100)) -> np.ndarray:
    return np.zeros(shape, bool)


def _ring(ink: np.ndarray, box: Box, thickness: int = 4) -> np.ndarray:
    ink[box.slices] = True
    inner = Box(box.x + thickness, box.y + thickness, box.w - 2 * thickness, box.h - 2 * thickness)
    ink[inner.slices] = False
    return ink


def _desk_along_left_and_bottom(ink: np.ndarray, depth: int) -> np.ndarray:
    """The page did not fill the frame: the desk shows along the left side and the bottom."""
    ink[:, :depth] = True
    ink[-depth:, :] = True
    return ink


def _normalize_mask(mask: np.ndarray, params: pp.Params | None = None) -> np.ndarray:
    gray = (mask * 255).astype(np.uint8)
    return pp.normalize(gray, mask, box_of(mask), params=params)


def _marked(gray: np.ndarray, truth: Box, mark: str, *, ink: int = 30, width: int = 4) -> np.ndarray:
    """``gray`` with a box, a circle or an underline drawn round the ink in ``truth``, as a student
    marks an answer (or a worksheet prints its answer box), clear of the ink."""
    marked = gray.copy()
    pad = min(truth.w, truth.h) // 4
    left, top, right, bottom = truth.x - pad, truth.y - pad, truth.x + truth.w + pad, truth.y + truth.h + pad
    if mark == "box":
        cv2.rectangle(marked, (left, top), (right, bottom), ink, width)
    elif mark == "big box":  # an answer box far bigger than the small digit written in it
        big = 3 * max(truth.w, truth.h) // 2
        cx, cy = truth.x + truth.w // 2, truth.y + truth.h // 2
        cv2.rectangle(marked, (cx - big, cy - big), (cx + big, cy + big), ink, width)
    elif mark == "circle":  # a roomy one round a digit (a tight one round a 0's inner stroke is a 0 written twice)
        centre, room = (truth.x + truth.w // 2, truth.y + truth.h // 2), 0.4 * min(truth.w, truth.h) + 0.4 * truth.h
        cv2.ellipse(marked, centre, (round(truth.w / 2 + room), round(truth.h / 2 + room)), 0, 0, 360, ink, width)
    else:  # an underline, slightly slanted, a little wider than the ink, a fifth of its height below it
        below, wider = truth.y + truth.h + truth.h // 5, max(pad, truth.h // 5)
        cv2.line(marked, (truth.x - wider, below), (truth.x + truth.w + wider, below - wider // 4), ink, width)
    return marked


def shadowed(mask: np.ndarray, *, ink: float = 40, paper: float = 225, light: float = 0.55) -> np.ndarray:
    """(H, W) uint8 photo of ``mask`` with a sharp-edged shadow from the upper left that narrows to
    a point towards the bottom (a phone's shadow; ``hard_shadow`` in benchmarks/photo_conditions.py)."""
    width = mask.shape[1]
    ys, xs = np.indices(mask.shape)
    gray = np.where(mask, ink, paper) + np.random.default_rng(2).normal(0, 3, mask.shape)
    gray = np.where(xs + 0.5 * ys < 0.55 * width, gray * light, gray)
    return np.clip(gray, 0, 255).astype(np.uint8)


def sheet_on_desk(mask: np.ndarray, *, margin: int = 150, desk: float = 55, turn: float = 6,
                  ink: float = 40, paper: float = 225):
    """A photo of a sheet (``mask`` drawn on it, with noise) lying slightly turned on a dark desk
    that shows all round it; also the sheet's own mask in the photo."""
    height, width = mask.shape
    rng = np.random.default_rng(6)
    sheet = np.where(mask, float(ink), float(paper)).astype(np.float32)
    frame = (height + 2 * margin, width + 2 * margin)
    photo = np.full(frame, desk, np.float32)
    photo[margin : margin + height, margin : margin + width] = sheet
    paper = np.zeros(frame, np.uint8)
    paper[margin : margin + height, margin : margin + width] = 1
    turn_matrix = cv2.getRotationMatrix2D((frame[1] / 2, frame[0] / 2), turn, 1.0)
    photo = cv2.warpAffine(photo, turn_matrix, frame[::-1], borderValue=desk)
    paper = cv2.warpAffine(paper, turn_matrix, frame[::-1], flags=cv2.INTER_NEAREST) > 0
    return np.clip(photo + rng.normal(0, 4, frame), 0, 255).astype(np.uint8), paper


def _number(rows: list[str], *, scale=3.0, thickness=7, gap=28, line_gap=50, margin=30):
    """Draw rows of digits (each digit separately) on paper; returns gray and per-row true boxes."""
    (char_w, char_h), _ = cv2.getTextSize("0", FONT, scale, thickness)
    width = margin * 2 + max(len(r) for r in rows) * (char_w + gap)
    height = margin * 2 + len(rows) * (char_h + line_gap)
    gray = np.full((height, width), 235, np.uint8)
    truths = []
    for r, text in enumerate(rows):
        row_boxes = []
        for c, char in enumerate(text):
            origin = (margin + c * (char_w + gap), margin + char_h + r * (char_h + line_gap))
            mask = np.zeros(gray.shape, np.uint8)
            cv2.putText(mask, char, origin, FONT, scale, 255, thickness, cv2.LINE_AA)
            gray[mask > 127] = 25
            row_boxes.append(box_of(mask > 127))
        truths.append(row_boxes)
    return gray, truths


def _turned(gray: np.ndarray, degrees: float, *, paper: int = 235) -> tuple[np.ndarray, np.ndarray]:
    """``gray`` turned about its centre on a canvas with room for it; returns the picture and the
    (2, 3) matrix that maps the old pixel coordinates to the new."""
    height, width = gray.shape
    big = cv2.copyMakeBorder(gray, height // 2, height // 2, width // 4, width // 4, cv2.BORDER_CONSTANT,
                             value=paper)
    matrix = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
    turned = cv2.warpAffine(big, matrix, (big.shape[1], big.shape[0]), borderValue=paper)
    matrix[:, 2] += matrix[:, :2] @ (width // 4, height // 2)
    return np.clip(turned + np.random.default_rng(0).normal(0, 4, turned.shape), 0, 255).astype(np.uint8), matrix


def _turned_sheet(rows: list[str], degrees: float) -> np.ndarray:
    """A photo of a number on a sheet turned on a dark desk, the sheet larger than the frame: strips and
    corners of desk along the picture's edges, and the sheet's edge beside them."""
    gray, _ = _number(rows)
    height, width = gray.shape
    desk = np.full((height * 2, width * 2), 50, np.uint8)
    sheet_y, sheet_x = height // 2 - height // 6, width // 2 - width // 8  # the sheet reaches past the number
    desk[sheet_y:height * 2 - sheet_y, sheet_x:width * 2 - sheet_x] = 235
    desk[height // 2:height * 3 // 2, width // 2:width * 3 // 2] = gray
    matrix = cv2.getRotationMatrix2D((width - 0.5, height - 0.5), degrees, 1.0)
    turned = cv2.warpAffine(desk, matrix, (width * 2, height * 2), borderValue=50)
    top, left = height // 2 - height // 8, width // 2 - width // 12
    photo = turned[top:top + height + height // 4, left:left + width + width // 6]
    return np.clip(photo + np.random.default_rng(0).normal(0, 4, photo.shape), 0, 255).astype(np.uint8)


def _photographed(photo: np.ndarray, how: str) -> np.ndarray:
    """``photo`` (H, W, 3) taken again the way a phone often takes it (as ``benchmarks/photo_conditions.py``)."""
    height, width = photo.shape[:2]
    rng = np.random.default_rng(0)
    if how == "perspective":  # held at a slant: the far edge narrower, the paper's edge running out of the frame
        corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        seen = np.float32([[width * 0.08, 0], [width * 0.92, height * 0.05], [width, height], [0, height * 0.95]])
        matrix = cv2.getPerspectiveTransform(corners, seen)
        return cv2.warpPerspective(photo, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if how == "gradient":  # light falling off towards one corner
        light = np.linspace(0.45, 1.0, width)[None, :, None] * np.linspace(1.0, 0.8, height)[:, None, None]
        return (photo * light).astype(np.uint8)
    if how == "on_gray_desk_lit_from_left":  # the lamp lights the mid-grey desk too: a sheet on a mat on a desk
        return _photographed(_photographed(photo, "on_gray_desk"), "lit_from_left")
    if how in ("lit_from_left", "lit_from_top"):  # a lamp to one side: the far side at half the light
        light = np.linspace(1.0, 0.5, width if how == "lit_from_left" else height)
        light = light[None, :, None] if how == "lit_from_left" else light[:, None, None]
        return (photo * light).astype(np.uint8)
    if how == "far":  # the desk around the sheet, three times the picture
        edge = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]])
        framed = cv2.copyMakeBorder(photo, height, height, width, width, cv2.BORDER_CONSTANT,
                                    value=[int(v) for v in np.median(edge, axis=0)])
    elif how == "desk":  # a dark desk along two sides, where the page did not fill the frame
        framed = cv2.copyMakeBorder(photo, 0, height // 12, width // 12, 0, cv2.BORDER_CONSTANT, value=(62, 46, 36))
    else:  # "on_desk" / "on_gray_desk": the photo lies on a dark or a mid-grey desk
        margin = max(height, width) // 2
        colour = (62, 46, 36) if how == "on_desk" else (128, 128, 128)
        framed = cv2.copyMakeBorder(photo, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=colour)
    return np.clip(framed + rng.normal(0, 4, framed.shape), 0, 255).astype(np.uint8)
