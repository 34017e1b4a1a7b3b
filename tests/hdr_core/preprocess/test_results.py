"""Tests for hdr_core.preprocess: the result types and the package itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from hdr_core import preprocess as pp
from hdr_core.preprocess import Box


def test_box_as_list_and_union():
    a, b = Box(1, 2, 3, 4), Box(10, 0, 2, 2)
    assert a.as_list() == [1, 2, 3, 4]
    assert all(type(v) is int for v in Box(np.int64(1), 2, 3, 4).as_list())
    assert a.union(b) == Box(1, 0, 11, 6)


def test_import_is_tensorflow_free():
    code = "import sys, hdr_core.preprocess; assert 'tensorflow' not in sys.modules and 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(pp.__file__).resolve().parents[2])


def test_threshold_methods_constant():
    assert pp.THRESHOLD_METHODS == ("mean", "otsu", "adaptive")
