"""Tests for hdr_core.preprocess: which side the ink is on."""

from __future__ import annotations

import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.preprocess.inversion import _skewness

from .drawing import box_of, digit_mask, iou, render


@pytest.mark.parametrize(
    ("ink", "paper", "inverted"), [(0, 255, True), (255, 0, False), (60, 190, True), (230, 90, False)]
)
def test_auto_invert(ink, paper, inverted, three):
    mask, _ = three
    gray = render(mask, ink, paper)
    before = gray.copy()
    result = pp.auto_invert(gray, pp.binarize(gray))
    assert result.inverted is inverted
    assert np.array_equal(result.ink, mask) or (result.ink == mask).mean() > 0.98
    assert result.gray[mask].mean() > result.gray[~mask].mean()  # ink bright
    assert result.reason.endswith(".") and result.reason.count(". ") == 0  # one sentence
    assert ("inverted so the ink is bright" in result.reason) is inverted
    assert np.array_equal(gray, before)


def test_auto_invert_tight_crop_where_ink_covers_half():
    """A tight crop of a thick "1": half the pixels are ink, the border says what the paper is."""
    gray = np.full((60, 16), 240, np.uint8)
    gray[:, 4:12] = 20
    result = pp.auto_invert(gray, pp.binarize(gray))
    assert result.inverted
    assert result.ink[:, 4:12].all()


def test_auto_invert_photo_of_paper_on_a_dark_desk():
    """The border is a grey desk, but the paper is light and the ink dark: still inverted."""
    gray = np.full((300, 240), 130, np.uint8)  # desk
    gray[20:280, 30:210] = 235  # paper covering most of the picture
    gray[np.pad(digit_mask("5", size=(180, 120), scale=3, thickness=4), ((60, 60), (60, 60)))] = 60
    result = pp.auto_invert(gray, pp.binarize(gray))
    assert result.inverted
    assert "desk" in result.reason


def test_auto_invert_close_up_with_the_desk_along_two_sides():
    """A close-up of a bold digit whose page stops short of the frame on two sides. The grey levels
    are too evenly split to tell, and most of the border is desk; but the other two sides are
    paper all along, so the dark sides are a desk, not a dark background."""
    mask = digit_mask("8", size=(200, 160), scale=5, thickness=18)
    gray = np.pad(render(mask, ink=40, paper=215), ((0, 50), (50, 0)), constant_values=50)
    gray = np.clip(gray + np.random.default_rng(1).normal(0, 4, gray.shape), 0, 255).astype(np.uint8)
    assert abs(_skewness(gray)) < pp.Params().inversion.skew_decides  # the border has to decide
    result = pp.auto_invert(gray, pp.binarize(gray))
    assert result.inverted
    assert "desk" in result.reason


@pytest.mark.parametrize("darkest", [0.45, 0.6])
def test_auto_invert_page_half_in_shadow(darkest):
    """Light falling off across the page (one side at 45% of the other's brightness) spreads the
    paper over half the grey scale; the thin dark strokes are still found to be the ink."""
    mask = digit_mask("4", size=(400, 400), scale=6, thickness=4)
    truth = box_of(mask)
    light = np.linspace(darkest, 1.0, 400)[None, :] * np.linspace(1.0, 0.85, 400)[:, None]
    rng = np.random.default_rng(2)
    gray = np.clip(np.where(mask, 70.0, 235.0) * light + rng.normal(0, 3, mask.shape), 0, 255).astype(np.uint8)
    result = pp.auto_invert(gray, pp.binarize(gray))
    assert result.inverted
    assert iou(pp.preprocess(gray).box, truth) > 0.85


def test_auto_invert_validates_binary():
    with pytest.raises(ValueError, match="binary must be an array of shape \\(10, 10\\)"):
        pp.auto_invert(np.zeros((10, 10), np.uint8), np.zeros((5, 5), bool))
