"""Predictions through LiteRT (``ai-edge-litert``), with no TensorFlow in the process.

TensorFlow costs a process about 650 MB and seconds to import; a web server that only answers drawings
and photos needs neither. A model converted once to a ``.tflite`` flat buffer (:func:`convert`, which
does need TensorFlow: on a training worker, in the CLI, or when a shipped model is exported) is run here
by LiteRT, the maintained successor of ``tf.lite.Interpreter`` (deprecated since TensorFlow 2.19): about
10 MB, one thread, no pool to wake after a pause, the same probabilities to 1e-5.

Shipped models carry their ``.tflite`` beside the ``.keras`` (``python -m hdr_core export-lite``); the
card records the SHA-256 of the ``.keras`` it was made from, so a replaced model never runs a stale
flat buffer (:func:`shipped_lite_file`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .calibration import with_temperature
from .constants import IMAGE_SIZE
from .errors import ModelError
from .inference import Prediction
from .quiet import stderr_held_back

__all__ = [
    "LITE_SUFFIX",
    "LitePredictor",
    "convert",
    "export_lite",
    "file_sha256",
    "shipped_lite_file",
    "shipped_lite_predictor",
]

LITE_SUFFIX = ".tflite"
CARD_KEY = "litert"  # the card's record of its flat buffer: {"file": ..., "keras_sha256": ...}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(model, *, check: bool = True) -> bytes:
    """A Keras model as a LiteRT flat buffer (imports TensorFlow).

    Parameters
    ----------
    model : keras.Model
        Takes (N, 28, 28, 1) or (N, 28, 28) images.
    check : bool
        Compare the flat buffer's outputs with the model's on a few random images; raise if they differ.

    Raises
    ------
    ModelError
        The conversion failed or its outputs differ from the model's by more than 1e-4.
    """
    import contextlib
    import io
    import warnings

    from .quiet import import_tensorflow_quietly, stderr_held_back

    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), stderr_held_back():
            warnings.simplefilter("ignore")
            flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as exc:  # noqa: BLE001 - the converter raises many kinds
        raise ModelError(f"This model could not be converted for LiteRT ({type(exc).__name__}: {exc}).") from exc
    if check:
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        probe = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
        expected = np.asarray(model(probe, training=False), np.float32)
        got = LitePredictor(flat)._scores(probe.reshape(3, IMAGE_SIZE, IMAGE_SIZE))
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-4):
            raise ModelError("The LiteRT conversion of this model gives other answers than the model itself.")
    return bytes(flat)


def export_lite(keras_path: str | os.PathLike, model=None) -> Path:
    """Write ``NAME.tflite`` beside ``NAME.keras`` and record it in ``NAME.json`` (the card), if there is one.

    ``model`` is the loaded model (read from ``keras_path`` when omitted). Returns the ``.tflite`` path.
    """
    keras_path = Path(keras_path)
    if model is None:
        from .inference import load_model

        model = load_model(keras_path)
    lite_path = keras_path.with_suffix(LITE_SUFFIX)
    lite_path.write_bytes(convert(model))
    card_path = keras_path.with_suffix(".json")
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        card[CARD_KEY] = {"file": lite_path.name, "keras_sha256": file_sha256(keras_path)}
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    return lite_path


def shipped_lite_file(keras_path: str | os.PathLike, card: dict | None) -> Path | None:
    """The ``.tflite`` made from exactly this ``.keras`` file (its card says so), or None."""
    record = (card or {}).get(CARD_KEY)
    if not isinstance(record, dict) or not record.get("file") or not record.get("keras_sha256"):
        return None
    keras_path = Path(keras_path)
    lite_path = keras_path.with_name(Path(str(record["file"])).name)
    try:
        if lite_path.is_file() and file_sha256(keras_path) == record["keras_sha256"]:
            return lite_path
    except OSError:
        pass
    return None


def shipped_lite_predictor(keras_path: str | os.PathLike, card: dict | None) -> LitePredictor | None:
    """The LiteRT predictor made from exactly this ``.keras`` file, with its card's class names and calibration
    temperature; None when the card records no such file (:func:`shipped_lite_file`).

    Raises
    ------
    ModelError
        The ``.tflite`` file is there but is not a LiteRT model (damaged).
    """
    from .calibration import card_temperature

    lite_path = shipped_lite_file(keras_path, card)
    if lite_path is None:
        return None
    card = card or {}
    return LitePredictor.from_file(lite_path, card.get("class_names"), temperature=card_temperature(card))


class LitePredictor:
    """Predict 28x28 images with a LiteRT flat buffer: the same methods as ``inference.Predictor``, no TensorFlow.

    Parameters
    ----------
    flat : bytes
        The flat buffer (:func:`convert`).
    class_names : sequence of str, optional
        One per output; default ``"0"``, ``"1"``...
    temperature : float
        The card's calibration temperature (``hdr_core.calibration``).

    Attributes
    ----------
    class_names : tuple of str
    n_classes : int
    temperature : float
    engine : str
        ``"litert"``.
    """

    engine = "litert"

    def __init__(self, flat: bytes, class_names: Sequence[str] | None = None, *, temperature: float = 1.0):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - a requirement; kept for a clear message
            raise ModelError("LiteRT (the ai-edge-litert package) is not installed.") from exc
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self._flat = bytes(flat)
        self._make = lambda: Interpreter(model_content=self._flat, num_threads=1)
        try:
            with stderr_held_back():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" line
                self._one = self._make()
                self._prepare(self._one, 1)
        except Exception as exc:  # noqa: BLE001 - a corrupt buffer raises ValueError or RuntimeError
            raise ModelError(f"This is not a LiteRT model ({type(exc).__name__}: {exc}).") from exc
        self._many = None  # a second interpreter for batches, resized to each batch
        self._lock = threading.Lock()
        self.n_classes = int(self._one.get_output_details()[0]["shape"][-1])
        names = tuple(str(i) for i in range(self.n_classes)) if class_names is None else tuple(map(str, class_names))
        if len(names) != self.n_classes:
            raise ModelError(f"{len(names)} class names were given but the model has {self.n_classes} outputs")
        self.class_names = names
        self.temperature = float(temperature)

    def _prepare(self, interpreter, n: int) -> None:
        detail = interpreter.get_input_details()[0]
        shape = tuple(int(d) for d in detail["shape"][1:])
        if shape not in ((IMAGE_SIZE, IMAGE_SIZE, 1), (IMAGE_SIZE, IMAGE_SIZE)):
            raise ModelError(f"This LiteRT model takes input of shape {shape}, not 28x28 images.")
        self._input_shape = shape
        interpreter.resize_tensor_input(detail["index"], [n, *shape])
        interpreter.allocate_tensors()

    @classmethod
    def from_file(cls, path: str | os.PathLike, class_names: Sequence[str] | None = None, *,
                  temperature: float = 1.0) -> LitePredictor:
        return cls(Path(path).read_bytes(), class_names, temperature=temperature)

    def _run(self, interpreter, batch: np.ndarray) -> np.ndarray:
        detail = interpreter.get_input_details()[0]
        interpreter.set_tensor(detail["index"], batch.reshape(len(batch), *self._input_shape))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    def _scores(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 -> (N, C) raw outputs."""
        with self._lock:
            if len(images) == 1:
                return self._run(self._one, images)
            if self._many is None:
                with stderr_held_back():
                    self._many = self._make()
            if int(self._many.get_input_details()[0]["shape"][0]) != len(images):
                self._prepare(self._many, len(images))
            return self._run(self._many, images)

    def to_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """(N, C) outputs -> calibrated probabilities (softmax first when they are not probabilities already)."""
        scores = np.asarray(scores, np.float32)
        sums = scores.sum(axis=1)
        if not (scores.size and np.all(scores >= 0) and np.allclose(sums, 1.0, atol=1e-3)):
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
        return with_temperature(scores, self.temperature) if self.temperature != 1.0 else scores

    @staticmethod
    def _as_float(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)

    def predict(self, image28: np.ndarray) -> Prediction:
        """Classify one (28, 28) or (28, 28, 1) image, float32 in [0, 1] (uint8 is scaled by 1/255)."""
        image = np.asarray(image28)
        if image.shape not in ((IMAGE_SIZE, IMAGE_SIZE), (IMAGE_SIZE, IMAGE_SIZE, 1)):
            raise ValueError(f"image28 must have shape (28, 28) or (28, 28, 1), got {image.shape}")
        scores = self._scores(self._as_float(image).reshape(1, IMAGE_SIZE, IMAGE_SIZE))
        return Prediction.from_probabilities(self.to_probabilities(scores)[0], self.class_names)

    def predict_proba(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """(N, 28, 28) or (N, 28, 28, 1) images -> (N, C) float32 probabilities, each row summing to 1."""
        images = np.asarray(images)
        if images.ndim not in (3, 4) or images.shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE) or (
                images.ndim == 4 and images.shape[3] != 1):
            raise ValueError(f"images must have shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        flat = self._as_float(images).reshape(len(images), IMAGE_SIZE, IMAGE_SIZE)
        if not len(flat):
            return np.zeros((0, self.n_classes), np.float32)
        parts = [self.to_probabilities(self._scores(flat[i:i + batch_size])) for i in range(0, len(flat), batch_size)]
        return np.concatenate(parts).astype(np.float32)
