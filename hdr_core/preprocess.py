"""Any image a user might have -> the 28x28 model input, one visible step at a time.

The steps, each a function that returns its image so the Upload page can show all of them::

    load_image     file / bytes -> (H, W, 3) uint8 RGB (EXIF rotation, transparency, 16-bit, CMYK...)
    to_grayscale   -> (H, W) uint8 (luma; colour ink on colour paper keeps its contrast)
    binarize       -> (H, W) bool, True = brighter than the threshold (mean | otsu | adaptive)
    auto_invert    -> ink bright on black like MNIST, with a one-sentence reason
    locate_ink     -> the digit's box: specks, ruled/grid lines and fragments cut by the border dropped
    normalize      -> (28, 28) float32 in [0, 1]: strokes about as thick as MNIST's, slant halved,
                      ink box fit into 20x20 keeping its aspect ratio, centre of mass at (14, 14)
                      (+-0.5 px)

``preprocess`` runs them all for one digit and returns every intermediate image; ``segment`` does the
same for a whole number (several digits, several rows). ``from_canvas`` is the fast path for the Draw
page's canvas. Only NumPy, Pillow and OpenCV are used: importing this module never loads TensorFlow.

Between thresholding and locating the ink there is one cleaning step that the threshold methods share:
a pixel counts as ink only when it is also clearly darker (or brighter) than the paper *around it*
(a morphological top-hat). That removes shadows, vignetting and paper texture that a global threshold
lets through, so even the reference pipeline's mean threshold works on phone photos.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Literal, get_args

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .constants import DIGIT_BOX, IMAGE_SIZE, MAX_IMAGE_PIXELS
from .errors import BlankImageError, ImageError

__all__ = [
    "THRESHOLD_METHODS",
    "Box",
    "DigitCrop",
    "Inversion",
    "MultiPreprocessed",
    "Preprocessed",
    "ThresholdMethod",
    "auto_invert",
    "binarize",
    "clean_ink",
    "find_page",
    "digits_left_out",
    "exif_orientation",
    "from_canvas",
    "load_image",
    "local_contrast",
    "locate_ink",
    "normalize",
    "preprocess",
    "segment",
    "threshold_value",
    "to_grayscale",
]

ThresholdMethod = Literal["mean", "otsu", "adaptive"]
THRESHOLD_METHODS: tuple[str, ...] = get_args(ThresholdMethod)

# --- Loading -------------------------------------------------------------------------------------
MIN_IMAGE_SIDE = 8  # smaller images cannot hold a recognisable digit (MNIST itself is 28x28)
SUPPORTED_FORMATS = "PNG, JPEG, WebP, BMP, TIFF or GIF"
# Transparent pixels above this share mean "strokes drawn on transparency": the background then
# becomes the colour that contrasts with the strokes; below it, transparency is just a margin.
TRANSPARENT_BACKGROUND_SHARE = 0.5
_EXIF_ORIENTATION = 0x0112  # the EXIF tag saying how to turn the stored image for display

# --- Grayscale -----------------------------------------------------------------------------------
# Luma with less spread than this (p0.1..p99.9 in grey levels) loses the ink of colour-on-colour
# pictures (red on green, light blue on orange); then the principal colour axis is used instead.
LOW_LUMA_CONTRAST = 60
GREY_CHROMA = 12  # images whose pixels differ between channels by less than this are grey already

# --- Blank detection -----------------------------------------------------------------------------
BLANK_CONTRAST = 12  # a picture whose grey levels span less than this (p0.1..p99.9) is one colour...
# ...with the tails cut at 0.01% instead (but at least MIN_INK_PIXELS pixels) on big pictures: a
# thin-pen digit small in a photo of overexposed paper can be as little as 0.03% of the pixels.
BLANK_TAIL_SHARE = 0.0001
MIN_INK_CONTRAST = 12  # ink must be at least this many grey levels off the paper around it
MIN_DIGIT_SIDE_SHARE = 0.03  # a "digit" shorter than 3% of the picture's long side is a speck
BLANK_MESSAGE = (
    "No ink found: the image is blank or a single colour. Draw or photograph a digit with dark ink on "
    "light paper (or light on dark), filling a good part of the picture."
)

# --- Inversion -----------------------------------------------------------------------------------
# Skewness of the grey levels beyond this says which side the (minority) ink is on; below it (ink
# covering nearly half of a tight crop) the border decides. Real photos and scans: |skew| 0.5-7.
SKEW_DECIDES = 0.4
# Below it, the skewness is measured again with the lighting evened out: each pixel minus the
# median of a window a third of the picture wide (on a copy BACKGROUND_WORK_SIDE long). A shadow
# across the paper spreads the paper over half the grey scale and hides the ink's tail. That
# measure must be clearer to decide: in a tight crop the ink fills half of each window, and its
# median is no longer the paper (such crops measure 0.5-0.6 either way; shadowed pages 1.8 or more
# in 95 cases out of 100).
EVEN_SKEW_DECIDES = 1.0

FLAT_BACKGROUND_SHARE = 0.6  # most pixels at exactly one level: a digital drawing, not a photo

# --- Local contrast (shared cleaning step) -------------------------------------------------------
BACKGROUND_WORK_SIDE = 160  # the paper level is estimated on a copy this size: fast, and smooth anyway
# Structures narrower than 1/3 of the picture's long side count as strokes (the long side: in a tight
# crop of a "1" the stroke is as wide as the picture).
BACKGROUND_KERNEL_FRACTION = 1 / 3
# ...and, second, wider than this many of the ink's own stroke widths count as background too, so a
# sharp-edged shadow whose wedge narrows below a third of the picture does not become a triangle of
# "ink" (strokes and where they cross stay narrower than this).
STROKE_KERNEL_FACTOR = 2
# A patch no more than this many fine kernels across where only the fine scale sees background, and
# ringed by lower wide background, is ink: a knot of strokes, not a shadow's narrow end (see _knots).
KNOT_SIDES = 2
# Contrast is measured relative to the paper's own brightness there, so ink in a shadow counts as much
# as ink in the light; by at most this factor (a near-black "paper" is a desk, not a deep shadow).
MAX_SHADOW_GAIN = 4
# A pixel is ink when its local contrast is at least this share of the strong ink's contrast: keeps
# pencil strokes, drops shadows' edges, paper texture and faint erasures.
INK_CONTRAST_SHARE = 0.3
STRONG_INK_PERCENTILE = 90  # "strong ink": the 90th percentile of the pixels that stand out at all
TOP_PIXELS_PERCENTILE = 99.7  # ...or the picture's top 0.3%, whichever is higher
MIN_INK_PIXELS = 12  # fewer pixels than this standing out is noise, not a digit

# --- A sheet of paper lying on a desk, seen whole ------------------------------------------------
# The picture is cropped to the sheet when most of its edge is darker than the paper (Otsu's split)...
DESK_EDGE_SHARE = 0.6
PAGE_MIN_SHARE = 0.03  # ...and the largest bright region, holes filled, covers 3% to 85% of it...
PAGE_MAX_SHARE = 0.85
PAGE_MAX_EDGE_SHARE = 0.25  # ...touches at most a quarter of the picture's edge (a sheet inside the frame)...
PAGE_SOLIDITY = 0.9  # ...fills 90% of its convex hull, strokes aside (a sheet is convex; a bright digit is not)...
PAGE_MAX_HOLES = 0.6  # ...the dark marks inside it cover less than 60% of it (a bright "0" is mostly hole)...
PAGE_MAX_ASPECT = 2.5  # ...it is no longer than 2.5 times its width (paper is; a bright "1" is not)...
PAGE_INK_WIDTH = 0.15  # ...the marks inside are strokes: thinner than 15% of its short side (not a "0"'s hole)...
PAGE_EDGE_STEP = 0.5  # ...and its edge is a step: two work pixels either side differ by half of rim - desk
# When light falls off across the picture (a lamp to one side), the lit desk can be as bright as the paper in
# the shade, and no one level splits them. The tests are then tried again on the picture divided by the
# desk's lighting: a plane fitted to the log brightness of the picture's outermost work pixels (the desk,
# when the sheet lies inside the frame), refitted without this share of them that lie furthest above it
# (where the sheet touches the edge).
LIGHT_BORDER_TRIM = 0.3
# A dark sheet (a slate, a black card) on a lighter desk is looked for the same way on the inverted picture
# (not evened out: a shadow's edge leaves dark blobs then), and must also pass three tests that bold dark digits
# on paper fail: its outline is a polygon of at most DARK_SHEET_CORNERS corners within DARK_SHEET_SLACK of its
# perimeter (a bold "0" or "8" is a rounded blob; a slate a quadrilateral, even in perspective), it is no longer
# than PAGE_MAX_ASPECT times its width however it is turned (a slanted bold "1" is), and bright marks cover at
# least DARK_SHEET_MARKS of it (chalk on a slate; a blob of ink has none).
DARK_SHEET_CORNERS = 6
DARK_SHEET_SLACK = 0.01
DARK_SHEET_MARKS = 0.01

# --- Locating the digit --------------------------------------------------------------------------
CLOSING_FRACTION = 0.008  # closing kernel (share of the short side) joining broken pencil strokes
SPECK_SHARE_OF_LARGEST = 0.02  # components smaller than this share of the largest one are specks
MIN_SPECK_AREA = 4  # and anything of fewer pixels than this is noise, whatever the image size
LINE_SPAN = 0.9  # a grid/rule line spans at least this share of the image width (or height)...
LINE_EDGE_SLACK = 0.03  # ...or runs from edge to edge (within 3%)...
LINE_ELONGATION = 12  # ...and is at least this many times longer than it is thick...
LINE_STRAIGHT_SHARE = 0.7  # ...and straight: this share of it on runs across 3/4 of its box either way (grid
LINE_STRAIGHT_RUN = 0.75  # lines cross and meet, so both ways count), after thickening across by 3% of the run
LINE_STRAIGHT_TILT = 0.03  # (photographed lines tilt); or, one line at a slant, its ink spreads across its
LINE_MAX_SPREAD = 0.1  # own direction less than a tenth as far as along it (standard deviations)
BACKGROUND_BLOB_SHARE = 0.1  # border-touching regions this big (share of the image) may be desk/shadow...
BLOB_THICKNESS = 0.22  # ...when thicker than this share of their size (strokes are thinner)...
BLOB_STROKE_RATIO = 4  # ...or this many times thicker than the digit's strokes
# A region lying along this share of one side of the picture is the desk or a shadow beyond the page's
# edge when there is a digit beside it: away from the border, or with strokes this many times thinner.
# Strokes cross a side rather than run along it; a tight crop's own stroke along a side (a 7's top bar)
# is as thin as the rest of the digit, and there is no digit away from the border.
BAND_SIDE_SHARE = 0.8
BAND_STROKE_RATIO = 2
# A strip of desk joined to a digit is cut off when most of its rows (this share) run no deeper than
# this many times its median depth (the others are where the digit touches it).
STRIP_EVEN_SHARE = 0.7
STRIP_DEPTH_SLACK = 1.3
# In a whole number, a region touching the picture's edge along at least this share of its length is
# the desk beside a turned sheet, or the sheet's own edge, however small (a digit touches the edge
# with a stroke end or a short bar)...
WEDGE_CONTACT_SHARE = 0.3
# ...when it is this many times thicker than the digits away from the edge (a wedge of desk; every
# digit of a number is written with the same pen) or this many times longer than they are (a strip
# along the sheet's edge).
WEDGE_STROKE_RATIO = 2
WEDGE_LENGTH_RATIO = 2
# ...or when it lies flush with the edge along (nearly) its whole length and is thinner than the
# digits' strokes: a short piece of the sheet's edge across a corner of the picture.
EDGE_FLUSH_SHARE = 0.9
EDGE_THIN_RATIO = 0.75
# ...or when it fills a corner of the picture the way a straight sheet edge cuts one off: flush with both
# sides of the corner (``EDGE_FLUSH_SHARE`` of its box's width and height), solid (this share of its
# convex hull) and about half its box (a right triangle), however thin. A digit in a corner touches the
# sides with a bar or a stroke end; an upright 1 flush with both is a full box, a 7 a hollow one.
CORNER_SOLIDITY = 0.9
CORNER_FILL = (0.35, 0.65)
SIGNIFICANT_SIDE = 0.1  # components this long (share of the short side) are more than specks
SIGNIFICANT_SHARE = 0.3  # other ink this long (vs the blob's long side) can be the digit on its own
LINE_KEEP_SHARE = 0.25  # a line is kept (it may be a "1") unless other ink is at least this big vs it
RULE_LINE_SPAN = 0.75  # ruled lines crossing the digit span 3/4 of the picture (tilted ones leave early)...
LINE_RUN_FRACTION = 0.25  # ...made of straight runs a quarter of the picture long...
LINE_TILT_TOLERANCE = 0.01  # ...after thickening by 1% across (a photo's lines are slightly tilted)...
LINE_WORK_SIDE = 1000  # lines are looked for on a copy at most this long (full-size photos are slow)
LINE_BEYOND_INK = 0.05  # ...reaching 5% of the picture beyond the other ink on both ends...
LINE_THICKNESS_SHARE = 0.8  # ...and thinner than the strokes (printed lines are finer than pens)
# Ruled paper photographed at a tilt: the picture's long straight lines (half its short side or longer,
# on a copy at most TILT_WORK_SIDE long) give the tilt when at least two agree within RULE_TILT_AGREE
# degrees, tilted by RULE_MIN_TILT to RULE_MAX_TILT degrees (less is caught by the thickening above).
# The lines are then looked for on the picture levelled by that tilt, where at least TILTED_RULE_LINES
# running the same way must be found (not a sheet's two edges on a desk, nor a slanted 1's stem and foot).
TILT_WORK_SIDE = 400
RULE_MIN_TILT = 2.0
RULE_MAX_TILT = 30.0
RULE_TILT_AGREE = 1.5
TILTED_RULE_LINES = 3
EDGE_SLIVER = 0.01  # ink within 1% of the picture's short side (at least 3 px) of one of its sides, and no
EDGE_SLIVER_MIN = 3  # more, is a line half cut off by the edge, not the digit
RULED_FAMILY = 3  # three or more long lines one way are printed paper's: a line no deeper than 1.3x their
RULED_DEPTH_SLACK = 1.3  # median depth is one of them, however fine the strokes (a pencil's can be as fine)
MAIN_MIN_SHARE = 0.25  # an interior component must be this big (vs the largest) to beat border ones
NEAR_FACTOR = 0.5  # pieces within this many digit sizes of the main component belong to the digit
NEAR_FACTOR_AT_BORDER = 0.1  # border-touching pieces must nearly touch it (else: a neighbour's bit)
PIECE_MIN_SHARE = 0.03  # pieces smaller than this share of the main component are noise
PIECE_MIN_SHARE_AT_BORDER = 0.1  # border-touching pieces need more: small ones are neighbours' bits
# Marks around the digit: an answer box, a circle, an underline (worksheets, forms).
ENCLOSED_SHARE = 0.9  # a component with this share of its pixels inside another's holes is enclosed by it...
ENCLOSED_MIN_SIDE = 0.1  # ...and the enclosed ink is a digit: this long against the frame (a big answer box
ENCLOSED_MIN_STROKES = 4  # holds a small digit) and this many times its stroke width (a dotted 0's dot is not).
# A frame that is not straight-sided may be a 0 or a 9 with a stroke or a shadow's edge in its loop, or a 0 written
# twice over: a circle holds a digit this long against it (those are shorter, or as long as the loop)...
CIRCLE_SIDE = (0.25, 0.6)
CIRCLE_CLEARANCE = 0.07  # ...and clear of it by this share of the hole (a 0's second stroke hugs the first)
FRAME_WORK_SIDE = 400  # a frame's shape is measured on a copy at most this long
# An underline is straight, this many times wider than tall, with nothing beside it. Its row is the ink over it
# level with the lowest piece at least UNDERLINE_ANCHOR of the biggest one there (specks do not make a row).
UNDERLINE_ELONGATION = 4
UNDERLINE_ANCHOR = 0.1
UNDERLINE_GAP = 0.1  # it lies this share of the row's height below it (a 2's or a 1's detached foot is closer)...
UNDERLINE_WIDTH = 0.9  # ...is about as wide as the row or wider...
UNDERLINE_ROW_INK = 0.1  # ...and has no more than ten times the row's ink (a speck over a stroke is no row)

# --- Normalising like MNIST ----------------------------------------------------------------------
# MNIST strokes are about 2.2 px wide in the 28x28 image (2*area/perimeter of the ink above 0.5,
# median over the test set; 10%-90%: 1.7-3.2 px). Strokes are thickened or thinned to this width.
MNIST_STROKE_WIDTH = 2.2
STROKE_TOLERANCE = 0.15  # widths within 15% of the target are left alone
SUPERSAMPLE = 4  # strokes are reshaped and placed at 4x the final size, then averaged down 4x4
WORK_SIZE = SUPERSAMPLE * DIGIT_BOX  # the digit's long side at that resolution (80 px)
MAX_THINNING_SHARE = 0.35  # thinning never removes more than 35% of a stroke's width (keeps thin parts)
CENTRE = IMAGE_SIZE / 2  # MNIST's centre of mass: (14.0, 14.0) +- 0.5 in pixel-index coordinates
# Slant is halved before fitting: the shear that would make the ink's principal axis vertical
# (mu11 / mu02, from second moments) is applied at this share. A full correction over-straightens
# digits whose moments are pulled by a bar or flag (a 7's top, a 1's up-stroke, a 4's diagonal).
# Real-dev misses (default model / fast model), share 0: 63 / 235; 0.25: 59 / 229; 0.5: 59 / 209;
# 0.75: 60 / 221; 1: 56 / 228. MNIST test re-drawn through this pipeline: 99.59% -> 99.57% and
# 98.96% -> 99.10% at 0.5 (see benchmarks/straighten.py).
STRAIGHTEN_SHARE = 0.5
MAX_SHEAR = 1.0  # |shear| at most 1 (45 degrees), so a freak moment estimate cannot smear the digit

# --- Segmenting whole numbers --------------------------------------------------------------------
DIGIT_SPECK_SHARE = 0.08  # components smaller than this share of the median digit are dots/specks
# Every digit of a number is written with the same pen: a piece whose ink stands out from the paper
# around it by less than this share of the typical piece's (the ink-weighted median) is the texture of
# a shaded corner of paper or of the desk, not a digit. A digit in a hard shadow keeps about half its
# contrast.
FAINT_PIECE_SHARE = 0.35
JOIN_OVERLAP = 0.5  # pieces overlapping horizontally by half the narrower one belong together...
JOIN_GAP = 0.5  # ...when the vertical gap between them is under half a digit height
ROW_GAP = 0.7  # a jump in vertical centre of more than 0.7 digit heights starts a new row
MAX_ROW_SLOPE = 0.5  # rows tilted up to about 27 degrees (a phone held askew) are followed...
ROW_LINK_REACH = 3.0  # ...from each digit to its neighbour at most this many digit heights away
MIN_DIGIT_HEIGHT_SHARE = 0.4  # pieces shorter than 40% of the median digit are dots, dashes or marks
TOUCHING_ASPECT = 1.15  # a component wider than 1.15 row heights holds several touching digits
DIGIT_ASPECT = 0.62  # typical width/height of one handwritten digit, to count touching digits
# A one-digit reading "leaves digits out" when ``segment`` finds two or more digits at least this
# share of the tallest one's height, clear of the picture's edge, and one of them lies mostly
# (this share of its box) outside the digit that was read. Cut-off neighbours in a grid cell touch
# the edge; a digit's own detached bar is short: neither counts.
LEFT_OUT_HEIGHT_SHARE = 0.6
LEFT_OUT_OUTSIDE_SHARE = 0.5


# =================================================================================================
# Results
# =================================================================================================


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixel coordinates: columns ``x .. x+w-1``, rows ``y .. y+h-1``."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        """``[x, y, w, h]`` as plain ints (for JSON)."""
        return [int(self.x), int(self.y), int(self.w), int(self.h)]

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the box from an ``(H, W)`` array."""
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    def union(self, other: Box) -> Box:
        """The smallest box holding both boxes."""
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Inversion:
    """What ``auto_invert`` decided.

    Attributes
    ----------
    gray : (H, W) uint8 ndarray
        The grayscale image with ink bright on dark (inverted when ``inverted``).
    ink : (H, W) bool ndarray
        The threshold's ink pixels (``~binary`` for dark ink, ``binary`` for bright ink).
    inverted : bool
        Whether the image was inverted (dark ink on light paper).
    reason : str
        One sentence for the Upload page saying why.
    """

    gray: np.ndarray
    ink: np.ndarray
    inverted: bool
    reason: str


@dataclass(frozen=True)
class Preprocessed:
    """Every step of turning one image into the model input (the Upload page shows them all).

    Attributes
    ----------
    original : (H, W, 3) or (H, W) uint8 ndarray
        The image as given; cropped to the sheet of paper when ``page`` is set (every other image
        and box here is then in the crop's pixels).
    gray : (H, W) uint8 ndarray
        Grayscale.
    binary : (H, W) bool ndarray
        The threshold's output before inversion: True = brighter than the threshold.
    threshold : float
        The threshold used (the mean of the threshold map for ``adaptive``).
    method : str
        ``"mean"``, ``"otsu"`` or ``"adaptive"``.
    inverted : bool
        Whether dark ink on light paper was inverted to bright ink on black.
    invert_reason : str
        One sentence saying why (or why not).
    ink : (H, W) bool ndarray
        The ink that was kept: after inversion, cleaning (local contrast, specks, lines, fragments).
    box : Box
        Where the digit is, in original pixel coordinates.
    model_input : (28, 28) float32 ndarray
        The model input in [0, 1], ink bright on black, like MNIST.
    page : Box or None
        Where the sheet lies in the image as given, when the photo shows a sheet of paper on a
        darker desk (``find_page``) or a slate on a lighter one and was cropped to it; None otherwise.
    """

    original: np.ndarray
    gray: np.ndarray
    binary: np.ndarray
    threshold: float
    method: str
    inverted: bool
    invert_reason: str
    ink: np.ndarray
    box: Box
    model_input: np.ndarray
    page: Box | None = None


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a whole number: where it is and its model input ((28, 28) float32 in [0, 1])."""

    box: Box
    model_input: np.ndarray


@dataclass(frozen=True)
class MultiPreprocessed(Preprocessed):
    """Every step of segmenting a whole number, plus its digits.

    The fields of ``Preprocessed`` mean the same; ``box`` holds all digits and ``model_input`` is the
    first digit's, so code written for one digit still works.

    Attributes
    ----------
    digits : tuple of DigitCrop
        The digits in reading order: rows top to bottom, left to right in each row.
    rows : tuple of tuple of int
        Indices into ``digits``, one tuple per row.
    """

    digits: tuple[DigitCrop, ...] = ()
    rows: tuple[tuple[int, ...], ...] = ()


# =================================================================================================
# Step 1: load
# =================================================================================================

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
    source: str | Path | bytes | BinaryIO, *, max_pixels: int = MAX_IMAGE_PIXELS
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
        large; smaller than 8x8 pixels; animated (several frames).
    """
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    data, name = _read_source(source)
    if not data:
        raise ImageError(f"{name} is empty (0 bytes): the upload or download did not finish. Try again.")
    looks_like = _describe_non_image(data[:512])
    if looks_like is not None:
        raise ImageError(
            f"{name} is not an image: this looks like {looks_like}. Use a {SUPPORTED_FORMATS} picture."
        )
    image = _open_checked(data, name, max_pixels)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not worth refusing the photo for
        pass
    try:
        return _to_rgb(image)
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
        if min(width, height) < MIN_IMAGE_SIDE:
            raise ImageError(
                f"{name} is only {width}x{height} pixels: too small to hold a digit. "
                f"Use an image of at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels (28x28 or more is best)."
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


def _to_rgb(image: Image.Image) -> np.ndarray:
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
        return _flatten_alpha(np.asarray(image))
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


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
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
    if (~opaque).mean() >= TRANSPARENT_BACKGROUND_SHARE:
        weights = alpha.astype(np.float64)
        luma = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float64)
        stroke_luma = float((luma * weights).sum() / weights.sum())
        background = np.array([255, 255, 255] if stroke_luma < 128 else [0, 0, 0], np.float64)
    else:
        background = np.median(rgb[opaque], axis=0)
    a = alpha[:, :, None].astype(np.float64) / 255.0
    out = rgb * a + background * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# =================================================================================================
# Step 2: grayscale (and the canvas fast path)
# =================================================================================================


def _as_uint8_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an image array and bring it to uint8 (bool, uint16 and float [0, 1] accepted)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return _scale_to_uint8(image)
    if np.issubdtype(image.dtype, np.floating):
        if np.nanmin(image) < 0 or np.nanmax(image) > 1:
            raise ValueError(
                f"float {name} must hold values in [0, 1], got {np.nanmin(image):g}..{np.nanmax(image):g}"
            )
        return np.clip(np.rint(np.nan_to_num(image) * 255), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        if image.min() < 0 or image.max() > 255:
            raise ValueError(f"integer {name} must hold values in 0..255, got {image.min()}..{image.max()}")
        return image.astype(np.uint8)
    raise ValueError(f"{name} has unsupported dtype {image.dtype}; use uint8")


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Convert to one channel, keeping the contrast between ink and paper.

    Parameters
    ----------
    image : (H, W), (H, W, 3) RGB or (H, W, 4) RGBA ndarray
        uint8 (bool, uint16 and float in [0, 1] are converted). Not modified.

    Returns
    -------
    gray : (H, W) uint8 ndarray
        Luma (ITU-R 601). When luma hides the ink (colour ink on paper of the same brightness, e.g.
        light blue on orange), the projection onto the image's principal colour axis is used instead,
        oriented so that lighter colours stay lighter. RGBA is first flattened like ``load_image``.
    """
    image = _as_uint8_image(image)
    if image.ndim == 2:
        return image.copy()
    rgb = _flatten_alpha(image) if image.shape[2] == 4 else image
    rgb = np.ascontiguousarray(rgb)
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if _spread(luma) >= LOW_LUMA_CONTRAST:
        return luma
    return _principal_axis_gray(rgb, luma)


def _histogram(gray: np.ndarray) -> np.ndarray:
    """(256,) float64 counts of each grey level of a uint8 image (OpenCV: faster than bincount)."""
    return cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256]).ravel().astype(np.float64)


def _spread(gray: np.ndarray, hist: np.ndarray | None = None, tail: float = 0.001) -> float:
    """Robust range of grey levels: the (1 - tail) quantile minus the tail quantile (default 99.9th
    minus 0.1th percentile), from the histogram (fast)."""
    hist = (_histogram(gray) if hist is None else hist).cumsum()
    total = hist[-1]
    low = int(np.searchsorted(hist, tail * total))
    high = int(np.searchsorted(hist, (1 - tail) * total))
    return float(high - low)


def find_page(gray: np.ndarray) -> Box | None:
    """Where a sheet of paper lies on a darker desk, when the picture shows it whole.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale photo. Not modified.

    Returns
    -------
    Box or None
        The box of the sheet, one work-copy pixel inside its edge, in ``gray``'s pixel coordinates;
        None when the picture is not a sheet on a desk (a crop of the paper, a digital drawing,
        light ink on a dark background). See the ``PAGE_*`` constants for the tests: the picture's
        edge is mostly dark, and its largest bright region is a convex sheet well inside the frame.
    """
    found = _find_sheet(_check_gray(gray))
    return None if found is None else found[0]


def _find_sheet(gray: np.ndarray, hist: np.ndarray | None = None, *, dark: bool = False
                ) -> tuple[Box, np.ndarray] | None:
    """``find_page``'s box, and the sheet's outline as a (N, 2) int32 polygon in the box's pixels.
    ``dark``: look for a dark sheet (a slate, a black card) on a lighter desk instead (``DARK_SHEET_*``)."""
    if _flat_background(gray, hist) is not None:
        return None  # drawn digitally: there is no desk
    small = _work_copy(gray)
    if dark:
        small = 255 - small  # the slate is the bright part of the inverted work copy
    found = _sheet_in(small, straight=dark)
    if found is None and not dark:
        found = _sheet_in(_desk_lit_evenly(small))
    if found is None:
        return None
    xs, ys, outline = found
    factor_y, factor_x = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    x0, x1 = int(np.ceil((xs.min() + 1) * factor_x)), int(xs.max() * factor_x)
    y0, y1 = int(np.ceil((ys.min() + 1) * factor_y)), int(ys.max() * factor_y)
    if min(x1 - x0, y1 - y0) < MIN_IMAGE_SIDE:
        return None
    hull = cv2.convexHull(outline).reshape(-1, 2).astype(np.float64)
    polygon = np.round(hull * (factor_x, factor_y) - (x0, y0)).astype(np.int32)
    return Box(x0, y0, x1 - x0, y1 - y0), polygon


def _desk_lit_evenly(small: np.ndarray) -> np.ndarray:
    """(h, w) uint8 work copy divided by the desk's lighting (see ``LIGHT_BORDER_TRIM``), same median."""
    height, width = small.shape
    ys, xs = np.mgrid[0:height, 0:width]
    ring = np.ones((height, width), bool)
    ring[1:-1, 1:-1] = False
    logs = np.log1p(small.astype(np.float64))
    design = np.stack([np.ones(height * width), xs.ravel() / width, ys.ravel() / height], axis=1)
    rows = design[ring.ravel()]
    values = logs[ring]
    coefficients = np.linalg.lstsq(rows, values, rcond=None)[0]
    above = values - rows @ coefficients
    keep = above <= np.quantile(above, 1 - LIGHT_BORDER_TRIM)
    coefficients = np.linalg.lstsq(rows[keep], values[keep], rcond=None)[0]
    light = (design @ coefficients).reshape(height, width)
    even = logs - light + float(np.median(logs))
    return np.clip(np.expm1(even), 0, 255).astype(np.uint8)


def _sheet_in(small: np.ndarray, *, straight: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The sheet in a work copy (see the ``PAGE_*`` constants): its pixels' columns and rows, and its
    outline as an OpenCV contour; None when the bright part of ``small`` is not a sheet. ``straight``:
    the further tests for a dark sheet, looked for on an inverted copy (``DARK_SHEET_*``)."""
    _, bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if _edge(bright).mean() > 1 - DESK_EDGE_SHARE:
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    sheet = np.zeros_like(region)
    cv2.drawContours(sheet, [outline], -1, 1, thickness=cv2.FILLED)
    area = np.count_nonzero(sheet)
    if not PAGE_MIN_SHARE * sheet.size <= area <= PAGE_MAX_SHARE * sheet.size:
        return None
    if _edge(sheet).mean() > PAGE_MAX_EDGE_SHARE:
        return None
    ys, xs = np.nonzero(sheet)
    short, long = sorted((int(np.ptp(ys)) + 1, int(np.ptp(xs)) + 1))
    # Solidity: the share of the convex hull that is neither sheet nor paper-bright, not counting dark
    # strokes (at most PAGE_INK_WIDTH of the sheet wide). A digit written up to the edge of a sticky
    # note joins the desk and cuts a notch, up to the digit's whole shape, into the sheet's outline;
    # the dark background between a bright digit's strokes is wider than any stroke.
    hull = np.zeros_like(sheet)
    hull_points = cv2.convexHull(outline)
    cv2.fillConvexPoly(hull, hull_points, 1)
    dark = (hull > 0) & (sheet == 0) & (bright == 0)
    stroke = max(3, int(round(PAGE_INK_WIDTH * short)) | 1)
    wide = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (stroke, stroke)))
    if np.count_nonzero(wide) > (1 - PAGE_SOLIDITY) * np.count_nonzero(hull):
        return None
    holes = sheet.astype(bool) & (bright == 0)  # the marks on it (islands of paper inside a "0" are not)
    if np.count_nonzero(holes) >= PAGE_MAX_HOLES * area:
        return None
    if long > PAGE_MAX_ASPECT * short:
        return None
    if holes.any() and _stroke_width(holes) > PAGE_INK_WIDTH * short:
        return None
    if not _sharp_edge(small, sheet):
        return None  # a bright middle fading into dark corners: vignetting, not a sheet
    if straight:
        polygon = cv2.approxPolyDP(hull_points, DARK_SHEET_SLACK * cv2.arcLength(hull_points, True), True)
        if len(polygon) > DARK_SHEET_CORNERS:
            return None
        turned_short, turned_long = sorted(cv2.minAreaRect(outline)[1])
        if turned_long > PAGE_MAX_ASPECT * max(turned_short, 1.0):
            return None
        if np.count_nonzero(holes) < DARK_SHEET_MARKS * area:
            return None
    return xs, ys, outline


def _sheet_only(original: np.ndarray, box: Box, polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture cropped to ``box``, with the desk in its corners (outside ``polygon``, a turned
    or tilted sheet's outline, less one work pixel) painted in the sheet's median colour; and the
    (h, w) bool mask of the sheet in the crop, None when the sheet fills it (nothing was painted)."""
    crop = original[box.slices].copy()
    sheet = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(sheet, [polygon], 1)
    inset = max(1, round(max(crop.shape[:2]) / BACKGROUND_WORK_SIDE))
    sheet = cv2.erode(sheet, np.ones((3, 3), np.uint8), iterations=inset).astype(bool)
    if not sheet.any() or sheet.all():
        return crop, None
    crop[~sheet] = np.median(crop[sheet], axis=0).astype(np.uint8)
    return crop, sheet


def _sharp_edge(small: np.ndarray, sheet: np.ndarray) -> bool:
    """Whether the sheet's outline is a step in brightness rather than a slow fall-off.

    The step across the outline is weighed against how much brighter the sheet's rim is than the
    desk beyond, not its middle: a sheet on a lighter mat or desk, found together with some of the
    mat, has a rim partly of mat, much darker than the paper in its middle, and a step all the same.
    """
    ring = np.ones((5, 5), np.uint8)
    inside = sheet.astype(bool) & ~cv2.erode(sheet, ring).astype(bool)
    outside = cv2.dilate(sheet, ring).astype(bool) & ~sheet.astype(bool)
    desk = ~cv2.dilate(sheet, ring, iterations=2).astype(bool)
    if not (inside.any() and outside.any() and desk.any()):
        return False
    rim_minus_desk = float(np.median(small[inside])) - float(np.median(small[desk]))
    step = float(np.median(small[inside])) - float(np.median(small[outside]))
    return rim_minus_desk > 0 and step >= PAGE_EDGE_STEP * rim_minus_desk


def _edge(mask: np.ndarray) -> np.ndarray:
    """The outermost rows and columns of a 2-D array, as one 1-D array."""
    return np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])


def _looks_blank(gray: np.ndarray, hist: np.ndarray) -> bool:
    """Whether the picture is one colour: its grey levels span less than ``BLANK_CONTRAST`` once
    the rarest pixels are cut off (0.1% of them; on big pictures 0.01% but at least
    ``MIN_INK_PIXELS``, so a small thin-pen digit is not cut off with the noise)."""
    tail = min(0.001, max(BLANK_TAIL_SHARE, MIN_INK_PIXELS / gray.size))
    return _spread(gray, hist, tail) < BLANK_CONTRAST


def _principal_axis_gray(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """Project colours on the axis along which they vary most (keeps colour-on-colour ink visible)."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 20_000)))  # about 20k pixels suffice
    sample = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    chroma = sample.max(axis=1) - sample.min(axis=1)
    if np.percentile(chroma, 99) < GREY_CHROMA:
        return luma  # a grey picture: luma is all there is
    values, vectors = np.linalg.eigh(np.cov(sample.T))
    sample_luma = luma[::step, ::step].reshape(-1).astype(np.float64)
    if values[-1] < 1.0 or sample_luma.std() == 0:
        return luma  # one flat colour: nothing to gain
    axis = vectors[:, -1]
    if np.corrcoef(sample @ axis, sample_luma)[0, 1] < 0:
        axis = -axis
    # Scaled like luma (a grey axis gives back luma), centred on the picture's mean luma.
    full = rgb.reshape(-1, 3).astype(np.float32) @ axis.astype(np.float32) / np.sqrt(3.0)
    full = full - full.mean() + float(luma.mean())
    candidate = np.clip(np.rint(full), 0, 255).astype(np.uint8).reshape(luma.shape)
    return candidate if _spread(candidate) > 1.5 * _spread(luma) else luma


def from_canvas(rgba: np.ndarray) -> np.ndarray:
    """Turn streamlit-drawable-canvas ``image_data`` into a grayscale image with bright ink on black.

    Fast (pure NumPy/OpenCV, well under a millisecond for 280x280). Strokes drawn on the untouched,
    transparent canvas are read from the alpha channel, whatever their colour. When the background
    was painted too (no transparency left), ink is the colour distance from the background colour
    (the median of the border), so white-on-black, black-on-white and colour-on-colour all work.

    Parameters
    ----------
    rgba : (H, W, 4) uint8 ndarray
        The canvas's ``image_data``. Not modified.

    Returns
    -------
    gray : (H, W) uint8 ndarray
        Ink bright on black (all zeros for an empty canvas).
    """
    if not isinstance(rgba, np.ndarray) or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"canvas image_data must be an (H, W, 4) RGBA array, got {getattr(rgba, 'shape', rgba)}")
    if rgba.dtype != np.uint8:
        raise ValueError(f"canvas image_data must be uint8, got {rgba.dtype}")
    alpha = rgba[:, :, 3]
    transparent_share = np.count_nonzero(alpha == 0) / alpha.size
    if transparent_share >= TRANSPARENT_BACKGROUND_SHARE:
        return alpha.copy()  # strokes on the untouched canvas: opacity is the ink
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0).astype(np.uint8)
    distance = cv2.absdiff(rgb, np.broadcast_to(background, rgb.shape).copy())
    ink = distance.max(axis=2)
    if transparent_share > 0:
        ink[alpha == 0] = 0  # any untouched corner of a partly painted canvas is background
    return ink


# =================================================================================================
# Step 3: threshold
# =================================================================================================


def _check_gray(gray: np.ndarray, name: str = "gray") -> np.ndarray:
    gray = _as_uint8_image(gray, name)
    if gray.ndim != 2:
        raise ValueError(f"{name} must be a (H, W) grayscale image, got shape {gray.shape}")
    return gray


def _check_method(method: str) -> None:
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"threshold method must be one of {THRESHOLD_METHODS}, got {method!r}")


def _default_block_size(shape: tuple[int, ...]) -> int:
    """Adaptive neighbourhood: a quarter of the short side (wider than strokes, follows shadows)."""
    return max(3, int(min(shape[:2]) / 4) | 1)


def threshold_value(
    gray: np.ndarray,
    method: ThresholdMethod = "mean",
    *,
    block_size: int | None = None,
    offset: float | None = None,
) -> float | np.ndarray:
    """The grey level separating ink from paper.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale image. Not modified.
    method : {'mean', 'otsu', 'adaptive'}
        ``mean``: the image's mean (the reference pipeline's choice). ``otsu``: the level that best
        separates two classes of grey levels. ``adaptive``: a map, the mean of each pixel's
        ``block_size`` neighbourhood shifted by ``offset`` away from the paper; copes with uneven
        lighting where one global level cannot.
    block_size : int, optional, keyword-only
        Odd neighbourhood side for ``adaptive``; default a quarter of the short side.
    offset : float, optional, keyword-only
        How far (grey levels) ink must be from its neighbourhood mean for ``adaptive``; default 10%
        of the image's grey-level range, at least 5.

    Returns
    -------
    threshold : float or (H, W) float32 ndarray
        Pixels brighter than this are "bright" (``binarize`` returns True for them).
    """
    gray = _check_gray(gray)
    _check_method(method)
    if method == "mean":
        return float(gray.mean())
    if method == "otsu":
        level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return float(level)
    if block_size is None:
        block_size = _default_block_size(gray.shape)
    if block_size < 3 or block_size % 2 == 0:
        raise ValueError(f"block_size must be odd and >= 3, got {block_size}")
    if offset is None:
        offset = max(5.0, 0.1 * _spread(gray))
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    local_mean = cv2.blur(gray.astype(np.float32), (block_size, block_size), borderType=cv2.BORDER_REFLECT)
    # Shift away from the paper: below the local mean for dark ink, above it for bright ink.
    sign = -1.0 if _ink_is_dark(gray) else 1.0
    return local_mean + np.float32(sign * offset)


def binarize(gray: np.ndarray, method: ThresholdMethod = "mean", **options) -> np.ndarray:
    """Threshold a grayscale image.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Not modified.
    method : {'mean', 'otsu', 'adaptive'}
        See ``threshold_value``; ``options`` (``block_size``, ``offset``) are passed on to it.

    Returns
    -------
    binary : (H, W) bool ndarray
        True where the pixel is brighter than the threshold (before any inversion).
    """
    gray = _check_gray(gray)
    return gray > threshold_value(gray, method, **options)


# =================================================================================================
# Step 4: auto-invert
# =================================================================================================


def _skewness(gray: np.ndarray, hist: np.ndarray | None = None) -> float:
    """Third standardised moment of the grey levels, from the histogram (fast on any size)."""
    hist = _histogram(gray) if hist is None else hist
    levels = np.arange(256, dtype=np.float64)
    total = hist.sum()
    mean = (hist * levels).sum() / total
    centred = levels - mean
    var = (hist * centred**2).sum() / total
    if var < 1e-9:
        return 0.0
    return float((hist * centred**3).sum() / total / var**1.5)


def _flat_background(gray: np.ndarray, hist: np.ndarray | None = None) -> int | None:
    """The grey level of a perfectly flat background (drawn digitally: canvas, paint program).

    Returns the level shared by at least 60% of the pixels, or None (photos and scans never have
    one: noise spreads their paper over several levels).
    """
    hist = _histogram(gray) if hist is None else hist
    level = int(np.argmax(hist))
    return level if hist[level] >= FLAT_BACKGROUND_SHARE * gray.size else None


def _even_lighting(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8: each pixel minus its neighbourhood's median level, plus 128.

    The median of a window a third of the picture wide is the paper's level where the ink is the
    minority, so a shadow or a lighting gradient across the page cancels out and the paper lands
    near 128, with the ink on one side of it.
    """
    paper = _wide_level(gray, cv2.medianBlur)
    return np.clip(gray.astype(np.int16) - paper + 128, 0, 255).astype(np.uint8)


def _wide_level(gray: np.ndarray, level_of) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8: a level that follows only what is wider than strokes.

    ``level_of(small, side)`` filters a copy at most ``BACKGROUND_WORK_SIDE`` long with a window
    ``side`` (odd) a third of its long side; the result is brought back to full size. Working on
    the small copy keeps it fast on any photo, and lighting is smooth anyway.
    """
    small = _work_copy(gray)
    return _full_size(level_of(small, _wide_kernel_side(small)), gray.shape)


def _work_copy(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> a copy at most ``BACKGROUND_WORK_SIDE`` long (area-averaged; ``gray`` itself if
    it is no longer)."""
    height, width = gray.shape
    scale = min(1.0, BACKGROUND_WORK_SIDE / max(height, width))
    if scale == 1:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _full_size(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A map made on the work copy, brought back to the picture's (H, W) (bilinear)."""
    if small.shape == shape[:2]:
        return small
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _wide_kernel_side(small: np.ndarray) -> int:
    """The odd window side a third of the work copy's long side (at least 3)."""
    return max(3, int(max(small.shape) * BACKGROUND_KERNEL_FRACTION) | 1)


def _grey_opening(small: np.ndarray, side: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    return cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)


def _ink_is_dark(gray: np.ndarray, hist: np.ndarray | None = None, *, on_sheet: bool = False) -> bool:
    """Whether the ink is darker than the paper.

    Ink is the minority: the grey levels' long tail points towards the ink (negative skewness for
    dark ink). This holds for photos whose border is a dark desk or vignetting, where asking "is the
    border bright?" gets it wrong. When the histogram is nearly symmetric, the tail is looked for
    again with the lighting evened out (a shadow across the page spreads the paper's own levels
    and hides it; not first, because evening out also brightens the paper's edges against a dark
    desk). When that is symmetric too (tight crops where the ink covers about half the picture) the
    border decides: most of it is background. But ``on_sheet`` (a picture cropped to a sheet found on a
    desk) the border is all paper, and a lamp to one side can put half of it below Otsu's level, so the
    evened-out tail's side decides instead, however short.
    """
    hist = _histogram(gray) if hist is None else hist
    flat = _flat_background(gray, hist)
    if flat is not None:
        levels = np.arange(256)
        darker, lighter = hist[levels < flat].sum(), hist[levels > flat].sum()
        return bool(darker > lighter) if darker != lighter else flat >= 128
    skew = _skewness(gray, hist)
    if abs(skew) >= SKEW_DECIDES:
        return skew < 0
    skew = _skewness(_even_lighting(gray))
    if abs(skew) >= EVEN_SKEW_DECIDES or on_sheet:
        return skew < 0
    return _border_brightness(gray)[0]


def _border_brightness(gray: np.ndarray) -> tuple[bool, bool]:
    """Whether most of the outermost rows and columns are on the bright side of Otsu's level, and
    whether sides were left out as a desk.

    Sides that are dark nearly all along are left out when another side is bright nearly all along:
    that is a desk beside the page or a shadow over part of it, not a dark background (a dark
    background darkens every side).
    """
    level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    sides = [side > level for side in (gray[0], gray[-1], gray[:, 0], gray[:, -1])]
    shares = [float(side.mean()) for side in sides]
    desk = max(shares) >= BAND_SIDE_SHARE and min(shares) <= 1 - BAND_SIDE_SHARE
    if desk:
        sides = [side for side, share in zip(sides, shares) if share > 1 - BAND_SIDE_SHARE]
    bright = bool(np.mean(np.concatenate(sides)) >= 0.5)
    return bright, desk and bright


def auto_invert(gray: np.ndarray, binary: np.ndarray) -> Inversion:
    """Make the ink bright on black, like MNIST, and say why.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
        Grayscale image. Not modified.
    binary : (H, W) bool ndarray
        ``binarize(gray)``: True = brighter than the threshold.

    Returns
    -------
    Inversion
        ``gray`` with ink bright, the ink mask, whether it was inverted and a one-sentence reason.
    """
    gray = _check_gray(gray)
    if not isinstance(binary, np.ndarray) or binary.shape != gray.shape:
        raise ValueError(f"binary must be an array of shape {gray.shape}, got {getattr(binary, 'shape', binary)}")
    return _auto_invert(gray, binary.astype(bool, copy=False), _histogram(gray))


def _auto_invert(gray: np.ndarray, binary: np.ndarray, hist: np.ndarray, dark_ink: bool | None = None, *,
                 on_sheet: bool = False) -> Inversion:
    """``auto_invert``; ``dark_ink``: ``_ink_is_dark(gray, hist)`` when the caller has it already;
    ``on_sheet``: ``gray`` is a crop to a sheet found on a desk (the reason says so)."""
    if dark_ink is None:
        dark_ink = _ink_is_dark(gray, hist, on_sheet=on_sheet)
    border_bright, desk = _border_brightness(gray)
    if on_sheet:
        if dark_ink:
            reason = ("The picture was cropped to the sheet of paper, and the marks on it are darker than the paper: "
                      "inverted so the ink is bright like MNIST.")
            return Inversion(gray=255 - gray, ink=~binary, inverted=True, reason=reason)
        reason = ("The picture was cropped to the sheet, and the marks on it are brighter than the sheet: kept as it "
                  "is, the ink is already bright like MNIST.")
        return Inversion(gray=gray.copy(), ink=binary.copy(), inverted=False, reason=reason)
    if dark_ink:
        if desk:
            reason = (
                "Some sides of the picture are light paper all along and the others dark (a desk beside the "
                "page, or a shadow over part of it), so the ink is dark on light paper: inverted so the ink is "
                "bright like MNIST."
            )
        elif border_bright:
            reason = (
                "The border is mostly bright, so the background is light paper: inverted so the ink is "
                "bright like MNIST."
            )
        else:
            reason = (
                "Most of the picture is lighter than the strokes (the dark border is a desk or a shadow), "
                "so the ink is dark on light paper: inverted so the ink is bright like MNIST."
            )
        return Inversion(gray=255 - gray, ink=~binary, inverted=True, reason=reason)
    if not border_bright:
        reason = (
            "The border is mostly dark, so the background is dark: kept as it is, the ink is already "
            "bright like MNIST."
        )
    else:
        reason = (
            "Most of the picture is darker than the strokes, so the ink is already bright like MNIST: "
            "kept as it is."
        )
    return Inversion(gray=gray.copy(), ink=binary.copy(), inverted=False, reason=reason)


# =================================================================================================
# Cleaning: ink must stand out from the paper around it
# =================================================================================================


def local_contrast(ink_gray: np.ndarray, *, inverted: bool = True) -> np.ndarray:
    """How much brighter each pixel is than the background around it (a morphological top-hat).

    Parameters
    ----------
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright (after ``auto_invert``). Not modified.
    inverted : bool, keyword-only
        Whether ``ink_gray`` is the inverted picture of dark ink on light paper
        (``auto_invert(...).inverted``). Only then does a shadow dim the ink's contrast along with
        the paper, so only then is the contrast scaled back up (see below); light ink on a dark
        background is measured as it is.

    Returns
    -------
    contrast : (H, W) uint8 ndarray
        The pixel minus the local background level; for dark ink on paper scaled up where the
        paper is in shadow (by 255 / the paper's brightness, at most ``MAX_SHADOW_GAIN`` times), so
        the same stroke stands out as much in the shadow as in the light. The background is the grey-level opening
        of a small copy with a kernel a third of the picture's long side: strokes narrower than that
        vanish from it, while shadows, vignetting and lighting gradients (wider) stay, so they
        cancel out here. Where the ink's strokes can be measured, anything wider than
        ``STROKE_KERNEL_FACTOR`` stroke widths counts as background as well (the larger of the two
        openings): the narrow end of a sharp-edged shadow cancels out too, not only its wide part.
    """
    ink_gray = _check_gray(ink_gray, "ink_gray")
    small = _work_copy(ink_gray)
    level = _background_level(small, _wide_background(small))
    return _contrast_over(ink_gray, _full_size(level, ink_gray.shape), inverted)


def _wide_background(small: np.ndarray) -> np.ndarray:
    """(h, w) uint8 work copy (``_work_copy``), ink bright -> (h, w) uint8: the background level that
    follows only what is wider than a third of the picture (the grey opening)."""
    return _grey_opening(small, _wide_kernel_side(small))


def _background_level(small: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """(h, w) uint8 work copy, ink bright, and its ``_wide_background`` -> (h, w) uint8: the background
    level around each pixel, following also what is wider than ``STROKE_KERNEL_FACTOR`` strokes where
    the strokes can be measured (see ``local_contrast``)."""
    wide_side = _wide_kernel_side(small)
    above_wide = cv2.subtract(small, wide)
    stroke = _typical_thickness(above_wide, wide_side)
    if stroke is not None:
        # The measured width is the widest odd disc that fits (``_typical_thickness``); one pixel means
        # anything under three, so such strokes count as two wide: twice one pixel left strokes of
        # two in the background, and lines beside them lost their contrast.
        side = int(round(STROKE_KERNEL_FACTOR * max(stroke, 2))) | 1
        if side < wide_side:
            fine = np.maximum(wide, _grey_opening(small, side))
            knots = _knots(above_wide, fine, wide, side)
            return fine if knots is None else np.where(knots, wide, fine)
    return wide


def _knots(above_wide: np.ndarray, fine: np.ndarray, wide: np.ndarray, side: int) -> np.ndarray | None:
    """(h, w) bool: where the fine background scale (``fine``, kernel ``side``) rises above the ``wide``
    one in a patch that is ink, not background; None when there is none. Such a patch is at most
    ``KNOT_SIDES`` fine kernels across, stands out from the wide level as ink does (most of it at
    least ``_ink_contrast_level``: paper texture and sensor noise in a dim corner do not), and all
    round it the wide level stays below the fine level inside it: strokes meeting in a knot, a blot,
    or a stroke crossing where two printed lines cross. A shadow's narrow end runs on into its wide
    part, where the wide level catches up. All (h, w) uint8; ``above_wide`` is the work copy (ink
    bright) less ``wide``."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (cv2.subtract(fine, wide) >= MIN_INK_CONTRAST).astype(np.uint8), connectivity=8)
    ink_level = _ink_contrast_level(above_wide) if count > 1 else None
    if ink_level is None:
        return None
    knots = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if area >= (KNOT_SIDES * side) ** 2:
            continue
        box = (slice(max(0, y - 1), y + h + 1), slice(max(0, x - 1), x + w + 1))
        patch = labels[box] == i
        if np.median(above_wide[box][patch]) < ink_level:
            continue
        ring = cv2.dilate(patch.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~patch
        if not ring.any():
            continue  # the patch is the whole picture
        inside_fine, inside_wide = float(fine[box][patch].mean()), float(wide[box][patch].mean())
        knots[i] = wide[box][ring].max() < (inside_fine + inside_wide) / 2
    return knots[labels] if knots.any() else None


def _contrast_over(ink_gray: np.ndarray, level: np.ndarray, inverted: bool) -> np.ndarray:
    """(H, W) uint8 ink bright, its background level -> (H, W) uint8 local contrast (``local_contrast``)."""
    if not inverted:
        return cv2.subtract(ink_gray, level)
    # Light multiplies: in a shadow the paper and the ink both get less of it, and their difference
    # shrinks with it. Scaled back to full light, a pencil stroke in the shadow counts as much as
    # the same stroke beside it.
    paper_light = np.maximum(255 - level.astype(np.float32), 255 / MAX_SHADOW_GAIN)
    contrast = (ink_gray.astype(np.float32) - level) * (255 / paper_light)
    return np.clip(contrast, 0, 255).astype(np.uint8)


def _typical_thickness(contrast: np.ndarray, most: int) -> int | None:
    """The median local thickness, in pixels, of the ink standing out in ``contrast`` ((H, W) uint8).

    The widest disc (odd diameter, at most ``most``) that fits around at least half of the ink's
    pixels: an opening with it keeps half the ink. Strokes give their own width; specks of paper
    texture and pits in a textured marker stroke only pull it down a little, and a shadow's wedge
    (as wide as it is long) only pushes it up, which makes the second background scale safer still.
    Ruled or squared paper's lines are left out (``_remove_rule_lines``): in a small photo they can be
    most of the ink, and at their width the background would swallow a felt pen's strokes.
    None when nothing stands out clearly.
    """
    level = _ink_contrast_level(contrast)
    if level is None:
        return None
    ink = (contrast >= level).astype(np.uint8)
    strokes = _remove_rule_lines(ink)
    if np.count_nonzero(strokes) >= MIN_INK_PIXELS:
        ink = strokes
    half = np.count_nonzero(ink) / 2
    thickness = 1
    for side in range(3, most + 1, 2):
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        if np.count_nonzero(cv2.morphologyEx(ink, cv2.MORPH_OPEN, disc)) < half:
            break
        thickness = side
    return thickness


def _strong_ink_level(contrast: np.ndarray) -> float:
    """The local contrast of clearly visible ink: a high percentile of the pixels that stand out at all.

    Only pixels at least ``MIN_INK_CONTRAST`` off the paper count, so a thin pen line covering 0.1% of
    a big photo sets the level as surely as a thick marker; unless the picture's top 0.3% stand out
    more (paper texture outnumbering the ink). 0 when too few pixels stand out.
    """
    hist = _histogram(contrast)
    standing_out = hist[MIN_INK_CONTRAST:].cumsum()
    if standing_out[-1] < MIN_INK_PIXELS:
        return 0.0
    of_those = MIN_INK_CONTRAST + np.searchsorted(standing_out, STRONG_INK_PERCENTILE / 100 * standing_out[-1])
    # Paper texture can outnumber the ink among the pixels standing out; then the top pixels of the
    # whole picture (a fixed share of it, mostly ink) tell the ink's contrast better.
    overall = np.searchsorted(hist.cumsum(), TOP_PIXELS_PERCENTILE / 100 * hist.sum())
    return float(max(of_those, overall))


def clean_ink(ink: np.ndarray, ink_gray: np.ndarray, *, inverted: bool = True) -> np.ndarray:
    """Keep the threshold's ink pixels that also stand out locally.

    Parameters
    ----------
    ink : (H, W) bool ndarray
        Ink pixels from the threshold (``auto_invert(...).ink``). Not modified.
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright.
    inverted : bool, keyword-only
        Whether the ink was dark on light paper (``auto_invert(...).inverted``); see
        ``local_contrast``.

    Returns
    -------
    ink : (H, W) bool ndarray
        Ink whose local contrast (``local_contrast``; for a flat digital background simply the
        difference from it) is at least 30% of the strong ink's and at least 12 grey levels: drops
        shadows, vignetting, paper texture and faint erasures. All False when nothing stands out.
    """
    ink = _check_mask(ink, "ink")
    ink_gray = _check_gray(ink_gray, "ink_gray")
    return _clean_ink(ink, ink_gray, _flat_background(ink_gray), inverted)


def _clean_ink(ink: np.ndarray, ink_gray: np.ndarray, flat: int | None, inverted: bool) -> np.ndarray:
    if flat is not None:
        # Drawn digitally, or scanned with the paper clipped to white: the background level itself is
        # the reference. Except where a shadow lies over part of it (a scan's binding, a phone's
        # shadow): there the background is darker than the flat level, and measured locally.
        shift = np.clip(np.arange(256) - flat, 0, 255).astype(np.uint8)
        contrast = cv2.LUT(ink_gray, shift)
        small = _work_copy(ink_gray)
        wide = _wide_background(small)
        in_shadow = wide >= flat + MIN_INK_CONTRAST
        if in_shadow.any():
            # A shadow is wider than strokes: the fine scale only extends it (to its narrow end), or a
            # bold stroke's junction or a small picture's whole stroke would count as shadow.
            level = _background_level(small, wide)
            shaded = _grown_from(level >= flat + MIN_INK_CONTRAST, in_shadow)
            shaded = _full_size(shaded.astype(np.uint8) * 255, ink_gray.shape) > 0
            local = _contrast_over(ink_gray, _full_size(level, ink_gray.shape), inverted)
            contrast = np.where(shaded, local, contrast)
    else:
        contrast = local_contrast(ink_gray, inverted=inverted)
    level = _ink_contrast_level(contrast)
    if level is None:
        return np.zeros(ink.shape, bool)
    return ink & (contrast >= level)


def _grown_from(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """(h, w) bool: the parts of ``mask`` (8-connected) that hold a pixel of ``seeds``."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[labels[mask & seeds]] = True
    keep[0] = False
    return keep[labels]


def _ink_contrast_level(contrast: np.ndarray) -> float | None:
    """The local contrast a pixel needs to count as ink: 30% of the strong ink's, at least
    ``MIN_INK_CONTRAST``; None when nothing stands out clearly (a blank picture)."""
    strong = _strong_ink_level(contrast)
    if strong < 2 * MIN_INK_CONTRAST:
        return None
    return max(MIN_INK_CONTRAST, INK_CONTRAST_SHARE * strong)


# =================================================================================================
# Step 5: locate the ink
# =================================================================================================


@dataclass(frozen=True)
class _Components:
    """Connected components of a mask, with the measurements the selection rules need."""

    labels: np.ndarray  # (H, W) int32, 0 = background
    stats: np.ndarray  # (n, 5) int32: x, y, w, h, area (row 0 = background)
    centroids: np.ndarray  # (n, 2) float64

    @cached_property
    def border_counts(self) -> np.ndarray:
        """(4, n) int64: each component's pixels in the top row, bottom row, left and right column."""
        labels = self.labels
        return np.stack([np.bincount(side, minlength=self.count)
                         for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1])])

    @property
    def count(self) -> int:
        return len(self.stats)

    def box(self, index: int) -> Box:
        x, y, w, h, _ = (int(v) for v in self.stats[index])
        return Box(x, y, w, h)

    def area(self, index: int) -> int:
        return int(self.stats[index, cv2.CC_STAT_AREA])

    def stroke_width(self, index: int) -> float:
        """2 * area / perimeter of one component, in pixels."""
        box = self.box(index)
        return _stroke_width(self.labels[box.slices] == index)


def _closing_kernel(shape: tuple[int, ...], fraction: float = CLOSING_FRACTION) -> np.ndarray | None:
    side = int(round(min(shape[:2]) * fraction))
    if side < 2:
        return None
    side |= 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def _close(ink: np.ndarray, fraction: float = CLOSING_FRACTION) -> np.ndarray:
    """(H, W) uint8 0/1 mask: ruled lines erased, then strokes broken by light pencil, JPEG noise or
    the erased lines joined again (a closing scaled to the image size)."""
    kernel = _closing_kernel(ink.shape, fraction)
    mask = _remove_rule_lines(ink.astype(np.uint8))
    if kernel is not None:
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    return mask


def _remove_rule_lines(mask: np.ndarray) -> np.ndarray:
    """Erase ruled or grid lines that cross the digit (lined paper, squared paper).

    A line is a straight run of ink spanning most of the picture (slightly tilted lines in photos
    are caught by thickening the mask across the line first; a picture photographed at a tilt is
    levelled by its lines' own tilt), thinner than the strokes, that reaches well beyond the rest of
    the ink on both ends; the stem of a "1" or the bar of a "7" in a tight crop does not: the digit
    ends where they end, and they are as thick as its other strokes. Only the line's own thin pixels
    are erased, so strokes crossing it stay whole; where squared paper's lines cross, what is left
    on its own goes too.
    Returns ``mask`` itself when there are no lines.
    """
    height, width = mask.shape
    if (min(height, width) < 2 * MIN_IMAGE_SIDE
            or max(mask.any(axis=0).mean(), mask.any(axis=1).mean()) < RULE_LINE_SPAN):
        return mask  # no ink spans the picture either way: no line
    # Photographed at a tilt, a grid's lines are looked for on the picture levelled by their tilt:
    # levelled only by thickening, the crossing lines would join pieces of several lines into
    # staircases that span the picture.
    tilt = _rule_tilt(mask)
    if tilt is None:
        erase = _rule_lines_to_erase(mask)
    else:
        turned, exact, within, back = _levelled(mask, tilt)
        erase = _rule_lines_to_erase(turned, within, exact, least=TILTED_RULE_LINES)
        if erase is not None:  # back to the picture; turning there and back moves a pixel by up to one,
            # so the lines are widened by one, but not into what stays of the strokes
            size = (width, height)
            kept = cv2.warpAffine(exact & (1 - erase), back, size, flags=cv2.INTER_NEAREST)
            erase = cv2.dilate(cv2.warpAffine(erase, back, size, flags=cv2.INTER_NEAREST),
                               np.ones((3, 3), np.uint8)) & mask & (1 - kept)
    return mask if erase is None else mask & (1 - erase)


def _rule_lines_to_erase(mask: np.ndarray, within: np.ndarray | None = None, exact: np.ndarray | None = None, *,
                         least: int = 1) -> np.ndarray | None:
    """(H, W) uint8: the pixels of level and upright rule lines in ``mask`` that are not the digit's
    own strokes (see ``_remove_rule_lines``); None when there are fewer than ``least`` such lines
    either way.
    For a picture turned into a larger frame (``_levelled``), ``within`` ((H, W) bool) is the part of
    the frame it covers and ``exact`` the mask turned pixel for pixel, on which strokes and lines are
    measured."""
    height, width = mask.shape
    found = []
    for horizontal in (True, False):
        reach = None if within is None else np.count_nonzero(within, axis=1 if horizontal else 0)
        lines, thin = _rule_lines(mask, horizontal=horizontal, reach=reach)
        if thin.any():
            found.append((_components(lines), thin, horizontal))
    if not found:
        return None
    exact = mask if exact is None else exact
    rest = exact.copy()
    for _, thin, _ in found:
        rest &= 1 - thin
    longest_line = max(lines.area(i) for lines, _, _ in found for i in range(1, lines.count))
    if np.count_nonzero(rest) < LINE_KEEP_SHARE * longest_line:
        return None  # the "lines" are all there is: a tight crop of a 1, not ruled paper
    edge = None
    if within is not None:  # the picture's own edge in the larger frame
        inner = cv2.erode(within.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0)
        edge = within & (inner == 0)
    ink_box, main_ink = _main_ink(rest, edge, sliver=max(EDGE_SLIVER_MIN, round(EDGE_SLIVER * min(height, width))))
    stroke_width = _stroke_width(main_ink)
    erase, erased = np.zeros_like(mask), [0, 0]
    # Each way separately: squared paper's lines cross, and a whole grid would be one "line" as
    # thick as its area over its width.
    for lines, thin, horizontal in found:
        digit_parts = []
        depths, ruled_depth = _line_depths(lines, exact, horizontal), 0.0
        extents = lines.stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT]
        long = [i for i in range(1, lines.count) if extents[i] >= LINE_RUN_FRACTION * (width if horizontal else height)]
        if len(long) >= RULED_FAMILY:
            # Printed lines are alike: a line no deeper than most of them is one of them, even when a
            # pencil's strokes are as fine (the digit's own straight strokes are rarely as thin as
            # the print and never in step with it).
            ruled_depth = RULED_DEPTH_SLACK * float(np.median(depths[long]))
        for i in range(1, lines.count):
            box = lines.box(i)
            if horizontal:
                start, end, ink_start, ink_end, length = box.x, box.x + box.w, ink_box.x, ink_box.x + ink_box.w, width
                away = max(ink_box.y - box.y - box.h, box.y - ink_box.y - ink_box.h) / height
            else:
                start, end, ink_start, ink_end, length = box.y, box.y + box.h, ink_box.y, ink_box.y + ink_box.h, height
                away = max(ink_box.x - box.x - box.w, box.x - ink_box.x - ink_box.w) / width
            if depths[i] > max(LINE_THICKNESS_SHARE * stroke_width, ruled_depth):
                digit_parts.append(i)  # as thick as the strokes: part of the digit
            elif away <= LINE_BEYOND_INK and min(ink_start - start, end - ink_end) / length < LINE_BEYOND_INK:
                digit_parts.append(i)  # ends with the digit: part of it (unless well away from it: a tilted
                # line across a corner of the picture is short)
            elif end - start >= LINE_RUN_FRACTION * length:
                erased[horizontal] += 1  # a line, not a bit of one
        erase |= thin & ~_labels_mask(lines, digit_parts) if digit_parts else thin
    if len(found) == 2 and erase.any():
        # Where squared paper's lines cross, each is deeper across than a line: neither way erases it.
        # What is left there on its own, not joined to a stroke, goes too.
        crossings = (found[0][0].labels > 0) & (found[1][0].labels > 0)
        left = _components(mask & (1 - erase))
        inside = np.bincount(left.labels[crossings], minlength=left.count)
        alone = inside == left.stats[:, cv2.CC_STAT_AREA]
        alone[0] = False
        erase |= alone[left.labels].astype(np.uint8)
    return erase if max(erased) >= least and erase.any() else None


def _line_depths(lines: _Components, exact: np.ndarray, horizontal: bool) -> np.ndarray:
    """(n,) float64: each line's typical depth across, in pixels of ``exact`` ((H, W) uint8), the median
    over its length (where strokes or other lines cross it, it is deeper); 0 for the background."""
    depths = np.zeros(lines.count)
    for i in range(1, lines.count):
        box = lines.box(i)
        line = (lines.labels[box.slices] == i) & (exact[box.slices] > 0)
        depths[i] = np.median(np.count_nonzero(line, axis=0 if horizontal else 1))
    return depths


def _shrunk_mask(mask: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    """(H, W) uint8 0/1 -> a copy at most ``longest`` pixels long in which any ink in a block keeps the
    block (thin lines survive the shrinking; ``mask`` itself if it is no longer), and its scale."""
    height, width = mask.shape
    scale = min(1.0, longest / max(height, width))
    if scale == 1:
        return mask, scale
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return (cv2.resize(mask * 255, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8), scale


def _rule_tilt(mask: np.ndarray) -> float | None:
    """The angle in degrees (counter-clockwise, as ``cv2.getRotationMatrix2D`` takes it) that levels
    the picture's long straight lines, when at least two of them agree on it (ruled or squared paper
    photographed at a tilt); None when there are no such lines, or they are level already.
    """
    small, _ = _shrunk_mask(mask, TILT_WORK_SIDE)
    side = min(small.shape)
    if side < MIN_IMAGE_SIDE:
        return None
    segments = cv2.HoughLinesP(small, 1, np.pi / 180, threshold=max(8, side // 4), minLineLength=side / 2,
                               maxLineGap=max(2, side // 50))
    if segments is None:
        return None
    x0, y0, x1, y1 = segments[:, 0].T.astype(np.float64)
    off_axis = (np.degrees(np.arctan2(y1 - y0, x1 - x0)) + 45) % 90 - 45  # from the nearest axis, clockwise
    off_axis = off_axis[(np.abs(off_axis) >= RULE_MIN_TILT) & (np.abs(off_axis) <= RULE_MAX_TILT)]
    if len(off_axis) < 2:
        return None
    agreeing = off_axis[np.abs(off_axis - np.median(off_axis)) <= RULE_TILT_AGREE]
    return float(np.median(agreeing)) if len(agreeing) >= 2 else None


def _levelled(mask: np.ndarray, tilt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``mask`` turned by ``tilt`` degrees about its centre into a frame large enough to hold all of it:
    ``(turned, exact, within, back)``: the turned (h, w) uint8 mask with its thin lines kept whole
    (a pixel wider), the same turned pixel for pixel (as wide as they were, but gappy), the (h, w)
    bool part of the frame the picture covers, and the (2, 3) matrix that turns the frame back."""
    height, width = mask.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), tilt, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    turn[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    # Interpolated, not nearest: a one-pixel line's staircase would come out of the turn in pieces.
    turned = (cv2.warpAffine(mask * 255, turn, size, flags=cv2.INTER_LINEAR) >= 64).astype(np.uint8)
    exact = cv2.warpAffine(mask, turn, size, flags=cv2.INTER_NEAREST)
    within = cv2.warpAffine(np.ones_like(mask), turn, size, flags=cv2.INTER_NEAREST) > 0
    return turned, exact, within, cv2.invertAffineTransform(turn)


def _rule_lines(mask: np.ndarray, *, horizontal: bool, reach: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Straight lines spanning most of the picture one way: ``(lines, thin)``, (H, W) uint8 each.

    ``lines`` holds the lines' pixels, ``thin`` only those no thicker across than the lines are (the
    pixels where strokes cross a line are left out of it). Lines are found on a copy at most
    ``LINE_WORK_SIDE`` pixels long (long kernels are slow on big photos), their pixels at full size.
    ``reach`` ((H,) for level lines, (W,) for upright ones) is how long a line in each row (column)
    can be, by default the picture's width (height) everywhere.
    """
    height, width = mask.shape
    nothing = np.zeros_like(mask)
    span = (width if horizontal else height) if reach is None else float(reach.max())
    if (min(height, width) < 2 * MIN_IMAGE_SIDE
            or np.count_nonzero(mask.any(axis=0 if horizontal else 1)) < RULE_LINE_SPAN * span):
        return nothing, nothing  # no ink spans the picture this way: no line
    small, scale = _shrunk_mask(mask, LINE_WORK_SIDE)
    across = small.shape[0] if horizontal else small.shape[1]
    length = span * scale
    tilt = max(1, int(round(LINE_TILT_TOLERANCE * across)))
    run = max(3, int(round(LINE_RUN_FRACTION * length)))

    def kernel(along: int, thick: int) -> np.ndarray:  # OpenCV sizes are (width, height)
        return cv2.getStructuringElement(cv2.MORPH_RECT, (along, thick) if horizontal else (thick, along))

    thickened = cv2.dilate(small, kernel(1, 2 * tilt + 1))
    runs = cv2.morphologyEx(thickened, cv2.MORPH_OPEN, kernel(run, 1)) & small
    comps = _components(runs)
    extents = {i: comps.box(i).w if horizontal else comps.box(i).h for i in range(1, comps.count)}
    if reach is None:
        spans = [i for i, extent in extents.items() if extent >= RULE_LINE_SPAN * length]
    else:  # the reach where the line runs (its centre's row or column, back at full size)
        where = comps.centroids[:, 1 if horizontal else 0] / scale
        at = np.clip(where.astype(int), 0, len(reach) - 1)
        spans = [i for i, extent in extents.items() if extent >= RULE_LINE_SPAN * reach[at[i]] * scale]
    if not spans:
        return nothing, nothing
    found = _labels_mask(comps, spans).astype(np.uint8)
    if scale < 1:
        found = cv2.resize(found, (width, height), interpolation=cv2.INTER_NEAREST)
        block = int(np.ceil(1 / scale)) + 1
        found = cv2.dilate(found, np.ones((block, block), np.uint8)) & mask
    # The lines' thickness; pixels in thicker runs across the line belong to strokes crossing it.
    total_length = sum(extents[i] for i in spans) / scale
    thickness = max(1, int(round(np.count_nonzero(found) / total_length)))
    crossing = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel(1, thickness + 2))
    return found, found & (1 - crossing)


def _labels_mask(comps: _Components, labels: list[int]) -> np.ndarray:
    """(H, W) bool: the pixels of the given components (a lookup table: faster than np.isin)."""
    table = np.zeros(comps.count, bool)
    table[labels] = True
    return table[comps.labels]


def _main_ink(mask: np.ndarray, edge: np.ndarray | None = None, *, sliver: int = 0) -> tuple[Box, np.ndarray]:
    """The sizeable components of ``mask`` ((H, W) uint8), a tenth of the largest or more: their box and
    (H, W) uint8 mask. Leftover bits of lines (a grid's crossings, a line's stub) are ignored, so
    they neither stretch the box nor make the strokes look thinner. Smaller ones are ignored too
    when they lie within ``sliver`` pixels of one side of the frame (a line half cut off there is in
    bits too short to be found as a line), and in a turned picture when they touch its ``edge``
    ((H, W) bool): a corner of desk, or a line's end beyond the corner of the frame it was found in."""
    comps = _components(mask)
    indices = range(1, comps.count)
    largest = max(indices, key=comps.area)
    at_edge = np.zeros(comps.count, bool)
    if edge is not None:
        at_edge[comps.labels[edge]] = True
    if sliver:
        height, width = mask.shape
        x, y, w, h = (comps.stats[:, k] for k in range(4))
        at_edge |= (y + h <= sliver) | (y >= height - sliver) | (x + w <= sliver) | (x >= width - sliver)
    kept = [i for i in indices if comps.area(i) >= 0.1 * comps.area(largest) and (i == largest or not at_edge[i])]
    box = comps.box(kept[0])
    for other in kept[1:]:
        box = box.union(comps.box(other))
    return box, _labels_mask(comps, kept).astype(np.uint8)


def _components(mask: np.ndarray) -> _Components:
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return _Components(labels, stats, centroids)


def _touches_border(box: Box, shape: tuple[int, ...]) -> bool:
    height, width = shape[:2]
    return box.x == 0 or box.y == 0 or box.x + box.w >= width or box.y + box.h >= height


def _is_line(comps: _Components, index: int, shape: tuple[int, ...]) -> bool:
    """A grid or rule line: runs (nearly) edge to edge one way, is thin the other way, and is straight.

    Lines that stop short of the edges are kept: the long stem of a thin-pen 4 or 1 looks the same.
    Lines that meet or cross (a grid cell's corner) are one component, so straightness is measured
    along both axes (``_is_straight``); a thin-pen 0 or a looped 1 that fills the crop is as
    elongated by this measure, but its ink curves.
    """
    box, area = comps.box(index), comps.area(index)
    height, width = shape[:2]
    if box.w >= box.h:
        long_side, span, start, end = box.w, width, box.x, box.x + box.w
    else:
        long_side, span, start, end = box.h, height, box.y, box.y + box.h
    edge_to_edge = start <= LINE_EDGE_SLACK * span and end >= (1 - LINE_EDGE_SLACK) * span
    thickness = area / max(long_side, 1)
    if not ((edge_to_edge or long_side >= LINE_SPAN * span) and long_side >= LINE_ELONGATION * thickness):
        return False
    return _is_straight(comps.labels[box.slices] == index)


def _is_straight(pixels: np.ndarray) -> bool:
    """Whether the True pixels of ``pixels`` (a component's box, (h, w) bool) form straight lines.

    Either ``LINE_STRAIGHT_SHARE`` of them lie on horizontal or vertical runs at least
    ``LINE_STRAIGHT_RUN`` of the box's extent that way long, after thickening across by
    ``LINE_STRAIGHT_TILT`` of that length on each side (grid lines, which may meet or cross), or
    they spread across their principal direction less than ``LINE_MAX_SPREAD`` times as far as
    along it (one line at any slant).
    """
    mask = pixels.astype(np.uint8)
    on_runs = np.zeros(mask.shape, bool)
    for axis in (0, 1):  # 0: vertical runs, 1: horizontal runs
        length = mask.shape[axis]
        tilt = max(1, int(round(LINE_STRAIGHT_TILT * length)))
        run = max(3, int(round(LINE_STRAIGHT_RUN * length)))
        # OpenCV sizes are (width, height): a vertical run is thickened sideways, and vice versa.
        across, along = ((2 * tilt + 1, 1), (1, run)) if axis == 0 else ((1, 2 * tilt + 1), (run, 1))
        thickened = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, across))
        runs = cv2.morphologyEx(thickened, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, along))
        on_runs |= (runs > 0) & pixels
    count = int(pixels.sum())
    if count < 3 or on_runs.sum() >= LINE_STRAIGHT_SHARE * count:
        return True
    ys, xs = np.nonzero(pixels)
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return bool(spread[0] <= LINE_MAX_SPREAD**2 * spread[1])


def _is_background_blob(
    comps: _Components, index: int, shape: tuple[int, ...], stroke_width: float | None = None
) -> tuple[bool, bool]:
    """Whether a component is a big border-touching region (desk, shadow, page edge), not strokes.

    Returns ``(blob, sure)``. It is a blob when it is thick for its size (2 * area / perimeter over
    a fifth of its long side; strokes, even a thick painted 0 cropped tight, stay below) or far
    thicker than the digit's strokes (``stroke_width``, the largest interior component's). The second
    test is ``sure``: a desk frame around the paper is thin for its size but 20x thicker than a pen.
    """
    box, area = comps.box(index), comps.area(index)
    height, width = shape[:2]
    if not _touches_border(box, shape) or area < BACKGROUND_BLOB_SHARE * height * width:
        return False, False
    thickness = comps.stroke_width(index)
    sure = stroke_width is not None and thickness >= BLOB_STROKE_RATIO * stroke_width
    return sure or thickness >= BLOB_THICKNESS * max(box.w, box.h), sure


def _desk_bands(
    comps: _Components, indices: list[int], shape: tuple[int, ...], reference: float | None
) -> list[int]:
    """The components that lie along a side of the picture beside a digit: the desk or a shadow
    beyond the page's edge (see ``BAND_SIDE_SHARE``). ``reference``: the stroke width of the digit
    away from the border, if there is one."""
    height, width = comps.labels.shape
    side_lengths = np.array([width, width, height, height])[:, None]
    lying = (comps.border_counts >= BAND_SIDE_SHARE * side_lengths).any(axis=0)
    along = [i for i in indices if lying[i]]
    sizeable = SIGNIFICANT_SIDE * min(shape[:2])
    others = [i for i in indices if i not in along and max(comps.box(i).w, comps.box(i).h) >= sizeable]
    if not along or not others:
        return []
    if reference is not None:
        return along
    thinnest = BAND_STROKE_RATIO * comps.stroke_width(max(others, key=comps.area))
    return [i for i in along if comps.stroke_width(i) >= thinnest]


def _desk_wedges(comps: _Components, indices: list[int], stroke_width: float, size: float,
                 sheet_contact: np.ndarray | None = None) -> set[int]:
    """The components of a whole number's picture that lie along its edge and are far thicker
    (``stroke_width``) or longer (``size``, the long side) than the digits away from the edge: the
    desk's corners and strips beside a turned sheet, and the sheet's edge (see ``WEDGE_CONTACT_SHARE``).
    ``sheet_contact`` (see ``_sheet_edge_contact``) adds the outline of a sheet found on a desk to the
    edge: desk just beyond the sheet, brighter than the rest, can fall inside that outline. The edge
    of such a crop is the sheet's, so a component flush with it all along is the sheet's shaded rim,
    however thin."""
    contact = comps.border_counts.sum(axis=0)
    if sheet_contact is not None:
        contact = contact + sheet_contact
    wedges = set()
    for i in indices:
        box = comps.box(i)
        long_side = max(box.w, box.h)
        if contact[i] < WEDGE_CONTACT_SHARE * long_side:
            continue
        width = comps.stroke_width(i)
        flush = contact[i] >= EDGE_FLUSH_SHARE * long_side
        if long_side >= WEDGE_LENGTH_RATIO * size or width >= WEDGE_STROKE_RATIO * stroke_width:
            wedges.add(i)
        elif flush and (sheet_contact is not None or width <= EDGE_THIN_RATIO * stroke_width):
            wedges.add(i)  # the sheet's edge: flush with the picture's all along, and thinner than any stroke
        elif _fills_corner(comps, i):
            wedges.add(i)
    return wedges


def _fills_corner(comps: _Components, index: int) -> bool:
    """Whether component ``index`` is a solid right triangle in a corner of the picture, its legs
    along the two sides there: the desk beyond a sheet's edge that crosses the corner
    (see ``CORNER_SOLIDITY``)."""
    height, width = comps.labels.shape
    box = comps.box(index)
    top, bottom, left, right = comps.border_counts[:, index]
    across = top if box.y == 0 else bottom if box.y + box.h == height else 0
    down = left if box.x == 0 else right if box.x + box.w == width else 0
    if across < EDGE_FLUSH_SHARE * box.w or down < EDGE_FLUSH_SHARE * box.h:
        return False
    area = comps.area(index)
    if not CORNER_FILL[0] <= area / (box.w * box.h) <= CORNER_FILL[1]:
        return False
    hull = cv2.convexHull(cv2.findNonZero((comps.labels[box.slices] == index).astype(np.uint8)))
    hull_pixels = cv2.contourArea(hull) + cv2.arcLength(hull, True) / 2 + 1  # Pick: the pixels, not their centres' area
    return area >= CORNER_SOLIDITY * hull_pixels


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they overlap)."""
    dx = max(0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
    dy = max(0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
    return float(np.hypot(dx, dy))


def _select_digit(ink: np.ndarray) -> tuple[np.ndarray, Box] | None:
    """The components that make up the digit, as a mask, and their box; None when there is no ink."""
    mask = _cut_desk_strips(_close(ink))
    comps = _components(mask)
    candidates = _without_marks(comps, _digit_candidates(comps, mask.shape))
    if not candidates:
        return None
    keep, box = _assemble_digit(comps, candidates, mask.shape)
    return _labels_mask(comps, keep), box


def _cut_desk_strips(mask: np.ndarray) -> np.ndarray:
    """Cut strips of desk along the sides of the picture off the digit that touches them.

    A digit written up to the page's edge joins the desk beyond it into one component, which the
    desk-band rule (``_desk_bands``) then cannot tell from the digit. A side holds such a strip when
    ink covers ``BAND_SIDE_SHARE`` of it to an even depth (``STRIP_EVEN_SHARE`` of its rows within
    ``STRIP_DEPTH_SLACK`` times the median) and the strip's ink reaches well beyond that depth (a
    digit joined to it, or a strip along a neighbouring side). It is cut, a little deeper than it
    runs, when its depth is at least ``BAND_STROKE_RATIO`` times the width of the strokes left once
    every such strip is cleared (a tight crop's "1" along the edge is as thin as itself). Strips along
    two neighbouring sides that meet in their corner are the desk beyond a page's corner, however
    thin: a digit's strokes do not run the whole length of two sides at an even depth. Both are cut
    when a digit is joined to them or one of them is cut anyway (the other would stay behind as a
    bar beside the digit), and erased whole otherwise (a digit close to them keeps its edge).
    Returns ``mask`` itself when nothing is cut.

    Parameters
    ----------
    mask : (H, W) uint8 0/1 ndarray
        Ink after ``_close``. Not modified.
    """
    strips = []  # (turns, depth, cut, its labels): the side is the left-hand side of np.rot90(mask, turns)
    all_labels = None
    for turns in range(4):
        view = np.rot90(mask, turns)
        at_side = view[:, 0] > 0
        if at_side.mean() < BAND_SIDE_SHARE:
            continue
        runs = np.where(view.all(axis=1), view.shape[1], np.argmin(view, axis=1))[at_side]
        depth = float(np.median(runs))
        if np.mean(runs <= STRIP_DEPTH_SLACK * depth + 2) < STRIP_EVEN_SHARE:
            continue  # a wedge or a ragged shadow, not a strip of even depth
        cut = int(np.ceil(STRIP_DEPTH_SLACK * depth)) + 2
        if all_labels is None:
            all_labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[1]
        labels = np.rot90(all_labels, turns)
        own = np.unique(labels[:, 0][at_side])
        joined = np.isin(labels[:, cut:], own)
        if joined.any() and np.flatnonzero(joined.any(axis=0)).max() >= cut:
            strips.append((turns, depth, cut, own))  # ink beyond twice the cut is joined to the strip
    if not strips:
        return mask
    out = mask.copy()
    for turns, _, cut, _ in strips:
        np.rot90(out, turns)[:, :cut] = 0  # a view: clears the side in ``out``
    if not out.any():
        return mask
    width = _stroke_width(out > 0)
    thick = {turns for turns, depth, _, _ in strips if depth >= BAND_STROKE_RATIO * width}
    holding = {turns for turns, _, _, labels in strips if np.isin(labels, all_labels[out > 0]).any()}  # a digit
    last_row, last_col = mask.shape[0] - 1, mask.shape[1] - 1
    corners = {(0, 1): (0, 0), (1, 2): (0, last_col), (2, 3): (last_row, last_col), (0, 3): (last_row, 0)}
    sides = {strip[0] for strip in strips}
    cut_sides, loose_sides = set(thick), set()
    for pair, corner in corners.items():
        if set(pair) <= sides and mask[corner]:
            if set(pair) & (thick | holding):
                cut_sides |= set(pair)
            else:
                loose_sides |= set(pair)
    if not cut_sides | loose_sides:
        return mask
    out = mask.copy()
    for turns, _, cut, labels in strips:
        if turns in cut_sides:
            np.rot90(out, turns)[:, :cut] = 0
        elif turns in loose_sides:
            out[np.isin(all_labels, labels)] = 0  # the strips' labels: ink at the side, never 0
    return out


def _digit_candidates(comps: _Components, shape: tuple[int, ...]) -> list[int]:
    """Components that may belong to the digit: no specks, and no lines or desk/shadow regions
    unless nothing else could be the digit (a tight crop of a "1" is a long thin line, a tight crop
    of a thick "0" a big border-touching blob)."""
    candidates = [i for i in range(1, comps.count) if comps.area(i) >= MIN_SPECK_AREA]
    reference = _reference_stroke_width(comps, candidates, shape)
    bands = _desk_bands(comps, candidates, shape, reference)
    lines, blobs, sure_blobs, plain = [], [], [], []
    for i in candidates:
        if i in bands:
            sure_blobs.append(i)
            continue
        if _is_line(comps, i, shape):
            lines.append(i)
            continue
        blob, sure = _is_background_blob(comps, i, shape, reference)
        if sure:
            sure_blobs.append(i)
        elif blob:
            blobs.append(i)
        else:
            plain.append(i)
    biggest_plain = max((comps.area(i) for i in plain), default=0)
    longest_plain = max((max(comps.box(i).w, comps.box(i).h) for i in plain), default=0)
    blobs = [i for i in blobs if longest_plain < SIGNIFICANT_SHARE * max(comps.box(i).w, comps.box(i).h)]
    lines = [i for i in lines if biggest_plain < LINE_KEEP_SHARE * comps.area(i)]
    return _drop_specks(comps, plain + lines + blobs) or _drop_specks(comps, sure_blobs)


def _assemble_digit(comps: _Components, candidates: list[int], shape: tuple[int, ...]) -> tuple[list[int], Box]:
    """The main component (the largest away from the border, if one is big enough: shadows and
    neighbours' fragments touch the border) plus the pieces near it; returns labels and their box."""
    largest = max(comps.area(i) for i in candidates)
    interior = [
        i
        for i in candidates
        if not _touches_border(comps.box(i), shape) and comps.area(i) >= MAIN_MIN_SHARE * largest
    ]
    main = max(interior or candidates, key=comps.area)
    main_box = comps.box(main)
    size = max(main_box.w, main_box.h)
    keep, box = [main], main_box
    for i in candidates:
        at_border = _touches_border(comps.box(i), shape)
        min_share = PIECE_MIN_SHARE_AT_BORDER if at_border else PIECE_MIN_SHARE
        if i == main or comps.area(i) < min_share * comps.area(main):
            continue
        near = NEAR_FACTOR_AT_BORDER if at_border else NEAR_FACTOR
        if _gap(main_box, comps.box(i)) <= near * size:
            keep.append(i)
            box = box.union(comps.box(i))
    return keep, box


def _reference_stroke_width(comps: _Components, indices: list[int], shape: tuple[int, ...]) -> float | None:
    """Stroke width of the largest sizeable component away from the border (None if there is none)."""
    sizeable = SIGNIFICANT_SIDE * min(shape[:2])
    interior = [
        i
        for i in indices
        if not _touches_border(comps.box(i), shape) and max(comps.box(i).w, comps.box(i).h) >= sizeable
    ]
    if not interior:
        return None
    return comps.stroke_width(max(interior, key=comps.area))


def _enclosers(comps: _Components, indices: list[int], *, numbers: bool = False) -> set[int]:
    """Those of ``indices`` that enclose others: a box or circle drawn or printed round the digits.

    A component encloses another when ``ENCLOSED_SHARE`` of the other's pixels lie in its holes. It
    frames a digit when one of those is at least ``ENCLOSED_MIN_SIDE`` of the frame's long side long,
    and ``ENCLOSED_MIN_STROKES`` times its own stroke width (a dotted 0, or an 8 with specks in a
    loop, frames nothing: the specks may span the loop, but each is small).

    A frame that is not straight-sided (a circle, not a box) may be a loop of a digit: it must hold a
    digit ``CIRCLE_SIDE`` of its size long, clear of it by ``CIRCLE_CLEARANCE`` of the hole's short
    side; or, when reading ``numbers``, two or more digits (a circled number fills its oval).
    """
    frames = set()
    for i in indices:
        box = comps.box(i)
        if box.w < 3 or box.h < 3:
            continue
        own = (comps.labels[box.slices] == i).astype(np.uint8)
        outside = np.pad(own, 1)  # flood the background from a frame of background round the box
        flood = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
        cv2.floodFill(outside, flood, (0, 0), 2)
        holes = outside[1:-1, 1:-1] == 0
        if not holes.any():
            continue
        inside = np.bincount(comps.labels[box.slices][holes], minlength=comps.count)
        enclosed = [j for j in indices if j != i and inside[j] >= ENCLOSED_SHARE * comps.area(j)]
        if not enclosed:
            continue
        size = max(box.w, box.h)
        sides = {j: max(comps.box(j).w, comps.box(j).h) for j in enclosed}
        digits = [j for j in enclosed
                  if sides[j] >= ENCLOSED_MIN_SIDE * size and sides[j] >= ENCLOSED_MIN_STROKES * comps.stroke_width(j)]
        if not digits:
            continue
        if numbers and len(digits) >= 2:
            frames.add(i)
            continue
        ring, scale = _shrunk_mask(own, FRAME_WORK_SIDE)  # a big photo's frame is slow to measure at full size
        if not _is_straight(ring > 0):
            side = max(sides[j] for j in digits)
            hole = min(cv2.boundingRect(holes.astype(np.uint8))[2:])
            held = np.zeros(comps.count, np.uint8)
            held[digits] = 1
            inner, _ = _shrunk_mask(held[comps.labels[box.slices]], FRAME_WORK_SIDE)
            clear = float(cv2.distanceTransform(1 - ring, cv2.DIST_L2, 3)[inner > 0].min()) / scale
            if not CIRCLE_SIDE[0] * size <= side <= CIRCLE_SIDE[1] * size or clear < CIRCLE_CLEARANCE * hole:
                continue
        frames.add(i)
    return frames


def _underlines(comps: _Components, indices: list[int]) -> set[int]:
    """Those of ``indices`` that underline the ink above them: a straight stroke, much wider than tall,
    with nothing beside it in its columns (a 2's base cut off by a shadow's edge has the rest of the 2
    beside it; a 7's or a 4's bar, the stem), below its row of ink (see ``UNDERLINE_ANCHOR``), clear
    of that row by ``UNDERLINE_GAP`` of its height (a 2's or a 1's detached foot is written closer),
    and about as wide as the row or wider."""
    boxes = {i: comps.box(i) for i in indices}
    lines = set()
    for i, box in boxes.items():
        if box.w < UNDERLINE_ELONGATION * box.h:
            continue
        over = [j for j, b in boxes.items() if j != i and j not in lines and b.x < box.x + box.w and box.x < b.x + b.w]
        if any(boxes[j].y < box.y + box.h and boxes[j].y + boxes[j].h > box.y for j in over):
            continue  # something beside it
        above = [j for j in over if boxes[j].y + boxes[j].h <= box.y]
        if not above:
            continue
        biggest = max(comps.area(j) for j in above)
        anchor = boxes[max((j for j in above if comps.area(j) >= UNDERLINE_ANCHOR * biggest),
                           key=lambda j: boxes[j].y + boxes[j].h)]  # the lowest sizeable piece over it
        row = [j for j in above if boxes[j].y < anchor.y + anchor.h and boxes[j].y + boxes[j].h > anchor.y]
        rest = boxes[row[0]]
        for j in row[1:]:
            rest = rest.union(boxes[j])
        if (box.y >= rest.y + rest.h + UNDERLINE_GAP * rest.h and box.w >= UNDERLINE_WIDTH * rest.w
                and sum(comps.area(j) for j in row) >= UNDERLINE_ROW_INK * comps.area(i)
                and _is_straight(comps.labels[box.slices] == i)):
            lines.add(i)
    return lines


def _without_marks(comps: _Components, indices: list[int], *, numbers: bool = False) -> list[int]:
    """``indices`` less the boxes, circles and underlines drawn round the digits (see ``_enclosers``,
    ``_underlines``); all of them when nothing else would be left."""
    frames = _enclosers(comps, indices, numbers=numbers)
    kept = [i for i in indices if i not in frames]
    lines = _underlines(comps, kept)
    kept = [i for i in kept if i not in lines]
    return kept or indices


def _drop_specks(comps: _Components, indices: list[int]) -> list[int]:
    """Indices of the components that are not specks (tiny against the largest of them)."""
    if not indices:
        return []
    largest = max(comps.area(i) for i in indices)
    floor = max(MIN_SPECK_AREA, SPECK_SHARE_OF_LARGEST * largest)
    return [i for i in indices if comps.area(i) >= floor]


def locate_ink(ink: np.ndarray) -> Box | None:
    """Find the digit in an ink mask.

    Parameters
    ----------
    ink : (H, W) bool ndarray
        Ink pixels (ink bright after ``auto_invert``, ideally cleaned by ``clean_ink``). Not modified.

    Returns
    -------
    box : Box or None
        The digit's box, or None when there is no ink. Ruled and grid lines are erased (long,
        straight, thinner than the strokes, reaching well beyond the digit; strokes crossing them
        stay whole), strokes broken by light pencil joined (a closing scaled to the image), specks
        dropped, desk/shadow regions dropped (a desk showing along a side of the picture too, when
        there is a digit beside it), a box, circle or underline drawn round the digit dropped
        (``_enclosers``, ``_underlines``), and fragments of neighbouring digits cut by the border
        passed over in favour of the largest component away from the border; nearby pieces (a 5's
        detached bar) are added to the box.
    """
    ink = _check_mask(ink, "ink")
    selected = _select_digit(ink)
    return None if selected is None else selected[1]


def _check_mask(mask: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ValueError(f"{name} must be a (H, W) boolean array, got {getattr(mask, 'shape', type(mask).__name__)}")
    return mask.astype(bool, copy=False)


# =================================================================================================
# Step 6: normalise like MNIST
# =================================================================================================


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a mask in pixels: 2 * area / perimeter (exact for long strokes)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    area = float(np.count_nonzero(mask))
    return 2.0 * area / perimeter if perimeter > 0 else area**0.5


def _crop_to_ink(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _reshape_strokes(mask: np.ndarray) -> np.ndarray:
    """Thicken or thin the strokes so that, fit into 20x20, they are as wide as MNIST's.

    Works at the resolution of ``mask`` (a crop of the digit); returns a float32 mask of the digit
    cropped to its new ink box. If the box's long side is L and the strokes w wide, growing the
    strokes by d grows the box by d too, so the width after fitting is (w + d) * 20 / (L + d);
    solving for the target gives the d used here (dilation or erosion by a distance transform).
    """
    length = float(max(mask.shape))
    width = _stroke_width(mask)
    target = MNIST_STROKE_WIDTH * (length - width) / (DIGIT_BOX - MNIST_STROKE_WIDTH)
    change = target - width
    if abs(change) <= STROKE_TOLERANCE * width:
        return mask.astype(np.float32)
    if change > 0:
        radius = change / 2
        pad = int(np.ceil(radius)) + 1
        padded = np.pad(mask, pad).astype(np.uint8)
        distance = cv2.distanceTransform(1 - padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        grown = distance <= radius
        return _crop_to_ink(grown).astype(np.float32)
    radius = min(-change / 2, MAX_THINNING_SHARE * width)
    padded = np.pad(mask, 1).astype(np.uint8)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    thinned = distance > radius
    if np.count_nonzero(thinned) < 0.3 * np.count_nonzero(mask):
        return mask.astype(np.float32)  # thinning would erase the digit: keep it as it is
    return _crop_to_ink(thinned).astype(np.float32)


def _straighten(digit: np.ndarray) -> np.ndarray:
    """Halve a digit's slant: (h, w) float32 ink in [0, 1] -> (h, w') float32, cropped to the ink.

    A horizontal shear about the ink's centre row by ``STRAIGHTEN_SHARE`` of the one that would make
    the principal axis vertical (the classic deskew, from second-order moments). Rows keep their
    height, so the digit's long side is the same unless the slant made it wide.
    """
    moments = cv2.moments(digit)
    if moments["m00"] <= 0 or moments["mu02"] <= 0:
        return digit
    shear = STRAIGHTEN_SHARE * moments["mu11"] / moments["mu02"]
    shear = float(np.clip(shear, -MAX_SHEAR, MAX_SHEAR))
    height, width = digit.shape
    centre_y = moments["m01"] / moments["m00"]
    # x' = x - shear * (y - centre_y), moved right by `pad` so nothing falls off the left edge.
    pad = int(np.ceil(abs(shear) * height)) + 1
    matrix = np.float32([[1, -shear, shear * centre_y + pad], [0, 1, 0]])
    sheared = cv2.warpAffine(digit, matrix, (width + 2 * pad, height), flags=cv2.INTER_LINEAR)
    cols = np.flatnonzero(sheared.max(axis=0) > 0)
    if cols.size == 0:
        return digit
    return np.ascontiguousarray(sheared[:, cols[0] : cols[-1] + 1])


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(x, y) centre of mass of a small float image in pixel-index coordinates."""
    total = float(image.sum())
    if total <= 0:
        raise BlankImageError(BLANK_MESSAGE)
    x = float(image.sum(axis=0) @ np.arange(image.shape[1], dtype=np.float64)) / total
    y = float(image.sum(axis=1) @ np.arange(image.shape[0], dtype=np.float64)) / total
    return x, y


def _fit_and_centre(digit: np.ndarray) -> np.ndarray:
    """(h, w) float32 ink in [0, 1] -> (28, 28) float32: long side 20, centre of mass at (14, 14).

    Like MNIST: the digit is scaled so its long side is 20 pixels and shifted by whole pixels so its
    centre of mass is within half a pixel of (14, 14) (MNIST's box is exactly 20 wide, so its shift
    was whole pixels too). The work happens on a 4x canvas averaged down 4x4, which anti-aliases the
    edges without the blur an interpolated sub-pixel shift would add.
    """
    height, width = digit.shape
    scale = WORK_SIZE / max(height, width)
    new_w = min(WORK_SIZE, max(1, int(round(width * scale))))
    new_h = min(WORK_SIZE, max(1, int(round(height * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    big = cv2.resize(digit, (new_w, new_h), interpolation=interpolation)
    # Averaged down 4x4 at the origin first, so the centre of mass is measured on the output's own
    # pixels; shifting by whole output pixels then moves it exactly, to within half a pixel of 14.
    side = SUPERSAMPLE * IMAGE_SIZE
    canvas = np.zeros((side, side), np.float32)
    canvas[:new_h, :new_w] = big
    small = canvas.reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE).mean(axis=(1, 3))
    cx, cy = _centre_of_mass(small)
    ink_w, ink_h = -(-new_w // SUPERSAMPLE), -(-new_h // SUPERSAMPLE)  # output pixels the ink covers
    # Clamped so no ink falls off the frame (for a very lopsided shape, like an L, the centre of
    # mass then stays a little off-centre rather than losing part of the digit).
    left = min(max(int(round(CENTRE - cx)), 0), IMAGE_SIZE - ink_w)
    top = min(max(int(round(CENTRE - cy)), 0), IMAGE_SIZE - ink_h)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    out[top : top + ink_h, left : left + ink_w] = small[:ink_h, :ink_w]
    return np.clip(out, 0.0, 1.0)


def _normalize_mask(mask: np.ndarray, *, straighten: bool = True) -> np.ndarray:
    """A digit's (h, w) bool ink crop -> (28, 28) float32 model input."""
    if not mask.any():
        raise BlankImageError(BLANK_MESSAGE)
    mask = _crop_to_ink(mask)
    length = max(mask.shape)
    if length < WORK_SIZE:
        # Small digits: upsample first so strokes can be reshaped with sub-pixel precision.
        factor = WORK_SIZE / length
        size = (max(1, round(mask.shape[1] * factor)), max(1, round(mask.shape[0] * factor)))
        mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) >= 0.5
        if not mask.any():
            raise BlankImageError(BLANK_MESSAGE)
        mask = _crop_to_ink(mask)
    strokes = _reshape_strokes(mask)
    return _fit_and_centre(_straighten(strokes) if straighten else strokes)


def normalize(ink_gray: np.ndarray, ink_mask: np.ndarray, box: Box, *, straighten: bool = True) -> np.ndarray:
    """MNIST-style normalisation of one digit.

    Parameters
    ----------
    ink_gray : (H, W) uint8 ndarray
        Grayscale with ink bright (``auto_invert(...).gray``); used to check the image shape.
    ink_mask : (H, W) bool ndarray
        The digit's ink (``Preprocessed.ink``); only the part inside ``box`` is used. Not modified.
    box : Box
        The digit's box (``locate_ink``).
    straighten : bool, keyword-only
        Halve the slant (default). The training augmentation renders its digits with ``False``:
        it adds slant of its own, and the shipped models were trained on renders without this step.

    Returns
    -------
    model_input : (28, 28) float32 ndarray
        In [0, 1], ink bright on black: strokes thickened or thinned to MNIST's ~2.2 px, slant
        halved (a shear, ``STRAIGHTEN_SHARE`` of the moment deskew), then the ink's box fit into
        20x20 keeping its aspect ratio (long side exactly 20), anti-aliased (reshaped
        at 4x, averaged down 4x4), centre of mass within half a pixel of (14, 14) (a whole-pixel
        shift, as in MNIST).

    Notes
    -----
    The strokes are rendered from the mask rather than from the grey levels: the mask is free of
    lighting and paper texture, and averaging it down gives MNIST's soft edges.

    Raises
    ------
    BlankImageError
        No ink inside ``box``.
    """
    ink_gray = _check_gray(ink_gray, "ink_gray")
    ink_mask = _check_mask(ink_mask, "ink_mask")
    if ink_mask.shape != ink_gray.shape:
        raise ValueError(f"ink_mask shape {ink_mask.shape} differs from ink_gray shape {ink_gray.shape}")
    if not isinstance(box, Box) or box.w <= 0 or box.h <= 0:
        raise ValueError(f"box must be a non-empty Box, got {box!r}")
    return _normalize_mask(ink_mask[box.slices], straighten=straighten)


# =================================================================================================
# The pipeline
# =================================================================================================


@dataclass(frozen=True)
class _Front:
    """Shared first steps of ``preprocess`` and ``segment``."""

    original: np.ndarray
    gray: np.ndarray
    binary: np.ndarray
    threshold: float
    method: str
    inversion: Inversion
    clean: np.ndarray
    page: Box | None
    sheet: np.ndarray | None = None  # (H, W) bool: the sheet in a page crop whose desk corners were painted out

    def steps(self) -> dict:
        """The step images and facts that ``Preprocessed`` and ``MultiPreprocessed`` both report."""
        return dict(original=self.original, gray=self.gray, binary=self.binary, threshold=self.threshold,
                    method=self.method, inverted=self.inversion.inverted, invert_reason=self.inversion.reason,
                    page=self.page)


def _front(image, threshold: str) -> _Front:
    _check_method(threshold)
    if isinstance(image, (str, Path, bytes, bytearray, memoryview)) or hasattr(image, "read"):
        image = load_image(image)
    original = _as_uint8_image(image)
    if min(original.shape[:2]) < MIN_IMAGE_SIDE:
        raise ImageError(
            f"The image is only {original.shape[1]}x{original.shape[0]} pixels: too small to hold a digit. "
            f"Use at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels."
        )
    gray = to_grayscale(original)
    hist = _histogram(gray)
    page, sheet_mask = None, None
    dark_ink: bool | None = _ink_is_dark(gray, hist)
    # Bright "ink" may be a whole sheet of paper lying on a darker desk, and dark "ink" a slate on a lighter
    # one: then read the sheet alone. (Otherwise the desk is handled as a border like any other.)
    sheet = _find_sheet(gray, hist, dark=bool(dark_ink))
    if sheet is not None:
        page = sheet[0]
        original, sheet_mask = _sheet_only(original, *sheet)
        gray = to_grayscale(original)
        hist = _histogram(gray)
        dark_ink = None  # a different picture now: ask again
    level = threshold_value(gray, threshold)
    binary = gray > level
    inversion = _auto_invert(gray, binary, hist, dark_ink, on_sheet=page is not None)
    if _looks_blank(gray, hist):
        clean = np.zeros(gray.shape, bool)
    else:
        flat = _flat_background(gray, hist)
        if flat is not None and inversion.inverted:
            flat = 255 - flat
        clean = _clean_ink(inversion.ink, inversion.gray, flat, inversion.inverted)
    return _Front(
        original=original if original is not image else original.copy(),
        gray=gray,
        binary=binary,
        threshold=float(np.mean(level)),
        method=threshold,
        inversion=inversion,
        clean=clean,
        page=page,
        sheet=sheet_mask,
    )


def preprocess(image, *, threshold: ThresholdMethod = "mean") -> Preprocessed:
    """Turn an image of one digit into the model input, keeping every step.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        Not modified. (H, W, 4) RGBA is flattened like ``load_image``.
    threshold : {'mean', 'otsu', 'adaptive'}, keyword-only
        How to binarise (see ``threshold_value``).

    Returns
    -------
    Preprocessed
        Every intermediate image and the (28, 28) float32 model input.

    Raises
    ------
    BlankImageError
        No ink: blank, uniform or single-colour image.
    ImageError
        The image cannot be read (when given a path or bytes).
    """
    front = _front(image, threshold)
    selected = _select_digit(front.clean)
    if selected is None:
        raise BlankImageError(BLANK_MESSAGE)
    kept, box = selected
    if max(box.w, box.h) < MIN_DIGIT_SIDE_SHARE * max(front.gray.shape):
        raise BlankImageError(BLANK_MESSAGE)  # only specks: dust or paper texture, not a digit
    model_input = _normalize_mask(kept[box.slices])
    return Preprocessed(
        **front.steps(),
        ink=kept,
        box=box,
        model_input=model_input,
    )


# =================================================================================================
# Whole numbers
# =================================================================================================


@dataclass(frozen=True)
class _Piece:
    """Components forming one digit: their labels, and the box to take them from (for touching
    digits split apart, only the columns of this digit)."""

    labels: list[int]
    box: Box
    area: int


def _tight_box(mask: np.ndarray, within: Box) -> Box:
    """Box of the ink of ``mask`` (a crop taken at ``within``), in picture coordinates."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(
        within.x + int(cols[0]), within.y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
    )


def segment(image, *, threshold: ThresholdMethod = "mean") -> MultiPreprocessed:
    """Split an image of a whole number ("2026", a phone number, several rows) into digits.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        Not modified.
    threshold : {'mean', 'otsu', 'adaptive'}, keyword-only

    Returns
    -------
    MultiPreprocessed
        The steps of ``preprocess`` plus the digits in reading order (rows top to bottom, left to
        right) and the rows as indices into ``digits``.

    Notes
    -----
    Connected ink components are the digits, after dropping specks and dots (tiny against the median
    digit), grid lines, border-touching desk/shadow regions, and boxes (one round the number or one
    per digit), circles and underlines drawn round them. Pieces that overlap horizontally and
    are close vertically (a 5's detached bar) are joined; a component much wider than the row is tall
    holds touching digits and is cut at the emptiest columns. Rows are found by gaps between the
    digits' vertical centres.

    Raises
    ------
    BlankImageError
        No digits found.
    """
    front = _front(image, threshold)
    mask = _close(front.clean, CLOSING_FRACTION / 2)
    comps = _components(mask)
    pieces = _digit_pieces(comps, mask.shape, _sheet_edge_contact(comps, front))
    pieces = _drop_faint(pieces, comps, front)
    if not pieces:
        raise BlankImageError(BLANK_MESSAGE)
    first_height = _typical_height(pieces)
    pieces = _join_pieces(pieces, first_height, _row_slope(pieces, first_height))
    height = _typical_height(pieces)
    pieces = [p for p in pieces if p.box.h >= MIN_DIGIT_HEIGHT_SHARE * height]  # dots, dashes, marks
    pieces = _split_touching(pieces, comps, height)
    rows = _rows(pieces, height)

    digits: list[DigitCrop] = []
    row_indices: list[tuple[int, ...]] = []
    kept = np.zeros(mask.shape, bool)
    for row in rows:
        indices = []
        for piece in row:
            table = np.zeros(comps.count, bool)
            table[piece.labels] = True
            piece_mask = table[comps.labels[piece.box.slices]]  # (h, w) bool
            if not piece_mask.any():
                continue
            kept[piece.box.slices] |= piece_mask
            indices.append(len(digits))
            digits.append(DigitCrop(box=_tight_box(piece_mask, piece.box), model_input=_normalize_mask(piece_mask)))
        if indices:
            row_indices.append(tuple(indices))
    if not digits:
        raise BlankImageError(BLANK_MESSAGE)
    union = digits[0].box
    for digit in digits[1:]:
        union = union.union(digit.box)
    return MultiPreprocessed(
        **front.steps(),
        ink=kept,
        box=union,
        model_input=digits[0].model_input,
        digits=tuple(digits),
        rows=tuple(row_indices),
    )


def digits_left_out(image, single: Preprocessed) -> int:
    """How many digits a picture holds when reading it as one digit leaves some of them out.

    The Upload page uses it to suggest the whole-number mode when someone uploads "4096" as one digit.

    Parameters
    ----------
    image : (H, W, 3) RGB or (H, W) gray uint8 ndarray, or anything ``load_image`` reads
        The picture ``single`` was made from. Not modified.
    single : Preprocessed
        ``preprocess(image, threshold=...)``; its threshold method is used again here.

    Returns
    -------
    int
        The number of digits ``segment`` finds, when at least two of them are full-size digits clear
        of the picture's edge and one of those lies mostly outside ``single.box``; 0 when the picture
        looks like one digit (specks, a digit's own detached stroke and neighbours cut by the edge of
        a grid cell do not make it several).
    """
    try:
        several = segment(image, threshold=single.method)  # type: ignore[arg-type]
    except BlankImageError:
        return 0
    shape = several.gray.shape
    tallest = max(d.box.h for d in several.digits)
    full = [
        d.box
        for d in several.digits
        if d.box.h >= LEFT_OUT_HEIGHT_SHARE * tallest and not _touches_border(d.box, shape)
    ]
    if len(full) < 2:
        return 0
    outside = [b for b in full if _overlap_area(b, single.box) < LEFT_OUT_OUTSIDE_SHARE * b.w * b.h]
    return len(several.digits) if outside else 0


def _overlap_area(a: Box, b: Box) -> int:
    """Pixels two boxes share."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(w, 0) * max(h, 0)


def _sheet_edge_contact(comps: _Components, front: _Front) -> np.ndarray | None:
    """(n,) int64: when the picture was cropped to a sheet found on a desk, each component's pixels on
    the sheet's outline where the desk beyond a turned or tilted sheet was painted out (``_Front.sheet``;
    zeros when none was); None when there is no sheet. That outline is the picture's edge as much as
    the crop's border is."""
    if front.page is None:
        return None
    if front.sheet is None:
        return np.zeros(comps.count, np.int64)
    sheet = front.sheet
    outline = sheet & ~cv2.erode(sheet.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return np.bincount(comps.labels[outline], minlength=comps.count)


def _digit_pieces(comps: _Components, shape: tuple[int, ...], sheet_contact: np.ndarray | None = None) -> list[_Piece]:
    """Components that can be (parts of) digits: no lines, desk/shadow regions, specks or dots.
    ``sheet_contact``: see ``_sheet_edge_contact``; a component on the sheet's outline is not interior,
    and its pixels there count as touching the picture's edge for the wedge rules."""
    candidates = [
        i
        for i in range(1, comps.count)
        if comps.area(i) >= MIN_SPECK_AREA and not _is_line(comps, i, shape)
    ]
    if not candidates:
        return []
    interior = [i for i in candidates if not _touches_border(comps.box(i), shape)
                and (sheet_contact is None or not sheet_contact[i])]
    reference, wedges = None, set()
    if interior:
        biggest = max(comps.area(i) for i in interior)
        digits = [i for i in interior if comps.area(i) >= 0.1 * biggest]
        reference = float(np.median([comps.stroke_width(i) for i in digits]))
        size = float(np.median([max(comps.box(i).w, comps.box(i).h) for i in digits]))
        wedges = _desk_wedges(comps, candidates, reference, size, sheet_contact)
    bands = _desk_bands(comps, candidates, shape, reference)
    candidates = [
        i for i in candidates
        if i not in bands and i not in wedges and not _is_background_blob(comps, i, shape, reference)[0]
    ]
    candidates = _without_marks(comps, candidates, numbers=True)
    if not candidates:
        return []
    # Specks and dots are tiny against a typical digit: the area of the component holding the median
    # ink pixel (many specks hold little ink, so they cannot make themselves typical).
    areas = [comps.area(i) for i in candidates]
    typical = _weighted_median(areas, areas)
    return [
        _Piece([i], comps.box(i), comps.area(i)) for i in candidates if comps.area(i) >= DIGIT_SPECK_SHARE * typical
    ]


def _drop_faint(pieces: list[_Piece], comps: _Components, front: _Front) -> list[_Piece]:
    """The pieces whose ink stands out from the paper around them at least ``FAINT_PIECE_SHARE`` as
    much as a typical piece's: the 90th percentile of its ink's brightness in ``front.inversion.gray``
    (ink bright), less the median of the non-ink pixels in its box widened by half its long side."""
    if len(pieces) < 3:
        return pieces
    ink_gray, clean = front.inversion.gray, front.clean
    contrasts = []
    for piece in pieces:
        box = piece.box
        ink = np.isin(comps.labels[box.slices], piece.labels)
        pad = max(box.w, box.h) // 2
        around = (slice(max(0, box.y - pad), box.y + box.h + pad), slice(max(0, box.x - pad), box.x + box.w + pad))
        paper = ink_gray[around][~clean[around]]
        level = float(np.median(paper)) if paper.size else 0.0
        contrasts.append(float(np.percentile(ink_gray[box.slices][ink], 90)) - level)
    typical = _weighted_median(contrasts, [piece.area for piece in pieces])
    return [piece for piece, contrast in zip(pieces, contrasts) if contrast >= FAINT_PIECE_SHARE * typical]


def _weighted_median(values, weights) -> float:
    """The value holding the middle of the total weight (values and weights: equal-length sequences)."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, np.float64)[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _typical_height(pieces: list[_Piece]) -> float:
    """Height of a typical digit: the median weighted by ink, so that many specks cannot sway it."""
    return _weighted_median([p.box.h for p in pieces], [p.area for p in pieces])


def _join_pieces(pieces: list[_Piece], height: float, slope: float = 0.0) -> list[_Piece]:
    """Join pieces of one digit: they overlap horizontally and are close vertically, heights taken
    across the rows' ``slope`` (dy/dx, see ``_row_slope``) so that on a tilted photo a digit is not
    joined to its neighbour in the next row."""
    pieces = list(pieces)

    def level(box: Box) -> float:  # the box's top, measured from the row line through x = 0
        return box.y - slope * (box.x + box.w / 2)

    merged = True
    while merged:
        merged = False
        for a in range(len(pieces)):
            for b in range(a + 1, len(pieces)):
                pa, pb = pieces[a], pieces[b]
                overlap = min(pa.box.x + pa.box.w, pb.box.x + pb.box.w) - max(pa.box.x, pb.box.x)
                narrower = min(pa.box.w, pb.box.w)
                top_a, top_b = level(pa.box), level(pb.box)
                vertical_gap = max(top_a, top_b) - min(top_a + pa.box.h, top_b + pb.box.h)
                if overlap >= JOIN_OVERLAP * narrower and vertical_gap <= JOIN_GAP * height:
                    pieces[a] = _Piece(pa.labels + pb.labels, pa.box.union(pb.box), pa.area + pb.area)
                    del pieces[b]
                    merged = True
                    break
            if merged:
                break
    return pieces


def _split_touching(pieces: list[_Piece], comps: _Components, height: float) -> list[_Piece]:
    """Cut pieces much wider than the digits are tall into touching digits, at the emptiest columns."""
    out: list[_Piece] = []
    for piece in pieces:
        row_height = max(height, 0.5 * piece.box.h)
        if piece.box.w <= TOUCHING_ASPECT * row_height:
            out.append(piece)
            continue
        count = max(2, int(round(piece.box.w / (DIGIT_ASPECT * row_height))))
        mask = np.isin(comps.labels[piece.box.slices], piece.labels)
        profile = mask.sum(axis=0).astype(np.float64)
        profile = np.convolve(profile, np.ones(3) / 3, mode="same")
        cuts = []
        step = piece.box.w / count
        for k in range(1, count):
            centre = int(round(k * step))
            half = max(1, int(step * 0.35))
            lo, hi = max(1, centre - half), min(piece.box.w - 1, centre + half)
            cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else centre)
        edges = [0, *cuts, piece.box.w]
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi - lo < 2:
                continue
            x0 = piece.box.x + lo
            out.append(_Piece(piece.labels, Box(x0, piece.box.y, hi - lo, piece.box.h), piece.area))
    return out


def _row_slope(pieces: list[_Piece], height: float) -> float:
    """How much the rows climb or fall, dy/dx: the median over the pieces of the link to the nearest
    piece on their right (within ``ROW_LINK_REACH`` digit heights, at most ``MAX_ROW_SLOPE`` steep).
    A photo taken at an angle, or a number written askew, tilts every row the same way; 0 when
    fewer than two pieces have such a neighbour (one digit per row)."""
    centres = np.array([(p.box.x + p.box.w / 2, p.box.y + p.box.h / 2) for p in pieces], np.float64)
    slopes = []
    for x, y in centres:
        dx, dy = centres[:, 0] - x, centres[:, 1] - y
        distance = np.where((dx > 0) & (np.abs(dy) <= MAX_ROW_SLOPE * dx), np.hypot(dx, dy), np.inf)
        nearest = int(np.argmin(distance))
        if distance[nearest] <= ROW_LINK_REACH * height:
            slopes.append(dy[nearest] / dx[nearest])
    return float(np.median(slopes)) if len(slopes) >= 2 else 0.0


def _rows(pieces: list[_Piece], height: float) -> list[list[_Piece]]:
    """Group pieces into rows (by gaps between vertical centres, measured across the rows' common
    slope), each sorted left to right."""
    slope = _row_slope(pieces, height)

    def across(piece: _Piece) -> float:  # the centre's height above the row line through x = 0
        return piece.box.y + piece.box.h / 2 - slope * (piece.box.x + piece.box.w / 2)

    ordered = sorted(pieces, key=across)
    rows: list[list[_Piece]] = [[ordered[0]]]
    for piece in ordered[1:]:
        if across(piece) - across(rows[-1][-1]) > ROW_GAP * height:
            rows.append([])
        rows[-1].append(piece)
    return [sorted(row, key=lambda p: p.box.x) for row in rows]
