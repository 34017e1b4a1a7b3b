"""Tests for hdr_core.preprocess: reading files: formats, modes, orientation, bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hdr_core import preprocess as pp
from hdr_core.errors import ImageError

from .drawing import _huge_png_header, _png, _zip, box_of, digit_mask, encode, iou, render


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


def test_transparent_margin_takes_the_paper_color():
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
        pytest.param(_png((5, 7)), "too small", id="too-small"),
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
