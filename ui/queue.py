"""A bounded FIFO in front of the model: one answer is generated at a time (one llama.cpp
instance per process), the others wait their turn and are told their position; when too many
are waiting, new work is refused at once with a retry delay instead of piling up.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class QueueFull(RuntimeError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"queue full, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Waiting:
    position: int  # 1 = next to be served


class WorkQueue:
    """``seconds_per_job`` is only the guess before any job finished: ``retry_after`` uses the
    median duration of the last ``RECENT_JOBS`` finished jobs (answers on CPU take from a few
    seconds to two minutes, depending on the model and the machine)."""

    RECENT_JOBS = 20

    def __init__(
        self,
        max_waiting: int = 8,
        concurrency: int = 1,
        seconds_per_job: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_waiting = max_waiting
        self.concurrency = concurrency
        self.seconds_per_job = seconds_per_job
        self._clock = clock
        self._durations: deque[float] = deque(maxlen=self.RECENT_JOBS)
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0  # lowest ticket not yet started
        self._active = 0
        self._waiting = 0
        self._skipped: set[int] = set()  # tickets abandoned while waiting

    @property
    def depth(self) -> int:
        return self._waiting

    @property
    def active(self) -> int:
        return self._active

    @property
    def recent_job_seconds(self) -> float:
        """Median duration of the recently finished jobs (the initial guess before any)."""
        return statistics.median(self._durations) if self._durations else self.seconds_per_job

    def retry_after(self) -> int:
        """Seconds until the jobs ahead of a newcomer are done: the waiting ones and those
        being served, at the recent pace."""
        ahead = self._waiting + self._active
        return max(1, math.ceil(self.recent_job_seconds * ahead / self.concurrency))

    def stream(self, work: Callable[[], Iterator[T]]) -> Iterator[Waiting | T]:
        """Yield ``Waiting`` while queued (each time the position changes), then ``work()``'s
        items. Raises ``QueueFull`` immediately when the waiting line is full."""
        with self._cond:
            if self._waiting >= self.max_waiting:
                raise QueueFull(self.retry_after())
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting += 1
        started = False
        finished = False
        began = 0.0
        try:
            last = -1
            while True:
                with self._cond:
                    if ticket == self._serving and self._active < self.concurrency:
                        self._serving += 1
                        self._active += 1
                        self._waiting -= 1
                        started = True
                        began = self._clock()
                        self._cond.notify_all()
                        break
                    position = ticket - self._serving + 1
                    if position == last:
                        self._cond.wait(timeout=1.0)
                        continue
                last = position
                yield Waiting(position)
            yield from work()
            finished = True
        finally:
            with self._cond:
                if started:
                    self._active -= 1
                    if finished:  # an answer stopped by its client says nothing of the pace
                        self._durations.append(self._clock() - began)
                else:  # abandoned while waiting: give the turn away without running
                    self._waiting -= 1
                    if ticket == self._serving:
                        self._serving += 1
                    else:
                        self._skipped.add(ticket)
                self._advance_over_skipped()
                self._cond.notify_all()

    def _advance_over_skipped(self) -> None:
        while self._serving in self._skipped:
            self._skipped.discard(self._serving)
            self._serving += 1

    def run(self, work: Callable[[], T]) -> T:
        """Blocking form: wait for the turn, run ``work`` and return its result."""
        result: list[T] = []

        def once() -> Iterator[T]:
            result.append(work())
            yield result[0]

        for _ in self.stream(once):
            pass
        return result[0]
