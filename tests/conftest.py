"""Shared pytest fixtures.

Tests that need something outside the repository (the ``HDR_DATA_DIR`` data, a browser...) skip with a
reason on a machine that lacks it, and fail instead when the ``CI`` environment variable is set, so CI
always runs them. Use ``skip_or_fail(reason)`` for that rather than ``pytest.skip``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from hdr_core.constants import DATA_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set (to anything but "", "0" or "false")."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when running in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder ``HDR_DATA_DIR`` names (MNIST npz + IDX, real-dev photos), as an absolute Path.

    Skips the test when the variable is unset or the folder is missing (fails in CI).
    """
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        skip_or_fail(f"{DATA_DIR_ENV} is not set: point it at the shared data folder to run this test")
    path = Path(value).expanduser().absolute()
    if not path.is_dir():
        skip_or_fail(f"{DATA_DIR_ENV}={value} is not a folder")
    return path


@pytest.fixture(scope="session")
def data_file(data_dir: Path):
    """A function ``data_file("mnist-idx/t10k-images-idx3-ubyte.gz") -> Path`` inside ``HDR_DATA_DIR``.

    The returned function skips the test when that file or folder is missing (fails in CI).
    """

    def require(relative: str) -> Path:
        path = data_dir / relative
        if not path.exists():
            skip_or_fail(f"{relative} is missing from {DATA_DIR_ENV} ({data_dir})")
        return path

    return require
