"""Retrieval quality on the service-public sets: recall@1, recall@5 and MRR by fiche id, for
dense only, BM25 only and hybrid fusion (several weights), from one pass of candidate lists.

    python -m evals.studies.retrieval [--limit N] [--json out.json]

Builds (once, incrementally) the ``spf532`` collection in the data folder.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from assistant.core.offline import enforce_offline
from assistant.core.settings import Settings, get_settings
from assistant.retrieval.retrieve import HybridRetriever, _ranked, fuse
from evals.spf import (
    QA,
    SPF_COLLECTION,
    build_index,
    corpus_documents,
    questions_105,
    questions_535,
)
from evals.timing import Stopwatch


@dataclass
class Scores:
    r1: float
    r5: float
    mrr: float
    n: int

    def row(self) -> str:
        return f"recall@1 {self.r1:.3f}  recall@5 {self.r5:.3f}  MRR {self.mrr:.3f}  (n={self.n})"


def doc_ranking(chunk_doc_ids: list[str]) -> list[str]:
    """Chunks → documents, best chunk first (a document ranks where its best chunk ranks)."""
    return list(dict.fromkeys(chunk_doc_ids))


def score(rankings: list[list[str]], golds: list[str]) -> Scores:
    r1 = r5 = mrr = 0.0
    for ranking, gold in zip(rankings, golds, strict=True):
        if gold in ranking:
            rank = ranking.index(gold) + 1
            r1 += rank == 1
            r5 += rank <= 5
            mrr += 1.0 / rank
    n = max(1, len(golds))
    return Scores(r1 / n, r5 / n, mrr / n, len(golds))


def candidates(retriever: HybridRetriever, qas: list[QA], depth: int):
    """Per question: (dense ranked list, sparse ranked list) of (node, score)."""
    from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

    out = []
    for qa in qas:
        emb = [float(x) for x in retriever.embedder.query(qa.question)]
        res = retriever.store.query(
            VectorStoreQuery(
                query_embedding=emb,
                query_str=qa.question,
                similarity_top_k=depth,
                sparse_top_k=depth,
                hybrid_top_k=2 * depth,
                mode=VectorStoreQueryMode.HYBRID,
            )
        )
        ranked, ids = _ranked(res), res.ids or []
        dense = [r for r, i in zip(ranked, ids, strict=True) if i.startswith("d:")]
        sparse = [r for r, i in zip(ranked, ids, strict=True) if i.startswith("s:")]
        out.append((dense, sparse))
    return out


def evaluate(settings: Settings, sets: dict[str, list[QA]], depth: int = 40) -> dict:
    retriever = HybridRetriever(settings, SPF_COLLECTION)
    results: dict[str, dict[str, Scores]] = {}
    for name, qas in sets.items():
        clock = Stopwatch()
        cands = candidates(retriever, qas, depth)
        golds = [qa.doc_id for qa in qas]
        per: dict[str, Scores] = {}

        def ids(ranked) -> list[str]:
            return doc_ranking([n.ref_doc_id or "" for n, *_ in ranked])

        per["dense"] = score([ids(d) for d, _ in cands], golds)
        per["sparse"] = score([ids(s) for _, s in cands], golds)
        for method in ("relative", "rrf"):
            for w in (0.5, 0.6, 0.7, 0.8, 0.9):
                fused = [fuse(d, s, dense_weight=w, method=method) for d, s in cands]  # type: ignore[arg-type]
                per[f"hybrid-{method}-{w}"] = score([ids(f) for f in fused], golds)
        results[name] = per
        print(f"\n{name}: {len(qas)} questions, {clock.seconds:.1f} s")
        for key, s in per.items():
            print(f"  {key:22s} {s.row()}")
    return {k: {m: s.__dict__ for m, s in v.items()} for k, v in results.items()}


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", default="")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    if not args.no_build:
        build_index(settings)
    known = {d.id_ for d in corpus_documents()}
    sets = {"spf-105": questions_105(), "spf-535": questions_535(known=known)}
    if args.limit:
        sets = {k: v[: args.limit] for k, v in sets.items()}
    out = evaluate(settings, sets)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
