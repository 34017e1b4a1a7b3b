"""The Look inside page's six tabs, one ``*_ui`` function each, over a ``Subject`` (a model and one input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from hdr_app import state
from hdr_core.errors import HdrError
from hdr_core.visualize import ModelView, conv_chain, output_contributions, products_sum_text, short_number

from .cache import all_activations, conv_step, filters, heatmap
from .figures import (
    CHART_CONFIG,
    contributions_figure,
    conv_step_figure,
    feature_maps_figure,
    filters_figure,
    flow_figure,
    image_figure,
    map_figure,
    overlay_figure,
    vector_figure,
)


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
             f"Σ = **{short_number(step.total)}**"]
    lines += [f"{i}. {s.text}" for i, s in enumerate(chain, start=2)]
    st.markdown("\n".join(lines))
    value = chain[-1].value if chain else step.total
    shown = float(maps[row, col, channel])
    if np.isfinite(value) and abs(value - shown) <= 1e-3 * max(1.0, abs(shown)):
        st.success(f"= {short_number(shown)}, the value at row {row}, column {col} of map {channel}.", icon=":material/check:")
    else:
        st.warning(f"Keras's value at this position is {short_number(shown)} (the hand computation gives {short_number(value)}).")
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
                   f"learned weight and adds them up, plus a bias ({short_number(bias)}): score = {short_number(values.sum() + bias)}. "
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
