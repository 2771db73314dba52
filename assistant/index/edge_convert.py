"""qdrant-client models to and from ``qdrant_edge`` objects, for ``edge_store.EdgeBackend``.

Only what guichet and llama-index send is converted (named dense and sparse vectors, keyword /
integer / range / id / emptiness filters, nearest queries); anything else raises
``NotImplementedError`` instead of being silently dropped, so a filter never widens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
import qdrant_edge as qe
from qdrant_client.http import models as qm

DISTANCES = {
    qm.Distance.COSINE: qe.Distance.Cosine,
    qm.Distance.DOT: qe.Distance.Dot,
    qm.Distance.EUCLID: qe.Distance.Euclid,
    qm.Distance.MANHATTAN: qe.Distance.Manhattan,
}
SCHEMAS = {
    qm.PayloadSchemaType.KEYWORD: qe.PayloadSchemaType.Keyword,
    qm.PayloadSchemaType.INTEGER: qe.PayloadSchemaType.Integer,
    qm.PayloadSchemaType.FLOAT: qe.PayloadSchemaType.Float,
    qm.PayloadSchemaType.BOOL: qe.PayloadSchemaType.Bool,
    qm.PayloadSchemaType.DATETIME: qe.PayloadSchemaType.Datetime,
    qm.PayloadSchemaType.UUID: qe.PayloadSchemaType.Uuid,
}


def unsupported(what: object) -> NotImplementedError:
    return NotImplementedError(f"the edge engine adapter does not convert {type(what).__name__}")


# --- configuration ---------------------------------------------------------------------------


def named_vector_params(config: Any) -> dict[str, qm.VectorParams]:
    if config is None:
        return {}
    if isinstance(config, qm.VectorParams):
        return {"": config}
    return dict(config)


def edge_config(
    vectors: dict[str, qm.VectorParams], sparse: dict[str, qm.SparseVectorParams]
) -> qe.EdgeConfig:
    dense = {
        name: qe.EdgeVectorParams(size=p.size, distance=DISTANCES[qm.Distance(p.distance)])
        for name, p in vectors.items()
    }
    sparse_params = {
        name: qe.EdgeSparseVectorParams(
            modifier=qe.Modifier.Idf if p.modifier == qm.Modifier.IDF else None
        )
        for name, p in sparse.items()
    }
    return qe.EdgeConfig(vectors=dense, sparse_vectors=sparse_params)


def field_schema(schema: Any) -> qe.PayloadSchemaType:
    if schema is None:
        return qe.PayloadSchemaType.Keyword
    try:
        return SCHEMAS[qm.PayloadSchemaType(schema)]
    except (KeyError, ValueError):
        raise unsupported(schema) from None


def collection_info(stored: dict, info: qe.ShardInfo) -> qm.CollectionInfo:
    """What ``get_collection`` tells llama-index and the tests: the stored vector config and
    the shard's counts."""
    return qm.CollectionInfo(
        status=qm.CollectionStatus.GREEN,
        optimizer_status=qm.OptimizersStatusOneOf.OK,
        indexed_vectors_count=info.indexed_vectors_count,
        points_count=info.points_count,
        segments_count=info.segments_count,
        payload_schema={},
        config=qm.CollectionConfig(
            params=qm.CollectionParams(
                vectors={k: qm.VectorParams(**v) for k, v in stored["vectors"].items()},
                sparse_vectors={
                    k: qm.SparseVectorParams(**v) for k, v in stored["sparse_vectors"].items()
                },
            ),
            hnsw_config=qm.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10000),
            optimizer_config=qm.OptimizersConfig(
                deleted_threshold=0.2,
                vacuum_min_vector_number=1000,
                default_segment_number=0,
                flush_interval_sec=5,
            ),
            wal_config=qm.WalConfig(wal_capacity_mb=32, wal_segments_ahead=0),
        ),
    )


# --- points ----------------------------------------------------------------------------------


def point_id(pid: Any) -> int | str:
    if isinstance(pid, (int, uuid.UUID)):
        return pid if isinstance(pid, int) else str(pid)
    return str(uuid.UUID(str(pid)))  # qdrant ids are integers or UUIDs, normalised like Qdrant


def out_id(pid: Any) -> int | str:
    return pid if isinstance(pid, int) else str(pid)


def dense(vector: Any) -> list[float]:
    if isinstance(vector, np.ndarray):
        return [float(x) for x in vector.tolist()]
    return [float(x) for x in vector]


def vector_in(vector: Any) -> Any:
    if isinstance(vector, qm.SparseVector):
        return qe.SparseVector(indices=list(vector.indices), values=list(vector.values))
    if isinstance(vector, dict):
        return {name: vector_in(v) for name, v in vector.items()}
    return dense(vector)


def vector_out(vector: Any) -> Any:
    if vector is None:
        return None
    if isinstance(vector, dict):
        return {name: vector_out(v) for name, v in vector.items()}
    if isinstance(vector, qe.SparseVector):
        return qm.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return list(vector)


def points(batch: Any) -> list[qe.Point]:
    if isinstance(batch, qm.Batch):
        raise unsupported(batch)
    out = []
    for p in batch:
        if not isinstance(p, (qm.PointStruct, qm.Record)):
            raise unsupported(p)
        out.append(qe.Point(id=point_id(p.id), vector=vector_in(p.vector), payload=p.payload))
    return out


def scored(hit: qe.ScoredPoint) -> qm.ScoredPoint:
    return qm.ScoredPoint(
        id=out_id(hit.id),
        version=hit.version,
        score=hit.score,
        payload=hit.payload,
        vector=vector_out(hit.vector),
    )


def record(rec: qe.Record) -> qm.Record:
    return qm.Record(id=out_id(rec.id), payload=rec.payload, vector=vector_out(rec.vector))


def payload_selector(value: Any) -> Any:
    if isinstance(value, (bool, list)):
        return value
    if isinstance(value, qm.PayloadSelectorInclude):
        return list(value.include)
    if isinstance(value, qm.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(list(value.exclude))
    if isinstance(value, Iterable) and not isinstance(value, str):
        return list(value)
    raise unsupported(value)


def vector_selector(value: Any) -> Any:
    if isinstance(value, (bool, list)):
        return value
    raise unsupported(value)


# --- filters ---------------------------------------------------------------------------------


def _listed(conditions: Any) -> list | None:
    if conditions is None:
        return None
    if not isinstance(conditions, list):
        conditions = [conditions]
    return [condition(c) for c in conditions]


def filter_(f: qm.Filter | None) -> qe.Filter | None:
    if f is None:
        return None
    if f.min_should is not None:
        raise unsupported(f.min_should)
    return qe.Filter(must=_listed(f.must), should=_listed(f.should), must_not=_listed(f.must_not))


def _match(match: Any) -> Any:
    if isinstance(match, qm.MatchValue):
        return qe.MatchValue(match.value)
    if isinstance(match, qm.MatchAny):
        return qe.MatchAny(match.any)
    if isinstance(match, qm.MatchExcept):
        return qe.MatchExcept(match.except_)
    if isinstance(match, qm.MatchText):
        return qe.MatchText(match.text)
    raise unsupported(match)


def condition(c: Any) -> Any:
    if isinstance(c, qm.Filter):
        return filter_(c)
    if isinstance(c, qm.FieldCondition):
        if c.geo_bounding_box or c.geo_radius or c.geo_polygon or c.values_count:
            raise unsupported(c)
        range_ = None
        if c.range is not None:
            if not isinstance(c.range, qm.Range):
                raise unsupported(c.range)
            range_ = qe.RangeFloat(gte=c.range.gte, gt=c.range.gt, lte=c.range.lte, lt=c.range.lt)
        return qe.FieldCondition(
            key=c.key,
            match=_match(c.match) if c.match is not None else None,
            range=range_,
            is_empty=c.is_empty,
            is_null=c.is_null,
        )
    if isinstance(c, qm.HasIdCondition):
        return qe.HasIdCondition({point_id(i) for i in c.has_id})
    if isinstance(c, qm.IsEmptyCondition):
        return qe.IsEmptyCondition(c.is_empty.key)
    if isinstance(c, qm.IsNullCondition):
        return qe.IsNullCondition(c.is_null.key)
    raise unsupported(c)


# --- queries ---------------------------------------------------------------------------------


def _query(query: Any, using: str | None) -> Any:
    if isinstance(query, qm.NearestQuery):
        query = query.nearest
    if isinstance(query, qm.SparseVector):
        return qe.Query.Nearest(vector_in(query), using)
    if isinstance(query, (list, np.ndarray)):
        return qe.Query.Nearest(dense(query), using)
    raise unsupported(query)


# Every point: an id no point has. Qdrant's global IDF statistics count deleted points until a
# segment is rebuilt (a re-ingest deletes a page's chunks); over this corpus they are exact, as
# in local mode, and cost no measurable time at 100k points.
EVERY_POINT = qe.Filter(must_not=[qe.HasIdCondition({2**63 - 1})])


def _params(params: qm.SearchParams | None, live_idf: bool) -> qe.SearchParams | None:
    if params is None and not live_idf:
        return None
    return qe.SearchParams(
        hnsw_ef=params.hnsw_ef if params else None,
        exact=bool(params and params.exact),
        idf=qe.IdfParams(corpus=EVERY_POINT) if live_idf else None,
    )


def query_request(
    query: Any = None,
    using: str | None = None,
    prefetch: Any = None,
    query_filter: qm.Filter | None = None,
    search_params: qm.SearchParams | None = None,
    limit: int = 10,
    offset: int | None = None,
    with_payload: Any = True,
    with_vectors: Any = False,
    score_threshold: float | None = None,
    lookup_from: Any = None,
    idf_vectors: frozenset[str] = frozenset(),
    **_: Any,
) -> qe.QueryRequest:
    """``idf_vectors``: the sparse vectors with the IDF modifier (their statistics are asked
    over the live points)."""
    if prefetch or lookup_from:
        raise unsupported(prefetch or lookup_from)
    live_idf = using in idf_vectors and isinstance(query, (qm.SparseVector, qm.NearestQuery))
    return qe.QueryRequest(
        limit=limit,
        offset=offset,
        query=_query(query, using),
        with_payload=payload_selector(with_payload),
        with_vector=vector_selector(with_vectors),
        filter=filter_(query_filter),
        score_threshold=score_threshold,
        params=_params(search_params, live_idf),
    )


def batch_request(r: qm.QueryRequest, idf_vectors: frozenset[str] = frozenset()) -> qe.QueryRequest:
    return query_request(
        query=r.query,
        using=r.using,
        prefetch=r.prefetch,
        query_filter=r.filter,
        search_params=r.params,
        limit=r.limit if r.limit is not None else 10,
        offset=r.offset,
        with_payload=r.with_payload if r.with_payload is not None else False,
        with_vectors=r.with_vector if r.with_vector is not None else False,
        score_threshold=r.score_threshold,
        lookup_from=r.lookup_from,
        idf_vectors=idf_vectors,
    )
