"""The Upload page: its processing helpers (``hdr_app.upload``) and the page itself under AppTest.

The helper tests use generated images and a stub predictor (no TensorFlow). The AppTest tests run the
real app (``app.py`` -> the Upload page) with the shipped default model and upload files through
``AppTest.file_uploader``; they check what the page shows, never the (provisional) model's accuracy.
"""

from __future__ import annotations

import csv
import io
import pickle
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from hdr_app import state, upload
from hdr_core import preprocess
from hdr_core.constants import IMAGE_SIZE

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TIMEOUT = 120  # seconds: the first run of a session loads TensorFlow and the model


# =================================================================================================
# Generated inputs
# =================================================================================================


def encode(image: np.ndarray, ext: str = ".png", **params) -> bytes:
    """RGB/RGBA/gray uint8 array -> file bytes in the format of ``ext`` (via Pillow)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format={".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                                                ".tif": "TIFF", ".gif": "GIF"}[ext], **params)
    return buffer.getvalue()


def digit_image(text: str = "3", *, size: tuple[int, int] = (240, 200), ink=(20, 20, 20), paper=(245, 245, 245),
                origin: tuple[int, int] | None = None, scale: float = 5.0, thickness: int = 14) -> np.ndarray:
    """(H, W, 3) uint8 RGB: ``text`` in OpenCV's Hershey font, ``ink`` on ``paper``."""
    height, width = size
    image = np.empty((height, width, 3), np.uint8)
    image[:] = paper
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin if origin is not None else ((width - text_w) // 2, (height + text_h) // 2)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, tuple(int(c) for c in ink), thickness,
                cv2.LINE_AA)
    return image


def ink_box(image: np.ndarray, paper) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the pixels that differ from ``paper``: where the digit really is."""
    differs = np.abs(image.astype(int) - np.array(paper)).max(axis=2) > 60
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def overlap(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with a few bytes of data (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [Image.fromarray(digit_image(d, size=(64, 64), scale=2, thickness=4)) for d in "123"]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buffer.getvalue()


def number_image(text: str = "2026", *, rows: int = 1) -> np.ndarray:
    """Several digits with gaps (and a row below when ``rows`` is 2), dark on light, plus a dot and specks."""
    line_h, digit_w = 150, 110
    width = 40 + digit_w * len(text)
    image = np.full((40 + line_h * rows, width, 3), 240, np.uint8)
    for r in range(rows):
        for i, digit in enumerate(text if r == 0 else text[::-1]):
            cv2.putText(image, digit, (30 + i * digit_w, 150 + r * line_h), cv2.FONT_HERSHEY_SIMPLEX, 4, (25, 25, 25),
                        12, cv2.LINE_AA)
    cv2.circle(image, (30 + digit_w - 10, 148), 4, (25, 25, 25), -1)  # a dot on the baseline between two digits
    image[8:10, 8:10] = 30  # a speck in a corner
    return image


class StubPredictor:
    """Stands in for ``hdr_core.inference.Predictor`` without TensorFlow: 'reads' the ink's row count."""

    class_names = tuple(str(i) for i in range(10))

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        images = np.asarray(images, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        out = np.full((len(images), 10), 0.02, np.float32)
        for i, image in enumerate(images):
            out[i, int(image.sum()) % 10] = 0.82
        return out


# =================================================================================================
# Pipeline steps on generated images
# =================================================================================================


def check_steps(outcome: upload.Outcome, *, digits: int = 1) -> upload.Steps:
    assert outcome.error is None, outcome.error
    steps = outcome.steps
    assert steps is not None
    for field in ("original", "gray", "binary", "ink_bright", "located"):
        shown = upload.decode(getattr(steps, field))
        assert max(shown.shape[:2]) <= upload.DISPLAY_MAX_SIDE, field
    assert steps.model_inputs.shape == (digits, IMAGE_SIZE, IMAGE_SIZE)
    assert steps.model_inputs.dtype == np.float32
    assert 0.0 <= steps.model_inputs.min() and steps.model_inputs.max() <= 1.0
    assert steps.model_inputs.max() > 0.9  # there is ink in every input
    assert steps.invert_reason and steps.method == outcome.threshold
    assert len(steps.boxes) == digits
    return steps


@pytest.mark.parametrize("method", ["mean", "otsu", "adaptive"])
def test_dark_ink_on_light_paper_is_inverted_and_boxed(method):
    image = digit_image("3")
    steps = check_steps(upload.preprocess_file(encode(image), "three.png", threshold=method))
    assert steps.inverted
    assert overlap(steps.boxes[0].as_list(), ink_box(image, (245, 245, 245))) > 0.8
    assert (steps.width, steps.height) == (200, 240)


@pytest.mark.parametrize("method", ["mean", "otsu", "adaptive"])
def test_light_ink_on_dark_is_not_inverted(method):
    image = digit_image("5", ink=(250, 250, 250), paper=(10, 10, 10))
    steps = check_steps(upload.preprocess_file(encode(image, ".jpg"), "five.jpg", threshold=method))
    assert not steps.inverted
    assert "not" in steps.invert_reason.lower() or "already" in steps.invert_reason.lower()
    assert overlap(steps.boxes[0].as_list(), ink_box(image, (10, 10, 10))) > 0.8


def test_uneven_lighting_adaptive_finds_the_digit():
    image = digit_image("4", size=(300, 260)).astype(np.float32)
    yy, xx = np.mgrid[0:300, 0:260]
    image *= (1.0 - 0.6 * (xx / 260) * (yy / 300))[:, :, None]  # dark towards the bottom right, like a shadow
    image = image.astype(np.uint8)
    steps = check_steps(upload.preprocess_file(encode(image, ".jpg", quality=92), "shadow.jpg",
                                                  threshold="adaptive"))
    truth = ink_box(digit_image("4", size=(300, 260)), (245, 245, 245))
    assert overlap(steps.boxes[0].as_list(), truth) > 0.7


@pytest.mark.parametrize(("ink", "paper"), [((200, 20, 20), (250, 250, 250)), ((30, 60, 220), (250, 230, 120))])
def test_colored_ink(ink, paper):
    image = digit_image("8", ink=ink, paper=paper)
    steps = check_steps(upload.preprocess_file(encode(image, ".webp", quality=95), "colour.webp"))
    assert overlap(steps.boxes[0].as_list(), ink_box(image, paper)) > 0.8


def test_transparent_png_black_strokes():
    rgba = np.zeros((200, 200, 4), np.uint8)
    cv2.putText(rgba, "2", (45, 160), cv2.FONT_HERSHEY_SIMPLEX, 5, (0, 0, 0, 255), 14, cv2.LINE_AA)
    steps = check_steps(upload.preprocess_file(encode(rgba), "transparent.png"))
    assert steps.inverted  # flattened onto white: dark strokes on light


def test_exif_orientation_is_applied():
    image = digit_image("7", size=(120, 200))  # landscape as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(image, ".jpg", exif=exif.tobytes())
    steps = check_steps(upload.preprocess_file(data, "phone.jpg"))
    assert (steps.width, steps.height) == (120, 200)  # portrait once the orientation is applied
    assert steps.exif_turned  # the page says the photo was turned
    plain = check_steps(upload.preprocess_file(encode(image, ".jpg"), "plain.jpg"))
    assert not plain.exif_turned  # and does not claim it for a photo without the tag


def sheet_on_desk_photo(text: str = "4") -> np.ndarray:
    """(H, W, 3) a phone photo of a small sheet with a digit on it, lying on a dark wooden desk."""
    sheet = digit_image(text, size=(200, 160), ink=(30, 30, 40), paper=(235, 232, 225))
    photo = cv2.copyMakeBorder(sheet, 160, 160, 180, 180, cv2.BORDER_CONSTANT, value=(62, 46, 36))
    noise = np.random.default_rng(9).normal(0, 4, photo.shape)
    return np.clip(photo + noise, 0, 255).astype(np.uint8)


def test_a_sheet_on_a_desk_is_read_from_the_sheet_and_says_so():
    steps = check_steps(upload.preprocess_file(encode(sheet_on_desk_photo(), ".jpg", quality=90), "desk.jpg"))
    assert steps.page is not None and steps.inverted
    assert (steps.width, steps.height) == (steps.page.w, steps.page.h)  # the steps show the sheet
    assert steps.width < 0.5 * 520 and steps.height < 0.5 * 520
    # Step 1 still shows what was uploaded: the whole photo, desk and all, with the sheet outlined.
    whole, aspect = steps.first_image
    shown = upload.decode(whole)
    assert (steps.whole_width, steps.whole_height) == (520, 520)
    assert shown.shape[:2] == (520, 520) or max(shown.shape[:2]) == upload.DISPLAY_MAX_SIDE
    assert aspect == pytest.approx(1.0)
    scale = shown.shape[1] / 520
    page = steps.page
    outline = shown[int((page.y + page.h / 2) * scale), int(page.x * scale) - 3:int(page.x * scale) + 3]
    assert (np.abs(outline.astype(int) - upload.BOX_COLOR).sum(axis=1) < 90).any()  # the sheet's left edge
    desk = shown[int(20 * scale), int(20 * scale)]
    assert desk.max() < 110  # the desk is in the picture, not cropped away
    plain_photo = check_steps(upload.preprocess_file(encode(digit_image("4"), ".jpg"), "paper.jpg"))
    assert plain_photo.page is None and plain_photo.whole is None
    assert plain_photo.first_image == (plain_photo.original, plain_photo.height / plain_photo.width)


def test_large_photo_is_shown_small_and_cached_small():
    image = digit_image("6", size=(1500, 2000), scale=30, thickness=80)
    outcome = upload.preprocess_file(encode(image, ".jpg", quality=80), "big.jpg")
    steps = check_steps(outcome)
    assert (steps.width, steps.height) == (2000, 1500)
    assert max(upload.decode(steps.original).shape[:2]) == upload.DISPLAY_MAX_SIDE
    assert len(pickle.dumps(outcome)) < 600_000  # what st.cache_data keeps per file


def test_tiny_image_is_blown_up_with_square_pixels():
    image = digit_image("1", size=(28, 28), scale=0.8, thickness=2)
    steps = check_steps(upload.preprocess_file(encode(image), "cell.png"))
    shown = upload.decode(steps.original)
    assert min(shown.shape[:2]) >= upload.DISPLAY_MIN_SIDE


@pytest.mark.parametrize("method", ["mean", "otsu", "adaptive"])
def test_threshold_methods_give_different_levels_but_all_read(method):
    steps = check_steps(upload.preprocess_file(upload.example_image("shadow-7.png"), "ex.png", threshold=method))
    assert 0 < steps.threshold < 255


# =================================================================================================
# Whole numbers
# =================================================================================================


def test_segments_a_number_left_to_right_ignoring_dot_and_speck():
    steps = check_steps(upload.preprocess_file(encode(number_image("2026")), "2026.png", mode="multi"), digits=4)
    assert steps.rows == ((0, 1, 2, 3),)
    xs = [box.x for box in steps.boxes]
    assert xs == sorted(xs)
    assert all(box.h > 60 for box in steps.boxes)  # no dot or speck counted as a digit


def test_segments_rows_top_to_bottom():
    steps = check_steps(upload.preprocess_file(encode(number_image("123", rows=2)), "rows.png", mode="multi"),
                        digits=6)
    assert steps.rows == ((0, 1, 2), (3, 4, 5))
    assert max(steps.boxes[i].y for i in steps.rows[0]) < min(steps.boxes[i].y for i in steps.rows[1])


def test_broken_stroke_is_joined():
    image = number_image("55")
    image[60:66, :] = 240  # a white cut across the top bars: the 5's bar comes off
    steps = check_steps(upload.preprocess_file(encode(image), "55.png", mode="multi"), digits=2)
    assert steps.rows == ((0, 1),)


def test_multi_results_read_number_and_weakest_confidence():
    outcome = upload.preprocess_file(encode(number_image("2026")), "2026.png", mode="multi")
    predictor = StubPredictor()
    [result] = upload.predict_outcomes([outcome], predictor)
    assert result.ok and len(result.predictions) == 4
    assert result.text == "".join(p.label for p in result.predictions)
    assert result.confidence == pytest.approx(min(p.confidence for p in result.predictions))
    located = upload.decode(outcome.steps.located)
    assert located.ndim == 3  # the photo with numbered boxes


def test_small_number_in_a_big_photo_is_shown_zoomed_in():
    page = np.full((1200, 1000, 3), 240, np.uint8)  # the paper of number_image
    number = number_image("907")
    page[500 : 500 + number.shape[0], 300 : 300 + number.shape[1]] = number
    steps = check_steps(upload.preprocess_file(encode(page), "page.png", mode="multi"), digits=3)
    assert steps.located_cropped
    located = upload.decode(steps.located)
    assert located.shape[0] / located.shape[1] == pytest.approx(steps.located_aspect)
    assert steps.located_aspect < 0.9  # the crop around one line of digits, not the portrait page
    whole = check_steps(upload.preprocess_file(encode(number_image("2026")), "2026.png", mode="multi"), digits=4)
    assert not whole.located_cropped


def test_page_reads_real_dev_files_exactly_as_the_cli(data_file):
    """The page's processing gives the very model inputs that ``predict``/``evaluate`` (hdr_core) give."""
    from hdr_core import preprocess
    from hdr_core.piece_reader import default_reader

    folder = data_file("real-dev/labels.csv").parent
    with open(folder / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [next(r for r in rows if r["kind"] == kind) for kind in ("photo", "scan", "paint", "unknown")]
    chosen += [r for r in rows if r["kind"] == "multi"][:2]
    for row in chosen:
        path = folder / row["path"]
        mode = "multi" if row["kind"] == "multi" else "single"
        outcome = upload.preprocess_file(path.read_bytes(), path.name, mode=mode)
        assert outcome.error is None, (row["path"], outcome.error)
        if mode == "multi":
            multi = preprocess.segment(preprocess.load_image(path), reader=default_reader())
            expected = np.stack([d.model_input for d in multi.digits])
        else:
            expected = preprocess.preprocess(preprocess.load_image(path)).model_input[None]
        np.testing.assert_array_equal(outcome.steps.model_inputs, expected, err_msg=row["path"])


# =================================================================================================
# Bad input: a specific message each, never an exception
# =================================================================================================


def truncated_png() -> bytes:
    data = encode(digit_image("4"))
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = encode(digit_image("4"), ".jpg", quality=90)
    return data[: len(data) // 2]


BAD_INPUTS = {
    "empty.png": (lambda: b"", "empty (0 bytes)"),
    "notes.png": (lambda: b"Shopping list: eggs, milk\n", "not an image"),
    "report.jpg": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
    "corrupt.png": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "corrupt"),
    "half.png": (truncated_png, "truncated"),
    "half.jpg": (truncated_jpeg, "truncated"),
    "bomb.png": (lambda: png_header_only(30_000, 30_000), "too large"),
    "huge.png": (lambda: png_header_only(9_000, 5_000), "more than the"),
    "moving.gif": (animated_gif, "animated"),
    "white.png": (lambda: encode(np.full((300, 400, 3), 255, np.uint8)), "No ink found"),
    "blue.jpg": (lambda: encode(np.full((300, 400, 3), (40, 90, 200), np.uint8), ".jpg"), "No ink found"),
    "tiny.png": (lambda: encode(np.zeros((4, 4, 3), np.uint8)), "too small"),
}


@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_a_specific_message(name, mode):
    make, expected = BAD_INPUTS[name]
    outcome = upload.preprocess_file(make(), name, mode=mode)
    assert outcome.steps is None
    assert outcome.error and expected.lower() in outcome.error.lower(), outcome.error
    assert "Traceback" not in outcome.error and "unexpected" not in outcome.error


def test_bad_files_do_not_stop_the_good_ones():
    names = ["good.png", "empty.png", "white.png", "also-good.png"]
    data = [encode(digit_image("3")), b"", BAD_INPUTS["white.png"][0](), encode(digit_image("0"))]
    outcomes = [upload.preprocess_file(d, n) for d, n in zip(data, names)]
    predictor = StubPredictor()
    results = upload.predict_outcomes(outcomes, predictor)
    assert predictor.calls == 1  # one batch for every digit of every file
    assert [r.ok for r in results] == [True, False, False, True]
    assert [r.name for r in results] == names
    rows = upload.results_rows(results)
    assert "empty.png" in rows[1]["error"] and "is empty (0 bytes)" in rows[1]["error"]
    assert rows[0]["prediction"] in "0123456789" and rows[0]["confidence"] == pytest.approx(0.82, abs=1e-3)
    table = list(csv.DictReader(io.StringIO(upload.results_csv(results).decode("utf-8"))))
    assert list(table[0])[:8] == ["file", "prediction", "confidence", "digits", "mode", "threshold", "inverted",
                                  "error"]
    assert "p_9" in table[0] and len(table) == 4
    assert table[2]["file"] == "white.png" and table[2]["prediction"] == "" and table[2]["confidence"] == ""
    assert table[2]["error"].startswith("No ink found") and table[2]["p_0"] == ""
    assert float(table[3]["confidence"]) == pytest.approx(0.82, abs=1e-3)


def test_unexpected_library_errors_become_messages(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(preprocess, "preprocess", boom)
    outcome = upload.preprocess_file(encode(digit_image("3")), "x.png")
    assert outcome.steps is None and "could not be read" in outcome.error and "simulated bug" in outcome.error


def test_options_are_validated():
    with pytest.raises(ValueError, match="mode"):
        upload.preprocess_file(b"", "x.png", mode="several")
    with pytest.raises(ValueError, match="threshold"):
        upload.preprocess_file(b"", "x.png", threshold="median")


# =================================================================================================
# Drawing helpers
# =================================================================================================


def test_draw_boxes_numbers_and_keeps_input():
    photo = np.full((100, 200, 3), 250, np.uint8)
    before = photo.copy()
    ink = np.zeros((100, 200), bool)
    ink[30:60, 20:40] = True
    boxes = [preprocess.Box(20, 30, 20, 30), preprocess.Box(120, 30, 20, 30)]
    out = upload.draw_boxes(photo, boxes, numbered=True, ink=ink)
    np.testing.assert_array_equal(photo, before)
    assert out.shape == (100, 200, 3)
    assert np.abs(out[45, 30].astype(int) - upload.INK_COLOR).max() < 50  # kept ink painted blue
    assert (np.abs(out.astype(int) - upload.BOX_COLOR).sum(axis=2) < 30).sum() > 100  # orange boxes/tags


def test_the_numbers_of_touching_digits_boxes_do_not_cover_each_other():
    photo = np.full((120, 200, 3), 200, np.uint8)
    boxes = [preprocess.Box(40, 40, 8, 40), preprocess.Box(50, 40, 30, 40)]  # a 1 cut from the digit it touched
    out = upload.draw_boxes(photo, boxes, numbered=True)
    text = (out >= 230).all(axis=2)  # the numbers are written in white
    assert text[:40].any() and text[80:].any()  # the first above its box, the second under its own


def test_montage_and_thumbnail_uri():
    inputs = np.zeros((3, 28, 28), np.float32)
    inputs[:, 10:18, 12:16] = 1.0
    image = upload.montage(inputs, [(0, 1), (2,)], scale=2, gap=4)
    assert image.shape == (2 * 56 + 3 * 4, 2 * 56 + 3 * 4) and image.dtype == np.uint8
    uri = upload.model_input_data_uri(inputs[0])
    assert uri.startswith("data:image/png;base64,")


def test_examples_are_deterministic_pngs():
    for name in upload.EXAMPLES:
        data = upload.example_image(name)
        assert data.startswith(b"\x89PNG") and data == upload.example_image(name)
    with pytest.raises(ValueError, match="unknown example"):
        upload.example_image("nope.png")


# =================================================================================================
# The page under AppTest (the real app and the shipped default model)
# =================================================================================================


@pytest.fixture
def upload_page():
    """The app switched to the Upload page, run once with nothing uploaded."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.run()
    at.switch_page("pages/upload.py").run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    return markdown.replace("\\", "")


def test_page_renders_without_upload(upload_page):
    at = upload_page
    assert at.title[0].value == "Upload a photo"
    assert at.file_uploader(key=state.UPLOAD_FILES).accept_multiple_files
    allowed = set(at.file_uploader(key=state.UPLOAD_FILES).allowed_type)
    assert allowed >= {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tiff", ".gif"}
    assert any("Example" in b.label for b in at.button)
    assert not at.error and not at.metric


def test_page_reads_one_digit_and_shows_every_step(upload_page):
    at = upload_page
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("three.png", encode(digit_image("3")), "image/png"))
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Prediction"]
    assert at.metric[0].value in "0123456789"
    assert len(at.dataframe) == 0  # one file: no table
    steps = [plain(m.value) for m in at.markdown if m.value.startswith("**") and "·" in m.value]
    assert steps[:4] == ["**1 · Original**", "**2 · Grayscale**", "**3 · Binarised**", "**4 · Auto-inverted**"]
    assert steps[-2:] == [f"**{len(steps) - 1} · Ink located**", f"**{len(steps)} · Model input**"]
    # Exactly the stages the preprocessing ran, each with its reason, nothing described that did not run.
    trace = preprocess.preprocess(digit_image("3")).trace
    assert steps == [f"**{number} · {stage.title}**" for number, stage in enumerate(trace, 1)]
    captions = [c.value for c in at.caption]
    assert any("Mean threshold" in c for c in captions)
    assert any(trace[3].reason == c for c in captions)  # why it inverted
    assert not any("Between steps" in c for c in captions)


def cross_picture() -> np.ndarray:
    """A pen cross on white paper: (240, 240, 3) uint8 RGB, not a digit."""
    image = np.full((240, 240, 3), 245, np.uint8)
    cv2.line(image, (50, 50), (190, 190), (25, 25, 25), 14)
    cv2.line(image, (50, 190), (190, 50), (25, 25, 25), 14)
    return image


def test_page_says_a_cross_may_not_be_a_digit_and_a_digit_is_not_doubted(upload_page):
    at = upload_page
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("cross.png", encode(cross_picture()), "image/png"))
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Prediction"]  # still read, and the bars shown
    assert any("This may not be a digit" in w.value for w in at.warning), [w.value for w in at.warning]
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("three.png", encode(digit_image("3")), "image/png"))
    at.run()
    assert not any("may not be a digit" in w.value for w in at.warning)


def test_csv_names_the_pictures_that_may_not_be_digits():
    from hdr_core.inference import default_model_path
    from hdr_core.lite import LitePredictor

    lite = LitePredictor.from_file(default_model_path().with_suffix(".tflite"))
    results = upload.predict_outcomes([upload.preprocess_file(encode(cross_picture()), "cross.png"),
                                          upload.preprocess_file(encode(digit_image("3")), "three.png")], lite)
    rows = upload.results_rows(results)
    assert [r["may_not_be_digits"] for r in rows] == ["#1", ""]
    assert results[0].flagged == (0,) and results[1].flagged == ()


def test_page_says_when_it_read_only_the_sheet_on_the_desk(upload_page):
    at = upload_page
    photo = encode(sheet_on_desk_photo("4"), ".jpg", quality=90)
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("desk.jpg", photo, "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert at.metric[0].value == "4"
    assert any("the sheet (outlined) is read alone, without the desk around it" in c.value
               for c in at.caption)
    assert any("520×520 px" in c.value for c in at.caption)  # step 1 gives the whole photo's size


def test_page_many_files_table_errors_and_csv(upload_page):
    at = upload_page
    files = [("three.png", encode(digit_image("3")), "image/png"),
             ("empty.png", b"", "image/png"),
             ("notes.png", b"not a picture at all\n", "image/png"),
             ("white.png", encode(np.full((200, 200, 3), 255, np.uint8)), "image/png"),
             ("moving.gif", animated_gif(), "image/gif"),
             ("nine.jpg", encode(digit_image("9"), ".jpg"), "image/jpeg")]
    at.file_uploader(key=state.UPLOAD_FILES).set_value(files)
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert list(table["File"]) == [name for name, _, _ in files]
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 4
    assert "**empty.png** is empty (0 bytes)" in errors[0]
    assert "**notes.png** is not an image" in errors[1]
    assert "No ink found" in errors[2]
    assert "animated" in errors[3]
    assert at.get("download_button")  # the CSV
    assert [m.label for m in at.metric] == ["Prediction"]  # the first readable file's details
    at.selectbox(key="upload_selected").set_value(5).run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "nine.jpg"


def test_page_whole_number_mode(upload_page):
    at = upload_page
    at.button_group(key="upload_mode").set_value("multi")
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("2026.png", encode(number_image("2026")), "image/png"))
    at.run()
    assert not at.exception, at.exception
    [number] = [m for m in at.metric if m.label == "Number read"]
    assert len(number.value) == 4 and number.value.isdigit()
    assert any("4 digits found" in c.value for c in at.caption)


def test_page_threshold_comparison_and_example(upload_page):
    at = upload_page
    next(b for b in at.button if "a 7" in b.label).click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "shadow-7.png"
    at.button_group(key="upload_threshold").set_value("adaptive").run()
    at.toggle(key="upload_compare").set_value(True).run()
    assert not at.exception, at.exception
    headings = [plain(m.value) for m in at.markdown]
    assert "**Mean**" in headings and "**Otsu**" in headings and "**Adaptive (chosen)**" in headings


def test_open_in_look_inside_sets_the_current_input(upload_page):
    at = upload_page
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("three.png", encode(digit_image("3")), "image/png"))
    at.run()
    at.button(key="upload_open_visualize").click().run()
    current = at.session_state["current_input"]
    assert current.source == "upload" and current.title == "three.png"
    assert current.model_input.shape == (28, 28) and current.original.ndim == 3


def test_whole_number_in_one_digit_mode_is_flagged_only_then():
    number = upload.preprocess_file(encode(number_image("4096")), "4096.png")
    assert check_steps(number).digits_left_out == 4
    assert upload.preprocess_file(encode(digit_image("3")), "three.png").steps.digits_left_out == 0
    as_number = upload.preprocess_file(encode(number_image("4096")), "4096.png", mode="multi")
    assert check_steps(as_number, digits=4).digits_left_out == 0


def test_page_offers_whole_number_mode_for_a_number_read_as_one_digit(upload_page):
    at = upload_page
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("4096.png", encode(number_image("4096")), "image/png"))
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Prediction"]
    assert any("seems to hold **4 digits**" in i.value for i in at.info)
    at.button(key="upload_read_whole_number").click().run()
    assert not at.exception, at.exception
    assert at.button_group(key="upload_mode").value == "multi"
    [number] = [m for m in at.metric if m.label == "Number read"]
    assert len(number.value) == 4
    assert not any("seems to hold" in i.value for i in at.info)


def test_one_digit_gets_no_whole_number_hint(upload_page):
    at = upload_page
    at.file_uploader(key=state.UPLOAD_FILES).set_value(("three.png", encode(digit_image("3")), "image/png"))
    at.run()
    assert not any("seems to hold" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "upload_read_whole_number"]


def test_number_example_switches_to_whole_number_mode(upload_page):
    at = upload_page
    next(b for b in at.button if "2026" in b.label).click().run()
    assert not at.exception, at.exception
    assert not at.warning  # no "default value and Session State" clash
    assert at.button_group(key="upload_mode").value == "multi"
    [number] = [m for m in at.metric if m.label == "Number read"]
    assert len(number.value) == 4
    assert any("built-in example" in c.value for c in at.caption)

