"""Reading an image file into an RGB array, whatever its format, mode and orientation; clear errors otherwise."""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..constants import MAX_IMAGE_PIXELS
from ..errors import ImageError
from .params import DEFAULT_PARAMS, Params

MIN_IMAGE_SIDE = 8  # a shorter long side cannot hold a recognisable digit (MNIST's is 28); a tight 1 may be narrower


SUPPORTED_FORMATS = "PNG, JPEG, WebP, BMP, TIFF or GIF"


_EXIF_ORIENTATION = 0x0112  # the EXIF tag saying how to turn the stored image for display


# Signatures of files people upload by mistake, checked before Pillow sees the bytes.
_NOT_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel/PowerPoint document)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio/video file"),
    (b"\x1a\x45\xdf\xa3", "a WebM/Matroska video"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"8BPS", "a Photoshop document (PSD)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
)


def _describe_non_image(head: bytes) -> str | None:
    """What the first bytes of a file look like when they are clearly not a supported image."""
    for signature, what in _NOT_IMAGE_SIGNATURES:
        if head.startswith(signature):
            return what
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "a HEIC/HEIF photo (the iPhone's default format)"
        if brand.startswith(b"avi"):
            return "an AVIF image"
        return "an MP4/MOV video"
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"WAVE"):
        return "an AVI video" if head[8:12] == b"AVI " else "a WAV audio file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML web page"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "an SVG vector drawing"
    if text.startswith(b"<?xml"):
        return "an XML document"
    if text.startswith((b"{", b"[")):
        return "a JSON/text file"
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if decoded and all(ch.isprintable() or ch in "\r\n\t" for ch in decoded):
        return "a text file"
    return None


def _read_source(source: str | Path | bytes | bytearray | memoryview | BinaryIO) -> tuple[bytes, str]:
    """The bytes of ``source`` and how to name it in messages; file objects are left where they were."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "The image"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{path}: file not found. Check the path and try again.")
        if path.is_dir():
            raise ImageError(f"{path} is a folder, not an image file.")
        try:
            return path.read_bytes(), f"'{path.name}'"
        except OSError as error:
            raise ImageError(f"{path}: cannot read the file ({error.strerror or error}).") from error
    if hasattr(source, "read"):
        file_name = getattr(source, "name", None)
        name = f"'{Path(file_name).name}'" if isinstance(file_name, str) and file_name else "The image"
        position = source.tell() if hasattr(source, "seekable") and source.seekable() else None
        data = source.read()
        if position is not None:
            source.seek(position)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"source.read() must return bytes (open the file in binary mode), got {type(data)}")
        return bytes(data), name
    raise TypeError(f"source must be a path, bytes or a binary file object, got {type(source).__name__}")


def load_image(
    source: str | Path | bytes | BinaryIO, *, max_pixels: int = MAX_IMAGE_PIXELS, params: Params | None = None
) -> np.ndarray:
    """Read an image file into an RGB array, whatever its format, mode and orientation.

    Parameters
    ----------
    source : str, Path, bytes or binary file object
        PNG, JPEG, WebP, BMP, TIFF or GIF. A file object is read and then put back where it was.
    max_pixels : int, keyword-only
        Images with more pixels are refused, checked from the file header before decoding.

    Returns
    -------
    image : (H, W, 3) uint8 ndarray
        RGB with the EXIF orientation applied. Transparency is flattened onto a background that
        contrasts with the opaque strokes (black strokes on transparency -> black on white, white
        strokes -> white on black). 16-bit and float images are scaled to 0..255; CMYK becomes RGB.

    Raises
    ------
    ImageError
        Empty, truncated or corrupt file; not an image (the message says what it looks like); too
        large; under 8 pixels on its long side; animated (several frames).
    """
    params = DEFAULT_PARAMS if params is None else params
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    data, name = _read_source(source)
    if not data:
        raise ImageError(f"{name} is empty (0 bytes): the upload or download did not finish. Try again.")
    looks_like = _describe_non_image(data[:512])
    if looks_like is not None:
        raise ImageError(f"{name} is not an image: this looks like {looks_like}. Use a {SUPPORTED_FORMATS} picture.")
    image = _open_checked(data, name, max_pixels)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not worth refusing the photo for
        pass
    try:
        return _to_rgb(image, params=params)
    except (ValueError, OSError) as error:
        raise ImageError(
            f"{name} uses the colour mode {image.mode}, which cannot be converted to RGB ({error}). "
            "Save it as an ordinary RGB or grayscale PNG."
        ) from error


def exif_orientation(source: str | Path | bytes | bytearray | memoryview | BinaryIO) -> int:
    """The EXIF orientation tag that :func:`load_image` applies (phones store photos sideways).

    Parameters
    ----------
    source : path, bytes or binary file object
        The image file, as for :func:`load_image`.

    Returns
    -------
    orientation : int
        1..8 as in the EXIF standard; 1 (stored upright) when the file has no tag, an invalid one, or
        cannot be read as an image (``load_image`` says what is wrong with it). Values 2..8 mean the
        loaded image was turned and/or mirrored from how the file stores it.
    """
    try:
        data, _ = _read_source(source)
        with warnings.catch_warnings():  # only the header is read: a huge image is no bomb here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                value = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - no usable tag means nothing was turned
        return 1
    return value if 1 <= value <= 8 else 1


def _open_checked(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Open lazily, check size and frames from the header, then decode; errors -> ImageError."""
    with warnings.catch_warnings():
        # Pillow warns above its own limit; we check our (lower) max_pixels ourselves below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            raise ImageError(
                f"{name} is far too large to process ({error}). Resize it below {max_pixels:,} pixels."
            ) from error
        except UnidentifiedImageError as error:
            raise ImageError(
                f"{name} is not a recognised image, or its data is corrupt. Use a {SUPPORTED_FORMATS} picture."
            ) from error
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as error:
            raise _decode_error(name, error, "its header cannot be read") from error
        except Exception as error:  # noqa: BLE001 - a plugin choking on odd bytes: still bad input
            raise _decode_error(name, error, "its header cannot be read") from error

        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"{name} is {width}x{height} pixels ({width * height:,}), more than the {max_pixels:,} "
                "allowed. Resize or crop it around the digit and try again."
            )
        if max(width, height) < MIN_IMAGE_SIDE:
            raise ImageError(
                f"{name} is only {width}x{height} pixels: too small to hold a digit. "
                f"Use an image at least {MIN_IMAGE_SIDE} pixels long (28x28 or more is best)."
            )
        try:
            frames = int(getattr(image, "n_frames", 1))
        except Exception as error:  # noqa: BLE001 - counting frames reads the file: it may be broken
            raise ImageError(f"{name} is corrupt or truncated: its frames cannot be read ({error}).") from error
        if frames > 1:
            kind = "a multi-page TIFF" if image.format == "TIFF" else "an animated image"
            raise ImageError(
                f"{name} is {kind} with {frames} frames: animated images are not supported. "
                "Save one frame as PNG and upload that."
            )
        try:
            image.load()
        except Image.DecompressionBombError as error:
            raise ImageError(f"{name} is too large to decode safely ({error}).") from error
        except Exception as error:  # noqa: BLE001 - OSError, SyntaxError, zlib.error... all mean bad data
            raise _decode_error(name, error, "its pixel data cannot be decoded") from error
    return image


def _decode_error(name: str, error: Exception, what: str) -> ImageError:
    """ImageError for a decoder failure: truncated files get their own, more helpful message."""
    message = str(error)
    if isinstance(error, EOFError) or any(
        hint in message.lower() for hint in ("truncated", "broken data stream", "premature end")
    ):
        return ImageError(
            f"{name} is truncated: the file ends before the image does (an interrupted download or "
            "upload?). Save or download it again."
        )
    return ImageError(f"{name} is corrupt: {what} ({message}).")


def _to_rgb(image: Image.Image, *, params: Params) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8 RGB, scaling high-bit-depth data and flattening alpha."""
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        gray = _scale_to_uint8(np.asarray(image))
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "1":
        image = image.convert("L")
    if mode == "P" and "transparency" in image.info or mode in ("PA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        return _flatten_alpha(np.asarray(image), params=params)
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def _scale_to_uint8(values: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit or float grey values -> uint8, by the range the data evidently uses.

    Integers: 8-bit data stays as it is, up to 4095 is read as 12-bit, up to 65535 as 16-bit, beyond
    that the data's own range is stretched. Floats in [0, 1] are scaled by 255, floats within
    [0, 255] kept, anything else stretched. A fixed scale (not a stretch) keeps a blank image blank.
    """
    data = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(data.min()), float(data.max())
    if np.issubdtype(values.dtype, np.floating):
        if low >= 0 and high <= 1:
            scale, offset = 255.0, 0.0
        elif low >= 0 and high <= 255:
            scale, offset = 1.0, 0.0
        else:
            scale, offset = 255.0 / max(high - low, 1e-12), low
    elif low >= 0 and high <= 255:
        scale, offset = 1.0, 0.0
    elif low >= 0 and high <= 4095:
        scale, offset = 255.0 / 4095, 0.0
    elif low >= 0 and high <= 65535:
        scale, offset = 255.0 / 65535, 0.0
    else:
        scale, offset = 255.0 / max(high - low, 1.0), low
    return np.clip(np.rint((data - offset) * scale), 0, 255).astype(np.uint8)


def _flatten_alpha(rgba: np.ndarray, *, params: Params) -> np.ndarray:
    """(H, W, 4) uint8 -> (H, W, 3) uint8, compositing onto a background chosen for contrast.

    When most of the picture is transparent the opaque pixels are the strokes, so the background is
    white for dark strokes and black for light ones. When transparency is only a margin, it takes the
    median colour of the opaque pixels (the paper), so it does not look like ink.
    """
    alpha = rgba[:, :, 3]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[:, :, :3])
    rgb = rgba[:, :, :3]
    opaque = alpha >= 128
    if not opaque.any():
        return np.full(rgb.shape, 255, np.uint8)  # fully transparent: nothing drawn (blank)
    if (~opaque).mean() >= params.load.transparent_background_share:
        weights = alpha.astype(np.float64)
        luma = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float64)
        stroke_luma = float((luma * weights).sum() / weights.sum())
        background = np.array([255, 255, 255] if stroke_luma < 128 else [0, 0, 0], np.float64)
    else:
        background = np.median(rgb[opaque], axis=0)
    a = alpha[:, :, None].astype(np.float64) / 255.0
    out = rgb * a + background * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
