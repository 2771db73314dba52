"""Wall-clock timing for the evals and benches: a call (``timed``, ``seconds``) or a span that
is not one call (``Stopwatch``), all on ``perf_counter`` (monotonic, high resolution)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Stopwatch:
    """Seconds since it was made: a whole run, a dataset, a stage of several calls."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._start


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` and the seconds it took."""
    clock = Stopwatch()
    result = fn(*args, **kwargs)
    return result, clock.seconds


def seconds(fn: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> float:
    """The seconds ``fn(*args, **kwargs)`` took, its result dropped."""
    return timed(fn, *args, **kwargs)[1]
