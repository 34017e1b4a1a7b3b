"""Trainings on Dask workers, away from the process that serves the pages.

A class shares one server: if a training ran inside the web process it would slow every student's
drawing. :class:`TrainingCluster` hands each training to a worker process of a Dask ``distributed``
cluster instead:

- by default a ``LocalCluster`` of ``HDR_MAX_TRAININGS`` worker processes (one thread each) started on
  first use, at a lower CPU priority than the web process (``ClusterParams.nice``), so drawing stays
  quick while a worker trains;
- with ``HDR_TRAIN_CLUSTER=tcp://host:8786`` the same code submits to that scheduler; a class that
  outgrows one server adds worker machines (``dask worker tcp://host:8786`` on each, with hdr installed
  and ``HDR_DATA_DIR`` set) instead of changing code.

On the worker, :func:`train_remotely` runs ``hdr_core.train.train`` -- the function the CLI runs --
with the dataset loaded once per worker process (``hdr_core.data.load_dataset`` keeps it) and read-only.
Progress crosses the process boundary through a Dask ``Queue`` (batches of events, a few a second) and
Stop through a Dask ``Event``; the finished model comes back as ``.keras`` bytes with its card
(:class:`RemoteRun`), never as a live object.

No Streamlit here: the app's ``hdr_app.train.jobs.TrainingJob`` drives this module, and so can a script.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .train import TrainConfig, TrainResult

__all__ = [
    "CLUSTER_ENV",
    "ClusterParams",
    "RemoteRun",
    "TrainingCluster",
    "lower_priority",
    "train_remotely",
    "worker_error",
]

log = logging.getLogger(__name__)

CLUSTER_ENV = "HDR_TRAIN_CLUSTER"  # tcp://host:8786 of a running Dask scheduler; unset = local workers


@dataclass(frozen=True)
class ClusterParams:
    """Where trainings run and how their progress travels.

    Attributes
    ----------
    n_workers : int
        Local worker processes (one training each at a time): the server's ``HDR_MAX_TRAININGS``.
    address : str or None
        A Dask scheduler to submit to (``tcp://host:8786``); None starts a local cluster.
    nice : int
        How much lower than the web process the workers' CPU priority is (Unix ``nice``, 0-19).
    flush_seconds : float
        A worker sends the batches' progress at most this often (and at every epoch's end).
    stop_poll_seconds : float
        A worker asks whether Stop was pressed at most this often (it ends after that batch).
    start_seconds : float
        How long to wait for local workers to start before giving up with a message.
    """

    n_workers: int = 1
    address: str | None = None
    nice: int = 10
    flush_seconds: float = 0.25
    stop_poll_seconds: float = 0.3
    start_seconds: float = 90.0

    @classmethod
    def from_env(cls, n_workers: int, **overrides: Any) -> ClusterParams:
        """``n_workers`` local workers, or the scheduler named by ``$HDR_TRAIN_CLUSTER`` when it is set."""
        address = os.environ.get(CLUSTER_ENV, "").strip() or None
        return cls(n_workers=max(1, int(n_workers)), address=address, **overrides)


@dataclass
class RemoteRun:
    """What a worker sends back once a training ends (everything picklable, no Keras object).

    Attributes
    ----------
    result : TrainResult
        History, test figures and card; ``model`` is None (rebuild it from ``keras_bytes``).
    keras_bytes : bytes
        The trained model as a ``.keras`` file (``hdr_core.train.save_model``'s output).
    predictions : (N_test,) int16 ndarray
        The model's class for every test image.
    confidence : (N_test,) float32 ndarray
        The probability of that class (calibrated when the card has a temperature).
    lite_bytes : bytes or None
        The model as a LiteRT flat buffer (``hdr_core.lite``), so the web process can answer with it
        without TensorFlow; None when the conversion failed (the web process then converts it itself).
    layers : list of hdr_core.visualize.LayerInfo
        The model's layer table (name, type, output shape, parameters), for the Train page.
    worker : str
        The worker that trained it (its address), for logs.
    """

    result: TrainResult
    keras_bytes: bytes
    predictions: np.ndarray
    confidence: np.ndarray
    lite_bytes: bytes | None = None
    layers: list = field(default_factory=list)
    worker: str = ""

    def model(self):
        """The trained ``keras.Model``, read back from ``keras_bytes`` (checked as any model file is)."""
        from .inference import load_model_bytes

        return load_model_bytes(self.keras_bytes)

    def train_result(self) -> TrainResult:
        """The :class:`~hdr_core.train.TrainResult` with its model read back."""
        return replace(self.result, model=self.model())


# --------------------------------------------------------------------------------------------------
# On the worker
# --------------------------------------------------------------------------------------------------


def lower_priority(nice: int) -> int:
    """Lower this process's CPU priority to ``nice`` (every thread of it, on Linux); returns the threads changed.

    Linux applies ``nice`` per thread, and threads inherit it from the thread that starts them, so every
    existing thread is changed (TensorFlow's pools started later inherit it). Never raises: a platform
    without it keeps its priority.
    """
    changed = 0
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed += 1
        except (OSError, AttributeError):
            pass
    return changed


class _RemoteProgress:
    """``hdr_core.train``'s progress receiver on a worker: sends events in batches, asks about Stop."""

    def __init__(self, queue, stop_event, params: ClusterParams):
        self._queue, self._stop_event, self._params = queue, stop_event, params
        self._pending: list[tuple] = []
        self._last_flush = time.monotonic()
        self._last_poll = 0.0
        self._stopped = False

    def _send(self, event: tuple, *, now: bool = False) -> None:
        self._pending.append(event)
        if now or time.monotonic() - self._last_flush >= self._params.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._queue.put(self._pending)
            self._pending = []
        self._last_flush = time.monotonic()

    def on_train_begin(self, total_epochs: int, batches_per_epoch: int) -> None:
        self._send(("begin", int(total_epochs), int(batches_per_epoch)), now=True)

    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        self._send(("batch", int(epoch), int(batch), float(logs.get("loss", np.nan)),
                    float(logs.get("accuracy", np.nan))))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._send(("epoch", int(epoch), {k: float(v) for k, v in logs.items()}), now=True)

    def should_stop(self) -> bool:
        if not self._stopped and time.monotonic() - self._last_poll >= self._params.stop_poll_seconds:
            self._last_poll = time.monotonic()
            self._stopped = bool(self._stop_event.is_set())
        return self._stopped


def _release_memory() -> None:
    """After a training: drop Keras's graph state and give freed memory back to the system.

    TensorFlow keeps part of what a training allocated (measured: 60-150 MB a run); this returns some of it.
    Restarting the worker after each training would return all of it, but a restart that raced the next
    submission left a training waiting for ever in testing, so it is not done.
    """
    import ctypes
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def warm_up(dataset: str | None = "mnist") -> str:
    """Import TensorFlow and load ``dataset`` on this worker, so its first training starts at once."""
    from .quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    if dataset:
        from .data import load_dataset

        try:
            load_dataset(dataset)
        except Exception:  # noqa: BLE001 - a missing dataset is reported by the training that needs it
            pass
    return os.environ.get("HOSTNAME", "") or str(os.getpid())


def train_remotely(config: TrainConfig, key: str, params: ClusterParams, export: bool = True) -> RemoteRun:
    """Run one training on a Dask worker (submitted by :meth:`TrainingCluster.submit`).

    Parameters
    ----------
    config : TrainConfig
    key : str
        The job's name: progress goes to the Dask ``Queue`` ``hdr-progress-{key}``, Stop is the Dask
        ``Event`` ``hdr-stop-{key}``.
    params : ClusterParams
    export : bool
        Also return the model as ``.keras`` bytes (always needed to rebuild the model; kept for symmetry
        with the in-process job, which can skip the file).

    Returns
    -------
    RemoteRun
    """
    from distributed import Event, Queue, get_worker

    from .quiet import import_tensorflow_quietly

    lower_priority(params.nice)
    import_tensorflow_quietly()
    from .data import load_dataset
    from .train import probabilities, save_model, train

    queue, stop_event = Queue(f"hdr-progress-{key}"), Event(f"hdr-stop-{key}")
    progress = _RemoteProgress(queue, stop_event, params)
    dataset = load_dataset(config.dataset)
    result = train(config, progress=progress, dataset=dataset)
    progress._send(("testing",), now=True)
    probs = probabilities(result.model, dataset.x_test)
    temperature = result.calibration.temperature if result.calibration is not None else 1.0
    if temperature != 1.0:  # the confidence the pages show is the calibrated one
        from .calibration import with_temperature

        probs = with_temperature(probs, temperature)
    with tempfile.TemporaryDirectory(prefix="hdr-worker-") as folder:
        keras_bytes = save_model(result, Path(folder) / "model").read_bytes()
    from .errors import ModelError
    from .lite import convert
    from .visualize import layer_table

    try:
        lite_bytes = convert(result.model)
    except ModelError:
        lite_bytes = None
    layers = layer_table(result.model)
    progress.flush()
    try:
        worker = get_worker().address
    except ValueError:
        worker = ""
    model = result.model
    result = replace(result, model=None)
    del model
    _release_memory()
    return RemoteRun(result=result, keras_bytes=keras_bytes,
                     predictions=probs.argmax(axis=1).astype(np.int16),
                     confidence=probs.max(axis=1).astype(np.float32), lite_bytes=lite_bytes, layers=layers,
                     worker=worker)


# --------------------------------------------------------------------------------------------------
# In the web process
# --------------------------------------------------------------------------------------------------


def worker_error(exc: Exception) -> Exception:
    """A failed remote training as a message for the page (the worker's own HdrError or ValueError as is).

    A worker that died (killed for memory, the server shutting down) surfaces as Dask's ``KilledWorker``,
    ``CommClosedError`` or a cancelled future: those become one plain sentence.
    """
    from .errors import HdrError

    if isinstance(exc, (HdrError, ValueError)):
        return exc
    if type(exc).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError"):
        return HdrError("The training worker stopped before the training ended (it may have run out of memory, "
                        "or the server is shutting down). Try again, perhaps with fewer images.")
    return exc


def _spawn_without_main_module() -> None:
    """Start worker processes without re-running the parent's ``__main__``.

    Python's ``spawn`` re-imports the parent's main module in each child; inside ``streamlit run`` that is
    the app's own script (Streamlit puts it in ``sys.modules["__main__"]`` while it runs), so every worker
    would run the app's page code, without a browser, and fill the server's log with warnings. Workers need
    only ``hdr_core``, which they import by name. Idempotent; affects only processes started by ``spawn``.
    """
    import multiprocessing.spawn as spawn

    if getattr(spawn.get_preparation_data, "_hdr_no_main", False):
        return
    original = spawn.get_preparation_data

    def get_preparation_data(name):
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    get_preparation_data._hdr_no_main = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = get_preparation_data


def _nice_plugin(nice: int):
    """A Dask worker plugin that lowers each worker process's CPU priority as it starts."""
    from distributed import WorkerPlugin

    class NicePlugin(WorkerPlugin):
        name = "hdr-nice"

        def setup(self, worker) -> None:
            lower_priority(nice)

    return NicePlugin()


class TrainingCluster:
    """The Dask cluster trainings run on; started on first use, shared by every session of a server.

    Parameters
    ----------
    params : ClusterParams
    warm_dataset : str or None
        Loaded (with TensorFlow) on each local worker right after it starts.
    """

    def __init__(self, params: ClusterParams, *, warm_dataset: str | None = "mnist"):
        self.params = params
        self._warm_dataset = warm_dataset
        self._lock = threading.Lock()
        self._client = None
        self._cluster = None

    @property
    def description(self) -> str:
        """One line for the page and the logs: where trainings run."""
        if self.params.address:
            return f"the Dask scheduler at {self.params.address}"
        n = self.params.n_workers
        return f"{n} local worker process{'es' if n != 1 else ''}"

    @property
    def started(self) -> bool:
        return self._client is not None

    def client(self):
        """The ``distributed.Client``, starting the local cluster (or connecting) on first call.

        Raises
        ------
        HdrError
            The cluster could not be started or reached (the message says which).
        """
        with self._lock:
            if self._client is not None:
                return self._client
            from distributed import Client, LocalCluster, fire_and_forget

            from .errors import HdrError

            try:
                if self.params.address:
                    client = Client(self.params.address, timeout=self.params.start_seconds)
                else:
                    _spawn_without_main_module()
                    # One thread per worker, one training each; no memory limit (a full training needs
                    # about 1 GB and the nanny must not restart it for that); the scheduler's small HTTP
                    # server (health, no dashboard without bokeh) on a free local port, not on 8787.
                    self._cluster = LocalCluster(
                        n_workers=self.params.n_workers, threads_per_worker=1, processes=True,
                        dashboard_address="127.0.0.1:0", memory_limit=0, silence_logs=logging.ERROR,
                        worker_class="distributed.Nanny",
                    )
                    client = Client(self._cluster, timeout=self.params.start_seconds)
            except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, CommClosedError...
                if self._cluster is not None:
                    self._cluster.close()
                    self._cluster = None
                where = self.description
                raise HdrError(f"Could not start the training workers ({where}): {exc}") from exc
            if not self.params.address:
                client.register_plugin(_nice_plugin(self.params.nice), name="hdr-nice")
                if self._warm_dataset:  # fire and forget: the first training then starts at once
                    for address in client.scheduler_info()["workers"]:
                        fire_and_forget(client.submit(warm_up, self._warm_dataset, workers=[address], pure=False,
                                                      allow_other_workers=False))
            self._client = client
            return client

    def submit(self, config: TrainConfig, key: str, *, export: bool = True):
        """Start ``config`` on a worker; returns its ``distributed.Future`` (a :class:`RemoteRun`)."""
        client = self.client()
        return client.submit(train_remotely, config, key, self.params, export, key=f"hdr-train-{key}",
                             pure=False, retries=0)

    def progress_queue(self, key: str):
        """The Dask ``Queue`` a worker sends ``key``'s progress events to."""
        from distributed import Queue

        return Queue(f"hdr-progress-{key}", client=self.client())

    def stop_event(self, key: str):
        """The Dask ``Event`` that tells ``key``'s worker to stop after its current batch."""
        from distributed import Event

        return Event(f"hdr-stop-{key}", client=self.client())

    def workers(self) -> int:
        """Workers connected now (0 before the cluster is started)."""
        if self._client is None:
            return 0
        return len(self._client.scheduler_info().get("workers", {}))

    def worker_pids(self) -> list[int]:
        """Process ids of the local workers (for memory figures); [] for a remote cluster."""
        if self._client is None or self.params.address:
            return []
        return list(self._client.run(os.getpid).values())

    def close(self) -> None:
        """Stop the client and, for a local cluster, its worker processes."""
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
