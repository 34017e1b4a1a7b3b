"""Tests for hdr_core.preprocess: a sheet or a slate on a desk."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp

from .drawing import digit_mask, encode, render, sheet_on_desk, tiny_digit


@pytest.mark.parametrize("text", ["4", "7", "0"])
def test_a_sheet_lying_on_a_desk_is_cropped_to_and_read_as_dark_ink_on_paper(text):
    """Without the crop the bright sheet is the "ink" and the model sees a white rectangle."""
    mask = digit_mask(text, size=(200, 160), scale=5, thickness=10)
    photo, paper = sheet_on_desk(mask)
    result = pp.preprocess(photo)
    assert result.page is not None
    page = np.zeros(paper.shape, bool)
    page[result.page.slices] = True
    assert np.count_nonzero(page & ~paper) <= 0.15 * np.count_nonzero(page)  # the sheet (its box: turned)
    assert np.count_nonzero(page & paper) >= 0.8 * np.count_nonzero(paper)  # ...and most of it
    assert result.inverted
    assert "cropped to the sheet" in result.invert_reason  # step 4 says why, in the sheet's terms
    assert result.original.shape[:2] == (result.page.h, result.page.w)
    kept = np.zeros(paper.shape, bool)
    kept[result.page.slices] = result.ink
    assert np.count_nonzero(kept) <= 1.5 * np.count_nonzero(mask)  # the strokes, not the whole sheet


@pytest.mark.parametrize("desk", [55, 130], ids=["dark-desk", "grey-desk"])
@pytest.mark.parametrize("text", ["4", "7"])
def test_a_sticky_note_whose_digit_runs_off_its_edge_is_still_a_sheet(text, desk):
    """The stem reaches the sheet's bottom edge: the ink joins the desk and notches the sheet's outline."""
    full = digit_mask(text, size=(200, 160), scale=5, thickness=10)
    ys, xs = np.nonzero(full)
    mask = full[ys.min() - 25 : ys.max() + 1, xs.min() - 25 : xs.max() + 26]  # the stem's foot on the edge
    assert mask[-1].any()
    photo, paper = sheet_on_desk(mask, desk=desk)
    result = pp.preprocess(photo)
    assert result.page is not None and result.inverted
    kept = np.zeros(paper.shape, bool)
    kept[result.page.slices] = result.ink
    assert np.count_nonzero(kept) <= 1.5 * np.count_nonzero(mask)  # the strokes, not the sheet or the desk
    assert np.count_nonzero(kept) >= 0.7 * np.count_nonzero(mask)


@pytest.mark.parametrize("falls", ["right", "left", "down", "up"])
@pytest.mark.parametrize("text", ["4", "7"])
def test_a_sheet_on_a_gray_desk_lit_from_one_side_is_still_a_sheet(text, falls):
    """Light halves from one side to the other: the lit desk is as bright as the paper in the shade, so
    no one grey level splits them, and the sheet must not be taken for the ink."""
    mask = digit_mask(text, size=(200, 160), scale=5, thickness=10)
    photo, paper = sheet_on_desk(mask, desk=150, margin=300)  # a small sheet: the bright part is the sheet
    ramp = np.linspace(1.0, 0.5, photo.shape[1] if falls in ("right", "left") else photo.shape[0])
    ramp = ramp if falls in ("right", "down") else ramp[::-1]
    light = ramp[None, :] if falls in ("right", "left") else ramp[:, None]
    result = pp.preprocess((photo * light).astype(np.uint8))
    assert result.inverted
    kept = np.zeros(paper.shape, bool)
    kept[result.page.slices if result.page else slice(None)] = result.ink  # the sheet may be left to the border rules
    assert 0.7 * np.count_nonzero(mask) <= np.count_nonzero(kept) <= 1.5 * np.count_nonzero(mask)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(render(digit_mask("0", size=(200, 200), scale=5, thickness=14), 255, 0), id="white-0-on-black"),
        pytest.param(render(digit_mask("8", size=(200, 200), scale=5, thickness=16), 255, 0), id="white-8-on-black"),
    ],
)
def test_light_digits_on_a_dark_background_are_not_taken_for_a_sheet(image):
    noisy = np.clip(image + np.random.default_rng(7).normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    assert pp.find_page(noisy) is None
    assert pp.preprocess(noisy).page is None


@pytest.mark.parametrize("factor", [8, 12, 16])
def test_a_tiny_light_digit_saved_enlarged_is_not_taken_for_a_sheet(factor):
    """Enlarged smoothly, the 1 is a blurred bright blob touching the top and bottom of a black picture. The sheet
    search tries again with the desk's light evened out; that must not brighten the blob's soft rim into a sheet
    (it was, and the gaps round it were read as ink)."""
    picture = np.clip(cv2.resize(tiny_digit("1"), (8 * factor, 8 * factor), interpolation=cv2.INTER_CUBIC), 0, 1)
    result = pp.preprocess(np.rint(255 * picture).astype(np.uint8))
    assert result.page is None, result.reading
    assert not result.inverted and result.box.h >= 0.9 * picture.shape[0]  # the bright 1, top to bottom


def test_evening_the_desk_light_leaves_an_evenly_lit_picture_as_it_is():
    from hdr_core.preprocess.sheet import _desk_lit_evenly

    picture = np.full((60, 80), 40, np.uint8)
    picture[6:54, 8:72] = 200  # a sheet on an evenly lit desk, most of the picture
    assert np.abs(_desk_lit_evenly(picture, params=pp.Params()).astype(int) - picture).max() <= 1


@pytest.mark.parametrize("turn", [6, 25])
@pytest.mark.parametrize("text", ["4", "7", "0"])
def test_a_slate_on_a_lighter_desk_is_cropped_to_and_read_as_bright_chalk(text, turn):
    """Chalk on a small slate (or white on black card) lying on a light table: the dark slate is the
    "ink" of the picture until it is recognised as the sheet, and the model sees a white rectangle."""
    mask = digit_mask(text, size=(200, 160), scale=5, thickness=10)
    photo, slate = sheet_on_desk(mask, desk=170, ink=230, paper=35, turn=turn)
    result = pp.preprocess(photo)
    assert result.page is not None
    assert not result.inverted  # chalk is already bright, like MNIST
    kept = np.zeros(slate.shape, bool)
    kept[result.page.slices] = result.ink
    assert 0.7 * np.count_nonzero(mask) <= np.count_nonzero(kept) <= 1.5 * np.count_nonzero(mask)


@pytest.mark.parametrize("turn", [0, 8, -20])
def test_a_number_chalked_on_a_slate_reads_digit_by_digit(turn):
    mask = digit_mask("2026", size=(220, 420), scale=3.5, thickness=8)
    photo, _ = sheet_on_desk(mask, desk=170, ink=230, paper=35, turn=turn)
    result = pp.segment(photo)
    assert result.page is not None and not result.inverted
    assert tuple(len(row) for row in result.rows) == (4,)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(render(digit_mask("0", size=(200, 200), scale=5, thickness=30), 20, 235), id="bold-0"),
        pytest.param(render(digit_mask("8", size=(200, 200), scale=5, thickness=34), 20, 235), id="bold-8"),
        pytest.param(render(digit_mask("1", size=(200, 200), scale=6, thickness=40), 20, 235), id="bold-1"),
        pytest.param(render(digit_mask("7", size=(200, 200), scale=6, thickness=40), 20, 235), id="bold-7"),
    ],
)
def test_bold_dark_digits_on_paper_are_not_taken_for_a_slate(image):
    noisy = np.clip(image + np.random.default_rng(7).normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(noisy)
    assert result.page is None and result.inverted


def test_a_sheet_filling_the_picture_or_a_vignetted_one_is_not_cropped():
    mask = digit_mask("3", size=(300, 300), scale=5, thickness=6)
    ys, xs = np.indices(mask.shape)
    paper = 230 - 90 * ((xs - 150) ** 2 + (ys - 150) ** 2) / (2 * 150**2)  # dark corners
    gray = np.where(mask, paper * 0.3, paper) + np.random.default_rng(8).normal(0, 3, mask.shape)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    assert pp.find_page(gray) is None
    assert pp.preprocess(gray).page is None


@pytest.mark.parametrize("width", [14, 22, 30])
@pytest.mark.parametrize("flip", [False, True], ids=["leaning-left", "leaning-right"])
def test_a_bold_slanted_one_filling_its_crop_is_read_not_taken_for_a_sheet(width, flip):
    """Light on dark and cropped tight, a bold "1" at a slant is a straight-sided bright region on a darker
    ground, like a sheet on a desk; but it is long and thin however it is turned, and paper is not. Taken for a
    sheet, it was cropped to and found empty: "no ink found"."""
    picture = np.full((160, 90), 20, np.uint8)
    cv2.line(picture, (90, -10), (0, 170), 235, width, cv2.LINE_AA)
    if flip:
        picture = np.ascontiguousarray(picture[:, ::-1])
    result = pp.preprocess(encode(picture, "JPEG", quality=70))
    assert result.page is None, result.reading
    assert result.box.h > 140  # the whole stroke
