"""The pipeline: the stages in order, for one digit (``preprocess``) and for a whole number (``segment``).

Each stage is a function of its own module; this file only calls them in order and records the trace
(``trace.py``): every stage that ran, its image, and the evidence it ran on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import BlankImageError, ImageError
from . import trace
from .blank import BLANK_MESSAGE
from .components import _Components, _components, _touches_border
from .contrast import _clean_ink, stand_out_from_paper
from .evidence import Look, border_share, clean_reason, look
from .grayscale import _as_uint8_image, _grayscale, _histogram
from .inversion import _auto_invert, _flat_background, _ink_is_dark
from .loading import MIN_IMAGE_SIDE, load_image
from .locate import _erase_and_join, locate_blob, locate_digit
from .normalize import _normalize_mask
from .params import DEFAULT_PARAMS, Params
from .results import Box, DigitCrop, Inversion, MultiPreprocessed, Preprocessed, Stage, ThresholdMethod
from .segment import (
    DigitReader,
    _digit_pieces,
    _drop_faint,
    _join_bars,
    _join_pieces,
    _overlap_area,
    _Piece,
    _piece_mask,
    _row_slope,
    _rows,
    _sheet_edge_contact,
    _split_touching,
    _tight_box,
    _typical_height,
)
from .sheet import _find_sheet, _sheet_only
from .threshold import _check_method, threshold_value


@dataclass(frozen=True)
class _Front:
    """The stages ``preprocess`` and ``segment`` share: from the file to the ink that stands out."""

    original: np.ndarray
    gray: np.ndarray
    binary: np.ndarray
    threshold: float
    method: str
    inversion: Inversion
    clean: np.ndarray
    pale: np.ndarray | None  # (H, W) bool: the ink at a lower contrast, print whole (``Cleaned.pale``)
    page: Box | None
    sheet: np.ndarray | None  # (H, W) bool: the sheet in a page crop whose desk corners were painted out
    stages: tuple[Stage, ...]
    textbook: bool  # a clean picture: only the textbook's stages ran
    reading: str  # why: the evidence (``clean_reason``)

    def steps(self) -> dict:
        """The step images and facts that ``Preprocessed`` and ``MultiPreprocessed`` both report."""
        return dict(
            original=self.original,
            gray=self.gray,
            binary=self.binary,
            threshold=self.threshold,
            method=self.method,
            inverted=self.inversion.inverted,
            invert_reason=self.inversion.reason,
            page=self.page,
            reading=self.reading,
        )


def _front(image, threshold: str, *, numbers: bool = False, params: Params) -> _Front:
    """The stages up to the ink that stands out. A clean picture (``clean_reason``) stops after the
    textbook's threshold and inversion; any other runs the corrective stages its evidence calls for."""
    _check_method(threshold)
    if isinstance(image, (str, Path, bytes, bytearray, memoryview)) or hasattr(image, "read"):
        image = load_image(image, params=params)
    original = _as_uint8_image(image)
    if max(original.shape[:2]) < MIN_IMAGE_SIDE:  # a tight crop of a "1" may be only a few pixels wide
        raise ImageError(
            f"The image is only {original.shape[1]}x{original.shape[0]} pixels: too small to hold a digit. "
            f"Use an image at least {MIN_IMAGE_SIDE} pixels long."
        )
    loaded = trace.loaded(original)
    gray, how = _grayscale(original, params=params)
    hist = _histogram(gray)
    seen = look(gray, params=params)
    if not seen.structure:
        raise BlankImageError(BLANK_MESSAGE)  # uniform, or nothing stands out from the noise
    dark_ink = _ink_is_dark(gray, hist, params=params)
    level = threshold_value(gray, threshold, params=params)
    binary = gray > level
    inversion = _auto_invert(gray, binary, hist, dark_ink, params=params)
    # Bright "ink" may be a whole sheet of paper lying on a darker desk, and dark "ink" a slate on a lighter
    # one: then the picture is not clean, and the sheet is read alone.
    sheet = _find_sheet(gray, hist, dark=dark_ink, params=params)
    if sheet is None:
        inversion, seen, textbook, reading = _judge(gray, binary, hist, inversion, seen, numbers=numbers,
                                                    params=params)
    else:
        textbook, reading = False, "A sheet lies on a desk: read alone, its own paper and ink measured again."
    page, sheet_mask, found = None, None, []
    if sheet is not None:
        page, whole_shape = sheet[0], original.shape
        original, sheet_mask = _sheet_only(original, *sheet, params=params)
        found.append(trace.sheet_found(original, page, whole_shape, dark=dark_ink, painted=sheet_mask is not None))
        gray, how = _grayscale(original, params=params)
        hist = _histogram(gray)
        level = threshold_value(gray, threshold, params=params)
        binary = gray > level
        inversion = _auto_invert(gray, binary, hist, on_sheet=True, params=params)
    stages = [loaded, *found, trace.grayscale(gray, how), trace.thresholded(binary, threshold, float(np.mean(level))),
              trace.inverted(inversion.ink, inversion.inverted, inversion.reason)]
    if textbook:
        clean, pale = _stand_out_from_paper(inversion, seen, stages, params=params), None
    else:
        clean, pale = _stand_out(gray, hist, inversion, stages, params=_for_faint_ink(seen, params))
    return _Front(
        original=original if original is not image else original.copy(),
        gray=gray,
        binary=binary,
        threshold=float(np.mean(level)),
        method=threshold,
        inversion=inversion,
        clean=clean,
        pale=pale,
        page=page,
        sheet=sheet_mask,
        stages=tuple(stages),
        textbook=textbook,
        reading=reading,
    )


def _judge(gray: np.ndarray, binary: np.ndarray, hist: np.ndarray, inversion: Inversion, seen: Look, *,
           numbers: bool, params: Params) -> tuple[Inversion, Look, bool, str]:
    """Whether the picture is clean (``clean_reason``) with the ink on the side the inversion chose, and why.

    Ink over most of the picture's edge is the background: a bold digit covering more of a tight crop than
    its paper does (the ink is then no minority). The other side is then tried as the ink, unless it would
    be nearly all of the picture (that side is the paper, uneven). Returns the inversion and ``Look`` the
    verdict holds for, the verdict and its reason.
    """
    seen = seen.with_ink(dark=inversion.inverted)
    textbook, reading = clean_reason(gray, inversion.ink, seen, numbers=numbers, params=params)
    if textbook or border_share(inversion.ink) <= 0.5:
        return inversion, seen, textbook, reading
    flipped = _auto_invert(gray, binary, hist, not inversion.inverted, params=params)
    if border_share(flipped.ink) > params.clean.border_share or flipped.ink.mean() > params.clean.flip_ink_share:
        return inversion, seen, textbook, reading
    swapped = seen.with_ink(dark=flipped.inverted)
    clean, why = clean_reason(gray, flipped.ink, swapped, numbers=numbers, params=params)
    return (flipped, swapped, clean, why) if clean else (inversion, seen, textbook, reading)


def _stand_out_from_paper(inversion: Inversion, seen: Look, stages: list[Stage], *, params: Params) -> np.ndarray:
    """On even paper: the threshold's ink that stands clearly apart from the paper's one level (its faint,
    anti-aliased rim dropped); adds the stage to ``stages`` when that dropped anything."""
    paper = 255 - seen.paper if inversion.inverted else seen.paper
    cleaned = stand_out_from_paper(inversion.ink, inversion.gray, paper, params=params)
    stage = trace.cleaned(cleaned, inversion.ink)
    if stage is not None:
        stages.append(stage)
    return cleaned.mask


def _for_faint_ink(seen: Look, params: Params) -> Params:
    """``params`` with the contrast a pixel needs to count as ink lowered to a third of the picture's own ink
    contrast, when that is faint (under twice ``params.contrast.min_ink_contrast``): faint ink is ink."""
    floor = params.contrast.min_ink_contrast
    if seen.contrast >= 2 * floor:
        return params
    faint = max(int(params.blank.min_levels), int(seen.contrast // 3))
    return replace(params, contrast=replace(params.contrast, min_ink_contrast=faint))


def _stand_out(gray: np.ndarray, hist: np.ndarray, inversion: Inversion, stages: list[Stage], *,
               params: Params) -> tuple[np.ndarray, np.ndarray | None]:
    """The threshold's ink that also stands out from the paper around it (shadows, uneven light, texture
    dropped), and that ink at a lower contrast (``Cleaned.pale``); adds the stage to ``stages`` when that
    dropped anything. Whether there is ink at all was decided by ``look``: a faint picture's ink counts (see
    ``_for_faint_ink``)."""
    flat = _flat_background(gray, hist, params=params)
    if flat is not None and inversion.inverted:
        flat = 255 - flat
    cleaned = _clean_ink(inversion.ink, inversion.gray, flat, inversion.inverted, params=params)
    stage = trace.cleaned(cleaned, inversion.ink)
    if stage is not None:
        stages.append(stage)
    return cleaned.mask, cleaned.pale


def preprocess(image, *, threshold: ThresholdMethod = "mean", params: Params | None = None) -> Preprocessed:
    """Turn an image of one digit into the model input, keeping every step.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        Not modified. (H, W, 4) RGBA is flattened like ``load_image``.
    threshold : {'mean', 'otsu', 'adaptive'}, keyword-only
        How to binarise (see ``threshold_value``).

    Returns
    -------
    Preprocessed
        Every intermediate image and the (28, 28) float32 model input.

    Raises
    ------
    BlankImageError
        No ink: blank, uniform or single-colour image.
    ImageError
        The image cannot be read (when given a path or bytes).
    """
    params = DEFAULT_PARAMS if params is None else params
    front = _front(image, threshold, params=params)
    if front.textbook:
        located = locate_blob(front.clean, params=params)
    else:
        located = locate_digit(front.clean, pale=front.pale, params=params)
    if located is None:
        raise BlankImageError(BLANK_MESSAGE)
    box = located.box
    if max(box.w, box.h) < params.blank.min_digit_side_share * max(front.gray.shape):
        raise BlankImageError(BLANK_MESSAGE)  # only specks: dust or paper texture, not a digit
    model_input, how = _normalize_mask(located.ink[box.slices], params=params)
    stages = (
        *front.stages,
        *trace.erased_and_joined(located.lines, located.erased, located.joined, located.join_side),
        *trace.located(located),
        trace.normalized(model_input, how),
    )
    return Preprocessed(**front.steps(), ink=located.ink, box=box, model_input=model_input, trace=stages)


def segment(image, *, threshold: ThresholdMethod = "mean", params: Params | None = None,
            reader: DigitReader | None = None) -> MultiPreprocessed:
    """Split an image of a whole number ("2026", a phone number, several rows) into digits.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        Not modified.
    threshold : {'mean', 'otsu', 'adaptive'}, keyword-only
    params : Params, keyword-only
        The tuning values (default ``Params()``).
    reader : DigitReader, keyword-only
        How surely a picture is a digit (``hdr_core.piece_reader.default_reader()``: the shipped network
        and digit check). With one, a wide piece of ink is cut into digits where its parts read most surely as
        digits rather than by width alone (``SegmentParams.reread_aspect``, ``reread_margin``): two digits
        written close enough to touch, a wide digit that width would cut; and a dash is joined to the digit it
        overlaps when that reads more surely with it (``bar_aspect``: a 5's bar written apart). None cuts by
        width alone and leaves every dash out.

    Returns
    -------
    MultiPreprocessed
        The steps of ``preprocess`` plus the digits in reading order (rows top to bottom, left to
        right) and the rows as indices into ``digits``.

    Notes
    -----
    Connected ink components are the digits, after dropping specks and dots (tiny against the median
    digit), grid lines, border-touching desk/shadow regions, and boxes (one round the number or one
    per digit), circles and underlines drawn round them. Pieces that overlap horizontally, are close
    vertically and together are no wider than a digit (a 5's detached bar) are joined, and, with a ``reader``,
    a dash reaching past a digit it overlaps is joined to it when it reads more surely so; a component much
    wider than the row is tall holds touching digits and is cut at the emptiest columns, or, with a
    ``reader``, where the parts read most surely as digits. Rows are found by gaps between the digits'
    vertical centres.

    Raises
    ------
    BlankImageError
        No digits found.
    """
    params = DEFAULT_PARAMS if params is None else params
    front = _front(image, threshold, numbers=True, params=params)
    if front.textbook:  # a clean picture: no lines to erase, no broken strokes to join
        lines, erased, mask, side = None, *(front.clean.astype(np.uint8),) * 2, 0
    else:
        lines, erased, mask, side = _erase_and_join(
            front.clean, params.locate.closing_fraction / 2, pale=front.pale, params=params
        )
    comps = _components(mask)
    pieces, dropped = _digit_pieces(
        comps, mask.shape, _sheet_edge_contact(comps, front.page, front.sheet), params=params
    )
    found = len(pieces)
    pieces = _drop_faint(pieces, comps, front.inversion.gray, front.clean, params=params)
    dropped["faint piece"] = found - len(pieces)
    if not pieces:
        raise BlankImageError(BLANK_MESSAGE)
    first_height = _typical_height(pieces)
    found = len(pieces)
    pieces = _join_pieces(pieces, first_height, _row_slope(pieces, first_height, params=params), params=params)
    joined = found - len(pieces)
    height = _typical_height(pieces)
    short = [p.box.h < params.segment.min_digit_height_share * height for p in pieces]  # dots, dashes, marks
    dashes = [p for p, is_short in zip(pieces, short) if is_short]
    pieces = [p for p, is_short in zip(pieces, short) if not is_short]
    bars = 0
    if reader is not None and dashes:
        pieces, dashes, bars = _join_bars(pieces, dashes, comps, height, reader, params=params)
    dropped["dot or dash"] = len(dashes)
    pieces, cut, whole, reread, apart = _split_touching(pieces, comps, height, reader, params=params)
    rows = _rows(pieces, height, params=params)

    digits, row_indices, kept = _crop_digits(rows, comps, params=params)
    if not digits:
        raise BlankImageError(BLANK_MESSAGE)
    union = digits[0].box
    for digit in digits[1:]:
        union = union.union(digit.box)
    found_digits = trace.digits_found(
        kept,
        len(digits),
        len(row_indices),
        {k: v for k, v in dropped.items() if v},
        joined=joined,
        bars=bars,
        split=cut,
        whole=whole,
        reread=reread,
        apart=apart,
    )
    stages = (
        *front.stages,
        *trace.erased_and_joined(lines, erased, mask, side),
        found_digits,
        trace.normalized(
            np.stack([d.model_input for d in digits]),
            f"Each digit on its own: strokes made {params.normalize.stroke_width:g}-"
            f"{params.normalize.bold_stroke_width:g} px wide, as MNIST's are, slant halved, long side fit to 20 px "
            "and centre of mass at (14, 14).",
        ),
    )
    return MultiPreprocessed(
        **front.steps(),
        ink=kept,
        box=union,
        model_input=digits[0].model_input,
        digits=tuple(digits),
        rows=tuple(row_indices),
        trace=stages,
    )


def _crop_digits(rows: list[list[_Piece]], comps: _Components, *, params: Params
                 ) -> tuple[list[DigitCrop], list[tuple[int, ...]], np.ndarray]:
    """Each piece's model input: the digits in reading order, the rows as indices into them, and the
    (H, W) bool ink they hold together."""
    digits: list[DigitCrop] = []
    row_indices: list[tuple[int, ...]] = []
    kept = np.zeros(comps.labels.shape, bool)
    for row in rows:
        indices = []
        for piece in row:
            piece_mask = _piece_mask(piece, comps)  # (h, w) bool
            if not piece_mask.any():
                continue
            kept[piece.box.slices] |= piece_mask
            indices.append(len(digits))
            model_input = _normalize_mask(piece_mask, params=params)[0]
            digits.append(DigitCrop(box=_tight_box(piece_mask, piece.box), model_input=model_input))
        if indices:
            row_indices.append(tuple(indices))
    return digits, row_indices, kept


def digits_left_out(image, single: Preprocessed, *, params: Params | None = None) -> int:
    """How many digits a picture holds when reading it as one digit leaves some of them out.

    The Upload page uses it to suggest the whole-number mode when someone uploads "4096" as one digit.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        The picture ``single`` was made from. Not modified.
    single : Preprocessed
        ``preprocess(image, threshold=...)``; its threshold method is used again here.

    Returns
    -------
    int
        The number of digits ``segment`` finds, when at least two of them are full-size digits clear
        of the picture's edge and one of those lies mostly outside ``single.box``; 0 when the picture
        looks like one digit (specks, a digit's own detached stroke and neighbours cut by the edge of
        a grid cell do not make it several).
    """
    params = DEFAULT_PARAMS if params is None else params
    try:
        several = segment(image, threshold=single.method, params=params)  # type: ignore[arg-type]
    except BlankImageError:
        return 0
    shape = several.gray.shape
    tallest = max(d.box.h for d in several.digits)
    full = [
        d.box
        for d in several.digits
        if d.box.h >= params.segment.left_out_height_share * tallest and not _touches_border(d.box, shape)
    ]
    if len(full) < 2:
        return 0
    outside = [b for b in full if _overlap_area(b, single.box) < params.segment.left_out_outside_share * b.w * b.h]
    return len(several.digits) if outside else 0
