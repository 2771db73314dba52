"""Qdrant contract: the same test bodies in local mode (always) and on a server or cluster.

The ``server`` variant runs against ``GUICHET_QDRANT_URL`` (and ``GUICHET_QDRANT_API_KEY``) when
set, in a throwaway collection deleted afterwards; otherwise it is skipped with that reason (no
Qdrant server can be installed on the development machines). Shard number, replication factor
and write consistency come from ``GUICHET_QDRANT_SHARDS`` / ``_REPLICATION`` /
``_WRITE_CONSISTENCY`` like in production.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from assistant.index.store import DENSE, PAYLOAD_INDEXES, SPARSE, get_client
from assistant.retrieval.retrieve import HybridRetriever
from ingest.pipeline import ingest
from tests.conftest import DEMO, make_settings
from tests.index_helpers import stored_point_ids

pytestmark = pytest.mark.model

QDRANT_URL = os.environ.get("GUICHET_QDRANT_URL")
FILES = ("piscine-municipale.md", "mediatheque.md", "stationnement.md")
NO_SERVER = "GUICHET_QDRANT_URL not set: no Qdrant server here (local mode covers the contract)"


def doc_ids(settings) -> set[str]:
    points, _ = get_client(settings).scroll(settings.index.collection, limit=1000)
    return {str(p.payload["doc_id"]) for p in points if p.payload}


@pytest.fixture(
    scope="module",
    params=[
        "local",
        pytest.param("server", marks=pytest.mark.skipif(not QDRANT_URL, reason=NO_SERVER)),
    ],
)
def target(request, tmp_path_factory):
    """(settings, corpus folder, first ingest report) for one storage mode."""
    root: Path = tmp_path_factory.mktemp(f"qdrant-{request.param}")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in FILES:
        shutil.copy(DEMO / name, corpus / name)
    overrides: dict = {}
    if request.param == "server":
        overrides = {
            "qdrant_url": QDRANT_URL,
            "collection": f"guichet_contract_{uuid.uuid4().hex[:8]}",
        }
    settings = make_settings(root / "data", **overrides)
    report = ingest([corpus], settings, progress=False)
    assert not report.failed, report.failed
    yield settings, corpus, report
    if request.param == "server":
        get_client(settings).delete_collection(settings.index.collection)


def test_collection_schema(target):
    settings, _, _ = target
    info = get_client(settings).get_collection(settings.index.collection)
    params = info.config.params
    assert isinstance(params.vectors, dict) and DENSE in params.vectors
    assert params.vectors[DENSE].size == 384
    assert str(params.vectors[DENSE].distance).lower().endswith("cosine")
    assert params.sparse_vectors is not None
    assert str(params.sparse_vectors[SPARSE].modifier).lower().endswith("idf")
    if settings.index.qdrant_url:  # cluster parameters and payload indexes exist on a server only
        assert params.shard_number == settings.index.qdrant_shards
        assert params.replication_factor == settings.index.qdrant_replication
        assert params.write_consistency_factor == settings.index.qdrant_write_consistency
        assert set(PAYLOAD_INDEXES) <= set(info.payload_schema)


def test_hybrid_search_returns_citable_chunks(target):
    settings, _, report = target
    assert report.count("ok") == len(FILES) and report.chunks_written >= len(FILES)
    assert len(stored_point_ids(settings)) == report.chunks_written
    retriever = HybridRetriever(settings)
    chunks = retriever.search("tarif de l'entrée adulte à la piscine", 3)
    top = chunks[0]
    assert top.doc_id == "piscine-municipale.md"
    assert top.dense_score is not None and top.sparse_score is not None
    assert top.title and top.url and top.chunk_id and top.text
    sparse_only = retriever.search("abonnement médiathèque", 3, mode="sparse")
    assert sparse_only[0].doc_id == "mediatheque.md"  # IDF computed by Qdrant


def test_payload_filter_by_service(target):
    settings, _, _ = target
    retriever = HybridRetriever(settings)
    chunks = retriever.search("horaires et tarifs", 5, service="Sports")
    assert chunks and {c.service for c in chunks} == {"Sports"}
    assert {c.doc_id for c in chunks} == {"piscine-municipale.md"}


def test_reingest_unchanged_writes_nothing_then_prune(target):
    settings, corpus, _ = target
    before = sorted(stored_point_ids(settings))
    again = ingest([corpus], settings, progress=False)
    assert again.count("unchanged") == len(FILES) and again.chunks_written == 0
    assert sorted(stored_point_ids(settings)) == before

    (corpus / "stationnement.md").unlink()
    pruned = ingest([corpus], settings, prune=True, progress=False)
    assert pruned.count("pruned") == 1
    assert doc_ids(settings) == {"piscine-municipale.md", "mediatheque.md"}
    assert len(stored_point_ids(settings)) < len(before)
