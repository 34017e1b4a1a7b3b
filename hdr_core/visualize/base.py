"""What the other modules share: the layer table's row, one convolution output's arithmetic, and the helpers that
run a model on one image (sub-models cached per model, inputs checked).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hdr_core.constants import IMAGE_SIZE
from hdr_core.errors import ModelError
from hdr_core.inference import _as_float_images, _ensure_built, _tensor_shape

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table.

    Attributes
    ----------
    name : str
        Layer name (unique in the model).
    kind : str
        Layer class, e.g. ``"Conv2D"``, ``"MaxPooling2D"``, ``"Dense"``.
    output_shape : tuple
        As in ``model.summary()``, batch first: ``(None, 26, 26, 32)``.
    params : int
        Number of weights (trainable and not).
    activation : str or None
        Activation function name (``"relu"``, ``"softmax"``...), None for layers without one.
    """

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int
    activation: str | None = None


@dataclass(frozen=True, eq=False)
class ConvStep:
    """How one output value of a conv layer is computed: patch x kernel, summed, plus bias, activated.

    Attributes
    ----------
    layer : str
        The Conv2D layer.
    row, col, channel : int
        The output position ``(row, col)`` in feature map ``channel``.
    origin : (int, int)
        Input ``(row, col)`` of the patch's top-left pixel; negative or beyond the input where the
        patch hangs over a "same"-padded border.
    patch : (kh, kw, in) float32 ndarray
        The layer's input values that feed this output; zeros for padding.
    padded : (kh, kw) bool ndarray
        True where the patch lies outside the input (zero padding).
    kernel : (kh, kw, in) float32 ndarray
        The weights of filter ``channel``.
    products : (kh, kw, in) float32 ndarray
        ``patch * kernel``, element by element.
    total : float
        ``products.sum()``.
    bias : float
        The filter's bias (0 when the layer has none).
    pre_activation : float
        ``total + bias``.
    activation : str
        Name of the layer's activation (``"relu"``, ``"linear"``...).
    output : float
        The feature-map value Keras computes at this position: ``activation(pre_activation)``.
    """

    layer: str
    row: int
    col: int
    channel: int
    origin: tuple[int, int]
    patch: np.ndarray
    padded: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float
    bias: float
    pre_activation: float
    activation: str
    output: float


_cache_lock = threading.Lock()


_submodels: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()


def _submodel(model: keras.Model, key: tuple, outputs: Sequence[Any]) -> keras.Model:
    """A model from ``model``'s input to ``outputs`` (built once per model and key)."""
    import keras

    with _cache_lock:
        per_model = _submodels.setdefault(model, {})
        sub = per_model.get(key)
    if sub is None:
        sub = keras.Model(inputs=model.inputs[0], outputs=list(outputs))
        with _cache_lock:
            per_model[key] = sub
    return sub


def _non_input_layers(model: keras.Model) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def _get_layer(model: keras.Model, name: str) -> Any:
    names = [layer.name for layer in _non_input_layers(model)]
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"model {model.name!r} has no layer {name!r}; its layers are {names}")
    return model.get_layer(name)


def _is_conv(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.Conv2D)


def _require_conv(model: keras.Model, layer: Any) -> None:
    if not _is_conv(layer):
        convs = [other.name for other in _non_input_layers(_prepared(model)) if _is_conv(other)]
        raise ValueError(
            f"layer {layer.name!r} is a {type(layer).__name__} layer, not a Conv2D layer; "
            f"the conv layers of this model are {convs}"
        )


def _model_input(model: keras.Model, x: np.ndarray) -> Any:
    """(28, 28[, 1]) image -> (1, *model input shape) float32 tensor."""
    import tensorflow as tf

    image = np.asarray(x)
    if image.shape not in ((IMAGE_SIZE, IMAGE_SIZE), (IMAGE_SIZE, IMAGE_SIZE, 1)):
        raise ValueError(
            f"x must be one image of shape ({IMAGE_SIZE}, {IMAGE_SIZE}) or ({IMAGE_SIZE}, {IMAGE_SIZE}, 1), "
            f"got {image.shape}"
        )
    shape = _tensor_shape(model.inputs[0])[1:]
    if int(np.prod([d or 0 for d in shape])) != IMAGE_SIZE * IMAGE_SIZE:
        raise ModelError(
            f"model {model.name!r} takes input of shape {shape}, not a {IMAGE_SIZE}x{IMAGE_SIZE} image"
        )
    return tf.constant(_as_float_images(image, what="x").reshape(1, *shape))


def _prepared(model: keras.Model) -> keras.Model:
    _ensure_built(model)
    return model


def _n_outputs(model: keras.Model) -> int:
    shape = _tensor_shape(model.outputs[0])
    if len(shape) != 2 or shape[1] is None:
        raise ModelError(f"model {model.name!r} output has shape {shape}; expected (None, n) class scores")
    return int(shape[1])


def _check_class_index(model: keras.Model, class_index: int) -> int:
    n = _n_outputs(model)
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) or not 0 <= class_index < n:
        raise ValueError(f"class_index must be an integer in [0, {n - 1}], got {class_index!r}")
    return int(class_index)


def _score_head(model: keras.Model) -> tuple[Any, Any]:
    """Where the class scores come from, before any final softmax.

    Saliency and Grad-CAM differentiate the class *score* (logit), not its softmax probability, which
    saturates near 1 and gives vanishing gradients for confident predictions.

    Returns
    -------
    tensor, head
        A symbolic tensor of the graph and a function mapping its value to the ``(1, n)`` scores.
    """
    last = model.layers[-1] if model.layers else None
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    kind = type(last).__name__
    if kind == "Softmax" or (kind == "Activation" and activation == "softmax"):
        return last.input, lambda h: h
    if kind == "Dense" and activation == "softmax":
        import tensorflow as tf

        def dense_logits(h):  # h: (1, units_in) -> (1, n)
            logits = tf.matmul(h, tf.cast(last.kernel, h.dtype))
            if last.use_bias:
                logits = logits + tf.cast(last.bias, h.dtype)
            return logits

        return last.input, dense_logits
    return model.outputs[0], lambda h: h


def _numpy(variable: Any) -> np.ndarray:
    """A float32 NumPy copy of a Keras variable or tensor."""
    value = variable.numpy() if hasattr(variable, "numpy") else np.asarray(variable)
    return np.array(value, dtype=np.float32)


def _normalise(heatmap: np.ndarray) -> np.ndarray:
    heatmap = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(heatmap.max()) if heatmap.size else 0.0
    if peak <= 0.0:
        return np.zeros_like(heatmap, dtype=np.float32)
    return np.clip(heatmap / peak, 0.0, 1.0).astype(np.float32)
