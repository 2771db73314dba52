"""Nothing reaches the network: ingest, search and a whole answer with non-loopback blocked."""

from __future__ import annotations

import shutil

import pytest

from assistant.pipeline import Assistant
from assistant.retrieval.retrieve import HybridRetriever
from ingest.pipeline import ingest
from tests.conftest import DEMO, make_settings
from tests.netguard import NetworkAttempt, loopback_only

pytestmark = pytest.mark.model


def test_guard_really_blocks():
    import socket

    with loopback_only() as attempts, pytest.raises(NetworkAttempt):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert attempts


def test_ingest_search_ask_without_network(tmp_path, small_llm):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO / "mediatheque.md", corpus)
    settings = make_settings(tmp_path / "data", llm_path=small_llm, llm_max_tokens=60)
    with loopback_only() as attempts:
        report = ingest([corpus], settings, progress=False)
        chunks = HybridRetriever(settings).search("horaires de la médiathèque", 3)
        answer = Assistant(settings).ask("Quels sont les horaires de la médiathèque ?")
    assert report.count("ok") == 1 and chunks
    assert answer.verdict is not None
    assert attempts == []
