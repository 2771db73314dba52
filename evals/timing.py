"""Wall-clock timing for the evals and benches: one way to time a call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, float]:
    """``fn(*args, **kwargs)`` and the seconds it took (``perf_counter``: monotonic, fine)."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def seconds(fn: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> float:
    """The seconds ``fn(*args, **kwargs)`` took, its result dropped."""
    return timed(fn, *args, **kwargs)[1]
