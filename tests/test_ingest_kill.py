"""An ingest killed with SIGKILL at random points resumes to exactly the expected chunks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from assistant.store import close_clients, get_client
from ingest.chunking import SectionChunker
from ingest.loaders import load_file
from ingest.pipeline import discover
from tests.conftest import DEMO, make_settings

pytestmark = [pytest.mark.model, pytest.mark.slow]


def expected_ids(settings) -> set[str]:
    chunker = SectionChunker(
        chunk_chars=settings.chunk_chars, overlap_chars=settings.chunk_overlap_chars
    )
    docs = []
    for file, root in discover([DEMO]):
        docs += load_file(file, root, max_bytes=10**8).documents
    return {n.node_id for n in chunker(docs)}


def stored_ids(settings) -> list[str]:
    client = get_client(settings)
    out, offset = [], None
    while True:
        points, offset = client.scroll(settings.collection, limit=256, offset=offset)
        out += [str(p.id) for p in points]
        if offset is None:
            break
    close_clients()  # release the folder lock for the next subprocess
    return out


def test_sigkill_at_random_points_then_resume(tmp_path):
    data = tmp_path / "data"
    settings = make_settings(data)
    env = {
        **os.environ,
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_MODELS_PATH": str(settings.models_dir),
        "GUICHET_INGEST_BATCH_DOCS": "4",
    }
    cmd = [sys.executable, "-m", "assistant.cli", "ingest", str(DEMO)]
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
    assert set(ids) == expected_ids(settings)
