"""The Train page's pieces: the settings form, the live progress view, the results and the comparison.

Training itself runs in a :class:`hdr_app.training.TrainingJob`, which sends each run to a worker
process of the server's Dask cluster (``hdr_core.cluster``; the worker calls ``hdr_core.train.train``,
the function behind ``python -m hdr_core train``); the job lives in ``st.session_state`` (per student,
remembered across a reload by ``hdr_app.tab_memory``), the limit on concurrent trainings, the cluster,
the orphan watch and the datasets in ``st.cache_resource`` (per server, read-only uint8).
The live view is an ``st.fragment`` that reruns
every second while a job is active and triggers one full rerun when something finished.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from hdr_app import state
from hdr_app.charts import ACCENT, PLOTLY_CONFIG, TEXT, enlarge
from hdr_app.models import register_session_model
from hdr_app.orphans import OrphanWatch
from hdr_app.tab_memory import session_id
from hdr_app.training import (
    CANCELLED,
    FAILED,
    FINISHED,
    STOPPED,
    WAITING,
    JobSnapshot,
    RunRecord,
    TrainingJob,
    TrainingSlots,
    max_trainings_from_env,
)
from hdr_core.cluster import CLUSTER_ENV, ClusterParams, TrainingCluster
from hdr_core.data import DATASET_NAMES, Dataset, available_datasets, class_names, load_dataset
from hdr_core.errors import HdrError
from hdr_core.models import (
    EXPERIMENT_CASES,
    EXPERIMENT_EPOCHS,
    EXPERIMENT_REPORTED,
    PRESETS,
    ArchSpec,
    describe_arch,
    reported_mnist_accuracy,
)
from hdr_core.train import TrainConfig

__all__ = [
    "ONE",
    "EXPERIMENT",
    "blog_grid",
    "build_config",
    "comparison_ui",
    "config_form_ui",
    "curves_figure",
    "confusion_figure",
    "experiment_form_ui",
    "job_status_ui",
    "live_ui",
    "mode_ui",
    "details_ui",
    "selected_run",
    "summary_ui",
    "shared_dataset",
    "start_ui",
    "sync_finished_runs",
    "training_slots",
]

ONE, EXPERIMENT = "one", "experiment"
CUSTOM = "custom"
TRAIN_COLOR = "#94a3b8"  # training curves: slate; validation in the accent colour
ERROR_COLOR = "#dc2626"
GALLERY_COLUMNS = 6
GALLERY_SIZE = 30  # misclassified digits shown
CELL_IMAGES = 25  # test images shown for a confusion-matrix cell

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


# --------------------------------------------------------------------------------------------------
# Server-wide resources
# --------------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """The server's limit on concurrent trainings (``$HDR_MAX_TRAININGS``, default 1), shared by all sessions."""
    return TrainingSlots(max_trainings_from_env())


@st.cache_resource(show_spinner=False)
def training_cluster() -> TrainingCluster | None:
    """Where the server's trainings run: Dask workers (started on the first training), shared by all sessions.

    ``HDR_TRAIN_CLUSTER=tcp://host:8786`` sends them to that scheduler; ``HDR_TRAIN_CLUSTER=off`` trains
    inside the web process (a machine that cannot start processes; drawing then slows while it trains).
    """
    if os.environ.get(CLUSTER_ENV, "").strip().lower() == "off":
        return None
    return TrainingCluster(ClusterParams.from_env(max_trainings_from_env()))


def _session_alive(session: str) -> bool:
    from streamlit.runtime import Runtime

    return not Runtime.exists() or Runtime.instance().is_active_session(session)


@st.cache_resource(show_spinner=False)
def orphan_watch() -> OrphanWatch:
    """Cancels trainings whose browser tab has been closed for 30 s (one watch per server)."""
    return OrphanWatch(_session_alive).start()


@st.cache_resource(show_spinner="Loading the dataset (once per server)…", max_entries=3)
def shared_dataset(name: str) -> Dataset:
    """A dataset as read-only uint8 arrays, loaded once per server and shared by every session."""
    return load_dataset(name)


def present_datasets() -> list[str]:
    """Datasets whose files are present (MNIST also when Keras can download it)."""
    where = available_datasets()
    return [name for name in DATASET_NAMES if where.get(name)]


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return f"{state.TRAIN_FORM}{name}"


def _prime(name: str, *, key: str | None = None, valid: Callable[[Any], bool] = lambda v: True) -> str:
    """The widget key of setting ``name``, holding its last value (kept across visits to other pages)."""
    key = key or _key(name)
    saved = st.session_state.setdefault(state.TRAIN_SAVED, {})
    if key not in st.session_state or not valid(st.session_state[key]):
        value = saved.get(name, _FORM_DEFAULTS.get(name))
        st.session_state[key] = value if valid(value) else _FORM_DEFAULTS.get(name)
    return key


def _remember(values: dict[str, Any]) -> None:
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


def _arch_label(name: str) -> str:
    return "Custom: build your own" if name == CUSTOM else PRESETS[name].title


def _limit_label(n: int) -> str:
    return "all" if n == 0 else f"{n:,}"


def _lr_label(value: float) -> str:
    return f"{value:g}"


def mode_ui(*, disabled: bool = False) -> str:
    """One model or an experiment (several configurations). Returns ``ONE`` or ``EXPERIMENT``."""
    key = _prime("mode", key=state.TRAIN_MODE, valid=lambda v: v in (ONE, EXPERIMENT))
    mode = st.radio(
        "What to train", [ONE, EXPERIMENT], key=key, horizontal=True, disabled=disabled,
        format_func={ONE: "One model", EXPERIMENT: "An experiment"}.get, label_visibility="collapsed",
    )
    _remember({"mode": mode})
    return mode


def _dataset_ui(datasets: list[str], *, disabled: bool) -> str:
    key = _prime("dataset", valid=lambda v: v in datasets)
    dataset = st.selectbox(
        "Dataset", datasets, key=key, format_func=_dataset_label, disabled=disabled,
        help="Only datasets whose files are present are listed. EMNIST splits appear when their files "
        "are in the data folder (HDR_DATA_DIR); the output layer is sized to the number of classes.",
    )
    return dataset


def _train_limit_ui(name: str, *, disabled: bool) -> int:
    key = _prime(name, valid=lambda v: v in _TRAIN_LIMITS)
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
    values: dict[str, Any] = {}
    values["dataset"] = _dataset_ui(datasets, disabled=disabled)
    archs = [*PRESETS, CUSTOM]
    key = _prime("arch", valid=lambda v: v in archs)
    values["arch"] = st.selectbox("Architecture", archs, key=key, format_func=_arch_label,
                                  on_change=_apply_recipe, disabled=disabled,
                                  help="Picking one also fills in the training recipe it is known for.")
    if values["arch"] == CUSTOM:
        with st.container(border=True):
            c1, c2 = st.columns(2)
            values["conv_blocks"] = c1.slider("Conv blocks", 0, 3, key=_prime("conv_blocks"), disabled=disabled,
                                              help="Each block: 3x3 convolution + ReLU, then 2x2 max-pooling. "
                                              "0 gives a plain multilayer perceptron.")
            values["filters"] = c2.select_slider("Filters", _FILTERS, key=_prime("filters"), disabled=disabled,
                                                 help="Filters of the first block; doubled in each later block.")
            values["dense_units"] = c1.select_slider("Dense units", _DENSE_UNITS, key=_prime("dense_units"),
                                                     disabled=disabled, help="Width of the hidden dense layer.")
            values["dropout"] = c2.slider("Dropout", 0.0, 0.6, step=0.05, key=_prime("dropout"), disabled=disabled,
                                          help="Share of activations dropped at random while training.")
            values["batch_norm"] = st.checkbox("Batch normalisation", key=_prime("batch_norm"), disabled=disabled)
    else:
        preset = PRESETS[values["arch"]]
        source = f" Reproduces the {preset.reference}." if preset.reference else ""
        st.caption(preset.description + source)

    c1, c2 = st.columns(2)
    values["epochs"] = c1.number_input("Epochs", 1, 50, step=1, key=_prime("epochs"), disabled=disabled,
                                       help="Passes over the training images (early stopping or Stop may end sooner).")
    bs_key = _prime("batch_size")
    values["batch_size"] = c2.selectbox("Batch size", _with(_BATCH_SIZES, st.session_state[bs_key]), key=bs_key,
                                        disabled=disabled)
    lr_key = _prime("learning_rate")
    values["learning_rate"] = c1.select_slider("Learning rate", _with(_LEARNING_RATES, st.session_state[lr_key]),
                                               key=lr_key, format_func=_lr_label, disabled=disabled)
    l2_key = _prime("l2")
    values["l2"] = c2.select_slider("L2 penalty", _with(_L2_VALUES, st.session_state[l2_key]), key=l2_key,
                                    format_func=lambda v: "off" if v == 0 else f"{v:g}", disabled=disabled,
                                    help="Weight decay on every kernel: keeps weights small against overfitting.")
    values["train_limit"] = _train_limit_ui("train_limit", disabled=disabled)

    with st.expander("Augmentation: vary the training digits", expanded=False):
        values["rotation"] = st.slider("Rotation (± degrees)", 0.0, 30.0, step=1.0, key=_prime("rotation"),
                                       disabled=disabled)
        values["shift"] = st.slider("Shift (± share of the image)", 0.0, 0.25, step=0.01, key=_prime("shift"),
                                    disabled=disabled)
        values["zoom"] = st.slider("Zoom (± share of the size)", 0.0, 0.3, step=0.01, key=_prime("zoom"),
                                   disabled=disabled)
        values["thickness"] = st.slider("Stroke thickness change (probability)", 0.0, 1.0, step=0.1,
                                        key=_prime("thickness"), disabled=disabled)
        values["blur"] = st.slider("Blur (probability)", 0.0, 1.0, step=0.1, key=_prime("blur"), disabled=disabled)
        values["slant"] = st.slider("Slant (± horizontal shear)", 0.0, 0.5, step=0.05, key=_prime("slant"),
                                    disabled=disabled, help="Leans digits left or right, as italic handwriting does.")
        values["elastic"] = st.slider("Wobbly strokes (probability)", 0.0, 1.0, step=0.1, key=_prime("elastic"),
                                      disabled=disabled,
                                      help="An elastic distortion that bends strokes a little, as a hand does.")
        values["renormalize"] = st.slider(
            "Render like a photo (probability)", 0.0, 1.0, step=0.1, key=_prime("renormalize"), disabled=disabled,
            help="Redraws the digit as the Upload page renders a photo or scan: black and white, even strokes, "
            "fit to 20x20 and centred. Helps the model read real input.")
        digits = _is_digits(values["dataset"])
        values["style"] = st.slider(
            "Continental 1s and 7s (probability)", 0.0, 1.0, step=0.1, key=_prime("style"),
            disabled=disabled or not digits,
            help="Swaps a 7 for a crossed 7 and a 1 for one with a long up-stroke, as much of Europe writes them."
            + ("" if digits else " Digit datasets only."))
    with st.expander("More settings", expanded=False):
        values["early_stopping"] = st.checkbox("Early stopping", key=_prime("early_stopping"), disabled=disabled,
                                               help="Stop when validation accuracy has not improved for a few epochs.")
        values["patience"] = st.slider("Patience (epochs)", 1, 5, key=_prime("patience"),
                                       disabled=disabled or not values["early_stopping"])
        opt_key = _prime("optimizer", valid=lambda v: v in _OPTIMIZERS)
        values["optimizer"] = st.selectbox("Optimizer", list(_OPTIMIZERS), key=opt_key, format_func=_OPTIMIZERS.get,
                                           disabled=disabled)
        sched_key = _prime("lr_schedule", valid=lambda v: v in _SCHEDULES)
        values["lr_schedule"] = st.selectbox("Learning-rate schedule", list(_SCHEDULES), key=sched_key,
                                             format_func=_SCHEDULES.get, disabled=disabled)
        values["label_smoothing"] = st.slider("Label smoothing", 0.0, 0.2, step=0.01, key=_prime("label_smoothing"),
                                              disabled=disabled)
        values["seed"] = st.number_input("Random seed", 0, 2**31 - 1, step=1, key=_prime("seed"), disabled=disabled)
    _remember(values)
    try:
        config = build_config(values)
    except ValueError as error:
        st.error(str(error))
        return []
    return [(_arch_short(config.arch), config)]


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


# -- experiments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCase:
    """One case of the blog's experiment grid."""

    dense_layers: int  # 3 or 4, counting the output layer as the blog did
    l2: bool  # L2 0.01 on the first convolution
    rotation: bool  # rotation augmentation of up to 10 degrees

    @property
    def label(self) -> str:
        parts = [f"{self.dense_layers} dense"]
        if self.l2:
            parts.append("L2")
        if self.rotation:
            parts.append("rot 10°")
        return " · ".join(parts)

    @property
    def preset(self) -> str:
        """The experiment case's preset (its network; the rotation cases' recipe rotates the digits)."""
        name = "blog-cnn" + ("-4dense" if self.dense_layers == 4 else "") + ("-l2" if self.l2 else "")
        return name + ("-rot" if self.rotation else "")

    @property
    def case(self) -> int:
        """The case's number in the experiments project (1-8)."""
        return EXPERIMENT_CASES.index(self.preset) + 1


def blog_grid(*, vary_dense: bool = True, vary_l2: bool = True, vary_rotation: bool = True,
              dataset: str = "mnist", epochs: int = 2, train_limit: int | None = 5000,
              ) -> tuple[list[tuple[str, TrainConfig]], list[str]]:
    """The blog's experiments: 3 or 4 dense layers x L2 on the first conv or not x rotation or not.

    Each varied factor doubles the cases (all three: the experiments' eight); a factor not varied stays at
    the baseline (3 dense, no L2, no rotation). Every case is its preset's recipe (the experiments': Adam,
    batch 32) with ``epochs`` and ``train_limit`` as chosen.

    Returns
    -------
    runs : list of (label, TrainConfig)
    missing : list of str
        Always empty: every case has its preset (kept for callers that list skipped cases).
    """
    runs = []
    for dense in (3, 4) if vary_dense else (3,):
        for l2 in (False, True) if vary_l2 else (False,):
            for rotation in (False, True) if vary_rotation else (False,):
                case = GridCase(dense, l2, rotation)
                config = TrainConfig.from_preset(case.preset, dataset=dataset, epochs=epochs,
                                                 train_limit=train_limit)
                runs.append((f"case {case.case}: {case.label}", config))
    runs.sort(key=lambda run: int(run[0].split()[1].rstrip(":")))
    return runs, []


def experiment_cases() -> list[tuple[str, TrainConfig]]:
    """The experiments project's eight cases as it ran them: each case's recipe on all of MNIST for 20 epochs
    (case 1 is the blog CNN, whose own recipe is 5 epochs)."""
    runs = []
    for number, name in enumerate(EXPERIMENT_CASES, 1):
        case = GridCase(4 if "4dense" in name else 3, "-l2" in name, name.endswith("-rot"))
        runs.append((f"case {number}: {case.label}", TrainConfig.from_preset(name, epochs=EXPERIMENT_EPOCHS)))
    return runs


def reported_figure(config: TrainConfig) -> str | None:
    """What the reference project reports for ``config``'s recipe, when the run is exactly that recipe
    (an experiment case for the experiments' 20 epochs, or a reference preset's own recipe) on MNIST."""
    arch = config.arch
    if not isinstance(arch, str) or arch not in PRESETS or config.dataset != "mnist" or config.train_limit:
        return None
    if arch in EXPERIMENT_REPORTED and config == TrainConfig.from_preset(arch, epochs=EXPERIMENT_EPOCHS):
        return EXPERIMENT_REPORTED[arch]
    return PRESETS[arch].reported if config == TrainConfig.from_preset(arch) else None


def experiment_form_ui(*, disabled: bool = False) -> list[tuple[str, TrainConfig]]:
    """Several configurations to train one after the other and compare. Returns ``[(label, config)]``."""
    datasets = present_datasets()
    if not datasets:
        st.error("No dataset found. Put mnist.npz (or the MNIST IDX files) in the folder HDR_DATA_DIR names.")
        return []
    kinds = {"cases": "The experiments project's eight cases, as it ran them", "grid": "The blog's experiment grid",
             "archs": "Architectures side by side"}
    kind = st.radio("Experiment", list(kinds), key=_prime("exp_kind", valid=lambda v: v in kinds),
                    format_func=kinds.get, disabled=disabled)
    if kind == "cases":
        runs = experiment_cases()
        _remember({"exp_kind": kind})
        st.caption(f"The eight cases one after the other, each with the experiments' recipe: all of MNIST, "
                   f"{EXPERIMENT_EPOCHS} epochs, Adam, 30% held out. At the end the table and plot put the test "
                   "accuracy the project reports beside ours. On this server's CPUs this takes well over an hour.")
        st.caption(f"{len(runs)} runs, trained one after the other.")
        return runs
    dataset = _dataset_ui(datasets, disabled=disabled)
    c1, c2 = st.columns(2)
    epochs = c1.number_input("Epochs per run", 1, 50, step=1, key=_prime("exp_epochs"), disabled=disabled)
    with c2:
        train_limit = _train_limit_ui("exp_train_limit", disabled=disabled)
    values: dict[str, Any] = {"exp_kind": kind, "dataset": dataset, "exp_epochs": epochs,
                              "exp_train_limit": train_limit}
    if kind == "grid":
        st.caption("The blog CNN (three conv64 blocks, Adam, batch 32), varying up to three things at once. "
                   "Each ticked factor doubles the runs; all three give the experiments' eight cases, here with "
                   "the epochs and images you choose.")
        values["exp_dense"] = st.checkbox("Dense layers: 3 and 4", key=_prime("exp_dense"), disabled=disabled)
        values["exp_l2"] = st.checkbox("L2 0.01 on the first convolution: off and on", key=_prime("exp_l2"),
                                       disabled=disabled)
        values["exp_rotation"] = st.checkbox("Rotation augmentation (±10°): off and on", key=_prime("exp_rotation"),
                                             disabled=disabled)
        _remember(values)
        runs, missing = blog_grid(vary_dense=values["exp_dense"], vary_l2=values["exp_l2"],
                                  vary_rotation=values["exp_rotation"], dataset=dataset, epochs=int(epochs),
                                  train_limit=int(train_limit) or None)
        if missing:
            st.caption(f"Skipped (no preset for this architecture in this version): {', '.join(missing)}.")
    else:
        presets = list(PRESETS)
        key = _prime("exp_archs", valid=lambda v: isinstance(v, list) and all(a in presets for a in v))
        archs = st.multiselect("Architectures", presets, key=key, format_func=_arch_label, disabled=disabled,
                               help="Each trains with its own reference recipe; epochs and images are shared.")
        values["exp_archs"] = archs
        _remember(values)
        runs = [(name, TrainConfig.from_preset(name, dataset=dataset, epochs=int(epochs),
                                               train_limit=int(train_limit) or None)) for name in archs]
    st.caption(f"{len(runs)} run{'s' if len(runs) != 1 else ''}, trained one after the other.")
    return runs


def start_ui(runs: list[tuple[str, TrainConfig]], *, busy: bool) -> None:
    """The Train button (starts a job) and the command line that repeats a single run."""
    label = "Train" if len(runs) <= 1 else f"Train {len(runs)} runs"
    clicked = st.button(label, type="primary", icon=":material/play_arrow:", disabled=busy or not runs,
                        use_container_width=True, key="train_start")
    if clicked and not busy and runs:  # a disabled button's click from a crafted client is ignored too
        job = TrainingJob(runs, slots=training_slots(), load_dataset=load_dataset, cluster=training_cluster(),
                          owner=session_id())
        orphan_watch().watch(job)
        st.session_state[state.TRAINING_JOB] = job.start()
        st.rerun()
    if len(runs) == 1:
        with st.expander("The same run from the command line", expanded=False):
            st.code(runs[0][1].to_command(out="runs/my-model"), language="bash", wrap_lines=True)
            st.caption("The page and the command line train through the same function, hdr_core.train.train.")


# --------------------------------------------------------------------------------------------------
# While training
# --------------------------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


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
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": TEXT},
        "hovermode": "closest",
    }
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


def _current_epoch(snap: JobSnapshot) -> int:
    """1-based number of the epoch under way (or just finished)."""
    return min(snap.epoch + 1, snap.total_epochs) if snap.batch else max(snap.epoch, 1)


def _status_line(snap: JobSnapshot) -> str:
    parts = [f"Epoch {_current_epoch(snap)}/{snap.total_epochs}"]
    if snap.batches_per_epoch:
        parts.append(f"batch {snap.batch}/{snap.batches_per_epoch}" if snap.batch else "batch –")
    parts.append(f"{_duration(snap.elapsed)} elapsed")
    if snap.eta is not None:
        parts.append(f"about {_duration(snap.eta)} left")
    return " · ".join(parts)


def _new_finished(job: TrainingJob) -> bool:
    registered = st.session_state.get(state.TRAIN_REGISTERED) or {}
    return any(run.run_id not in registered for run in job.finished_runs())


@st.fragment(run_every=1.0)
def live_ui() -> None:
    """Progress, live curves and the Stop button, redrawn every second while the job is active."""
    job: TrainingJob | None = st.session_state.get(state.TRAINING_JOB)
    if job is None:
        return
    snap = job.snapshot()
    if snap.done or _new_finished(job):
        st.rerun()  # a full rerun shows the results and adds the model to the sidebar picker
    job_status_ui(snap)


def job_status_ui(snap: JobSnapshot) -> None:
    """The live view of one snapshot (the fragment's body, usable on its own)."""
    job: TrainingJob | None = st.session_state.get(state.TRAINING_JOB)
    title = f"Training **{snap.label}**"
    if snap.n_runs > 1:
        title += f" · run {snap.run_index + 1} of {snap.n_runs}"
    st.markdown(f"#### {title}")
    if snap.status == WAITING:
        slots = training_slots()
        ahead = snap.waiting_ahead or 0
        line = "you are next" if ahead == 0 else f"{ahead} ahead of you"
        wait = f" Expected wait: about {_duration(snap.waiting_seconds)}." if snap.waiting_seconds else ""
        st.info(
            f"**Waiting for a free slot ({line}).** This server trains at most {slots.limit} model"
            f"{'s' if slots.limit != 1 else ''} at a time so every training stays fast; yours starts by itself."
            f"{wait}",
            icon=":material/hourglass_top:",
        )
        st.progress(0.0, text=f"place in the queue: {ahead + 1}")
    elif not snap.batches_per_epoch:
        st.progress(0.0, text=f"{snap.phase}…")
    else:
        text = _status_line(snap) if snap.phase == "Training" else f"{snap.phase}…"
        st.progress(snap.fraction, text=text)
        c1, c2, c3, c4 = st.columns(4)
        train_acc = snap.batch_accuracy[-1] if snap.batch_accuracy else None
        val = snap.history.get("val_accuracy") or []
        c1.metric("Epoch", f"{_current_epoch(snap)} / {snap.total_epochs}")
        c2.metric("Train accuracy", f"{train_acc:.1%}" if train_acc is not None else "–")
        c3.metric("Val accuracy", f"{val[-1]:.1%}" if val else "–")
        c4.metric("Time left", _duration(snap.eta) if snap.eta is not None else "…")
        st.plotly_chart(
            curves_figure(snap.history, batch_x=snap.batch_x, batch_loss=snap.batch_loss,
                          batch_accuracy=snap.batch_accuracy, total_epochs=snap.total_epochs),
            config=PLOTLY_CONFIG, key="train_live_curves",
        )
        st.caption("Train accuracy: the running average over this epoch's batches so far. Val accuracy: on "
                   "images held out of training, measured after each epoch.")
    if snap.phase.startswith("Testing"):
        return  # training is over; the results follow in a moment
    if snap.stop_requested:
        st.button("Stopping after this batch…", disabled=True, key="train_stop", icon=":material/stop:")
    elif job is not None:
        help_text = ("Ends training now and keeps the model as trained so far"
                     + (" (runs not started yet are skipped)." if snap.n_runs > 1 else "."))
        st.button("Stop and keep the model" if snap.status != WAITING else "Cancel", key="train_stop",
                  icon=":material/stop:", on_click=job.stop, help=help_text)


# --------------------------------------------------------------------------------------------------
# After training
# --------------------------------------------------------------------------------------------------


def _session_card(run: RunRecord) -> dict[str, Any]:
    """The run's model card, with the architecture as one readable line (the picker shows it)."""
    return dict(run.result.card, architecture=describe_arch(run.config.arch))


def sync_finished_runs() -> None:
    """Add the job's newly trained models to the sidebar picker (and the comparison); reruns once if any.

    Cheap and TensorFlow-free when nothing is new, so any page may call it before drawing the sidebar.
    """
    job: TrainingJob | None = st.session_state.get(state.TRAINING_JOB)
    if job is None:
        return
    registered: dict[str, str] = st.session_state.setdefault(state.TRAIN_REGISTERED, {})
    new = [run for run in job.finished_runs() if run.run_id not in registered]
    if not new:
        return
    runs: list[RunRecord] = st.session_state.setdefault(state.TRAIN_RUNS, [])
    for run in new:
        base = f"my {run.label}" if not run.label.startswith(CUSTOM) else "my custom CNN"
        name = register_session_model(base, run.result.model, _session_card(run), select=len(job.runs) == 1,
                                      lite=run.lite_bytes, keras_bytes=run.keras_bytes)
        registered[run.run_id] = name
        runs.append(run)
    st.session_state[state.TRAIN_VIEW_RUN] = new[-1].run_id
    st.rerun()


def outcome_ui(job: TrainingJob) -> None:
    """One line on how the last job ended."""
    snap = job.snapshot()
    registered = st.session_state.get(state.TRAIN_REGISTERED) or {}
    names = [registered[r.run_id] for r in job.finished_runs() if r.run_id in registered]
    if snap.status == FAILED:
        st.error(f"Training failed: {snap.error}", icon=":material/error:")
    elif snap.status == CANCELLED:
        st.warning(f"{snap.phase}. Nothing was kept; start it again when you are ready.", icon=":material/block:")
    elif snap.status == STOPPED and not names:
        st.warning("Cancelled before training started: nothing was trained.", icon=":material/block:")
    elif snap.status == STOPPED:
        st.warning(f"Stopped. The model as trained so far is kept as **{names[-1]}**.", icon=":material/stop_circle:")
    elif snap.status == FINISHED and len(names) == 1:
        st.success(f"Finished. **{names[0]}** is now selected in the sidebar: try it on the Draw, Upload and "
                   "Look inside pages.", icon=":material/check_circle:")
    elif snap.status == FINISHED:
        st.success(f"Finished {len(names)} runs. Each model is in the sidebar's model picker; compare them below.",
                   icon=":material/check_circle:")


def _run_by_id() -> dict[str, RunRecord]:
    return {run.run_id: run for run in st.session_state.get(state.TRAIN_RUNS) or []}


def selected_run() -> RunRecord | None:
    """The run whose results are shown (a selectbox picks it when the session has several), or None."""
    runs = _run_by_id()
    if not runs:
        return None
    registered = st.session_state.get(state.TRAIN_REGISTERED) or {}
    ids = list(runs)[::-1]  # newest first
    if st.session_state.get(state.TRAIN_VIEW_RUN) not in runs:
        st.session_state[state.TRAIN_VIEW_RUN] = ids[0]
    if len(ids) == 1:
        return runs[ids[0]]
    run_id = st.selectbox("Show the results of", ids, key=state.TRAIN_VIEW_RUN,
                          format_func=lambda i: registered.get(i, runs[i].label))
    return runs[run_id]


def _run_name(run: RunRecord) -> str:
    return (st.session_state.get(state.TRAIN_REGISTERED) or {}).get(run.run_id, run.label)


def summary_ui(run: RunRecord) -> None:
    """Headline test figures and the learning curves of one trained run."""
    result = run.result
    st.markdown(f"### Results · {_run_name(run)}")
    if run.status == STOPPED:
        st.caption(f"Stopped by you during epoch {result.epochs_run}: these are the results of the model "
                   "trained so far.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Test accuracy", f"{result.test_accuracy:.2%}",
              help=f"On the {int(result.confusion.sum()):,} test images, never seen in training.")
    c2.metric("Test loss", f"{result.test_loss:.4f}", help="Mean cross-entropy on the test images.")
    c3.metric("Epochs", f"{result.epochs_run}", f"best: {result.best_epoch}", delta_color="off", delta_arrow="off",
              help="Epochs trained; the weights of the epoch with the best validation accuracy are kept.")
    c1.metric("Training time", _duration(result.train_seconds), help="Time spent fitting (not loading or testing).")
    c2.metric("Parameters", f"{int(result.card.get('params') or run.keras_model().count_params()):,}")
    c3.metric("Training images", f"{run.n_train:,}" if run.n_train else "–",
              help="After holding some out for validation.")
    st.plotly_chart(curves_figure(result.history, batch_x=run.batch_x, batch_loss=run.batch_loss,
                                  batch_accuracy=run.batch_accuracy, total_epochs=result.epochs_run),
                    config=PLOTLY_CONFIG, key=f"train_curves_{run.run_id}")
    verdict, under_trained = training_verdict(result.test_accuracy, result.history, n_train=run.n_train,
                                              batch_size=run.config.batch_size, epochs=result.epochs_run)
    (st.warning if under_trained else st.caption)(verdict)


def details_ui(run: RunRecord) -> None:
    """Per-class accuracy, the confusion matrix with its images, the mistakes, the layers and downloads."""
    result = run.result
    per_class, confusion, mistakes, layers = st.tabs(
        [":material/bar_chart: Per class", ":material/grid_on: Confusion matrix",
         ":material/error: Mistakes", ":material/layers: Layers"])
    with per_class:
        st.plotly_chart(per_class_figure(result.per_class, result.class_names), config=PLOTLY_CONFIG,
                        key=f"train_per_class_{run.run_id}")
        worst = int(np.nanargmin(result.per_class))
        st.caption(f"Test accuracy of each class. Hardest: **{result.class_names[worst]}** "
                   f"({result.per_class[worst]:.1%} right).")
    with confusion:
        _confusion_ui(run, run.run_id)
    with mistakes:
        _mistakes_ui(run)
    with layers:
        _layers_ui(run)
    _downloads_ui(run, _run_name(run))


UNDER_TRAINED_BELOW = 0.90  # test accuracy under which a run is called under-trained, whatever its curves


def training_verdict(test_accuracy: float, history: dict[str, list[float]], *, n_train: int, batch_size: int,
                     epochs: int) -> tuple[str, bool]:
    """One honest sentence about a finished run, judged by its numbers, and whether it is under-trained.

    Under ``UNDER_TRAINED_BELOW`` test accuracy the run is called under-trained, with the number of weight
    updates it made (each batch is one); "generalises" is said only of a run that reads its test images well
    and whose training and validation accuracy stay close.
    """
    updates = max(1, math.ceil(n_train / max(1, batch_size))) * epochs if n_train else 0
    if test_accuracy < UNDER_TRAINED_BELOW:
        plural = "s" if epochs != 1 else ""
        made = (f"It made only {updates:,} weight update{'s' if updates != 1 else ''} ({n_train:,} images in "
                f"batches of {batch_size}, {epochs} epoch{plural})") if updates else "It trained little"
        return (f"Under-trained: {test_accuracy:.1%} of the test images read right. {made}; a network needs a few "
                "hundred updates to start reading digits and thousands to read them well. Use more training "
                "images or more epochs."), True
    acc, val = history.get("accuracy") or [], history.get("val_accuracy") or []
    if not acc or not val:
        return f"{test_accuracy:.1%} of the test images read right.", False
    gap = acc[-1] - val[-1]
    if gap > 0.03:
        return (f"Training accuracy is {gap:.1%} above validation accuracy: the network is starting to memorise "
                "its training images (overfitting). More data, augmentation, dropout or L2 help."), False
    if gap < -0.03:
        return ("Validation accuracy is above training accuracy: the training figure averages the whole epoch, "
                "while the network kept improving during it (and dropout or augmentation make training harder)."), False
    return (f"Training and validation accuracy stay close and {test_accuracy:.1%} of the test images read right: "
            "the network generalises to images it has not seen."), False


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
                        "fixedrange": True, "title": {"text": "test accuracy"}},
              "plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT},
              "showlegend": False}
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


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
              "plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT},
              "shapes": shapes, "showlegend": False, "clickmode": "event+select", "dragmode": False}
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


def _cell_label(cell: tuple[int, int], result) -> str:
    t, p = cell
    count = int(result.confusion[t, p])
    names = result.class_names
    what = "right" if t == p else f"predicted {names[p]}"
    return f"true {names[t]} · {what} ({count:,} image{'s' if count != 1 else ''})"


def _confusion_ui(run: RunRecord, run_id: str) -> None:
    result = run.result
    counts = result.confusion
    n = counts.shape[0]
    cells = [(t, p) for t in range(n) for p in range(n) if counts[t, p]]
    mistakes = sorted((c for c in cells if c[0] != c[1]), key=lambda c: -counts[c])
    options = mistakes + sorted(c for c in cells if c[0] == c[1])
    cell_key = f"{state.TRAIN_CELL}{run_id}"
    chart_key = f"{state.TRAIN_CONFUSION}{run_id}"
    if not options:
        st.info("No test images.")
        return
    if st.session_state.get(cell_key) not in options:
        st.session_state[cell_key] = options[0]

    def picked() -> None:  # a click on the chart picks the cell in the selectbox
        points = st.session_state[chart_key].selection.get("points") or []
        if points:
            cell = (int(round(points[0]["y"])), int(round(points[0]["x"])))
            if cell in options:
                st.session_state[cell_key] = cell

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.plotly_chart(confusion_figure(counts, result.class_names, selected=st.session_state[cell_key]),
                        config=PLOTLY_CONFIG, key=chart_key, on_select=picked, selection_mode="points")
        st.caption("Rows: the true class; columns: what the network said. The diagonal is right, everything "
                   "else a mistake. Click a cell to see its test images.")
    with right:
        cell = st.selectbox("Cell", options, key=cell_key, format_func=lambda c: _cell_label(c, result))
        images, y_test = _test_split(run)
        if run.predictions is None or images is None:
            st.info("The test images are not available.")
            return
        where = np.flatnonzero((y_test == cell[0]) & (run.predictions == cell[1]))
        st.caption(f"{len(where):,} test image{'s' if len(where) != 1 else ''}"
                   + (f"; the first {CELL_IMAGES} shown" if len(where) > CELL_IMAGES else "")
                   + ", each with how sure the network was of its answer.")
        _image_grid(images, where[:CELL_IMAGES], run, columns=5, captions="confidence")


def _test_split(run: RunRecord) -> tuple[np.ndarray | None, np.ndarray | None]:
    try:
        data = shared_dataset(run.config.dataset)
    except HdrError:
        return None, None
    if run.predictions is None or len(data.y_test) != len(run.predictions):
        return None, None
    return data.x_test, data.y_test


def _image_grid(images: np.ndarray, indices: np.ndarray, run: RunRecord, *, columns: int,
                captions: str = "labels") -> None:
    """Test digits in a grid; captions "true 4 · predicted 9" (``labels``) or the confidence (``confidence``)."""
    names = run.result.class_names
    _, y_test = _test_split(run)
    for start in range(0, len(indices), columns):
        cols = st.columns(columns)
        for col, index in zip(cols, indices[start:start + columns]):
            true, said = names[int(y_test[index])], names[int(run.predictions[index])]
            if captions == "confidence":
                caption = f"{float(run.confidence[index]):.0%}"
            else:
                caption = f"true {true} · predicted {said}" if true != said else f"{true} ✓"
            col.image(enlarge(images[index], 4), caption=caption, width="stretch")


def _mistakes_ui(run: RunRecord) -> None:
    images, y_test = _test_split(run)
    if images is None or run.predictions is None:
        st.info("The test images are not available.")
        return
    wrong = np.flatnonzero(run.predictions != y_test)
    if not len(wrong):
        st.success("No test image was misclassified.")
        return
    order = wrong[np.argsort(-run.confidence[wrong], kind="stable")][:GALLERY_SIZE]
    st.caption(f"{len(wrong):,} of {len(y_test):,} test images are misclassified. The {len(order)} the network "
               "was most sure about are shown first: some are genuinely ambiguous, some mislabelled.")
    _image_grid(images, order, run, columns=GALLERY_COLUMNS)


def _layers_ui(run: RunRecord) -> None:
    from hdr_core.visualize import layer_table

    rows = run.layers or layer_table(run.keras_model())  # a worker's run brings its table: no TensorFlow here
    table = [{"layer": r.name, "type": r.kind, "output shape": str(tuple(r.output_shape)).replace("None", "N"),
              "activation": r.activation or "", "parameters": r.params} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    total = sum(r.params for r in rows)
    st.caption(f"{len(rows)} layers, {total:,} parameters. Output shapes: N is the batch size. "
               f"Architecture: {describe_arch(run.config.arch)}.")


def _downloads_ui(run: RunRecord, name: str) -> None:
    stem = "hdr-" + "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
    c1, c2, c3 = st.columns([1, 1, 2])
    if run.keras_bytes:
        c1.download_button("Download .keras", run.keras_bytes, file_name=f"{stem}.keras",
                           mime="application/octet-stream", icon=":material/download:", key=f"train_dl_{run.run_id}",
                           width="stretch")
    card = dict(run.result.card, name=stem, file=f"{stem}.keras")
    c2.download_button("Model card (.json)", json.dumps(card, indent=2), file_name=f"{stem}.json",
                       mime="application/json", icon=":material/description:", key=f"train_card_{run.run_id}",
                       width="stretch")
    c3.page_link("pages/draw.py", label="Try it on the Draw page", icon=":material/draw:")


# --------------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------------

_COMPARE_METRICS = {"val_accuracy": "validation accuracy", "val_loss": "validation loss",
                    "accuracy": "training accuracy", "loss": "training loss"}
_PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
            "#4b5563", "#65a30d")


def comparison_table(runs: list[RunRecord], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per run: its settings and results."""
    rows = []
    for run in runs:
        r, c = run.result, run.config
        augment = ", ".join(f"{k} {v:g}" for k, v in (("rot", c.rotation), ("shift", c.shift), ("zoom", c.zoom)) if v)
        val = r.history.get("val_accuracy") or []
        rows.append({
            "model": names.get(run.run_id, run.label),
            "test accuracy": r.test_accuracy,
            "best val accuracy": max(val) if val else None,
            "test loss": r.test_loss,
            "time (s)": round(r.train_seconds, 1),
            "epochs": r.epochs_run,
            "images": run.n_train or None,
            "architecture": describe_arch(c.arch),
            "augmentation": augment or "none",
            "L2": c.l2 or (0.01 if "l2" in str(c.arch) else 0.0),
            "batch": c.batch_size,
            "learning rate": c.learning_rate,
            "parameters": int(r.card.get("params") or 0),
            "dataset": c.dataset,
            "reference reports": reported_figure(c),
        })
    return rows


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
              "legend": {"orientation": "h", "y": 1.12}, "plot_bgcolor": "rgba(0,0,0,0)",
              "paper_bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT}}
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


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
              "yaxis": {"title": {"text": _COMPARE_METRICS[metric]}, "tickformat": ".1%" if accuracy else None,
                        "gridcolor": "#e2e8f0"},
              "legend": {"orientation": "v", "x": 1.02, "y": 1}, "plot_bgcolor": "rgba(0,0,0,0)",
              "paper_bgcolor": "rgba(0,0,0,0)", "font": {"color": TEXT}}
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False, _validate=False)


def _clear_comparison() -> None:
    st.session_state[state.TRAIN_RUNS] = []
    st.session_state.pop(state.TRAIN_VIEW_RUN, None)


def comparison_ui() -> None:
    """Every run of this session in one table and one plot (shown from two runs on)."""
    runs: list[RunRecord] = st.session_state.get(state.TRAIN_RUNS) or []
    if len(runs) < 2:
        return
    names = st.session_state.get(state.TRAIN_REGISTERED) or {}
    st.markdown("### Compare runs")
    rows = comparison_table(runs, names)
    best = max(range(len(rows)), key=lambda i: rows[i]["test accuracy"])
    st.dataframe(
        rows, hide_index=True, width="stretch",
        column_config={
            "test accuracy": st.column_config.ProgressColumn("test accuracy", format="percent", min_value=0.0,
                                                             max_value=1.0),
            "best val accuracy": st.column_config.NumberColumn(format="percent"),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
            "learning rate": st.column_config.NumberColumn(format="%g"),
            "L2": st.column_config.NumberColumn(format="%g"),
            "parameters": st.column_config.NumberColumn(format="localized"),
            "images": st.column_config.NumberColumn(format="localized"),
        },
    )
    st.caption(f"Best test accuracy: **{rows[best]['model']}** ({rows[best]['test accuracy']:.2%}).")
    key = _prime("compare_metric", key=state.TRAIN_COMPARE_METRIC, valid=lambda v: v in _COMPARE_METRICS)
    metric = st.segmented_control("Plot", list(_COMPARE_METRICS), key=key, format_func=_COMPARE_METRICS.get,
                                  required=True) or "val_accuracy"
    _remember({"compare_metric": metric})
    st.plotly_chart(comparison_figure(runs, names, metric), config=PLOTLY_CONFIG, key="train_compare_plot")
    reported = reported_figure_chart(rows)
    if reported is not None:
        st.markdown("**Beside what the reference projects report**")
        st.plotly_chart(reported, config=PLOTLY_CONFIG, key="train_reported_plot")
        st.caption("Only runs that used a reference recipe exactly (all of MNIST, its epochs) have a reported "
                   "figure. Both sides are single runs, so a few tenths of a point either way is chance. The EMNIST "
                   "project's figure is on another test set (EMNIST Digits): it is in the table, not the chart.")
    st.button("Clear the comparison", on_click=_clear_comparison, icon=":material/delete_sweep:",
              help="Empties this table; the models stay in the sidebar's model picker.", key="train_clear")


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
