"""Loading trained models and predicting digits, with a fast path for one image.

Importing this module is cheap: TensorFlow and Keras are imported only when a model is loaded or a
:class:`Predictor` is built, so the app can list the shipped models before TensorFlow starts.

Models are Keras 3 ``.keras`` files that take ``(None, 28, 28, 1)`` (or ``(None, 28, 28)``) float32
images in [0, 1], ink bright on black, and return one score per class, ``(None, n)``. Each shipped model
``models/NAME.keras`` has a model card (``catalog``, which lists them), whose calibration temperature
:class:`Predictor` applies. Every file is inspected (``model_files``) before Keras opens it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hdr_core.calibration import card_temperature, with_temperature
from hdr_core.catalog import (  # noqa: F401 - the catalogue stays reachable here too (inference.default_model_path)
    ModelInfo,
    _card_class_names,
    default_model_path,
    models_dir,
    read_card,
    shipped_models,
)
from hdr_core.constants import IMAGE_SIZE, INPUT_SHAPE
from hdr_core.errors import ModelError
from hdr_core.model_files import inspect_model_file

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras

__all__ = [
    "ModelInfo",
    "Prediction",
    "Predictor",
    "check_model",
    "default_model_path",
    "load_model",
    "load_model_bytes",
    "models_dir",
    "read_card",
    "shipped_models",
]

# --------------------------------------------------------------------------------------------------
# Loading and checking
# --------------------------------------------------------------------------------------------------


def _describe_shape(shape: Sequence[Any]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _tensor_shape(tensor: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _ensure_built(model: keras.Model) -> None:
    """Give an unbuilt model (a Sequential without an Input) its 28x28x1 input, once."""
    try:
        model.inputs  # noqa: B018 - raises when a Sequential model has no inputs yet
        if model.inputs:
            return
    except (AttributeError, ValueError):
        pass
    import keras

    try:
        if isinstance(model, keras.Sequential):
            model.build((None, *INPUT_SHAPE))
        else:
            model(np.zeros((1, *INPUT_SHAPE), np.float32))
    except Exception as exc:  # noqa: BLE001 - any failure means the model does not take our images
        raise ModelError(
            f"model {model.name!r} cannot take 28x28 single-channel images: {type(exc).__name__}: {exc}"
        ) from exc


def check_model(model: keras.Model) -> int:
    """Check that a model takes MNIST-style images and returns one score per class.

    Parameters
    ----------
    model : keras.Model
        Any Keras model; an unbuilt Sequential model is built for ``(None, 28, 28, 1)``.

    Returns
    -------
    n_classes : int
        The length ``n`` of the model's ``(None, n)`` output.

    Raises
    ------
    ModelError
        The model has several inputs or outputs, its input is not ``(None, 28, 28, 1)`` or
        ``(None, 28, 28)``, or its output is not a ``(None, n)`` vector with ``n >= 2``.
    """
    _ensure_built(model)
    if len(model.inputs) != 1:
        raise ModelError(f"This model has {len(model.inputs)} inputs; hdr needs a model with one image input.")
    in_shape = _tensor_shape(model.inputs[0])
    if in_shape[1:] not in ((IMAGE_SIZE, IMAGE_SIZE, 1), (IMAGE_SIZE, IMAGE_SIZE)):
        raise ModelError(
            f"This model expects input of shape {_describe_shape(in_shape[1:])}, but hdr feeds "
            f"{IMAGE_SIZE}x{IMAGE_SIZE} single-channel (grayscale) images, shape "
            f"({IMAGE_SIZE}, {IMAGE_SIZE}, 1). Use a model trained on MNIST-style 28x28 images."
        )
    if in_shape[0] is not None:
        raise ModelError(
            f"This model's input has a fixed batch size of {in_shape[0]}; save it with a free batch "
            f"dimension, input shape (None, {IMAGE_SIZE}, {IMAGE_SIZE}, 1)."
        )
    if len(model.outputs) != 1:
        raise ModelError(f"This model has {len(model.outputs)} outputs; hdr needs one output of class scores.")
    out_shape = _tensor_shape(model.outputs[0])
    if len(out_shape) != 2 or out_shape[1] is None or out_shape[1] < 2:
        raise ModelError(
            f"This model's output has shape {_describe_shape(out_shape)}; hdr needs one score per class, "
            "a vector of shape (None, n) with n >= 2 (e.g. a final Dense(10, activation='softmax'))."
        )
    return int(out_shape[1])


def load_model(path: str | os.PathLike, *, trusted: bool = False) -> keras.Model:
    """Load a Keras 3 ``.keras`` model and check that it fits hdr.

    Parameters
    ----------
    path : str or PathLike
        A ``.keras`` file (zip archive). Legacy ``.h5`` files and SavedModel folders are refused.
    trusted : bool, optional
        False (default) loads with Keras ``safe_mode=True``, which refuses models that carry Python
        code (``Lambda`` layers). Pass True only for files you made yourself.

    Returns
    -------
    model : keras.Model
        The model, not compiled (inference only).

    Raises
    ------
    ModelError
        Missing file, not a ``.keras`` zip (HDF5, text, truncated...), an archive that declares too much
        or names a file outside itself, a layer class the app does not support (a Lambda layer, custom
        code), all checked before Keras reads the file (``model_files.inspect_model_file``); then a file
        Keras cannot load, or a model that does not take 28x28 images or does not return one score per
        class (see :func:`check_model`).
    """
    path = Path(path)
    inspect_model_file(path, layers=not trusted)  # archive, member names and sizes, layers, weights: before Keras
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=not trusted, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; each becomes a clear ModelError
        message = str(exc)
        if "safe_mode" in message or "unsafe" in message.lower():
            if "Lambda" in message:
                raise ModelError(
                    f"{path.name}: this model contains Python code (a Lambda layer), which is not loaded "
                    "for safety: it could run anything on this computer. Rebuild the model without Lambda "
                    "layers, or load it with trusted=True only if you made it yourself."
                ) from exc
            raise ModelError(
                f"{path.name}: this model contains code or external resources that are not loaded for "
                f"safety ({message[:200]}). Load it with trusted=True only if you made it yourself."
            ) from exc
        raise ModelError(
            f"{path.name} could not be loaded as a Keras model ({type(exc).__name__}: {message[:300]}). "
            "Save it again with Keras 3: model.save('model.keras')."
        ) from exc
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path.name} holds a {type(model).__name__}, not a Keras model.")
    check_model(model)
    return model


def load_model_bytes(data: bytes, *, name: str = "model.keras", trusted: bool = False):
    """A ``.keras`` file held in memory (an upload, a worker's result) as a Keras model.

    Written to a temporary folder and read by :func:`load_model`, so it is inspected and
    checked exactly as a file on disk is (imports TensorFlow, quietly). ``name`` only names the temporary
    file (Keras reads the model's name from inside the archive).

    Raises
    ------
    ModelError
        As ``load_model``.
    """
    import tempfile

    from .quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(name).name)[:80] or "model.keras"
    with tempfile.TemporaryDirectory(prefix="hdr-model-") as folder:
        path = Path(folder) / (safe if safe.endswith(".keras") else f"{safe}.keras")
        path.write_bytes(data)
        return load_model(path, trusted=trusted)


# --------------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Prediction:
    """The model's answer for one image.

    Attributes
    ----------
    index : int
        Index of the most probable class.
    label : str
        Its class name (``"7"``, or ``"g"`` for EMNIST letters...).
    confidence : float
        Its probability, in [0, 1].
    probabilities : (n,) float32 ndarray
        Probability of every class (read-only; sums to 1).
    class_names : tuple of str
        Name of every class, in output order.
    """

    index: int
    label: str
    confidence: float
    probabilities: np.ndarray
    class_names: tuple[str, ...] = ()

    @classmethod
    def from_probabilities(cls, probabilities: np.ndarray, class_names: Sequence[str]) -> "Prediction":
        """The prediction that ``(n,)`` float32 probabilities make; the array is frozen (read-only)."""
        probabilities.setflags(write=False)
        index = int(np.argmax(probabilities))
        return cls(index=index, label=class_names[index], confidence=float(probabilities[index]),
                   probabilities=probabilities, class_names=tuple(class_names))

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes.

        Parameters
        ----------
        k : int, optional
            How many; more than the number of classes gives them all.

        Returns
        -------
        top : list of (label, probability)
            Most probable first.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        names = self.class_names or tuple(str(i) for i in range(len(self.probabilities)))
        order = np.argsort(-self.probabilities, kind="stable")[: int(k)]
        return [(names[i], float(self.probabilities[i])) for i in order]


def _as_float_images(images: np.ndarray, *, what: str) -> np.ndarray:
    """(…, 28, 28[, 1]) uint8 or float array -> float32 in [0, 1], without mutating the input."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{what} must be float32 in [0, 1] (or uint8 in 0..255), got dtype {images.dtype}"
        )
    out = np.asarray(images, dtype=np.float32)
    if out.size:
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{what} contains NaN or infinite values")
        low, high = float(out.min()), float(out.max())
        if low < -1e-3 or high > 1.0 + 1e-3:
            raise ValueError(
                f"{what} must hold values in [0, 1], got values in [{low:g}, {high:g}]"
                + (" (divide by 255?)" if high > 1.5 else "")
            )
    return out


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _ends_in_softmax(model: keras.Model) -> bool:
    """True when the model's last layer is a softmax (Dense(..., activation='softmax'), Softmax...)."""
    if not model.layers:
        return False
    last = model.layers[-1]
    if type(last).__name__ == "Softmax":
        return True
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


class Predictor:
    """Predict classes of 28x28 images with a loaded model; fast for one image at a time.

    Parameters
    ----------
    model : keras.Model
        A model that passes :func:`check_model`.
    class_names : sequence of str, optional
        One name per output; default ``"0"`` .. ``"n-1"``.
    warmup : bool, optional
        Trace the one-image graph now (about 50 ms) so that the first :meth:`predict` is fast too.
    temperature : float, keyword-only
        The model's calibration (``hdr_core.calibration``): probabilities are ``softmax(log(p) / T)``.
        ``from_path`` reads it from the model card; 1.0 leaves the model's own outputs.

    Notes
    -----
    ``model.predict`` costs about 40 ms per call whatever the batch size (it builds a data pipeline
    each time). :meth:`predict` instead calls a concrete ``tf.function`` traced once for a
    ``(1, 28, 28, 1)`` float32 input: about 0.6-0.9 ms for a 200-300k-parameter CNN on one CPU core,
    with results identical to ``model.predict``. Thread-safe for concurrent predictions.
    """

    def __init__(
        self,
        model: keras.Model,
        class_names: Sequence[str] | None = None,
        *,
        warmup: bool = True,
        temperature: float = 1.0,
    ) -> None:
        self.model = model
        self.n_classes = check_model(model)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)  # hdr_core.calibration; 1.0 leaves the outputs as they are
        if class_names is None:
            names = tuple(str(i) for i in range(self.n_classes))
        else:
            names = tuple(str(n) for n in class_names)
            if len(names) != self.n_classes:
                raise ModelError(
                    f"{len(names)} class names were given but the model has {self.n_classes} outputs"
                )
        self.class_names: tuple[str, ...] = names
        self._model_input_shape = _tensor_shape(model.inputs[0])[1:]  # (28, 28, 1) or (28, 28)
        self._softmax_output = _ends_in_softmax(model)
        self._lock = threading.Lock()
        self._one = None  # concrete function for (1, 28, 28, 1)
        self._many = None  # concrete function for (None, 28, 28, 1)
        if warmup:
            self.predict(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32))

    @classmethod
    def from_path(cls, path: str | os.PathLike | None = None, *, trusted: bool = False) -> Predictor:
        """Load a ``.keras`` file (default: the default shipped model) and its card's class names and
        calibration temperature.

        Raises
        ------
        ModelError
            As :func:`load_model`, or when the card lists a different number of classes than the
            model has outputs.
        """
        path = default_model_path() if path is None else Path(path)
        model = load_model(path, trusted=trusted)
        card = read_card(path)
        names = _card_class_names(card)
        n = check_model(model)
        if names is not None and len(names) != n:
            raise ModelError(
                f"The model card of {Path(path).name} lists {len(names)} class names, but the model has "
                f"{n} outputs: fix the card's class_names or remove the card."
            )
        return cls(model, names, temperature=card_temperature(card))

    def _functions(self) -> tuple[Any, Any]:
        if self._one is None:
            with self._lock:
                if self._one is None:
                    import tensorflow as tf

                    model, shape = self.model, self._model_input_shape

                    def run(x):  # x: (B, 28, 28, 1) float32
                        return model(tf.reshape(x, (-1, *shape)), training=False)

                    one = tf.function(
                        run,
                        input_signature=[tf.TensorSpec((1, *INPUT_SHAPE), tf.float32)],
                        jit_compile=False,
                        reduce_retracing=True,
                    ).get_concrete_function()
                    many = tf.function(
                        run,
                        input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)],
                        jit_compile=False,
                        reduce_retracing=True,
                    )
                    self._many = many
                    self._one = one
        return self._one, self._many

    def to_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """(N, C) model outputs -> calibrated probabilities: softmax when the model ends in logits, then the
        temperature (``hdr_core.calibration``)."""
        scores = np.asarray(scores, dtype=np.float32)
        if not self._softmax_output:
            sums = scores.sum(axis=1)
            if not (scores.size and np.all(scores >= 0) and np.allclose(sums, 1.0, atol=1e-3)):
                scores = _softmax(scores)
        return with_temperature(scores, self.temperature) if self.temperature != 1.0 else scores

    def predict(self, image28: np.ndarray) -> Prediction:
        """Classify one image (fast path, no ``model.predict``).

        Parameters
        ----------
        image28 : (28, 28) or (28, 28, 1) float32 ndarray
            Values in [0, 1], ink bright on black (uint8 0..255 is scaled by 1/255).

        Returns
        -------
        prediction : Prediction
        """
        image = np.asarray(image28)
        if image.shape not in ((IMAGE_SIZE, IMAGE_SIZE), (IMAGE_SIZE, IMAGE_SIZE, 1)):
            raise ValueError(
                f"image28 must have shape ({IMAGE_SIZE}, {IMAGE_SIZE}) or ({IMAGE_SIZE}, {IMAGE_SIZE}, 1), "
                f"got {image.shape}"
            )
        x = _as_float_images(image, what="image28").reshape(1, *INPUT_SHAPE)
        one, _ = self._functions()
        import tensorflow as tf

        return Prediction.from_probabilities(self.to_probabilities(one(tf.constant(x)).numpy())[0], self.class_names)

    def predict_proba(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities of many images.

        Parameters
        ----------
        images : (N, 28, 28) or (N, 28, 28, 1) ndarray
            float32 in [0, 1] or uint8 in 0..255, ink bright on black.
        batch_size : int, optional
            Images per forward pass (memory vs. speed).

        Returns
        -------
        probabilities : (N, n) float32 ndarray
            Each row sums to 1.
        """
        images = np.asarray(images)
        if images.ndim not in (3, 4) or images.shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE) or (
            images.ndim == 4 and images.shape[3] != 1
        ):
            raise ValueError(
                f"images must have shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}) or (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 1), "
                f"got {images.shape}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        n_images = images.shape[0]
        if n_images == 0:
            return np.zeros((0, self.n_classes), np.float32)
        _, many = self._functions()
        import tensorflow as tf

        out = np.empty((n_images, self.n_classes), np.float32)
        for start in range(0, n_images, int(batch_size)):
            chunk = _as_float_images(images[start : start + batch_size], what="images")
            chunk = chunk.reshape(-1, *INPUT_SHAPE)
            out[start : start + len(chunk)] = self.to_probabilities(many(tf.constant(chunk)).numpy())
        return out
