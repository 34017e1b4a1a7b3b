"""Experiments on the Train page: the blog's grid of cases, the experiments project's eight cases as it ran them, the figure each reference reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from hdr_app import state
from hdr_app.tab_memory import session_id
from hdr_app.train.jobs import (
    TrainingJob,
)
from hdr_core.data import load_dataset
from hdr_core.models import (
    EXPERIMENT_CASES,
    EXPERIMENT_EPOCHS,
    EXPERIMENT_REPORTED,
    PRESETS,
)
from hdr_core.train import TrainConfig

from .resources import orphan_watch, present_datasets, training_cluster, training_slots
from .settings import arch_label, dataset_ui, prime, remember, train_limit_ui


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
    kind = st.radio("Experiment", list(kinds), key=prime("exp_kind", valid=lambda v: v in kinds),
                    format_func=kinds.get, disabled=disabled)
    if kind == "cases":
        runs = experiment_cases()
        remember({"exp_kind": kind})
        st.caption(f"The eight cases one after the other, each with the experiments' recipe: all of MNIST, "
                   f"{EXPERIMENT_EPOCHS} epochs, Adam, 30% held out. At the end the table and plot put the test "
                   "accuracy the project reports beside ours. On this server's CPUs this takes well over an hour.")
        st.caption(f"{len(runs)} runs, trained one after the other.")
        return runs
    dataset = dataset_ui(datasets, disabled=disabled)
    c1, c2 = st.columns(2)
    epochs = c1.number_input("Epochs per run", 1, 50, step=1, key=prime("exp_epochs"), disabled=disabled)
    with c2:
        train_limit = train_limit_ui("exp_train_limit", disabled=disabled)
    values: dict[str, Any] = {"exp_kind": kind, "dataset": dataset, "exp_epochs": epochs,
                              "exp_train_limit": train_limit}
    if kind == "grid":
        st.caption("The blog CNN (three conv64 blocks, Adam, batch 32), varying up to three things at once. "
                   "Each ticked factor doubles the runs; all three give the experiments' eight cases, here with "
                   "the epochs and images you choose.")
        values["exp_dense"] = st.checkbox("Dense layers: 3 and 4", key=prime("exp_dense"), disabled=disabled)
        values["exp_l2"] = st.checkbox("L2 0.01 on the first convolution: off and on", key=prime("exp_l2"),
                                       disabled=disabled)
        values["exp_rotation"] = st.checkbox("Rotation augmentation (±10°): off and on", key=prime("exp_rotation"),
                                             disabled=disabled)
        remember(values)
        runs, missing = blog_grid(vary_dense=values["exp_dense"], vary_l2=values["exp_l2"],
                                  vary_rotation=values["exp_rotation"], dataset=dataset, epochs=int(epochs),
                                  train_limit=int(train_limit) or None)
        if missing:
            st.caption(f"Skipped (no preset for this architecture in this version): {', '.join(missing)}.")
    else:
        presets = list(PRESETS)
        key = prime("exp_archs", valid=lambda v: isinstance(v, list) and all(a in presets for a in v))
        archs = st.multiselect("Architectures", presets, key=key, format_func=arch_label, disabled=disabled,
                               help="Each trains with its own reference recipe; epochs and images are shared.")
        values["exp_archs"] = archs
        remember(values)
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
