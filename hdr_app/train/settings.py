"""The Train page's settings: one run or an experiment, the dataset, the architecture and its recipe; the form's values remembered per tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from hdr_app import state
from hdr_core.data import class_names
from hdr_core.models import (
    PRESETS,
    ArchSpec,
)
from hdr_core.train import TrainConfig

from .resources import present_datasets, training_slots

ONE, EXPERIMENT = "one", "experiment"


CUSTOM = "custom"


_DATASET_TITLES = {
    "mnist": "MNIST digits",
    "emnist-digits": "EMNIST Digits",
    "emnist-letters": "EMNIST Letters",
    "emnist-balanced": "EMNIST Balanced",
    "emnist-bymerge": "EMNIST By_Merge",
    "emnist-byclass": "EMNIST By_Class",
    "emnist-mnist": "EMNIST MNIST",
}


_TRAIN_LIMITS = (250, 500, 1000, 2000, 5000, 10000, 20000, 0)  # 0 = all


_BATCH_SIZES = (16, 32, 64, 128, 256)


_LEARNING_RATES = (1e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2)


_L2_VALUES = (0.0, 1e-5, 1e-4, 5e-4, 1e-3, 1e-2)


_FILTERS = (4, 8, 16, 32, 64)


_DENSE_UNITS = (0, 32, 64, 128, 256)


_OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD + momentum"}


_SCHEDULES = {"constant": "constant", "exponential": "exponential decay", "onecycle": "one-cycle (warm-up, cosine)"}


# Settings a preset's recipe fills in when it is picked.
_RECIPE_FIELDS = ("epochs", "batch_size", "learning_rate", "optimizer", "lr_schedule", "l2", "label_smoothing",
                  "rotation", "shift", "zoom", "thickness", "blur", "style", "slant", "elastic", "renormalize")


_CUSTOM_RECIPE = dict(epochs=3, batch_size=128, learning_rate=1e-3, optimizer="adam", lr_schedule="constant")


_FORM_DEFAULTS: dict[str, Any] = {
    "dataset": "mnist",
    "arch": "fast",
    "conv_blocks": 2,
    "filters": 16,
    "dense_units": 64,
    "dropout": 0.25,
    "batch_norm": True,
    **{name: getattr(TrainConfig.from_preset("fast"), name) for name in _RECIPE_FIELDS},
    "early_stopping": False,
    "patience": 2,
    "train_limit": 10000,  # a run in seconds; "all" is the last stop of the slider
    "seed": 0,
    "mode": ONE,
    "compare_metric": "val_accuracy",
    # experiments
    "exp_kind": "grid",
    "exp_dense": True,
    "exp_l2": True,
    "exp_rotation": True,
    "exp_archs": ["emnist-cnn", "notebook-cnn", "fast"],
    "exp_epochs": 2,
    "exp_train_limit": 5000,
}


def _key(name: str) -> str:
    return f"{state.TRAIN_FORM}{name}"


def prime(name: str, *, key: str | None = None, valid: Callable[[Any], bool] = lambda v: True) -> str:
    """The widget key of setting ``name``, holding its last value (kept across visits to other pages)."""
    key = key or _key(name)
    saved = st.session_state.setdefault(state.TRAIN_SAVED, {})
    if key not in st.session_state or not valid(st.session_state[key]):
        value = saved.get(name, _FORM_DEFAULTS.get(name))
        st.session_state[key] = value if valid(value) else _FORM_DEFAULTS.get(name)
    return key


def remember(values: dict[str, Any]) -> None:
    st.session_state.setdefault(state.TRAIN_SAVED, {}).update(values)


def _apply_recipe() -> None:
    """On picking an architecture: fill in its reference recipe (epochs, batch size, learning rate...)."""
    arch = st.session_state[_key("arch")]
    recipe = TrainConfig.from_preset(arch) if arch in PRESETS else TrainConfig(**_CUSTOM_RECIPE)
    values = {name: getattr(recipe, name) for name in _RECIPE_FIELDS}
    values["early_stopping"] = bool(recipe.early_stopping_patience)
    if recipe.early_stopping_patience:
        values["patience"] = recipe.early_stopping_patience
    for name, value in values.items():
        st.session_state[_key(name)] = value
        st.session_state[state.TRAIN_SAVED][name] = value


def _with(options: tuple, value: Any) -> list:
    """``options`` plus ``value`` (a recipe may use a value the list lacks), sorted."""
    return sorted(set(options) | ({value} if value is not None else set()))


def _is_digits(name: str) -> bool:
    """Whether the dataset's classes are the ten digits (the continental 1s and 7s need them)."""
    return class_names(name) == tuple("0123456789")


def _dataset_label(name: str) -> str:
    n = len(class_names(name))
    return f"{_DATASET_TITLES.get(name, name)} · {n} classes"


def arch_label(name: str) -> str:
    return "Custom: build your own" if name == CUSTOM else PRESETS[name].title


def _limit_label(n: int) -> str:
    return "all" if n == 0 else f"{n:,}"


def _lr_label(value: float) -> str:
    return f"{value:g}"


def mode_ui(*, disabled: bool = False) -> str:
    """One model or an experiment (several configurations). Returns ``ONE`` or ``EXPERIMENT``."""
    key = prime("mode", key=state.TRAIN_MODE, valid=lambda v: v in (ONE, EXPERIMENT))
    mode = st.radio(
        "What to train", [ONE, EXPERIMENT], key=key, horizontal=True, disabled=disabled,
        format_func={ONE: "One model", EXPERIMENT: "An experiment"}.get, label_visibility="collapsed",
    )
    remember({"mode": mode})
    return mode


def dataset_ui(datasets: list[str], *, disabled: bool) -> str:
    key = prime("dataset", valid=lambda v: v in datasets)
    dataset = st.selectbox(
        "Dataset", datasets, key=key, format_func=_dataset_label, disabled=disabled,
        help="Only datasets whose files are present are listed. EMNIST splits appear when their files "
        "are in the data folder (HDR_DATA_DIR); the output layer is sized to the number of classes.",
    )
    return dataset


def train_limit_ui(name: str, *, disabled: bool) -> int:
    key = prime(name, valid=lambda v: v in _TRAIN_LIMITS)
    return st.select_slider(
        "Training images", _TRAIN_LIMITS, key=key, format_func=_limit_label, disabled=disabled,
        help="How many training images to use (after 10% are held out for validation). Fewer train "
        "faster and show how much a network needs data.",
    )


def config_form_ui(*, disabled: bool = False) -> list[tuple[str, TrainConfig]]:
    """The settings of one training. Returns ``[(label, config)]``; ``[]`` when the settings are invalid."""
    datasets = present_datasets()
    if not datasets:
        st.error("No dataset found. Put mnist.npz (or the MNIST IDX files) in the folder HDR_DATA_DIR names.")
        return []
    values: dict[str, Any] = {"dataset": dataset_ui(datasets, disabled=disabled)}
    for section in (_architecture_ui, _recipe_ui, _augmentation_ui, _more_settings_ui):
        section(values, disabled=disabled)
    remember(values)
    try:
        config = build_config(values)
    except ValueError as error:
        st.error(str(error))
        return []
    return [(_arch_short(config.arch), config)]


def _architecture_ui(values: dict[str, Any], *, disabled: bool) -> None:
    """A preset (with what it reproduces) or a custom network's blocks, filters, dense units and dropout."""
    archs = [*PRESETS, CUSTOM]
    key = prime("arch", valid=lambda v: v in archs)
    values["arch"] = st.selectbox("Architecture", archs, key=key, format_func=arch_label,
                                  on_change=_apply_recipe, disabled=disabled,
                                  help="Picking one also fills in the training recipe it is known for.")
    if values["arch"] == CUSTOM:
        with st.container(border=True):
            c1, c2 = st.columns(2)
            values["conv_blocks"] = c1.slider("Conv blocks", 0, 3, key=prime("conv_blocks"), disabled=disabled,
                                              help="Each block: 3x3 convolution + ReLU, then 2x2 max-pooling. "
                                              "0 gives a plain multilayer perceptron.")
            values["filters"] = c2.select_slider("Filters", _FILTERS, key=prime("filters"), disabled=disabled,
                                                 help="Filters of the first block; doubled in each later block.")
            values["dense_units"] = c1.select_slider("Dense units", _DENSE_UNITS, key=prime("dense_units"),
                                                     disabled=disabled, help="Width of the hidden dense layer.")
            values["dropout"] = c2.slider("Dropout", 0.0, 0.6, step=0.05, key=prime("dropout"), disabled=disabled,
                                          help="Share of activations dropped at random while training.")
            values["batch_norm"] = st.checkbox("Batch normalisation", key=prime("batch_norm"), disabled=disabled)
    else:
        preset = PRESETS[values["arch"]]
        source = f" Reproduces the {preset.reference}." if preset.reference else ""
        st.caption(preset.description + source)


def _recipe_ui(values: dict[str, Any], *, disabled: bool) -> None:
    """Epochs, batch size, learning rate, L2 penalty, training images."""
    c1, c2 = st.columns(2)
    values["epochs"] = c1.number_input("Epochs", 1, 50, step=1, key=prime("epochs"), disabled=disabled,
                                       help="Passes over the training images (early stopping or Stop may end sooner).")
    bs_key = prime("batch_size")
    values["batch_size"] = c2.selectbox("Batch size", _with(_BATCH_SIZES, st.session_state[bs_key]), key=bs_key,
                                        disabled=disabled)
    lr_key = prime("learning_rate")
    values["learning_rate"] = c1.select_slider("Learning rate", _with(_LEARNING_RATES, st.session_state[lr_key]),
                                               key=lr_key, format_func=_lr_label, disabled=disabled)
    l2_key = prime("l2")
    values["l2"] = c2.select_slider("L2 penalty", _with(_L2_VALUES, st.session_state[l2_key]), key=l2_key,
                                    format_func=lambda v: "off" if v == 0 else f"{v:g}", disabled=disabled,
                                    help="Weight decay on every kernel: keeps weights small against overfitting.")
    values["train_limit"] = train_limit_ui("train_limit", disabled=disabled)


def _augmentation_ui(values: dict[str, Any], *, disabled: bool) -> None:
    with st.expander("Augmentation: vary the training digits", expanded=False):
        values["rotation"] = st.slider("Rotation (± degrees)", 0.0, 30.0, step=1.0, key=prime("rotation"),
                                       disabled=disabled)
        values["shift"] = st.slider("Shift (± share of the image)", 0.0, 0.25, step=0.01, key=prime("shift"),
                                    disabled=disabled)
        values["zoom"] = st.slider("Zoom (± share of the size)", 0.0, 0.3, step=0.01, key=prime("zoom"),
                                   disabled=disabled)
        values["thickness"] = st.slider("Stroke thickness change (probability)", 0.0, 1.0, step=0.1,
                                        key=prime("thickness"), disabled=disabled)
        values["blur"] = st.slider("Blur (probability)", 0.0, 1.0, step=0.1, key=prime("blur"), disabled=disabled)
        values["slant"] = st.slider("Slant (± horizontal shear)", 0.0, 0.5, step=0.05, key=prime("slant"),
                                    disabled=disabled, help="Leans digits left or right, as italic handwriting does.")
        values["elastic"] = st.slider("Wobbly strokes (probability)", 0.0, 1.0, step=0.1, key=prime("elastic"),
                                      disabled=disabled,
                                      help="An elastic distortion that bends strokes a little, as a hand does.")
        values["renormalize"] = st.slider(
            "Render like a photo (probability)", 0.0, 1.0, step=0.1, key=prime("renormalize"), disabled=disabled,
            help="Redraws the digit as the Upload page renders a photo or scan: black and white, even strokes, "
            "fit to 20x20 and centred. Helps the model read real input.")
        digits = _is_digits(values["dataset"])
        values["style"] = st.slider(
            "Continental 1s and 7s (probability)", 0.0, 1.0, step=0.1, key=prime("style"),
            disabled=disabled or not digits,
            help="Swaps a 7 for a crossed 7 and a 1 for one with a long up-stroke, as much of Europe writes them."
            + ("" if digits else " Digit datasets only."))


def _more_settings_ui(values: dict[str, Any], *, disabled: bool) -> None:
    with st.expander("More settings", expanded=False):
        values["early_stopping"] = st.checkbox("Early stopping", key=prime("early_stopping"), disabled=disabled,
                                               help="Stop when validation accuracy has not improved for a few epochs.")
        values["patience"] = st.slider("Patience (epochs)", 1, 5, key=prime("patience"),
                                       disabled=disabled or not values["early_stopping"])
        opt_key = prime("optimizer", valid=lambda v: v in _OPTIMIZERS)
        values["optimizer"] = st.selectbox("Optimizer", list(_OPTIMIZERS), key=opt_key, format_func=_OPTIMIZERS.get,
                                           disabled=disabled)
        sched_key = prime("lr_schedule", valid=lambda v: v in _SCHEDULES)
        values["lr_schedule"] = st.selectbox("Learning-rate schedule", list(_SCHEDULES), key=sched_key,
                                             format_func=_SCHEDULES.get, disabled=disabled)
        values["label_smoothing"] = st.slider("Label smoothing", 0.0, 0.2, step=0.01, key=prime("label_smoothing"),
                                              disabled=disabled)
        values["seed"] = st.number_input("Random seed", 0, 2**31 - 1, step=1, key=prime("seed"), disabled=disabled)


def build_config(values: dict[str, Any]) -> TrainConfig:
    """The ``TrainConfig`` of the form's values (``_FORM_DEFAULTS`` fills in what is missing)."""
    v = {**_FORM_DEFAULTS, **values}
    fields = dict(
        dataset=v["dataset"], epochs=int(v["epochs"]), batch_size=int(v["batch_size"]),
        learning_rate=float(v["learning_rate"]), optimizer=v["optimizer"], lr_schedule=v["lr_schedule"],
        l2=float(v["l2"]), label_smoothing=float(v["label_smoothing"]), rotation=float(v["rotation"]),
        shift=float(v["shift"]), zoom=float(v["zoom"]), thickness=float(v["thickness"]), blur=float(v["blur"]),
        slant=float(v["slant"]), elastic=float(v["elastic"]), renormalize=float(v["renormalize"]),
        style=float(v["style"]) if _is_digits(v["dataset"]) else 0.0,
        early_stopping_patience=int(v["patience"]) if v["early_stopping"] else 0,
        train_limit=int(v["train_limit"]) or None, seed=int(v["seed"]),
    )
    if v["arch"] == CUSTOM:
        spec = ArchSpec(conv_blocks=int(v["conv_blocks"]), filters=int(v["filters"]),
                        dense_units=int(v["dense_units"]), dropout=float(v["dropout"]),
                        batch_norm=bool(v["batch_norm"]))
        return TrainConfig(arch=spec, **fields)
    return TrainConfig.from_preset(v["arch"], **fields)


def _arch_short(arch: str | ArchSpec) -> str:
    return CUSTOM if isinstance(arch, ArchSpec) else str(arch)


def intro_ui() -> None:
    """What the board will show, before anything was trained."""
    with st.container(border=True):
        st.markdown("#### How it works")
        st.markdown(
            "1. **Training** shows the network batches of images with their labels; after each batch it "
            "nudges its weights to make the loss (its error) smaller.\n"
            "2. **Validation**: after every epoch (one pass over the training images) it is tested on images "
            "held out of training, so you see whether it learns digits or memorises pictures.\n"
            "3. **Test**: at the end, the 10,000 test images give the final accuracy, a confusion matrix "
            "and the digits it gets wrong.\n\n"
            "Start small: a few thousand images and one or two epochs train in seconds. "
            f"This server trains {training_slots().limit} model"
            f"{'s' if training_slots().limit != 1 else ''} at a time; others wait for a free slot."
        )
