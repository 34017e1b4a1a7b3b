"""Any image a user might have -> the 28x28 model input, one visible stage at a time.

The stages, one module each, called in order by ``pipeline.py``::

    loading      file / bytes -> (H, W, 3) uint8 RGB (EXIF rotation, transparency, 16-bit, CMYK...)
    grayscale    -> (H, W) uint8 (luma; colour ink on colour paper keeps its contrast)
    evidence     noise, blank or not, and whether the picture is clean: then only the textbook's stages run
    sheet        a sheet of paper (or a slate) lying on a desk: the picture cropped to it
    threshold    -> (H, W) bool, True = brighter than the threshold (mean | otsu | adaptive)
    inversion    -> ink bright on black like MNIST, with a one-sentence reason
    contrast     ink must also stand out from the paper around it (shadows, uneven light, texture)
    lines        ruled and squared paper's lines erased, strokes crossing them kept
    desk, marks  the desk beyond the page's edge; boxes, circles and underlines round the digits
    locate       the digit's components (specks, lines, desk and neighbours' fragments left out)
    segment      a whole number's digits, in rows
    normalize    -> (28, 28) float32 in [0, 1]: strokes about as thick as MNIST's, slant halved, ink box
                 fit into 20x20 keeping its aspect ratio, centre of mass at (14, 14) (+-0.5 px)

``preprocess`` runs them for one digit and ``segment`` for a whole number; both return every
intermediate image, the trace (the stages that ran, with the evidence each ran on) and the reading
(why those stages). Every tuning value
is in ``Params`` (``params.py``), passed in. ``from_canvas`` is the fast path for the Draw page's canvas.
Only NumPy, Pillow and OpenCV are used: importing this package never loads TensorFlow.
"""

from .contrast import clean_ink, local_contrast
from .grayscale import from_canvas, to_grayscale
from .inversion import auto_invert
from .loading import exif_orientation, load_image
from .locate import locate_ink
from .normalize import normalize
from .params import (
    DEFAULT_PARAMS,
    BlankParams,
    ContrastParams,
    DeskParams,
    GrayscaleParams,
    InversionParams,
    LineParams,
    LoadParams,
    LocateParams,
    MarkParams,
    NormalizeParams,
    Params,
    SegmentParams,
    SheetParams,
)
from .pipeline import digits_left_out, preprocess, segment
from .results import (
    THRESHOLD_METHODS,
    Box,
    DigitCrop,
    Inversion,
    MultiPreprocessed,
    Preprocessed,
    Stage,
    ThresholdMethod,
)
from .segment import DigitReader
from .sheet import find_page
from .threshold import binarize, threshold_value

__all__ = [
    "DigitReader",
    "DEFAULT_PARAMS",
    "THRESHOLD_METHODS",
    "BlankParams",
    "Box",
    "ContrastParams",
    "DeskParams",
    "DigitCrop",
    "GrayscaleParams",
    "Inversion",
    "InversionParams",
    "LineParams",
    "LoadParams",
    "LocateParams",
    "MarkParams",
    "MultiPreprocessed",
    "NormalizeParams",
    "Params",
    "Preprocessed",
    "SegmentParams",
    "SheetParams",
    "Stage",
    "ThresholdMethod",
    "auto_invert",
    "binarize",
    "clean_ink",
    "digits_left_out",
    "exif_orientation",
    "find_page",
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
