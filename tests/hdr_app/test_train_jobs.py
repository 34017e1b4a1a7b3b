"""Background training jobs (hdr_app.train.jobs): completion, Stop, and the server-wide slot limit.

Every training here is tiny (a few hundred MNIST images, one epoch, a one-block CNN with 4 filters)
so the whole file runs in seconds on two shared cores.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hdr_app.train.jobs import (
    FAILED,
    FINISHED,
    MAX_TRAININGS_ENV,
    PENDING,
    RUNNING,
    STOPPED,
    WAITING,
    TrainingJob,
    TrainingSlots,
    max_trainings_from_env,
)
from hdr_core.data import Dataset
from hdr_core.models import ArchSpec
from hdr_core.train import TrainConfig

TINY_ARCH = ArchSpec(conv_blocks=1, filters=4, dense_units=0, dropout=0.0)
TIMEOUT = 120  # seconds; a tiny run takes a few (TensorFlow's first import takes longest)


@pytest.fixture(scope="module")
def tiny_mnist(data_file) -> Dataset:
    """600 training and 300 test digits of MNIST, as a Dataset (read-only uint8 like the real one)."""
    from hdr_core.data import load_dataset

    data_file("mnist.npz")
    full = load_dataset("mnist")
    parts = [full.x_train[:600], full.y_train[:600], full.x_test[:300], full.y_test[:300]]
    parts = [np.array(p) for p in parts]
    for p in parts:
        p.setflags(write=False)
    return Dataset("mnist", *parts, class_names=full.class_names, source="tiny test subset")


def tiny_config(**overrides) -> TrainConfig:
    values = dict(arch=TINY_ARCH, epochs=1, batch_size=32, learning_rate=3e-3, train_limit=200)
    values.update(overrides)
    return TrainConfig(**values)


def loader(dataset: Dataset):
    return lambda name: dataset


def wait_until(predicate, timeout: float = TIMEOUT, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# -- slots ----------------------------------------------------------------------------------------


def test_slots_limit_and_fifo_order():
    slots = TrainingSlots(limit=1)
    first = slots.acquire()
    assert first is not None and slots.running == 1

    positions: list[int] = []
    got: dict[str, int] = {}

    def wait_in_line(name: str) -> None:
        got[name] = slots.acquire(on_wait=positions.append if name == "second" else None, poll=0.01)

    second = threading.Thread(target=wait_in_line, args=("second",))
    second.start()
    wait_until(lambda: slots.waiting == 1, 5, "the second job to queue")
    third = threading.Thread(target=wait_in_line, args=("third",))
    third.start()
    wait_until(lambda: slots.waiting == 2, 5, "the third job to queue")
    assert positions == [0]  # the second job is next in line
    slots.release(first)
    second.join(5)
    assert "second" in got and "third" not in got  # first come, first served
    slots.release(got["second"])
    third.join(5)
    slots.release(got["third"])
    assert slots.running == 0 and slots.waiting == 0


def test_slots_wait_can_be_cancelled_and_release_is_checked():
    slots = TrainingSlots(limit=1)
    held = slots.acquire()
    assert slots.acquire(cancelled=lambda: True) is None
    assert slots.waiting == 0
    slots.release(held)
    with pytest.raises(RuntimeError, match="does not hold"):
        slots.release(held)
    with pytest.raises(ValueError, match="limit"):
        TrainingSlots(limit=0)


@pytest.mark.parametrize(("value", "expected"), [("", 1), ("3", 3), ("0", 1), ("two", 1)])
def test_max_trainings_from_env(monkeypatch, value, expected):
    monkeypatch.setenv(MAX_TRAININGS_ENV, value)
    if value in ("0", "two"):
        with pytest.warns(UserWarning, match=MAX_TRAININGS_ENV):
            assert max_trainings_from_env() == expected
    else:
        assert max_trainings_from_env() == expected


# -- jobs -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_job_runs_to_completion(tiny_mnist):
    job = TrainingJob(tiny_config(), slots=TrainingSlots(1), load_dataset=loader(tiny_mnist), label="tiny")
    assert job.status == PENDING
    job.start()
    assert job.join(TIMEOUT), job.snapshot()
    snap = job.snapshot()
    assert snap.status == FINISHED, snap.error
    assert snap.done and not snap.active
    assert snap.epoch == 1 and snap.total_epochs == 1 and snap.fraction == pytest.approx(1.0)
    assert snap.batches_per_epoch == 7  # 200 images / 32 per batch
    assert set(snap.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(snap.batch_x) == 7 and snap.batch_x[-1] == pytest.approx(1.0)

    (run,) = job.finished_runs()
    assert run.status == FINISHED and run.label == "tiny"
    assert 0.0 <= run.result.test_accuracy <= 1.0
    assert run.result.confusion.shape == (10, 10) and run.result.confusion.sum() == 300
    assert run.predictions.shape == (300,) and run.confidence.shape == (300,)
    assert np.mean(run.predictions == tiny_mnist.y_test) == pytest.approx(run.result.test_accuracy)
    assert run.keras_bytes[:2] == b"PK"  # a .keras file is a zip
    assert run.n_train == 200


@pytest.mark.slow
def test_stop_keeps_the_model_trained_so_far(tiny_mnist):
    config = tiny_config(train_limit=600, batch_size=16, epochs=3)  # 38 batches per epoch
    job = TrainingJob(config, load_dataset=loader(tiny_mnist), export_model=False)
    report = job.progress.on_batch_end

    def stop_after_three(epoch, batch, logs):  # the "user" presses Stop after the third batch
        report(epoch, batch, logs)
        if batch == 2:
            job.stop()

    job.progress.on_batch_end = stop_after_three
    job.start()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.status == STOPPED and snap.stop_requested
    assert snap.epoch == 1 and len(snap.batch_x) == 3  # the partial first epoch only
    (run,) = job.finished_runs()
    assert run.status == STOPPED and run.result.stopped and run.result.epochs_run == 1
    probabilities = run.result.model.predict_on_batch(np.zeros((1, 28, 28, 1), np.float32))
    assert probabilities.shape == (1, 10)
    assert run.keras_bytes is None


@pytest.mark.slow
def test_second_job_waits_for_a_free_slot(tiny_mnist):
    slots = TrainingSlots(limit=1)
    release_first = threading.Event()
    first = TrainingJob(tiny_config(), slots=slots, load_dataset=loader(tiny_mnist), export_model=False)
    report = first.progress.on_batch_end

    def hold(epoch, batch, logs):  # keep the first job training until the test lets it go
        report(epoch, batch, logs)
        release_first.wait(TIMEOUT)

    first.progress.on_batch_end = hold
    first.start()
    wait_until(lambda: first.snapshot().batch >= 1, what="the first job to train")
    assert first.status == RUNNING and slots.running == 1

    second = TrainingJob(tiny_config(seed=1), slots=slots, load_dataset=loader(tiny_mnist), export_model=False)
    second.start()
    wait_until(lambda: second.status == WAITING, what="the second job to wait")
    time.sleep(0.3)
    snap = second.snapshot()
    assert snap.status == WAITING and snap.waiting_ahead == 0 and snap.batch == 0
    assert snap.run_statuses == (WAITING,)

    release_first.set()
    assert first.join(TIMEOUT) and first.status == FINISHED
    assert second.join(TIMEOUT) and second.status == FINISHED, second.snapshot().error
    assert slots.running == 0 and slots.waiting == 0


@pytest.mark.slow
def test_stop_while_waiting_trains_nothing(tiny_mnist):
    slots = TrainingSlots(limit=1)
    held = slots.acquire()
    job = TrainingJob(tiny_config(), slots=slots, load_dataset=loader(tiny_mnist)).start()
    wait_until(lambda: job.status == WAITING, what="the job to wait")
    job.stop()
    assert job.join(10)
    assert job.status == STOPPED and job.finished_runs() == []
    assert slots.waiting == 0
    slots.release(held)


@pytest.mark.slow
def test_experiment_runs_each_configuration_and_reports_failures(tiny_mnist):
    runs = [("a", tiny_config()), ("b", tiny_config(rotation=10.0)), ("emnist", tiny_config(dataset="emnist-letters"))]

    def load(name):
        if name != "mnist":
            from hdr_core.errors import DatasetNotFoundError

            raise DatasetNotFoundError(f"{name} is not here")
        return tiny_mnist

    job = TrainingJob(runs, load_dataset=load, export_model=False).start()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.n_runs == 3 and snap.run_statuses == (FINISHED, FINISHED, FAILED)
    assert snap.status == FAILED and "emnist" in snap.error and "is not here" in snap.error
    assert [r.label for r in job.finished_runs()] == ["a", "b"]


def test_job_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        TrainingJob([])
    with pytest.raises(TypeError, match="TrainConfig"):
        TrainingJob([("x", {"epochs": 1})])
    job = TrainingJob(tiny_config(), load_dataset=lambda name: None)
    assert job.snapshot().status == PENDING and job.snapshot().label == "custom"


def test_keras_clear_session_waits_while_a_job_is_active(monkeypatch):
    """Streamlit calls keras.backend.clear_session() after every script run; it must not reset the
    Keras state a training thread is building a model with."""
    import keras
    from keras.src.backend.common import global_state

    from hdr_app import keras_guard as training

    training.guard_keras_session()
    # An app test earlier in this process may have switched clean-up off for good (always=True), as the
    # app does once it loads a model; this test is about the per-job guard.
    monkeypatch.setattr(training, "_always_skip_clear", False)
    global_state.set_global_attribute("hdr_probe", 1)
    training._job_started()
    try:
        keras.backend.clear_session()  # what Streamlit calls: skipped while a job is active
        assert global_state.get_global_attribute("hdr_probe") == 1
    finally:
        training._job_ended()
    keras.backend.clear_session()  # no job: cleared as usual
    assert global_state.get_global_attribute("hdr_probe") is None
