"""The Visualise page's views: how a CNN turns a 28x28 digit into a decision.

Two halves:

* Pure helpers (no Streamlit): group a model's layers into the *stages* a student should see
  (``conv_1 -> batch norm -> ReLU`` is one stage, shown after the ReLU), tile feature maps into one
  image, follow one convolution output through bias, batch norm and ReLU, and build plotly figures.
* ``*_ui()`` functions that draw one tab each, with the heavy arrays cached by ``st.cache_data`` once per
  (model, input): the model is passed as ``_model`` (not hashed) and identified by ``model_key``.

Plotly only (no matplotlib). Images are shown as the model sees them: ink bright on black.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.colors as plotly_colors
import plotly.graph_objects as go
import streamlit as st

from hdr_app import state
from hdr_core import visualize
from hdr_core.errors import HdrError

# --------------------------------------------------------------------------------------------------
# Look
# --------------------------------------------------------------------------------------------------

# Colour scales are spelled out as [position, "rgb(...)"] lists: figures are built without plotly's
# validation (fast), so plotly.py's names would reach plotly.js, whose "RdBu" differs and which has no
# "_r" scales. rgb() rather than hex also because Streamlit's plotly theme repaints some hex colours
# (#000001..#000010, e.g. Inferno's first, #000004) as placeholders for its own.
FILTER_SCALE = [[p, c] for p, c in plotly_colors.get_colorscale("RdBu_r")]  # red = positive, blue = negative, white = 0
MAP_SCALE = [  # activations >= 0 (after ReLU / pooling): black = 0, bright yellow = strong (Inferno)
    [i / 9, "rgb({}, {}, {})".format(*(int(h[k : k + 2], 16) for k in (1, 3, 5)))]
    for i, h in enumerate(("#010005", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925",
                           "#fb9b06", "#f7d13d", "#fcffa4"))
]
IMAGE_SCALE = [[0.0, "rgb(0, 0, 0)"], [1.0, "rgb(255, 255, 255)"]]  # ink bright on black, as the model sees it
HEAT_SCALE = [  # transparent at 0 so the digit shows through; red, then orange, then yellow where it looks most
    [0.0, "rgba(220, 20, 60, 0.0)"],
    [0.15, "rgba(220, 20, 60, 0.0)"],
    [0.4, "rgba(230, 40, 50, 0.55)"],
    [0.7, "rgba(255, 140, 0, 0.75)"],
    [1.0, "rgba(255, 240, 60, 0.9)"],
]
ACCENT = "#2563eb"  # the theme's primary colour
MARK_COLOUR = "#22d3ee"  # frames on images: the patch, the chosen position
GAP_COLOUR = "#94a3b8"
CHART_CONFIG = {"displayModeBar": False}
GRAD_CAM_MIN_SIDE = 10  # default Grad-CAM layer: the last with maps at least this big (see grad_cam_default)
_FONT = dict(size=12)

# Layers that act element-wise on a conv's output and belong to its stage ("conv -> BN -> ReLU").
_BLOCK_KINDS = {"BatchNormalization", "ReLU", "Activation", "LeakyReLU", "PReLU", "ELU"}
# Layers that only rescale the input image (no features of their own): shown, never a Grad-CAM layer.
_SCALING_KINDS = {"Rescaling", "UnitNormalization", "Normalization"}
# Layers that do nothing at prediction time: not shown as stages.
_SKIP_KINDS = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "InputLayer"}
_POOL_KINDS = {"MaxPooling2D", "AveragePooling2D"}
_MAX_FLATTEN_SHOWN = 512  # a longer Flatten output (e.g. 9216 numbers) is not drawn as a vector


# --------------------------------------------------------------------------------------------------
# Model structure: stages
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A step of the network worth showing: a conv block, a pooling layer, a dense layer...

    Attributes
    ----------
    name : str
        The layer whose output is shown (the block's last layer: ``conv_1_relu`` for
        ``conv_1 -> conv_1_bn -> conv_1_relu``).
    layers : tuple of str
        Every layer of the stage, input to output (``("conv_1", "conv_1_bn", "conv_1_relu")``).
    kinds : tuple of str
        Their layer classes.
    label : str
        For titles: ``"conv_1 → batch norm → ReLU"``.
    shape : tuple of int
        Output shape without the batch axis: ``(26, 26, 32)`` or ``(128,)``.
    role : str
        ``"conv"``, ``"pool"``, ``"spatial"`` (another layer with feature maps), ``"scaling"`` (the input
        image rescaled, e.g. each column to unit length), ``"vector"`` (dense,
        global pooling, a short flatten) or ``"output"`` (the class scores).
    conv : str or None
        The Conv2D layer of a ``"conv"`` stage.
    """

    name: str
    layers: tuple[str, ...]
    kinds: tuple[str, ...]
    label: str
    shape: tuple[int, ...]
    role: str
    conv: str | None = None

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 3


@dataclass(frozen=True)
class ModelView:
    """What the page needs to know about a model, computed once per model (small and picklable)."""

    rows: tuple[visualize.LayerInfo, ...]
    details: tuple[str, ...]  # one "what it does" line per row
    stages: tuple[Stage, ...]
    conv_layers: tuple[str, ...]
    params: int
    model_name: str

    @property
    def spatial_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.spatial)

    @property
    def vector_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.role == "vector")

    @property
    def output_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.role == "output"), None)

    def stage_of(self, layer: str) -> Stage | None:
        return next((s for s in self.stages if layer in s.layers), None)

    def grad_cam_default(self) -> str | None:
        """The last stage with feature maps at least 10 x 10 (or the largest maps there are).

        Deeper layers know more about the class, but their maps are coarser. On ``hdr-accurate`` the
        8 x 8 ``conv_5`` maps gave nearly the same picture for the answer and the runner-up (correlation
        0.39 over 40 MNIST test digits, against 0.07 for the 10 x 10 ``conv_4``) and lit up most of the
        frame; a 1 x 1 or 4 x 4 map locates nothing at all.
        """
        spatial = [s for s in self.spatial_stages if s.role in ("conv", "pool", "spatial")]
        if not spatial:
            return None
        big = [s for s in spatial if min(s.shape[:2]) >= GRAD_CAM_MIN_SIDE]
        return big[-1].name if big else max(spatial, key=lambda s: min(s.shape[:2])).name


def _inbound(layer: Any) -> list[str] | None:
    """Names of the layers feeding ``layer`` (None when the graph does not say)."""
    try:
        tensors = layer.input
    except (AttributeError, ValueError):
        return None
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    names = []
    for tensor in tensors:
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return None
        names.append(history[0].name)
    return names


def _block_label(kinds: Sequence[str], names: Sequence[str], activation: str | None) -> str:
    parts = [names[0]]
    if activation and activation != "linear":
        parts.append(activation if activation != "relu" else "ReLU")
    for kind, name in zip(kinds[1:], names[1:]):
        if kind == "BatchNormalization":
            parts.append("batch norm")
        elif kind == "ReLU":
            parts.append("ReLU")
        elif kind == "Activation":
            parts.append(name)
        else:
            parts.append(kind)
    return " → ".join(parts)


def _detail(layer: Any, info: visualize.LayerInfo, is_output: bool) -> str:
    """One plain sentence on what a layer does."""
    kind = info.kind
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        stride = layer.strides[0]
        extra = f", {stride} pixels at a time (halves the size)" if stride > 1 else ""
        pad = ", zero padding keeps the size" if layer.padding == "same" and stride == 1 else ""
        return f"{layer.filters} filters of {kh}×{kw} slide over the input{extra}{pad}"
    if kind == "BatchNormalization":
        return "rescales each map to a steady range (learned scale and shift)"
    if kind in ("ReLU", "Activation") or (kind in _BLOCK_KINDS and kind != "BatchNormalization"):
        return "keeps positive values, turns negative ones into 0"
    if kind == "MaxPooling2D":
        size = layer.pool_size[0]
        return f"keeps the largest value of each {size}×{size} window: maps shrink, strong responses stay"
    if kind == "AveragePooling2D":
        size = layer.pool_size[0]
        return f"averages each {size}×{size} window: the maps shrink"
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return "boils each feature map down to one number"
    if kind in _SKIP_KINDS:
        return "drops random units while training; does nothing when predicting"
    if kind == "Flatten":
        return "lays all the numbers out in one long row"
    if kind == "Reshape":
        return "rearranges the numbers into a new shape"
    if kind == "Dense":
        if is_output:
            return "one score per class; softmax turns the scores into probabilities"
        return f"{info.output_shape[-1]} units, each weighing every input, then {info.activation or 'linear'}"
    if kind == "Rescaling":
        return "scales the pixel values"
    if kind == "UnitNormalization":
        return "scales each column of the image to length 1, as the reference project scaled its inputs"
    return kind


def describe_model(model: Any) -> ModelView:
    """Group a model's layers into stages and describe each layer.

    Parameters
    ----------
    model : keras.Model
        Sequential or Functional, input 28x28(x1), one (None, n) output.

    Returns
    -------
    view : ModelView
    """
    rows = visualize.layer_table(model)
    by_name = {layer.name: layer for layer in model.layers}
    output_name = rows[-1].name if rows else ""
    details = tuple(_detail(by_name[r.name], r, r.name == output_name) for r in rows)

    stages: list[Stage] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        shape = tuple(int(d) for d in row.output_shape[1:] if d is not None)
        if row.name == output_name:
            stages.append(Stage(row.name, (row.name,), (row.kind,), f"{row.name} (output)", shape, "output"))
            break
        if row.kind == "Conv2D":
            names, kinds = [row.name], [row.kind]
            j = i + 1
            while (
                j < len(rows)
                and rows[j].kind in _BLOCK_KINDS
                and rows[j].name != output_name
                and _inbound(by_name[rows[j].name]) == [names[-1]]
            ):
                names.append(rows[j].name)
                kinds.append(rows[j].kind)
                j += 1
            last = rows[j - 1]
            shape = tuple(int(d) for d in last.output_shape[1:] if d is not None)
            stages.append(
                Stage(names[-1], tuple(names), tuple(kinds), _block_label(kinds, names, row.activation), shape,
                      "conv", conv=row.name)
            )
            i = j
            continue
        i += 1
        if row.kind in _SKIP_KINDS:
            continue
        if len(shape) == 3:
            role = "pool" if row.kind in _POOL_KINDS else "scaling" if row.kind in _SCALING_KINDS else "spatial"
            label = f"{row.name} ({'max pooling' if row.kind == 'MaxPooling2D' else row.kind})"
            stages.append(Stage(row.name, (row.name,), (row.kind,), label, shape, role))
        elif len(shape) == 1:
            if row.kind == "Flatten" and shape[0] > _MAX_FLATTEN_SHOWN:
                continue
            label = f"{row.name} ({row.kind}, {shape[0]} numbers)"
            stages.append(Stage(row.name, (row.name,), (row.kind,), label, shape, "vector"))
    return ModelView(
        rows=tuple(rows),
        details=details,
        stages=tuple(stages),
        conv_layers=tuple(visualize.conv_layer_names(model)),
        params=int(sum(r.params for r in rows)),
        model_name=str(getattr(model, "name", "model")),
    )


# --------------------------------------------------------------------------------------------------
# The convolution arithmetic, continued through bias, batch norm and activation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainStep:
    """One operation after the multiply-and-add: ``value_in -> value_out``, explained."""

    name: str  # layer name
    kind: str  # "bias", "BatchNormalization", "ReLU", "activation", "other"
    text: str  # the formula with the numbers filled in (Markdown)
    value: float  # the value after this step


def conv_chain(model: Any, step: visualize.ConvStep, stage: Stage | None) -> list[ChainStep]:
    """From ``step.total`` (the sum of products) to the value the stage's feature map shows.

    Follows the conv's bias and activation, then each layer of the stage (batch normalisation from
    the layer's own gamma, beta, moving mean and variance; ReLU). A layer it cannot replay is
    reported with Keras's value for it.

    Parameters
    ----------
    model : keras.Model
    step : visualize.ConvStep
    stage : Stage or None
        The stage the conv layer belongs to (None: the conv layer alone).

    Returns
    -------
    steps : list of ChainStep
        Possibly empty (a conv without bias, activation or following layers shows ``step.total``).
    """
    k = step.channel
    steps: list[ChainStep] = []
    value = step.total
    conv = model.get_layer(step.layer)
    if conv.use_bias:
        value = step.total + step.bias
        text = f"add the bias: {_num(step.total)} {_signed(step.bias)} = **{_num(value)}**"
        steps.append(ChainStep(step.layer, "bias", text, value))
    if step.activation not in ("linear", "None", None):
        value = step.output
        fn = "max(0, x)" if step.activation == "relu" else f"{step.activation}(x)"
        steps.append(ChainStep(step.layer, "activation", f"{step.activation}: {fn} → **{_num(value)}**", value))
    for name in (stage.layers[1:] if stage is not None else ()):
        layer = model.get_layer(name)
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            weights = {w.name.split("/")[-1].split(":")[0]: np.asarray(w.numpy(), np.float64) for w in layer.weights}
            gamma = float(weights["gamma"][k]) if "gamma" in weights else 1.0
            beta = float(weights["beta"][k]) if "beta" in weights else 0.0
            mean = float(weights["moving_mean"][k])
            var = float(weights["moving_variance"][k])
            eps = float(layer.epsilon)
            new = gamma * (value - mean) / np.sqrt(var + eps) + beta
            text = (
                f"batch normalisation scales and shifts: γ·(x − μ)/√(σ² + ε) + β = {_num(gamma)} × "
                f"({_num(value)} {_signed(-mean)}) / √({_num(var)} + {eps:g}) {_signed(beta)} = **{_num(new)}**"
            )
            value = float(new)
            steps.append(ChainStep(name, kind, text, value))
        elif kind == "ReLU" and not layer.negative_slope and not layer.threshold:
            new = max(0.0, value)
            if layer.max_value is not None:
                new = min(new, float(layer.max_value))
            steps.append(ChainStep(name, "ReLU", f"ReLU: max(0, {_num(value)}) = **{_num(new)}**", new))
            value = new
        elif kind == "Activation" and getattr(layer.activation, "__name__", "") == "relu":
            new = max(0.0, value)
            steps.append(ChainStep(name, "ReLU", f"ReLU: max(0, {_num(value)}) = **{_num(new)}**", new))
            value = new
        else:
            steps.append(ChainStep(name, "other", f"{kind} ({name})", float("nan")))
    return steps


def output_contributions(
    model: Any, acts: dict[str, np.ndarray], class_index: int
) -> tuple[np.ndarray, float, str] | None:
    """How each input of the final Dense layer pushes one class's score.

    Parameters
    ----------
    model : keras.Model
    acts : dict of str to ndarray
        :func:`hdr_core.visualize.activations` of every layer for one input.
    class_index : int

    Returns
    -------
    (contributions, bias, source) or None
        ``contributions`` : (n_in,) float32, input value x weight; ``contributions.sum() + bias`` is the
        class's score before softmax. ``source`` names the layer feeding the Dense layer. None when the
        last layer is not a Dense layer fed by one layer in ``acts``.
    """
    last = model.layers[-1] if model.layers else None
    if type(last).__name__ != "Dense":
        return None
    inbound = _inbound(last)
    if not inbound or len(inbound) != 1 or inbound[0] not in acts:
        return None
    x = np.asarray(acts[inbound[0]], np.float32).ravel()
    kernel = np.asarray(last.kernel.numpy(), np.float32)
    if kernel.shape[0] != x.size or not 0 <= class_index < kernel.shape[1]:
        return None
    bias = float(np.asarray(last.bias.numpy())[class_index]) if last.use_bias else 0.0
    source = inbound[0]
    for _ in range(len(model.layers)):  # name the layer behind any dropout: it passes values through unchanged
        layer = model.get_layer(source)
        before = _inbound(layer)
        if type(layer).__name__ not in _SKIP_KINDS or not before or len(before) != 1 or before[0] not in acts:
            break
        source = before[0]
    return x * kernel[:, class_index], bias, source


def _num(value: float, digits: int = 3) -> str:
    """A number for the arithmetic display: ``digits`` decimals (more for small values), true minus sign."""
    value = float(value)
    text = f"{value:.{digits}f}"
    if value != 0 and abs(value) < 0.1 and abs(value) >= 1e-6:
        text = f"{value:.{digits}g}" if abs(value) < 10 ** -(digits - 1) else text
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", "−")


def _signed(value: float) -> str:
    """``"+ 0.026"`` or ``"− 0.026"``: a term added to a sum."""
    return f"{'−' if value < 0 else '+'} {_num(abs(value))}"


def products_sum_text(products: np.ndarray, *, max_terms: int = 25) -> str:
    """``"0.000 + 0.112 − 0.010 + … = 0.250"``: the sum written out (elided beyond ``max_terms``)."""
    values = np.asarray(products, np.float64).ravel()
    shown = values[:max_terms]
    text = _num(shown[0]) if shown.size else "0"
    for v in shown[1:]:
        text += f" {'−' if v < 0 else '+'} {_num(abs(v))}"
    if values.size > max_terms:
        text += f" + … ({values.size - max_terms} more)"
    return f"{text} = {_num(values.sum())}"


# --------------------------------------------------------------------------------------------------
# Arrays -> images
# --------------------------------------------------------------------------------------------------


def grid_columns(n_maps: int) -> int:
    """How many maps per row: 8 up to 32 maps, then 16 (64 maps -> 16 x 4)."""
    if n_maps <= 8:
        return max(n_maps, 1)
    return 8 if n_maps <= 32 else 16


def tile_maps(
    maps: np.ndarray, *, columns: int | None = None, gap: int = 1, per_map: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Lay ``C`` feature maps out as one image, row by row, with NaN gaps between them.

    Parameters
    ----------
    maps : (H, W, C) ndarray
    columns : int, optional
        Maps per row; default :func:`grid_columns`.
    gap : int
        Pixels (NaN) between maps.
    per_map : bool
        Divide each map by its own largest absolute value (so a weak map is visible too).

    Returns
    -------
    tiled : (rows*(H+gap)-gap, columns*(W+gap)-gap) float32 ndarray
        NaN in the gaps and after the last map.
    index : same shape, int32 ndarray
        Which map each pixel belongs to; -1 in the gaps.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, C), got {maps.shape}")
    h, w, c = maps.shape
    columns = columns or grid_columns(c)
    rows = -(-c // columns)
    tiled = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, np.float32)
    index = np.full(tiled.shape, -1, np.int32)
    for k in range(c):
        r, col = divmod(k, columns)
        m = maps[..., k]
        if per_map:
            peak = float(np.abs(m).max())
            m = m / peak if peak > 0 else m
        top, left = r * (h + gap), col * (w + gap)
        tiled[top : top + h, left : left + w] = m
        index[top : top + h, left : left + w] = k
    return tiled, index


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain dicts, skipping plotly's (slow, per-array) validation."""
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


def _layout(*, height: int, title: str | None = None, margin_top: int | None = None, **extra: Any) -> dict:
    top = margin_top if margin_top is not None else (36 if title else 8)
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 4, "r": 4, "t": top, "b": 4},
        "font": dict(_FONT),
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "showlegend": False,
    }
    if title:
        layout["title"] = {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}}
    layout.update(extra)
    return layout


def _axis_suffix(k: int) -> str:
    return "" if k == 0 else str(k + 1)


def _image_axes(k: int, x_domain: Sequence[float] = (0, 1), y_domain: Sequence[float] = (0, 1)) -> dict:
    """Hidden x/y axes for panel ``k`` showing an image: square pixels, row 0 at the top, no zoom."""
    s = _axis_suffix(k)
    return {
        f"xaxis{s}": {"visible": False, "domain": list(x_domain), "constrain": "domain", "fixedrange": True},
        f"yaxis{s}": {"visible": False, "domain": list(y_domain), "autorange": "reversed", "scaleanchor": f"x{s}",
                      "constrain": "domain", "fixedrange": True},
    }


def _panel_title(text: str, x: float, y: float, size: int = 12) -> dict:
    return {"text": text, "x": x, "y": y, "xref": "paper", "yref": "paper", "xanchor": "center",
            "yanchor": "bottom", "showarrow": False, "font": {"size": size, "color": "#475569"}}


def _heatmap(z: np.ndarray, colorscale: Any, *, k: int = 0, **extra: Any) -> dict:
    s = _axis_suffix(k)
    trace = {"type": "heatmap", "z": z, "colorscale": colorscale, "showscale": False, "xaxis": f"x{s}",
             "yaxis": f"y{s}", "hoverongaps": False}
    trace.update(extra)
    return trace


def _box_shape(top: float, left: float, height: float, width: float, k: int = 0) -> dict:
    s = _axis_suffix(k)
    return {"type": "rect", "xref": f"x{s}", "yref": f"y{s}", "x0": left - 0.5, "x1": left + width - 0.5,
            "y0": top - 0.5, "y1": top + height - 0.5, "line": {"color": MARK_COLOUR, "width": 3}}


def image_figure(image: np.ndarray, *, title: str | None = None, height: int = 260,
                 box: tuple[int, int, int, int] | None = None) -> go.Figure:
    """The (28, 28) input in [0, 1] as the model sees it; ``box`` = (top, left, h, w) draws a frame."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    trace = _heatmap(image, IMAGE_SCALE, zmin=0, zmax=1, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    layout = _layout(height=height, title=title, **_image_axes(0))
    if box is not None:
        layout["shapes"] = [_box_shape(*box)]
    return _figure([trace], layout)


def feature_maps_figure(maps: np.ndarray, *, per_map: bool = False, height: int | None = None) -> go.Figure:
    """All maps of one layer tiled into a single heatmap (fast to draw); hovering names the map.

    Parameters
    ----------
    maps : (H, W, C) ndarray
    per_map : bool
        Scale each map to its own maximum (else one colour scale for the layer).
    height : int, optional
        Pixels; default from the grid's shape.
    """
    maps = np.asarray(maps, np.float32)
    h, w, c = maps.shape
    gap = 1 if h > 2 else 0
    tiled, index = tile_maps(maps, gap=gap, per_map=per_map)
    signed = bool(maps.min() < 0) if maps.size else False
    if per_map:
        zmin, zmax = (-1.0, 1.0) if signed else (0.0, 1.0)
    else:
        peak = float(np.abs(maps).max()) or 1.0
        zmin, zmax = (-peak, peak) if signed else (0.0, peak)
    label = "strength (relative to the map's peak)" if per_map else "value"
    trace = _heatmap(
        tiled, FILTER_SCALE if signed else MAP_SCALE, zmin=zmin, zmax=zmax,
        customdata=np.maximum(index, 0).astype(np.uint8 if c <= 256 else np.uint16),
        hovertemplate=f"map %{{customdata}}<br>{label} %{{z:.3f}}<extra></extra>",
    )
    if height is None:
        aspect = tiled.shape[0] / tiled.shape[1]
        height = int(min(max(760 * aspect, 60 if c > 1 else 120), 520)) + 8
        if grid_columns(c) < 8:
            height = min(height, 220)
    return _figure([trace], _layout(height=height, **_image_axes(0)))


def filters_figure(kernels: np.ndarray, *, max_filters: int = 64, max_inputs: int = 32) -> go.Figure:
    """A conv layer's kernels as small heatmaps on a diverging scale centred at zero.

    Parameters
    ----------
    kernels : (kh, kw, in, out) ndarray
        One input channel (the first layer): one tile per filter. More: one row per filter, one
        column per input channel (at most ``max_filters`` x ``max_inputs`` tiles).
    """
    kernels = np.asarray(kernels, np.float32)
    kh, kw, n_in, n_out = kernels.shape
    n_out_shown, n_in_shown = min(n_out, max_filters), min(n_in, max_inputs)
    if n_in == 1:
        tiled, index = tile_maps(kernels[:, :, 0, :n_out_shown], gap=1)
        custom = np.maximum(index, 0).astype(np.uint16)
        hover = "filter %{customdata}: weight %{z:.3f}<extra></extra>"
    else:  # rows = filters, columns = input channels
        tiled = np.full((n_out_shown * (kh + 1) - 1, n_in_shown * (kw + 1) - 1), np.nan, np.float32)
        custom = np.zeros(tiled.shape + (2,), np.uint16)
        for o in range(n_out_shown):
            for i in range(n_in_shown):
                top, left = o * (kh + 1), i * (kw + 1)
                tiled[top : top + kh, left : left + kw] = kernels[:, :, i, o]
                custom[top : top + kh, left : left + kw] = (o, i)
        hover = "filter %{customdata[0]}, input map %{customdata[1]}: weight %{z:.3f}<extra></extra>"
    peak = float(np.nanmax(np.abs(tiled))) or 1.0
    trace = _heatmap(tiled, FILTER_SCALE, zmid=0, zmin=-peak, zmax=peak, customdata=custom, hovertemplate=hover,
                     showscale=True,
                     colorbar={"thickness": 10, "len": 0.9, "title": {"text": "weight", "side": "right"}})
    aspect = tiled.shape[0] / tiled.shape[1]
    width = 560 if n_in == 1 else 760
    height = int(min(max(width * aspect, 90), 900)) + 12
    # The gaps between kernels in grey: white already means a weight of 0.
    return _figure([trace], _layout(height=height, **_image_axes(0)) | {"plot_bgcolor": GAP_COLOUR})


def map_figure(values: np.ndarray, *, title: str | None = None, marker: tuple[int, int] | None = None,
               height: int = 260, zmax: float | None = None) -> go.Figure:
    """One (H, W) feature map, large, with a colour bar; ``marker`` = (row, col) frames one value."""
    values = np.asarray(values, np.float32)
    signed = bool(values.min() < 0)
    peak = zmax if zmax is not None else (float(np.abs(values).max()) or 1.0)
    trace = _heatmap(values, FILTER_SCALE if signed else MAP_SCALE, zmin=-peak if signed else 0, zmax=peak,
                     showscale=True, colorbar={"thickness": 10, "len": 0.9},
                     hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>")
    layout = _layout(height=height, title=title, **_image_axes(0))
    if marker is not None:
        layout["shapes"] = [_box_shape(marker[0], marker[1], 1, 1)]
    return _figure([trace], layout)


def conv_step_figure(step: visualize.ConvStep) -> go.Figure:
    """Patch x kernel = products: three small heatmaps with their numbers (first input channel)."""
    patch, kernel, products = step.patch[..., 0], step.kernel[..., 0], step.products[..., 0]
    kh = patch.shape[0]
    text_size = 13 if kh <= 3 else 11 if kh <= 5 else 9
    peak_k = float(np.abs(kernel).max()) or 1.0
    peak_p = float(np.abs(products).max()) or 1.0
    patch_text = np.where(step.padded, "pad", np.vectorize(lambda v: f"{v:.2f}")(patch)).tolist()
    number = {"texttemplate": "%{z:.2f}", "textfont": {"size": text_size}}
    data = [
        _heatmap(patch, IMAGE_SCALE, k=0, zmin=0, zmax=1, text=patch_text, texttemplate="%{text}",
                 textfont={"size": text_size}, hovertemplate="pixel %{z:.3f}<extra></extra>"),
        _heatmap(kernel, FILTER_SCALE, k=1, zmid=0, zmin=-peak_k, zmax=peak_k,
                 hovertemplate="weight %{z:.3f}<extra></extra>", **number),
        _heatmap(products, FILTER_SCALE, k=2, zmid=0, zmin=-peak_p, zmax=peak_p,
                 hovertemplate="product %{z:.3f}<extra></extra>", **number),
    ]
    gap = 0.06
    width = (1 - 2 * gap) / 3
    axes: dict[str, Any] = {}
    titles = []
    for k, title in enumerate(("input patch", "× kernel (filter weights)", "= products")):
        x0 = k * (width + gap)
        axes |= _image_axes(k, (x0, x0 + width), (0, 0.9))
        titles.append(_panel_title(title, x0 + width / 2, 0.92, size=13))
    return _figure(data, _layout(height=250, margin_top=8, annotations=titles, **axes))


def overlay_figure(image: np.ndarray, heatmap: np.ndarray, *, title: str | None = None, height: int = 300) -> go.Figure:
    """The input in gray with a heatmap in [0, 1] laid over it (transparent where it is 0)."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    data = [
        _heatmap(image * 0.75, IMAGE_SCALE, zmin=0, zmax=1, hoverinfo="skip"),
        _heatmap(np.asarray(heatmap, np.float32), HEAT_SCALE, zmin=0, zmax=1,
                 hovertemplate="row %{y}, col %{x}: importance %{z:.2f}<extra></extra>"),
    ]
    return _figure(data, _layout(height=height, title=title, **_image_axes(0)))


def vector_figure(values: np.ndarray, *, height: int = 170) -> go.Figure:
    """A dense layer's activations as bars, one per unit."""
    values = np.asarray(values, np.float32).ravel()
    colours = np.where(values > 0, ACCENT, "#94a3b8").tolist()
    bar = {"type": "bar", "x": np.arange(values.size), "y": values, "marker": {"color": colours, "line": {"width": 0}},
           "hovertemplate": "unit %{x}: %{y:.3f}<extra></extra>"}
    layout = _layout(
        height=height, bargap=0.1 if values.size < 64 else 0,
        xaxis={"title": {"text": "unit", "standoff": 2}, "showgrid": False, "fixedrange": True},
        yaxis={"title": {"text": "activation", "standoff": 2}, "gridcolor": "#e2e8f0", "zerolinecolor": "#94a3b8",
               "fixedrange": True},
    )
    layout["margin"] = {"l": 50, "r": 8, "t": 8, "b": 36}
    return _figure([bar], layout)


def contributions_figure(values: np.ndarray, *, top: int = 12, height: int = 200) -> go.Figure:
    """The ``top`` largest terms (by size) of a weighted sum, as bars labelled by input index."""
    values = np.asarray(values, np.float32).ravel()
    order = np.argsort(-np.abs(values))[:top]
    bar = {"type": "bar", "x": [f"#{i}" for i in order], "y": values[order],
           "marker": {"color": [ACCENT if v >= 0 else "#ef4444" for v in values[order]]},
           "hovertemplate": "input %{x}: %{y:.3f}<extra></extra>"}
    layout = _layout(height=height, bargap=0.3,
                     xaxis={"type": "category", "title": {"text": "input number", "standoff": 2}, "fixedrange": True},
                     yaxis={"title": {"text": "input × weight", "standoff": 2}, "gridcolor": "#e2e8f0",
                            "zerolinecolor": "#64748b", "fixedrange": True})
    layout["margin"] = {"l": 60, "r": 8, "t": 8, "b": 40}
    return _figure([bar], layout)


def _strip_map(stage: Stage, value: np.ndarray) -> np.ndarray:
    """A 2-D picture of a stage's output for the flow strip."""
    if stage.spatial:
        return np.asarray(value, np.float32).mean(axis=-1)  # (H, W): mean over the maps
    v = np.asarray(value, np.float32).ravel()
    cols = grid_columns(v.size) if v.size <= 128 else 32
    rows = -(-v.size // cols)
    padded = np.full(rows * cols, np.nan, np.float32)
    padded[: v.size] = v
    return padded.reshape(rows, cols)


def flow_figure(image: np.ndarray, view: ModelView, acts: dict[str, np.ndarray], probabilities: np.ndarray,
                class_names: Sequence[str], *, per_row: int = 10) -> go.Figure:
    """The digit's path: the input, then each stage's output (mean of its maps), then the class scores."""
    stages = [s for s in view.stages if s.role != "output" and s.name in acts]
    image = np.asarray(image, np.float32).reshape(28, 28)
    panels: list[tuple[str, np.ndarray | None]] = [("<b>input</b><br>28×28", image)]
    for s in stages:
        shape = "×".join(str(d) for d in s.shape)
        name = s.conv if s.role == "conv" and s.conv else s.name
        panels.append((f"<b>{name}</b><br>{shape}", _strip_map(s, acts[s.name])))
    panels.append((f"<b>output</b><br>{len(class_names)} classes", None))
    n = len(panels)
    per_row = min(per_row, n)
    rows = -(-n // per_row)
    gap_x, title_h, row_h = 0.025, 44, 110  # title and panel heights in pixels
    height = rows * (title_h + row_h) + 8
    width = (1 - gap_x * (per_row - 1)) / per_row
    data: list[dict] = []
    axes: dict[str, Any] = {}
    notes: list[dict] = []
    for k, (title, z) in enumerate(panels):
        r, c = divmod(k, per_row)
        x0 = c * (width + gap_x)
        y1 = 1 - r * (title_h + row_h) / height - title_h / height
        y0 = y1 - row_h / height
        notes.append(_panel_title(title, x0 + width / 2, y1 + 0.01, size=11))
        if c < per_row - 1 and k < n - 1:
            notes.append({"text": "→", "x": x0 + width + gap_x / 2, "y": (y0 + y1) / 2, "xref": "paper",
                          "yref": "paper", "showarrow": False, "font": {"size": 14, "color": "#64748b"}})
        s = _axis_suffix(k)
        if z is None:
            probs = np.asarray(probabilities, np.float32)
            top = int(np.argmax(probs))
            data.append({
                "type": "bar", "x": list(class_names), "y": probs, "xaxis": f"x{s}", "yaxis": f"y{s}",
                "marker": {"color": [ACCENT if i == top else "#cbd5e1" for i in range(probs.size)]},
                "text": [str(name) if i == top else "" for i, name in enumerate(class_names)],
                "textposition": "outside", "cliponaxis": False, "textfont": {"size": 13, "color": ACCENT},
                "hovertemplate": "%{x}: %{y:.1%}<extra></extra>",
            })
            axes[f"xaxis{s}"] = {"visible": False, "type": "category", "domain": [x0, x0 + width], "fixedrange": True}
            axes[f"yaxis{s}"] = {"visible": False, "range": [0, 1.25], "domain": [y0, y1], "fixedrange": True}
            continue
        scale = IMAGE_SCALE if k == 0 else (FILTER_SCALE if np.nanmin(z) < 0 else MAP_SCALE)
        extra = {"zmid": 0} if scale is FILTER_SCALE else {}
        data.append(_heatmap(z, scale, k=k, hovertemplate="%{z:.3f}<extra></extra>", **extra))
        axes |= _image_axes(k, (x0, x0 + width), (y0, y1))
    return _figure(data, _layout(height=height, margin_top=4, annotations=notes, **axes))


# --------------------------------------------------------------------------------------------------
# Cached computations (once per model and input)
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Tabs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What the tabs show: a model and one input, with their cache keys and the prediction."""

    model: Any
    model_key: str
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    image_key: str
    class_names: tuple[str, ...]
    probabilities: np.ndarray  # (n,)
    view: ModelView

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    def activations(self) -> dict[str, np.ndarray]:
        return all_activations(self.model_key, self.image_key, self.model, self.image)


TAB_LABELS = ("Network flow", "Filters", "Feature maps", "Convolution arithmetic", "Where it looks", "Final layers")
NO_CONV_MESSAGE = (
    "This network has no convolutional layers: it looks at pixels one by one, each unit of its first "
    "dense layer weighing all 784 pixels at once, so it has no filters or feature maps to show. "
    "A digit moved by a few pixels looks new to it. The network flow, the saliency map and the dense "
    "layers below still apply."
)


def _no_conv(subject: Subject) -> bool:
    if subject.view.conv_layers:
        return False
    st.info(NO_CONV_MESSAGE, icon=":material/grid_off:")
    return True


# Grids of small pictures keep at least this width and scroll sideways in a narrower column (a phone)
# instead of shrinking: ten flow panels need about 70 px each for their titles ("conv_4" over
# "10×10×96"), and a filter's 3×3 weights or a 10×10 map turn into specks below about half that.
FLOW_MIN_WIDTH = 720
GRID_MIN_WIDTH = 600


def wide_chart(figure: go.Figure, *, key: str, min_width: int) -> None:
    """A full-width plotly chart that keeps ``min_width`` px and scrolls sideways when the page is narrower."""
    box = f"{key}_box"
    st.html(f"<style>.st-key-{box} {{ overflow-x: auto; }} .st-key-{box} > * {{ min-width: {min_width}px; }}</style>")
    with st.container(key=box):
        st.plotly_chart(figure, width="stretch", config=CHART_CONFIG, key=key)


def network_flow_ui(subject: Subject) -> None:
    """Layer table and the input's path through the stages."""
    view = subject.view
    acts = subject.activations()
    n_conv = len(view.conv_layers)
    a, b, c, d = st.columns(4)
    a.metric("Layers", len(view.rows))
    b.metric("Conv layers", n_conv)
    c.metric("Parameters", f"{view.params:,}")
    top = subject.predicted
    d.metric("Prediction", f"{subject.class_names[top]} · {subject.probabilities[top]:.0%}")
    st.markdown("**The digit's path.** Each picture is one stage's output for this digit (feature maps averaged "
                "into one picture; bright = strong). The maps get smaller and more abstract until a few numbers "
                "decide the class.")
    wide_chart(flow_figure(subject.image, view, acts, subject.probabilities, subject.class_names),
               key="vis_flow_chart", min_width=FLOW_MIN_WIDTH)
    st.markdown("**Every layer, in order.**")
    table = {
        "layer": [r.name for r in view.rows],
        "type": [r.kind for r in view.rows],
        "output shape": ["×".join(str(dim) for dim in r.output_shape[1:]) for r in view.rows],
        "parameters": [r.params for r in view.rows],
        "what it does": list(view.details),
    }
    st.dataframe(table, hide_index=True, width="stretch", height=min(35 * (len(view.rows) + 1) + 3, 600),
                 column_config={"layer": st.column_config.TextColumn(width=120),
                                "type": st.column_config.TextColumn(width=160),
                                "output shape": st.column_config.TextColumn(width=100),
                                "parameters": st.column_config.NumberColumn(format="localized", width=90),
                                "what it does": st.column_config.TextColumn(width=560)})
    st.caption(f"{view.params:,} parameters in all. A parameter is one learned number: a filter weight, a bias, "
               "or a batch-norm scale, shift or running statistic.")


def filters_ui(subject: Subject) -> None:
    """The learned kernels of a chosen conv layer."""
    if _no_conv(subject):
        return
    view = subject.view
    layer = st.columns([2, 3])[0].selectbox("Conv layer", view.conv_layers, key=state.VIS_FILTERS_LAYER,
                                           format_func=lambda n: f"{n}  ({_kernel_text(subject.model, n)})")
    kernels = filters(subject.model_key, layer, subject.model)
    kh, kw, n_in, n_out = kernels.shape
    if layer == view.conv_layers[0] and n_in == 1:
        st.markdown(
            f"**What a first-layer filter detects.** Each of the {n_out} filters is a {kh}×{kw} stencil slid over "
            "the digit. Red weights reward ink under them, blue weights penalise it, white ones ignore it. Red on "
            "one side and blue on the other makes an **edge detector** (it fires where a stroke starts or ends in "
            "that direction); a red stripe between blue ones finds a **stroke** at that slant."
        )
    else:
        shown = f"the first {min(n_out, 64)} of " if n_out > 64 else ""
        st.markdown(
            f"**{layer}** reads {n_in} feature maps, so each of its {n_out} filters has one {kh}×{kw} kernel per "
            f"input map: one row per filter ({shown}{n_out}), one column per input map"
            f"{' (first 32)' if n_in > 32 else ''}. It adds up what all the kernels find, so it detects "
            "combinations of the earlier layer's patterns: corners, curves, loops."
        )
    wide_chart(filters_figure(kernels), key="vis_filters_chart", min_width=GRID_MIN_WIDTH)
    st.caption("Colour scale: red = positive weight, blue = negative, white = 0.")


def _kernel_text(model: Any, name: str) -> str:
    layer = model.get_layer(name)
    kh, kw = layer.kernel_size
    return f"{layer.filters} filters, {kh}×{kw}"


def feature_maps_ui(subject: Subject) -> None:
    """Every conv / pooling stage's maps for this digit, then one map large."""
    if _no_conv(subject):
        return
    view = subject.view
    acts = subject.activations()
    stages = [s for s in view.spatial_stages if s.name in acts]
    st.markdown(
        "Each small picture is one **feature map**: where in the image one filter found its pattern (bright = "
        "strong). Early maps are edges of this very digit; deeper ones respond to larger parts, and pooling "
        "halves their size, so position matters less and less."
    )
    per_map = st.toggle("Scale each map to its own brightest point", key=state.VIS_PER_MAP,
                        help="Off: one colour scale per layer, so you see which maps respond most. "
                             "On: each map stretched, so even weak responses show their shape.")
    for stage in stages:
        maps = acts[stage.name]
        h, w, c = maps.shape
        active = int((maps.reshape(-1, c).max(axis=0) > 0).sum())
        st.markdown(f"##### {stage.label}")
        st.caption(f"{c} maps of {h}×{w} · {active} of {c} respond to this digit"
                   + (f" · shown after {stage.layers[-1]}" if len(stage.layers) > 1 else ""))
        wide_chart(feature_maps_figure(maps, per_map=per_map), key=f"vis_maps_{stage.name}",
                   min_width=GRID_MIN_WIDTH)

    st.markdown("#### One map, large")
    left, right = st.columns([1, 1])
    with left:
        names = [s.name for s in stages]
        chosen = st.selectbox("Layer", names, key=state.VIS_BIG_LAYER,
                              format_func=lambda n: next(s.label for s in stages if s.name == n))
        maps = acts[chosen]
        strongest = int(np.argmax(maps.reshape(-1, maps.shape[-1]).max(axis=0)))
        channel = st.slider("Map", 0, maps.shape[-1] - 1, strongest, key=f"{state.VIS_BIG_CHANNEL}_{chosen}",
                            help=f"Map {strongest} responds most strongly to this digit.")
        st.plotly_chart(image_figure(subject.image, title="the input", height=240), width="stretch",
                        config=CHART_CONFIG, key="vis_big_input")
    with right:
        title = f"{chosen}, map {channel} ({maps.shape[0]}×{maps.shape[1]})"
        st.plotly_chart(map_figure(maps[..., channel], title=title, height=400), width="stretch",
                        config=CHART_CONFIG, key="vis_big_map")


def conv_arithmetic_ui(subject: Subject) -> None:
    """One number of a first-layer feature map, computed in front of the student."""
    if _no_conv(subject):
        return
    view = subject.view
    layer = view.conv_layers[0]
    stage = view.stage_of(layer)
    acts = subject.activations()
    shown_name = stage.name if stage else layer
    maps = acts[shown_name]
    h, w, c = maps.shape
    conv = subject.model.get_layer(layer)
    kh, kw = conv.kernel_size
    n_in = int(conv.kernel.shape[2])
    then = (["add the bias"] if conv.use_bias else []) + [
        {"BatchNormalization": "batch normalisation", "ReLU": "ReLU"}.get(kind, kind)
        for kind in (stage.kinds[1:] if stage else ())
    ]
    if getattr(conv.activation, "__name__", "linear") != "linear":
        name = conv.activation.__name__
        then.insert(1 if conv.use_bias else 0, "ReLU" if name == "relu" else name)
    st.markdown(
        f"Every number in a feature map of **{layer}** is a small sum: lay the {kh}×{kw} filter over a {kh}×{kw} "
        "patch of the input, multiply pixel by weight, add everything up"
        + (f", then {', '.join(then[:-1]) + ' and ' if len(then) > 1 else ''}{then[-1]}." if then else ".")
        + " Pick a map and a position."
    )
    strongest = int(np.argmax(maps.reshape(-1, c).max(axis=0)))
    pick_map, pick_row, pick_col = st.columns(3)
    channel = pick_map.slider("Feature map (filter)", 0, c - 1, strongest,
                              key=f"{state.VIS_CA_CHANNEL}_{subject.image_key}",
                              help=f"Map {strongest} responds most strongly to this digit.")
    best = np.unravel_index(int(np.argmax(maps[..., channel])), (h, w))
    key = f"{subject.image_key}_{channel}"
    row = pick_row.slider("Row in the map", 0, h - 1, int(best[0]), key=f"{state.VIS_CA_ROW}_{key}",
                          help="Starts at this map's strongest response.")
    col = pick_col.slider("Column in the map", 0, w - 1, int(best[1]), key=f"{state.VIS_CA_COL}_{key}")
    try:
        step = conv_step(subject.model_key, subject.image_key, layer, row, col, channel, subject.model, subject.image)
    except (HdrError, ValueError) as error:
        st.error(str(error))
        return
    top, left = step.origin
    dil_h, dil_w = conv.dilation_rate
    left_col, right_col = st.columns(2)
    left_col.plotly_chart(image_figure(subject.image, title=f"input: the {kh}×{kw} patch at row {top}, col {left}",
                                       box=(top, left, (kh - 1) * dil_h + 1, (kw - 1) * dil_w + 1), height=300),
                          width="stretch", config=CHART_CONFIG, key="vis_ca_input")
    right_col.plotly_chart(map_figure(maps[..., channel], title=f"{shown_name}, map {channel}: row {row}, col {col}",
                                      marker=(row, col), height=300),
                           width="stretch", config=CHART_CONFIG, key="vis_ca_map")
    if n_in > 1:
        st.info(f"{layer} reads {n_in} channels; the products below are those of the first channel.")
    st.plotly_chart(conv_step_figure(step), width="stretch", config=CHART_CONFIG, key="vis_ca_step")
    chain = conv_chain(subject.model, step, stage)
    lines = [f"1. add up the {step.products.size} products: {products_sum_text(step.products)}"
             if n_in == 1 else f"1. add up the {step.products.size} products of all {n_in} channels: "
             f"Σ = **{_num(step.total)}**"]
    lines += [f"{i}. {s.text}" for i, s in enumerate(chain, start=2)]
    st.markdown("\n".join(lines))
    value = chain[-1].value if chain else step.total
    shown = float(maps[row, col, channel])
    if np.isfinite(value) and abs(value - shown) <= 1e-3 * max(1.0, abs(shown)):
        st.success(f"= {_num(shown)}, the value at row {row}, column {col} of map {channel}.", icon=":material/check:")
    else:
        st.warning(f"Keras's value at this position is {_num(shown)} (the hand computation gives {_num(value)}).")
    if step.padded.any():
        st.caption("\"pad\": the patch hangs over the border there; zero padding puts 0 in those cells.")


def where_it_looks_ui(subject: Subject) -> None:
    """Saliency / Grad-CAM of the predicted class and of a class the user picks."""
    view = subject.view
    names = subject.class_names
    methods = ["Grad-CAM", "Saliency"] if view.conv_layers else ["Saliency"]
    a, b, c = st.columns(3)
    if len(methods) > 1:
        method = a.radio("Method", methods, horizontal=True, key=state.VIS_METHOD,
                         help="Grad-CAM: which regions of a conv layer's maps support the class. Saliency: how "
                              "much each pixel would move the class score if it changed.")
    else:
        method = methods[0]
        a.markdown("**Method:** saliency")
        a.caption("Grad-CAM needs a convolutional layer, and this network has none.")
    order = np.argsort(subject.probabilities)[::-1]
    runner_up = int(order[1]) if order.size > 1 else int(order[0])
    other = b.selectbox("Why not…?", range(len(names)), index=runner_up,
                        key=f"{state.VIS_WHY_NOT}_{subject.model_key}",
                        format_func=lambda i: f"{names[i]} ({subject.probabilities[i]:.1%})")
    layer = None
    if method == "Grad-CAM":
        maps = [s for s in view.spatial_stages if s.role != "scaling"]
        candidates = [s.name for s in maps]
        default = view.grad_cam_default()
        labels = {s.name: f"{s.label} ({s.shape[0]}×{s.shape[1]})" for s in maps}
        index = candidates.index(default) if default in candidates else 0
        layer = c.selectbox("Grad-CAM layer", candidates, index=index,
                             key=f"{state.VIS_GRADCAM_LAYER}_{subject.model_key}", format_func=labels.__getitem__,
                             help="Later layers know more about the class but see coarser regions.")
    code = "grad-cam" if method == "Grad-CAM" else "saliency"
    predicted = subject.predicted
    try:
        first = heatmap(subject.model_key, subject.image_key, code, predicted, layer, subject.model, subject.image)
        second = heatmap(subject.model_key, subject.image_key, code, int(other), layer, subject.model, subject.image)
    except (HdrError, ValueError) as error:
        st.error(str(error))
        return
    left, right = st.columns(2)
    left.plotly_chart(overlay_figure(subject.image, first, title=f"why “{names[predicted]}” "
                                     f"({subject.probabilities[predicted]:.0%})"),
                      width="stretch", config=CHART_CONFIG, key="vis_look_predicted")
    right.plotly_chart(overlay_figure(subject.image, second, title=f"evidence for “{names[int(other)]}” "
                                      f"({subject.probabilities[int(other)]:.1%})"),
                       width="stretch", config=CHART_CONFIG, key="vis_look_other")
    if method == "Grad-CAM":
        st.caption("Grad-CAM weighs each feature map of the chosen layer by how much it raises the class score and "
                   "keeps the positive part: yellow regions argue most *for* the class, red ones less, clear ones "
                   "not at all. All clear means nothing in the image speaks for it.")
    else:
        st.caption("Saliency: how strongly each pixel's brightness changes the class score (yellow = a small "
                   "change there moves the score most). Noisier than Grad-CAM, but it works for any network.")


def final_layers_ui(subject: Subject) -> None:
    """Dense (and other 1-D) activations, then the probabilities."""
    from hdr_app import charts

    view = subject.view
    acts = subject.activations()
    vectors = [s for s in view.vector_stages if s.name in acts]
    if not vectors:
        st.info("This network goes straight from its feature maps to the class scores: no hidden dense layer.")
    for stage in vectors:
        values = np.asarray(acts[stage.name]).ravel()
        active = int((values > 0).sum())
        st.markdown(f"##### {stage.label}")
        row = next(r for r in view.rows if r.name == stage.name)
        what = {"Dense": f"each unit weighs every input ({row.activation or 'linear'})",
                "Flatten": "the last feature maps laid out in a row: the features the classifier reads",
                "GlobalAveragePooling2D": "each feature map averaged to one number"}.get(row.kind, row.kind)
        st.caption(f"{values.size} numbers, {active} above zero · {what}")
        st.plotly_chart(vector_figure(values), width="stretch", config=CHART_CONFIG, key=f"vis_vec_{stage.name}")
    predicted = subject.predicted
    name = subject.class_names[predicted]
    contributions = output_contributions(subject.model, acts, predicted)
    if contributions is not None:
        values, bias, source = contributions
        st.markdown(f"##### What adds up to the score for “{name}”")
        st.caption(f"The output unit for “{name}” multiplies each of the {values.size} numbers of {source} by a "
                   f"learned weight and adds them up, plus a bias ({_num(bias)}): score = {_num(values.sum() + bias)}. "
                   "The biggest pushes, for (blue) and against (red):")
        st.plotly_chart(contributions_figure(values), width="stretch", config=CHART_CONFIG, key="vis_contributions")
    out = view.output_stage
    st.markdown("##### Output layer: the probabilities")
    st.caption(f"The last layer{f', {out.name},' if out else ''} gives one score per class; softmax turns the "
               "scores into probabilities that add up to 1.")
    fig = charts.probability_chart(subject.probabilities, list(subject.class_names), highlight=subject.predicted)
    st.plotly_chart(fig, width="stretch", config=CHART_CONFIG, key="vis_probabilities")


TAB_VIEWS = {
    "Network flow": network_flow_ui,
    "Filters": filters_ui,
    "Feature maps": feature_maps_ui,
    "Convolution arithmetic": conv_arithmetic_ui,
    "Where it looks": where_it_looks_ui,
    "Final layers": final_layers_ui,
}


def tabs_ui(subject: Subject, *, key: str = state.VIS_TAB) -> None:
    """The six views as tabs; only the open one is computed (``on_change="rerun"``)."""
    tabs = st.tabs(list(TAB_LABELS), key=key, on_change="rerun")
    for label, tab in zip(TAB_LABELS, tabs):
        if tab.open is False:
            continue
        with tab:
            try:
                TAB_VIEWS[label](subject)
            except HdrError as error:
                st.error(str(error))


# --------------------------------------------------------------------------------------------------
# The input and the model
# --------------------------------------------------------------------------------------------------

SOURCE_LABELS = {"current": "Current digit", "test": "A test image", "example": "A typed example"}


TEST_IMAGES_RETRY_S = 600  # an offline server tries MNIST's download again after this long, not on every rerun


@st.cache_resource(show_spinner="Loading the test images (first time only)…", ttl=TEST_IMAGES_RETRY_S)
def test_images(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | str:
    """``(x_test (N, 28, 28) uint8, y_test (N,) uint8, class_names)`` of a dataset, once per server; or,
    when it cannot be read (MNIST not on disk and no internet to download it, a corrupt file), why not."""
    from hdr_core.data import load_dataset

    try:
        dataset = load_dataset(name)
    except HdrError as error:
        return str(error)
    return dataset.x_test, dataset.y_test, dataset.class_names


def test_dataset_name(card: dict[str, Any] | None) -> str | None:
    """The model's own dataset when its files are here, else MNIST when it is; None when neither is."""
    from hdr_core.data import available_datasets

    try:
        available = available_datasets()
    except Exception:  # noqa: BLE001 - a broken data folder must not break the page
        return None
    wanted = str((card or {}).get("dataset") or "mnist")
    for name in (wanted, "mnist"):
        if available.get(name):
            return name
    return None


def typed_example() -> np.ndarray:
    """A "7" drawn with OpenCV: the input of last resort when there is neither a drawing nor test data."""
    import cv2

    canvas = np.zeros((28, 28), np.uint8)
    cv2.line(canvas, (7, 6), (20, 6), 255, 2, cv2.LINE_AA)
    cv2.line(canvas, (20, 6), (12, 22), 255, 2, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def _random_test_index(n: int) -> None:
    st.session_state[state.VIS_TEST_INDEX] = int(np.random.default_rng().integers(n))


def input_ui(card: dict[str, Any] | None = None) -> tuple[np.ndarray, str]:
    """Where the digit comes from: the drawn/uploaded one, a test image, or a typed example.

    Parameters
    ----------
    card : dict, optional
        The selected model's card: its ``dataset`` picks the test set (MNIST when missing).

    Returns
    -------
    image : (28, 28) float32 ndarray
        In [0, 1], ink bright on black.
    title : str
        What it is, for headings.
    """
    current = state.get_current_input()
    dataset = test_dataset_name(card)
    options = (["current"] if current is not None else []) + (["test"] if dataset else [])
    options = options or ["example"]
    if current is not None:
        seen = input_key(current.model_input)
        if st.session_state.get(state.VIS_SEEN_INPUT) != seen:  # a new drawing or upload: show it
            st.session_state[state.VIS_SEEN_INPUT] = seen
            st.session_state[state.VIS_SOURCE] = "current"
    if st.session_state.get(state.VIS_SOURCE) not in options:
        st.session_state[state.VIS_SOURCE] = options[0]
    if len(options) > 1:
        source = st.radio("Digit", options, key=state.VIS_SOURCE, horizontal=True,
                          format_func=SOURCE_LABELS.__getitem__, label_visibility="collapsed")
    else:
        source = options[0]
    loaded = test_images(dataset) if source == "test" else None
    if current is None:
        meanwhile = "Meanwhile, here is a test image." if isinstance(loaded, tuple) else ""
        st.caption(":material/info: No digit drawn or uploaded yet: draw one on the **Draw** page or upload a "
                   f"photo, and it appears here. {meanwhile}")
    if source == "current":
        return np.asarray(current.model_input, np.float32), current.title
    if not isinstance(loaded, tuple):
        why = "The test images could not be read" if loaded else "No test images found"
        st.caption(f"{why} (set HDR_DATA_DIR to a folder with mnist.npz for them): showing a typed 7.",
                   help=loaded or None)  # the loader's whole message: what was searched, why the download failed
        return typed_example(), "A typed 7"
    x_test, y_test, names = loaded
    n = len(x_test)
    a, b = st.columns([3, 2], vertical_alignment="bottom")
    index = a.number_input(f"{dataset.upper()} test image #", 0, n - 1, key=state.VIS_TEST_INDEX,
                           help=f"Any of the {n:,} test images the model never trained on.")
    b.button("Random", icon=":material/casino:", on_click=_random_test_index, args=(n,), width="stretch")
    label = names[int(y_test[index])] if int(y_test[index]) < len(names) else str(int(y_test[index]))
    return x_test[int(index)].astype(np.float32) / 255.0, f"Test image #{int(index)} (labelled {label})"


_model_tokens: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_tokens_lock = threading.Lock()


def model_key(model: Any, name: str = "") -> str:
    """A cache key naming one live model object: its name plus a random token kept as long as the model.

    (``id(model)`` alone could be reused by another model after the first is freed.)
    """
    with _tokens_lock:
        token = _model_tokens.get(model)
        if token is None:
            token = _model_tokens[model] = uuid.uuid4().hex[:12]
    return f"{name or getattr(model, 'name', 'model')}:{token}"


def subject_ui(predictor: Any, choice: Any, image: np.ndarray) -> Subject:
    """Bundle the selected model and the input for the tabs (the model's structure is cached)."""
    model = predictor.model
    name = getattr(choice, "name", None) or getattr(model, "name", "model")
    kind = getattr(choice, "kind", "shipped")
    key = model_key(model, f"{kind}:{name}")
    image = np.ascontiguousarray(np.asarray(image, np.float32).reshape(28, 28))
    probabilities = np.asarray(predictor.predict(image).probabilities, np.float32)
    return Subject(
        model=model,
        model_key=key,
        image=image,
        image_key=input_key(image),
        class_names=tuple(predictor.class_names),
        probabilities=probabilities,
        view=model_view(key, model),
    )


def summary_ui(subject: Subject, title: str) -> None:
    """The input as the model sees it and the model's answer."""
    names, probs = subject.class_names, subject.probabilities
    order = np.argsort(probs)[::-1][:3]
    st.metric("Prediction", names[subject.predicted], f"{probs[subject.predicted]:.0%} sure", delta_color="off",
              delta_arrow="off")
    # Runners-up under 0.5% say nothing. Small shares keep a decimal, as "Why not…?" prints them, so
    # the same digit does not read "1%" here and "0.5%" in that tab.
    others = [f"{names[i]} {probs[i]:.1%}" if probs[i] < 0.095 else f"{names[i]} {probs[i]:.0%}"
              for i in order[1:] if probs[i] >= 0.005]
    st.caption(("Next: " + ", ".join(others) if others else "Every other digit under 0.5%") + f" · input: {title}")
