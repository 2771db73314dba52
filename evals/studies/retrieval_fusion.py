"""Offline study of fusion and document aggregation on cached candidate lists.

    python -m evals.studies.retrieval_fusion [--refresh]

Fetches, once, the top-40 dense and top-40 BM25 chunks of every spf question (cached in the
data folder), then scores fusion variants without touching Qdrant again: chunk-level fusion
(what ``HybridRetriever`` does) and document-level fusion (scores aggregated per document first,
then fused), with several weights.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

from assistant.core.offline import enforce_offline
from assistant.core.settings import get_settings
from assistant.retrieval.retrieve import HybridRetriever, _minmax
from evals.spf import SPF_COLLECTION, corpus_documents, questions_105, questions_535
from evals.studies.retrieval import candidates, score


def load(refresh: bool) -> dict:
    settings = get_settings()
    cache = settings.paths.data_dir / "eval-cache" / "spf-candidates.json"
    if cache.is_file() and not refresh:
        return json.loads(cache.read_text())
    known = {d.id_ for d in corpus_documents()}
    sets = {"spf-105": questions_105(), "spf-535": questions_535(known=known)}
    retriever = HybridRetriever(settings, SPF_COLLECTION)
    out: dict = {}
    for name, qas in sets.items():
        rows = []
        for qa, (dense, sparse) in zip(qas, candidates(retriever, qas, 40), strict=True):
            rows.append(
                {
                    "gold": qa.doc_id,
                    "dense": [(n.ref_doc_id, s) for n, s in dense],
                    "sparse": [(n.ref_doc_id, s) for n, s in sparse],
                    "dense_ids": [n.node_id for n, _ in dense],
                    "sparse_ids": [n.node_id for n, _ in sparse],
                }
            )
        out[name] = rows
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def per_doc(ranked: list, how: str) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for doc, s in ranked:
        scores[doc].append(s)
    if how == "max":
        return {d: max(v) for d, v in scores.items()}
    # max plus a small bonus for further matching chunks of the same document
    return {
        d: sorted(v, reverse=True)[0] + 0.1 * sum(sorted(v, reverse=True)[1:3])
        for d, v in scores.items()
    }


def chunk_fusion(row: dict, w: float) -> list[str]:
    """What HybridRetriever does: fuse chunk scores, then rank documents by best chunk."""
    fused: dict[tuple[str, int], float] = defaultdict(float)
    for name, weight in (("dense", w), ("sparse", 1 - w)):
        for i, ((doc, _), n) in enumerate(
            zip(row[name], _minmax([s for _, s in row[name]]), strict=True)
        ):
            fused[(doc, row[f"{name}_ids"][i])] += weight * n
    ranked = sorted(fused, key=fused.__getitem__, reverse=True)
    return list(dict.fromkeys(doc for doc, _ in ranked))


def doc_fusion(row: dict, w: float, how: str) -> list[str]:
    dense, sparse = per_doc(row["dense"], how), per_doc(row["sparse"], how)
    docs = list(dict.fromkeys([*dense, *sparse]))
    dn = dict(zip(dense, _minmax(list(dense.values())), strict=True))
    sn = dict(zip(sparse, _minmax(list(sparse.values())), strict=True))
    fused = {d: w * dn.get(d, 0.0) + (1 - w) * sn.get(d, 0.0) for d in docs}
    return sorted(fused, key=fused.__getitem__, reverse=True)


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--refresh", action="store_true")
    args = parser.parse_args()
    data = load(args.refresh)
    for name, rows in data.items():
        golds = [r["gold"] for r in rows]
        print(f"\n{name} ({len(rows)} questions)")
        for mode in ("dense", "sparse"):
            s = score([list(dict.fromkeys(d for d, _ in r[mode])) for r in rows], golds)
            print(f"  {mode:22s} {s.row()}")
        for w in (0.6, 0.7, 0.8, 0.9):
            s = score([chunk_fusion(r, w) for r in rows], golds)
            print(f"  chunk-fusion w={w:.1f}     {s.row()}")
        for how in ("max", "max+"):
            for w in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
                s = score([doc_fusion(r, w, how) for r in rows], golds)
                print(f"  doc-fusion {how:4s} w={w:.1f}  {s.row()}")


if __name__ == "__main__":
    main()
