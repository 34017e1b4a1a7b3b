"""Fixtures shared by the preprocessing tests."""

from __future__ import annotations

import numpy as np
import pytest

from hdr_core.preprocess import Box

from .drawing import box_of, digit_mask


@pytest.fixture(scope="module")
def three() -> tuple[np.ndarray, Box]:
    mask = digit_mask("3")
    return mask, box_of(mask)
