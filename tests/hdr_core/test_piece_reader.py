"""Tests for hdr_core.piece_reader: digits written close enough to touch, cut where the network reads them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.piece_reader import PieceReader, default_reader
from hdr_core.preprocess import Box

from .preprocess.drawing import box_of


@pytest.fixture(scope="module")
def reader() -> PieceReader:
    found = default_reader()
    assert found is not None, "the shipped network's LiteRT file or the digit check is missing"
    return found


def _written_close(text: str, overlap: int, thickness: int = 9) -> np.ndarray:
    """``text`` in bold Hershey digits, each digit's box reaching ``overlap`` px into the one before (so that
    their ink touches), dark on light paper: (260, 700) uint8."""
    ink = np.zeros((260, 700), np.uint8)
    x = 60
    for char in text:
        glyph = np.zeros_like(ink)
        cv2.putText(glyph, char, (0, 190), cv2.FONT_HERSHEY_SIMPLEX, 4, 255, thickness, cv2.LINE_AA)
        cols = np.flatnonzero(glyph.max(axis=0) > 127)
        ink = np.maximum(ink, np.roll(glyph, x - cols[0], axis=1))
        x += cols[-1] - cols[0] + 1 - overlap
    return np.where(ink > 127, 40, 235).astype(np.uint8)


def _read(result: pp.MultiPreprocessed, reader: PieceReader) -> str:
    inputs = np.stack([digit.model_input for digit in result.digits])
    return "".join(str(int(i)) for i in reader.network.predict_proba(inputs).argmax(axis=1))


def test_the_reader_says_how_surely_each_picture_is_a_digit(reader):
    seven, dash = np.zeros((2, 28, 28), np.float32)
    cv2.line(seven, (7, 6), (20, 6), 1.0, 2)
    cv2.line(seven, (20, 6), (11, 22), 1.0, 2)
    cv2.line(dash, (4, 14), (24, 14), 1.0, 3)
    answer = reader(np.stack([seven, dash]))
    assert answer.shape == (2, 3) and answer.dtype == np.float64
    assert np.all((answer[:, :2] >= 0) & (answer[:, :2] <= 1))
    assert reader.network.predict_proba(seven[None]).argmax() == 7 and answer[0, 2] == 7  # which digit
    assert answer[0, 0] > 0.5 and answer[0, 1] >= reader.flag_below  # surely a 7, and a digit
    assert answer[1, 1] < reader.flag_below  # a dash may not be a digit at all
    assert 0 < reader.flag_below < 1


@pytest.mark.parametrize(
    ("number", "overlap"), [("01", 10), ("14", 10), ("17", 15), ("41", 20), ("67", 20), ("87", 20)]
)
def test_two_digits_written_close_enough_to_touch_are_cut_where_the_network_reads_them(reader, number, overlap):
    picture = _written_close(number, overlap)
    assert cv2.connectedComponents((picture < 128).astype(np.uint8))[0] == 2  # one piece of ink
    assert len(pp.segment(picture).digits) == 1  # no wider than one digit: width alone cannot see two
    result = pp.segment(picture, reader=reader)
    assert _read(result, reader) == number
    found = next(stage for stage in result.trace if stage.name == "digits")
    assert "1 piece divided where the network read the parts" in found.reason


@pytest.mark.parametrize("thickness", [9, 14])
@pytest.mark.parametrize("digit", list("0123456789"))
def test_one_digit_alone_is_not_cut_by_reading(reader, digit, thickness):
    picture = _written_close(digit, 0, thickness)
    result = pp.segment(picture, reader=reader)
    assert len(result.digits) == 1
    assert "divided where the network read" not in next(s for s in result.trace if s.name == "digits").reason


@pytest.mark.parametrize(("digit", "stretch"), [("0", 2.0), ("3", 1.8), ("3", 2.0), ("4", 2.2)])
def test_a_digit_written_wide_is_kept_whole_where_it_reads_as_one(reader, digit, stretch):
    glyph = np.zeros((260, 300), np.uint8)
    cv2.putText(glyph, digit, (60, 190), cv2.FONT_HERSHEY_SIMPLEX, 4, 255, 9, cv2.LINE_AA)
    picture = np.where(cv2.resize(glyph, (int(300 * stretch), 260)) > 127, 40, 235).astype(np.uint8)
    assert len(pp.segment(picture).digits) >= 2  # wide enough for width alone to cut it
    result = pp.segment(picture, reader=reader)
    assert _read(result, reader) == digit
    found = next(stage for stage in result.trace if stage.name == "digits")
    assert "1 piece divided where the network read the parts" in found.reason


def _mnist_pair(mnist, first: int, second: int, overlap: int = 6, scale: int = 3) -> np.ndarray:
    """Two MNIST test digits written side by side, the second reaching ``overlap`` px into the first (so that
    they touch), dark on light paper: (H, W) uint8."""
    a, b = (cv2.resize(mnist.x_test[k], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            for k in (first, second))
    a, b = (d[:, np.flatnonzero(d.max(axis=0) > 60)[0]:np.flatnonzero(d.max(axis=0) > 60)[-1] + 1] for d in (a, b))
    ink = np.zeros((a.shape[0], a.shape[1] + b.shape[1] - overlap), np.uint8)
    ink[:, : a.shape[1]] = a
    ink[:, a.shape[1] - overlap :] = np.maximum(ink[:, a.shape[1] - overlap :], b)
    return np.clip(235 - np.pad(ink, 40).astype(np.float32) * 0.8, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("first", "second"), [(4008, 7870), (3164, 2393), (8712, 147), (8254, 6265)])
def test_two_touching_digits_that_width_cuts_in_three_are_read_as_two(reader, data_dir, first, second):
    # Width guesses how many digits a piece holds; two MNIST digits written touching are cut in three by it, and
    # the halves of one can each read as a digit. One digit fewer, read as surely, wins.
    from hdr_core.data import load_dataset

    mnist = load_dataset("mnist", data_dir=data_dir)
    picture = _mnist_pair(mnist, first, second)
    assert len(pp.segment(picture).digits) == 3
    assert _read(pp.segment(picture, reader=reader), reader) == f"{mnist.y_test[first]}{mnist.y_test[second]}"


@pytest.mark.parametrize("index", [19, 88, 100])
def test_a_5_whose_bar_is_written_apart_is_read_with_its_bar(reader, data_dir, index):
    # Numbers of MNIST test digits on plain paper as benchmarks/whole_numbers.py writes them (seed 0), each with a
    # 5 whose top bar was written apart and reaches past its body, too far to the side to be joined as a piece
    # above it (and a hyphen between digits must not be). Without its bar the 5 is read as a 2 or a 3.
    _reads_benchmark_number(reader, data_dir, "plain", index, "dash joined to the digit it overlaps")


def _reads_benchmark_number(reader, data_dir, setting: str, index: int, reason: str) -> None:
    """Number ``index`` of ``setting`` as benchmarks/whole_numbers.py writes it (seed 0) is read exactly, and the
    trace's "digits" step says ``reason``."""
    from itertools import islice

    from benchmarks.whole_numbers import numbers
    from hdr_core.data import load_dataset

    mnist = load_dataset("mnist", data_dir=data_dir)
    label, picture = next(islice(numbers(setting, 0, index + 1, mnist), index, None))
    result = pp.segment(picture, reader=reader)
    assert _read(result, reader) == label
    assert reason in next(stage for stage in result.trace if stage.name == "digits").reason


def test_every_photo_of_a_number_in_real_dev_is_read_exactly(reader, data_dir, data_file):
    # A bold, flat 0 (real-dev's "2026") may not look like a digit to the check; cut anywhere, its halves read
    # as a 1 and a 2. No column through a 0 is a joint where two digits could touch, so it stays whole.
    from hdr_core.realdev import load_real_dev

    data_file("real-dev/labels.csv")
    numbers = [sample for sample in load_real_dev(data_dir) if sample.kind == "multi"]
    assert numbers
    for sample in numbers:
        result = pp.segment(pp.load_image(sample.path), reader=reader)
        inputs = np.stack([digit.model_input for digit in result.digits])
        assert result.number(reader.network.predict_proba(inputs).argmax(axis=1).tolist()) == sample.label, sample.path


class _SureOfEverything:
    """A reader that finds every picture surely a digit."""

    flag_below = 0.25

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return np.stack([np.ones(len(images)), np.ones(len(images)), np.full(len(images), 8.0)], axis=1)


class _WideIsNoDigit:
    """A reader that finds a picture whose ink spans more than 12 of the 28 columns no digit at all, and any
    narrower one a sure digit."""

    flag_below = 0.25

    def __call__(self, images: np.ndarray) -> np.ndarray:
        cols = (np.asarray(images) > 0.2).any(axis=1).sum(axis=1)
        return np.stack([np.ones(len(images)), np.where(cols > 12, 0.01, 0.99), np.full(len(images), 4.0)], axis=1)


class _TopBarMakesItSurer:
    """A reader that is sure of a picture whose top rows hold a bar (ink across 10 or more of the 28 columns in
    rows 3-7) and unsure of any other."""

    flag_below = 0.25

    def __call__(self, images: np.ndarray) -> np.ndarray:
        bar = (np.asarray(images)[:, 3:8] > 0.2).any(axis=1).sum(axis=1) >= 10
        return np.stack([np.where(bar, 0.99, 0.6), np.full(len(images), 0.99), np.full(len(images), 5.0)], axis=1)


class _PartsAreSurer:
    """A reader that reads a picture whose ink spans 18 or more of the 28 columns (a whole piece) as ``whole`` at
    0.95, a narrower one round a hole (a ring) as a sure ``part``, one spanning 8 columns or fewer (a stroke) as a
    sure 1, and any other as nothing it is sure of."""

    flag_below = 0.25

    def __init__(self, whole: int = 5, part: int = 5):
        self.whole, self.part = whole, part

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = []
        for image in np.asarray(images):
            ink = (image > 0.2).astype(np.uint8)
            cols = int(ink.any(axis=0).sum())
            hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[1]
            ring = hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())
            if cols >= 18:
                out.append((0.95, 0.95, self.whole))
            elif ring:
                out.append((0.999, 0.999, self.part))
            elif cols <= 8:
                out.append((0.999, 0.999, 1))
            else:
                out.append((0.6, 0.6, 7))
        return np.array(out, np.float64)


def _ring_and_bar(bar_top: int = 40, fragment: bool = False, bridges: int = 1) -> np.ndarray:
    """A ring (a 0-like digit, 120 px tall) and a bar right of it from ``bar_top`` down to the ring's foot, joined
    by a thin bridge at half height (``bridges=2``: and one lower down) so that they are one piece of ink, no
    wider than one digit: dark on light paper, (200, 260) uint8. With ``fragment`` the bar is broken in two a
    little below the bridge."""
    ink = np.zeros((200, 260), np.uint8)
    cv2.rectangle(ink, (40, 40), (120, 160), 255, 12)
    for y in (100, 140)[:bridges]:
        cv2.line(ink, (120, y), (152, y), 255, 4)
    cv2.line(ink, (156, bar_top), (156, 160), 255, 14)
    if fragment:
        ink[108:116, 140:170] = 0
    return np.where(ink > 127, 40, 235).astype(np.uint8)


def test_a_piece_read_as_one_digit_is_cut_where_its_parts_read_as_that_digit_and_another():
    picture = _ring_and_bar()
    assert cv2.connectedComponents((picture < 128).astype(np.uint8))[0] == 2  # one piece of ink
    assert len(pp.segment(picture, reader=_SureOfEverything()).digits) == 1  # narrower than two digits
    result = pp.segment(picture, reader=_PartsAreSurer(whole=5, part=5))
    assert len(result.digits) == 2 and result.digits[0].box.x < result.digits[1].box.x
    assert result.digits[1].box.w < 40  # the bar and the end of the bridge
    found = next(stage for stage in result.trace if stage.name == "digits")
    assert "1 piece read as one digit cut in two" in found.reason


@pytest.mark.parametrize(
    ("picture", "reader", "why"),
    [
        (_ring_and_bar(), _PartsAreSurer(whole=8, part=5), "neither part reads as the whole did"),
        (_ring_and_bar(bar_top=90), _PartsAreSurer(whole=5, part=5), "the bar is too short for a digit"),
        (_ring_and_bar(fragment=True), _PartsAreSurer(whole=5, part=5), "the bar is two pieces"),
        (_ring_and_bar(bridges=2), _PartsAreSurer(whole=5, part=5), "every cut crosses two strokes"),
        (_ring_and_bar(), _PartsAreSurer(whole=1, part=5), "any piece of a 1's stroke reads as a 1"),
    ],
)
def test_a_piece_read_as_one_digit_stays_whole_without_the_evidence(picture, reader, why):
    assert len(pp.segment(picture, reader=reader).digits) == 1, why


@pytest.mark.parametrize("index", [42, 107, 173])
def test_two_touching_digits_read_as_one_are_cut_in_two(reader, data_dir, index):
    # Numbers of MNIST test digits written touching as benchmarks/whole_numbers.py writes them (seed 0): "18" in
    # "991834", "79" and "31" in "31353", each one piece no wider than one digit that the network reads as one of
    # its two digits (the other's ink ignored), as surely as a digit alone.
    _reads_benchmark_number(reader, data_dir, "touching", index, "read as one digit cut in two")


@pytest.mark.parametrize("index", [99, 123, 168])
def test_two_digits_written_into_each_others_columns_are_cut_along_a_path(reader, data_dir, index):
    # "21", "16" and "31" (seed 0) written so close that no column runs between them: the 2's foot under the 1,
    # the 1's top over the 6's, the 1 leaning into the 3's columns (there without touching it, joined to it as
    # one piece by the overlap). Each is read as one digit (2, 6, 3); a cut winding between the two reads both.
    _reads_benchmark_number(reader, data_dir, "touching", index, "read as one digit cut in two")


def _five_with_its_bar_apart(prefix: str) -> tuple[np.ndarray, Box]:
    """``prefix`` in bold Hershey digits, then a 5 as a hand writes one: stem and bowl in one stroke, the bar
    apart from the stem and reaching so far past the bowl that joining pieces above one another does not join
    them. Dark on light paper, (260, 560) uint8, and the bar's box."""
    ink = np.zeros((260, 560), np.uint8)
    cv2.putText(ink, prefix, (60, 200), cv2.FONT_HERSHEY_SIMPLEX, 4, 255, 9, cv2.LINE_AA)
    cv2.line(ink, (270, 112), (267, 145), 255, 9, cv2.LINE_AA)
    cv2.ellipse(ink, (290, 172), (34, 30), 0, -150, 150, 255, 9, cv2.LINE_AA)
    bar = np.zeros_like(ink)
    cv2.line(bar, (300, 104), (390, 100), 255, 9, cv2.LINE_AA)
    return np.where(np.maximum(ink, bar) > 127, 40, 235).astype(np.uint8), box_of(bar > 127)


def test_a_dash_is_joined_to_the_digit_it_overlaps_when_that_reads_more_surely():
    picture, bar = _five_with_its_bar_apart("3")
    alone = pp.segment(picture, reader=_SureOfEverything())  # no surer with the bar: left out as a dash
    five = alone.digits[1].box
    assert len(alone.digits) == 2 and five.y > bar.y and five.x + five.w < bar.x + bar.w - 20
    joined = pp.segment(picture, reader=_TopBarMakesItSurer())
    assert len(joined.digits) == 2
    five = joined.digits[1].box
    assert five.y <= bar.y and five.x + five.w >= bar.x + bar.w - 2  # the 5 with its bar
    found = next(stage for stage in joined.trace if stage.name == "digits")
    assert "1 dash joined to the digit it overlaps" in found.reason and "dot or dash" not in found.reason


def test_a_hyphen_between_digits_is_joined_to_neither():
    picture = np.full((260, 900), 235, np.uint8)
    cv2.putText(picture, "12-34", (60, 190), cv2.FONT_HERSHEY_SIMPLEX, 4, 40, 9, cv2.LINE_AA)
    result = pp.segment(picture, reader=_TopBarMakesItSurer())
    assert len(result.digits) == 4
    assert "1 dot or dash" in next(stage for stage in result.trace if stage.name == "digits").reason


def test_a_reader_that_finds_every_part_a_digit_leaves_the_width_rule_alone():
    for number, overlap in (("17", 10), ("2026", -30), ("35", 20)):
        picture = _written_close(number, overlap)
        plain, read = pp.segment(picture), pp.segment(picture, reader=_SureOfEverything())
        assert [d.box for d in read.digits] == [d.box for d in plain.digits]


def test_a_part_that_may_not_be_a_digit_is_read_again_cut_every_way():
    picture = _written_close("41", 20)
    result = pp.segment(picture, reader=_WideIsNoDigit())
    assert len(result.digits) == 2  # the whole "may not be a digit"; both halves are
    assert result.digits[0].box.x < result.digits[1].box.x


# Where a student meets it: ``predict --multi`` and the Upload page's whole-number mode read with the reader.


def test_predict_multi_reads_two_touching_digits(capsys, tmp_path):
    import json

    from hdr_core.cli import main

    path = tmp_path / "41.png"
    cv2.imwrite(str(path), _written_close("41", 20))
    status = main(["predict", "--json", "--multi", str(path)])
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert status == 0 and record["number"] == "41"
    found = next(step for step in record["steps"] if step["stage"] == "digits")
    assert "divided where the network read the parts" in found["reason"]


def test_the_upload_page_reads_two_touching_digits_and_says_why():
    from hdr_app import upload
    from hdr_core.inference import Predictor

    data = cv2.imencode(".png", _written_close("67", 20))[1].tobytes()
    result = upload.read_file(data, "67.png", predictor=Predictor.from_path(), mode="multi")
    assert result.ok and result.text == "67"
    assert len(result.steps.boxes) == 2
    assert any("divided where the network read the parts" in stage.caption for stage in result.steps.stages)
