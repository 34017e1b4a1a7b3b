"""The trace: one ``Stage`` per stage that ran, its image, and a sentence giving the evidence it ran on.

The pipeline calls these after each stage; a stage whose evidence was absent adds nothing. The
Upload page, ``predict --json``'s ``"steps"`` and the tests all read the same trace.
"""

from __future__ import annotations

import numpy as np

from .contrast import Cleaned
from .lines import RuleLines
from .locate import Located
from .results import Box, Stage


def loaded(original: np.ndarray) -> Stage:
    """The picture as given."""
    height, width = original.shape[:2]
    kind = "grey" if original.ndim == 2 else "colour"
    return Stage("load", "Original", f"{width}×{height} pixels, {kind}.", original)


def sheet_found(crop: np.ndarray, page: Box, whole_shape: tuple[int, ...], *, dark: bool, painted: bool) -> Stage:
    """A sheet (or a slate) found on a desk, and the picture cropped to it."""
    share = page.w * page.h / (whole_shape[0] * whole_shape[1])
    what = (
        "A dark sheet (a slate or a card) lies on a lighter desk: its outline is straight-sided with marks on it"
        if dark
        else "A sheet of paper lies on a darker desk: its edge is a step in brightness all round"
    )
    corners = "; the desk left in its corners is painted in the paper's colour" if painted else ""
    return Stage(
        "sheet", "Sheet found", f"{what}, and it covers {share:.0%} of the photo: cropped to it{corners}.", crop
    )


def grayscale(gray: np.ndarray, how: str) -> Stage:
    return Stage("grayscale", "Grayscale", how, gray)


def thresholded(binary: np.ndarray, method: str, level: float) -> Stage:
    """The threshold's output (True = brighter than the threshold)."""
    if method == "adaptive":
        reason = f"Adaptive threshold: each pixel against the mean of its neighbourhood (about {level:.0f} of 255)."
    elif method == "otsu":
        reason = (
            f"Otsu's threshold, the level that best splits the grey levels in two: brighter than {level:.0f} is white."
        )
    else:
        reason = f"Mean threshold: pixels brighter than the picture's mean, {level:.0f} of 255, are white."
    return Stage("threshold", "Binarised", reason, binary)


def inverted(ink: np.ndarray, was_inverted: bool, reason: str) -> Stage:
    """The threshold's ink, bright like MNIST."""
    return Stage("invert", "Auto-inverted" if was_inverted else "Not inverted", reason, ink)


def cleaned(result: Cleaned, before: np.ndarray) -> Stage | None:
    """The ink that stands out from the paper around it; None when that kept every pixel of ``before``."""
    if result.level is None or np.array_equal(result.mask, before):
        return None
    dropped = 1 - np.count_nonzero(result.mask) / max(np.count_nonzero(before), 1)
    if result.on_even_paper:
        reason = (f"On even paper, a pixel stays ink only where it is at least {result.level:.0f} grey levels from the "
                  f"paper ({dropped:.0%} of the threshold's ink, its faint rim, dropped).")
    elif result.flat is not None:
        shadow = (
            f", measured against the shadow's own level over {result.shaded:.0%} of the picture"
            if result.shaded
            else ""
        )
        reason = (
            f"Drawn on a flat background: a pixel is ink where it differs from the background by at least "
            f"{result.level:.0f} grey levels{shadow}; {dropped:.0%} of the threshold's ink dropped."
        )
    else:
        reason = (
            f"A pixel stays ink only where it is at least {result.level:.0f} grey levels brighter than the paper "
            f"around it: {dropped:.0%} of the threshold's ink was shadow, uneven light or paper texture."
        )
    return Stage("clean", "Ink that stands out", reason, result.mask)


def erased_and_joined(lines: RuleLines | None, erased: np.ndarray, joined: np.ndarray, side: int) -> list[Stage]:
    """Ruled lines erased and broken strokes joined (``_erase_and_join``), each only when it changed the ink."""
    stages = []
    if lines is not None:
        stages.append(Stage("lines", "Ruled lines erased", lines.reason(), erased > 0))
    if side and not np.array_equal(joined, erased):
        stages.append(
            Stage(
                "join",
                "Strokes joined",
                f"Gaps in the strokes (a light pen, JPEG noise, an erased line) closed with a disc {side} px across.",
                joined > 0,
            )
        )
    return stages


def located(result: Located) -> list[Stage]:
    """Desk strips cut off (when any), then the digit's components and what was left out."""
    stages = []
    if result.stripped is not result.joined:
        stages.append(
            Stage(
                "desk",
                "Desk cut off",
                "A strip of desk runs along a side of the picture at an even depth "
                "and is joined to the digit: cut off.",
                result.stripped > 0,
            )
        )
    box = result.box
    reason = f"The digit's ink, {box.w}×{box.h} px" + _left_out(result.dropped) + "."
    stages.append(Stage("locate", "Ink located", reason, result.ink))
    return stages


def digits_found(
    ink: np.ndarray, count: int, rows: int, dropped: dict[str, int], *, joined: int, split: int, whole: int = 0,
    reread: int = 0, bars: int = 0, apart: int = 0
) -> Stage:
    """A whole number's digits: ``joined`` put together from pieces above one another, ``bars`` given back a bar
    written apart (``SegmentParams.bar_aspect``), ``split`` wide pieces cut into touching digits, ``whole`` kept as
    one, ``reread`` pieces cut as reading their parts showed (``SegmentParams.reread_margin``), and ``apart``
    pieces read as one digit cut in two (``SegmentParams.apart_sure``)."""
    parts = [f"{count} digit{'s' if count != 1 else ''} found in {rows} row{'s' if rows != 1 else ''}"]
    if joined:
        parts.append(f"{joined} digit{'s' if joined != 1 else ''} joined from pieces above one another")
    if bars:
        parts.append(
            f"{bars} dash{'es' if bars != 1 else ''} joined to the digit {'they overlap' if bars != 1 else 'it overlaps'}"
            ", which the network read more surely with it (a 5's top written apart)"
        )
    if split:
        parts.append(f"{split} wide piece{'s' if split != 1 else ''} cut into touching digits")
    if whole:
        parts.append(
            f"{whole} wide piece{'s' if whole != 1 else ''} kept as one digit (slanted, or with nowhere that two "
            "digits could touch)"
        )
    if reread:
        parts.append(
            f"{reread} piece{'s' if reread != 1 else ''} divided where the network read the parts most surely as "
            "digits, not where width alone would cut (digits written close enough to touch, a wide digit)"
        )
    if apart:
        parts.append(
            f"{apart} piece{'s' if apart != 1 else ''} read as one digit cut in two, where each part read surely as "
            "a digit, one of them the digit the whole was read as (two digits written touching)"
        )
    return Stage("digits", "Digits found", "; ".join(parts) + _left_out(dropped) + ".", ink)


def normalized(model_input: np.ndarray, reason: str) -> Stage:
    return Stage("normalize", "Model input", reason, model_input)


def _left_out(dropped: dict[str, int]) -> str:
    """ "; left out: 3 specks, 1 underline" (plurals by simple rules); "" when nothing was."""
    if not dropped:
        return ""
    plural = {
        "speck": "specks",
        "ruled or grid line": "ruled or grid lines",
        "desk or shadow": "desk or shadow regions",
        "box or circle": "boxes or circles",
        "underline": "underlines",
        "piece away from the digit": "pieces away from the digit",
        "piece of a neighbour cut by the edge": "pieces of neighbours cut by the edge",
        "faint piece": "faint pieces",
        "dot or dash": "dots or dashes",
    }
    words = [f"{count} {kind if count == 1 else plural.get(kind, kind)}" for kind, count in dropped.items()]
    return "; left out: " + ", ".join(words)
