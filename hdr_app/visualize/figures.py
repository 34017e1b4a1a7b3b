"""The Look inside page's plotly figures: images as the model sees them, feature maps, filters, heat maps, the flow
through the network, vectors and contributions. Built without plotly's validation (fast).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.colors as plotly_colors
import plotly.graph_objects as go

from hdr_app.charts import figure
from hdr_core import visualize
from hdr_core.visualize import ModelView, Stage, grid_columns, tile_maps

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


MARK_COLOR = "#22d3ee"  # frames on images: the patch, the chosen position


GAP_COLOR = "#94a3b8"


CHART_CONFIG = {"displayModeBar": False}


_FONT = dict(size=12)


def _layout(*, height: int, title: str | None = None, margin_top: int | None = None, **extra: Any) -> dict:
    top = margin_top if margin_top is not None else (36 if title else 8)
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 4, "r": 4, "t": top, "b": 4},
        "font": dict(_FONT),
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
            "y0": top - 0.5, "y1": top + height - 0.5, "line": {"color": MARK_COLOR, "width": 3}}


def image_figure(image: np.ndarray, *, title: str | None = None, height: int = 260,
                 box: tuple[int, int, int, int] | None = None) -> go.Figure:
    """The (28, 28) input in [0, 1] as the model sees it; ``box`` = (top, left, h, w) draws a frame."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    trace = _heatmap(image, IMAGE_SCALE, zmin=0, zmax=1, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    layout = _layout(height=height, title=title, **_image_axes(0))
    if box is not None:
        layout["shapes"] = [_box_shape(*box)]
    return figure([trace], layout)


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
    return figure([trace], _layout(height=height, **_image_axes(0)))


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
    return figure([trace], _layout(height=height, **_image_axes(0)) | {"plot_bgcolor": GAP_COLOR})


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
    return figure([trace], layout)


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
    return figure(data, _layout(height=250, margin_top=8, annotations=titles, **axes))


def overlay_figure(image: np.ndarray, heatmap: np.ndarray, *, title: str | None = None, height: int = 300) -> go.Figure:
    """The input in gray with a heatmap in [0, 1] laid over it (transparent where it is 0)."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    data = [
        _heatmap(image * 0.75, IMAGE_SCALE, zmin=0, zmax=1, hoverinfo="skip"),
        _heatmap(np.asarray(heatmap, np.float32), HEAT_SCALE, zmin=0, zmax=1,
                 hovertemplate="row %{y}, col %{x}: importance %{z:.2f}<extra></extra>"),
    ]
    return figure(data, _layout(height=height, title=title, **_image_axes(0)))


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
    return figure([bar], layout)


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
    return figure([bar], layout)


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
    return figure(data, _layout(height=height, margin_top=4, annotations=notes, **axes))
