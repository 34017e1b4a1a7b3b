"""Helpers for the Upload page: read photos, show every preprocessing step, tabulate many files.

The page (``pages/upload.py``) only wires widgets to these functions. The work is split in two so that
it can be cached and tested without a browser:

``preprocess_file(data, name, *, threshold, mode) -> Outcome``
    Pure (no Streamlit, no model): the uploaded bytes go through ``hdr_core.preprocess.load_image``
    and ``preprocess``/``segment``, exactly as ``python -m hdr_core predict`` does, and the result is
    shrunk to what the page shows: every step as a small encoded image (at most ``DISPLAY_MAX_SIDE``
    pixels a side) plus the 28x28 model inputs. Full-resolution arrays never outlive the call, so
    cached outcomes stay small whatever the photo's size. Bad input becomes ``Outcome.error``, a
    specific message, never an exception.
``predict_outcomes(outcomes, predictor) -> list[FileResult]``
    One batched forward pass for every digit of every file (fast, uncached: the sidebar model may
    change between reruns).

The ``*_ui`` functions draw; they take results and return what the user chose.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import streamlit as st

from hdr_app import charts, state
from hdr_core import preprocess
from hdr_core.constants import IMAGE_SIZE
from hdr_core.errors import HdrError
from hdr_core.inference import Prediction, Predictor
from hdr_core.preprocess import Box

__all__ = [
    "DISPLAY_MAX_SIDE",
    "EXAMPLES",
    "FILE_TYPES",
    "MAX_FILES",
    "MODES",
    "FileResult",
    "Options",
    "Outcome",
    "Steps",
    "UploadedImage",
    "cached_outcome",
    "compare_ui",
    "decode",
    "details_ui",
    "draw_boxes",
    "empty_state_ui",
    "errors_ui",
    "example_image",
    "inputs_ui",
    "model_error_ui",
    "model_input_data_uri",
    "montage",
    "options_ui",
    "pick_result_ui",
    "pipeline_ui",
    "prediction_ui",
    "predict_outcomes",
    "preprocess_file",
    "process_ui",
    "read_file",
    "results_csv",
    "results_rows",
    "results_table_ui",
    "several_digits_ui",
    "thumbnail",
    "visualise_ui",
]

logger = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("single", "multi")
MODE_LABELS = {"single": "One digit per image", "multi": "A whole number (several digits)"}
THRESHOLD_LABELS = {"mean": "Mean", "otsu": "Otsu", "adaptive": "Adaptive"}
THRESHOLD_HELP = (
    "How grey pixels become ink or paper. **Mean**: one level for the whole photo, its average "
    "brightness (the reference pipeline's default). **Otsu**: one level chosen to split the grey levels "
    "into two groups as cleanly as possible. **Adaptive**: a level per neighbourhood, for uneven "
    "lighting and shadows."
)
FILE_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif")

DISPLAY_MAX_SIDE = 800  # step images are shrunk to at most this many pixels a side before the browser sees them
DISPLAY_MIN_SIDE = 280  # tiny images (a 28x28 scan cell) are blown up with square pixels to at least this
JPEG_QUALITY = 88
MAX_FILES = 40  # files read per batch: bounds the work and memory of one rerun
CACHE_ENTRIES = 96  # cached outcomes (each well under 1 MB: encoded thumbnails + 28x28 inputs)
THUMB_SCALE = 2  # the 28x28 model input is shown 56x56 in the results table
# A long number (a phone number, three rows) wraps at its row breaks on a phone instead of being cut
# off with an ellipsis, as st.metric does with any value wider than its column.
NUMBER_WRAP_CSS = """<style>
.st-key-upload_number_read [data-testid="stMetricValue"],
.st-key-upload_number_read [data-testid="stMetricValue"] * {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}
</style>"""
DIGIT_TILE = 112  # display pixels (4 per model-input pixel): each digit of a whole number, read under it

MAX_STEP_HEIGHT = 300  # display pixels: portrait photos are shown narrower so that the step rows stay compact
BORDER_COLOUR = 226  # a 1-pixel frame around each step image, so white paper does not melt into the page
BOX_COLOUR = (234, 88, 12)  # orange-600: boxes and digit numbers, visible on paper and on blue ink
INK_COLOUR = (37, 99, 235)  # the theme's blue: the ink that was kept


# =================================================================================================
# Results
# =================================================================================================


@dataclass(frozen=True)
class ShownStage:
    """One stage of the preprocessing's trace, ready to show.

    Attributes
    ----------
    name, title : str
        As in the trace (``hdr_core.preprocess.Stage``).
    caption : str
        The stage's reason: what it did and the evidence it ran on.
    image : bytes or (h, w) uint8 ndarray
        Encoded (PNG/JPEG), or the enlarged model input(s) for the last stage.
    aspect : float
        The image's height / width.
    """

    name: str
    title: str
    caption: str
    image: bytes | np.ndarray
    aspect: float


@dataclass(frozen=True)
class Steps:
    """Every preprocessing step of one file, ready to show (small, encoded images).

    Attributes
    ----------
    width, height : int
        Size of the image the steps work on (after EXIF rotation; the sheet's box when ``page`` is set).
    exif_turned : bool
        Whether the file's EXIF orientation tag turned (or mirrored) the photo upright on loading.
    page : Box or None
        Where the sheet of paper lay in the photo, when the photo showed a sheet on a desk and the
        steps work on the sheet alone (``preprocess.find_page``).
    whole : bytes or None
        With ``page``: the whole photo, encoded like ``original``, with the sheet outlined (so step 1
        shows what was uploaded and what was kept of it); None otherwise.
    whole_width, whole_height : int
        Size of the whole photo (equal to ``width`` and ``height`` without ``page``).
    original, gray, binary, ink_bright, located : bytes
        Encoded images (JPEG for photos, PNG for black-and-white ones), at most ``DISPLAY_MAX_SIDE``
        pixels a side: the photo, its grayscale, the threshold's output (True = white), the same
        oriented so the ink is white, and the photo with the kept ink in blue and each digit boxed
        (numbered when there are several; then cropped to the digits when they fill little of it).
    located_aspect : float
        Height / width of ``located`` (it may be a crop).
    located_cropped : bool
        Whether ``located`` shows only the part of the photo around the digits.
    method : str
        The threshold method used.
    threshold : float
        The grey level used (the mean of the threshold map for ``adaptive``).
    inverted : bool
        Whether dark-on-light was inverted.
    invert_reason : str
        One sentence saying why (or why not).
    boxes : tuple of Box
        Each digit's box in original pixel coordinates, in reading order (one box for one digit).
    rows : tuple of tuple of int
        Indices into ``boxes``, one tuple per row of a whole number (``((0,),)`` for one digit).
    model_inputs : (K, 28, 28) float32 ndarray
        What the network sees for each digit: values in [0, 1], ink bright on black.
    digits_left_out : int
        In "one digit per image" mode, how many digits the picture seems to hold when reading it as
        one digit leaves some out (``preprocess.digits_left_out``); 0 otherwise.
    stages : tuple of ShownStage
        The stages that ran, in order, from the preprocessing's trace: exactly the images it used.
    reading : str
        Why these stages: a clean picture read the textbook way, or the evidence for the corrective ones.
    """

    width: int
    height: int
    exif_turned: bool
    original: bytes
    gray: bytes
    binary: bytes
    ink_bright: bytes
    located: bytes
    located_aspect: float
    located_cropped: bool
    method: str
    threshold: float
    inverted: bool
    invert_reason: str
    boxes: tuple[Box, ...]
    rows: tuple[tuple[int, ...], ...]
    model_inputs: np.ndarray
    digits_left_out: int = 0
    page: Box | None = None
    whole: bytes | None = None
    whole_width: int = 0
    whole_height: int = 0
    stages: tuple[ShownStage, ...] = ()
    reading: str = ""

    @property
    def first_image(self) -> tuple[bytes, float]:
        """Step 1's image and its height / width: the whole photo (sheet outlined) or the original."""
        if self.whole is not None:
            return self.whole, self.whole_height / self.whole_width
        return self.original, self.height / self.width


@dataclass(frozen=True)
class Outcome:
    """What preprocessing made of one file: its ``steps``, or an ``error`` message saying what is wrong."""

    name: str
    mode: str
    threshold: str
    steps: Steps | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileResult:
    """One file read end to end: its steps and a prediction per digit, or an error message.

    Attributes
    ----------
    name : str
        The file name (``"camera photo.jpg"`` for the camera).
    mode : {'single', 'multi'}
    threshold : {'mean', 'otsu', 'adaptive'}
    steps : Steps or None
        None when the file could not be read.
    error : str or None
        A specific, user-readable message when the file could not be read.
    predictions : tuple of Prediction
        One per digit, in reading order (one for ``single``); empty on error or without a model.
    """

    name: str
    mode: str
    threshold: str
    steps: Steps | None = None
    error: str | None = None
    predictions: tuple[Prediction, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the file was read and predicted."""
        return self.error is None and self.steps is not None and bool(self.predictions)

    @property
    def text(self) -> str:
        """What was read: a digit, or a whole number with rows separated by ``/`` (as in real-dev's labels)."""
        if not self.ok:
            return ""
        assert self.steps is not None
        return "/".join("".join(self.predictions[i].label for i in row) for row in self.steps.rows)

    @property
    def confidence(self) -> float | None:
        """The prediction's probability; for a whole number, that of its least certain digit."""
        if not self.ok:
            return None
        return float(min(p.confidence for p in self.predictions))


@dataclass(frozen=True)
class UploadedImage:
    """One input to read: a file name and its bytes (from the uploader, the camera or an example)."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Options:
    """What the user chose at the top of the page."""

    mode: str = "single"
    threshold: str = "mean"


# =================================================================================================
# Image helpers (pure NumPy/OpenCV)
# =================================================================================================


def _display_scale(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> float:
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
    scale = _display_scale(height, width, max_side)
    if scale == 1.0:
        return np.ascontiguousarray(array)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    return cv2.resize(np.ascontiguousarray(array), size, interpolation=interpolation)


def _encode(image: np.ndarray, *, photo: bool) -> bytes:
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
        Write 1, 2, 3... at each box's top-left corner (reading order).
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
        out = np.clip(out * (1 - 0.85 * weight) + np.array(INK_COLOUR, np.float32) * 0.85 * weight, 0, 255)
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
    for number, box in enumerate(boxes, start=1):
        bx, by = box.x - offset[0], box.y - offset[1]
        x0, y0 = int(np.floor(bx * scale)), int(np.floor(by * scale))
        x1 = int(np.ceil((bx + box.w) * scale)) - 1
        y1 = int(np.ceil((by + box.h) * scale)) - 1
        pad = thickness
        x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
        x1, y1 = min(width - 1, x1 + pad), min(height - 1, y1 + pad)
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX_COLOUR, thickness, lineType=cv2.LINE_AA)
        if numbered:
            label = str(number)
            (text_w, text_h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, font_thickness)
            tag_h = text_h + baseline + 4
            tag_w = text_w + 6
            top = y0 - tag_h if y0 - tag_h >= 0 else y0  # above the box, or inside it at the top
            left = min(x0, max(0, width - tag_w))
            cv2.rectangle(out, (left, top), (left + tag_w, top + tag_h), BOX_COLOUR, -1)
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
    png = _encode(charts.enlarge(model_input, scale), photo=False)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# =================================================================================================
# Processing
# =================================================================================================


def _named_source(data: bytes, name: str) -> io.BytesIO:
    """The bytes as a file object carrying the file's name, so messages name the file."""
    source = io.BytesIO(data)
    source.name = name  # load_image reads .name for its messages
    return source


def _framed(image: np.ndarray) -> np.ndarray:
    """A copy with a 1-pixel light grey frame drawn over its outermost pixels (same size)."""
    out = np.array(image, copy=True)
    out[0, :] = out[-1, :] = BORDER_COLOUR
    out[:, 0] = out[:, -1] = BORDER_COLOUR
    return out


CROP_BELOW_SHARE = 0.5  # digits covering less than this share of the photo are shown cropped in step 5


def _digits_region(boxes: Sequence[Box], shape: tuple[int, int]) -> Box | None:
    """The part of the photo around the digits (with a margin), or None when they fill most of it."""
    height, width = shape
    union = boxes[0]
    for box in boxes[1:]:
        union = union.union(box)
    margin = int(round(0.6 * float(np.median([b.h for b in boxes])))) + 2
    x0, y0 = max(0, union.x - margin), max(0, union.y - margin)
    x1, y1 = min(width, union.x + union.w + margin), min(height, union.y + union.h + margin)
    if (x1 - x0) * (y1 - y0) >= CROP_BELOW_SHARE * width * height:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def outline_page(photo: np.ndarray, page: Box) -> np.ndarray:
    """The whole photo shrunk for display, with the sheet of paper that was read outlined.

    Parameters
    ----------
    photo : (H, W, 3) RGB or (H, W) gray uint8 ndarray
        The photo as loaded (EXIF-turned), before it was cropped to the sheet. Not modified.
    page : Box
        The sheet, in ``photo``'s pixel coordinates (``Preprocessed.page``).

    Returns
    -------
    outlined : (h, w, 3) uint8 ndarray
        At most ``DISPLAY_MAX_SIDE`` a side, framed like the other step images.
    """
    rgb = photo if photo.ndim == 3 else cv2.cvtColor(photo, cv2.COLOR_GRAY2RGB)
    thumb = thumbnail(rgb)
    return _framed(draw_boxes(thumb, (page,), scale=thumb.shape[1] / rgb.shape[1]))


def _make_steps(result: preprocess.Preprocessed, *, exif_turned: bool = False, digits_left_out: int = 0,
                whole: np.ndarray | None = None) -> Steps:
    """Shrink a Preprocessed/MultiPreprocessed to what the page shows (``whole``: the uncropped photo,
    needed when ``result.page`` is set)."""
    height, width = result.gray.shape
    uncropped = whole if result.page is not None else None
    scale = _display_scale(height, width)
    original = result.original if result.original.ndim == 3 else cv2.cvtColor(result.original, cv2.COLOR_GRAY2RGB)
    photo = thumbnail(original)
    thumb_h, thumb_w = photo.shape[:2]
    binary = thumbnail(result.binary)
    ink_bright = thumbnail(~result.binary if result.inverted else result.binary)
    kept = cv2.resize(result.ink.astype(np.uint8) * 255, (thumb_w, thumb_h),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    if isinstance(result, preprocess.MultiPreprocessed):
        boxes = tuple(d.box for d in result.digits)
        rows = tuple(tuple(r) for r in result.rows)
        model_inputs = np.stack([d.model_input for d in result.digits]).astype(np.float32)
        numbered = True
    else:
        boxes, rows = (result.box,), ((0,),)
        model_inputs = np.asarray(result.model_input, np.float32)[None]
        numbered = False
    crop = _digits_region(boxes, (height, width)) if numbered else None
    if crop is None:
        located = draw_boxes(photo, boxes, scale=thumb_w / width, numbered=numbered, ink=kept)
    else:  # several small digits in a big photo: show the part of the photo around them
        region = original[crop.slices]
        view = thumbnail(region)
        view_h, view_w = view.shape[:2]
        shrink = view_w / crop.w
        kept_view = cv2.resize(result.ink[crop.slices].astype(np.uint8) * 255, (view_w, view_h),
                               interpolation=cv2.INTER_AREA if shrink < 1 else cv2.INTER_NEAREST)
        located = draw_boxes(view, boxes, scale=shrink, offset=(crop.x, crop.y), numbered=True, ink=kept_view)
    model_inputs.setflags(write=False)
    whole_photo = None if uncropped is None else _encode(outline_page(uncropped, result.page), photo=True)
    original_image = _encode(_framed(photo), photo=True)
    located_image = _encode(_framed(located), photo=True)
    first = (whole_photo, uncropped.shape[0] / uncropped.shape[1]) if whole_photo else (original_image, height / width)
    stages = _shown_stages(result, first=first, located=(located_image, located.shape[0] / located.shape[1]),
                           model_inputs=model_inputs, rows=rows, exif_turned=exif_turned)
    return Steps(
        width=int(width),
        height=int(height),
        exif_turned=bool(exif_turned),
        original=original_image,
        gray=_encode(_framed(thumbnail(result.gray)), photo=True),
        binary=_encode(_framed(binary), photo=False),
        ink_bright=_encode(ink_bright, photo=False),
        located=located_image,
        located_aspect=located.shape[0] / located.shape[1],
        located_cropped=crop is not None,
        method=result.method,
        threshold=float(result.threshold),
        inverted=bool(result.inverted),
        invert_reason=result.invert_reason,
        boxes=boxes,
        rows=rows,
        model_inputs=model_inputs,
        digits_left_out=int(digits_left_out),
        page=result.page,
        whole=whole_photo,
        whole_width=int(width if uncropped is None else uncropped.shape[1]),
        whole_height=int(height if uncropped is None else uncropped.shape[0]),
        stages=stages,
        reading=result.reading,
    )


def _shown_stages(result: preprocess.Preprocessed, *, first: tuple[bytes, float], located: tuple[bytes, float],
                  model_inputs: np.ndarray, rows: tuple[tuple[int, ...], ...], exif_turned: bool
                  ) -> tuple[ShownStage, ...]:
    """The trace's stages as the page shows them: the photo first (the whole photo with the sheet outlined
    when the steps read a sheet alone), the ink located drawn on the photo, and the model input(s) last;
    every other stage's own image, shrunk and framed."""
    shown = []
    for stage in result.trace:
        caption = stage.reason
        if stage.name == "load":
            image, aspect = first
            height, width = stage.image.shape[:2]
            caption = f"{width}×{height} px" + (", turned upright as the camera's EXIF tag says" if exif_turned else "")
            if result.page is not None:
                caption += "; the sheet (outlined) is read alone, without the desk around it"
        elif stage.name in ("locate", "digits"):
            image, aspect = located
        elif stage.name == "normalize":
            several = isinstance(result, preprocess.MultiPreprocessed)
            image = montage(model_inputs, rows) if several else charts.enlarge(model_inputs[0], 8)
            aspect = image.shape[0] / image.shape[1]
        else:
            thumb = thumbnail(stage.image)
            image, aspect = _encode(_framed(thumb), photo=stage.image.dtype != bool), thumb.shape[0] / thumb.shape[1]
        shown.append(ShownStage(stage.name, stage.title, caption, image, aspect))
    return tuple(shown)


def preprocess_file(data: bytes, name: str, *, threshold: str = "mean", mode: str = "single") -> Outcome:
    """Read one uploaded file and preprocess it as ``python -m hdr_core predict`` does.

    Parameters
    ----------
    data : bytes
        The file's contents (``UploadedFile.getvalue()``).
    name : str
        The file's name, used in messages.
    threshold : {'mean', 'otsu', 'adaptive'}, keyword-only
    mode : {'single', 'multi'}, keyword-only
        One digit per image (``preprocess``) or a whole number (``segment``).

    Returns
    -------
    Outcome
        ``steps`` when the file was read; otherwise ``error``, a message saying what is wrong with the
        file and what to do (every bad input: empty, truncated, not an image, too large, animated,
        blank...). Never raises for bad input.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if threshold not in preprocess.THRESHOLD_METHODS:
        raise ValueError(f"threshold must be one of {preprocess.THRESHOLD_METHODS}, got {threshold!r}")
    try:
        image = preprocess.load_image(_named_source(data, name))
        if mode == "multi":
            result, left_out = preprocess.segment(image, threshold=threshold), 0
        else:
            result = preprocess.preprocess(image, threshold=threshold)
            left_out = _digits_left_out(image, result)
        steps = _make_steps(result, exif_turned=preprocess.exif_orientation(data) != 1, digits_left_out=left_out,
                            whole=image)
        return Outcome(name=name, mode=mode, threshold=threshold, steps=steps)
    except HdrError as error:
        return Outcome(name=name, mode=mode, threshold=threshold, error=str(error))
    except MemoryError:
        return Outcome(name=name, mode=mode, threshold=threshold,
                       error=f"{name} is too large to process with the memory available. Resize it and try again.")
    except Exception as error:  # noqa: BLE001 - a library bug must not cost the other files their results
        logger.exception("Unexpected error while reading %s", name)
        return Outcome(name=name, mode=mode, threshold=threshold,
                       error=f"{name} could not be read: an unexpected {type(error).__name__} happened ({error}). "
                             "Try saving it as PNG; if that does not help, please report the file.")


def _digits_left_out(image: np.ndarray, result: preprocess.Preprocessed) -> int:
    """``preprocess.digits_left_out``, or 0 if it fails: the hint is optional, the digit read is not."""
    try:
        return preprocess.digits_left_out(image, result)
    except Exception:  # noqa: BLE001
        logger.exception("Could not check whether the picture holds several digits")
        return 0


@st.cache_data(max_entries=CACHE_ENTRIES, ttl=3600, show_spinner=False)
def _cached_outcome(digest: str, name: str, threshold: str, mode: str, _data: bytes) -> Outcome:
    return preprocess_file(_data, name, threshold=threshold, mode=mode)


def cached_outcome(item: UploadedImage, options: Options) -> Outcome:
    """``preprocess_file``, cached by (content hash, name, threshold, mode) across reruns and sessions."""
    digest = hashlib.sha256(item.data).hexdigest()
    return _cached_outcome(digest, item.name, options.threshold, options.mode, item.data)


def predict_outcomes(outcomes: Sequence[Outcome], predictor: Predictor | None) -> list[FileResult]:
    """Predict every digit of every outcome in one batch.

    Parameters
    ----------
    outcomes : sequence of Outcome
    predictor : Predictor or None
        None (no model available) gives results without predictions.

    Returns
    -------
    results : list of FileResult
        In the order of ``outcomes``.
    """
    inputs = [o.steps.model_inputs for o in outcomes if o.steps is not None]
    probabilities = None
    if predictor is not None and inputs:
        probabilities = predictor.predict_proba(np.concatenate(inputs))
    results, start = [], 0
    for outcome in outcomes:
        fields = {"name": outcome.name, "mode": outcome.mode, "threshold": outcome.threshold,
                  "steps": outcome.steps, "error": outcome.error}
        if outcome.steps is None or probabilities is None:
            results.append(FileResult(**fields))
            continue
        count = len(outcome.steps.model_inputs)
        predictions = tuple(_prediction(row, predictor.class_names) for row in probabilities[start : start + count])
        start += count
        results.append(FileResult(**fields, predictions=predictions))
    return results


def _prediction(probabilities: np.ndarray, class_names: Sequence[str]) -> Prediction:
    probabilities = np.array(probabilities, dtype=np.float32, copy=True)
    probabilities.setflags(write=False)
    index = int(np.argmax(probabilities))
    return Prediction(index=index, label=class_names[index], confidence=float(probabilities[index]),
                      probabilities=probabilities, class_names=tuple(class_names))


def read_file(data: bytes, name: str, *, predictor: Predictor | None, threshold: str = "mean",
              mode: str = "single") -> FileResult:
    """``preprocess_file`` then ``predict_outcomes`` for one file (uncached; for scripts and tests)."""
    return predict_outcomes([preprocess_file(data, name, threshold=threshold, mode=mode)], predictor)[0]


# =================================================================================================
# Results table and CSV
# =================================================================================================


def results_rows(results: Sequence[FileResult]) -> list[dict]:
    """One plain dict per file for the results table and the CSV.

    Keys: ``file``, ``prediction`` (digit or number, rows separated by ``/``), ``confidence`` (float
    or None), ``digits`` (how many were found), ``mode``, ``threshold``, ``inverted``, ``error``, and for
    one digit per image ``p_<class>`` for every class.
    """
    rows = []
    for result in results:
        row = {
            "file": result.name,
            "prediction": result.text,
            "confidence": None if result.confidence is None else round(result.confidence, 4),
            "digits": len(result.predictions),
            "mode": result.mode,
            "threshold": result.threshold,
            "inverted": None if result.steps is None else result.steps.inverted,
            "error": result.error or "",
        }
        if result.mode == "single" and result.ok:
            prediction = result.predictions[0]
            for label, p in zip(prediction.class_names, prediction.probabilities):
                row[f"p_{label}"] = round(float(p), 4)
        rows.append(row)
    return rows


def results_csv(results: Sequence[FileResult]) -> bytes:
    """The results as CSV (UTF-8, header row): the columns of ``results_rows``."""
    rows = results_rows(results)
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_cell(row.get(key)) for key in columns})
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value):
    """Blank for None; text a spreadsheet would run as a formula (``=...``, ``+...``) is quoted with ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def results_table_ui(results: Sequence[FileResult]) -> None:
    """A compact table of every file (model input thumbnail, prediction, confidence, message) and a CSV download."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "Model input": [_table_thumbnail(r) for r in results],
            "File": [r.name for r in results],
            "Read as": [r.text if r.ok else "—" for r in results],
            "Confidence": [r.confidence for r in results],
            "Note": [_note(r) for r in results],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        row_height=60,
        column_config={
            "Model input": st.column_config.ImageColumn("Model input", width="small",
                                                        help="The 28x28 image the network sees"),
            "File": st.column_config.TextColumn("File", width="medium"),
            "Read as": st.column_config.TextColumn("Read as", width="small"),
            "Confidence": st.column_config.ProgressColumn(
                "Confidence", min_value=0.0, max_value=1.0, format="percent", width="small",
                help="The network's probability for its answer (for a number: its least certain digit)"),
            "Note": st.column_config.TextColumn("Note", width="large"),
        },
    )
    good = sum(r.ok for r in results)
    left, right = st.columns([3, 1], vertical_alignment="center")
    readable = sum(r.steps is not None for r in results)
    hint = " Pick a file below to see every step." if readable > 1 else ""
    left.caption(f"{good} of {len(results)} files read.{hint}")
    right.download_button("Download CSV", results_csv(results), file_name="hdr-predictions.csv",
                          mime="text/csv", icon=":material/download:", on_click="ignore", width="stretch")


def _table_thumbnail(result: FileResult) -> str:
    """The model input(s) as a data URI for the table; a blank tile for files that could not be read."""
    if result.steps is None:
        return model_input_data_uri(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32) + 0.92)
    if result.mode == "single":
        return model_input_data_uri(result.steps.model_inputs[0])
    return _montage_uri(result.steps)


def _montage_uri(steps: Steps) -> str:
    row = [i for r in steps.rows for i in r][:8]  # a table cell has room for a few digits
    png = _encode(montage(steps.model_inputs, [row], scale=2, gap=2), photo=False)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _note(result: FileResult) -> str:
    if result.error:
        return result.error
    if result.steps is None:
        return ""
    if not result.predictions:
        return "Preprocessed; no model to predict with."
    if result.mode == "multi":
        return f"{len(result.predictions)} digits in {len(result.steps.rows)} row(s)"
    return "inverted (dark ink on light paper)" if result.steps.inverted else "not inverted (ink already bright)"


# =================================================================================================
# Built-in examples (for visitors without a photo at hand)
# =================================================================================================

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
    return _encode(np.clip(rgb, 0, 255).astype(np.uint8), photo=False)


# =================================================================================================
# Widgets and layout
# =================================================================================================


def options_ui() -> Options:
    """The mode and threshold choosers; returns what the user picked."""
    # Defaults go through session state (not ``default=``), so that the examples can switch the mode.
    st.session_state.setdefault(state.UPLOAD_MODE, "single")
    st.session_state.setdefault(state.UPLOAD_THRESHOLD, "mean")
    left, right = st.columns([1.25, 1], gap="large")
    with left:
        mode = st.segmented_control(
            "What is in each picture?", MODES, format_func=MODE_LABELS.get, required=True, key=state.UPLOAD_MODE,
            help="A whole number is cut into digits (connected ink, broken strokes joined; dots, specks and "
                 "a box, circle or underline round them ignored), read left to right and rows top to bottom.")
    with right:
        threshold = st.segmented_control(
            "Threshold", preprocess.THRESHOLD_METHODS, format_func=THRESHOLD_LABELS.get, required=True,
            key=state.UPLOAD_THRESHOLD, help=THRESHOLD_HELP)
    return Options(mode=mode or "single", threshold=threshold or "mean")


def inputs_ui() -> list[UploadedImage]:
    """The file uploader and the optional camera; returns the images to read (at most ``MAX_FILES``)."""
    files = st.file_uploader(
        "Photos, scans or drawings of digits", type=list(FILE_TYPES), accept_multiple_files=True,
        key=state.UPLOAD_FILES,
        help="PNG, JPEG, WebP, BMP, TIFF or GIF. Several at once give a results table and a CSV.")
    images = [UploadedImage(f.name, f.getvalue()) for f in files or []]
    if st.toggle("Take a photo with the camera", key=state.UPLOAD_CAMERA_ON):
        shot = st.camera_input("Hold a digit written on paper up to the camera", key=state.UPLOAD_CAMERA)
        if shot is not None:
            images.append(UploadedImage("camera photo.jpg", shot.getvalue()))
    if len(images) > MAX_FILES:
        st.warning(f"{len(images)} files were given: the first {MAX_FILES} are read. "
                   "Upload the others in another batch.")
        images = images[:MAX_FILES]
    if images:
        st.session_state[state.UPLOAD_EXAMPLE] = None  # the user's own pictures replace the example
    elif st.session_state.get(state.UPLOAD_EXAMPLE) in EXAMPLES:
        name = st.session_state[state.UPLOAD_EXAMPLE]
        st.caption(f"Showing the built-in example *{EXAMPLES[name]}*. Upload your own picture to replace it.")
        images = [UploadedImage(name, example_image(name))]
    return images


def empty_state_ui() -> None:
    """What the page shows before anything is uploaded: tips, and built-in examples to try."""
    st.info(
        "**Tips for a good photo:** dark pen on plain white paper, the digit filling a good part of the "
        "picture, even light without strong shadows. Light ink on a dark background works too.",
        icon=":material/photo_camera:")
    st.caption("No photo at hand? Try an example:")
    cols = st.columns(len(EXAMPLES))
    for col, (name, description) in zip(cols, EXAMPLES.items()):
        col.button(f"Example: {description}", key=f"upload_example_{name}", width="stretch",
                   on_click=_choose_example, args=(name,))


def _read_as_whole_number() -> None:
    """Button callback: switch to whole-number mode (runs before the mode widget exists)."""
    st.session_state[state.UPLOAD_MODE] = "multi"


def several_digits_ui(result: FileResult) -> None:
    """In one-digit mode, a picture that looks like a whole number: say so and offer the right mode."""
    steps = result.steps
    if result.mode != "single" or steps is None or not steps.digits_left_out:
        return
    text, button = st.columns([2.6, 1], gap="medium", vertical_alignment="center")
    text.info(f"This picture seems to hold **{steps.digits_left_out} digits**, but *{MODE_LABELS['single']}* "
              "reads only the boxed ink in step 5.", icon=":material/pin:")
    button.button("Read as a number", icon=":material/format_list_numbered:", width="stretch",
                  key="upload_read_whole_number", on_click=_read_as_whole_number)


def _choose_example(name: str) -> None:
    """Button callback (runs before the widgets exist, so it may set the mode widget's value)."""
    st.session_state[state.UPLOAD_EXAMPLE] = name
    st.session_state[state.UPLOAD_MODE] = "multi" if name == "number-2026.png" else "single"


def process_ui(images: Sequence[UploadedImage], options: Options, predictor: Predictor | None) -> list[FileResult]:
    """Preprocess (cached) and predict every image, with a progress bar while files are new."""
    outcomes: list[Outcome] = []
    progress = st.progress(0.0, text="Reading…") if len(images) > 1 else None
    for i, item in enumerate(images, start=1):
        outcomes.append(cached_outcome(item, options))
        if progress is not None:
            progress.progress(i / len(images), text=f"Read {i} of {len(images)}")
    if progress is not None:
        progress.empty()
    return predict_outcomes(outcomes, predictor)


def _escape(text: str) -> str:
    """Escape Markdown in file names (``my_photo_1.png`` must not turn italic)."""
    for char in "\\`*_{}[]<>()#+-.!|~$":
        text = text.replace(char, "\\" + char)
    return text


def errors_ui(results: Sequence[FileResult]) -> None:
    """One specific message per file that could not be read, in place of its result."""
    for result in results:
        if result.error:
            st.error(_error_markdown(result.name, result.error), icon=":material/error:")


def _error_markdown(name: str, message: str) -> str:
    """``**name** is not an image: ...`` when the message starts with the (quoted) name.

    Otherwise ``**name** — message``.
    """
    for prefix in (f"'{name}'", f'"{name}"', name):
        if message.startswith(prefix):
            return f"**{_escape(name)}**{_escape_message(message[len(prefix):])}"
    return f"**{_escape(name)}** — {_escape_message(message)}"


def _escape_message(text: str) -> str:
    """Keep a message literal in Markdown (``*``, ``_``, backticks and ``$`` would format it)."""
    for char in "\\`*_$":
        text = text.replace(char, "\\" + char)
    return text


def pick_result_ui(results: Sequence[FileResult]) -> int | None:
    """Which file's steps to show (an index into ``results``): the only one read, or the one picked."""
    readable = [i for i, r in enumerate(results) if r.steps is not None]
    if len(readable) <= 1:
        return readable[0] if readable else None
    names = {i: f"{i + 1}. {results[i].name}" for i in readable}
    choice = st.selectbox("Show every step for", readable, format_func=names.get, key=state.UPLOAD_SELECTED)
    return readable[0] if choice not in names else choice


def _step(col, number: int, title: str, image: bytes | np.ndarray, caption: str, *, aspect: float) -> None:
    """One step: a bold title, the image (at most ``MAX_STEP_HEIGHT`` tall; ``aspect`` = height / width), a caption."""
    with col:
        st.markdown(f"**{number} · {title}**")
        st.image(image, width=_step_width(aspect))
        st.caption(caption)


def _step_width(aspect: float) -> int | str:
    """``st.image`` width keeping an image with this height/width ratio at most ``MAX_STEP_HEIGHT`` tall."""
    return "stretch" if aspect <= 0.75 else max(60, round(MAX_STEP_HEIGHT / aspect))


def _threshold_caption(steps: Steps) -> str:
    if steps.method == "adaptive":
        return f"Adaptive: a level per neighbourhood (about {steps.threshold:.0f} of 255)"
    name = "Mean" if steps.method == "mean" else "Otsu"
    return f"{name} threshold: brighter than {steps.threshold:.0f} of 255 is white"


def pipeline_ui(result: FileResult) -> None:
    """Every stage that ran, from the photo to the model input, three to a row, each with its reason."""
    steps = result.steps
    assert steps is not None
    stages = steps.stages
    for first in range(0, len(stages), 3):
        columns = st.columns(3, gap="medium")
        for column, number in zip(columns, range(first, min(first + 3, len(stages)))):
            stage = stages[number]
            _step(column, number + 1, stage.title, stage.image, stage.caption, aspect=stage.aspect)
    if steps.reading:
        st.caption(f"**Why these steps:** {steps.reading}")


def prediction_ui(result: FileResult) -> None:
    """The answer: digit, confidence and probability bars (one digit) or the number and each digit's reading."""
    if not result.predictions:
        return
    steps = result.steps
    assert steps is not None
    if result.mode == "single":
        prediction = result.predictions[0]
        left, right = st.columns([1, 2.4], gap="large", vertical_alignment="center")
        with left:
            st.metric("Prediction", prediction.label)
            st.markdown(f"Confidence **{prediction.confidence:.1%}**", help=charts.CONFIDENCE_MEANING)
            runner_up = prediction.top_k(2)[1] if len(prediction.probabilities) > 1 else None
            if runner_up is not None:
                st.caption(f"Runner-up: {runner_up[0]} ({runner_up[1]:.1%})")
        with right:
            st.plotly_chart(charts.probability_chart(prediction.probabilities, prediction.class_names),
                            config=charts.PLOTLY_CONFIG, key="upload_probabilities")
        return
    number = result.text.replace("/", " / ")
    with st.container(key="upload_number_read"):
        st.metric("Number read", number)
    st.html(NUMBER_WRAP_CSS)  # style only: out of the page flow, it takes no space
    st.caption(f"Least certain digit: {result.confidence:.1%}. Each digit, numbered as on the photo:")
    # Fixed-size tiles in a row that wraps: eight or more across a laptop, two or three on a phone (columns
    # would stack there, one digit the width of the screen each).
    tiles = st.container(horizontal=True, gap="small", key="upload_digit_tiles")
    for index in (i for row in steps.rows for i in row):
        prediction = result.predictions[index]
        with tiles.container(width=DIGIT_TILE):
            st.image(charts.enlarge(steps.model_inputs[index], DIGIT_TILE // 28), width=DIGIT_TILE)
            st.markdown(f"#{index + 1} → **{prediction.label}**  \n"
                        f"<span style='color:#64748b;font-size:0.85em'>{prediction.confidence:.0%}</span>",
                        unsafe_allow_html=True)


def compare_ui(item: UploadedImage, result: FileResult, predictor: Predictor | None) -> None:
    """The three thresholds side by side on the same photo: the binarised ink and what the network reads."""
    if not st.toggle("Compare the three thresholds on this picture", key=state.UPLOAD_COMPARE,
                     help="Runs the whole pipeline with mean, Otsu and adaptive thresholds to show where one fails."):
        return
    outcomes = [cached_outcome(item, Options(mode=result.mode, threshold=method))
                for method in preprocess.THRESHOLD_METHODS]
    compared = predict_outcomes(outcomes, predictor)
    cols = st.columns(len(compared), gap="medium")
    for col, other in zip(cols, compared):
        with col:
            chosen = " (chosen)" if other.threshold == result.threshold else ""
            st.markdown(f"**{THRESHOLD_LABELS[other.threshold]}{chosen}**")
            if other.steps is None:
                st.error(other.error or "Could not be read.")
                continue
            st.image(other.steps.ink_bright, width=_step_width(other.steps.height / other.steps.width))
            st.image(other.steps.located, width=_step_width(other.steps.located_aspect))
            answer = other.text.replace("/", " / ") if other.ok else "—"
            confidence = f" ({other.confidence:.0%})" if other.ok else ""
            st.caption(f"{_threshold_caption(other.steps)}. Reads **{answer}**{confidence}")


def visualise_ui(result: FileResult) -> None:
    """"Open in Visualise": make a digit of this file the current input and switch to the Visualise page."""
    steps = result.steps
    if steps is None or not len(steps.model_inputs):
        return
    index = 0
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    if result.mode == "multi" and len(steps.model_inputs) > 1:
        order = [i for row in steps.rows for i in row]
        with left:
            labels = {i: f"Digit #{i + 1}" + (f" (read as {result.predictions[i].label})" if result.predictions else "")
                      for i in order}
            index = st.selectbox("Digit to look inside", order, format_func=labels.get,
                                 key=state.UPLOAD_VISUALISE_DIGIT) or 0
    else:
        left.caption("See what each layer of the network makes of this digit.")
    if right.button("Open in Visualise", icon=":material/visibility:", type="primary", width="stretch",
                    key="upload_open_visualise"):
        suffix = f" — digit #{index + 1}" if result.mode == "multi" else ""
        state.set_current_input(steps.model_inputs[index], source="upload", title=f"{result.name}{suffix}",
                                original=decode(steps.original))
        st.switch_page("pages/visualise.py")


def details_ui(result: FileResult, item: UploadedImage, predictor: Predictor | None) -> None:
    """Everything about one file: the steps, the answer, the threshold comparison, Open in Visualise."""
    st.subheader(result.name, divider="gray", anchor=False)
    several_digits_ui(result)
    st.markdown("##### From photo to model input")
    pipeline_ui(result)
    st.markdown("##### What the network reads")
    prediction_ui(result)
    compare_ui(item, result, predictor)
    visualise_ui(result)


def model_error_ui(error: HdrError) -> None:
    """Shown when no model can be loaded: the steps still work, predictions do not."""
    st.warning(f"{error} The preprocessing steps are shown without predictions.", icon=":material/warning:")
