"""One-image predictions for the Draw page that stay fast on a busy server.

``Predictor.predict`` (a traced ``tf.function``) takes about a millisecond on an idle machine, but
TensorFlow spreads each layer over its thread pool, and after a pause (a student lifting the pen) those
threads are asleep: waking them costs little on an idle machine and 50-500 ms on a machine whose cores
are all busy (measured on the 2-core development machine during a training run: the first prediction
after a pause took 70-540 ms, the one right after it 2-8 ms). A classroom server with thirty students
drawing at once is that machine.

Shipped models and models trained on the server's workers come with a LiteRT flat buffer and are
answered by ``hdr_core.lite.LitePredictor`` directly (no TensorFlow at all). :class:`InstantPredictor` is
for a Keras model already in this process (a model file a student added): it converts the model once
(a few seconds) and answers through the same LiteRT interpreter, one thread, in the calling thread,
about a millisecond per image whatever the load, with the same probabilities (within 1e-5). When the
conversion fails, it falls back to ``Predictor.predict`` with a warning, so the page always works.
"""

from __future__ import annotations

import warnings

import numpy as np

from hdr_core.inference import Prediction, Predictor

__all__ = ["InstantPredictor"]


class InstantPredictor:
    """Single-threaded one-image predictions for a :class:`~hdr_core.inference.Predictor`'s model.

    Parameters
    ----------
    predictor : Predictor
        The model and its class names.

    Attributes
    ----------
    predictor : Predictor
    class_names : tuple of str
    engine : {'litert', 'tensorflow'}
        What :meth:`predict` runs on (``'tensorflow'`` after a fallback).
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.class_names = predictor.class_names
        self._lite = None
        self.engine = "tensorflow"
        try:
            self._lite = self._convert(predictor)
            self.engine = "litert"
        except Exception as error:  # noqa: BLE001 - any converter/interpreter failure: use TensorFlow
            warnings.warn(
                f"LiteRT is not available for this model ({type(error).__name__}: {error}); "
                "the Draw page predicts with TensorFlow instead (slower on a busy machine).",
                stacklevel=2,
            )

    @staticmethod
    def _convert(predictor: Predictor):
        """The model as a ``LitePredictor``; its answers are checked against the model's own (``lite.convert``)."""
        from hdr_core.lite import LitePredictor, convert

        return LitePredictor(convert(predictor.model), predictor.class_names, temperature=predictor.temperature)

    def predict(self, image28: np.ndarray) -> Prediction:
        """Classify one image, like :meth:`Predictor.predict`.

        Parameters
        ----------
        image28 : (28, 28) float32 ndarray
            Values in [0, 1], ink bright on black.

        Returns
        -------
        Prediction
        """
        if self._lite is None:
            return self.predictor.predict(image28)
        return self._lite.predict(image28)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) images -> (N, C) float32 probabilities, like :meth:`Predictor.predict_proba`."""
        if self._lite is None:
            return self.predictor.predict_proba(images)
        return self._lite.predict_proba(images)
