"""What a model sees, as NumPy arrays: layers, filters, feature maps, saliency, Grad-CAM, conv arithmetic.

Every function takes a Keras model (Sequential or Functional, built or not) and, where an image is
needed, one ``(28, 28)`` float32 image in [0, 1] (ink bright on black; ``(28, 28, 1)`` and uint8 are
accepted too). They return NumPy arrays or small frozen dataclasses and never draw; the Look inside page
renders them. They are pure (the model is never changed, apart from building an unbuilt Sequential
model for a 28x28x1 input) so the page may cache their results. TensorFlow and Keras are imported when a
function is first called.

Only the model's top-level layers are listed; a nested model counts as one layer. "Conv layers" are
``keras.layers.Conv2D`` layers (channels last).

One module per concern: ``base`` (shared dataclasses and helpers), ``structure`` (layers, filters),
``attention`` (activations, saliency, Grad-CAM), ``arithmetic`` (one convolution output by hand) and
``network`` (stages, the path of a convolution output, each class's evidence: what the page explains).
"""

from __future__ import annotations

from .arithmetic import conv_arithmetic
from .attention import activations, grad_cam, saliency
from .base import ConvStep, LayerInfo
from .network import (
    ChainStep,
    ModelView,
    Stage,
    conv_chain,
    describe_model,
    grid_columns,
    output_contributions,
    products_sum_text,
    short_number,
    tile_maps,
)
from .structure import conv_filters, conv_layer_names, layer_table

__all__ = [
    "ChainStep",
    "ConvStep",
    "LayerInfo",
    "ModelView",
    "Stage",
    "activations",
    "conv_arithmetic",
    "conv_chain",
    "conv_filters",
    "conv_layer_names",
    "describe_model",
    "grad_cam",
    "grid_columns",
    "layer_table",
    "output_contributions",
    "products_sum_text",
    "saliency",
    "short_number",
    "tile_maps",
]
