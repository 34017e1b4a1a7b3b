"""After training: the run joins the model picker; its summary and honest verdict, per-class accuracy, confusion matrix, mistakes, layers and downloads."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import streamlit as st

from hdr_app import state
from hdr_app.charts import PLOTLY_CONFIG, enlarge
from hdr_app.models import register_session_model
from hdr_app.train.jobs import (
    CANCELLED,
    FAILED,
    FINISHED,
    STOPPED,
    RunRecord,
    TrainingJob,
)
from hdr_core.errors import HdrError
from hdr_core.models import (
    describe_arch,
)

from .figures import confusion_figure, curves_figure, per_class_figure
from .live import duration_text
from .resources import shared_dataset
from .settings import CUSTOM

GALLERY_COLUMNS = 6


GALLERY_SIZE = 30  # misclassified digits shown


CELL_IMAGES = 25  # test images shown for a confusion-matrix cell


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
    c1.metric("Training time", duration_text(result.train_seconds), help="Time spent fitting (not loading or testing).")
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
