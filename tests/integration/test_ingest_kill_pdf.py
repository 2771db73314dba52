"""SIGKILL inside one large PDF: each kill loses at most one small batch, and the resumed
ingest ends with exactly the expected chunks."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from assistant.index.store import close_clients
from tests.conftest import make_settings
from tests.index_helpers import expected_chunk_ids, stored_point_ids
from tests.integration.test_ingest_batches import minutes_pdf

pytestmark = [pytest.mark.model, pytest.mark.slow]
BATCH = 8


def stored(settings) -> int:
    count = len(stored_point_ids(settings))
    close_clients()  # release the folder lock for the next subprocess
    return count


def test_sigkill_inside_a_large_pdf_then_resume(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    minutes_pdf(corpus / "proces-verbaux.pdf", pages=40)  # 120 chunks, one file
    data = tmp_path / "data"
    settings = make_settings(data)
    expected = expected_chunk_ids(corpus, settings)
    env = {
        **os.environ,
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_MODELS_PATH": str(settings.models_dir),
        "GUICHET_INGEST_BATCH_CHUNKS": str(BATCH),
    }
    cmd = [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--json"]
    rng = random.Random(20261202)
    docstore = settings.docstore_file()
    counts = [0]
    for _ in range(4):
        before = docstore.stat().st_mtime_ns if docstore.exists() else 0
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill at a random point after this run saved its first batch: inside the PDF,
        # whatever the speed of the machine.
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if docstore.exists() and docstore.stat().st_mtime_ns != before:
                time.sleep(rng.uniform(0.0, 3.0))
                break
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(stored(settings))
    assert 0 < counts[-1] < len(expected), f"the kills did not land inside the PDF: {counts}"
    assert counts == sorted(counts), f"a kill lost stored chunks: {counts}"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    # Everything saved before the last kill was kept: the resume re-embeds at most the one
    # batch that was in Qdrant but not yet recorded.
    assert report["chunks_written"] <= len(expected) - counts[-1] + BATCH, (report, counts)
    ids = stored_point_ids(settings)
    close_clients()
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
