"""Tests for hdr_core.preprocess: blank pictures."""

from __future__ import annotations

import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError, ImageError

from .drawing import box_of, digit_mask, encode, iou, tiny_digit


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.full((100, 100), 255, np.uint8), id="white"),
        pytest.param(np.zeros((100, 100), np.uint8), id="black"),
        pytest.param(np.full((80, 120, 3), (30, 140, 200), np.uint8), id="one-colour"),
        pytest.param(
            np.clip(np.random.default_rng(0).normal(200, 2, (100, 100)), 0, 255).astype(np.uint8), id="noisy-grey"
        ),
        pytest.param(np.tile(np.linspace(170, 230, 200), (150, 1)).astype(np.uint8), id="lit-blank-paper"),
        pytest.param(np.zeros((64, 64, 4), np.uint8), id="transparent"),
    ],
)
@pytest.mark.parametrize("method", pp.THRESHOLD_METHODS)
def test_blank_images_are_reported(image, method):
    with pytest.raises(BlankImageError, match="No ink found: the image is blank or a single colour"):
        pp.preprocess(image, threshold=method)


def test_small_thin_digit_on_overexposed_paper_is_not_blank():
    """A thin-pen "7" a tenth of the height of a big photo whose paper is blown out to white: its
    ink is 0.05% of the pixels, rarer than the 0.1% tails a blank test may cut off as noise."""
    rng = np.random.default_rng(3)
    mask = np.zeros((1500, 2000), bool)
    mask[700:850, 950:1050] = digit_mask("7", size=(150, 100), scale=4, thickness=4)
    truth = box_of(mask)
    assert mask.mean() < 0.001
    paper = np.clip(255 - np.abs(rng.normal(0, 2, mask.shape)), 0, 255)  # noise only below white
    gray = np.where(mask, 40, paper).astype(np.uint8)
    assert iou(pp.preprocess(gray).box, truth) > 0.85
    with pytest.raises(BlankImageError):  # the same paper without the digit is still blank
        pp.preprocess(paper.astype(np.uint8))


@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_digit_kept_at_8_px_is_read_not_called_blank(light_on_dark):
    # Every pair of neighbours on a stroke is a ramp, which the neighbour-difference noise estimate took for noise.
    zero = tiny_digit("0")
    picture = np.rint(255 * zero if light_on_dark else 255 - 255 * zero).astype(np.uint8)
    result = pp.preprocess(picture)
    assert result.box.h == 8 and result.box.w >= 5  # the whole 0


@pytest.mark.parametrize("side", [8, 12, 23])
@pytest.mark.parametrize("sigma", [3, 10, 40])
def test_a_small_picture_of_noise_is_still_blank(side, sigma):
    noise = np.random.default_rng(side * sigma).normal(128, sigma, (side, side))
    with pytest.raises(BlankImageError):
        pp.preprocess(np.clip(noise, 0, 255).astype(np.uint8))


def test_blank_file_is_reported():
    with pytest.raises(BlankImageError):
        pp.preprocess(pp.load_image(encode(np.full((50, 50, 3), 250, np.uint8), "JPEG")))


def test_preprocess_rejects_tiny_arrays_and_bad_methods():
    with pytest.raises(ImageError, match="too small"):
        pp.preprocess(np.zeros((4, 7), np.uint8))
    with pytest.raises(ValueError, match="threshold method must be one of"):
        pp.preprocess(np.zeros((30, 30), np.uint8), threshold="sauvola")
