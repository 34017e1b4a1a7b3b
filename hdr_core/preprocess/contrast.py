"""Shadows and local contrast: ink must stand out from the paper around it, not only from a global level."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .components import _check_mask
from .grayscale import _check_gray, _histogram
from .inversion import _flat_background
from .lines import _remove_rule_lines
from .params import DEFAULT_PARAMS, Params
from .worksize import _full_size, _gray_opening, _wide_kernel_side, _work_copy


def local_contrast(ink_gray: np.ndarray, *, inverted: bool = True, params: Params | None = None) -> np.ndarray:
    """How much brighter each pixel is than the background around it (a morphological top-hat).

    Parameters
    ----------
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright (after ``auto_invert``). Not modified.
    inverted : bool, keyword-only
        Whether ``ink_gray`` is the inverted picture of dark ink on light paper
        (``auto_invert(...).inverted``). Only then does a shadow dim the ink's contrast along with
        the paper, so only then is the contrast scaled back up (see below); light ink on a dark
        background is measured as it is.

    Returns
    -------
    contrast : (H, W) uint8 ndarray
        The pixel minus the local background level; for dark ink on paper scaled up where the
        paper is in shadow (by 255 / the paper's brightness, at most ``params.contrast.max_shadow_gain`` times), so
        the same stroke stands out as much in the shadow as in the light. The background is the grey-level opening
        of a small copy with a kernel a third of the picture's long side: strokes narrower than that
        vanish from it, while shadows, vignetting and lighting gradients (wider) stay, so they
        cancel out here. Where the ink's strokes can be measured, anything wider than
        ``params.contrast.stroke_kernel_factor`` stroke widths counts as background as well (the larger of the two
        openings): the narrow end of a sharp-edged shadow cancels out too, not only its wide part.
    """
    params = DEFAULT_PARAMS if params is None else params
    ink_gray = _check_gray(ink_gray, "ink_gray")
    small = _work_copy(ink_gray, params=params)
    level = _background_level(small, _wide_background(small, params=params), params=params)
    return _contrast_over(ink_gray, _full_size(level, ink_gray.shape), inverted, params=params)


def _wide_background(small: np.ndarray, *, params: Params) -> np.ndarray:
    """(h, w) uint8 work copy (``_work_copy``), ink bright -> (h, w) uint8: the background level that
    follows only what is wider than a third of the picture (the grey opening)."""
    return _gray_opening(small, _wide_kernel_side(small, params=params))


def _background_level(small: np.ndarray, wide: np.ndarray, *, params: Params) -> np.ndarray:
    """(h, w) uint8 work copy, ink bright, and its ``_wide_background`` -> (h, w) uint8: the background
    level around each pixel, following also what is wider than ``params.contrast.stroke_kernel_factor`` strokes where
    the strokes can be measured (see ``local_contrast``)."""
    wide_side = _wide_kernel_side(small, params=params)
    above_wide = cv2.subtract(small, wide)
    stroke = _typical_thickness(above_wide, wide_side, params=params)
    if stroke is not None:
        # The measured width is the widest odd disc that fits (``_typical_thickness``); one pixel means
        # anything under three, so such strokes count as two wide: twice one pixel left strokes of
        # two in the background, and lines beside them lost their contrast.
        side = int(round(params.contrast.stroke_kernel_factor * max(stroke, 2))) | 1
        if side < wide_side:
            fine = np.maximum(wide, _gray_opening(small, side))
            knots = _knots(above_wide, fine, wide, side, params=params)
            return fine if knots is None else np.where(knots, wide, fine)
    return wide


def _knots(
    above_wide: np.ndarray, fine: np.ndarray, wide: np.ndarray, side: int, *, params: Params
) -> np.ndarray | None:
    """(h, w) bool: where the fine background scale (``fine``, kernel ``side``) rises above the ``wide``
    one in a patch that is ink, not background; None when there is none. Such a patch stands out from the
    wide level as ink does (most of it at least ``_ink_contrast_level``: paper texture and sensor noise in a
    dim corner do not), all round it the wide level stays below the fine level inside it, and it is at most
    ``params.contrast.knot_sides`` fine kernels across: strokes meeting in a knot, a small blot, or a stroke
    crossing where two printed lines cross. Or it is bigger, but most of it stands out at least
    ``params.contrast.blot_share`` as far as the strong ink does (``_strong_ink_level``) and it is clear of the
    picture's edge: a bold marker stroke or a filled-in loop among finer strokes and printed lines, which set
    the fine scale (a shadow is paler than the ink; a desk comes in from the edge). A shadow's narrow end
    runs on into its wide part, where the wide level catches up. All (h, w) uint8; ``above_wide`` is the
    work copy (ink bright) less ``wide``."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (cv2.subtract(fine, wide) >= params.contrast.min_ink_contrast).astype(np.uint8), connectivity=8
    )
    strong = _strong_ink_level(above_wide, params=params) if count > 1 else 0.0
    ink_level = _level_for_strong_ink(strong, params=params)
    if ink_level is None:
        return None
    blot_level = params.contrast.blot_share * strong
    height, width = labels.shape
    knots = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        box = (slice(max(0, y - 1), y + h + 1), slice(max(0, x - 1), x + w + 1))
        patch = labels[box] == i
        stands_out = float(np.median(above_wide[box][patch]))
        if stands_out < ink_level:
            continue
        if area >= (params.contrast.knot_sides * side) ** 2 and (
            stands_out < blot_level or x == 0 or y == 0 or x + w == width or y + h == height
        ):
            continue
        ring = cv2.dilate(patch.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~patch
        if not ring.any():
            continue  # the patch is the whole picture
        inside_fine, inside_wide = float(fine[box][patch].mean()), float(wide[box][patch].mean())
        knots[i] = wide[box][ring].max() < (inside_fine + inside_wide) / 2
    return knots[labels] if knots.any() else None


def _contrast_over(ink_gray: np.ndarray, level: np.ndarray, inverted: bool, *, params: Params) -> np.ndarray:
    """(H, W) uint8 ink bright, its background level -> (H, W) uint8 local contrast (``local_contrast``)."""
    if not inverted:
        return cv2.subtract(ink_gray, level)
    # Light multiplies: in a shadow the paper and the ink both get less of it, and their difference
    # shrinks with it. Scaled back to full light, a pencil stroke in the shadow counts as much as
    # the same stroke beside it.
    paper_light = np.maximum(255 - level.astype(np.float32), 255 / params.contrast.max_shadow_gain)
    contrast = (ink_gray.astype(np.float32) - level) * (255 / paper_light)
    return np.clip(contrast, 0, 255).astype(np.uint8)


def _typical_thickness(contrast: np.ndarray, most: int, *, params: Params) -> int | None:
    """The median local thickness, in pixels, of the ink standing out in ``contrast`` ((H, W) uint8).

    The widest disc (odd diameter, at most ``most``) that fits around at least half of the ink's
    pixels: an opening with it keeps half the ink. Strokes give their own width; specks of paper
    texture and pits in a textured marker stroke only pull it down a little, and a shadow's wedge
    (as wide as it is long) only pushes it up, which makes the second background scale safer still.
    Ruled or squared paper's lines are left out (``_remove_rule_lines``): in a small photo they can be
    most of the ink, and at their width the background would swallow a felt pen's strokes.
    None when nothing stands out clearly.
    """
    level = _ink_contrast_level(contrast, params=params)
    if level is None:
        return None
    ink = (contrast >= level).astype(np.uint8)
    strokes = _remove_rule_lines(ink, params=params)
    if np.count_nonzero(strokes) >= params.contrast.min_ink_pixels:
        ink = strokes
    half = np.count_nonzero(ink) / 2
    thickness = 1
    for side in range(3, most + 1, 2):
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        if np.count_nonzero(cv2.morphologyEx(ink, cv2.MORPH_OPEN, disc)) < half:
            break
        thickness = side
    return thickness


def _strong_ink_level(contrast: np.ndarray, *, params: Params) -> float:
    """The local contrast of clearly visible ink: a high percentile of the pixels that stand out at all.

    Only pixels at least ``params.contrast.min_ink_contrast`` off the paper count, so a thin pen line covering 0.1% of
    a big photo sets the level as surely as a thick marker; unless the picture's top 0.3% stand out
    more (paper texture outnumbering the ink). 0 when too few pixels stand out.
    """
    hist = _histogram(contrast)
    standing_out = hist[params.contrast.min_ink_contrast :].cumsum()
    if standing_out[-1] < params.contrast.min_ink_pixels:
        return 0.0
    of_those = params.contrast.min_ink_contrast + np.searchsorted(
        standing_out, params.contrast.strong_ink_percentile / 100 * standing_out[-1]
    )
    # Paper texture can outnumber the ink among the pixels standing out; then the top pixels of the
    # whole picture (a fixed share of it, mostly ink) tell the ink's contrast better.
    overall = np.searchsorted(hist.cumsum(), params.contrast.top_pixels_percentile / 100 * hist.sum())
    return float(max(of_those, overall))


def clean_ink(
    ink: np.ndarray, ink_gray: np.ndarray, *, inverted: bool = True, params: Params | None = None
) -> np.ndarray:
    """Keep the threshold's ink pixels that also stand out locally.

    Parameters
    ----------
    ink : (H, W) bool ndarray
        Ink pixels from the threshold (``auto_invert(...).ink``). Not modified.
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright.
    inverted : bool, keyword-only
        Whether the ink was dark on light paper (``auto_invert(...).inverted``); see
        ``local_contrast``.

    Returns
    -------
    ink : (H, W) bool ndarray
        Ink whose local contrast (``local_contrast``; for a flat digital background simply the
        difference from it) is at least 30% of the strong ink's and at least 12 grey levels: drops
        shadows, vignetting, paper texture and faint erasures. All False when nothing stands out.
    """
    params = DEFAULT_PARAMS if params is None else params
    ink = _check_mask(ink, "ink")
    ink_gray = _check_gray(ink_gray, "ink_gray")
    return _clean_ink(ink, ink_gray, _flat_background(ink_gray, params=params), inverted, params=params).mask


@dataclass(frozen=True)
class Cleaned:
    """What ``_clean_ink`` kept, and the evidence (for the trace).

    Attributes
    ----------
    mask : (H, W) bool ndarray
        The threshold's ink pixels that also stand out from the paper around them.
    level : float or None
        The local contrast (grey levels) a pixel needed; None when nothing stood out (blank).
    flat : int or None
        The flat background's level (ink bright) when the picture was drawn digitally; None for photos.
    shaded : float
        The share of the picture measured against a shadow's local level on a flat background (0 otherwise).
    on_even_paper : bool
        Measured against one paper level, on a clean picture (``stand_out_from_paper``).
    pale : (H, W) bool ndarray or None
        The threshold's ink pixels that stand out by ``params.contrast.pale_share`` of ``level``: printed lines
        paler than the ink come out whole here where ``mask`` leaves them dotted (for the lines stage to find
        them by). None on even paper.
    """

    mask: np.ndarray
    level: float | None
    flat: int | None
    shaded: float = 0.0
    on_even_paper: bool = False
    pale: np.ndarray | None = None


def _clean_ink(ink: np.ndarray, ink_gray: np.ndarray, flat: int | None, inverted: bool, *, params: Params) -> Cleaned:
    """``clean_ink`` with the flat background's level (ink bright) already known (None: a photo)."""
    shaded_share = 0.0
    if flat is not None:
        # Drawn digitally, or scanned with the paper clipped to white: the background level itself is
        # the reference. Except where a shadow lies over part of it (a scan's binding, a phone's
        # shadow): there the background is darker than the flat level, and measured locally.
        shift = np.clip(np.arange(256) - flat, 0, 255).astype(np.uint8)
        contrast = cv2.LUT(ink_gray, shift)
        small = _work_copy(ink_gray, params=params)
        wide = _wide_background(small, params=params)
        in_shadow = wide >= flat + params.contrast.min_ink_contrast
        if in_shadow.any():
            # A shadow is wider than strokes: the fine scale only extends it (to its narrow end), or a
            # bold stroke's junction or a small picture's whole stroke would count as shadow.
            level = _background_level(small, wide, params=params)
            shaded = _grown_from(level >= flat + params.contrast.min_ink_contrast, in_shadow)
            shaded = _full_size(shaded.astype(np.uint8) * 255, ink_gray.shape) > 0
            local = _contrast_over(ink_gray, _full_size(level, ink_gray.shape), inverted, params=params)
            contrast = np.where(shaded, local, contrast)
            shaded_share = float(shaded.mean())
    else:
        contrast = local_contrast(ink_gray, inverted=inverted, params=params)
    level = _ink_contrast_level(contrast, params=params)
    if level is None:
        return Cleaned(np.zeros(ink.shape, bool), None, flat, shaded_share)
    pale = ink & (contrast >= max(params.contrast.min_ink_contrast, params.contrast.pale_share * level))
    return Cleaned(ink & (contrast >= level), float(level), flat, shaded_share, pale=pale)


def stand_out_from_paper(ink: np.ndarray, ink_gray: np.ndarray, paper: float, *, params: Params) -> Cleaned:
    """The ink pixels that stand clearly apart from an even paper's level: the threshold's ink, less its faint
    rim (on a clean picture, where one level is the paper everywhere).

    Parameters
    ----------
    ink : (H, W) bool ndarray
        The threshold's ink (``auto_invert(...).ink``).
    ink_gray : (H, W) uint8 ndarray
        Grayscale with the ink bright.
    paper : float
        The paper's level in ``ink_gray``.

    Returns
    -------
    Cleaned
        ``mask``: the pixels of ``ink`` at least ``params.clean.ink_share`` of the strong ink's
        contrast (the ``strong_ink_percentile`` of the ink's pixels) brighter than the paper; ``level``
        that contrast in grey levels; ``flat`` the paper's level.
    """
    contrast = ink_gray.astype(np.float32) - np.float32(paper)
    if not ink.any():
        return Cleaned(ink, None, int(round(paper)), on_even_paper=True)
    strong = float(np.percentile(contrast[ink], params.contrast.strong_ink_percentile))
    level = params.clean.ink_share * strong
    return Cleaned(ink & (contrast >= level), level, int(round(paper)), on_even_paper=True)


def _grown_from(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """(h, w) bool: the parts of ``mask`` (8-connected) that hold a pixel of ``seeds``."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[labels[mask & seeds]] = True
    keep[0] = False
    return keep[labels]


def _ink_contrast_level(contrast: np.ndarray, *, params: Params) -> float | None:
    """The local contrast a pixel needs to count as ink: 30% of the strong ink's, at least
    ``params.contrast.min_ink_contrast``; None when nothing stands out clearly (a blank picture)."""
    return _level_for_strong_ink(_strong_ink_level(contrast, params=params), params=params)


def _level_for_strong_ink(strong: float, *, params: Params) -> float | None:
    """``_ink_contrast_level`` for a picture whose strong ink (``_strong_ink_level``) stands out ``strong``."""
    if strong < 2 * params.contrast.min_ink_contrast:
        return None
    return max(params.contrast.min_ink_contrast, params.contrast.ink_contrast_share * strong)
