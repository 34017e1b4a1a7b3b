"""The server-wide limit on concurrent trainings, with each waiting student's place and expected wait.

No Streamlit here: the Train page keeps one :class:`TrainingSlots` in ``st.cache_resource`` (shared by
every session of the server) and each ``hdr_app.train.jobs.TrainingJob`` waits on it before a run.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["DEFAULT_SECONDS_PER_IMAGE", "TrainingSlots"]

# Seconds one training image costs per epoch before this server has timed one of its own runs (a
# mid-sized CNN on two shared CPU cores); each finished run replaces it with what it measured.
DEFAULT_SECONDS_PER_IMAGE = 2.5e-4


class TrainingSlots:
    """A server-wide limit on how many trainings run at once, first come first served.

    Like a ``threading.BoundedSemaphore`` of ``limit`` permits, plus a FIFO queue so that a waiting
    job knows its place in line and the first to ask is the first served (a semaphore promises
    neither), and an estimate of each job's wait (:meth:`expected_wait`) from how long the runs ahead
    are expected to take. Waiting can be cancelled (the user pressed Stop, or closed the tab).

    Parameters
    ----------
    limit : int
        Trainings allowed at once, >= 1.
    """

    def __init__(self, limit: int = 1):
        if int(limit) != limit or limit < 1:
            raise ValueError(f"limit must be a whole number >= 1, got {limit!r}")
        self.limit = int(limit)
        self._cond = threading.Condition()
        self._running: set[int] = set()
        self._queue: deque[int] = deque()
        self._tickets = iter(range(1, 2**62))
        self._estimate: dict[int, float] = {}  # ticket -> expected seconds of its run
        self._remaining: dict[int, Callable[[], float | None]] = {}  # running ticket -> seconds left
        self._started: dict[int, float] = {}
        self.seconds_per_image = DEFAULT_SECONDS_PER_IMAGE

    def acquire(
        self,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        on_wait: Callable[[int], None] | None = None,
        poll: float = 0.2,
        estimate: float | None = None,
        remaining: Callable[[], float | None] | None = None,
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
        estimate : float, optional
            Seconds this run is expected to take (see :meth:`estimate_seconds`), for the others' waits.
        remaining : callable, optional
            Once running, returns the seconds it has left (None when unknown); refines the others' waits.

        Returns
        -------
        ticket : int or None
            Pass it to :meth:`release` when the training ends; None when cancelled.
        """
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            if estimate is not None:
                self._estimate[ticket] = float(estimate)
            last_ahead = None
            try:
                while True:
                    if cancelled():
                        return None
                    ahead = self._queue.index(ticket)
                    if ahead == 0 and len(self._running) < self.limit:
                        self._queue.popleft()
                        self._running.add(ticket)
                        self._started[ticket] = time.monotonic()
                        if remaining is not None:
                            self._remaining[ticket] = remaining
                        return ticket
                    if on_wait is not None and ahead != last_ahead:
                        on_wait(ahead)
                    last_ahead = ahead
                    self._cond.wait(timeout=poll)
            finally:
                if ticket in self._queue:  # cancelled (or interrupted): leave the line
                    self._queue.remove(ticket)
                    self._estimate.pop(ticket, None)
                self._cond.notify_all()

    def release(self, ticket: int) -> None:
        """Give back the slot ``ticket`` holds; raises RuntimeError for a ticket that holds none."""
        with self._cond:
            if ticket not in self._running:
                raise RuntimeError(f"ticket {ticket!r} does not hold a training slot")
            self._running.remove(ticket)
            for table in (self._estimate, self._remaining, self._started):
                table.pop(ticket, None)
            self._cond.notify_all()

    def learn(self, seconds: float, images: int) -> None:
        """Remember what a finished run cost (``seconds`` of fitting for ``images`` image-epochs)."""
        if seconds > 0 and images > 0:
            with self._cond:
                measured = seconds / images
                self.seconds_per_image = 0.5 * self.seconds_per_image + 0.5 * measured

    def estimate_seconds(self, images: int, epochs: int) -> float:
        """Expected seconds of a run over ``images`` training images for ``epochs`` epochs on this server."""
        return max(1.0, self.seconds_per_image * max(0, images) * max(1, epochs))

    def expected_wait(self, ticket_ahead: int) -> float | None:
        """Seconds until a job with ``ticket_ahead`` jobs before it in line gets a slot; None when unknown.

        The running runs' time left (their ``remaining``, else their estimate less their time so far) and
        the estimates of the runs ahead, shared out over ``limit`` slots.
        """
        with self._cond:
            now = time.monotonic()
            finishing: list[float] = []
            for ticket in self._running:
                left = None
                if ticket in self._remaining:
                    try:
                        left = self._remaining[ticket]()
                    except Exception:  # noqa: BLE001 - an estimate must never break the page
                        left = None
                if left is None and ticket in self._estimate:
                    left = max(0.0, self._estimate[ticket] - (now - self._started.get(ticket, now)))
                if left is None:
                    return None
                finishing.append(float(left))
            finishing += [0.0] * (self.limit - len(finishing))
            heapq.heapify(finishing)
            for ticket in list(self._queue)[:ticket_ahead]:
                if ticket not in self._estimate:
                    return None
                heapq.heappush(finishing, heapq.heappop(finishing) + self._estimate[ticket])
            return finishing[0]

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
