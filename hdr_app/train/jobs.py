"""Background training jobs for the Train page, and the server-wide limit on concurrent trainings.

No Streamlit here (so it is unit-testable): the page keeps a :class:`TrainingJob` in
``st.session_state`` (one student's job and models are never visible to another) and one
:class:`TrainingSlots` in ``st.cache_resource`` (shared by every session of the server).

A job trains one or more configurations (one for a single model, several for an experiment) one after
the other, each through ``hdr_core.train.train`` -- the same function as ``python -m hdr_core train``.
In the app each run goes to a worker process of a Dask cluster (``hdr_core.cluster.TrainingCluster``),
so a training never slows the web process that answers every student's drawing; the job's daemon
thread here only waits for a slot, relays the worker's progress and Stop, and reads the finished model
back. Without a cluster (a script, the unit tests) the run trains in that thread. Each run waits for a
free slot first (``hdr_app.slots``), so with ``HDR_MAX_TRAININGS=1`` a class of students trains one
model at a time, first come first served, and a waiting student is told their place and expected wait.
:meth:`TrainingJob.cancel` ends a job nobody watches any more (``hdr_app.orphans``).
The page polls :meth:`TrainingJob.snapshot` (a consistent, immutable
copy) about once a second to draw the progress bar and the growing curves; :meth:`TrainingJob.stop`
ends the current run after its current batch, keeping the model trained so far, and cancels the rest.

Keras state while a job is active: ``hdr_app.keras_guard``.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hdr_app.keras_guard import _job_ended, _job_started, active_jobs, guard_keras_session
from hdr_app.slots import TrainingSlots
from hdr_core.cluster import worker_error
from hdr_core.errors import HdrError
from hdr_core.train import TrainConfig, TrainResult

from .records import (  # noqa: F401 - the job's statuses and records stay importable from here
    CANCELLED,
    FAILED,
    FINAL_STATUSES,
    FINISHED,
    PENDING,
    RUNNING,
    STOPPED,
    WAITING,
    JobSnapshot,
    RunRecord,
)

__all__ = [
    "CANCELLED",
    "MAX_TRAININGS_ENV",
    "JobSnapshot",
    "RunRecord",
    "TrainingJob",
    "TrainingSlots",
    "active_jobs",
    "guard_keras_session",
    "max_trainings_from_env",
]

log = logging.getLogger(__name__)

MAX_TRAININGS_ENV = "HDR_MAX_TRAININGS"  # trainings one server runs at once
DEFAULT_MAX_TRAININGS = 1  # one training keeps 2 CPU cores busy; a second would only halve both

_MAX_CURVE_POINTS = 4000  # batch-level curve points kept per run; older ones are thinned out


def max_trainings_from_env(default: int = DEFAULT_MAX_TRAININGS) -> int:
    """The server's limit on concurrent trainings: ``$HDR_MAX_TRAININGS``, or ``default``.

    A value that is not a whole number >= 1 is ignored with a warning (a typo in a server setting
    must not take the Train page down).
    """
    raw = os.environ.get(MAX_TRAININGS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        warnings.warn(f"{MAX_TRAININGS_ENV}={raw!r} is not a whole number >= 1; using {default}", stacklevel=2)
        return default
    return value


class _RunProgress:
    """Receives ``hdr_core.train``'s progress calls for one run (the ProgressCallback protocol)."""

    def __init__(self, job: TrainingJob):
        self._job = job
        self.total_epochs = 0
        self.batches_per_epoch = 0
        self.epoch = 0  # completed epochs
        self.batch = 0  # completed batches in the current epoch
        self.batches_done = 0
        self.started: float | None = None
        self.history: dict[str, list[float]] = {}
        self.batch_x: list[float] = []
        self.batch_loss: list[float] = []
        self.batch_accuracy: list[float] = []
        self._keep_every = 1

    # -- ProgressCallback ----------------------------------------------------------------------
    def on_train_begin(self, total_epochs: int, batches_per_epoch: int) -> None:
        with self._job._lock:
            self.total_epochs, self.batches_per_epoch = int(total_epochs), max(1, int(batches_per_epoch))
            self.started = time.monotonic()
            self._job._phase = "Training"

    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        with self._job._lock:
            self.epoch, self.batch = int(epoch), int(batch) + 1
            self.batches_done += 1
            if self.batches_done % self._keep_every == 0:
                self.batch_x.append(epoch + (batch + 1) / self.batches_per_epoch)
                self.batch_loss.append(float(logs.get("loss", math.nan)))
                self.batch_accuracy.append(float(logs.get("accuracy", math.nan)))
                if len(self.batch_x) > _MAX_CURVE_POINTS:  # thin out: keep every other point
                    del self.batch_x[::2], self.batch_loss[::2], self.batch_accuracy[::2]
                    self._keep_every *= 2

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        with self._job._lock:
            self.epoch = int(epoch) + 1
            self.batch = 0
            for key, value in logs.items():
                self.history.setdefault(key, []).append(float(value))
            if self.epoch >= self.total_epochs or self._job._stop.is_set():
                self._job._phase = "Testing on the test set"

    def should_stop(self) -> bool:
        return self._job._stop.is_set()


class TrainingJob:
    """Train one or more configurations in a background thread, reporting progress as it goes.

    Parameters
    ----------
    runs : TrainConfig, or sequence of (label, TrainConfig)
        What to train; several configurations are trained one after the other (an experiment).
    slots : TrainingSlots, optional
        The server-wide limit to wait on before each run; None trains at once.
    load_dataset : callable, optional
        ``name -> hdr_core.data.Dataset``; default ``hdr_core.data.load_dataset`` (cached per
        process, so every session shares one read-only uint8 copy).
    label : str, optional
        Label of a single configuration (default: its architecture's name).
    export_model : bool
        Also save every trained model as ``.keras`` bytes (``RunRecord.keras_bytes``) for download.
    cluster : hdr_core.cluster.TrainingCluster, optional
        Train every run on a worker of this cluster (the app's way); None trains in this process.
    owner : str, optional
        Who started it (the app puts the browser session's id); read by ``hdr_app.orphans``.
    """

    def __init__(
        self,
        runs: TrainConfig | Sequence[tuple[str, TrainConfig]],
        *,
        slots: TrainingSlots | None = None,
        load_dataset: Callable[[str], Any] | None = None,
        label: str | None = None,
        export_model: bool = True,
        cluster: Any = None,
        owner: str | None = None,
    ):
        if isinstance(runs, TrainConfig):
            runs = [(label or _default_label(runs), runs)]
        runs = list(runs)
        if not runs:
            raise ValueError("a training job needs at least one configuration")
        for item in runs:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], TrainConfig)):
                raise TypeError(f"runs must be TrainConfig or (label, TrainConfig) pairs, got {item!r}")
        if load_dataset is None:
            from hdr_core.data import load_dataset
        self._load_dataset = load_dataset
        self._slots = slots
        self._export = export_model
        self._cluster = cluster
        self.owner = owner
        self._cancelled: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        stamp = f"{time.time_ns():x}"
        self.runs: list[RunRecord] = [
            RunRecord(label=str(name), config=config, run_id=f"{stamp}-{i}") for i, (name, config) in enumerate(runs)
        ]
        self._status = PENDING
        self._phase = "Starting"
        self._error: str | None = None
        self._index = 0
        self._progress = _RunProgress(self)
        self._ahead: int | None = None
        self.created = time.time()

    # -- control -------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        """Start training in a daemon thread (once); returns the job."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this training job has already been started")
            self._thread = threading.Thread(target=self._main, name="hdr-training", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current batch, keeping the model trained so far; skip the runs not started."""
        self._stop.set()

    def cancel(self, reason: str) -> None:
        """Stop as :meth:`stop` does, but keep nothing: nobody will see it (``reason`` says why)."""
        with self._lock:
            self._cancelled = str(reason)
        self._stop.set()

    @property
    def cancelled(self) -> str | None:
        """Why the job was cancelled, or None."""
        with self._lock:
            return self._cancelled

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    @property
    def progress(self) -> _RunProgress:
        """The current run's progress receiver (what ``train`` reports to)."""
        return self._progress

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def active(self) -> bool:
        return not self.done

    def finished_runs(self) -> list[RunRecord]:
        """Runs that produced a model (finished, or stopped with what they had learnt), in order."""
        with self._lock:
            return [r for r in self.runs if r.status in (FINISHED, STOPPED) and r.result is not None]

    def snapshot(self) -> JobSnapshot:
        """A consistent copy of the progress (cheap; call it every second)."""
        with self._lock:
            p = self._progress
            total = p.total_epochs * p.batches_per_epoch
            fraction = min(1.0, p.batches_done / total) if total else 0.0
            elapsed = time.monotonic() - p.started if p.started is not None else 0.0
            eta = None
            if p.batches_done and total and self._status == RUNNING:
                eta = max(0.0, elapsed / p.batches_done * (total - p.batches_done))
            run = self.runs[self._index]
            return JobSnapshot(
                status=self._status,
                phase=self._phase,
                run_index=self._index,
                n_runs=len(self.runs),
                label=run.label,
                epoch=p.epoch,
                total_epochs=p.total_epochs or run.config.epochs,
                batch=p.batch,
                batches_per_epoch=p.batches_per_epoch,
                elapsed=elapsed,
                eta=eta,
                fraction=fraction,
                history={k: list(v) for k, v in p.history.items()},
                batch_x=tuple(p.batch_x),
                batch_loss=tuple(p.batch_loss),
                batch_accuracy=tuple(p.batch_accuracy),
                waiting_ahead=self._ahead if self._status == WAITING else None,
                waiting_seconds=self._wait_estimate() if self._status == WAITING else None,
                stop_requested=self._stop.is_set(),
                error=self._error,
                run_statuses=tuple(r.status for r in self.runs),
            )

    def _wait_estimate(self) -> float | None:
        if self._slots is None or self._ahead is None:
            return None
        return self._slots.expected_wait(self._ahead)

    def remaining_seconds(self) -> float | None:
        """Seconds the current run has left (its ETA), and the estimates of the runs after it; None when unknown."""
        snap = self.snapshot()
        if snap.eta is None:
            return None
        later = [r.config for r in self.runs[snap.run_index + 1:] if r.status == PENDING]
        slots = self._slots
        extra = sum(slots.estimate_seconds(_planned_images(c), c.epochs) for c in later) if slots else 0.0
        return snap.eta + extra

    # -- the thread ----------------------------------------------------------------------------
    def _set(self, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self, f"_{key}", value)

    def _set_run(self, run: RunRecord, status: str) -> None:
        with self._lock:
            run.status = status

    def _main(self) -> None:
        failures = []
        _job_started()
        try:
            if self._cluster is None:  # training here: TensorFlow here (a worker has its own)
                self._set(phase="Starting TensorFlow")  # the server's first training imports it (seconds)
                from hdr_core.quiet import import_tensorflow_quietly

                import_tensorflow_quietly()  # no oneDNN/CUDA lines in the server's log
                guard_keras_session()
            for index, run in enumerate(self.runs):
                if self._stop.is_set():
                    break
                if index:  # the first run reports to the receiver made in __init__ (tests hook into it)
                    with self._lock:
                        self._index = index
                        self._progress = _RunProgress(self)
                self._run(run)
                if run.status == FAILED:
                    failures.append(f"{run.label}: {run.error}" if len(self.runs) > 1 else str(run.error))
        except BaseException as exc:  # noqa: BLE001 - never let the thread die silently
            log.exception("training job crashed")
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            _job_ended()
        with self._lock:
            if self._cancelled:
                self._status, self._phase = CANCELLED, f"Cancelled: {self._cancelled}"
                for run in self.runs:  # nothing is kept: nobody would see it
                    run.result = run.keras_bytes = None
                    if run.status in (FINISHED, STOPPED, RUNNING, WAITING):
                        run.status = CANCELLED
            elif failures:
                self._status, self._error = FAILED, "; ".join(failures)
                self._phase = "Failed"
            elif any(r.status in (STOPPED, PENDING) for r in self.runs):  # stopped, or later runs skipped
                self._status, self._phase = STOPPED, "Stopped"
            else:
                self._status, self._phase = FINISHED, "Finished"

    def _run(self, run: RunRecord) -> None:
        dataset = None
        if self._cluster is None:  # training here: the data is needed here
            try:
                self._set(status=RUNNING, phase="Loading the dataset")
                self._set_run(run, RUNNING)
                dataset = self._load_dataset(run.config.dataset)
            except Exception as exc:  # noqa: BLE001
                return self._fail(run, exc)
        ticket = None
        if self._slots is not None:
            self._set(status=WAITING, phase="Waiting for a free training slot", ahead=None)
            self._set_run(run, WAITING)
            ticket = self._slots.acquire(
                cancelled=self._stop.is_set, on_wait=lambda n: self._set(ahead=n),
                estimate=self._slots.estimate_seconds(_planned_images(run.config), run.config.epochs),
                remaining=self.remaining_seconds)
            if ticket is None:  # stopped while waiting: nothing was trained
                self._set_run(run, PENDING)
                return
        try:
            self._set(status=RUNNING, phase="Building the model", ahead=None)
            self._set_run(run, RUNNING)
            if self._cluster is not None:
                result = self._train_on_cluster(run)
            else:
                from hdr_core.train import train

                result = train(run.config, progress=self._progress, dataset=dataset)
                self._set(phase="Testing on the test set")
                self._analyse(run, result, dataset)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message on the page
            return self._fail(run, exc)
        finally:
            if ticket is not None:
                self._slots.release(ticket)
        if self._slots is not None and result.train_seconds > 0:
            self._slots.learn(result.train_seconds, int(result.card.get("n_train") or 0) * max(1, result.epochs_run))
        with self._lock:
            p = self._progress
            run.batch_x, run.batch_loss = tuple(p.batch_x), tuple(p.batch_loss)
            run.batch_accuracy = tuple(p.batch_accuracy)
            run.result = result
            run.status = STOPPED if result.stopped and self._stop.is_set() else FINISHED

    def _train_on_cluster(self, run: RunRecord) -> TrainResult:
        """Train ``run`` on a cluster worker, relaying its progress and Stop; the model read back here."""
        cluster = self._cluster
        self._set(phase="Starting the training workers" if not cluster.started else "Sending the training to a worker")
        key = run.run_id
        future = cluster.submit(run.config, key, export=True)
        queue, stop_event = cluster.progress_queue(key), cluster.stop_event(key)
        self._set(phase="Building the model")
        stop_sent = False
        try:
            while True:
                if self._stop.is_set() and not stop_sent:
                    stop_event.set()
                    stop_sent = True
                finished = future.done()  # asked before draining: a finished worker has sent everything
                for events in queue.get(batch=True):
                    self._relay(events)
                if finished:
                    break
                time.sleep(0.1)
            remote = future.result()
        except Exception as exc:
            raise worker_error(exc) from exc
        else:
            future.release()  # the scheduler forgets the result (it is here now)
        finally:
            if not future.done():
                future.cancel()
            try:
                queue.close()
            except Exception:  # noqa: BLE001 - an older distributed has no close()
                pass
        if self._cancelled:
            return remote.result  # nobody will see it
        run.predictions, run.confidence = remote.predictions, remote.confidence
        run.n_train = int(remote.result.card.get("n_train") or 0)
        run.keras_bytes = remote.keras_bytes  # kept even without export: the Keras model is read from it
        run.lite_bytes, run.layers, run.worker = remote.lite_bytes, list(remote.layers), remote.worker
        if remote.lite_bytes is None:  # no LiteRT file: read the Keras model here (imports TensorFlow)
            self._set(phase="Reading the trained model")
            return remote.train_result()
        return remote.result  # model None: read from keras_bytes only when a page needs Keras

    def _relay(self, events: list[tuple]) -> None:
        """Replay a worker's progress events into this job's progress receiver."""
        p = self._progress
        for event in events:
            kind = event[0]
            if kind == "begin":
                p.on_train_begin(event[1], event[2])
            elif kind == "batch":
                p.on_batch_end(event[1], event[2], {"loss": event[3], "accuracy": event[4]})
            elif kind == "epoch":
                p.on_epoch_end(event[1], event[2])
            elif kind == "testing":
                self._set(phase="Testing on the test set")

    def _analyse(self, run: RunRecord, result: TrainResult, dataset: Any) -> None:
        """Test-set predictions (for the confusion matrix's images and the gallery) and the file."""
        from hdr_core.train import probabilities, save_model

        probs = probabilities(result.model, dataset.x_test)  # (N, n_classes) float32
        if result.calibration is not None:  # the confidence the pages show is the calibrated one
            from hdr_core.calibration import with_temperature

            probs = with_temperature(probs, result.calibration.temperature)
        run.predictions = probs.argmax(axis=1).astype(np.int16)
        run.confidence = probs.max(axis=1).astype(np.float32)
        run.n_train = int(result.card.get("n_train") or 0)
        if self._export:
            with tempfile.TemporaryDirectory(prefix="hdr-train-") as folder:
                path = save_model(result, Path(folder) / _file_stem(run.label))
                run.keras_bytes = path.read_bytes()

    def _fail(self, run: RunRecord, exc: Exception) -> None:
        if isinstance(exc, (HdrError, ValueError)):
            message = str(exc)
        else:
            log.exception("training %r failed", run.label)
            message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            run.status, run.error = FAILED, message


def _planned_images(config: TrainConfig) -> int:
    """Training images a run will use, before its data is loaded (MNIST's size when it has no limit)."""
    full = int(60000 * (1 - config.validation_fraction))
    return min(full, config.train_limit) if config.train_limit else full


def _default_label(config: TrainConfig) -> str:
    from hdr_core.models import ArchSpec

    return "custom" if isinstance(config.arch, ArchSpec) else str(config.arch)


def _file_stem(label: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label.lower())
    safe = "-".join(part for part in safe.split("-") if part)
    return f"hdr-{safe or 'model'}"
