"""The edge engine (qdrant-edge-py) behind the store interface, with the real embedder on three
demo pages: ingest, hybrid search equal to local mode's, service filter, removal, reopening, the
folder lock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.index.edge_store import edge_backend
from assistant.index.store import (
    DENSE,
    SPARSE,
    StoreError,
    close_clients,
    count_points,
    ensure_collection,
    get_client,
)
from assistant.retrieval.retrieve import HybridRetriever
from ingest.pipeline import ingest
from tests.conftest import make_settings
from tests.integration.test_ingest import small_corpus

pytestmark = pytest.mark.model

QUESTIONS = ["horaires de la piscine", "emprunter des livres", "stationnement résident tarif"]


@pytest.fixture()
def engines(tmp_path):
    """The same three pages ingested into local mode and into the edge engine."""
    corpus = small_corpus(tmp_path)
    out = {}
    for engine in ("local", "edge"):
        settings = make_settings(tmp_path / engine, qdrant_engine=engine)
        report = ingest([corpus], settings, progress=False)
        assert report.count("ok") == 3 and not report.failed
        out[engine] = settings
    yield corpus, out
    close_clients()


def stored_point_ids(settings) -> list[str]:
    points, _ = get_client(settings).scroll(settings.index.collection, limit=1000)
    return [str(p.id) for p in points]


def ranked(retriever: HybridRetriever, question: str, **kw) -> list[tuple[str, float]]:
    return [(c.chunk_id, round(c.score, 4)) for c in retriever.search(question, 5, **kw)]


def test_edge_searches_like_local_mode(engines):
    _, s = engines
    edge, local = s["edge"], s["local"]
    assert edge.qdrant_folder == edge.paths.data_dir / "qdrant-edge"
    assert (edge.qdrant_folder / edge.index.collection / "shard").is_dir()
    assert sorted(stored_point_ids(edge)) == sorted(stored_point_ids(local))
    info = get_client(edge).get_collection(edge.index.collection)
    assert DENSE in info.config.params.vectors and SPARSE in info.config.params.sparse_vectors
    r_local = HybridRetriever(local)
    r_edge = HybridRetriever(edge, embedder=r_local.embedder)
    for question in QUESTIONS:
        assert ranked(r_edge, question) == ranked(r_local, question), question
        for mode in ("dense", "sparse"):
            assert ranked(r_edge, question, mode=mode) == ranked(r_local, question, mode=mode)
    # the relevance gate's term statistics come from a scroll over the sparse vectors
    assert r_edge.term_stats().points == r_local.term_stats().points > 0
    assert r_edge.term_stats().df == r_local.term_stats().df


def test_service_filter_removal_and_reopening(engines):
    corpus, s = engines
    settings = s["edge"]
    retriever = HybridRetriever(settings)
    sports = retriever.search("horaires", 5, service="Sports")
    assert sports and {c.service for c in sports} == {"Sports"}
    before = count_points(settings, settings.index.collection)

    (corpus / "piscine-municipale.md").unlink()
    pruned = ingest([corpus], settings, prune=True, progress=False)
    assert pruned.count("pruned") == 1
    assert retriever.search("horaires", 5, service="Sports") == []
    assert "piscine-municipale.md" not in {c.doc_id for c in retriever.search("piscine", 5)}
    after = count_points(settings, settings.index.collection)
    assert 0 < after < before

    expected = ranked(retriever, "emprunter des livres")
    close_clients()  # a new process would open the folder again: same points, same answers
    with pytest.raises(RuntimeError, match="closed"):
        retriever.search("emprunter des livres", 5)
    reopened = HybridRetriever(settings)
    assert count_points(settings, settings.index.collection) == after
    assert ranked(reopened, "emprunter des livres") == expected


def test_folder_held_by_another_process_is_a_store_error(engines):
    _, s = engines
    settings = s["edge"]
    close_clients()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from assistant.index.edge_store import edge_client;"
            "held = edge_client(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)",
            str(settings.qdrant_folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match="in use by another guichet process"):
            get_client(settings)
    finally:
        holder.kill()
        holder.wait()
    assert count_points(settings, settings.index.collection) > 0  # holder gone: data all there


def test_switching_an_ingested_folder_to_edge_copies_its_points_once(engines):
    """Local mode's collection in the same data folder is adopted on the edge engine's first
    use (the docstore already lists the pages: a re-ingest must not find an empty index); a copy
    killed midway (a staging collection left behind) is started again."""
    corpus, s = engines
    local = s["local"]
    expected = sorted(stored_point_ids(local))
    close_clients()  # local mode's folder lock
    edge = local.model_copy(update={"qdrant_engine": "edge"})
    backend = edge_backend(get_client(edge))
    assert backend is not None
    staging = f"{edge.index.collection}.adopting"
    ensure_collection(get_client(edge), edge, staging, 384)  # as if killed while copying
    retriever = HybridRetriever(edge)
    assert sorted(stored_point_ids(edge)) == expected
    assert not get_client(edge).collection_exists(staging)
    again = ingest([corpus], edge, progress=False)
    assert again.count("unchanged") == 3 and again.chunks_written == 0
    assert retriever.search("horaires de la piscine", 5)[0].doc_id == "piscine-municipale.md"
    assert (local.qdrant_folder / "collection" / local.index.collection).is_dir()  # left as is
