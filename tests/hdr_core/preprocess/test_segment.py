"""Tests for hdr_core.preprocess: whole numbers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError
from hdr_core.preprocess import Box

from .drawing import (
    _marked,
    _number,
    _photographed,
    _turned,
    _turned_sheet,
    assert_model_input,
    box_of,
    digit_mask,
    hershey_digit,
    iou,
    render,
)


def test_segment_one_row():
    gray, truths = _number(["2026"])
    result = pp.segment(gray)
    assert isinstance(result, pp.MultiPreprocessed) and isinstance(result, pp.Preprocessed)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, truths[0]):
        assert iou(digit.box, truth) > 0.85
        assert_model_input(digit.model_input)
    assert np.array_equal(result.model_input, result.digits[0].model_input)
    assert result.box == result.digits[0].box.union(result.digits[-1].box).union(result.digits[1].box).union(
        result.digits[2].box
    )


def test_segment_leaves_out_a_desk_beside_the_page():
    # The page did not fill the frame: a dark desk along the left side and the bottom, as deep as
    # the margin around the number.
    gray, truths = _number(["2026"])
    depth = gray.shape[0] // 6
    gray = np.pad(gray, ((0, depth), (depth, 0)), constant_values=50)
    gray = np.clip(gray + np.random.default_rng(0).normal(0, 4, gray.shape), 0, 255).astype(np.uint8)
    result = pp.segment(gray)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, truths[0]):
        assert iou(digit.box, Box(truth.x + depth, truth.y, truth.w, truth.h)) > 0.85


@pytest.mark.parametrize("method", pp.THRESHOLD_METHODS)
def test_segment_two_rows(method):
    gray, truths = _number(["12", "3457"])
    result = pp.segment(gray, threshold=method)
    assert result.rows == ((0, 1), (2, 3, 4, 5))
    for digit, truth in zip(result.digits, truths[0] + truths[1]):
        assert iou(digit.box, truth) > 0.85


@pytest.mark.parametrize("line_gap", [90, 50], ids=["spaced", "dense"])
@pytest.mark.parametrize("degrees", [-20, -15, 15, 20])
def test_segment_follows_rows_written_or_photographed_askew(degrees, line_gap):
    # Three rows tilted by up to 20 degrees: each row's end is lower (or higher) than the next row's
    # start, so rows cannot be told apart by height alone, only across their common slope; written
    # densely, a digit's box also overlaps its neighbour's in the next row, which must not join them.
    rows = ["2026", "1234", "98765"]
    gray, truths = _number(rows, line_gap=line_gap)
    photo, matrix = _turned(gray, degrees)
    result = pp.segment(photo)
    assert [len(row) for row in result.rows] == [4, 4, 5]
    for digit, truth in zip(result.digits, [t for row in truths for t in row]):
        centre = matrix @ (truth.x + truth.w / 2, truth.y + truth.h / 2, 1.0)
        assert digit.box.x <= centre[0] <= digit.box.x + digit.box.w  # the right digit, in reading order
        assert digit.box.y <= centre[1] <= digit.box.y + digit.box.h


@pytest.mark.parametrize("degrees", [-10, 0, 6])
def test_segment_reads_a_number_on_squared_paper_photographed_at_a_tilt(degrees):
    # Squared paper all over the picture, the number written on it, the photo taken turned: the grid's
    # lines cross every digit and join them all into one piece unless they are found and erased.
    gray, truths = _number(["2026"], thickness=5)
    height, width = gray.shape
    grid = np.full((3 * height, 3 * width), 235, np.uint8)
    for at in range(0, 3 * max(height, width), 25):
        cv2.line(grid, (0, at), (3 * width, at), 160, 1)
        cv2.line(grid, (at, 0), (at, 3 * height), 160, 1)
    middle = grid[height:2 * height, width:2 * width]
    middle[gray < 128] = gray[gray < 128]
    matrix = cv2.getRotationMatrix2D((1.5 * width, 1.5 * height), degrees, 1.0)
    turned = cv2.warpAffine(grid, matrix, (3 * width, 3 * height), borderValue=235)
    top, left = height - height // 4, width - width // 8
    photo = turned[top:2 * height + height // 4, left:2 * width + width // 8]
    photo = np.clip(photo + np.random.default_rng(4).normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    result = pp.segment(photo)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, truths[0]):
        centre = matrix @ (width + truth.x + truth.w / 2, height + truth.y + truth.h / 2, 1.0) - (left, top)
        assert digit.box.x <= centre[0] <= digit.box.x + digit.box.w
        assert digit.box.y <= centre[1] <= digit.box.y + digit.box.h
        assert digit.box.h <= 1.3 * truth.h  # the digit alone, not a stretch of grid line with it


def test_segment_reads_a_number_on_ruled_paper_with_a_line_cut_by_the_picture_edge():
    # Written with a ballpoint across ruled lines, the 2s' feet on one; the photo's top edge runs along
    # a line, so half of it shows, in bits too short to be found as a line. Those bits must not count
    # as part of the number, or the number's box spans the picture and every line looks like its own.
    ink = np.zeros((400, 900), np.uint8)
    cv2.putText(ink, "2026", (80, 300), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 6, 255, 4, cv2.LINE_AA)
    paper = np.full(ink.shape, 232, np.uint8)
    for y in range(0, 400, 50):
        cv2.line(paper, (0, y), (899, y), 165, 2, cv2.LINE_AA)
    photo = np.where(ink > 127, 50, paper).astype(np.float64)
    photo = np.clip(photo + np.random.default_rng(5).normal(0, 5, photo.shape), 0, 255).astype(np.uint8)
    result = pp.segment(photo)
    assert result.rows == ((0, 1, 2, 3),)
    text = box_of(ink > 127)
    for digit in result.digits:
        assert digit.box.y >= text.y - 3 and digit.box.y + digit.box.h <= text.y + text.h + 3
        assert digit.box.w < text.w / 3


@pytest.mark.parametrize("rows, degrees", [(["2026"], 10), (["2026"], 14), (["2026"], -10), (["31415", "926"], 10),
                                           (["31415", "926"], -10), (["12", "3457"], 10), (["12", "3457"], -10),
                                           # the sheet's edge cuts a thin triangle of desk off two corners
                                           (["12", "3457"], 14), (["12", "3457"], -14), (["31415", "926"], 17),
                                           (["31415", "926"], -17)])
def test_segment_leaves_out_the_desk_beside_a_turned_sheet(rows, degrees):
    photo = _turned_sheet(rows, degrees)
    assert photo[0, 0] < 100 or photo[0, -1] < 100  # desk shows in the corners
    result = pp.segment(photo)
    assert [len(row) for row in result.rows] == [len(r) for r in rows]
    heights = [d.box.h for d in result.digits]
    assert max(heights) < 1.3 * min(heights)  # digits only: no strip of desk or sheet edge among them


@pytest.mark.parametrize("rows", [["7147"], ["1471", "7741"], ["4774"], ["71", "17"]])
def test_segment_keeps_digits_in_the_corners_of_a_tight_crop(rows):
    # A 1 or a 7 touching two sides at a corner of the picture is a digit, not a corner of desk.
    gray, _ = _number(rows)
    ys, xs = np.nonzero(gray < 128)
    crop = gray[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    result = pp.segment(crop)
    assert [len(row) for row in result.rows] == [len(r) for r in rows]


def test_segment_ignores_dots_and_specks():
    gray, truths = _number(["314"], gap=40)
    right_of_three = truths[0][0].x + truths[0][0].w + 15
    bottom = truths[0][0].y + truths[0][0].h
    cv2.circle(gray, (right_of_three, bottom - 4), 4, 25, -1)  # "3.14"
    gray[5, 5] = gray[-6, -8] = 25
    result = pp.segment(gray)
    assert len(result.digits) == 3


def test_segment_joins_a_detached_bar():
    """A 5 whose top bar was written without touching the body."""
    gray = np.full((160, 260), 235, np.uint8)
    cv2.line(gray, (40, 30), (40, 130), 25, 7)  # a "1"
    cv2.line(gray, (110, 30), (160, 30), 25, 7)  # the 5's bar...
    cv2.line(gray, (112, 42), (110, 75), 25, 7)  # ...detached from its body
    cv2.ellipse(gray, (130, 100), (26, 28), 0, -120, 150, 25, 7)
    cv2.line(gray, (200, 30), (220, 130), 25, 7)  # another "1"
    result = pp.segment(gray)
    assert result.rows == ((0, 1, 2),)
    assert result.digits[1].box.y <= 30 and result.digits[1].box.y + result.digits[1].box.h >= 125


@pytest.mark.parametrize("mark", ["box", "comb", "circle", "underline"])
def test_segment_leaves_out_boxes_circles_and_underlines(mark):
    """A number in an answer box, in a form's row of boxes (one per digit), circled or underlined:
    the marks are no digits, and were read as a 0 or a 2 (a comb of boxes, as one more digit)."""
    gray, truths = _number(["2026"])
    gray = np.pad(gray, 60, constant_values=235)
    boxes = [Box(b.x + 60, b.y + 60, b.w, b.h) for b in truths[0]]
    whole = boxes[0].union(boxes[-1])
    if mark == "comb":
        half = (boxes[1].x - boxes[0].x) // 2
        for b in boxes:
            cx, cy = b.x + b.w // 2, b.y + b.h // 2
            cv2.rectangle(gray, (cx - half, cy - b.h // 2 - 15), (cx + half, cy + b.h // 2 + 15), 25, 3)
    else:
        gray = _marked(gray, whole, mark, ink=25, width=4)
    result = pp.segment(gray)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, boxes):
        assert iou(digit.box, truth) > 0.85


def test_segment_splits_touching_digits():
    gray, _ = _number(["00"], gap=-22)  # overlapping zeros: one connected component
    count, _ = cv2.connectedComponents((gray < 128).astype(np.uint8))
    assert count == 2  # background + one blob
    result = pp.segment(gray)
    assert len(result.digits) == 2
    assert result.digits[0].box.x < result.digits[1].box.x


def test_a_wide_digit_is_not_cut_into_two():
    # A 5 whose top bar runs on to the right: the columns past its body hold a dash, not a digit.
    gray, truths = _number(["25"], margin=80)
    five = truths[0][1]
    cv2.line(gray, (five.x + five.w // 2, five.y + 3), (five.x + five.w + int(0.55 * five.h), five.y + 3), 25, 7)
    assert len(pp.segment(gray).digits) == 2
    # A 0 written wide: any column through it crosses both its sides, there is no joint to cut at.
    gray, truths = _number(["10"], margin=80)
    zero = truths[0][1]
    gray[zero.slices] = 235
    centre = (zero.x + zero.w // 2 + zero.h // 3, zero.y + zero.h // 2)
    cv2.ellipse(gray, centre, (int(0.7 * zero.h), zero.h // 2), 0, 0, 360, 25, 7)
    result = pp.segment(gray)
    assert len(result.digits) == 2 and result.digits[1].box.w > 1.3 * result.digits[1].box.h


def test_a_slanted_number_keeps_its_digits_whole():
    # "38" written at a slant of 0.8 (about 40 degrees): each digit is wider than it is tall, but upright
    # it is one digit; the slanted 8's waist is not where two digits touch.
    gray, _ = _number(["38"], margin=60)
    height = gray.shape[0]
    shear = np.float32([[1, -0.8, 0.8 * height], [0, 1, 0]])
    slanted = cv2.warpAffine(gray, shear, (gray.shape[1] + int(0.8 * height), height), borderValue=235)
    result = pp.segment(slanted)
    assert len(result.digits) == 2
    assert all(digit.box.w > 1.2 * digit.box.h for digit in result.digits)
    found = next(stage for stage in result.trace if stage.name == "digits")
    assert "2 wide pieces kept as one digit" in found.reason and "cut" not in found.reason


def test_segment_blank_is_reported():
    with pytest.raises(BlankImageError, match="No ink found"):
        pp.segment(np.full((100, 300), 240, np.uint8))


def test_a_whole_number_read_as_one_digit_says_how_many_digits_it_holds():
    gray, _ = _number(["4096"])
    single = pp.preprocess(gray)
    assert pp.digits_left_out(gray, single) == 4
    gray, _ = _number(["12", "3457"])
    assert pp.digits_left_out(gray, pp.preprocess(gray, threshold="otsu")) == 6


def test_one_digit_leaves_nothing_out():
    for text in "1478":
        gray = render(digit_mask(text, size=(200, 160)), 30, 230)
        assert pp.digits_left_out(gray, pp.preprocess(gray)) == 0, text


def test_a_digit_drawn_in_two_strokes_is_not_several_digits():
    gray = np.full((200, 180), 235, np.uint8)
    cv2.ellipse(gray, (90, 100), (45, 70), 0, 100, 260, 25, 9)  # a "0" whose two halves do not meet
    cv2.ellipse(gray, (90, 100), (45, 70), 0, -75, 75, 25, 9)
    single = pp.preprocess(gray)
    assert len(pp.segment(gray).digits) == 2  # read as a number it would be two pieces...
    assert pp.digits_left_out(gray, single) == 0  # ...but the one-digit reading kept both


def test_neighbours_cut_by_a_grid_cell_edge_are_not_left_out_digits():
    gray = render(digit_mask("2", size=(160, 160), scale=3, thickness=7), 30, 230)
    gray[30:130, 146:160] = 30  # most of the next cell's digit, cut by the border
    gray[40:120, 0:8] = 30  # and the previous one's
    single = pp.preprocess(gray)
    assert pp.digits_left_out(gray, single) == 0


@pytest.mark.parametrize(
    ("relative", "row_lengths"),
    [
        ("real-dev/gzm1997_hand-writing-digits/input.jpg", (6, 8, 3)),
        ("real-dev/dFAk0_MNIST-dataset-training/my_digits_test/2026.png", (4,)),
        ("real-dev/dFAk0_MNIST-dataset-training/my_digits_test/6666.png", (4,)),
    ],
)
@pytest.mark.parametrize("method", ["mean", "otsu"])
def test_segment_real_numbers(data_file, relative, row_lengths, method):
    result = pp.segment(pp.load_image(data_file(relative)), threshold=method)
    assert tuple(len(row) for row in result.rows) == row_lengths
    for row in result.rows:
        xs = [result.digits[i].box.x for i in row]
        assert xs == sorted(xs)
    for digit in result.digits:
        assert_model_input(digit.model_input)


@pytest.mark.parametrize("how", ["perspective", "gradient", "lit_from_left", "lit_from_top", "far", "desk", "on_desk",
                                 "on_gray_desk", "on_gray_desk_lit_from_left"])
def test_segment_real_number_photographed_again(data_file, how):
    # The sheet lies on a light-grey desk that is brighter beside it: found as a sheet on a darker desk
    # around it, its outline takes in a wedge of desk, which must not become the only "digit"; and the
    # speckled shade of the desk or of a paper corner must not become extra digits. Lit from one side, the
    # lit desk is as bright as the shaded paper, and the sheet must not be taken for the ink. On a mid-grey desk
    # lit from one side, the sheet is found with some of its light-grey desk, whose rim is darker than the paper.
    photo = _photographed(pp.load_image(data_file("real-dev/gzm1997_hand-writing-digits/input.jpg")), how)
    result = pp.segment(photo)
    assert tuple(len(row) for row in result.rows) == (6, 8, 3)


@pytest.mark.parametrize("mark", ["box", "underline"])
def test_segment_real_number_boxed_or_underlined(data_file, mark):
    """The real photo of three rows of digits, with a box drawn round all of them, or each row
    underlined in the same pen."""
    photo = pp.load_image(data_file("real-dev/gzm1997_hand-writing-digits/input.jpg"))
    plain = pp.segment(photo)
    gray = pp.to_grayscale(photo)
    ink = int(np.percentile(gray, 1))
    if mark == "box":
        marked = _marked(gray, plain.box, "box", ink=ink, width=max(2, gray.shape[1] // 300))
    else:
        marked = gray.copy()
        for row in plain.rows:  # level, clear of the row's lowest digit by a third of a digit's height
            boxes = [plain.digits[i].box for i in row]
            y = round(max(b.y + b.h for b in boxes) + np.median([b.h for b in boxes]) / 3)
            right = boxes[-1].x + boxes[-1].w + 10
            cv2.line(marked, (boxes[0].x - 10, y), (right, y), ink, max(2, gray.shape[1] // 300))
    result = pp.segment(marked)
    assert tuple(len(row) for row in result.rows) == (6, 8, 3)
    for digit, before in zip(result.digits, plain.digits):
        assert iou(digit.box, before.box) > 0.9


@pytest.mark.parametrize(
    ("relative", "digits"),
    [
        ("real-dev/gzm1997_hand-writing-digits/input.jpg", 17),
        ("real-dev/dFAk0_MNIST-dataset-training/my_digits_test/2026.png", 4),
    ],
)
def test_real_numbers_read_as_one_digit_are_flagged(data_file, relative, digits):
    image = pp.load_image(data_file(relative))
    assert pp.digits_left_out(image, pp.preprocess(image)) == digits


def _hershey_number(text: str, size: tuple[int, int], origin: tuple[int, int]) -> tuple[np.ndarray, Box]:
    """``text`` written bold at ``origin`` (bottom left) on a ``size`` (H, W) picture: the ink, (H, W) bool, and its box."""
    ink = np.zeros(size, np.uint8)
    cv2.putText(ink, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 4, 255, 9, cv2.LINE_AA)
    return ink > 127, box_of(ink > 127)


def _photo_of(ink: np.ndarray, paper: np.ndarray, degrees: float = 0, noise: float = 6) -> np.ndarray:
    """Dark ink ((H, W) bool) on ``paper`` ((H, W) uint8), photographed turned by ``degrees`` about the centre,
    with a little noise: (H, W) uint8."""
    photo = np.where(ink, 40, paper).astype(np.uint8)
    if degrees:
        height, width = photo.shape
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        photo = cv2.warpAffine(photo, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.clip(photo + np.random.default_rng(3).normal(0, noise, photo.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("line_level", [160, 165, 170, 175, 180])
def test_segment_reads_a_number_sitting_on_pale_ruled_lines_the_noise_left_dotted(line_level):
    # Pale printed lines, about as far from the paper as the contrast a pixel needs to count as ink: with a
    # little noise, part of each line's pixels pass and part do not, so each line comes out dotted. A dotted
    # line is still a line; left in, its bits joined the digits sitting on it or were read as digits of their own.
    ink, text = _hershey_number("3580", (300, 700), (60, 200))
    paper = np.full(ink.shape, 232, np.uint8)
    for y in range(text.y + text.h - 1 - 3 * 70, 300, 70):  # the digits sit on a line, as they are written
        cv2.line(paper, (0, y), (699, y), line_level, 2)
    result = pp.segment(_photo_of(ink, paper))
    assert result.rows == ((0, 1, 2, 3),)
    for digit in result.digits:
        assert digit.box.y >= text.y - 4 and digit.box.y + digit.box.h <= text.y + text.h + 4


@pytest.mark.parametrize("line_level", [165, 175])
def test_segment_reads_a_number_on_pale_ruled_lines_photographed_at_a_tilt(line_level):
    # The same dotted pale lines, photographed turned by 5 degrees: levelled by the lines' tilt, they are still
    # bridged into lines. Left in, their bits were read as digits of their own.
    ink, text = _hershey_number("3580", (360, 760), (90, 230))
    paper = np.full(ink.shape, 232, np.uint8)
    for y in range(text.y + text.h - 1 - 3 * 70, 360, 70):
        cv2.line(paper, (0, y), (759, y), line_level, 2)
    result = pp.segment(_photo_of(ink, paper, 5))
    assert result.rows == ((0, 1, 2, 3),)
    assert any(stage.name == "lines" for stage in result.trace)


@pytest.mark.parametrize("gap", [0.04, 0.08])
def test_segment_leaves_out_an_underline_written_close_under_a_number(gap):
    """A student underlines an answer close under it, a little slanted: the line is under all four digits,
    so it is no digit's detached foot (those lie under one digit), and it was read with them as more digits."""
    gray, truths = _number(["2026"])
    gray = np.pad(gray, 60, constant_values=235)
    boxes = [Box(b.x + 60, b.y + 60, b.w, b.h) for b in truths[0]]
    whole = boxes[0].union(boxes[-1])
    below = whole.y + whole.h + max(3, round(gap * whole.h))
    cv2.line(gray, (whole.x - 10, below + 4), (whole.x + whole.w + 10, below), 25, 4)
    result = pp.segment(gray)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, boxes):
        assert iou(digit.box, truth) > 0.85


def test_segment_keeps_a_detached_foot_under_one_digit_of_a_number():
    """In a number, a 2's base written as a stroke of its own close under it is still the 2's: it lies under
    one digit, not the whole number."""
    gray, truths = _number(["12"])
    gray = np.pad(gray, 60, constant_values=235)
    two = Box(truths[0][1].x + 60, truths[0][1].y + 60, truths[0][1].w, truths[0][1].h)
    gray[two.y + two.h - 8: two.y + two.h + 2, two.x: two.x + two.w] = 235  # the 2's own base goes...
    cv2.line(gray, (two.x, two.y + two.h - 2), (two.x + two.w, two.y + two.h - 2), 25, 5)  # ...one of its own
    assert cv2.connectedComponents((gray < 128).astype(np.uint8))[0] == 4  # the 1, the 2, its base
    result = pp.segment(gray)
    assert len(result.digits) == 2
    assert result.digits[1].box.y + result.digits[1].box.h >= two.y + two.h


def test_segment_reads_a_form_whose_row_of_boxes_spans_the_picture():
    """A form's row of boxes, one per digit, photographed close: its top and bottom edges span the picture
    like ruled lines. They stop inside it and turn a corner at both ends, so they are a box's sides; erased as
    lines, they left the boxes' upright sides to be read as 1s."""
    gray, truths = _number(["2026"], thickness=9)  # a bold pen; the form's print is fine
    gray = np.pad(gray, ((60, 60), (8, 8)), constant_values=235)
    boxes = [Box(b.x + 8, b.y + 60, b.w, b.h) for b in truths[0]]
    half = (boxes[1].x - boxes[0].x) // 2
    for b in boxes:
        cx, cy = b.x + b.w // 2, b.y + b.h // 2
        cv2.rectangle(gray, (cx - half, cy - b.h // 2 - 15), (cx + half, cy + b.h // 2 + 15), 90, 1)
    comb = np.flatnonzero((gray < 128).any(axis=0))
    assert comb[-1] - comb[0] > 0.8 * gray.shape[1]
    result = pp.segment(gray)
    assert result.rows == ((0, 1, 2, 3),)
    for digit, truth in zip(result.digits, boxes):
        assert iou(digit.box, truth) > 0.85


@pytest.mark.parametrize("degrees", [0, 5])
def test_segment_reads_a_number_on_a_ruled_line_that_steps_aside_under_it(degrees):
    # The paper curls under the number: the line it sits on steps down 4 px half way along it, and comes out of
    # the line search as two pieces, each ending under the digits. Judged one by one, each was a part of them
    # ("407" read as 5 digits); together they span the picture like the other lines. Photographed turned 5
    # degrees, the two lines left were also too few to level the page by.
    ink, text = _hershey_number("407", (250, 600), (200, 150))
    paper = np.full(ink.shape, 232, np.uint8)
    base, middle = text.y + text.h + 3, text.x + text.w // 2
    for y in (base - 75, base + 75):
        cv2.line(paper, (0, y), (599, y), 150, 2)
    cv2.line(paper, (0, base), (middle, base), 150, 2)
    cv2.line(paper, (middle, base + 4), (599, base + 4), 150, 2)
    result = pp.segment(_photo_of(ink, paper, degrees, noise=4))
    assert result.rows == ((0, 1, 2),)
    assert all(digit.box.h < 1.1 * text.h for digit in result.digits)
    assert "3 ruled lines erased" in next(stage.reason for stage in result.trace if stage.name == "lines")


@pytest.mark.parametrize("length", [0.6, 0.7])
@pytest.mark.parametrize("gap", [10, 25])
def test_a_line_fading_before_the_edge_above_a_number_is_not_joined_to_its_digits(gap, length):
    # A ruled line that the light lets fade before the picture's edge is no longer edge to edge, so it is kept as
    # a piece; lying just above the digits, it was joined to each of them as "a piece above one another" (a 5's
    # bar): "3580" read as three or four wide pieces of line and digit. No digit is that wide.
    ink, text = _hershey_number("3580", (300, 700), (60, 200))
    paper = np.full(ink.shape, 232, np.uint8)
    cv2.line(paper, (0, text.y - gap), (int(length * 700), text.y - gap), 120, 2)
    result = pp.segment(_photo_of(ink, paper))
    assert result.rows == ((0, 1, 2, 3),)
    for digit in result.digits:
        assert digit.box.y >= text.y - 4 and digit.box.w < 0.8 * text.h


def test_segment_finds_every_digit_on_squared_paper_whose_print_the_contrast_step_left_dotted():
    # Numbers written on squared paper as benchmarks/whole_numbers.py writes them (its "squared" setting), with
    # Hershey digits. A grid printed about as pale as the contrast ink needs comes out of the contrast step
    # dotted, in runs too broken to be found as lines; left in, its bits joined digits to one another and to
    # the grid. Among the pixels standing out half as far, the print is whole, and found there.
    from benchmarks.whole_numbers import on_paper, settings, written_number

    squared = settings()["squared"]
    pale = 0
    for seed in range(40):
        rng = np.random.default_rng([99, seed])
        text = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(2, 6))))
        ink, boxes, height = written_number([hershey_digit(c, int(rng.integers(1, 4))) for c in text], rng)
        result = pp.segment(squared(on_paper(ink, rng), boxes, height, rng))
        assert len(result.digits) == len(text), (seed, text)
        for digit, (x, y, w, h) in zip(result.digits, boxes):
            assert digit.box.x <= x + w / 2 <= digit.box.x + digit.box.w, (seed, text)
        lines = [stage.reason for stage in result.trace if stage.name == "lines"]
        pale += any("paler pixels" in reason for reason in lines)
    assert pale >= 1  # the print was found among the paler pixels at least once: the case this test is about


def test_a_cut_between_two_digits_leaning_into_each_others_columns_follows_the_gap_between_them():
    # Two strokes slanted alike, the second a little right of the first: every column from top to bottom crosses
    # both, so no straight cut parts them, but a cut winding down the gap crosses no ink at all.
    from hdr_core.preprocess.segment import _crossings, _path_cuts

    mask = np.zeros((60, 70), np.uint8)
    cv2.line(mask, (40, 2), (12, 57), 1, 5)
    cv2.line(mask, (58, 2), (30, 57), 1, 5)
    mask = mask.astype(bool)
    assert all(_crossings(mask[:, x]) == 2 for x in range(30, 41))
    path = _path_cuts(mask, [35], 15)[0]
    assert not mask[np.arange(60), path].any()
    first = mask & (np.arange(70)[None, :] < path[:, None])
    assert first.sum() + (mask & ~first).sum() == mask.sum()
    assert cv2.connectedComponents(first.astype(np.uint8))[0] == 2 and first[:, 45:].sum() == 0  # the first stroke
    assert cv2.connectedComponents((mask & ~first).astype(np.uint8))[0] == 2
