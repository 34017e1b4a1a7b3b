"""Tests for hdr_core.preprocess: the whole pipeline on one digit, and its trace."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp

from .drawing import FONT, assert_model_input, box_of, digit_mask, encode, iou, render


@pytest.mark.parametrize("method", pp.THRESHOLD_METHODS)
@pytest.mark.parametrize(("ink", "paper", "inverted"), [(20, 240, True), (250, 10, False)])
def test_preprocess_dark_and_light_ink(method, ink, paper, inverted, three):
    mask, truth = three
    image = render(mask, ink, paper)
    before = image.copy()
    result = pp.preprocess(image, threshold=method)
    assert result.method == method and result.inverted is inverted
    assert iou(result.box, truth) > 0.85
    assert result.gray.shape == mask.shape and result.gray.dtype == np.uint8
    assert result.binary.shape == mask.shape and result.binary.dtype == bool
    assert result.ink.shape == mask.shape and result.ink.dtype == bool
    assert isinstance(result.threshold, float)
    assert np.array_equal(result.original, image) and result.original is not image
    assert np.array_equal(image, before)
    assert_model_input(result.model_input)


@pytest.mark.parametrize(
    ("size", "scale", "thickness", "origin"),
    [
        pytest.param((400, 600), 1.5, 3, (420, 90), id="small-off-centre"),
        pytest.param((1000, 800), 12, 2, None, id="thin-pen-big-photo"),
        pytest.param((200, 180), 5, 28, None, id="thick-marker"),
        pytest.param((28, 28), 0.7, 2, (7, 22), id="28x28"),
        pytest.param((60, 30), 1.3, 5, (3, 50), id="tight-crop"),
    ],
)
def test_preprocess_sizes_and_strokes(size, scale, thickness, origin):
    mask = digit_mask("7", size=size, scale=scale, thickness=thickness, origin=origin)
    truth = box_of(mask)
    result = pp.preprocess(render(mask, 30, 225))
    assert iou(result.box, truth) > 0.8
    assert_model_input(result.model_input)


def test_preprocess_ignores_neighbour_fragments_and_specks():
    mask = digit_mask("2", size=(160, 160), scale=3, thickness=7)
    truth = box_of(mask)
    gray = render(mask, 30, 230)
    gray[40:120, 150:160] = 30  # part of the next digit, cut by the border
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 160, 15), rng.integers(0, 140, 15)
    gray[ys, xs] = 30  # specks of dust
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.85


def test_preprocess_accepts_paths_and_bytes(tmp_path, three):
    mask, truth = three
    path = tmp_path / "three.jpg"
    path.write_bytes(encode(render(mask), "JPEG"))
    assert iou(pp.preprocess(path).box, truth) > 0.85
    assert iou(pp.preprocess(path.read_bytes()).box, truth) > 0.85


def test_model_input_statistics_look_like_mnist():
    """Mean intensity of MNIST digits is 0.13 (0.10-0.17 for most); ours must be in that range."""
    inputs = []
    for text, font, thickness in [("0", FONT, 8), ("1", FONT, 8), ("4", cv2.FONT_HERSHEY_DUPLEX, 6),
                                  ("5", cv2.FONT_HERSHEY_COMPLEX, 5), ("8", FONT, 3), ("2", FONT, 20)]:
        mask = digit_mask(text, size=(200, 200), scale=5, thickness=thickness, font=font)
        inputs.append(pp.preprocess(render(mask)).model_input)
    means = np.array([x.mean() for x in inputs])
    assert 0.1 <= means.mean() <= 0.2
    assert np.all((means > 0.04) & (means < 0.3))


def test_real_single_digits_all_preprocess(data_file):
    """A sample of every source in real-dev: no errors, MNIST-like inputs."""
    import csv

    labels = data_file("real-dev/labels.csv")
    with labels.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["kind"] != "multi"]
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source_repo"], []).append(row)
    sample = [row for group in by_source.values() for row in group[:: max(1, len(group) // 3)][:3]]
    means = []
    for row in sample:
        result = pp.preprocess(pp.load_image(labels.parent / row["path"]))
        assert_model_input(result.model_input)
        means.append(result.model_input.mean())
    assert 0.08 <= float(np.mean(means)) <= 0.2


def test_mnist_digits_survive_preprocessing(data_file):
    """MNIST digits are already normalised: preprocessing them must change them little."""
    with np.load(data_file("mnist.npz")) as data:
        digits = data["x_test"][:40]
    correlations = []
    for digit in digits:
        result = pp.preprocess(digit)
        assert not result.inverted
        correlations.append(np.corrcoef(result.model_input.ravel(), digit.ravel() / 255.0)[0, 1])
    assert np.median(correlations) > 0.85
