"""Whether a picture holds anything to read at all."""

from __future__ import annotations

import numpy as np

from .grayscale import _spread
from .params import Params

BLANK_MESSAGE = (
    "No ink found: the image is blank or a single colour. Draw or photograph a digit with dark ink on "
    "light paper (or light on dark), filling a good part of the picture."
)


def _looks_blank(gray: np.ndarray, hist: np.ndarray, *, params: Params) -> bool:
    """Whether the picture is one colour: its grey levels span less than ``params.blank.contrast`` once
    the rarest pixels are cut off (0.1% of them; on big pictures 0.01% but at least
    ``params.contrast.min_ink_pixels``, so a small thin-pen digit is not cut off with the noise)."""
    tail = min(0.001, max(params.blank.tail_share, params.contrast.min_ink_pixels / gray.size))
    return _spread(gray, hist, tail) < params.blank.contrast
