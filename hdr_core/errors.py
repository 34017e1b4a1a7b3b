"""Exceptions with messages written for the person who caused them.

Every error that bad input can cause is an ``HdrError``; the app shows ``str(error)`` and the CLI prints
it as ``{"error": ...}``. Anything else escaping the library is a bug.
"""

from __future__ import annotations


class HdrError(Exception):
    """Base class: the message is complete, specific and safe to show to a user."""


class ImageError(HdrError, ValueError):
    """An image cannot be read or used (corrupt, truncated, not an image, too large, animated...)."""


class BlankImageError(ImageError):
    """The image holds no ink to recognise (empty canvas, blank or uniformly coloured photo)."""


class DatasetNotFoundError(HdrError, FileNotFoundError):
    """A dataset is neither in ``HDR_DATA_DIR`` nor downloadable; the message says what to put where."""


class ModelError(HdrError, ValueError):
    """A model file cannot be loaded or does not fit (wrong input or output shape, not a Keras file)."""
