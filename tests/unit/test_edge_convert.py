"""qdrant-client models to qdrant-edge objects and back (no shard opened)."""

from __future__ import annotations

import types
import uuid

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client.http import models as qm

from assistant.index import edge_convert as conv


def test_the_filters_guichet_sends_are_converted_field_by_field():
    service = qm.Filter(
        must=[qm.FieldCondition(key="service", match=qm.MatchValue(value="Sports"))]
    )
    by_doc = qm.Filter(
        must=[qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=["a.md", "b.md"]))],
        must_not=[qm.HasIdCondition(has_id=[7])],
        should=[qm.FieldCondition(key="page", range=qm.Range(gte=2, lt=5))],
    )
    edge = conv.filter_(service)
    assert edge is not None and edge.must is not None
    assert (edge.must[0].key, edge.must[0].match.value) == ("service", "Sports")
    edge = conv.filter_(by_doc)
    assert edge is not None and edge.must and edge.must_not and edge.should
    assert edge.must[0].match.value == ["a.md", "b.md"]
    assert edge.must_not[0].point_ids == {7}
    assert (edge.should[0].range.gte, edge.should[0].range.lt) == (2, 5)
    nested = conv.filter_(qm.Filter(must=[service]))
    assert nested is not None and nested.must is not None
    assert nested.must[0].must[0].key == "service"
    assert conv.filter_(None) is None


@pytest.mark.parametrize(
    "condition",
    [
        qm.FieldCondition(
            key="geo", geo_radius=qm.GeoRadius(center=qm.GeoPoint(lon=3.8, lat=43.6), radius=9)
        ),
        qm.FieldCondition(key="tags", values_count=qm.ValuesCount(gt=1)),
        qm.FieldCondition(key="text", match=qm.MatchPhrase(phrase="carte grise")),
    ],
)
def test_a_filter_it_cannot_convert_fails_instead_of_widening(condition):
    with pytest.raises(NotImplementedError):
        conv.filter_(qm.Filter(must=[condition]))


def test_min_should_and_multi_stage_queries_are_refused():
    with pytest.raises(NotImplementedError):
        conv.filter_(qm.Filter(min_should=qm.MinShould(conditions=[], min_count=1)))
    with pytest.raises(NotImplementedError):
        conv.query_request(query=[1.0], using="dense", prefetch=[qm.Prefetch(query=[1.0])])


def test_point_ids_are_normalised_like_qdrant():
    raw = uuid.uuid4()
    assert conv.point_id(str(raw).upper()) == str(raw)
    assert conv.point_id(raw) == str(raw)
    assert conv.point_id(12) == 12
    with pytest.raises(ValueError):
        conv.point_id("chunk-1")
    assert conv.out_id(raw) == str(raw) and conv.out_id(3) == 3


def test_vectors_go_in_and_come_back_out_unchanged():
    vector = {
        "dense": np.array([0.25, 0.5], dtype=np.float32),
        "bm25": qm.SparseVector(indices=[3, 9], values=[1.0, 2.0]),
    }
    edge = conv.vector_in(vector)
    assert edge["dense"] == [0.25, 0.5]
    assert (edge["bm25"].indices, edge["bm25"].values) == ([3, 9], [1.0, 2.0])
    back = conv.vector_out(edge)
    assert back == {
        "dense": [0.25, 0.5],
        "bm25": qm.SparseVector(indices=[3, 9], values=[1.0, 2.0]),
    }
    with pytest.raises(NotImplementedError):
        conv.points(qm.Batch(ids=[1], vectors=[[0.1]]))


def test_the_hybrid_batch_requests_keep_limit_vector_and_filter():
    request = qm.QueryRequest(
        query=qm.SparseVector(indices=[1], values=[1.0]),
        using="bm25",
        limit=30,
        filter=qm.Filter(
            must=[qm.FieldCondition(key="service", match=qm.MatchValue(value="CCAS"))]
        ),
        with_payload=True,
    )
    edge = conv.batch_request(request)
    assert edge.limit == 30 and edge.with_payload is True
    assert "bm25" in repr(edge.query) and "CCAS" in repr(edge.filter)
    dense = conv.query_request(query=[0.5, 0.5], using="dense", limit=4, with_payload=["doc_id"])
    assert dense.limit == 4 and "dense" in repr(dense.query) and dense.with_payload == ["doc_id"]


def test_collection_info_reports_the_stored_vector_config():
    stored = {
        "vectors": {
            "dense": qm.VectorParams(size=384, distance=qm.Distance.COSINE).model_dump(mode="json")
        },
        "sparse_vectors": {
            "bm25": qm.SparseVectorParams(modifier=qm.Modifier.IDF).model_dump(mode="json")
        },
    }
    shard = types.SimpleNamespace(indexed_vectors_count=0, points_count=12, segments_count=1)
    info = conv.collection_info(stored, shard)  # type: ignore[arg-type]
    assert info.points_count == 12
    assert info.config.params.vectors["dense"].size == 384  # type: ignore[index,union-attr]
    assert info.config.params.sparse_vectors["bm25"].modifier == qm.Modifier.IDF  # type: ignore[index]
    config = conv.edge_config(
        {"dense": qm.VectorParams(size=384, distance=qm.Distance.COSINE)},
        {"bm25": qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
    )
    assert config.vectors["dense"].size == 384
    assert config.sparse_vectors["bm25"].modifier == qe.Modifier.Idf


def test_bm25_statistics_are_asked_over_the_live_points():
    """Qdrant's global IDF counts deleted points until a segment is rebuilt; local mode counts
    the live ones, so a sparse query on an IDF vector names every point as its corpus."""
    sparse = qm.SparseVector(indices=[4], values=[1.0])
    idf = frozenset({"bm25"})
    asked = conv.query_request(query=sparse, using="bm25", idf_vectors=idf)
    assert asked.params is not None and asked.params.idf is not None
    assert asked.params.idf.corpus is not None and asked.params.idf.corpus.must_not
    assert conv.query_request(query=sparse, using="bm25").params is None  # no IDF modifier
    dense = conv.query_request(query=[0.1, 0.2], using="dense", idf_vectors=idf)
    assert dense.params is None
