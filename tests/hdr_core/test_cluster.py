"""Trainings on Dask workers (hdr_core.cluster through hdr_app.train.jobs): a local cluster started by the
tests themselves, a training's progress relayed, Stop, a job cancelled when its browser session is gone,
and the queue's place and expected wait.

The trainings are tiny (a one-block CNN with 4 filters on a few hundred MNIST images); the worker loads
MNIST itself through ``HDR_DATA_DIR``, as a server's worker does.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from hdr_app.orphans import OrphanParams, OrphanWatch
from hdr_app.slots import TrainingSlots
from hdr_app.train.jobs import CANCELLED, FINISHED, STOPPED, WAITING, TrainingJob
from hdr_core.cluster import ClusterParams, TrainingCluster, lower_priority
from hdr_core.lite import LitePredictor
from hdr_core.train import TrainConfig
from tests.hdr_app import test_train_jobs as test_training_jobs

TIMEOUT = 180  # seconds: the worker's first training imports TensorFlow


def wait_until(predicate, timeout: float = TIMEOUT, what: str = "condition") -> None:
    test_training_jobs.wait_until(predicate, timeout, what)


def tiny_config(**overrides) -> TrainConfig:
    """The job tests' tiny CNN, on 300 images (10 batches of 32)."""
    return test_training_jobs.tiny_config(**{"train_limit": 300, **overrides})


@pytest.fixture(scope="module")
def cluster(data_file):
    data_file("mnist.npz")
    started = TrainingCluster(ClusterParams(n_workers=1, flush_seconds=0.1, stop_poll_seconds=0.05))
    yield started
    started.close()


@pytest.mark.slow
def test_a_training_runs_on_a_worker_process_and_its_progress_comes_back(cluster):
    job = TrainingJob(tiny_config(epochs=2), slots=TrainingSlots(1), cluster=cluster, label="tiny").start()
    seen = []
    wait_until(lambda: seen.append(job.snapshot().batch_x) or job.done, what="the job to end")
    snap = job.snapshot()
    assert snap.status == FINISHED, snap.error
    assert snap.epoch == 2 and snap.batches_per_epoch == 10  # 300 images / 32 per batch
    assert len(snap.batch_x) == 20 and snap.batch_x[-1] == pytest.approx(2.0)
    assert len(snap.history["val_accuracy"]) == 2
    assert any(0 < len(x) < 20 for x in seen)  # the curve grew while the worker trained

    (run,) = job.finished_runs()
    assert run.worker.startswith("tcp://")  # trained by a worker, not in this process
    assert os.getpid() not in cluster.worker_pids()
    assert run.keras_bytes[:2] == b"PK" and run.n_train == 300
    assert run.predictions.shape == (10000,) and run.confidence.dtype == np.float32
    assert run.result.model is None and run.lite_bytes  # the web process needs no TensorFlow to use it...
    lite = LitePredictor(run.lite_bytes)
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    keras_scores = run.keras_model().predict_on_batch(image[None, :, :, None])  # ... nor to read it back
    np.testing.assert_allclose(lite.predict(image).probabilities, keras_scores[0], atol=1e-5)
    from hdr_core.visualize import layer_table

    assert [row.name for row in run.layers] == [row.name for row in layer_table(run.keras_model())]


@pytest.mark.slow
def test_workers_run_at_a_lower_cpu_priority_than_the_web_process(cluster):
    nice = {}

    def ask() -> bool:  # a worker restarted after the previous test's training may still be starting
        nice.update(cluster.client().run(lambda: os.getpriority(os.PRIO_PROCESS, 0)))
        return bool(nice)

    wait_until(ask, 90, "a worker to answer")
    assert all(value >= cluster.params.nice for value in nice.values())
    assert os.getpriority(os.PRIO_PROCESS, 0) < cluster.params.nice


@pytest.mark.slow
def test_stop_crosses_to_the_worker_and_keeps_the_model(cluster):
    job = TrainingJob(tiny_config(train_limit=20000, epochs=3), cluster=cluster, export_model=False).start()
    wait_until(lambda: job.snapshot().batch >= 3 or job.done, what="a few batches")
    job.stop()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.status == STOPPED, snap.error
    (run,) = job.finished_runs()
    assert run.result.stopped and run.result.epochs_run == 1 and snap.batch < 625
    assert run.keras_model().predict_on_batch(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)


@pytest.mark.slow
def test_a_job_whose_session_is_gone_is_cancelled_and_frees_its_slot(cluster):
    alive = {"student": True}
    watch = OrphanWatch(lambda owner: alive[owner], OrphanParams(grace=1.0, period=0.1)).start()
    slots = TrainingSlots(1)
    job = TrainingJob(tiny_config(train_limit=20000, epochs=3), slots=slots, cluster=cluster, owner="student")
    watch.watch(job)
    job.start()
    wait_until(lambda: job.snapshot().batch >= 2 or job.done, what="training to start")
    assert slots.running == 1
    alive["student"] = False  # the tab is closed
    assert job.join(60)
    assert job.status == CANCELLED and job.cancelled
    assert job.finished_runs() == [] and job.runs[0].result is None  # nothing kept for nobody
    assert slots.running == 0 and watch.cancelled == 1 and watch.watching() == 0


def test_a_student_who_comes_back_in_time_keeps_the_training():
    class Job:
        owner, done, cancelled_with = "a", False, None

        def cancel(self, reason):
            self.cancelled_with = reason

    alive = {"a": False, "b": True}
    job = Job()
    watch = OrphanWatch(lambda owner: alive[owner], OrphanParams(grace=30, period=5))
    watch.watch(job)
    assert watch.check(now=0) == [] and watch.check(now=20) == []
    job.owner = "b"  # the tab was reloaded: a new session adopted the job
    assert watch.check(now=40) == [] and job.cancelled_with is None
    job.owner = "a"  # gone again: the grace starts anew
    assert watch.check(now=50) == [] and watch.check(now=79) == []
    assert watch.check(now=81) == [job] and "closed" in job.cancelled_with


def test_the_queue_gives_each_student_a_place_and_an_expected_wait():
    slots = TrainingSlots(limit=1)
    slots.seconds_per_image = 1e-3
    assert slots.estimate_seconds(1000, 2) == pytest.approx(2.0)
    left = {"value": 30.0}
    running = slots.acquire(estimate=60, remaining=lambda: left["value"])
    queued = []

    import threading

    def join_line(estimate):
        queued.append(slots.acquire(estimate=estimate, poll=0.01))

    first = threading.Thread(target=join_line, args=(100,))
    first.start()
    wait_until(lambda: slots.waiting == 1, 5, "the first in line")
    second = threading.Thread(target=join_line, args=(50,))
    second.start()
    wait_until(lambda: slots.waiting == 2, 5, "the second in line")
    assert slots.expected_wait(0) == pytest.approx(30)  # next: when the running one ends
    assert slots.expected_wait(1) == pytest.approx(130)  # then after the first in line's 100 s
    left["value"] = 10.0
    assert slots.expected_wait(1) == pytest.approx(110)
    slots.release(running)
    first.join(5)
    slots.release(queued.pop())
    second.join(5)
    slots.release(queued.pop())
    assert slots.running == 0 and slots.waiting == 0
    slots.learn(seconds=20, images=10000)
    assert slots.seconds_per_image == pytest.approx(0.5 * 1e-3 + 0.5 * 2e-3)


def test_two_limits_share_the_slots_out():
    slots = TrainingSlots(limit=2)
    a, b = slots.acquire(estimate=10), slots.acquire(estimate=40)
    assert slots.expected_wait(0) == pytest.approx(10, abs=0.5)  # the first of the two to end
    slots.release(a)
    slots.release(b)


def test_lower_priority_never_raises_the_priority():
    before = os.getpriority(os.PRIO_PROCESS, 0)
    assert lower_priority(before) == 0


@pytest.mark.slow
def test_a_waiting_job_shows_its_wait_and_runs_when_the_slot_frees(cluster):
    slots = TrainingSlots(1)
    held = slots.acquire(estimate=5.0)
    job = TrainingJob(tiny_config(), slots=slots, cluster=cluster, export_model=False).start()
    wait_until(lambda: job.status == WAITING, what="the job to wait")
    time.sleep(0.3)
    snap = job.snapshot()
    assert snap.waiting_ahead == 0 and snap.waiting_seconds is not None and snap.waiting_seconds <= 5.0
    slots.release(held)
    assert job.join(TIMEOUT) and job.status == FINISHED, job.snapshot().error


@pytest.mark.slow
def test_the_same_code_trains_on_a_separate_scheduler_and_worker(data_file, tmp_path, monkeypatch):
    """HDR_TRAIN_CLUSTER=tcp://host:port: a scheduler and a worker started like a class's extra machines."""
    import socket
    import subprocess
    import sys

    data_file("mnist.npz")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "scheduler.log", "w"))
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--nworkers", "1", "--dashboard-address", "127.0.0.1:0"],
                              env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "w"))
    remote = TrainingCluster(ClusterParams(address=address))
    try:
        monkeypatch.delenv("HDR_TRAIN_CLUSTER", raising=False)
        assert ClusterParams.from_env(2).address is None
        monkeypatch.setenv("HDR_TRAIN_CLUSTER", address)
        assert ClusterParams.from_env(2).address == address
        remote.client()
        wait_until(lambda: remote.workers() >= 1, 60, "the worker to join")
        job = TrainingJob(tiny_config(), slots=TrainingSlots(1), cluster=remote).start()
        assert job.join(TIMEOUT) and job.status == FINISHED, job.snapshot().error
        (run,) = job.finished_runs()
        assert run.worker.startswith("tcp://127.0.0.1") and run.lite_bytes and remote.worker_pids() == []
        assert "the Dask scheduler at" in remote.description
    finally:
        remote.close()
        for process in (worker, scheduler):
            process.terminate()
            process.wait(30)


def test_workers_do_not_rerun_the_apps_script(monkeypatch, tmp_path):
    """Inside `streamlit run`, sys.modules["__main__"] is the app's page script: spawn must not re-run it."""
    import multiprocessing.spawn as spawn
    import sys
    import types

    from hdr_core.cluster import _spawn_without_main_module

    script = tmp_path / "app.py"
    script.write_text("raise SystemExit('a worker ran the app')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    _spawn_without_main_module()
    data = spawn.get_preparation_data("worker")
    assert "init_main_from_path" not in data and "init_main_from_name" not in data
    assert data["sys_path"] == sys.path  # everything else as before
