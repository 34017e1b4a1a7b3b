"""Tests for hdr_core.preprocess: grayscale and the canvas's fast path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError

from .drawing import _canvas, assert_model_input, box_of, digit_mask, iou, render


@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0), (np.float64, 1.0), (bool, True)]
)
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_to_grayscale_dtypes_and_shapes(dtype, scale, channels):
    base = np.zeros((12, 16), np.float64)
    base[3:9, 4:12] = 1.0
    image = (base * scale).astype(dtype) if dtype is not bool else base.astype(bool)
    if channels is not None:
        image = np.repeat(image[:, :, None], channels, axis=2)
        if channels == 4:
            image[:, :, 3] = scale if dtype is not bool else True  # opaque
    before = image.copy()
    gray = pp.to_grayscale(image)
    assert gray.shape == (12, 16) and gray.dtype == np.uint8
    assert gray[5, 8] == 255 and gray[0, 0] == 0
    assert np.array_equal(image, before)


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4, 2), np.uint8), np.zeros((4,), np.uint8), np.zeros((0, 3), np.uint8)]
)
def test_to_grayscale_rejects_bad_shapes(image):
    with pytest.raises(ValueError, match="shape"):
        pp.to_grayscale(image)


def test_to_grayscale_rejects_out_of_range_floats():
    image = np.full((4, 4), 2.0)
    image[0, 0] = 0
    with pytest.raises(ValueError, match="float image must hold values in \\[0, 1\\], got 0..2"):
        pp.to_grayscale(image)


def test_grayscale_keeps_color_ink_on_color_paper(three):
    """Light blue ink on orange paper: nearly the same luma, very different colours."""
    mask, truth = three
    image = render(mask, (150, 200, 230), (255, 140, 0))
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert abs(int(luma[mask].mean()) - int(luma[~mask].mean())) < 40
    gray = pp.to_grayscale(image)
    assert abs(float(gray[mask].mean()) - float(gray[~mask].mean())) > 80
    result = pp.preprocess(image)
    assert iou(result.box, truth) > 0.85


@pytest.mark.parametrize(("ink", "paper"), [((220, 30, 30), (40, 200, 40)), ((20, 20, 120), (250, 240, 110))])
def test_colored_ink_on_colored_paper(ink, paper, three):
    mask, truth = three
    result = pp.preprocess(render(mask, ink, paper))
    assert iou(result.box, truth) > 0.85
    assert_model_input(result.model_input)


@pytest.mark.parametrize(
    ("stroke", "background"),
    [
        ((255, 255, 255), None),  # white strokes on the untouched (transparent) canvas
        ((0, 0, 0), None),  # black strokes on the untouched canvas
        ((0, 0, 0), (255, 255, 255)),  # painted white background
        ((255, 255, 255), (0, 0, 0)),  # painted black background
        ((250, 220, 0), (30, 60, 160)),  # yellow on blue
    ],
)
def test_from_canvas_ink_is_bright_on_black(stroke, background):
    mask = digit_mask("8", size=(280, 280), scale=7, thickness=20)
    rgba = _canvas(mask, stroke, background=background)
    before = rgba.copy()
    gray = pp.from_canvas(rgba)
    assert gray.shape == (280, 280) and gray.dtype == np.uint8
    assert gray[~mask].max() == 0 and gray[mask].min() > 150
    assert np.array_equal(rgba, before)
    result = pp.preprocess(gray)
    assert not result.inverted
    assert iou(result.box, box_of(mask)) > 0.9
    assert_model_input(result.model_input)


def test_from_canvas_empty_is_blank():
    gray = pp.from_canvas(np.zeros((280, 280, 4), np.uint8))
    assert not gray.any()
    with pytest.raises(BlankImageError, match="No ink found"):
        pp.preprocess(gray)


@pytest.mark.parametrize("rgba", [np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10, 4), np.float32)])
def test_from_canvas_rejects_bad_arrays(rgba):
    with pytest.raises(ValueError, match="canvas image_data"):
        pp.from_canvas(rgba)
