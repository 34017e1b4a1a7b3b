"""Tests for hdr_core.preprocess: shadows, vignetting and local contrast."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp

from .drawing import box_of, digit_mask, iou, render, shadowed


def test_preprocess_phone_photo_with_shadow_and_vignetting():
    """Mean threshold plus the local-contrast cleaning copes with a shadowed corner."""
    mask = digit_mask("9", size=(300, 300), scale=5, thickness=6)
    truth = box_of(mask)
    ys, xs = np.indices(mask.shape)
    paper = 230 - 60 * ((xs - 150) ** 2 + (ys - 150) ** 2) / (2 * 150**2)  # vignetting
    paper = np.where((xs + ys) > 420, paper - 70, paper)  # a hard-edged shadow over a corner
    rng = np.random.default_rng(1)
    gray = np.where(mask, paper * 0.35, paper) + rng.normal(0, 3, mask.shape)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    for method in pp.THRESHOLD_METHODS:
        result = pp.preprocess(gray, threshold=method)
        assert result.inverted
        assert iou(result.box, truth) > 0.8, method


@pytest.mark.parametrize("text", list("0123456789"))
def test_the_narrow_end_of_a_sharp_shadow_across_a_tight_crop_is_not_ink(text):
    """The wide grey opening leaves the shadow's narrow end out of the background: the second,
    stroke-sized scale must take it back, or the triangle joins the digit and widens its box."""
    mask = digit_mask(text, size=(140, 110), scale=4, thickness=8)
    result = pp.preprocess(shadowed(mask))
    near_digit = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.count_nonzero(result.ink & ~near_digit) <= 0.02 * np.count_nonzero(mask)
    assert iou(result.box, box_of(mask)) > 0.9


@pytest.mark.parametrize("shadow", ["binding", "phone"])
def test_a_shadow_over_a_scan_clipped_to_white_is_not_ink(shadow):
    """Scanners clip the paper to pure white, and a digital drawing's background is a single level:
    most of the picture at exactly one grey level, which is then the ink's reference. Where a shadow
    darkens part of such a picture (a book's binding, a hand or phone over the page), the paper there
    is measured locally, or the whole shadow is taken for ink."""
    mask = digit_mask("4", size=(200, 160), scale=5, thickness=4)
    ys, xs = np.indices(mask.shape)
    in_shadow = xs < 50 if shadow == "binding" else xs + 0.5 * ys < 0.55 * 160
    gray = np.where(mask, 30.0, 255.0)
    gray = np.where(in_shadow, gray * 0.55, gray).astype(np.uint8)
    assert np.count_nonzero(gray == 255) >= 0.6 * gray.size  # a flat background
    result = pp.preprocess(gray)
    near_digit = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.count_nonzero(result.ink & ~near_digit) <= 0.02 * np.count_nonzero(mask)
    assert iou(result.box, box_of(mask)) > 0.9


def test_a_light_pencil_stroke_in_a_shadow_is_kept_like_one_in_the_light():
    """A 7 with a dark bar and a light pencil stem, its lower half in a phone's shadow. The shadow
    halves the stem's contrast; measured against the paper's own brightness it is the same stroke."""
    gray = np.full((160, 140), 225.0)
    bar, stem = np.zeros(gray.shape, np.uint8), np.zeros(gray.shape, np.uint8)
    cv2.line(bar, (25, 25), (115, 25), 255, 7)
    cv2.line(stem, (112, 28), (55, 140), 255, 5)
    gray[bar > 0], gray[stem > 0] = 25, 140
    ys = np.indices(gray.shape)[0]
    gray = np.where(ys > 80, gray * 0.5, gray)
    gray = np.clip(gray + np.random.default_rng(5).normal(0, 3, gray.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(gray)
    stem_in_shadow = (stem > 0) & (ys > 85)
    assert np.count_nonzero(result.ink & stem_in_shadow) >= 0.9 * np.count_nonzero(stem_in_shadow)
    assert result.box.y + result.box.h >= 138


def test_bold_marker_strokes_with_pits_stay_ink_whole():
    """The stroke-sized background scale is measured on the ink itself: a bold, textured marker
    stroke (pits where the felt skipped) must not be mistaken for background."""
    mask = digit_mask("8", size=(160, 130), scale=4, thickness=22)
    pits = np.random.default_rng(3).random(mask.shape) < 0.15
    gray = render(mask & ~pits, 30, 215) + np.random.default_rng(4).normal(0, 3, mask.shape)
    result = pp.preprocess(cv2.GaussianBlur(np.clip(gray, 0, 255).astype(np.uint8), (3, 3), 0))
    assert np.count_nonzero(result.ink & mask) >= 0.95 * np.count_nonzero(mask)


def _number_with_a_blot(shadow_level: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """"418" in a fine pen and a 6 whose loop is filled in (a felt pen's blot, as wide as seven of the fine
    strokes) on squared paper, the light falling off across it: (H, W) uint8, the blot's mask, and the mask of
    a pale round shadow above the 6 (all False unless ``shadow_level``, the paper's level inside it)."""
    height, width = 240, 560
    ink = np.zeros((height, width), np.uint8)
    cv2.putText(ink, "418", (40, 180), cv2.FONT_HERSHEY_SIMPLEX, 4.5, 255, 4, cv2.LINE_AA)
    blot = np.zeros_like(ink)
    cv2.circle(blot, (470, 152), 28, 255, -1, cv2.LINE_AA)
    cv2.ellipse(ink, (498, 152), (56, 72), 0, 180, 250, 255, 4, cv2.LINE_AA)  # the 6's stem into the blot
    paper = np.full(ink.shape, 228.0)
    for at in range(10, width, 30):
        cv2.line(paper, (0, at), (width, at), 175, 1)
        cv2.line(paper, (at, 0), (at, height), 175, 1)
    paper *= 1 - 0.25 * np.indices(ink.shape)[1] / width
    shadow = np.zeros_like(ink)
    if shadow_level is not None:
        cv2.circle(shadow, (380, 60), 30, 255, -1)
        paper -= (228 - shadow_level) * cv2.GaussianBlur(shadow, (9, 9), 0) / 255
    share = np.maximum(ink, blot) / 255
    gray = paper * (1 - share) + 40 * share + np.random.default_rng(2).normal(0, 4, ink.shape)
    return np.clip(gray, 0, 255).astype(np.uint8), blot > 127, shadow > 127


def test_a_blot_among_fine_strokes_stays_ink():
    """The fine scale of the background follows the typical stroke (here the fine pen and the printed grid):
    a filled-in loop many strokes wide was taken for background and only its rim stayed ink, a hollow ring
    read as another digit. It stands out as far as the strokes do, so it is ink."""
    gray, blot, _ = _number_with_a_blot()
    result = pp.segment(gray)
    assert len(result.digits) == 4
    assert np.count_nonzero(result.ink & blot) >= 0.95 * np.count_nonzero(blot)


@pytest.mark.parametrize("level", [200, 160, 120])
def test_a_pale_shadow_as_big_as_a_blot_is_not_ink(level):
    """A round shadow the size of the blot, standing out half as far as the ink or less, stays background."""
    gray, _, shadow = _number_with_a_blot(level)
    result = pp.segment(gray)
    assert len(result.digits) == 4
    assert not np.any(result.ink & shadow)
