"""Background training jobs for the Train page, and the server-wide limit on concurrent trainings.

No Streamlit here (so it is unit-testable): the page keeps a :class:`TrainingJob` in
``st.session_state`` (one student's job and models are never visible to another) and one
:class:`TrainingSlots` in ``st.cache_resource`` (shared by every session of the server).

A job trains one or more configurations (one for a single model, several for an experiment) one after
the other in a daemon thread, each through ``hdr_core.train.train`` -- the same function as
``python -m hdr_core train``. Each run waits for a free slot first, so with ``HDR_MAX_TRAININGS=1`` a
class of students trains one model at a time, first come first served, and a waiting student is told
how many trainings are ahead. The page polls :meth:`TrainingJob.snapshot` (a consistent, immutable
copy) about once a second to draw the progress bar and the growing curves; :meth:`TrainingJob.stop`
ends the current run after its current batch, keeping the model trained so far, and cancels the rest.

Keras state: Keras keeps the state it needs while building a model (the name-scope stack) in a
module-level ``threading.local`` that ``keras.backend.clear_session()`` *replaces* for every thread at
once -- and Streamlit calls ``clear_session()`` after every script run of every session (fragment
reruns included). A model being built or traced in a training thread then fails with
``AttributeError: 'NoneType' object has no attribute 'pop'``. :func:`guard_keras_session` therefore
makes ``clear_session`` wait, while any training job of this process is active, by turning it into a
no-op (it only frees a little naming state; models are unaffected). ``train`` seeds Keras globally
(``keras.utils.set_random_seed``), which concurrent runs share.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hdr_core.errors import HdrError
from hdr_core.train import TrainConfig, TrainResult

__all__ = [
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

# Job and run statuses (plain strings: easy to show and to compare in tests).
PENDING = "pending"  # created, not started (or a run not reached yet)
WAITING = "waiting"  # waiting for a free training slot
RUNNING = "running"  # loading data, building, training or testing (see JobSnapshot.phase)
FINISHED = "finished"
STOPPED = "stopped"  # the user pressed Stop (the model trained so far is kept, later runs skipped)
FAILED = "failed"
FINAL_STATUSES = (FINISHED, STOPPED, FAILED)

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


_ACTIVE_LOCK = threading.Lock()
_active_jobs = 0  # training jobs of this process that are building, training or testing a model


def active_jobs() -> int:
    """Training jobs of this process now between start and end."""
    with _ACTIVE_LOCK:
        return _active_jobs


def _job_started() -> None:
    global _active_jobs
    with _ACTIVE_LOCK:
        _active_jobs += 1


def _job_ended() -> None:
    global _active_jobs
    with _ACTIVE_LOCK:
        _active_jobs -= 1


_always_skip_clear = False


def guard_keras_session(*, always: bool = False) -> None:
    """Make ``keras.backend.clear_session()`` a no-op while a training job of this process is active.

    Streamlit calls it after every script run (``script_runner._clean_problem_modules``); it swaps the
    thread-local holding Keras's name-scope stack for a new one in *every* thread, which breaks a model
    being built in a training thread (or in another session's script thread). Idempotent; imports
    Keras (so call it where TensorFlow is loaded anyway, e.g. the training thread).

    Parameters
    ----------
    always : bool, keyword-only
        Skip every ``clear_session()`` from now on, not only during trainings (for an app whose pages
        build models, e.g. sub-models for feature maps, in several sessions at once).
    """
    global _always_skip_clear
    import keras
    from keras.src.backend.common import global_state

    if always:
        _always_skip_clear = True
    original = global_state.clear_session
    if getattr(keras.backend.clear_session, "_hdr_guarded", False):
        return

    def clear_session(free_memory: bool = True) -> None:
        if _always_skip_clear or active_jobs():
            return  # a thread may be building or fitting a model: leave its state alone
        original(free_memory=free_memory)

    clear_session._hdr_guarded = True  # type: ignore[attr-defined]
    clear_session.__doc__ = original.__doc__
    keras.backend.clear_session = clear_session
    keras.utils.clear_session = clear_session


class TrainingSlots:
    """A server-wide limit on how many trainings run at once, first come first served.

    Like a ``threading.BoundedSemaphore`` of ``limit`` permits, plus a FIFO queue so that a waiting
    job knows its place in line and the first to ask is the first served (a semaphore promises
    neither). Waiting can be cancelled (the user pressed Stop while waiting).

    Parameters
    ----------
    limit : int
        Trainings allowed at once, >= 1.
    """

    def __init__(self, limit: int = DEFAULT_MAX_TRAININGS):
        if int(limit) != limit or limit < 1:
            raise ValueError(f"limit must be a whole number >= 1, got {limit!r}")
        self.limit = int(limit)
        self._cond = threading.Condition()
        self._running: set[int] = set()
        self._queue: deque[int] = deque()
        self._tickets = iter(range(1, 2**62))

    def acquire(
        self,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_wait: Callable[[int], None] | None = None,
        poll: float = 0.2,
    ) -> int | None:
        """Wait for a free slot.

        Parameters
        ----------
        cancelled : callable
            Asked while waiting; returning True gives up the place in line.
        on_wait : callable, optional
            Called with the number of jobs waiting ahead (0 = next in line) whenever that changes,
            and once before waiting at all.
        poll : float
            Seconds between checks of ``cancelled``.

        Returns
        -------
        ticket : int or None
            Pass it to :meth:`release` when the training ends; None when cancelled.
        """
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            last_ahead = None
            try:
                while True:
                    if cancelled():
                        return None
                    ahead = self._queue.index(ticket)
                    if ahead == 0 and len(self._running) < self.limit:
                        self._queue.popleft()
                        self._running.add(ticket)
                        return ticket
                    if on_wait is not None and ahead != last_ahead:
                        on_wait(ahead)
                    last_ahead = ahead
                    self._cond.wait(timeout=poll)
            finally:
                if ticket in self._queue:  # cancelled (or interrupted): leave the line
                    self._queue.remove(ticket)
                self._cond.notify_all()

    def release(self, ticket: int) -> None:
        """Give back the slot ``ticket`` holds; raises RuntimeError for a ticket that holds none."""
        with self._cond:
            if ticket not in self._running:
                raise RuntimeError(f"ticket {ticket!r} does not hold a training slot")
            self._running.remove(ticket)
            self._cond.notify_all()

    @property
    def running(self) -> int:
        """Trainings holding a slot now."""
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        """Jobs waiting for a slot now."""
        with self._cond:
            return len(self._queue)


@dataclass
class RunRecord:
    """One configuration of a job and, once it has run, what came of it.

    Written by the job's thread; read it after its ``status`` is final (``FINAL_STATUSES``), or
    through :meth:`TrainingJob.snapshot` while it runs.

    Attributes
    ----------
    label : str
        Short name shown in tables and in the model picker, e.g. ``"fast"`` or ``"4 dense, L2, rot 10"``.
    config : TrainConfig
    status : str
        ``pending``, ``waiting``, ``running``, ``finished``, ``stopped`` (kept what it had learnt) or
        ``failed``; a run skipped because the user stopped the job stays ``pending``.
    error : str or None
        Why it failed (a message for the user).
    result : TrainResult or None
        The trained model, history, test metrics and card (None if it failed or never ran).
    predictions : (N_test,) int16 ndarray or None
        The model's class for every test image (for the confusion matrix's images and the gallery).
    confidence : (N_test,) float32 ndarray or None
        The probability of that class.
    keras_bytes : bytes or None
        The model as a ``.keras`` file (saved with ``hdr_core.train.save_model``), for download.
    n_train : int
        Training images used (after the validation split and ``train_limit``).
    """

    label: str
    config: TrainConfig
    status: str = PENDING
    error: str | None = None
    result: TrainResult | None = None
    predictions: np.ndarray | None = None
    confidence: np.ndarray | None = None
    keras_bytes: bytes | None = None
    n_train: int = 0
    run_id: str = ""
    batch_x: tuple[float, ...] = ()  # the running training figures after each batch (x in epochs)
    batch_loss: tuple[float, ...] = ()
    batch_accuracy: tuple[float, ...] = ()

    @property
    def has_model(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, safe to read on the page while the job trains.

    ``epoch`` and ``batch`` are 1-based and count what has completed; ``history`` holds one value per
    finished epoch (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``seconds``), and
    ``batch_x`` / ``batch_loss`` / ``batch_accuracy`` the running training figures after each batch,
    ``batch_x`` in epochs (1.5 = half-way through the second epoch).
    """

    status: str
    phase: str  # one line: what the job is doing right now
    run_index: int  # 0-based index of the current (or last) run
    n_runs: int
    label: str
    epoch: int
    total_epochs: int
    batch: int
    batches_per_epoch: int
    elapsed: float  # seconds since the current run's first batch started
    eta: float | None  # seconds left in the current run, None until known
    fraction: float  # of the current run, 0..1
    history: dict[str, list[float]] = field(default_factory=dict)
    batch_x: tuple[float, ...] = ()
    batch_loss: tuple[float, ...] = ()
    batch_accuracy: tuple[float, ...] = ()
    waiting_ahead: int | None = None  # jobs ahead in line while waiting for a slot
    stop_requested: bool = False
    error: str | None = None
    run_statuses: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def active(self) -> bool:
        return self.status in (PENDING, WAITING, RUNNING)


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
    """

    def __init__(
        self,
        runs: TrainConfig | Sequence[tuple[str, TrainConfig]],
        *,
        slots: TrainingSlots | None = None,
        load_dataset: Callable[[str], Any] | None = None,
        label: str | None = None,
        export_model: bool = True,
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
                stop_requested=self._stop.is_set(),
                error=self._error,
                run_statuses=tuple(r.status for r in self.runs),
            )

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
            self._set(phase="Starting TensorFlow")  # the server's first training imports it (seconds)
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
            if failures:
                self._status, self._error = FAILED, "; ".join(failures)
                self._phase = "Failed"
            elif any(r.status in (STOPPED, PENDING) for r in self.runs):  # stopped, or later runs skipped
                self._status, self._phase = STOPPED, "Stopped"
            else:
                self._status, self._phase = FINISHED, "Finished"

    def _run(self, run: RunRecord) -> None:
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
            ticket = self._slots.acquire(cancelled=self._stop.is_set, on_wait=lambda n: self._set(ahead=n))
            if ticket is None:  # stopped while waiting: nothing was trained
                self._set_run(run, PENDING)
                return
        try:
            self._set(status=RUNNING, phase="Building the model", ahead=None)
            self._set_run(run, RUNNING)
            from hdr_core.train import train

            result = train(run.config, progress=self._progress, dataset=dataset)
            self._set(phase="Testing on the test set")
            self._analyse(run, result, dataset)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message on the page
            return self._fail(run, exc)
        finally:
            if ticket is not None:
                self._slots.release(ticket)
        with self._lock:
            p = self._progress
            run.batch_x, run.batch_loss = tuple(p.batch_x), tuple(p.batch_loss)
            run.batch_accuracy = tuple(p.batch_accuracy)
            run.result = result
            run.status = STOPPED if result.stopped and self._stop.is_set() else FINISHED

    def _analyse(self, run: RunRecord, result: TrainResult, dataset: Any) -> None:
        """Test-set predictions (for the confusion matrix's images and the gallery) and the file."""
        from hdr_core.train import probabilities, save_model

        probs = probabilities(result.model, dataset.x_test)  # (N, n_classes) float32
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


def _default_label(config: TrainConfig) -> str:
    from hdr_core.models import ArchSpec

    return "custom" if isinstance(config.arch, ArchSpec) else str(config.arch)


def _file_stem(label: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label.lower())
    safe = "-".join(part for part in safe.split("-") if part)
    return f"hdr-{safe or 'model'}"
