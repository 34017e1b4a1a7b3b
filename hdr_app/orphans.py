"""Trainings nobody watches any more are cancelled, so the slot they hold goes to the next student.

A student who starts a training and closes the tab would otherwise keep a worker busy, and hold the
only slot of a small server, for a training nobody will see. :class:`OrphanWatch` checks every few
seconds whether the browser session that owns each job (``TrainingJob.owner``) is still connected, and
cancels a job whose session has been gone for ``grace`` seconds. A student who merely switches page,
or reloads the tab (the new session adopts the job: ``hdr_app.tab_memory``), keeps their training.

No Streamlit here: the app passes ``is_alive`` (Streamlit's runtime knows which sessions are connected).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OrphanParams", "OrphanWatch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrphanParams:
    """How soon a job whose browser session is gone is cancelled.

    Attributes
    ----------
    grace : float
        Seconds a session may be gone before its job is cancelled (a reload or a network hiccup is shorter).
    period : float
        Seconds between checks; a job is cancelled at most ``grace + period`` after its tab closed.
    """

    grace: float = 30.0
    period: float = 5.0


class OrphanWatch:
    """Watches training jobs and cancels those whose owner's session has gone.

    Parameters
    ----------
    is_alive : callable
        ``owner -> bool``: whether that browser session is still connected.
    params : OrphanParams, optional
    """

    def __init__(self, is_alive: Callable[[str], bool], params: OrphanParams | None = None):
        self.params = params or OrphanParams()
        self._is_alive = is_alive
        self._lock = threading.Lock()
        self._jobs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # job -> monotonic time gone, or None
        self._thread: threading.Thread | None = None
        self.cancelled = 0  # jobs cancelled so far (for the logs and tests)

    def watch(self, job) -> None:
        """Start watching ``job`` (a ``TrainingJob`` whose ``owner`` is set); it is dropped once done."""
        with self._lock:
            self._jobs[job] = None

    def watching(self) -> int:
        """Jobs watched now."""
        with self._lock:
            return len(self._jobs)

    def check(self, now: float | None = None) -> list:
        """One pass: cancel the jobs whose owner has been gone ``grace`` seconds; returns them."""
        now = time.monotonic() if now is None else now
        ended = []
        with self._lock:
            jobs = list(self._jobs.items())
        for job, gone_since in jobs:
            if job.done:
                with self._lock:
                    self._jobs.pop(job, None)
                continue
            try:
                alive = job.owner is None or bool(self._is_alive(job.owner))
            except Exception:  # noqa: BLE001 - when in doubt, the student keeps their training
                log.exception("could not tell whether session %s is connected", job.owner)
                alive = True
            if alive:
                gone_since = None
            elif gone_since is None:
                gone_since = now
            elif now - gone_since >= self.params.grace:
                job.cancel("the browser tab that started it was closed")
                log.info("cancelled a training of session %s: its tab has been closed for %.0f s",
                         job.owner, now - gone_since)
                ended.append(job)
                self.cancelled += 1
                with self._lock:
                    self._jobs.pop(job, None)
                continue
            with self._lock:
                if job in self._jobs:
                    self._jobs[job] = gone_since
        return ended

    def start(self) -> OrphanWatch:
        """Check every ``params.period`` seconds in a daemon thread (once); returns the watch."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="hdr-orphan-watch", daemon=True)
                self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            time.sleep(self.params.period)
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watch must outlive any one bad job
                log.exception("orphan watch pass failed")
