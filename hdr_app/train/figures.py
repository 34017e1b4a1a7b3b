"""The Train page's plotly figures: live curves, per-class accuracy, the confusion matrix, runs compared."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from hdr_app.charts import ACCENT, TEXT, figure
from hdr_app.train.jobs import (
    RunRecord,
)
from hdr_core.models import (
    reported_mnist_accuracy,
)

TRAIN_COLOR = "#94a3b8"  # training curves: slate; validation in the accent colour


ERROR_COLOR = "#dc2626"


def _thin(values: tuple[float, ...], limit: int = 600) -> list[float]:
    step = max(1, math.ceil(len(values) / limit))
    return list(values[::step]) if step > 1 else list(values)


LEGEND_LIFT_PX = 24  # the height of the "Loss · lower is better" line above the loss plot


def curves_figure(history: dict[str, list[float]], *, batch_x=(), batch_loss=(), batch_accuracy=(),
                  total_epochs: int | None = None, height: int = 440) -> go.Figure:
    """Loss above accuracy, sharing the epoch axis: training (per batch, and per epoch) and validation (per epoch).

    Parameters
    ----------
    history : dict of str to list of float
        Per finished epoch: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
    batch_x, batch_loss, batch_accuracy : sequences of float
        The running training figures after each batch, ``batch_x`` in epochs.
    total_epochs : int, optional
        Fixes the x axis to the whole run, so the curves grow into it.
    """
    data: list[dict] = []
    epochs: list[float] = list(range(1, len(history.get("loss", [])) + 1))
    if epochs and len(batch_x) and batch_x[-1] < epochs[-1] - 1e-6:
        epochs[-1] = float(batch_x[-1])  # a stopped, partial last epoch: plot it where training ended
    for axis, metric in (("", "loss"), ("2", "accuracy")):
        first = axis == ""
        running = batch_loss if metric == "loss" else batch_accuracy
        if len(batch_x):
            data.append({"type": "scattergl" if len(batch_x) > 1500 else "scatter", "mode": "lines",
                         "x": _thin(tuple(batch_x)), "y": _thin(tuple(running)), "xaxis": f"x{axis}",
                         "yaxis": f"y{axis}", "name": "training (running)", "legendgroup": "running",
                         "showlegend": first, "line": {"color": TRAIN_COLOR, "width": 1.5},
                         "hovertemplate": f"epoch %{{x:.2f}}: {metric} %{{y:.4f}}<extra>training</extra>"})
        if history.get(metric):
            data.append({"type": "scatter", "mode": "markers", "x": epochs, "y": history[metric], "cliponaxis": False,
                         "xaxis": f"x{axis}", "yaxis": f"y{axis}", "name": "training (epoch)",
                         "legendgroup": "train", "showlegend": first,
                         "marker": {"color": TRAIN_COLOR, "size": 8, "symbol": "circle-open", "line": {"width": 2}},
                         "hovertemplate": f"epoch %{{x}}: {metric} %{{y:.4f}}<extra>training</extra>"})
        if history.get(f"val_{metric}"):
            data.append({"type": "scatter", "mode": "lines+markers", "x": epochs, "y": history[f"val_{metric}"],
                         "cliponaxis": False, "xaxis": f"x{axis}", "yaxis": f"y{axis}", "name": "validation",
                         "legendgroup": "val",
                         "showlegend": first, "line": {"color": ACCENT, "width": 2.5}, "marker": {"size": 8},
                         "hovertemplate": f"epoch %{{x}}: {metric} %{{y:.4f}}<extra>validation</extra>"})
    last = max(total_epochs or 0, len(epochs), math.ceil(max(batch_x, default=0)), 1)
    x_range = [0, last + 0.08 * last]  # a little room so the last markers are not cut in half
    grid = "#e2e8f0"
    axis_x = {"range": x_range, "gridcolor": grid, "zeroline": False, "dtick": max(1, math.ceil(last / 10))}
    layout = {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 28, "b": 8},
        "xaxis": {**axis_x, "anchor": "y", "matches": "x2", "showticklabels": False},
        "xaxis2": {**axis_x, "anchor": "y2", "title": {"text": "epoch", "font": {"size": 12}}},
        "yaxis": {"domain": [0.56, 1], "title": {"text": "loss", "font": {"size": 12}}, "gridcolor": grid,
                  "rangemode": "tozero", "zeroline": False},
        "yaxis2": {"domain": [0, 0.44], "title": {"text": "accuracy", "font": {"size": 12}}, "gridcolor": grid,
                   "tickformat": ".0%", "zeroline": False},
        "annotations": [
            {"text": "<b>Loss</b> · lower is better", "x": 0, "xref": "paper", "y": 1.0, "yref": "paper",
             "yanchor": "bottom", "showarrow": False, "xanchor": "left", "font": {"size": 13}},
            {"text": "<b>Accuracy</b> · higher is better", "x": 0, "xref": "paper", "y": 0.44, "yref": "paper",
             "yanchor": "bottom", "showarrow": False, "xanchor": "left", "font": {"size": 13}},
        ],
        # Above the "Loss" title, not beside it: on a phone the legend wraps to two lines and would
        # cover the title (the top margin grows to fit it).
        "legend": {"orientation": "h", "y": 1.0 + LEGEND_LIFT_PX / height, "yanchor": "bottom", "x": 1,
                   "xanchor": "right", "font": {"size": 11}},
        "hovermode": "closest",
    }
    return figure(data, layout)


def per_class_figure(per_class: list[float], names: tuple[str, ...]) -> go.Figure:
    """Bar chart of test accuracy per class, the weakest class in red."""
    values = [0.0 if not math.isfinite(v) else float(v) for v in per_class]
    worst = int(np.argmin(values)) if values else -1
    colors = [ERROR_COLOR if i == worst else ACCENT for i in range(len(values))]
    low = min(values, default=0.0)
    many = len(values) > 12
    data = [{"type": "bar", "x": list(names), "y": values, "marker": {"color": colors},
             "text": [f"{v:.1%}" for v in values] if not many else None, "textposition": "outside",
             "cliponaxis": False, "hovertemplate": "class %{x}: %{y:.2%} right<extra></extra>"}]
    layout = {"height": 300, "margin": {"l": 8, "r": 8, "t": 20, "b": 8},
              "xaxis": {"type": "category", "title": {"text": "true class"}, "fixedrange": True},
              "yaxis": {"range": [max(0.0, low - 0.05), 1.02], "tickformat": ".0%", "gridcolor": "#e2e8f0",
                        "fixedrange": True, "title": {"text": "test accuracy"}}}
    return figure(data, layout)


def confusion_figure(confusion: np.ndarray, names: tuple[str, ...], *, selected: tuple[int, int] | None = None
                     ) -> go.Figure:
    """The confusion matrix as a heatmap (rows: true class, columns: prediction), cells clickable.

    Colour follows ``log(1 + count)`` so the few mistakes show beside the large diagonal. An invisible
    marker sits on every cell: plotly heatmaps report no selections, markers do.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    n = counts.shape[0]
    ticks = list(range(n))
    many = n > 12
    heat = {"type": "heatmap", "z": np.log1p(counts).tolist(), "x": ticks, "y": ticks,
            "colorscale": [[0, "#f8fafc"], [0.25, "#bfdbfe"], [0.6, "#3b82f6"], [1, "#1e3a8a"]],
            "showscale": False, "hoverinfo": "skip", "xgap": 1, "ygap": 1}
    data = [heat]
    if not many:
        text_color = np.where(np.log1p(counts) > 0.55 * max(1e-9, float(np.log1p(counts).max())), "white", TEXT)
        xs, ys = np.meshgrid(ticks, ticks)
        data.append({"type": "scatter", "mode": "text", "x": xs.ravel().tolist(), "y": ys.ravel().tolist(),
                     "text": [str(c) if c else "" for c in counts.ravel()], "hoverinfo": "skip",
                     "textfont": {"color": text_color.ravel().tolist(), "size": 12}})
    xs, ys = np.meshgrid(ticks, ticks)
    data.append({"type": "scatter", "mode": "markers", "x": xs.ravel().tolist(), "y": ys.ravel().tolist(),
                 "customdata": [[names[t], names[p], int(c)]
                                for t, p, c in zip(ys.ravel(), xs.ravel(), counts.ravel())],
                 "marker": {"symbol": "square", "size": max(6, 420 // n), "color": "rgba(0,0,0,0)"},
                 "hovertemplate": "true %{customdata[0]}, predicted %{customdata[1]}: %{customdata[2]} images"
                                  "<extra></extra>", "showlegend": False})
    shapes = []
    if selected is not None:
        t, p = selected
        shapes.append({"type": "rect", "x0": p - 0.5, "x1": p + 0.5, "y0": t - 0.5, "y1": t + 0.5,
                       "line": {"color": ERROR_COLOR, "width": 3}})
    axis = {"tickmode": "array", "tickvals": ticks, "ticktext": list(names), "fixedrange": True, "showgrid": False,
            "zeroline": False, "tickfont": {"size": 9 if many else 13}}
    layout = {"height": max(520, 14 * n + 120), "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
              "xaxis": {**axis, "title": {"text": "predicted class"}, "side": "bottom", "constrain": "domain"},
              "yaxis": {**axis, "title": {"text": "true class"}, "autorange": "reversed", "scaleanchor": "x",
                        "constrain": "domain"},
              "shapes": shapes, "showlegend": False, "clickmode": "event+select", "dragmode": False}
    return figure(data, layout)


COMPARE_METRICS = {"val_accuracy": "validation accuracy", "val_loss": "validation loss",
                    "accuracy": "training accuracy", "loss": "training loss"}


_PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
            "#4b5563", "#65a30d")


def reported_figure_chart(rows: list[dict[str, Any]]) -> go.Figure | None:
    """Test accuracy, ours beside what the reference reports, for the rows with a reported MNIST figure (the
    EMNIST project's is on another test set, so it is not charted)."""
    pairs = [(row["model"], row["test accuracy"], reported_mnist_accuracy(row["reference reports"])) for row in rows]
    pairs = [pair for pair in pairs if pair[2] is not None]
    if not pairs:
        return None
    names = [name for name, _, _ in pairs]
    data = [
        {"type": "bar", "name": "ours", "x": names, "y": [ours for _, ours, _ in pairs], "marker": {"color": ACCENT},
         "hovertemplate": "%{x}: %{y:.2%}<extra>ours</extra>"},
        {"type": "bar", "name": "the reference reports", "x": names, "y": [theirs for _, _, theirs in pairs],
         "marker": {"color": TRAIN_COLOR}, "hovertemplate": "%{x}: %{y:.2%}<extra>reported</extra>"},
    ]
    low = min(min(ours, theirs) for _, ours, theirs in pairs)
    layout = {"height": 300, "barmode": "group", "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
              "yaxis": {"title": {"text": "test accuracy"}, "tickformat": ".1%", "range": [max(0.0, low - 0.01), 1.0],
                        "gridcolor": "#e2e8f0"},
              "legend": {"orientation": "h", "y": 1.12}}
    return figure(data, layout)


def comparison_figure(runs: list[RunRecord], names: dict[str, str], metric: str) -> go.Figure:
    """One line per run: ``metric`` after each epoch."""
    data = []
    for i, run in enumerate(runs):
        values = run.result.history.get(metric) or []
        data.append({"type": "scatter", "mode": "lines+markers", "x": list(range(1, len(values) + 1)), "y": values,
                     "name": names.get(run.run_id, run.label), "line": {"color": _PALETTE[i % len(_PALETTE)]},
                     "hovertemplate": "epoch %{x}: %{y:.4f}<extra>%{fullData.name}</extra>"})
    accuracy = "accuracy" in metric
    layout = {"height": 340, "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
              "xaxis": {"title": {"text": "epoch"}, "dtick": 1, "gridcolor": "#e2e8f0"},
              "yaxis": {"title": {"text": COMPARE_METRICS[metric]}, "tickformat": ".1%" if accuracy else None,
                        "gridcolor": "#e2e8f0"},
              "legend": {"orientation": "v", "x": 1.02, "y": 1}}
    return figure(data, layout)
