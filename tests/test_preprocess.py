"""Tests for hdr_core.preprocess: every step on generated images, plus a few real files.

Images are drawn here with OpenCV's Hershey fonts (nothing is committed). The ground truth of each
drawing is the box of the pixels the digit was drawn on, rendered separately on a blank mask.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from hdr_core import preprocess as pp
from hdr_core.errors import BlankImageError, ImageError
from hdr_core.preprocess import Box

from .geometry import ink_shear

FONT = cv2.FONT_HERSHEY_SIMPLEX


# --------------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------------


def digit_mask(
    text: str = "3",
    *,
    size: tuple[int, int] = (160, 140),
    scale: float = 4.0,
    thickness: int = 10,
    origin: tuple[int, int] | None = None,
    font: int = FONT,
) -> np.ndarray:
    """(H, W) bool: where ``text`` is drawn; centred unless ``origin`` (bottom-left, x, y) is given."""
    height, width = size
    (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
    if origin is None:
        origin = ((width - text_w) // 2, (height + text_h) // 2)
    mask = np.zeros((height, width), np.uint8)
    cv2.putText(mask, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return mask > 127


def render(mask: np.ndarray, ink=0, paper=255) -> np.ndarray:
    """Paint a mask: (H, W) uint8 for scalar colours, (H, W, 3) for RGB tuples."""
    ink_arr, paper_arr = np.asarray(ink, np.uint8), np.asarray(paper, np.uint8)
    if ink_arr.ndim == 0 and paper_arr.ndim == 0:
        return np.where(mask, ink_arr, paper_arr).astype(np.uint8)
    out = np.empty(mask.shape + (3,), np.uint8)
    out[:] = paper_arr
    out[mask] = ink_arr
    return out


def box_of(mask: np.ndarray) -> Box:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


def iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a.w * a.h + b.w * b.h - inter)


def encode(array: np.ndarray | Image.Image, fmt: str, **options) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    ys, xs = np.indices(image.shape)
    return float((xs * image).sum() / total), float((ys * image).sum() / total)


def ink_box_side(model_input: np.ndarray) -> int:
    box = box_of(model_input > 0)
    return max(box.w, box.h)


def assert_model_input(x: np.ndarray) -> None:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x.max() > 0.9  # stroke cores are fully bright, like MNIST
    cx, cy = centre_of_mass(x)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5
    assert ink_box_side(x) == 20


@pytest.fixture(scope="module")
def three() -> tuple[np.ndarray, Box]:
    mask = digit_mask("3")
    return mask, box_of(mask)


# --------------------------------------------------------------------------------------------------
# Box and the module itself
# --------------------------------------------------------------------------------------------------


def test_box_as_list_and_union():
    a, b = Box(1, 2, 3, 4), Box(10, 0, 2, 2)
    assert a.as_list() == [1, 2, 3, 4]
    assert all(type(v) is int for v in Box(np.int64(1), 2, 3, 4).as_list())
    assert a.union(b) == Box(1, 0, 11, 6)


def test_import_is_tensorflow_free():
    code = "import sys, hdr_core.preprocess; assert 'tensorflow' not in sys.modules and 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(pp.__file__).resolve().parents[1])


def test_threshold_methods_constant():
    assert pp.THRESHOLD_METHODS == ("mean", "otsu", "adaptive")


# --------------------------------------------------------------------------------------------------
# load_image: formats and modes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_load_formats(fmt, three):
    mask, truth = three
    data = encode(render(mask), fmt)
    image = pp.load_image(data)
    assert image.shape == mask.shape + (3,) and image.dtype == np.uint8
    assert iou(pp.preprocess(image).box, truth) > 0.85


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "CMYK"])
def test_load_opaque_modes(mode, three):
    mask, truth = three
    image = Image.fromarray(render(mask, (20, 20, 20), (235, 235, 235))).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "1" else "PNG")
    loaded = pp.load_image(encode(image, fmt))
    assert loaded.shape == mask.shape + (3,)
    gray = loaded.mean(axis=2)
    assert gray[mask].mean() < 80 and gray[~mask].mean() > 180  # ink dark, paper light, CMYK not inverted
    assert iou(pp.preprocess(loaded).box, truth) > 0.85


@pytest.mark.parametrize(
    ("stroke", "background"),
    [((0, 0, 0), 255), ((255, 255, 255), 0), ((200, 30, 30), 255), ((255, 240, 120), 0)],
)
def test_load_strokes_on_transparency_get_contrasting_background(stroke, background, three):
    mask, truth = three
    rgba = np.zeros(mask.shape + (4,), np.uint8)  # transparent black, as paint programs save it
    rgba[mask] = (*stroke, 255)
    loaded = pp.load_image(encode(rgba, "PNG"))
    assert np.all(loaded[~mask] == background)
    assert np.array_equal(loaded[mask][0], np.array(stroke, np.uint8))
    assert iou(pp.preprocess(loaded).box, truth) > 0.85


@pytest.mark.parametrize(("mode", "fmt"), [("LA", "PNG"), ("P", "PNG"), ("P", "GIF"), ("RGBA", "WEBP")])
def test_load_modes_with_transparency(mode, fmt, three):
    mask, truth = three
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (0, 0, 0, 255)
    image = Image.fromarray(rgba)
    if mode == "P":
        image = Image.fromarray(render(mask, 0, 128)).convert("P")  # grey paper, made transparent
        data = encode(image, fmt, transparency=image.getpixel((0, 0)))
    elif mode == "RGBA":
        data = encode(image, fmt, lossless=True)
    else:
        data = encode(image.convert(mode), fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    loaded = pp.load_image(data)
    assert loaded[~mask].min() > 200  # black strokes on transparency -> black on white
    assert iou(pp.preprocess(loaded).box, truth) > 0.85


def test_transparent_margin_takes_the_paper_colour():
    """A mostly opaque photo with transparent corners: the corners must not look like ink."""
    mask = digit_mask("7")
    rgba = np.dstack([render(mask, 30, 230)] * 3 + [np.full(mask.shape, 255, np.uint8)])
    rgba[:20, :20, 3] = 0
    loaded = pp.load_image(encode(rgba, "PNG"))
    assert loaded[:20, :20].min() > 200


@pytest.mark.parametrize(
    ("dtype", "peak", "fmt"),
    [(np.uint16, 65535, "PNG"), (np.uint16, 4095, "PNG"), (np.int32, 65535, "TIFF"), (np.float32, 1.0, "TIFF")],
)
def test_load_high_bit_depth_is_scaled(dtype, peak, fmt, three):
    mask, truth = three
    values = np.where(mask, 0, peak).astype(dtype)  # dark ink on paper at full scale
    loaded = pp.load_image(encode(values, fmt))
    assert loaded[~mask].min() == 255 and loaded[mask].max() == 0
    assert iou(pp.preprocess(loaded).box, truth) > 0.85


def test_load_float_outside_unit_range_is_stretched():
    values = np.full((40, 40), 1000.0, np.float32)
    values[10:30, 18:22] = -5.0
    loaded = pp.load_image(encode(values, "TIFF"))
    assert loaded[0, 0, 0] == 255 and loaded[20, 20, 0] == 0


def test_load_applies_exif_orientation():
    stored = np.full((60, 100), 255, np.uint8)
    stored[5:15, 10:90] = 0  # a bar along the top of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(stored), "JPEG", exif=exif, quality=95)
    loaded = pp.load_image(data)
    assert loaded.shape == (100, 60, 3)
    expected = np.rot90(stored, k=-1)  # clockwise: the bar ends up along the right edge
    assert np.mean((loaded[:, :, 0] < 128) == (expected < 128)) > 0.98
    bar = box_of(loaded[:, :, 0] < 128)
    assert bar.h > 3 * bar.w and bar.x > 40
    assert pp.exif_orientation(data) == 6


def test_exif_orientation_is_1_without_a_usable_tag():
    plain = encode(Image.fromarray(np.full((20, 30), 255, np.uint8)), "PNG")
    assert pp.exif_orientation(plain) == 1
    assert pp.exif_orientation(b"%PDF-1.7 not an image") == 1
    exif = Image.Exif()
    exif[0x0112] = 42  # out of the standard's 1..8
    odd = encode(Image.fromarray(np.full((20, 30), 255, np.uint8)), "JPEG", exif=exif)
    assert pp.exif_orientation(odd) == 1


def test_load_from_path_and_file_object(tmp_path, three):
    mask, _ = three
    data = encode(render(mask), "PNG")
    path = tmp_path / "digit.png"
    path.write_bytes(data)
    from_path = pp.load_image(path)
    from_str = pp.load_image(str(path))
    stream = io.BytesIO(data)
    stream.seek(0)
    from_stream = pp.load_image(stream)
    assert stream.tell() == 0  # the caller's file object is left where it was
    assert np.array_equal(from_path, from_str) and np.array_equal(from_path, from_stream)


def test_load_does_not_mutate_input(three):
    mask, _ = three
    data = bytearray(encode(render(mask), "PNG"))
    before = bytes(data)
    pp.load_image(data)
    assert bytes(data) == before


# --------------------------------------------------------------------------------------------------
# load_image: bad input
# --------------------------------------------------------------------------------------------------


def _png(size=(40, 40)) -> bytes:
    return encode(np.full(size, 200, np.uint8), "PNG")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (the pixel data is never reached)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param(b"", "empty \\(0 bytes\\)", id="empty"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "looks like a PDF document", id="pdf"),
        pytest.param(b"hello, this is just some text\n", "looks like a text file", id="text"),
        pytest.param(b"<!DOCTYPE html><html><body>404</body></html>", "looks like an HTML web page", id="html"),
        pytest.param(_zip(), "looks like a ZIP archive", id="zip"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC", id="heic"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "SVG", id="svg"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "corrupt|not a recognised", id="corrupt-png"),
        pytest.param(bytes(range(256)) * 8, "not a recognised image", id="random-bytes"),
        pytest.param(_png()[:-30], "truncated|corrupt", id="truncated-png"),
        pytest.param(encode(np.full((300, 300, 3), 90, np.uint8), "JPEG")[:400], "truncated", id="truncated-jpeg"),
        pytest.param(_png((5, 40)), "too small", id="too-small"),
        pytest.param(_huge_png_header(50_000, 50_000), "large|more than", id="decompression-bomb"),
        pytest.param(_huge_png_header(8_000, 6_000), "more than the 40,000,000", id="over-max-pixels"),
    ],
)
def test_bad_input_raises_image_error(data, match):
    with pytest.raises(ImageError, match=match):
        pp.load_image(data)


def test_max_pixels_is_checked_before_decoding():
    with pytest.raises(ImageError, match="100x100 pixels \\(10,000\\), more than the 5,000 allowed"):
        pp.load_image(encode(np.zeros((100, 100), np.uint8), "PNG"), max_pixels=5_000)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_are_refused(fmt):
    frames = [Image.fromarray(np.full((40, 40, 3), value, np.uint8)) for value in (0, 120, 240)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="animated image with 3 frames: animated images are not supported"):
        pp.load_image(data)


def test_multipage_tiff_is_refused():
    pages = [Image.fromarray(np.full((40, 40), value, np.uint8)) for value in (0, 255)]
    with pytest.raises(ImageError, match="multi-page TIFF with 2 frames"):
        pp.load_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        pp.load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder"):
        pp.load_image(tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="'empty.png' is empty"):
        pp.load_image(empty)


def test_pdf_named_png_on_disk(tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"%PDF-1.4\n...")
    with pytest.raises(ImageError, match="'digit.png' is not an image: this looks like a PDF document"):
        pp.load_image(path)


def test_bad_arguments():
    with pytest.raises(TypeError, match="source must be"):
        pp.load_image(12345)
    with pytest.raises(ValueError, match="max_pixels must be positive, got 0"):
        pp.load_image(_png(), max_pixels=0)


# --------------------------------------------------------------------------------------------------
# to_grayscale and from_canvas
# --------------------------------------------------------------------------------------------------


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


def test_grayscale_keeps_colour_ink_on_colour_paper(three):
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
def test_coloured_ink_on_coloured_paper(ink, paper, three):
    mask, truth = three
    result = pp.preprocess(render(mask, ink, paper))
    assert iou(result.box, truth) > 0.85
    assert_model_input(result.model_input)


def _canvas(mask: np.ndarray, stroke, *, background=None) -> np.ndarray:
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    if background is not None:
        rgba[:] = (*background, 255)
    rgba[mask] = (*stroke, 255)
    return rgba


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


# --------------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------------


def test_mean_threshold_exact():
    gray = np.array([[0, 0], [100, 200]], np.uint8)
    assert pp.threshold_value(gray, "mean") == 75.0
    assert np.array_equal(pp.binarize(gray, "mean"), [[False, False], [True, True]])


def test_otsu_threshold_separates_two_levels():
    gray = np.array([[10] * 6 + [200] * 2] * 4, np.uint8)
    level = pp.threshold_value(gray, "otsu")
    assert 10 <= level < 200
    assert np.array_equal(pp.binarize(gray, "otsu"), gray > 100)


def test_adaptive_threshold_is_a_map(three):
    mask, _ = three
    gray = render(mask)
    level = pp.threshold_value(gray, "adaptive")
    assert isinstance(level, np.ndarray) and level.shape == gray.shape and level.dtype == np.float32
    assert pp.threshold_value(gray, "adaptive", block_size=11, offset=3).shape == gray.shape


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "median"}, "threshold method must be one of"),
        ({"method": "adaptive", "block_size": 10}, "block_size must be odd and >= 3, got 10"),
        ({"method": "adaptive", "offset": -1}, "offset must be >= 0, got -1"),
    ],
)
def test_threshold_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pp.threshold_value(np.zeros((20, 20), np.uint8), **kwargs)


def _uneven_lighting(mask: np.ndarray) -> np.ndarray:
    """Paper lit from the left: 250 fading to 80, ink 70 levels darker than the paper under it."""
    height, width = mask.shape
    paper = np.tile(np.linspace(250, 80, width), (height, 1))
    return np.clip(np.where(mask, paper - 70, paper), 0, 255).astype(np.uint8)


def test_adaptive_handles_uneven_lighting_where_mean_fails():
    mask = digit_mask("4", size=(200, 300), scale=4, thickness=8, origin=(180, 140))  # on the dark side
    truth = box_of(mask)
    gray = _uneven_lighting(mask)

    ink_by_mean = ~pp.binarize(gray, "mean")
    assert ink_by_mean.mean() > 0.3  # the whole shaded side counts as "ink"
    assert iou(box_of(ink_by_mean), truth) < 0.3

    ink_by_adaptive = ~pp.binarize(gray, "adaptive")
    overlap = (ink_by_adaptive & mask).sum() / (ink_by_adaptive | mask).sum()
    assert overlap > 0.6
    result = pp.preprocess(gray, threshold="adaptive")
    assert iou(result.box, truth) > 0.85
    assert_model_input(result.model_input)


# --------------------------------------------------------------------------------------------------
# auto_invert
# --------------------------------------------------------------------------------------------------


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
    assert abs(pp._skewness(gray)) < pp.SKEW_DECIDES  # the border has to decide
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


# --------------------------------------------------------------------------------------------------
# locate_ink on hand-made masks
# --------------------------------------------------------------------------------------------------


def _blank(shape=(100, 100)) -> np.ndarray:
    return np.zeros(shape, bool)


def _ring(ink: np.ndarray, box: Box, thickness: int = 4) -> np.ndarray:
    ink[box.slices] = True
    inner = Box(box.x + thickness, box.y + thickness, box.w - 2 * thickness, box.h - 2 * thickness)
    ink[inner.slices] = False
    return ink


def test_locate_ink_single_shape():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_empty_is_none():
    assert pp.locate_ink(_blank()) is None


def test_locate_ink_drops_specks():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[5, 5] = ink[90, 90] = ink[95, 10] = True
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_drops_grid_lines():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[5:7, :] = True  # rule line across the page
    ink[:, 92:94] = True  # the cell's edge
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_keeps_a_thin_pen_zero_that_fills_the_crop():
    """A grid cell cut tight round a thin-pen 0 written with a second, inner stroke: the oval runs
    from the top to the bottom edge and is as thin for its length as a grid line, but it is curved,
    so it is the digit, not a line to drop in favour of the inner stroke."""
    ink = _blank((127, 168)).view(np.uint8)
    cv2.ellipse(ink, (92, 63), (52, 62), 0, 0, 360, 1, 2)
    cv2.ellipse(ink, (96, 70), (28, 50), -10, 150, 330, 1, 6)  # the inner stroke, down the left side
    box = pp.locate_ink(ink.view(bool))
    assert box.h == 127 and box.w >= 104  # the whole oval, not the inner stroke's 60 px


def test_locate_ink_keeps_a_lone_one_that_looks_like_a_line():
    ink = _blank((100, 30))
    ink[:, 12:17] = True  # a tight crop of a "1", edge to edge
    assert pp.locate_ink(ink) == Box(12, 0, 5, 100)


def test_locate_ink_prefers_the_digit_over_border_fragments():
    ink = _ring(_blank(), Box(30, 20, 30, 50))
    ink[30:70, 88:100] = True  # a neighbouring digit cut by the right border
    ink[0:10, 0:40] = True  # and one cut by the top-left corner
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


def test_locate_ink_adds_detached_pieces():
    """A 5 whose top bar was written separately belongs together."""
    ink = _ring(_blank(), Box(30, 40, 30, 40))
    ink[28:32, 30:62] = True  # the bar, 8 px above
    assert pp.locate_ink(ink) == Box(30, 28, 32, 52)


def test_locate_ink_drops_a_desk_frame_around_the_paper():
    ink = _ring(_blank((200, 200)), Box(0, 0, 200, 200), thickness=25)  # the desk all around
    ink = _ring(ink, Box(80, 70, 30, 50), thickness=3)
    assert pp.locate_ink(ink) == Box(80, 70, 30, 50)


def _desk_along_left_and_bottom(ink: np.ndarray, depth: int) -> np.ndarray:
    """The page did not fill the frame: the desk shows along the left side and the bottom."""
    ink[:, :depth] = True
    ink[-depth:, :] = True
    return ink


def test_locate_ink_drops_a_desk_strip_beside_a_digit_near_the_page_edge():
    # A strip a tenth of the picture deep, as thick as a marker's strokes, 4 px from the digit.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(24, 70, 40, 60), thickness=12)
    assert pp.locate_ink(ink) == Box(24, 70, 40, 60)


def test_locate_ink_drops_a_desk_strip_beside_a_digit_cut_by_the_top_edge():
    # No digit away from the border here, but the strip is far thicker than the strokes.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(60, 0, 40, 60), thickness=4)
    assert pp.locate_ink(ink) == Box(60, 0, 40, 60)


def test_locate_ink_cuts_a_thin_desk_corner_off_a_digit_written_into_it():
    # The desk shows along the left side and the bottom, less deep than twice the strokes are thick
    # (a marker on a small picture), and the digit's tail runs into the bottom strip.
    ink = _ring(_blank((200, 200)), Box(60, 50, 70, 100), thickness=8)
    ink[:, :12] = True
    ink[-10:, :] = True
    cv2.line(ink.view(np.uint8), (95, 150), (95, 199), 1, 8)
    box = pp.locate_ink(ink)
    assert box.x >= 12 and box.y + box.h <= 190  # nothing of the strips
    assert box.x <= 60 and box.y <= 50 and box.x + box.w >= 130 and box.y + box.h >= 150  # the whole digit


def test_locate_ink_drops_the_thin_strip_left_behind_by_a_thick_one():
    # A grid cell cut tight at the top of a 4 (so no digit lies away from the border): the desk along
    # the left is cut off as thicker than the strokes, and the shallower strip along the bottom, which
    # meets it in the corner, is the same desk, not a bar under the digit.
    ink = _blank((136, 182))
    ink[:, :14] = True
    ink[-10:, :] = True
    canvas = ink.view(np.uint8)
    cv2.line(canvas, (110, 0), (112, 118), 1, 6)  # the 4's stem, from the top edge
    cv2.line(canvas, (80, 0), (70, 70), 1, 6)
    cv2.line(canvas, (70, 70), (130, 70), 1, 6)
    box = pp.locate_ink(ink)
    assert box.y + box.h <= 124 and box.x >= 60


@pytest.mark.parametrize("tail", [((60, 100), (5, 115)), ((95, 140), (95, 198)), ((60, 140), (5, 198))],
                         ids=["into-the-left-strip", "into-the-bottom-strip", "into-the-corner"])
def test_locate_ink_cuts_a_desk_strip_off_a_digit_written_up_to_the_page_edge(tail):
    # A stroke of the digit runs into the desk strip (20 px deep; strokes 6 px), so they are one
    # component. Without the cut the model sees an "L" beside the digit.
    ink = _ring(_desk_along_left_and_bottom(_blank((200, 200)), 20), Box(60, 60, 70, 80), thickness=6)
    cv2.line(ink.view(np.uint8), *tail, 1, 6)
    box = pp.locate_ink(ink)
    assert box.x >= 20 and box.y + box.h <= 180  # nothing of the strips
    assert box.x <= 60 and box.y <= 60 and box.x + box.w >= 130 and box.y + box.h >= 140  # the whole digit


def test_locate_ink_keeps_a_tight_crops_own_stroke_along_a_side():
    # A 7 cropped at its top bar, the bar written apart from the stem: the bar lies along the top
    # side, but it is as thin as the stem, so it is the digit's, not a desk.
    ink = _blank((200, 160))
    ink[0:10, 0:160] = True
    cv2.line(ink.view(np.uint8), (150, 16), (70, 199), 1, 10)
    assert pp.locate_ink(ink) == Box(0, 0, 160, 200)


def test_photo_of_a_page_on_a_desk_reads_only_the_digit():
    # A photo whose page does not fill the frame: dark desk along the left and the bottom.
    rng = np.random.default_rng(0)
    mask = digit_mask("4", size=(220, 200), scale=5.0, thickness=14)
    photo = render(mask, ink=40, paper=215).astype(np.int16)
    photo = np.pad(photo, ((0, 20), (20, 0)), constant_values=50)  # the desk
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(photo)
    assert result.inverted
    assert iou(result.box, Box(box_of(mask).x + 20, box_of(mask).y, box_of(mask).w, box_of(mask).h)) > 0.9


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_locate_ink_accepts_uint8_masks(dtype):
    ink = _ring(_blank(), Box(30, 20, 30, 50)).astype(dtype)
    assert pp.locate_ink(ink) == Box(30, 20, 30, 50)


# --------------------------------------------------------------------------------------------------
# normalize: exact expectations on tiny arrays
# --------------------------------------------------------------------------------------------------


def _normalize_mask(mask: np.ndarray) -> np.ndarray:
    gray = (mask * 255).astype(np.uint8)
    return pp.normalize(gray, mask, box_of(mask))


def test_normalize_filled_square_becomes_a_20x20_block():
    mask = _blank((40, 40))
    mask[10:30, 10:30] = True
    out = _normalize_mask(mask)
    assert out.dtype == np.float32 and out.shape == (28, 28)
    block = box_of(out > 0)
    assert (block.w, block.h) == (20, 20)
    assert np.allclose(out[block.slices], 1.0)
    assert out.sum() == pytest.approx(400.0)
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5


@pytest.mark.parametrize("shape", [(2, 40), (40, 2), (3, 300), (4, 60)])
def test_normalize_bars_fit_20_keeping_aspect(shape):
    mask = np.ones(shape, bool)
    out = pp.normalize((mask * 255).astype(np.uint8), mask, Box(0, 0, shape[1], shape[0]))
    box = box_of(out > 0)
    long_side, short_side = (box.w, box.h) if shape[1] > shape[0] else (box.h, box.w)
    assert long_side == 20
    expected_short = 20 * min(shape) / max(shape)
    assert short_side >= expected_short  # thin bars are thickened towards MNIST's ~2.2 px strokes
    assert short_side <= max(expected_short, 2.2) + 2
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5


@pytest.mark.parametrize("size", [12, 28, 60, 200, 900])
@pytest.mark.parametrize("thickness", [1, 4, 12])
def test_normalize_any_size_and_stroke_like_mnist(size, thickness):
    mask = digit_mask("2", size=(size, size), scale=size / 40, thickness=max(1, round(thickness * size / 200)))
    out = _normalize_mask(mask)
    assert_model_input(out)
    strokes = out > 0.5
    contours, _ = cv2.findContours(strokes.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    width = 2 * strokes.sum() / sum(cv2.arcLength(c, True) for c in contours)
    assert 1.5 <= width <= 3.5  # MNIST: 2.2 median, 1.7-3.2 for 80% of digits


def test_normalize_centre_of_mass_of_an_off_centre_shape():
    """A 7-like shape: its centre of mass is high and right of its box centre, so the box moves."""
    mask = _blank((50, 50))
    mask[5:10, 5:45] = True  # the bar
    mask[5:45, 38:45] = True  # the stem on the right
    out = _normalize_mask(mask)
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5
    box = box_of(out > 0)
    assert box.x + box.w / 2 < 13.5 and box.y + box.h / 2 > 14.5  # shifted left and down


def test_normalize_never_cuts_a_lopsided_shape():
    """An L's centre of mass is so far off that centring it would push ink off the frame."""
    mask = _blank((50, 50))
    mask[5:45, 5:9] = True
    mask[41:45, 5:45] = True
    out = _normalize_mask(mask)
    box = box_of(out > 0)
    assert max(box.w, box.h) == 20 and box.y >= 0 and box.y + box.h <= 28
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 1.5 and abs(cy - 14) <= 1.5


@pytest.mark.parametrize("lean", [0.6, -0.6, 0.3])
def test_normalize_halves_the_slant(lean):
    """A stroke leaning over (a "1" written in italics) comes out leaning half as much, either way."""
    mask = _blank((200, 200))
    for y in range(20, 180):  # a stroke 12 px wide, x = centre + lean * (y - 100)
        x = int(round(100 + lean * (y - 100)))
        mask[y, x - 6 : x + 6] = True
    assert ink_shear(mask) == pytest.approx(lean, rel=0.05)
    out = _normalize_mask(mask)
    assert_model_input(out)
    assert ink_shear(out) == pytest.approx(lean * pp.STRAIGHTEN_SHARE, rel=0.15)
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5


def test_normalize_leaves_an_upright_digit_upright(monkeypatch):
    """A symmetric upright shape has no slant to remove: it comes out exactly as without the step."""
    mask = _blank((60, 60))
    mask[10:50, 10:50] = True
    mask[20:40, 20:40] = False  # an "0"-like ring
    out = _normalize_mask(mask)
    assert abs(ink_shear(out)) < 1e-3
    monkeypatch.setattr(pp, "STRAIGHTEN_SHARE", 0.0)
    assert np.array_equal(out, _normalize_mask(mask))


def test_normalize_uses_only_the_box():
    mask = _blank((60, 60))
    mask[10:30, 10:30] = True
    mask[50:55, 50:55] = True  # outside the box: ignored
    out = pp.normalize((mask * 255).astype(np.uint8), mask, Box(10, 10, 20, 20))
    assert out.sum() == pytest.approx(400.0)


def test_normalize_errors():
    mask = _blank((20, 20))
    gray = np.zeros((20, 20), np.uint8)
    with pytest.raises(BlankImageError, match="No ink found"):
        pp.normalize(gray, mask, Box(0, 0, 20, 20))
    with pytest.raises(ValueError, match="ink_mask shape \\(10, 10\\) differs"):
        pp.normalize(gray, _blank((10, 10)), Box(0, 0, 5, 5))
    with pytest.raises(ValueError, match="box must be a non-empty Box"):
        pp.normalize(gray, mask, Box(0, 0, 0, 5))


def test_normalize_does_not_mutate_inputs():
    mask = digit_mask("9", size=(80, 80), scale=2, thickness=3)
    gray = (mask * 255).astype(np.uint8)
    mask_before, gray_before = mask.copy(), gray.copy()
    pp.normalize(gray, mask, box_of(mask))
    assert np.array_equal(mask, mask_before) and np.array_equal(gray, gray_before)


# --------------------------------------------------------------------------------------------------
# preprocess: generated photos, scans and paintings
# --------------------------------------------------------------------------------------------------


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


def test_preprocess_ignores_grid_lines():
    mask = digit_mask("6", size=(200, 200), scale=3.5, thickness=6)
    truth = box_of(mask)
    gray = render(mask, 40, 235)
    for position in (8, 190):  # a grid cell's edges, crossing the whole picture
        gray[position : position + 2, :] = 90
        gray[:, position : position + 2] = 90
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.85
    assert not result.ink[:, 190:192].any()


def test_preprocess_lined_paper_lines_crossing_the_digit():
    """Ruled lines (slightly tilted, as in a photo) run through the digit and touch it."""
    mask = digit_mask("5", size=(300, 240), scale=5, thickness=6)
    truth = box_of(mask)
    gray = render(mask, 30, 240)
    for y in range(20, 300, 28):
        cv2.line(gray, (0, y), (239, y - 8), 150, 2)  # lighter, thinner and tilted
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.85
    assert_model_input(result.model_input)


@pytest.mark.parametrize("degrees", [0, -18, -8, 12])
@pytest.mark.parametrize("paper", ["ruled", "squared"])
def test_preprocess_ruled_paper_photographed_at_a_tilt(paper, degrees):
    """Ruled or squared paper photographed level or turned: the lines cross the picture (at a slant)
    and the digit. Levelled by their own tilt they are found and erased; squared paper's lines cross
    each other, which must not make the grid look as thick as the strokes."""
    mask = digit_mask("5", size=(300, 240), scale=5, thickness=5)
    truth = box_of(mask)
    gray = np.full(mask.shape, 240, np.uint8)
    slope = np.tan(np.radians(degrees))
    for y in range(-120, 420, 28):
        cv2.line(gray, (0, y), (239, round(y + 239 * slope)), 150, 1)
    if paper == "squared":
        for x in range(-120, 360, 28):
            cv2.line(gray, (x, 0), (round(x - 299 * slope), 299), 150, 1)
    gray[mask] = 30
    gray = np.clip(gray + np.random.default_rng(3).normal(0, 3, gray.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.9
    assert_model_input(result.model_input)


@pytest.mark.parametrize(("paper", "degrees", "pen", "line", "gap"), [
    ("ruled", 0, 6, 2, 56), ("ruled", 0, 12, 2, 40), ("ruled", 12, 6, 2, 28),
    ("squared", 0, 8, 2, 56), ("squared", 6, 12, 2, 40), ("squared", 12, 6, 2, 28),
    # A ballpoint or pencil little thicker than the print:
    ("ruled", 6, 4, 3, 56), ("squared", 0, 4, 2, 28), ("squared", 0, 4, 3, 56), ("squared", 12, 4, 3, 56),
])
def test_preprocess_keeps_strokes_whole_where_ruled_lines_outnumber_them(paper, degrees, pen, line, gap):
    """A pen on lined or squared paper, in a small photo: the printed lines are most of the ink.

    - The strokes' width, which sets the scale of the local background, must be the strokes' own: at
      the lines' width, the background swallowed a felt pen's strokes' middles and the places where
      they cross a line; the lines fell apart there and were kept, and the model saw a hollow digit
      behind bars.
    - Where a stroke crosses two lines' crossing, the knot is ink, not background.
    - The lines are erased when they are thinner than the strokes, or as thin as each other: the
      grid's crossings left over must not make the strokes look thinner, and a pen as fine as the
      print (nearly) must not make the printed lines look like strokes."""
    mask = digit_mask("5", size=(300, 240), scale=5, thickness=pen)
    turn = cv2.getRotationMatrix2D((120, 150), degrees, 1.0)
    mask = cv2.warpAffine(mask.astype(np.uint8), turn, (240, 300), flags=cv2.INTER_NEAREST) > 0
    gray = np.full(mask.shape, 240, np.uint8)
    slope = np.tan(np.radians(-degrees))
    for y in range(-120, 420, gap):
        cv2.line(gray, (0, y), (239, round(y + 239 * slope)), 150, line)
    if paper == "squared":
        for x in range(-120, 360, gap):
            cv2.line(gray, (x, 0), (round(x - 299 * slope), 299), 150, line)
    gray[mask] = 30
    gray = np.clip(gray + np.random.default_rng(3).normal(0, 6, gray.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(gray)
    assert iou(result.box, box_of(mask)) > 0.9
    assert np.count_nonzero(result.ink & mask) > 0.8 * np.count_nonzero(mask)  # solid, not hollow
    near = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.count_nonzero(result.ink & ~near) < 0.03 * np.count_nonzero(mask)  # no lines left (a stub or two)
    assert_model_input(result.model_input)


def _marked(gray: np.ndarray, truth: Box, mark: str, *, ink: int = 30, width: int = 4) -> np.ndarray:
    """``gray`` with a box, a circle or an underline drawn round the ink in ``truth``, as a student
    marks an answer (or a worksheet prints its answer box), clear of the ink."""
    marked = gray.copy()
    pad = min(truth.w, truth.h) // 4
    left, top, right, bottom = truth.x - pad, truth.y - pad, truth.x + truth.w + pad, truth.y + truth.h + pad
    if mark == "box":
        cv2.rectangle(marked, (left, top), (right, bottom), ink, width)
    elif mark == "big box":  # an answer box far bigger than the small digit written in it
        big = 3 * max(truth.w, truth.h) // 2
        cx, cy = truth.x + truth.w // 2, truth.y + truth.h // 2
        cv2.rectangle(marked, (cx - big, cy - big), (cx + big, cy + big), ink, width)
    elif mark == "circle":  # a roomy one round a digit (a tight one round a 0's inner stroke is a 0 written twice)
        centre, room = (truth.x + truth.w // 2, truth.y + truth.h // 2), 0.4 * min(truth.w, truth.h) + 0.4 * truth.h
        cv2.ellipse(marked, centre, (round(truth.w / 2 + room), round(truth.h / 2 + room)), 0, 0, 360, ink, width)
    else:  # an underline, slightly slanted, a little wider than the ink, a fifth of its height below it
        below, wider = truth.y + truth.h + truth.h // 5, max(pad, truth.h // 5)
        cv2.line(marked, (truth.x - wider, below), (truth.x + truth.w + wider, below - wider // 4), ink, width)
    return marked


@pytest.mark.parametrize("mark", ["box", "big box", "circle", "underline"])
@pytest.mark.parametrize("text", ["3", "1", "7"])
def test_preprocess_leaves_out_a_box_circle_or_underline_round_the_digit(mark, text):
    """Worksheets print answer boxes, and students circle or underline their answer: the mark is ink
    clear of the digit, bigger than it, and was kept as the digit (a 3 in a box read 0). A box or a
    circle encloses the digit in its hole; an underline runs straight below it, clear of it."""
    mask = digit_mask(text, size=(400, 400), scale=5 if mark != "big box" else 3, thickness=8)
    truth = box_of(mask)
    gray = _marked(render(mask, 30, 240), truth, mark)
    result = pp.preprocess(gray)
    assert iou(result.box, truth) > 0.9
    assert not (result.ink & ~cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)).any()
    assert_model_input(result.model_input)


@pytest.mark.parametrize("inside", ["dot", "specks"])
def test_preprocess_keeps_a_zero_with_a_dot_or_specks_inside(inside):
    """A dotted zero, or specks of dirt in a 0's loop: the 0 encloses them, but they are no digit, so
    the 0 is no box round one."""
    mask = np.zeros((300, 300), np.uint8)
    cv2.ellipse(mask, (150, 150), (60, 95), 0, 0, 360, 1, 10)
    truth = box_of(mask > 0)
    if inside == "dot":
        cv2.circle(mask, (150, 150), 9, 1, -1)
    else:
        for x, y in [(115, 90), (180, 200), (150, 150), (120, 210)]:
            cv2.circle(mask, (x, y), 3, 1, -1)
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.95


def test_preprocess_keeps_a_nine_with_a_short_stroke_in_its_loop():
    """A bit of a shadow's edge, or a slip of the pen, inside a 9's loop: long enough for a small
    digit in an answer box, but a circle is drawn round a digit of a good size, so the 9 stays."""
    mask = digit_mask("9", size=(300, 240), scale=6, thickness=8).astype(np.uint8)
    truth = box_of(mask > 0)
    loop = cv2.floodFill(1 - mask, None, (0, 0), 0)[1]  # the 9's hole: background the outside flood misses
    ys, xs = np.nonzero(loop)
    cy, cx = int(ys.mean()), int(xs.mean())
    cv2.line(mask, (cx - 6, cy + 10), (cx + 6, cy - 10), 1, 4)
    assert cv2.connectedComponents(mask)[0] == 3  # the 9 and the stroke, apart
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.95


@pytest.mark.parametrize("text", ["2", "1"])
def test_preprocess_keeps_a_detached_foot_written_close_under_the_digit(text):
    """A 2 whose base, or a 1 whose foot, was written as a stroke of its own just below the rest: it
    looks like an underline, but it is written close, so it is part of the digit."""
    mask = digit_mask(text, size=(300, 300), scale=5, thickness=7).astype(np.uint8)
    box = box_of(mask > 0)
    foot = box.y + box.h + 4
    half = box.w // 2 + 6 if text == "2" else box.h // 3
    cv2.line(mask, (box.x + box.w // 2 - half, foot), (box.x + box.w // 2 + half, foot), 1, 7)
    if text == "2":  # the 2's own base goes: the curve ends just above the separate one
        mask[box.y + box.h - 10: box.y + box.h, :] = 0
    truth = box_of(mask > 0)
    result = pp.preprocess(render(mask > 0, 30, 240))
    assert iou(result.box, truth) > 0.9


def test_preprocess_erases_squared_paper_around_strokes_two_work_pixels_wide():
    """A larger photo (640 px) of a 4 on squared paper turned 7 degrees, pen 6 px, lines 3 px. On the
    160 px copy the background is measured on, the strokes are 1.5 px wide: the widest disc that
    fits is one pixel, and a kernel of twice that left the strokes in the background. Around them
    the lines lost their contrast and broke, were not found, and stayed."""
    mask = digit_mask("4", size=(640, 520), scale=11, thickness=6)
    gray = np.full(mask.shape, 232, np.uint8)
    slope = np.tan(np.radians(7))
    for at in range(-640, 1280, 64):
        cv2.line(gray, (0, at), (519, round(at + 519 * slope)), 165, 3, cv2.LINE_AA)
        cv2.line(gray, (at, 0), (round(at - 639 * slope), 639), 165, 3, cv2.LINE_AA)
    gray[mask] = 40
    gray = np.clip(gray + np.random.default_rng(5).normal(0, 5, gray.shape), 0, 255).astype(np.uint8)
    result = pp.preprocess(gray)
    assert iou(result.box, box_of(mask)) > 0.9
    near = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.count_nonzero(result.ink & ~near) < 0.03 * np.count_nonzero(mask)
    assert_model_input(result.model_input)


@pytest.mark.parametrize("degrees", [-10, 10])
def test_tight_crop_keeps_a_crossed_seven_whose_bars_slant_across_the_picture(degrees):
    """Two long parallel strokes at a slant (a crossed 7's bars) agree on a tilt like ruled lines,
    but they end where the digit ends: they stay."""
    gray = np.full((100, 80), 235, np.uint8)
    rise = round(79 * np.tan(np.radians(degrees)))
    top = 8 + max(0, rise)
    cv2.line(gray, (0, top), (79, top - rise), 20, 6)  # the bar, edge to edge
    cv2.line(gray, (76, top - rise), (30, 99), 20, 6)  # the stem
    cv2.line(gray, (22, 60), (78, 60 - round(56 * np.tan(np.radians(degrees)))), 20, 6)  # the cross bar
    result = pp.preprocess(gray)
    assert result.box.w >= 78 and result.box.h >= 90


def test_tight_crop_keeps_a_seven_whose_bar_spans_the_picture():
    gray = np.full((100, 80), 235, np.uint8)
    cv2.line(gray, (0, 6), (79, 6), 20, 6)  # the bar, edge to edge
    cv2.line(gray, (76, 6), (30, 99), 20, 6)  # the stem
    result = pp.preprocess(gray)
    assert result.box.w >= 78 and result.box.y <= 4


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


def shadowed(mask: np.ndarray, *, ink: float = 40, paper: float = 225, light: float = 0.55) -> np.ndarray:
    """(H, W) uint8 photo of ``mask`` with a sharp-edged shadow from the upper left that narrows to
    a point towards the bottom (a phone's shadow; ``hard_shadow`` in benchmarks/photo_conditions.py)."""
    width = mask.shape[1]
    ys, xs = np.indices(mask.shape)
    gray = np.where(mask, ink, paper) + np.random.default_rng(2).normal(0, 3, mask.shape)
    gray = np.where(xs + 0.5 * ys < 0.55 * width, gray * light, gray)
    return np.clip(gray, 0, 255).astype(np.uint8)


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


def sheet_on_desk(mask: np.ndarray, *, margin: int = 150, desk: float = 55, turn: float = 6,
                  ink: float = 40, paper: float = 225):
    """A photo of a sheet (``mask`` drawn on it, with noise) lying slightly turned on a dark desk
    that shows all round it; also the sheet's own mask in the photo."""
    height, width = mask.shape
    rng = np.random.default_rng(6)
    sheet = np.where(mask, float(ink), float(paper)).astype(np.float32)
    frame = (height + 2 * margin, width + 2 * margin)
    photo = np.full(frame, desk, np.float32)
    photo[margin : margin + height, margin : margin + width] = sheet
    paper = np.zeros(frame, np.uint8)
    paper[margin : margin + height, margin : margin + width] = 1
    turn_matrix = cv2.getRotationMatrix2D((frame[1] / 2, frame[0] / 2), turn, 1.0)
    photo = cv2.warpAffine(photo, turn_matrix, frame[::-1], borderValue=desk)
    paper = cv2.warpAffine(paper, turn_matrix, frame[::-1], flags=cv2.INTER_NEAREST) > 0
    return np.clip(photo + rng.normal(0, 4, frame), 0, 255).astype(np.uint8), paper


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
def test_a_sheet_on_a_grey_desk_lit_from_one_side_is_still_a_sheet(text, falls):
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


def test_preprocess_accepts_paths_and_bytes(tmp_path, three):
    mask, truth = three
    path = tmp_path / "three.jpg"
    path.write_bytes(encode(render(mask), "JPEG"))
    assert iou(pp.preprocess(path).box, truth) > 0.85
    assert iou(pp.preprocess(path.read_bytes()).box, truth) > 0.85


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


def test_blank_file_is_reported():
    with pytest.raises(BlankImageError):
        pp.preprocess(pp.load_image(encode(np.full((50, 50, 3), 250, np.uint8), "JPEG")))


def test_preprocess_rejects_tiny_arrays_and_bad_methods():
    with pytest.raises(ImageError, match="too small"):
        pp.preprocess(np.zeros((4, 30), np.uint8))
    with pytest.raises(ValueError, match="threshold method must be one of"):
        pp.preprocess(np.zeros((30, 30), np.uint8), threshold="sauvola")


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


# --------------------------------------------------------------------------------------------------
# segment: whole numbers
# --------------------------------------------------------------------------------------------------


def _number(rows: list[str], *, scale=3.0, thickness=7, gap=28, line_gap=50, margin=30):
    """Draw rows of digits (each digit separately) on paper; returns gray and per-row true boxes."""
    (char_w, char_h), _ = cv2.getTextSize("0", FONT, scale, thickness)
    width = margin * 2 + max(len(r) for r in rows) * (char_w + gap)
    height = margin * 2 + len(rows) * (char_h + line_gap)
    gray = np.full((height, width), 235, np.uint8)
    truths = []
    for r, text in enumerate(rows):
        row_boxes = []
        for c, char in enumerate(text):
            origin = (margin + c * (char_w + gap), margin + char_h + r * (char_h + line_gap))
            mask = np.zeros(gray.shape, np.uint8)
            cv2.putText(mask, char, origin, FONT, scale, 255, thickness, cv2.LINE_AA)
            gray[mask > 127] = 25
            row_boxes.append(box_of(mask > 127))
        truths.append(row_boxes)
    return gray, truths


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


def _turned(gray: np.ndarray, degrees: float, *, paper: int = 235) -> tuple[np.ndarray, np.ndarray]:
    """``gray`` turned about its centre on a canvas with room for it; returns the picture and the
    (2, 3) matrix that maps the old pixel coordinates to the new."""
    height, width = gray.shape
    big = cv2.copyMakeBorder(gray, height // 2, height // 2, width // 4, width // 4, cv2.BORDER_CONSTANT,
                             value=paper)
    matrix = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
    turned = cv2.warpAffine(big, matrix, (big.shape[1], big.shape[0]), borderValue=paper)
    matrix[:, 2] += matrix[:, :2] @ (width // 4, height // 2)
    return np.clip(turned + np.random.default_rng(0).normal(0, 4, turned.shape), 0, 255).astype(np.uint8), matrix


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


def _turned_sheet(rows: list[str], degrees: float) -> np.ndarray:
    """A photo of a number on a sheet turned on a dark desk, the sheet larger than the frame: strips and
    corners of desk along the picture's edges, and the sheet's edge beside them."""
    gray, _ = _number(rows)
    height, width = gray.shape
    desk = np.full((height * 2, width * 2), 50, np.uint8)
    sheet_y, sheet_x = height // 2 - height // 6, width // 2 - width // 8  # the sheet reaches past the number
    desk[sheet_y:height * 2 - sheet_y, sheet_x:width * 2 - sheet_x] = 235
    desk[height // 2:height * 3 // 2, width // 2:width * 3 // 2] = gray
    matrix = cv2.getRotationMatrix2D((width - 0.5, height - 0.5), degrees, 1.0)
    turned = cv2.warpAffine(desk, matrix, (width * 2, height * 2), borderValue=50)
    top, left = height // 2 - height // 8, width // 2 - width // 12
    photo = turned[top:top + height + height // 4, left:left + width + width // 6]
    return np.clip(photo + np.random.default_rng(0).normal(0, 4, photo.shape), 0, 255).astype(np.uint8)


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


# --------------------------------------------------------------------------------------------------
# Real files (HDR_DATA_DIR)
# --------------------------------------------------------------------------------------------------


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


def _photographed(photo: np.ndarray, how: str) -> np.ndarray:
    """``photo`` (H, W, 3) taken again the way a phone often takes it (as ``benchmarks/photo_conditions.py``)."""
    height, width = photo.shape[:2]
    rng = np.random.default_rng(0)
    if how == "perspective":  # held at a slant: the far edge narrower, the paper's edge running out of the frame
        corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        seen = np.float32([[width * 0.08, 0], [width * 0.92, height * 0.05], [width, height], [0, height * 0.95]])
        matrix = cv2.getPerspectiveTransform(corners, seen)
        return cv2.warpPerspective(photo, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if how == "gradient":  # light falling off towards one corner
        light = np.linspace(0.45, 1.0, width)[None, :, None] * np.linspace(1.0, 0.8, height)[:, None, None]
        return (photo * light).astype(np.uint8)
    if how == "on_grey_desk_lit_from_left":  # the lamp lights the mid-grey desk too: a sheet on a mat on a desk
        return _photographed(_photographed(photo, "on_grey_desk"), "lit_from_left")
    if how in ("lit_from_left", "lit_from_top"):  # a lamp to one side: the far side at half the light
        light = np.linspace(1.0, 0.5, width if how == "lit_from_left" else height)
        light = light[None, :, None] if how == "lit_from_left" else light[:, None, None]
        return (photo * light).astype(np.uint8)
    if how == "far":  # the desk around the sheet, three times the picture
        edge = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]])
        framed = cv2.copyMakeBorder(photo, height, height, width, width, cv2.BORDER_CONSTANT,
                                    value=[int(v) for v in np.median(edge, axis=0)])
    elif how == "desk":  # a dark desk along two sides, where the page did not fill the frame
        framed = cv2.copyMakeBorder(photo, 0, height // 12, width // 12, 0, cv2.BORDER_CONSTANT, value=(62, 46, 36))
    else:  # "on_desk" / "on_grey_desk": the photo lies on a dark or a mid-grey desk
        margin = max(height, width) // 2
        colour = (62, 46, 36) if how == "on_desk" else (128, 128, 128)
        framed = cv2.copyMakeBorder(photo, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=colour)
    return np.clip(framed + rng.normal(0, 4, framed.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("how", ["perspective", "gradient", "lit_from_left", "lit_from_top", "far", "desk", "on_desk",
                                 "on_grey_desk", "on_grey_desk_lit_from_left"])
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
