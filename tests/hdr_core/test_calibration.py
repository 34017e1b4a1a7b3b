"""Calibration: the temperature, the calibration error, and the Predictor and CLI applying them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hdr_core.calibration import (
    card_temperature,
    expected_calibration_error,
    fit_temperature,
    with_temperature,
)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_ece_by_hand():
    # Four answers: two at 0.9 (one right), two at 0.6 (both right). Bins (0.8, 0.8667] ... hold 0.9 and
    # (0.5333, 0.6] holds 0.6: |0.5 - 0.9| * 2/4 + |1.0 - 0.6| * 2/4 = 0.2 + 0.2.
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    labels = np.array([0, 1, 1, 1])
    assert expected_calibration_error(p, labels) == pytest.approx(0.4)
    assert expected_calibration_error(np.zeros((0, 2)), np.zeros(0)) == 0.0


def test_the_temperature_that_made_overconfident_logits_is_found_again():
    """Logits drawn so that softmax(z) is calibrated; the model reports softmax(3 z): T = 3 undoes it."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, (20000, 10))
    calibrated = _softmax(z)
    labels = np.array([rng.choice(10, p=row) for row in calibrated])
    overconfident = _softmax(3 * z)
    found = fit_temperature(overconfident, labels)
    assert found.temperature == pytest.approx(3.0, rel=0.05)
    assert found.ece_after < 0.01 < found.ece_before
    assert found.n == 20000


def test_temperature_keeps_the_answer_and_sums_to_one():
    p = _softmax(np.random.default_rng(1).normal(0, 2, (50, 10)))
    for t in (0.5, 1.0, 2.0):
        q = with_temperature(p, t)
        assert np.array_equal(q.argmax(axis=1), p.argmax(axis=1))
        np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-5)
    assert (with_temperature(p, 0.5).max(axis=1) >= p.max(axis=1) - 1e-6).all()  # T < 1 sharpens
    with pytest.raises(ValueError, match="temperature"):
        with_temperature(p, 0.0)


@pytest.mark.parametrize("card, expected", [
    (None, 1.0), ({}, 1.0), ({"calibration": {"temperature": 0.6}}, 0.6),
    ({"calibration": {"temperature": "hot"}}, 1.0), ({"calibration": {"temperature": 1e6}}, 1.0),
])
def test_a_cards_temperature_is_read_safely(card, expected):
    assert card_temperature(card) == expected


def test_the_predictor_applies_the_cards_temperature(tmp_path):
    import keras
    from keras import layers

    from hdr_core.inference import Predictor

    inputs = keras.Input((28, 28, 1), name="image")
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(inputs)))
    path = tmp_path / "m.keras"
    model.save(path)
    image = np.random.default_rng(2).random((28, 28), np.float32)
    plain = Predictor.from_path(path).predict(image).probabilities
    path.with_suffix(".json").write_text(json.dumps({"calibration": {"temperature": 0.5}}))
    sharp = Predictor.from_path(path)
    assert sharp.temperature == 0.5
    np.testing.assert_allclose(sharp.predict(image).probabilities, with_temperature(plain[None], 0.5)[0], rtol=1e-4)


def test_the_shipped_default_model_is_calibrated_in_its_card():
    from hdr_core.inference import default_model_path, read_card

    card = read_card(default_model_path())
    assert 0.2 < card_temperature(card) < 1.0  # label smoothing made it under-confident: T < 1 sharpens
    assert card["calibration"]["ece_after"] <= 0.015 and card["test_ece"] <= 0.015


def test_calibrate_refuses_a_model_without_its_card(tmp_path, capsys):
    import keras
    from keras import layers

    from hdr_core.cli import main

    inputs = keras.Input((28, 28, 1), name="image")
    keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(inputs))).save(tmp_path / "m.keras")
    assert main(["calibrate", "--model", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert "no model card" in err and "Traceback" not in err
