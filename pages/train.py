"""Train: fit a network in this session, watch it learn, then use it on every page.

Training runs in a background job (``hdr_app.train.jobs``) through ``hdr_core.train.train``, the function
behind ``python -m hdr_core train``; the page only reads the settings, starts or stops the job and draws
its progress and results (``hdr_app.train``). The job survives a visit to another page.
"""

from __future__ import annotations

import streamlit as st

from hdr_app import ensure_app_shell, state, train

ensure_app_shell()  # first: makes app.py wrap this page even on a fresh server's first request

st.title("Train a network")
st.caption(
    "Pick a dataset, an architecture and a training recipe, then watch the network learn: the loss falls "
    "and the accuracy climbs after every batch. The trained model joins the sidebar's model picker."
)

train.sync_finished_runs()  # a run that just finished joins the model picker (reruns once)
job = st.session_state.get(state.TRAINING_JOB)
busy = job is not None and job.active

settings, board = st.columns([2, 3], gap="large")
with settings, st.container(border=True):
    mode = train.mode_ui(disabled=busy)
    if mode == train.ONE:
        runs = train.config_form_ui(disabled=busy)
    else:
        runs = train.experiment_form_ui(disabled=busy)
    train.start_ui(runs, busy=busy)

run = None
with board:
    if busy:
        train.live_ui()  # a fragment: redrawn every second until the job ends
    else:
        if job is not None:
            train.outcome_ui(job)
        run = train.selected_run()
        if run is None:
            train.intro_ui()
        else:
            train.summary_ui(run)

if run is not None:
    train.details_ui(run)
train.comparison_ui()
