"""A model's structure and weights: the layer table, its convolution layers, their filters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hdr_core.inference import _tensor_shape

from .base import LayerInfo, _get_layer, _is_conv, _non_input_layers, _numpy, _prepared, _require_conv

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras


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
