"""The heavy arrays of the Look inside page, computed once per model and input (``st.cache_data``): the model is
passed as ``_model`` (not hashed) and identified by ``model_key``.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from typing import Any

import numpy as np
import streamlit as st

from hdr_core import visualize
from hdr_core.visualize import ModelView, describe_model

# A process-wide token per model object, so that two models never share cached arrays.
_model_tokens: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_tokens_lock = threading.Lock()



def input_key(image: np.ndarray) -> str:
    """A short hash of the image bytes: identifies the input in cache keys and widget keys."""
    data = np.ascontiguousarray(np.asarray(image, np.float32).reshape(28, 28)).tobytes()
    return hashlib.sha1(data).hexdigest()[:16]


@st.cache_data(show_spinner=False, max_entries=16)
def model_view(model_key: str, _model: Any) -> ModelView:
    """:func:`describe_model`, once per model."""
    return describe_model(_model)


@st.cache_data(show_spinner=False, max_entries=32)
def all_activations(model_key: str, image_key: str, _model: Any, _image: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output for one input, in one forward pass (once per model and input)."""
    return visualize.activations(_model, _image)


@st.cache_data(show_spinner=False, max_entries=32)
def filters(model_key: str, layer: str, _model: Any) -> np.ndarray:
    """:func:`hdr_core.visualize.conv_filters`, once per model and layer."""
    return visualize.conv_filters(_model, layer)


@st.cache_data(show_spinner=False, max_entries=128)
def heatmap(model_key: str, image_key: str, method: str, class_index: int, layer: str | None, _model: Any,
            _image: np.ndarray) -> np.ndarray:
    """Grad-CAM or saliency of one class, once per model, input, class and layer."""
    if method == "grad-cam":
        return visualize.grad_cam(_model, _image, class_index, layer=layer)
    return visualize.saliency(_model, _image, class_index)


@st.cache_data(show_spinner=False, max_entries=128)
def conv_step(model_key: str, image_key: str, layer: str, row: int, col: int, channel: int, _model: Any,
              _image: np.ndarray) -> visualize.ConvStep:
    """:func:`hdr_core.visualize.conv_arithmetic`, cached."""
    return visualize.conv_arithmetic(_model, _image, layer=layer, row=row, col=col, channel=channel)


def model_key(model: Any, name: str = "") -> str:
    """A cache key naming one live model object: its name plus a random token kept as long as the model.

    (``id(model)`` alone could be reused by another model after the first is freed.)
    """
    with _tokens_lock:
        token = _model_tokens.get(model)
        if token is None:
            token = _model_tokens[model] = uuid.uuid4().hex[:12]
    return f"{name or getattr(model, 'name', 'model')}:{token}"
