"""While a training runs: its status line and live curves, a fragment redrawn every second."""

from __future__ import annotations

import math

import streamlit as st

from hdr_app import state
from hdr_app.charts import PLOTLY_CONFIG
from hdr_app.train.jobs import (
    WAITING,
    JobSnapshot,
    TrainingJob,
)

from .figures import curves_figure
from .resources import training_slots


def duration_text(seconds: float | None) -> str:
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


def _current_epoch(snap: JobSnapshot) -> int:
    """1-based number of the epoch under way (or just finished)."""
    return min(snap.epoch + 1, snap.total_epochs) if snap.batch else max(snap.epoch, 1)


def _status_line(snap: JobSnapshot) -> str:
    parts = [f"Epoch {_current_epoch(snap)}/{snap.total_epochs}"]
    if snap.batches_per_epoch:
        parts.append(f"batch {snap.batch}/{snap.batches_per_epoch}" if snap.batch else "batch –")
    parts.append(f"{duration_text(snap.elapsed)} elapsed")
    if snap.eta is not None:
        parts.append(f"about {duration_text(snap.eta)} left")
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
        wait = f" Expected wait: about {duration_text(snap.waiting_seconds)}." if snap.waiting_seconds else ""
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
        c4.metric("Time left", duration_text(snap.eta) if snap.eta is not None else "…")
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
