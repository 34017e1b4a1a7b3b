"""One-image predictions for the Draw page that stay fast on a busy server.

``Predictor.predict`` (a traced ``tf.function``) takes about a millisecond on an idle machine, but
TensorFlow spreads each layer over its thread pool, and after a pause (a student lifting the pen) those
threads are asleep: waking them costs little on an idle machine and 50-500 ms on a machine whose cores
are all busy (measured on the 2-core development machine during a training run: the first prediction
after a pause took 70-540 ms, the one right after it 2-8 ms). A classroom server with thirty students
drawing at once is that machine.

:class:`InstantPredictor` runs the same model through TensorFlow Lite with one thread, in the calling
thread: no pool to wake, about 0.5 ms per image whatever the load, and the same probabilities (they
differ from ``Predictor.predict`` by less than 1e-6). The model is converted once (a few seconds,
cached per server by ``hdr_app.models``). When conversion or the interpreter is not available, it
falls back to ``Predictor.predict`` with a warning, so the page always works.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings

import numpy as np

from hdr_core.constants import IMAGE_SIZE
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
    engine : {'tflite', 'tensorflow'}
        What :meth:`predict` runs on (``'tensorflow'`` after a fallback).
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.class_names = predictor.class_names
        self._lock = threading.Lock()  # one interpreter, used by one thread at a time
        self._interpreter = None
        self.engine = "tensorflow"
        try:
            self._interpreter, self._input, self._output = self._convert(predictor)
            self.engine = "tflite"
        except Exception as error:  # noqa: BLE001 - any converter/interpreter failure: use TensorFlow
            warnings.warn(
                f"TensorFlow Lite is not available for this model ({type(error).__name__}: {error}); "
                "the Draw page predicts with TensorFlow instead (slower on a busy machine).",
                stacklevel=2,
            )

    @staticmethod
    def _convert(predictor: Predictor):
        import tensorflow as tf

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            flat = tf.lite.TFLiteConverter.from_keras_model(predictor.model).convert()
            interpreter = tf.lite.Interpreter(model_content=flat, num_threads=1)
        input_detail = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(input_detail["index"], [1, *input_detail["shape"][1:]])
        interpreter.allocate_tensors()
        input_detail = interpreter.get_input_details()[0]
        output_detail = interpreter.get_output_details()[0]
        # Check it against TensorFlow once: same probabilities, or do not use it.
        probe = np.random.default_rng(0).random((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        interpreter.set_tensor(input_detail["index"], probe.reshape(input_detail["shape"]))
        interpreter.invoke()
        lite = predictor.to_probabilities(interpreter.get_tensor(output_detail["index"]))[0]
        expected = predictor.predict(probe).probabilities
        if lite.shape != expected.shape or not np.allclose(lite, expected, atol=1e-4):
            raise ValueError("its results differ from TensorFlow's")
        return interpreter, input_detail, output_detail

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
        if self._interpreter is None:
            return self.predictor.predict(image28)
        image = np.asarray(image28, dtype=np.float32)
        if image.shape not in ((IMAGE_SIZE, IMAGE_SIZE), (IMAGE_SIZE, IMAGE_SIZE, 1)):
            raise ValueError(f"image28 must have shape (28, 28), got {image.shape}")
        with self._lock:
            self._interpreter.set_tensor(self._input["index"], image.reshape(self._input["shape"]))
            self._interpreter.invoke()
            scores = self._interpreter.get_tensor(self._output["index"]).copy()
        return Prediction.from_probabilities(self.predictor.to_probabilities(scores)[0], self.class_names)
