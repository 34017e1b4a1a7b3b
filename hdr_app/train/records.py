"""What a training job holds and shows: its statuses, each run's record, a consistent snapshot of its progress.

Plain dataclasses (no threads, no Streamlit): ``jobs.TrainingJob`` writes them, the Train page reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hdr_core.train import TrainConfig, TrainResult

# Job and run statuses (plain strings: easy to show and to compare in tests).
PENDING = "pending"  # created, not started (or a run not reached yet)
WAITING = "waiting"  # waiting for a free training slot
RUNNING = "running"  # loading data, building, training or testing (see JobSnapshot.phase)
FINISHED = "finished"
STOPPED = "stopped"  # the user pressed Stop (the model trained so far is kept, later runs skipped)
FAILED = "failed"
CANCELLED = "cancelled"  # nobody watches any more (the tab was closed): stopped, nothing kept
FINAL_STATUSES = (FINISHED, STOPPED, FAILED, CANCELLED)


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
    worker: str = ""  # the Dask worker that trained it ("" when it trained in this process)
    lite_bytes: bytes | None = None  # its LiteRT flat buffer (trained on a worker): answers without TensorFlow
    layers: list = field(default_factory=list)  # its layer table (hdr_core.visualize.LayerInfo), if known
    batch_x: tuple[float, ...] = ()  # the running training figures after each batch (x in epochs)
    batch_loss: tuple[float, ...] = ()
    batch_accuracy: tuple[float, ...] = ()

    def keras_model(self) -> Any:
        """The trained Keras model: ``result.model``, or read from ``keras_bytes`` (imports TensorFlow)."""
        if self.result is not None and self.result.model is not None:
            return self.result.model
        if self.keras_bytes is None:
            raise ValueError(f"run {self.label!r} has no model")
        from hdr_core.inference import load_model_bytes

        model = load_model_bytes(self.keras_bytes)
        self.result = replace(self.result, model=model)
        return model

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
    waiting_seconds: float | None = None  # expected wait for the slot (the runs ahead's estimates), if known
    stop_requested: bool = False
    error: str | None = None
    run_statuses: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def active(self) -> bool:
        return self.status in (PENDING, WAITING, RUNNING)
