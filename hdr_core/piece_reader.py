"""Where two touching digits meet: the shipped network and the digit check read the ways a piece could be cut.

``preprocess.segment`` cuts a piece of ink much wider than a digit by its width alone. Two digits written close
enough to touch ("51", "01") can be no wider than one wide digit, and a width can be cut into one digit too
many. Given a reader, ``segment`` asks it about the parts a cut leaves (``SegmentParams.reread_aspect``,
``reread_margin``, ``apart_sure``): how likely the most likely digit is, whether the part is a digit at all,
and which digit it is (a touching "51" reads as a 5 whole, and its parts as a 5 and a 1). This module
is that reader: the shipped default network on LiteRT (the same network the digit check reads inside, about a
millisecond a picture, no TensorFlow) and the digit check (``digit_check.py``).

The reader is the shipped network whichever model a page predicts with: where the digits are is part of the
preprocessing, as the Upload page shows it, and a model a student trains for three epochs should not move the
boxes round the digits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .digit_check import DigitChecker, default_checker
from .errors import ModelError
from .lite import LitePredictor


@dataclass(frozen=True)
class PieceReader:
    """``preprocess.DigitReader``: a digit network and the digit check, reading candidate digits.

    Attributes
    ----------
    network : LitePredictor
        A digit network (10 outputs) with its calibration.
    checker : DigitChecker
        Whether a picture is a digit at all.
    """

    network: LitePredictor
    checker: DigitChecker

    @property
    def flag_below(self) -> float:
        """The digit check's threshold: a picture whose digit probability is under it may not be a digit."""
        return self.checker.params.flag_below

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """How surely each picture is a digit, and which.

        Parameters
        ----------
        images : (N, 28, 28) float32 ndarray
            Model inputs: values in [0, 1], ink bright on black.

        Returns
        -------
        (N, 3) float64 ndarray
            The most likely digit's probability, the probability that the picture is a digit at all, and the
            most likely digit (0-9).
        """
        images = np.asarray(images, np.float32)
        probabilities = self.network.predict_proba(images)
        return np.stack([probabilities.max(axis=1), self.checker.digit_probabilities(images),
                         probabilities.argmax(axis=1)], axis=1).astype(np.float64)


_default: PieceReader | None = None
_default_missing = False
_default_lock = threading.Lock()


def default_reader() -> PieceReader | None:
    """The shipped default network's LiteRT file and the digit check, loaded once per process; None (``segment``
    then cuts by width alone) when either is missing or the default model has no LiteRT file of its own."""
    global _default, _default_missing
    with _default_lock:
        if _default is None and not _default_missing:
            _default = _load()
            _default_missing = _default is None
        return _default


def _load() -> PieceReader | None:
    from .catalog import default_model_path, read_card
    from .constants import DIGIT_CLASS_NAMES
    from .lite import shipped_lite_predictor

    checker = default_checker()
    if checker is None:
        return None
    path = default_model_path()
    try:
        network = shipped_lite_predictor(path, read_card(path))
    except (ModelError, OSError, ValueError):
        return None
    if network is None or network.n_classes != len(DIGIT_CLASS_NAMES):
        return None
    return PieceReader(network, checker)
