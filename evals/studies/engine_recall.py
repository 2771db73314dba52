"""Do qdrant-client's local mode and Qdrant's embedded engine (qdrant-edge-py) retrieve the same
passages? recall@1 / recall@5 / MRR by fiche on spf-105 and spf-535, through guichet's own
``HybridRetriever.search`` (hybrid dense + BM25, the answers' code path), for both engines on
the same points: the fiche corpus is indexed once in local mode, then the edge engine's first
use of the folder copies its points (vectors and payloads as stored), so only the engine
differs.

    python -m evals.studies.engine_recall [--data DIR] [--limit N] [--json out.json]

Also counts the questions whose top-k chunk ids (in order) differ between the engines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assistant.core.offline import enforce_offline
from assistant.core.settings import get_settings
from evals.spf import (
    QA,
    SPF_COLLECTION,
    build_index,
    corpus_documents,
    questions_105,
    questions_535,
)
from evals.studies.retrieval import doc_ranking, score


def rankings(retriever: Any, qas: list[QA], k: int) -> tuple[list[list[str]], list[list[str]]]:
    """Per question: the documents in rank order and the chunk ids, from ``search``."""
    docs, chunks = [], []
    for qa in qas:
        found = retriever.search(qa.question, k)
        docs.append(doc_ranking([c.doc_id for c in found]))
        chunks.append([c.chunk_id for c in found])
    return docs, chunks


def compare(data_dir: Path, sets: dict[str, list[QA]], k: int) -> dict:
    from assistant.index.embedding import load_embedder
    from assistant.index.store import count_points
    from assistant.retrieval.retrieve import HybridRetriever

    local = get_settings().model_copy(update={"data_dir": data_dir, "qdrant_engine": "local"})
    edge = local.model_copy(update={"qdrant_engine": "edge"})
    build_index(local)
    embedder = load_embedder(local.index.embedder)
    # the edge engine's first use of the folder copies local mode's points (store._adopt_local)
    retrievers = {
        engine: HybridRetriever(s, SPF_COLLECTION, embedder)
        for engine, s in (("local", local), ("edge", edge))
    }
    points = {e: count_points(s, SPF_COLLECTION) for e, s in (("local", local), ("edge", edge))}
    assert points["local"] == points["edge"], points
    out: dict[str, Any] = {"points": points["edge"], "k": k}
    for name, qas in sets.items():
        golds = [qa.doc_id for qa in qas]
        per: dict[str, Any] = {}
        chunk_lists = {}
        for engine, retriever in retrievers.items():
            docs, chunk_lists[engine] = rankings(retriever, qas, k)
            per[engine] = score(docs, golds).__dict__
        per["questions_differing"] = sum(
            a != b for a, b in zip(chunk_lists["local"], chunk_lists["edge"], strict=True)
        )
        per["identical_recall"] = per["local"] == per["edge"]
        out[name] = per
        print(name, json.dumps(per), flush=True)
    return out


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="data folder (a scratch one)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    known = {d.id_ for d in corpus_documents()}
    sets = {"spf-105": questions_105(), "spf-535": questions_535(known=known)}
    if args.limit:
        sets = {name: qas[: args.limit] for name, qas in sets.items()}
    out = compare(args.data or get_settings().paths.data_dir, sets, args.k)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
