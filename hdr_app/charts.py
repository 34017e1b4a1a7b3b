"""Plotly figures and image helpers shared by the pages.

Figures are built as plain dicts and wrapped in ``go.Figure`` without validation, which keeps building
one to about a millisecond (the Draw page rebuilds its chart after every stroke).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "ACCENT",
    "CONFIDENCE_MEANING",
    "MUTED",
    "NARROW_LABEL_GAP",
    "PLOTLY_CONFIG",
    "bar_labels",
    "enlarge",
    "heatmap",
    "pixel_image_html",
    "png_data_uri",
    "probability_chart",
]

ACCENT = "#2563eb"  # the theme's primaryColor: the highlighted (top) class
MUTED = "#cbd5e1"  # every other class
TEXT = "#0f172a"

# What a probability means, for the pages that show one (hdr_core.calibration fits each model's temperature).
CONFIDENCE_MEANING = (
    "How sure the network is. The probabilities are calibrated on digits the network did not train on: of all "
    "the answers it gives with about 92%, about 92% are right. (Models trained without a validation split are "
    "not calibrated.)"
)

# Pass as st.plotly_chart(fig, config=PLOTLY_CONFIG): no mode bar, no scroll zoom on small charts.
PLOTLY_CONFIG = {"displayModeBar": False, "scrollZoom": False, "responsive": True}


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain dicts, skipping plotly's (slow, per-array) property validation.

    ``layout`` is laid over the app's look (transparent background, the theme's text colour): give only
    what differs. Every chart of the app is made here.
    """
    base = {"plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT}}
    return go.Figure({"data": data, "layout": base | layout}, skip_invalid=False, _validate=False)


LABEL_FROM = 0.05  # bars under 5% get no label (hover still tells): a row of "1%" labels ran together
NARROW_LABEL_GAP = 0.15  # in a narrow chart, neighbouring labels closer in height than this overlap


def bar_labels(probabilities: np.ndarray, *, gap: float = 0.0) -> list[str]:
    """The percentage printed above each bar: the top bar always, others from 5%.

    Labels sit just above their bars, so two neighbouring bars of similar height put their labels side
    by side; in a narrow chart (the Draw page: about 16 px a bar, "40%" is about 25 px) they overlap.
    There, pass ``gap``: of two neighbours closer in height than that, only the taller is labelled.

    Parameters
    ----------
    probabilities : (n,) float ndarray
        One probability per class, in [0, 1].
    gap : float, keyword-only
        Least height difference (in probability) between labelled neighbours; 0 labels them all.

    Returns
    -------
    labels : list of str
        ``n`` strings, ``"96%"`` or ``""``.
    """
    probs = np.asarray(probabilities, dtype=np.float64).ravel()
    labels = [""] * probs.size
    if probs.size == 0 or probs.max() <= 0:
        return labels
    top = int(np.argmax(probs))
    for i in sorted(range(probs.size), key=lambda k: -probs[k]):
        if i != top and probs[i] < LABEL_FROM:
            break
        clash = any(
            0 <= j < probs.size and labels[j] and abs(probs[j] - probs[i]) < gap for j in (i - 1, i + 1)
        )
        if not clash:
            labels[i] = f"{100 * probs[i]:.0f}%"
    return labels


def probability_chart(
    probabilities: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    highlight: int | None = None,
    height: int = 260,
    title: str | None = None,
    label_gap: float = 0.0,
) -> go.Figure:
    """Bar chart of every class's probability, the top (or ``highlight``) class in the accent colour.

    Parameters
    ----------
    probabilities : (n,) float ndarray
        One probability per class, in [0, 1].
    class_names : sequence of str, optional
        One name per class; default ``"0"`` .. ``"n-1"``.
    highlight : int, keyword-only, optional
        Index of the bar to highlight; default the most probable class (none when all are zero, for
        an empty chart shown before there is anything to predict).
    height : int, keyword-only
        Figure height in pixels.
    title : str, keyword-only, optional
    label_gap : float, keyword-only
        For a narrow chart: see :func:`bar_labels` (``NARROW_LABEL_GAP`` suits the Draw page).

    Returns
    -------
    fig : plotly.graph_objects.Figure
    """
    probs = np.asarray(probabilities, dtype=np.float64).ravel()
    if probs.size == 0:
        raise ValueError("probabilities must hold at least one value")
    names = [str(i) for i in range(probs.size)] if class_names is None else [str(n) for n in class_names]
    if len(names) != probs.size:
        raise ValueError(f"got {len(names)} class names for {probs.size} probabilities")
    if highlight is not None and not 0 <= int(highlight) < probs.size:
        raise ValueError(f"highlight must be a class index in 0..{probs.size - 1}, got {highlight}")
    colors = [MUTED] * probs.size
    if highlight is not None:
        colors[int(highlight)] = ACCENT
    elif probs.max() > 0:  # all zeros (nothing to predict yet): no highlight
        colors[int(np.argmax(probs))] = ACCENT
    text = bar_labels(probs, gap=label_gap)
    many = probs.size > 12
    bar = {
        "type": "bar",
        "x": names,
        "y": probs.tolist(),
        "marker": {"color": colors},
        "text": text,
        "textposition": "outside",
        "cliponaxis": False,
        "constraintext": "none",  # keep the labels readable: never shrink them to fit
        "textfont": {"size": 11 if many else 13, "color": TEXT},
        "hovertemplate": "class %{x}: %{y:.1%}<extra></extra>",
    }
    layout = {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 36 if title else 20, "b": 8},
        "xaxis": {"type": "category", "tickfont": {"size": 11 if many else 15}, "fixedrange": True,
                  "dtick": 1 if not many else None},  # every digit labelled, even in a narrow column
        "yaxis": {"range": [0, 1.12], "tickformat": ".0%", "dtick": 0.25, "fixedrange": True,
                  "gridcolor": "#e2e8f0", "zeroline": False},
        "bargap": 0.25,
        "showlegend": False,
        "font": {"color": TEXT},
    }
    if title:
        layout["title"] = {"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"}
    return figure([bar], layout)


def enlarge(model_input: np.ndarray, scale: int = 8, *, grid: bool = False) -> np.ndarray:
    """Blow up a small image with square pixels (nearest neighbour), for ``st.image``.

    Parameters
    ----------
    model_input : (h, w) float ndarray in [0, 1] or uint8 ndarray
        Usually the (28, 28) model input. Not modified.
    scale : int
        Each pixel becomes a ``scale`` x ``scale`` block.
    grid : bool, keyword-only
        Draw a faint line between pixels (needs ``scale >= 4``), to show that the image is made of
        28 x 28 squares.

    Returns
    -------
    image : (h * scale, w * scale) uint8 ndarray
    """
    image = np.asarray(model_input)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise ValueError(f"model_input must be a 2-D image, got shape {image.shape}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    if image.dtype != np.uint8:
        image = np.clip(np.rint(np.asarray(image, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    if grid and scale >= 4:
        # Grid lines: dark pixels lighten to 48, bright pixels darken by 40, so lines show on both.
        for lines in (big[::scale, :], big[:, ::scale]):
            lines[...] = np.where(lines > 128, lines - 40, np.maximum(lines, 48))
    return big


def heatmap(
    values: np.ndarray,
    *,
    colorscale: str = "gray",
    zmin: float | None = None,
    zmax: float | None = None,
    title: str | None = None,
    height: int = 260,
    showscale: bool = False,
) -> go.Figure:
    """A 2-D array as a square-pixel plotly heatmap, row 0 at the top (like an image).

    Parameters
    ----------
    values : (H, W) float ndarray
    colorscale : str, keyword-only
        Any plotly colour scale name ("gray", "RdBu", "Viridis"...).
    zmin, zmax : float, keyword-only, optional
        Colour range; default the data range.
    title : str, keyword-only, optional
    height : int, keyword-only
    showscale : bool, keyword-only
        Show the colour bar.

    Returns
    -------
    fig : plotly.graph_objects.Figure
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {array.shape}")
    trace = {
        "type": "heatmap",
        "z": array.tolist(),
        "colorscale": "Greys" if colorscale == "gray" else colorscale,
        "reversescale": colorscale == "gray",
        "showscale": showscale,
        "hovertemplate": "row %{y}, col %{x}: %{z:.3f}<extra></extra>",
    }
    if zmin is not None:
        trace["zmin"] = zmin
    if zmax is not None:
        trace["zmax"] = zmax
    layout = {
        "height": height,
        "margin": {"l": 4, "r": 4, "t": 30 if title else 4, "b": 4},
        "xaxis": {"visible": False, "constrain": "domain", "fixedrange": True},
        "yaxis": {"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain",
                  "fixedrange": True},
    }
    if title:
        layout["title"] = {"text": title, "font": {"size": 13}, "x": 0.5, "xanchor": "center"}
    return figure([trace], layout)


def png_data_uri(image: np.ndarray) -> str:
    """A small image as an inline ``data:image/png;base64,...`` URI (no media file, no extra request).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 ndarray, or (H, W) float ndarray in [0, 1]
        RGB channel order for colour images.

    Returns
    -------
    uri : str
    """
    import base64

    import cv2

    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(np.asarray(array, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 3:
        array = array[:, :, ::-1]  # OpenCV writes BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported shapes
        raise ValueError(f"cannot encode an image of shape {array.shape} as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def pixel_image_html(model_input: np.ndarray, *, size: int = 224, alt: str = "", grid: bool = True) -> str:
    """HTML ``<img>`` of a small image enlarged with square pixels (``st.markdown(html, unsafe_allow_html=True)``).

    Parameters
    ----------
    model_input : (28, 28) float ndarray in [0, 1] or uint8 ndarray
    size : int, keyword-only
        Displayed width and height in CSS pixels (shrinks to fit narrow columns).
    alt : str, keyword-only
        Text alternative.
    grid : bool, keyword-only
        Faint lines between pixels.

    Returns
    -------
    html : str
    """
    image = np.asarray(model_input)
    scale = max(1, int(size) // max(image.shape[:2]))
    uri = png_data_uri(enlarge(image, scale, grid=grid))
    alt_text = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return (
        f'<img src="{uri}" alt="{alt_text}" width="{size}" height="{size}" '
        f'style="width:{size}px;max-width:100%;height:auto;image-rendering:pixelated;'
        f'border-radius:4px;display:block;margin-bottom:0.5rem">'
    )
