"""What the Upload page makes of a file, without Streamlit: ``preprocess_file`` (bytes to every step, small enough
to cache; a whole number's touching digits are cut where the shipped network reads them, ``hdr_core.piece_reader``,
whichever model the page predicts with), ``predict_outcomes`` (one batched pass of the chosen model, with the digit
check), the results table's rows and CSV.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from hdr_app import charts
from hdr_core import preprocess
from hdr_core.constants import DIGIT_CLASS_NAMES
from hdr_core.digit_check import DigitCheck, default_checker, verdict
from hdr_core.errors import HdrError
from hdr_core.inference import Prediction, Predictor
from hdr_core.piece_reader import default_reader
from hdr_core.preprocess import Box

from .images import BORDER_COLOR, display_scale, draw_boxes, encode_image, montage, thumbnail

logger = logging.getLogger(__name__)


MODES: tuple[str, ...] = ("single", "multi")


FILE_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif")


MAX_FILES = 40  # files read per batch: bounds the work and memory of one rerun


CACHE_ENTRIES = 96  # cached outcomes (each well under 1 MB: encoded thumbnails + 28x28 inputs)


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
    checks : tuple of DigitCheck
        The digit check's verdict on each digit, as ``predictions``; empty for a model that is not of digits.
    """

    name: str
    mode: str
    threshold: str
    steps: Steps | None = None
    error: str | None = None
    predictions: tuple[Prediction, ...] = field(default=())
    checks: tuple[DigitCheck, ...] = field(default=())

    @property
    def flagged(self) -> tuple[int, ...]:
        """Indices of the digits the digit check says may not be digits."""
        return tuple(i for i, check in enumerate(self.checks) if check.flagged)

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


def _named_source(data: bytes, name: str) -> io.BytesIO:
    """The bytes as a file object carrying the file's name, so messages name the file."""
    source = io.BytesIO(data)
    source.name = name  # load_image reads .name for its messages
    return source


def _framed(image: np.ndarray) -> np.ndarray:
    """A copy with a 1-pixel light grey frame drawn over its outermost pixels (same size)."""
    out = np.array(image, copy=True)
    out[0, :] = out[-1, :] = BORDER_COLOR
    out[:, 0] = out[:, -1] = BORDER_COLOR
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
    scale = display_scale(height, width)
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
    whole_photo = None if uncropped is None else encode_image(outline_page(uncropped, result.page), photo=True)
    original_image = encode_image(_framed(photo), photo=True)
    located_image = encode_image(_framed(located), photo=True)
    first = (whole_photo, uncropped.shape[0] / uncropped.shape[1]) if whole_photo else (original_image, height / width)
    stages = _shown_stages(result, first=first, located=(located_image, located.shape[0] / located.shape[1]),
                           model_inputs=model_inputs, rows=rows, exif_turned=exif_turned)
    return Steps(
        width=int(width),
        height=int(height),
        exif_turned=bool(exif_turned),
        original=original_image,
        gray=encode_image(_framed(thumbnail(result.gray)), photo=True),
        binary=encode_image(_framed(binary), photo=False),
        ink_bright=encode_image(ink_bright, photo=False),
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
            image, aspect = encode_image(_framed(thumb), photo=stage.image.dtype != bool), thumb.shape[0] / thumb.shape[1]
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
            result, left_out = preprocess.segment(image, threshold=threshold, reader=default_reader()), 0
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
    probabilities = digit_p = None
    if predictor is not None and inputs:
        probabilities = predictor.predict_proba(np.concatenate(inputs))
        checker = default_checker() if tuple(predictor.class_names) == DIGIT_CLASS_NAMES else None
        if checker is not None:
            digit_p = checker.digit_probabilities(np.concatenate(inputs))
    results, start = [], 0
    for outcome in outcomes:
        fields = {"name": outcome.name, "mode": outcome.mode, "threshold": outcome.threshold,
                  "steps": outcome.steps, "error": outcome.error}
        if outcome.steps is None or probabilities is None:
            results.append(FileResult(**fields))
            continue
        count = len(outcome.steps.model_inputs)
        predictions = tuple(_prediction(row, predictor.class_names) for row in probabilities[start : start + count])
        checks = () if digit_p is None else tuple(verdict(p, checker.params) for p in digit_p[start : start + count])
        start += count
        results.append(FileResult(**fields, predictions=predictions, checks=checks))
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


def results_rows(results: Sequence[FileResult]) -> list[dict]:
    """One plain dict per file for the results table and the CSV.

    Keys: ``file``, ``prediction`` (digit or number, rows separated by ``/``), ``confidence`` (float
    or None), ``digits`` (how many were found), ``mode``, ``threshold``, ``inverted``, ``error``,
    ``may_not_be_digits`` (the numbers of the digits the digit check doubts, ``#1 #3``), and for one digit per
    image ``p_<class>`` for every class.
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
            "may_not_be_digits": " ".join(f"#{i + 1}" for i in result.flagged),
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
