"""assistant.core.stats.percentile: nearest rank (desk, eval reports) and linear (benches)."""

import numpy as np
import pytest

from assistant.core.stats import percentile


def test_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.parametrize("q", [0, 5, 50, 95, 100])
def test_interpolated_is_numpy_linear(q):
    values = [0.3, 7.1, 2.2, 9.9, 4.4, 1.0, 6.5]
    assert percentile(values, q, interpolate=True) == pytest.approx(np.percentile(values, q))
