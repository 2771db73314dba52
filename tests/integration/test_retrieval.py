"""Hybrid retrieval over the demo corpus in a real Qdrant with the real embedder."""

from __future__ import annotations

import pytest

from assistant.index.store import DENSE, SPARSE, get_client
from assistant.retrieval.retrieve import HybridRetriever

pytestmark = pytest.mark.model

CASES = [
    ("horaires de la piscine le mercredi", "piscine-municipale.md"),
    ("comment refaire mon passeport", "carte-identite-passeport.md"),
    ("ou jeter un vieux canapé", "encombrants-dechetterie.md"),
    ("prix de la cantine pour mon fils", "cantine-scolaire.md"),
    ("s'inscrire sur les listes électorales", "elections-listes-electorales.md"),
]


@pytest.fixture(scope="module")
def retriever(demo_settings):
    return HybridRetriever(demo_settings)


def test_collection_has_named_dense_and_idf_sparse_vectors(demo_settings):
    info = get_client(demo_settings).get_collection(demo_settings.index.collection)
    assert DENSE in info.config.params.vectors
    sparse = info.config.params.sparse_vectors[SPARSE]
    assert str(sparse.modifier).lower().endswith("idf")


@pytest.mark.parametrize(("question", "doc"), CASES)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_expected_page_in_top3(retriever, question, doc, mode):
    if mode == "sparse" and "canapé" in question:
        pytest.skip("no shared word with the page: BM25 alone cannot, hybrid must (tested)")
    chunks = retriever.search(question, 3, mode=mode)
    assert doc in [c.doc_id for c in chunks], [c.doc_id for c in chunks]


def test_hybrid_keeps_both_raw_scores_and_sources(retriever):
    chunks = retriever.search("tarif de la piscine pour un adulte", 5)
    top = chunks[0]
    assert top.dense_score is not None and top.sparse_score is not None
    assert top.title and top.url and top.doc_id == "piscine-municipale.md"
    assert [c.score for c in chunks] == sorted((c.score for c in chunks), reverse=True)


def test_service_filter(retriever):
    chunks = retriever.search("horaires", 5, service="Sports")
    assert chunks and all(c.service == "Sports" for c in chunks)


def test_accents_and_typos_still_match(retriever):
    # typed without accents nor apostrophe: BM25 must still meet "carte d'identité"
    chunks = retriever.search("carte identite passeport", 3, mode="sparse")
    assert chunks[0].doc_id == "carte-identite-passeport.md"
