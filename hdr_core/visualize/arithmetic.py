"""One convolution output worked out by hand: the patch, the kernel, the products, the sum, bias, batch norm and
activation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import ConvStep, _get_layer, _model_input, _numpy, _prepared, _require_conv, _submodel

if TYPE_CHECKING:  # pragma: no cover - type hints only; keras is imported lazily
    import keras


def _padding_before(padding: str, size: int, kernel: int, stride: int, dilation: int) -> int:
    """Zero rows (or columns) Keras/TensorFlow add before the input for this padding."""
    if padding == "valid":
        return 0
    out = -(-size // stride)  # ceil
    effective = (kernel - 1) * dilation + 1
    return max((out - 1) * stride + effective - size, 0) // 2


def _patch(layer_in: np.ndarray, origin: tuple[int, int], size: tuple[int, int], dilation: tuple[int, int]
           ) -> tuple[np.ndarray, np.ndarray]:
    """The input values under the kernel: ``(patch (kh, kw, C) float32, padded (kh, kw) bool)``.

    ``layer_in`` is (H, W, C); ``origin`` the top-left input position the kernel covers (negative inside the
    padding); a position outside the input is padding, read as 0 and marked in ``padded``.
    """
    (top, left), (kh, kw), (dil_h, dil_w) = origin, size, dilation
    in_h, in_w = layer_in.shape[:2]
    patch = np.zeros((kh, kw, layer_in.shape[2]), np.float32)
    padded = np.ones((kh, kw), bool)
    for i in range(kh):
        r = top + i * dil_h
        for j in range(kw):
            c = left + j * dil_w
            if 0 <= r < in_h and 0 <= c < in_w:
                patch[i, j] = layer_in[r, c]
                padded[i, j] = False
    return patch, padded


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
    patch, padded = _patch(layer_in[..., in_slice], (top, left), (kh, kw), (dil_h, dil_w))

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
