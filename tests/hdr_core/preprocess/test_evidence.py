"""Tests for hdr_core.preprocess: evidence. A clean picture is read by the textbook stages alone; each
corrective stage runs only when its evidence is in the picture; faint ink is ink, noise is not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError
from hdr_core.preprocess.evidence import look, noise_level

from .drawing import _desk_along_left_and_bottom, assert_model_input, box_of, digit_mask, encode, iou, render, shadowed

TEXTBOOK = {"load", "grayscale", "threshold", "invert", "clean", "locate", "normalize"}


def names(result: pp.Preprocessed) -> list[str]:
    return [stage.name for stage in result.trace]


def tight(mask: np.ndarray, margin: int = 0) -> np.ndarray:
    """``mask`` cropped to its ink, ``margin`` pixels left round it (0: the ink touches all four sides)."""
    box = box_of(mask)
    return np.pad(mask[box.slices], margin)


# --------------------------------------------------------------------------------------------------
# Blank or not: structure against the noise, not an absolute contrast
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("paper, ink", [(200, 190), (190, 200), (250, 240), (40, 50)])
def test_faint_ink_ten_gray_levels_from_the_paper_is_read(paper, ink):
    mask = digit_mask("5", size=(200, 170), scale=5, thickness=12)
    result = pp.preprocess(render(mask, ink, paper))
    assert iou(result.box, box_of(mask)) > 0.85
    assert_model_input(result.model_input)
    assert result.reading.startswith("A clean picture")


@pytest.mark.parametrize(
    "picture",
    [
        np.full((120, 100), 128, np.uint8),  # one grey
        np.clip(np.random.default_rng(0).normal(128, 20, (150, 150)), 0, 255).astype(np.uint8),  # sensor noise
        np.random.default_rng(1).integers(0, 256, (90, 120), dtype=np.uint8),  # noise over the whole range
        np.clip(np.random.default_rng(2).normal(230, 2, (200, 160)), 0, 255).astype(np.uint8),  # paper grain
        np.random.default_rng(4).integers(0, 256, (16, 16), dtype=np.uint8),  # noise as small as a postal digit
    ],
    ids=["uniform", "noise", "full-range-noise", "paper-grain", "small-noise"],
)
def test_a_uniform_picture_and_noise_are_blank(picture):
    with pytest.raises(BlankImageError, match="No ink found"):
        pp.preprocess(picture)
    assert not look(picture, params=pp.Params()).structure


@pytest.mark.parametrize("text", ["8", "0", "3"])
@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0)], ids=["dark-on-light", "light-on-dark"])
def test_a_small_picture_dense_with_soft_strokes_is_not_blank(text, ink, paper):
    """A postal digit saved 16 px square: averaged over 3x3 pixels, nearly every pixel pair is a ramp, which
    must not pass for noise that drowns the digit ("no ink found")."""
    mask = digit_mask(text, size=(240, 220), scale=6, thickness=24)
    soft = cv2.GaussianBlur(mask[box_of(mask).slices].astype(np.float32), (0, 0), 8)
    small = cv2.resize(soft, (16, 16), interpolation=cv2.INTER_AREA) / soft.max()
    result = pp.preprocess(np.clip(paper + (ink - paper) * small, 0, 255).astype(np.uint8))
    assert result.box.w >= 12 and result.box.h >= 12
    assert result.model_input.max() > 0.9


def test_noise_level_is_measured_against_neighbours():
    rng = np.random.default_rng(3)
    noisy = np.clip(rng.normal(128, 10, (300, 300)), 0, 255).astype(np.uint8)
    assert noise_level(noisy) == pytest.approx(10, rel=0.15)
    drawn = render(digit_mask("8", size=(300, 300), scale=8, thickness=20), 0, 255)
    assert noise_level(drawn) == 0  # strokes cross few pixel pairs: the median ignores them


# --------------------------------------------------------------------------------------------------
# Clean pictures: the textbook stages and nothing else
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "8", "7", "1", "4"])
@pytest.mark.parametrize("ink, paper", [(20, 240), (235, 15)], ids=["dark-on-light", "light-on-dark"])
def test_tight_crops_touching_all_four_sides_read_the_textbook_way(text, ink, paper):
    mask = tight(digit_mask(text, size=(240, 220), scale=6, thickness=22))
    big = cv2.resize(mask.astype(np.uint8) * 255, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) > 127
    result = pp.preprocess(render(big, ink, paper))
    assert set(names(result)) <= TEXTBOOK, names(result)  # no sheet, desk, lines, join
    assert iou(result.box, box_of(big)) > 0.9  # the digit, not its holes or the paper round it
    assert_model_input(result.model_input)


@pytest.mark.parametrize("ink, paper", [(30, 230), (230, 30)], ids=["dark-on-light", "light-on-dark"])
def test_a_narrow_tight_one_is_read_not_called_blank(ink, paper):
    """A "1" cropped tight is a few pixels wide: its two edges are most of the horizontal pixel pairs, which
    must not pass for noise (the noise is measured along columns too)."""
    mask = np.zeros((41, 8), bool)
    mask[:, 2:6] = True
    picture = cv2.GaussianBlur(render(mask, ink, paper), (3, 3), 0)
    assert noise_level(picture) < 2
    result = pp.preprocess(picture)
    assert result.reading.startswith("A clean picture")
    assert result.box.h >= 38
    assert_model_input(result.model_input)


@pytest.mark.parametrize("ink, paper", [(20, 240), (240, 20)], ids=["dark-on-light", "light-on-dark"])
def test_a_bold_zero_filling_its_crop_is_read_by_its_ring_not_its_hole(ink, paper):
    mask = np.zeros((120, 100), bool)
    cv2.ellipse(mask.view(np.uint8), (50, 60), (38, 48), 0, 0, 360, 1, 22)  # a stroke a fifth of its width
    result = pp.preprocess(render(mask, ink, paper))
    assert result.reading.startswith("A clean picture"), result.reading
    assert iou(result.box, box_of(mask)) > 0.9  # the ring, not the paper round it or in it
    assert result.model_input[14, 14] < 0.2 < result.model_input[14, :12].max()  # a loop round an empty middle


@pytest.mark.parametrize("thickness", [4, 8, 12])
def test_light_strokes_on_a_dark_page_lying_on_a_desk_are_read_not_the_page(thickness):
    """A painting saved white on black, photographed on a desk between the two in grey: three levels. Whichever
    two of them a threshold splits, the strokes are read, never the page's outline."""
    mask = digit_mask("3", size=(240, 200), scale=6, thickness=thickness)
    picture = cv2.copyMakeBorder(render(mask, 250, 5), 120, 120, 120, 120, cv2.BORDER_CONSTANT, value=50)
    picture = np.clip(picture + np.random.default_rng(5).normal(0, 4, picture.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(picture)
    assert iou(result.box, box_of(np.pad(mask, 120))) > 0.85, result.reading


def test_two_thresholds_that_disagree_are_evidence_of_a_third_level():
    mask = digit_mask("3", size=(240, 200), scale=6, thickness=8)
    picture = cv2.copyMakeBorder(render(mask, 250, 5), 120, 120, 120, 120, cv2.BORDER_CONSTANT, value=50)
    result = pp.preprocess(picture)
    assert "more than two levels" in result.reading


def test_strokes_darker_than_a_flat_grey_patch_round_them_are_evidence_of_two_levels():
    """A grey patch (a shadow) that Otsu's split takes for ink with the strokes inside it: the ink has two
    levels, the lighter one flat ground, and the picture is not clean."""
    mask = digit_mask("4", size=(200, 200), scale=5, thickness=8)
    picture = np.full(mask.shape, 230, np.uint8)
    picture[40:170, 30:180] = 140
    picture[mask] = 20
    result = pp.preprocess(picture)
    assert result.reading.startswith("The ink has two levels"), result.reading
    assert "flat ground" in result.reading


@pytest.mark.parametrize("thickness", [3, 4])
@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0)], ids=["dark-on-light", "light-on-dark"])
def test_a_blurred_digits_darker_core_is_no_second_level(thickness, ink, paper):
    """A 1 kept at 8x8 (each pixel its 4x4 block's share of ink, as scanned digit sets store them) and
    enlarged: its ink fades from a darker core to the paper in one slope, no shadow. The picture is clean
    and the textbook's steps read it (before the slope test it went down the shadow path)."""
    mask = digit_mask("1", size=(32, 32), scale=1.0, thickness=thickness)
    share = cv2.resize(mask.reshape(8, 4, 8, 4).mean(axis=(1, 3)), (64, 64), interpolation=cv2.INTER_CUBIC)
    picture = np.clip(np.rint(paper + (ink - paper) * np.clip(share, 0, 1)), 0, 255).astype(np.uint8)
    seen = look(picture, params=pp.DEFAULT_PARAMS).with_ink(dark=ink < paper)
    assert seen.ink_tail > pp.DEFAULT_PARAMS.clean.ink_tail_share  # a darker core the levels alone call a 2nd level
    result = pp.preprocess(picture)
    assert result.reading.startswith("A clean picture"), result.reading


def test_a_light_digit_filling_its_picture_is_not_a_sheet_on_a_desk():
    mask = tight(digit_mask("8", size=(260, 220), scale=7, thickness=24), margin=3)
    result = pp.preprocess(render(mask, 230, 30))
    assert result.page is None and "sheet" not in names(result)
    assert not result.inverted and iou(result.box, box_of(mask)) > 0.9


def test_a_digit_in_two_pieces_on_clean_paper_is_read_whole_without_joining():
    mask = digit_mask("5", size=(200, 170), scale=5, thickness=12)
    box = box_of(mask)
    mask[box.y + box.h // 3: box.y + box.h // 3 + 4] = False  # a gap across the digit
    result = pp.preprocess(render(mask, 30, 235))
    assert "join" not in names(result)
    assert iou(result.box, box) > 0.9


@pytest.mark.parametrize("ink, paper", [(30, 235), (235, 30)], ids=["dark-on-light", "light-on-dark"])
@pytest.mark.parametrize("cut", [0.3, 0.5, 0.75])
def test_a_tight_crop_of_a_digit_in_two_pieces_keeps_both_though_both_touch_the_edge(ink, paper, cut):
    """In a tight crop every piece of the digit touches the picture's edge, as a neighbour's bit cut by the
    edge does; on a clean picture only a small piece clear of the digit is taken for a neighbour's."""
    mask = digit_mask("5", size=(200, 170), scale=5, thickness=12)
    box = box_of(mask)
    row = box.y + int(cut * box.h)
    mask[row:row + 8] = False  # a gap across the digit
    mask = tight(mask)
    result = pp.preprocess(render(mask, ink, paper))
    assert result.reading.startswith("A clean picture"), result.reading
    assert iou(result.box, box_of(mask)) > 0.95, result.trace[-2].reason


def test_a_neighbours_bit_cut_by_the_edge_of_a_clean_crop_is_left_out():
    mask = tight(digit_mask("2", size=(160, 160), scale=3, thickness=7), margin=12)
    picture = render(mask, 30, 230)
    picture[30:50, -5:] = 30  # the next digit's stroke, cut by the crop's right edge
    result = pp.preprocess(picture)
    assert result.reading.startswith("A clean picture"), result.reading
    assert result.box == box_of(mask)
    assert "1 piece of a neighbour cut by the edge" in result.trace[-2].reason


# --------------------------------------------------------------------------------------------------
# Each corrective stage runs on its evidence, and only then
# --------------------------------------------------------------------------------------------------


def test_a_shadow_is_evidence_for_measuring_the_paper_locally():
    mask = digit_mask("3", size=(240, 200), scale=6, thickness=10)
    result = pp.preprocess(shadowed(mask))
    assert not result.reading.startswith("A clean picture")  # the reading names the evidence instead
    [clean] = [stage for stage in result.trace if stage.name == "clean"]
    assert "around it" in clean.reason
    assert iou(result.box, box_of(mask)) > 0.8


def test_a_desk_along_two_sides_is_evidence_and_is_left_out():
    mask = digit_mask("2", size=(240, 220), scale=6, thickness=10)
    picture = render(mask, 40, 230)
    desk = _desk_along_left_and_bottom(np.zeros(mask.shape, bool), 24)
    picture[desk] = 60
    result = pp.preprocess(picture)
    assert not result.reading.startswith("A clean picture")
    assert iou(result.box, box_of(mask)) > 0.8


def test_neighbours_cut_by_the_edge_of_a_grid_cell_are_evidence_and_left_out():
    four = digit_mask("4", size=(200, 300), scale=5, thickness=10)
    mask = four.copy()
    mask[60:150, :9] = True  # the stroke of a neighbour in the next cell, cut by the edge
    result = pp.preprocess(render(mask, 30, 235))
    assert "away from it" in result.reading
    assert iou(result.box, box_of(four)) > 0.85


def test_paper_texture_the_threshold_takes_for_ink_is_evidence():
    rng = np.random.default_rng(4)
    mask = digit_mask("6", size=(300, 260), scale=4, thickness=6)
    picture = render(mask, 60, 215).astype(np.float32)
    blotches = cv2.GaussianBlur(rng.normal(0, 1, mask.shape).astype(np.float32), (0, 0), 6)
    picture += 400 * blotches  # grey blotches of paper texture, darker than the mean in places
    picture = np.clip(picture, 0, 255).astype(np.uint8)
    result = pp.preprocess(picture)
    assert not result.reading.startswith("A clean picture")
    assert iou(result.box, box_of(mask)) > 0.8


@pytest.mark.parametrize("width", [2, 3, 5])
@pytest.mark.parametrize("ink, paper", [(20, 240), (240, 20)], ids=["dark-on-light", "light-on-dark"])
def test_a_tight_one_saved_only_a_few_pixels_wide_is_read(width, ink, paper):
    """A "1" cropped tight and saved small (a postal digit, a thumbnail) is narrower than 8 px: not "too small"."""
    mask = np.zeros((18, width), bool)
    mask[:, width // 2 - (width > 3): width // 2 + 1] = True
    for picture in (render(mask, ink, paper), render(mask, ink, paper)[:, :, None].repeat(3, axis=2)):
        result = pp.preprocess(pp.load_image(encode(picture, "PNG")))
        assert result.box.h >= 17
        assert result.model_input.max() > 0.9
