"""Hybrid retrieval: dense (e5) and French BM25 from one Qdrant request, fused in Python.

llama-index's ``QdrantVectorStore`` sends both searches in one batch and hands the two ranked
lists to our fusion function. The fused score is a convex combination of per-query min-max
normalised scores (``relative`` fusion), with the dense weight tuned on the service-public sets
(see ``evals/studies/retrieval.py``); plain RRF is kept for comparison. Raw dense and BM25
scores stay on every chunk because the relevance gate needs an absolute signal, not a rank.
"""

from __future__ import annotations

from typing import Literal, Protocol

from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from assistant.core.answer import Chunk
from assistant.core.settings import Settings
from assistant.index import embedding
from assistant.index.embedding import Embedder
from assistant.index.store import vector_store
from assistant.retrieval.relevance import TermStats, TermStatsCache
from assistant.retrieval.synonyms import SynonymsFile

Mode = Literal["hybrid", "dense", "sparse"]
Fusion = Literal["relative", "rrf"]


def _ranked(result: VectorStoreQueryResult) -> list[tuple[BaseNode, float]]:
    nodes = result.nodes or []
    scores = result.similarities or [0.0] * len(nodes)
    return list(zip(nodes, scores, strict=False))


def _minmax(values: list[float]) -> list[float]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return [1.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def fuse(
    dense: list[tuple[BaseNode, float]],
    sparse: list[tuple[BaseNode, float]],
    *,
    dense_weight: float,
    method: Fusion = "relative",
    rrf_k: int = 60,
) -> list[tuple[BaseNode, float, float | None, float | None]]:
    """Fused ranking: (node, fused score, raw dense score, raw sparse score), best first."""
    table: dict[str, list] = {}
    for name, ranked in (("dense", dense), ("sparse", sparse)):
        weight = dense_weight if name == "dense" else 1.0 - dense_weight
        if method == "rrf":
            parts = [weight / (rrf_k + rank) for rank in range(1, len(ranked) + 1)]
        else:
            parts = [weight * n for n in _minmax([s for _, s in ranked])]
        for (node, raw), part in zip(ranked, parts, strict=True):
            row = table.setdefault(node.node_id, [node, 0.0, None, None])
            row[1] += part
            row[2 if name == "dense" else 3] = raw
    fused = sorted(table.values(), key=lambda r: r[1], reverse=True)
    return [(r[0], r[1], r[2], r[3]) for r in fused]


def node_to_chunk(node: BaseNode, score: float, dense: float | None, sparse: float | None) -> Chunk:
    meta = node.metadata
    page = meta.get("page")
    return Chunk(
        chunk_id=node.node_id,
        doc_id=node.ref_doc_id or str(meta.get("doc_id", "")),
        text=node.get_content(),
        title=str(meta.get("title") or ""),
        url=meta.get("url") or None,
        path=meta.get("path") or None,
        page=int(page) if page not in (None, "", "None") else None,
        section=str(meta.get("section") or ""),
        updated=str(meta["updated"]) if meta.get("updated") else None,
        service=meta.get("service") or None,
        ocr=bool(meta.get("ocr")),
        ocr_confidence=meta.get("ocr_confidence"),
        score=float(score),
        dense_score=dense,
        sparse_score=sparse,
    )


def _keep_both(dense_res, sparse_res, alpha=0.5, top_k=5) -> VectorStoreQueryResult:
    """Hand both ranked lists back unfused (ids tagged d:/s:); ``search`` fuses them, with the
    weights of the call, which keeps the store object free of per-request state."""
    nodes, sims, ids = [], [], []
    for tag, res in (("d:", dense_res), ("s:", sparse_res)):
        for node, score in _ranked(res):
            nodes.append(node)
            sims.append(score)
            ids.append(tag + node.node_id)
    return VectorStoreQueryResult(nodes=nodes, similarities=sims, ids=ids)


class Retriever(Protocol):
    """What the answer pipeline needs of retrieval (tests use an in-memory one)."""

    collection: str

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        service: str | None = None,
        document: str | None = None,
    ) -> list[Chunk]:
        """``document``: a doc id; only its passages are searched (a choice, ``choices``)."""
        ...

    def corpus_version(self) -> tuple: ...

    def term_stats(self) -> TermStats: ...


class HybridRetriever:
    def __init__(
        self,
        settings: Settings,
        collection: str | None = None,
        embedder: Embedder | None = None,
        fusion: Fusion = "relative",
    ) -> None:
        self.settings = settings
        self.collection = collection or settings.index.collection
        self.embedder = embedder or embedding.load_embedder(settings.index.embedder)
        self.store = vector_store(
            settings, self.collection, self.embedder.dim, hybrid_fusion_fn=_keep_both
        )
        self.fusion = fusion
        self._term_stats = TermStatsCache()
        self.synonyms = SynonymsFile.for_settings(
            settings.retrieval.synonyms_path, settings.paths.data_dir
        )

    def term_stats(self) -> TermStats:
        """Document frequencies of the BM25 terms, re-read once per corpus version."""
        return self._term_stats.get(self.store.client, self.collection, self.corpus_version())

    def corpus_version(self) -> tuple:
        """Changes whenever an ingest (in any process) commits: the docstore is saved last."""
        try:
            stat = self.settings.docstore_file(self.collection).stat()
        except FileNotFoundError:
            return (self.collection, 0, 0)
        return (self.collection, stat.st_mtime_ns, stat.st_size)

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        mode: Mode = "hybrid",
        service: str | None = None,
        document: str | None = None,
        dense_weight: float | None = None,
    ) -> list[Chunk]:
        k = k or self.settings.retrieval.top_k
        weight = self.settings.retrieval.dense_weight if dense_weight is None else dense_weight
        wanted = [("service", service), ("doc_id", document)]
        conditions = [MetadataFilter(key=key, value=value) for key, value in wanted if value]
        filters = MetadataFilters(filters=list(conditions)) if conditions else None
        vs_mode = {
            "hybrid": VectorStoreQueryMode.HYBRID,
            "dense": VectorStoreQueryMode.DEFAULT,
            "sparse": VectorStoreQueryMode.SPARSE,
        }[mode]
        embedding = None if mode == "sparse" else [float(x) for x in self.embedder.query(query)]
        candidates = max(self.settings.retrieval.candidates, k)
        request = VectorStoreQuery(
            query_embedding=embedding,
            # BM25 reads the city's synonyms too ("HLM" -> "logement social"); e5 the question
            query_str=self.synonyms.get().expand(query),
            similarity_top_k=candidates if mode == "hybrid" else k,
            sparse_top_k=candidates if mode == "hybrid" else k,
            hybrid_top_k=k,
            mode=vs_mode,
            filters=filters,
        )
        result = self.store.query(request)
        if mode == "hybrid":
            ranked = _ranked(result)
            ids = result.ids or []
            dense = [r for r, i in zip(ranked, ids, strict=True) if i.startswith("d:")]
            sparse = [r for r, i in zip(ranked, ids, strict=True) if i.startswith("s:")]
            fused = fuse(dense, sparse, dense_weight=weight, method=self.fusion)[:k]
            return [node_to_chunk(*row) for row in fused]
        return [
            node_to_chunk(
                node, score, score if mode == "dense" else None, score if mode == "sparse" else None
            )
            for node, score in _ranked(result)
        ]
