"""Is it a digit at all? A second, small network that says when a drawing may not be a digit.

The digit network always answers with a digit: shown a cross, it says "8"; shown a dash, "2". Its own
probability does not help much: a cross is as much an 8 as anything else, so it can be 90% sure. The digit
check reads what the default digit network computes inside itself for the picture (its last feature maps,
averaged; its 192 features; its probabilities), frozen, and one small layer on top, trained on MNIST's digits
against generated drawings that are not digits (crosses, dashes, shapes, faces, arrows, letters, symbols,
scribbles: ``non_digits.py``), gives the probability that the picture is a digit at all. Below
``DigitCheckParams.flag_below`` the pages and the CLI say plainly "this may not be a digit", with that
probability as the evidence.

It runs on LiteRT (no TensorFlow), about a millisecond a picture (it carries the layers of the digit network it
reads). It is trained by ``python -m hdr_core train-digit-check`` (``digit_check_training.py``) and shipped in
``models/digit-check/``.
It knows digits only: for a model with other classes (EMNIST letters) the pages do not ask it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .constants import IMAGE_SIZE
from .errors import ModelError

CHECK_DIR_ENV = "HDR_DIGIT_CHECK_DIR"
CHECK_NAME = "digit-check"
CLASS_NAMES = ("not a digit", "digit")


def check_dir() -> Path:
    """Folder of the shipped digit check: ``$HDR_DIGIT_CHECK_DIR`` if set, else ``models/digit-check``."""
    override = os.environ.get(CHECK_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parent.parent / "models" / CHECK_NAME


@dataclass(frozen=True)
class DigitCheckParams:
    """When to say "this may not be a digit"."""

    # The check's probability that the picture is a digit, under which the pages flag it. The shipped card's
    # value replaces this default: the highest that flags at most 0.1% of MNIST's test digits (never real-dev).
    flag_below: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.flag_below < 1:
            raise ValueError(f"flag_below must be in (0, 1), got {self.flag_below}")


@dataclass(frozen=True)
class DigitCheck:
    """The digit check's verdict on one picture."""

    digit_probability: float  # the check's probability that the picture is a digit, in [0, 1]
    flagged: bool  # True: say "this may not be a digit"
    reason: str  # one sentence a student can read

    def warning(self, label: str) -> str:
        """What the pages say (Markdown) when the check doubts a picture the digit network read as ``label``."""
        return (f"**This may not be a digit.** A second network, trained to tell digits from crosses, shapes, "
                f"letters and scribbles, gives {_percent(self.digit_probability)} that it is one. The digit network "
                f"always answers with a digit, so its {label} means little here.")

    def as_dict(self) -> dict:
        return {"digit_probability": round(self.digit_probability, 4), "may_not_be_a_digit": self.flagged,
                "reason": self.reason}


def _percent(p: float) -> str:
    return "under 1%" if p < 0.005 else "over 99%" if p > 0.995 else f"{p:.0%}"


def verdict(digit_probability: float, params: DigitCheckParams | None = None) -> DigitCheck:
    """The verdict and its sentence for one probability that the picture is a digit."""
    params = DigitCheckParams() if params is None else params
    p = float(digit_probability)
    if p < params.flag_below:
        reason = (f"This may not be a digit: a second network, trained on digits and on drawings that are not "
                  f"digits (crosses, shapes, letters, scribbles), gives {_percent(p)} that it is one. The digit "
                  "network answers with a digit whatever it is shown.")
    else:
        reason = (f"The digit check, a second network trained to tell digits from other drawings, gives "
                  f"{_percent(p)} that this is a digit.")
    return DigitCheck(digit_probability=p, flagged=p < params.flag_below, reason=reason)


class DigitChecker:
    """The digit check on LiteRT.

    Parameters
    ----------
    flat : bytes
        The check's LiteRT flat buffer: input (N, 28, 28, 1) float32, output (N, 2) softmax.
    params : DigitCheckParams, optional
    card : dict, optional
        The check's card (training figures), kept for display.
    """

    def __init__(self, flat: bytes, params: DigitCheckParams | None = None, card: dict | None = None) -> None:
        from .lite import LitePredictor

        self._lite = LitePredictor(flat, CLASS_NAMES)
        self.params = DigitCheckParams() if params is None else params
        self.card = dict(card or {})

    @classmethod
    def from_dir(cls, folder: str | os.PathLike | None = None, params: DigitCheckParams | None = None
                 ) -> DigitChecker:
        """Load ``digit-check.tflite`` and ``card.json`` from ``folder`` (default :func:`check_dir`).

        Raises
        ------
        ModelError
            The file is missing or is not a LiteRT model of the right shape.
        """
        folder = check_dir() if folder is None else Path(folder)
        flat_path = folder / f"{CHECK_NAME}.tflite"
        if not flat_path.is_file():
            raise ModelError(f"The digit check {flat_path} is missing; make it with "
                             "`python -m hdr_core train-digit-check`.")
        card_path = folder / "card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        if params is None and isinstance(card.get("flag_below"), (int, float)):
            params = DigitCheckParams(flag_below=float(card["flag_below"]))
        checker = cls(flat_path.read_bytes(), params, card)
        if checker._lite.n_classes != len(CLASS_NAMES):
            raise ModelError(f"The digit check {flat_path} has {checker._lite.n_classes} outputs, not 2.")
        return checker

    def digit_probabilities(self, images: np.ndarray) -> np.ndarray:
        """The probability that each picture is a digit.

        Parameters
        ----------
        images : (N, 28, 28) or (28, 28) float ndarray
            What the digit network sees: values in [0, 1], ink bright on black.

        Returns
        -------
        p : (N,) float32 ndarray
        """
        images = np.asarray(images, np.float32)
        if images.shape == (IMAGE_SIZE, IMAGE_SIZE):
            images = images[None]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must have shape (N, 28, 28), got {images.shape}")
        if len(images) == 0:
            return np.zeros(0, np.float32)
        return self._lite.predict_proba(images)[:, 1].astype(np.float32)  # LiteRT's predictor locks itself

    def check(self, image28: np.ndarray) -> DigitCheck:
        """The verdict on one (28, 28) float picture in [0, 1] (ink bright on black)."""
        return verdict(float(self.digit_probabilities(image28)[0]), self.params)


_default: DigitChecker | None = None
_default_missing = False  # tried once and not there: the pages read as before, without asking every stroke again
_default_lock = threading.Lock()


def default_checker() -> DigitChecker | None:
    """The shipped digit check, loaded once per process; None (the pages then skip the check) when missing."""
    global _default, _default_missing
    with _default_lock:
        if _default is None and not _default_missing:
            try:
                _default = DigitChecker.from_dir()
            except (ModelError, OSError, ValueError):
                _default_missing = True
        return _default
