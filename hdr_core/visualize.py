"""What a model sees, as NumPy arrays: layers, filters, feature maps, saliency, Grad-CAM, conv arithmetic.

Every function takes a Keras model (Sequential or Functional, built or not) and, where an image is
needed, one ``(28, 28)`` float32 image in [0, 1] (ink bright on black; ``(28, 28, 1)`` and uint8 are
accepted too). They return NumPy arrays or small frozen dataclasses and never draw; the Visualise page
renders them. They are pure (the model is never changed, apart from building an unbuilt Sequential
model for a 28x28x1 input) so the page may cache their results. TensorFlow and Keras are imported when a
function is first called.

Only the model's top-level layers are listed; a nested model counts as one layer. "Conv layers" are
``keras.layers.Conv2D`` layers (channels last).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from hdr_core.constants import IMAGE_SIZE
from hdr_core.errors import ModelError
from hdr_core.inference import _as_float_images, _ensure_built, _tensor_shape

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras

__all__ = [
    "ConvStep",
    "LayerInfo",
    "activations",
    "conv_arithmetic",
    "conv_filters",
    "conv_layer_names",
    "grad_cam",
    "layer_table",
    "saliency",
]


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


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

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
        raise ValueError(
            f"layer {layer.name!r} is a {type(layer).__name__} layer, not a Conv2D layer; "
            f"the conv layers of this model are {conv_layer_names(model)}"
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


# --------------------------------------------------------------------------------------------------
# Structure and weights
# --------------------------------------------------------------------------------------------------


def layer_table(model: keras.Model) -> list[LayerInfo]:
    """The model's layers in order, without the input layer.

    Parameters
    ----------
    model : keras.Model
        Sequential or Functional.

    Returns
    -------
    rows : list of LayerInfo
        ``sum(row.params) == model.count_params()``.
    """
    model = _prepared(model)
    rows = []
    for layer in _non_input_layers(model):
        try:
            output = layer.output
            output_shape = _tensor_shape(output[0] if isinstance(output, (list, tuple)) else output)
        except (AttributeError, ValueError):  # a layer shared between several calls
            output_shape = ()
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        rows.append(
            LayerInfo(
                name=layer.name,
                kind=type(layer).__name__,
                output_shape=output_shape,
                params=int(layer.count_params()),
                activation=activation,
            )
        )
    return rows


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's Conv2D layers, input to output; empty for a dense-only network (MLP)."""
    model = _prepared(model)
    return [layer.name for layer in _non_input_layers(model) if _is_conv(layer)]


def conv_filters(model: keras.Model, layer: str) -> np.ndarray:
    """The kernels of a Conv2D layer.

    Parameters
    ----------
    model : keras.Model
    layer : str
        Name of a Conv2D layer (see :func:`conv_layer_names`).

    Returns
    -------
    kernels : (kh, kw, in, out) float32 ndarray
        ``kernels[..., k]`` is filter ``k``; a copy (changing it does not change the model).
    """
    model = _prepared(model)
    conv = _get_layer(model, layer)
    _require_conv(model, conv)
    return _numpy(conv.kernel)


# --------------------------------------------------------------------------------------------------
# Activations, saliency, Grad-CAM
# --------------------------------------------------------------------------------------------------


def activations(model: keras.Model, x: np.ndarray, layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Every chosen layer's output for one image, in one forward pass.

    Parameters
    ----------
    model : keras.Model
    x : (28, 28) float32 ndarray
        One image in [0, 1], ink bright on black.
    layers : sequence of str, optional
        Layer names; default all layers except the input layer.

    Returns
    -------
    maps : dict of str to ndarray
        Layer name -> its output without the batch axis, float32: ``(H, W, C)`` for conv and pooling
        layers, ``(units,)`` for dense layers. In the order of ``layers``.
    """
    if isinstance(layers, str):
        raise ValueError(f"layers must be a list of layer names, got the string {layers!r}")
    model = _prepared(model)
    names = [layer.name for layer in _non_input_layers(model)] if layers is None else list(layers)
    if not names:
        return {}
    chosen = [_get_layer(model, name) for name in names]
    inputs = _model_input(model, x)
    sub = _submodel(model, ("activations", *names), [layer.output for layer in chosen])
    outputs = sub(inputs, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(out, dtype=np.float32)[0] for name, out in zip(names, outputs)}


def saliency(model: keras.Model, x: np.ndarray, class_index: int) -> np.ndarray:
    """Vanilla gradient saliency: how much each pixel moves the class score.

    Parameters
    ----------
    model : keras.Model
    x : (28, 28) float32 ndarray
        One image in [0, 1], ink bright on black.
    class_index : int
        Class whose score (pre-softmax logit where the model ends in a softmax) is differentiated.

    Returns
    -------
    heatmap : (28, 28) float32 ndarray
        ``|d score / d pixel|`` divided by its maximum: values in [0, 1] (all zeros if the gradient is).
    """
    import tensorflow as tf

    model = _prepared(model)
    class_index = _check_class_index(model, class_index)
    inputs = _model_input(model, x)
    tensor, head = _score_head(model)
    sub = _submodel(model, ("score",), [tensor])
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        score = head(sub(inputs, training=False))[:, class_index]
    gradient = tape.gradient(score, inputs)
    if gradient is None:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return _normalise(np.abs(np.asarray(gradient)).reshape(IMAGE_SIZE, IMAGE_SIZE))


def grad_cam(model: keras.Model, x: np.ndarray, class_index: int, layer: str | None = None) -> np.ndarray:
    """Grad-CAM: which regions of a conv layer's feature maps support the class.

    Parameters
    ----------
    model : keras.Model
    x : (28, 28) float32 ndarray
        One image in [0, 1], ink bright on black.
    class_index : int
        Class explained (its pre-softmax score).
    layer : str, optional
        A layer with ``(H, W, C)`` output; default the last Conv2D layer.

    Returns
    -------
    heatmap : (28, 28) float32 ndarray
        ReLU of the gradient-weighted sum of the layer's feature maps, divided by its maximum: values in
        [0, 1]. Each unit's value sits on the image pixel at the centre of its receptive field, bilinear
        in between and 0 beyond the outermost units (for "valid" convs these cover only the middle).

    Raises
    ------
    ModelError
        The model has no conv layer (a dense-only network); a ValueError, so callers may catch either.
    """
    import tensorflow as tf

    model = _prepared(model)
    class_index = _check_class_index(model, class_index)
    if layer is None:
        convs = conv_layer_names(model)
        if not convs:
            raise ModelError(
                f"Grad-CAM needs a convolutional layer, and model {model.name!r} has none (it is a "
                "dense-only network); use the saliency map instead."
            )
        layer = convs[-1]
    target = _get_layer(model, layer)
    if len(_tensor_shape(target.output)) != 4:
        raise ValueError(
            f"Grad-CAM needs a layer with (H, W, C) feature maps; {layer!r} outputs "
            f"{_tensor_shape(target.output)}. Choose one of {conv_layer_names(model)}"
        )
    inputs = _model_input(model, x)
    tensor, head = _score_head(model)
    sub = _submodel(model, ("grad_cam", layer), [target.output, tensor])
    with tf.GradientTape() as tape:
        feature_maps, scores_in = sub(inputs, training=False)  # (1, h, w, k), ...
        tape.watch(feature_maps)
        score = head(scores_in)[:, class_index]
    gradient = tape.gradient(score, feature_maps)
    if gradient is None:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    weights = np.asarray(gradient, dtype=np.float32)[0].mean(axis=(0, 1))  # (k,)
    cam = np.maximum(np.asarray(feature_maps, dtype=np.float32)[0] @ weights, 0.0)  # (h, w)
    return _normalise(np.maximum(_to_image_grid(model, layer, cam), 0.0))


def _unit_centres(model: keras.Model, layer: str) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where the units of ``layer``'s feature maps sit on the 28 x 28 image.

    Returns ``((start_y, step_y), (start_x, step_x))``: unit ``(i, j)`` is centred on image pixel
    ``(start_y + i * step_y, start_x + j * step_x)`` (the centre of its receptive field). Worked out layer
    by layer from kernel size, stride, dilation and padding, for a chain of Conv2D, pooling and
    shape-keeping layers; None for any other graph (a branch, a resize), where the caller stretches.
    """
    import keras

    spatial = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    start, step = [0.0, 0.0], [1.0, 1.0]
    size: tuple[int, ...] = (IMAGE_SIZE, IMAGE_SIZE)
    previous = None
    for item in _non_input_layers(model):
        try:
            inputs = item.input if isinstance(item.input, (list, tuple)) else [item.input]
        except (AttributeError, ValueError):  # a layer called more than once has no single input
            return None
        history = getattr(inputs[0], "_keras_history", None)
        if len(inputs) != 1 or history is None or (previous is not None and history[0] is not previous):
            return None  # not a plain chain
        shape = _tensor_shape(item.output)
        if isinstance(item, spatial):
            if len(shape) != 4 or getattr(item, "data_format", "channels_last") != "channels_last":
                return None
            if isinstance(item, keras.layers.Conv2D):
                kernel, dilation = item.kernel_size, item.dilation_rate
            else:
                kernel, dilation = item.pool_size, (1, 1)
            out = []
            for axis in range(2):
                k, s, d = int(kernel[axis]), int(item.strides[axis]), int(dilation[axis])
                pad = _padding_before(item.padding, size[axis], k, s, d)
                start[axis] += step[axis] * ((k - 1) * d / 2 - pad)
                step[axis] *= s
                out.append(-(-size[axis] // s) if item.padding == "same" else (size[axis] - (k - 1) * d - 1) // s + 1)
            size = tuple(out)
            if tuple(shape[1:3]) != size:
                return None  # our arithmetic disagrees with Keras: do not pretend to know
        elif len(shape) != 4 or tuple(shape[1:3]) != size:
            return None  # not batch norm, an activation, dropout... (which keep every unit in place)
        if item.name == layer:
            return (start[0], step[0]), (start[1], step[1])
        previous = item
    return None


def _to_image_grid(model: keras.Model, layer: str, cam: np.ndarray) -> np.ndarray:
    """A (h, w) map over ``layer``'s units -> (28, 28) float32, each pixel reading the units around it.

    Each unit's value is placed at the centre of its receptive field (bilinear in between, fading to 0
    within one unit's step beyond the outermost centres). An 8 x 8 map of a "valid" conv covers only the middle of
    the image; stretching it over the whole 28 x 28 frame would paint the edge units' values onto the
    empty border, away from the ink they looked at.
    """
    centres = _unit_centres(model, layer)
    if centres is None:
        return cv2.resize(cam, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_LINEAR)
    (start_y, step_y), (start_x, step_x) = centres
    # Image pixel (u, v) reads the map at ((u - start_x) / step_x, (v - start_y) / step_y).
    inverse = np.array([[1 / step_x, 0, -start_x / step_x], [0, 1 / step_y, -start_y / step_y]], np.float64)
    return cv2.warpAffine(
        np.ascontiguousarray(cam, np.float32), inverse, (IMAGE_SIZE, IMAGE_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )


# --------------------------------------------------------------------------------------------------
# Convolution arithmetic
# --------------------------------------------------------------------------------------------------


def _padding_before(padding: str, size: int, kernel: int, stride: int, dilation: int) -> int:
    """Zero rows (or columns) Keras/TensorFlow add before the input for this padding."""
    if padding == "valid":
        return 0
    out = -(-size // stride)  # ceil
    effective = (kernel - 1) * dilation + 1
    return max((out - 1) * stride + effective - size, 0) // 2


def conv_arithmetic(model: keras.Model, x: np.ndarray, *, layer: str, row: int, col: int, channel: int) -> ConvStep:
    """The multiply-and-add behind one value of a Conv2D feature map.

    Parameters
    ----------
    model : keras.Model
    x : (28, 28) float32 ndarray
        One image in [0, 1], ink bright on black.
    layer : str
        A Conv2D layer; the first conv layer reads the image itself, a later one reads the previous
        layer's feature maps.
    row, col : int
        Position in the layer's output feature map.
    channel : int
        Which filter (output channel).

    Returns
    -------
    step : ConvStep
        Patch, kernel, products, sum, bias and activated output; ``output`` is the value Keras computes,
        equal to ``activation(products.sum() + bias)`` up to float rounding. Padding ("same"/"valid"),
        strides, dilation and groups are taken from the layer.
    """
    model = _prepared(model)
    conv = _get_layer(model, layer)
    _require_conv(model, conv)
    if getattr(conv, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"layer {layer!r} is channels_first; only channels_last conv layers are supported")
    inputs = _model_input(model, x)
    sub = _submodel(model, ("conv_arithmetic", layer), [conv.input, conv.output])
    layer_in, layer_out = sub(inputs, training=False)
    layer_in = np.asarray(layer_in, dtype=np.float32)[0]  # (H, W, C_in)
    layer_out = np.asarray(layer_out, dtype=np.float32)[0]  # (H_out, W_out, C_out)

    out_h, out_w, out_c = layer_out.shape
    for name, value, limit in (("row", row, out_h), ("col", col, out_w), ("channel", channel, out_c)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < limit:
            raise ValueError(f"{name} must be an integer in [0, {limit - 1}] for layer {layer!r}, got {value!r}")
    row, col, channel = int(row), int(col), int(channel)

    kernel_all = _numpy(conv.kernel)  # (kh, kw, C_in / groups, C_out)
    kh, kw, in_per_group, _ = kernel_all.shape
    stride_h, stride_w = conv.strides
    dil_h, dil_w = conv.dilation_rate
    groups = int(getattr(conv, "groups", 1) or 1)
    group = channel // (out_c // groups)
    in_slice = slice(group * in_per_group, (group + 1) * in_per_group)

    in_h, in_w = layer_in.shape[:2]
    top = row * stride_h - _padding_before(conv.padding, in_h, kh, stride_h, dil_h)
    left = col * stride_w - _padding_before(conv.padding, in_w, kw, stride_w, dil_w)
    patch = np.zeros((kh, kw, in_per_group), np.float32)
    padded = np.ones((kh, kw), bool)
    for i in range(kh):
        r = top + i * dil_h
        for j in range(kw):
            c = left + j * dil_w
            if 0 <= r < in_h and 0 <= c < in_w:
                patch[i, j] = layer_in[r, c, in_slice]
                padded[i, j] = False

    kernel = kernel_all[..., channel].copy()
    products = patch * kernel
    total = float(products.sum(dtype=np.float64))
    bias = float(_numpy(conv.bias)[channel]) if conv.use_bias else 0.0
    activation = getattr(conv.activation, "__name__", str(conv.activation))
    for array in (patch, padded, kernel, products):
        array.setflags(write=False)
    return ConvStep(
        layer=layer,
        row=row,
        col=col,
        channel=channel,
        origin=(top, left),
        patch=patch,
        padded=padded,
        kernel=kernel,
        products=products,
        total=total,
        bias=bias,
        pre_activation=total + bias,
        activation=activation,
        output=float(layer_out[row, col, channel]),
    )
