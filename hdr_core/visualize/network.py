"""A model as a student should see it: stages, the path of one convolution output, each class's evidence.

Layers are grouped into the *stages* worth showing (``conv_1 -> batch norm -> ReLU`` is one stage, shown
after the ReLU); feature maps are tiled into one image; one convolution output is followed through bias,
batch norm and activation; the last layer's sum is split into each feature's contribution. NumPy only
(models are read, never drawn): the Look inside page draws these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import ConvStep, LayerInfo
from .structure import conv_layer_names, layer_table

GRAD_CAM_MIN_SIDE = 10  # default Grad-CAM layer: the last with maps at least this big (see grad_cam_default)


# Layers that act element-wise on a conv's output and belong to its stage ("conv -> BN -> ReLU").
_BLOCK_KINDS = {"BatchNormalization", "ReLU", "Activation", "LeakyReLU", "PReLU", "ELU"}


# Layers that only rescale the input image (no features of their own): shown, never a Grad-CAM layer.
_SCALING_KINDS = {"Rescaling", "UnitNormalization", "Normalization"}


# Layers that do nothing at prediction time: not shown as stages.
_SKIP_KINDS = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "InputLayer"}


_POOL_KINDS = {"MaxPooling2D", "AveragePooling2D"}


_MAX_FLATTEN_SHOWN = 512  # a longer Flatten output (e.g. 9216 numbers) is not drawn as a vector


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

    rows: tuple[LayerInfo, ...]
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


def _detail(layer: Any, info: LayerInfo, is_output: bool) -> str:
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
    rows = layer_table(model)
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
        conv_layers=tuple(conv_layer_names(model)),
        params=int(sum(r.params for r in rows)),
        model_name=str(getattr(model, "name", "model")),
    )


@dataclass(frozen=True)
class ChainStep:
    """One operation after the multiply-and-add: ``value_in -> value_out``, explained."""

    name: str  # layer name
    kind: str  # "bias", "BatchNormalization", "ReLU", "activation", "other"
    text: str  # the formula with the numbers filled in (Markdown)
    value: float  # the value after this step


def conv_chain(model: Any, step: ConvStep, stage: Stage | None) -> list[ChainStep]:
    """From ``step.total`` (the sum of products) to the value the stage's feature map shows.

    Follows the conv's bias and activation, then each layer of the stage (batch normalisation from
    the layer's own gamma, beta, moving mean and variance; ReLU). A layer it cannot replay is
    reported with Keras's value for it.

    Parameters
    ----------
    model : keras.Model
    step : ConvStep
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
        text = f"add the bias: {short_number(step.total)} {_signed(step.bias)} = **{short_number(value)}**"
        steps.append(ChainStep(step.layer, "bias", text, value))
    if step.activation not in ("linear", "None", None):
        value = step.output
        fn = "max(0, x)" if step.activation == "relu" else f"{step.activation}(x)"
        steps.append(ChainStep(step.layer, "activation", f"{step.activation}: {fn} → **{short_number(value)}**", value))
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
                f"batch normalisation scales and shifts: γ·(x − μ)/√(σ² + ε) + β = {short_number(gamma)} × "
                f"({short_number(value)} {_signed(-mean)}) / √({short_number(var)} + {eps:g}) {_signed(beta)} = **{short_number(new)}**"
            )
            value = float(new)
            steps.append(ChainStep(name, kind, text, value))
        elif kind == "ReLU" and not layer.negative_slope and not layer.threshold:
            new = max(0.0, value)
            if layer.max_value is not None:
                new = min(new, float(layer.max_value))
            steps.append(ChainStep(name, "ReLU", f"ReLU: max(0, {short_number(value)}) = **{short_number(new)}**", new))
            value = new
        elif kind == "Activation" and getattr(layer.activation, "__name__", "") == "relu":
            new = max(0.0, value)
            steps.append(ChainStep(name, "ReLU", f"ReLU: max(0, {short_number(value)}) = **{short_number(new)}**", new))
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
        :func:`hdr_core.activations` of every layer for one input.
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


def short_number(value: float, digits: int = 3) -> str:
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
    return f"{'−' if value < 0 else '+'} {short_number(abs(value))}"


def products_sum_text(products: np.ndarray, *, max_terms: int = 25) -> str:
    """``"0.000 + 0.112 − 0.010 + … = 0.250"``: the sum written out (elided beyond ``max_terms``)."""
    values = np.asarray(products, np.float64).ravel()
    shown = values[:max_terms]
    text = short_number(shown[0]) if shown.size else "0"
    for v in shown[1:]:
        text += f" {'−' if v < 0 else '+'} {short_number(abs(v))}"
    if values.size > max_terms:
        text += f" + … ({values.size - max_terms} more)"
    return f"{text} = {short_number(values.sum())}"


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
