"""The city's synonym list, before and after, on retrieval and the relevance gate (no model).

    python -m evals.studies.synonyms [--sets demo,spf-105] [--json out.json]

For each question, twice (an empty list, then ``GUICHET_SYNONYMS_PATH`` or the starter list):
the pipeline's own query reading (``Assistant.with_synonyms``), retrieval and gate
(``Assistant.retrieve``), and a deeper search for the document ranking. Reported per set:
recall@1 and recall@5 by document (questions with one expected document), the gate's
refusals of answerable questions, and its refusals of the out-of-corpus ones (which must
stay refused); then the questions whose outcome changed, and which keys they matched.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from assistant.core.offline import enforce_offline
from assistant.core.query import Query
from assistant.core.settings import get_settings
from evals.datasets import ANSWERABLE, SHOULD_REFUSE, load_dataset

DEPTH = 20  # chunks searched for the document ranking (recall@5)


def run(set_names: list[str]) -> dict:
    from assistant.index.embedding import load_embedder
    from assistant.pipeline import Assistant
    from evals.datasets import CORPORA

    base = get_settings()
    embedder = load_embedder(base.index.embedder)
    empty = Path(tempfile.mkdtemp()) / "none.toml"
    empty.write_text("[synonymes]\n", encoding="utf-8")
    out: dict = {}
    for name in set_names:
        _, items = load_dataset(name)
        collection = CORPORA[items[0].corpus].collection
        rows: dict[str, list[dict]] = {}
        for label, path in (("before", empty), ("after", base.retrieval.synonyms_path)):
            settings = base.model_copy(update={"synonyms_path": path})
            a = Assistant(settings, collection=collection, embedder=embedder, generator=None)
            rows[label] = [measure(a, item) for item in items]
        out[name] = summarise(items, rows)
        print(name, json.dumps(out[name]["summary"], indent=1), flush=True)
        for change in out[name]["changed"]:
            print("  ", json.dumps(change, ensure_ascii=False))
    return out


def measure(a, item) -> dict:
    query = a.with_synonyms(Query.parse(item.question, a.settings.serving.max_question_chars))
    retrieval = a.retrieve(query)
    deep = a.retriever.search(query.text, DEPTH)
    docs = list(dict.fromkeys(c.doc_id for c in deep))
    return {
        "passed": retrieval.passed,
        "coverage": round(retrieval.coverage, 3),
        "top": retrieval.chunks[0].doc_id if retrieval.chunks else None,
        "docs": docs[:5],
        "keys": sorted(query.synonyms),
    }


def summarise(items, rows: dict[str, list[dict]]) -> dict:
    summary: dict[str, dict] = {}
    single = [i for i, it in enumerate(items) if len(it.expected_sources) == 1]
    answerable = [i for i, it in enumerate(items) if it.category in ANSWERABLE]
    refuse = [i for i, it in enumerate(items) if it.category in SHOULD_REFUSE]
    for label, measured in rows.items():

        def gold(i: int) -> str:
            return items[i].expected_sources[0]

        n1 = max(len(single), 1)
        summary[label] = {
            "recall@1": sum(measured[i]["top"] == gold(i) for i in single) / n1,
            "recall@5": sum(gold(i) in measured[i]["docs"] for i in single) / n1,
            "answerable_refused_by_gate": sum(not measured[i]["passed"] for i in answerable),
            "answerable": len(answerable),
            "out_of_corpus_refused_by_gate": sum(not measured[i]["passed"] for i in refuse),
            "out_of_corpus": len(refuse),
            "questions_with_a_key": sum(bool(measured[i]["keys"]) for i in range(len(items))),
        }
    changed = []
    for i, item in enumerate(items):
        b, a = rows["before"][i], rows["after"][i]
        if (b["passed"], b["top"]) != (a["passed"], a["top"]):
            changed.append(
                {
                    "id": item.id,
                    "question": item.question,
                    "expected": item.expected_sources,
                    "keys": a["keys"],
                    "before": [b["passed"], b["top"], b["coverage"]],
                    "after": [a["passed"], a["top"], a["coverage"]],
                }
            )
    return {"summary": summary, "changed": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="demo,spf-105")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    enforce_offline()
    out = run(args.sets.split(","))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
