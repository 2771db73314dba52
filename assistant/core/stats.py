"""The one percentile of the project: the desk's analytics, the eval reports and the benches."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float, *, interpolate: bool = False) -> float | None:
    """The ``q``-th percentile (``q`` in 0..100) of ``values``; None when there are none.

    Nearest rank by default, so that the figure is a value that was measured (a latency some
    citizen really waited). ``interpolate`` is the linear method (numpy's default) that the
    benchmarks have always reported, kept so that their figures compare from run to run.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    n = len(ordered)
    if not interpolate:
        return ordered[max(1, min(n, math.ceil(q / 100 * n))) - 1]
    k = (n - 1) * q / 100
    lo = math.floor(k)
    hi = min(lo + 1, n - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
