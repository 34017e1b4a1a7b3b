"""What a model does with one image: every layer's output, saliency and Grad-CAM (where it looks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from hdr_core.constants import IMAGE_SIZE
from hdr_core.errors import ModelError
from hdr_core.inference import _tensor_shape

from .arithmetic import _padding_before
from .base import (
    _check_class_index,
    _get_layer,
    _model_input,
    _non_input_layers,
    _normalise,
    _prepared,
    _score_head,
    _submodel,
)
from .structure import conv_layer_names

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras


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
