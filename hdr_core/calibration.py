"""Probabilities a student can take at their word: temperature scaling and the calibration error.

A network's top probability is *calibrated* when, of all the answers given with about 92%, about 92% are
right. Label smoothing (the shipped models use 0.05) caps the top probability near 96%, so every clear digit
said "96%" and the number meant nothing. Temperature scaling fixes that with one number per model: the
log-probabilities are divided by a temperature ``T`` fitted on the model's own validation split (``T < 1``
sharpens, ``T > 1`` softens); the answer (the arg-max) never changes. ``T`` is written into the model card
and applied by ``inference.Predictor``, so the CLI, the pages and Look inside show the same numbers.

The calibration error reported is the expected calibration error (ECE) over 15 equal-width bins of the top
probability: the bins' gaps between accuracy and mean confidence, weighted by their share of the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)  # a temperature outside it means the fit went wrong, not a model this sure


@dataclass(frozen=True)
class Calibration:
    """The temperature fitted on a split and what it did there (stored in the model card)."""

    temperature: float
    n: int  # images it was fitted on
    ece_before: float
    ece_after: float

    def as_card(self) -> dict:
        return {"temperature": round(self.temperature, 4), "fitted_on": "validation split", "n": self.n,
                "ece_before": round(self.ece_before, 5), "ece_after": round(self.ece_after, 5)}


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities rescaled by a temperature.

    Parameters
    ----------
    probabilities : (N, C) float ndarray
        Rows summing to 1.
    temperature : float
        > 0; 1 leaves them as they are.

    Returns
    -------
    (N, C) float32 ndarray
        ``softmax(log(p) / T)``: the same arg-max, rows summing to 1.
    """
    p = np.asarray(probabilities, np.float64)
    if temperature == 1.0 or p.size == 0:
        return p.astype(np.float32)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.log(np.clip(p, 1e-12, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """ECE of (N, C) probabilities against (N,) integer labels over ``bins`` equal-width bins of the top
    probability (a bin holds the answers with top probability in (lo, hi]); 0.0 for no answers."""
    p = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels)
    if p.shape[0] == 0:
        return 0.0
    confidence = p.max(axis=1)
    right = p.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        member = which == b
        if member.any():
            error += member.mean() * abs(right[member].mean() - confidence[member].mean())
    return float(error)


def _nll(probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = with_temperature(probabilities, temperature).astype(np.float64)
    return float(-np.mean(np.log(np.clip(scaled[np.arange(len(labels)), labels], 1e-12, 1.0))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    """The temperature minimising the negative log-likelihood of ``labels`` under (N, C) ``probabilities``.

    Raises
    ------
    ValueError
        No images, or labels outside the classes.
    """
    from scipy.optimize import minimize_scalar

    p = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[0] != labels.shape[0]:
        raise ValueError(f"need (N, C) probabilities and N labels, got {p.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= p.shape[1]:
        raise ValueError("labels must be class indices of the probabilities' columns")
    low, high = np.log(TEMPERATURE_RANGE)
    found = minimize_scalar(lambda log_t: _nll(p, labels, float(np.exp(log_t))), bounds=(low, high),
                            method="bounded", options={"xatol": 1e-4})
    temperature = float(np.exp(found.x))
    return Calibration(temperature, int(len(labels)), expected_calibration_error(p, labels),
                       expected_calibration_error(with_temperature(p, temperature), labels))


def card_temperature(card: dict | None) -> float:
    """The temperature a model card records (1.0 when none, or when the value is unusable)."""
    try:
        value = float(((card or {}).get("calibration") or {}).get("temperature", 1.0))
    except (TypeError, ValueError, AttributeError):
        return 1.0
    return value if TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1] else 1.0
