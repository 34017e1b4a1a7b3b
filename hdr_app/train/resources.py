"""What one server shares between every student's Train page (``st.cache_resource``): the training slots, the Dask cluster, the orphan watch, the datasets (read-only uint8)."""

from __future__ import annotations

import os

import streamlit as st

from hdr_app.orphans import OrphanWatch
from hdr_app.train.jobs import (
    TrainingSlots,
    max_trainings_from_env,
)
from hdr_core.cluster import CLUSTER_ENV, ClusterParams, TrainingCluster
from hdr_core.data import DATASET_NAMES, Dataset, available_datasets, load_dataset


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
