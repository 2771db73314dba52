"""An ingest killed with SIGKILL at random points resumes to exactly the expected chunks, with
either embedded engine (qdrant-client local mode, Qdrant's edge engine)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from assistant.index.store import close_clients
from tests.conftest import DEMO, make_settings
from tests.index_helpers import expected_chunk_ids, stored_point_ids

pytestmark = [pytest.mark.model, pytest.mark.slow]


def stored_ids(settings) -> list[str]:
    ids = stored_point_ids(settings)
    close_clients()  # release the folder lock for the next subprocess
    return ids


@pytest.mark.parametrize("engine", ["local", "edge"])
def test_sigkill_at_random_points_then_resume(tmp_path, engine):
    data = tmp_path / "data"
    settings = make_settings(data, qdrant_engine=engine)
    env = {
        **os.environ,
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_QDRANT_ENGINE": engine,
        "GUICHET_MODELS_PATH": str(settings.models_dir),
        "GUICHET_INGEST_BATCH_DOCS": "4",
    }
    cmd = [sys.executable, "-m", "ui.cli", "ingest", str(DEMO)]
    rng = random.Random(20261129)
    kills = 0
    for _ in range(10):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 8.0))  # start-up ~2-4 s, demo ingest ~10-30 s
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    ids = stored_ids(settings)
    assert kills >= 5, "the kills did not land during ingestion; widen the delays"
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_chunk_ids(DEMO, settings)
