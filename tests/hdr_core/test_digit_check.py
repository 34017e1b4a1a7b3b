"""The digit check: drawings that are not digits are flagged, clear digits are not.

Pictures are drawn here with OpenCV (Hershey digits for the digits; lines, rings and boxes for the rest), run
through the same preprocessing as the Draw and Upload pages, and given to the shipped digit check.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from hdr_core import non_digits, preprocess
from hdr_core.digit_check import DigitChecker, DigitCheckParams, check_dir, default_checker, verdict
from hdr_core.digit_check_training import choose_threshold
from hdr_core.errors import ModelError

SIDE = 200


def _canvas() -> np.ndarray:
    return np.zeros((SIDE, SIDE), np.uint8)


def _seen(image: np.ndarray) -> np.ndarray:
    return preprocess.preprocess(image).model_input


def _hershey_digit(digit: str, *, font: int, scale: float, thickness: int, at: tuple[int, int]) -> np.ndarray:
    image = _canvas()
    cv2.putText(image, digit, at, font, scale, 255, thickness, cv2.LINE_AA)
    return image


def _cross(width: int) -> np.ndarray:
    image = _canvas()
    cv2.line(image, (40, 40), (160, 160), 255, width)
    cv2.line(image, (40, 160), (160, 40), 255, width)
    return image


def _dash(width: int) -> np.ndarray:
    image = _canvas()
    cv2.line(image, (30, 100), (170, 110), 255, width)
    return image


def _hash(width: int) -> np.ndarray:
    image = _canvas()
    for k in (75, 125):
        cv2.line(image, (k, 30), (k - 15, 170), 255, width)
        cv2.line(image, (30, k), (170, k - 8), 255, width)
    return image


def _smiley(width: int) -> np.ndarray:
    image = _canvas()
    cv2.circle(image, (100, 100), 70, 255, width)
    cv2.circle(image, (75, 80), 8, 255, -1)
    cv2.circle(image, (125, 80), 8, 255, -1)
    cv2.ellipse(image, (100, 115), (35, 22), 0, 20, 160, 255, width)
    return image


def _box(width: int) -> np.ndarray:
    image = _canvas()
    cv2.rectangle(image, (45, 45), (155, 155), 255, width)
    return image


NOT_DIGITS = {"cross": _cross, "dash": _dash, "hash": _hash, "smiley": _smiley, "box": _box}


@pytest.fixture(scope="module")
def checker() -> DigitChecker:
    found = default_checker()
    assert found is not None, f"the shipped digit check is missing from {check_dir()}"
    return found


def test_verdict_flags_below_the_threshold_and_says_why():
    params = DigitCheckParams(flag_below=0.3)
    low, high = verdict(0.05, params), verdict(0.9, params)
    assert low.flagged and not high.flagged
    assert "may not be a digit" in low.reason and "5%" in low.reason
    assert "under 1%" in verdict(0.001, params).reason and "over 99%" in verdict(0.999, params).reason
    assert low.warning("8").startswith("**This may not be a digit.**") and "its 8 means little" in low.warning("8")
    assert "90%" in high.reason
    assert low.as_dict() == {"digit_probability": 0.05, "may_not_be_a_digit": True, "reason": low.reason}
    with pytest.raises(ValueError):
        DigitCheckParams(flag_below=1.5)


def test_threshold_flags_at_most_the_allowed_share_of_digits():
    p = np.linspace(0.001, 1, 1000)  # 1000 held-out digits, evenly spread
    t = choose_threshold(p, max_flagged=0.01, cap=0.9)
    assert (p < t).sum() <= 10
    assert (p < t).sum() == 10  # and no stricter than needed
    assert choose_threshold(p, max_flagged=0.5, cap=0.3) == 0.3  # capped


@pytest.mark.parametrize("name", sorted(NOT_DIGITS))
@pytest.mark.parametrize("width", [6, 14])
def test_drawings_that_are_not_digits_are_flagged(checker, name, width):
    check = checker.check(_seen(NOT_DIGITS[name](width)))
    assert check.flagged, f"a {name} (pen {width}) should be flagged; the check gives {check.digit_probability:.0%}"


CLEAR_DIGITS = [
    # (font, scale, thickness, bottom-left corner): large and centred, small in a corner, thin, thick
    (cv2.FONT_HERSHEY_SIMPLEX, 6.0, 16, (40, 175)),
    (cv2.FONT_HERSHEY_SIMPLEX, 1.6, 4, (8, 50)),
    (cv2.FONT_HERSHEY_DUPLEX, 6.0, 5, (45, 175)),
    (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 6.0, 14, (40, 170)),
]


@pytest.mark.parametrize("style", range(len(CLEAR_DIGITS)), ids=["large", "small-corner", "thin", "script"])
def test_clear_digits_are_not_flagged(checker, style):
    font, scale, thickness, at = CLEAR_DIGITS[style]
    pictures = [_seen(_hershey_digit(str(d), font=font, scale=scale, thickness=thickness, at=at)) for d in range(10)]
    p = checker.digit_probabilities(np.stack(pictures))
    flagged = [str(d) for d in range(10) if p[d] < checker.params.flag_below]
    assert not flagged, f"clear digits flagged as not digits: {flagged} ({np.round(p, 2).tolist()})"


def test_mnist_test_digits_are_almost_never_flagged(checker, data_file):
    from hdr_core.data import load_dataset

    data_file("mnist.npz")
    images = load_dataset("mnist").x_test[:2000].astype(np.float32) / 255
    flagged = float((checker.digit_probabilities(images) < checker.params.flag_below).mean())
    assert flagged <= 0.005, f"{flagged:.2%} of MNIST test digits flagged"


def test_check_takes_one_picture_or_a_batch_and_refuses_other_shapes(checker):
    one = _seen(_cross(10))
    assert checker.digit_probabilities(one).shape == (1,)
    assert checker.digit_probabilities(np.stack([one, one])).shape == (2,)
    assert checker.digit_probabilities(np.zeros((0, 28, 28), np.float32)).shape == (0,)
    with pytest.raises(ValueError, match="28, 28"):
        checker.digit_probabilities(np.zeros((32, 32), np.float32))


def test_missing_or_wrong_check_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="missing"):
        DigitChecker.from_dir(tmp_path)
    (tmp_path / "digit-check.tflite").write_bytes(b"%PDF-1.4 not a model")
    with pytest.raises(ModelError, match="not a LiteRT model"):
        DigitChecker.from_dir(tmp_path)


def test_shipped_card_records_how_it_was_made_and_its_threshold(checker):
    from hdr_core.inference import default_model_path
    from hdr_core.lite import file_sha256

    card = json.loads((check_dir() / "card.json").read_text())
    assert card["command"].startswith("python -m hdr_core train-digit-check")
    assert checker.params.flag_below == pytest.approx(card["flag_below"])
    assert card["mnist_test_flagged"] <= 0.001
    assert card["held_out_not_digits"]["flagged"] >= 0.9
    # It reads the default digit network's features: retraining that network means retraining the check.
    assert card["digit_network"]["keras_sha256"] == file_sha256(default_model_path())


def test_generated_drawings_cover_every_family_and_repeat_with_the_seed():
    names, images = non_digits.drawings(len(non_digits.FAMILIES), np.random.default_rng(3))
    assert sorted(names) == sorted(non_digits.FAMILIES)
    for name, image in zip(names, images):
        assert image.shape == (non_digits.SIDE, non_digits.SIDE) and image.dtype == np.uint8
        assert image.max() == 255, f"{name} drew nothing"
    again = non_digits.drawings(len(non_digits.FAMILIES), np.random.default_rng(3))[1]
    assert all(np.array_equal(a, b) for a, b in zip(images, again))
    assert not set(non_digits.LETTERS) & non_digits.DIGIT_LIKE
    with pytest.raises(ValueError, match="unknown families"):
        non_digits.drawings(3, np.random.default_rng(0), ("cross", "unicorn"))
