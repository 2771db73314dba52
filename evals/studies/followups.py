"""Follow-up questions on the demo corpus, retrieval only (no model): does the document ranked
first after the thread's resolution (``assistant.followup``) match the expected one?

    python -m evals.studies.followups [--collection demo] [--json out.json]

Each item of ``evals/datasets/followups_demo.jsonl`` gives the previous questions, the
follow-up, its expected document (none for an out-of-corpus subject) and its kind: a
``follow_up`` must be resolved against the thread, a ``change`` of subject taken alone, an
``out_of_corpus`` one refused by the relevance gate. Reported per kind: recall@1 with the
resolution and with the question alone, how often it was resolved, and, out of corpus, how
often the gate refused it.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from assistant.core.offline import enforce_offline
from assistant.core.query import Query
from assistant.core.settings import get_settings
from assistant.core.text import content_stems
from assistant.followup import resolve
from assistant.pipeline import Assistant

DATASET = Path(__file__).resolve().parents[1] / "datasets" / "followups_demo.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    enforce_offline()
    settings = get_settings()
    assistant = Assistant(settings, collection=args.collection, generator=None)
    stats = assistant.term_stats()

    def search(text: str):
        return assistant.retriever.search(text, settings.retrieval.top_k)

    rows = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        res = resolve(item["question"], item["history"], stats, search)
        query = Query(res.text, tuple(content_stems(res.text)))
        thread = assistant.retrieve(query)
        alone = assistant.retrieve(
            Query.parse(item["question"], settings.serving.max_question_chars)
        )
        top = thread.chunks[0].doc_id if thread.chunks and thread.passed else None
        top_alone = alone.chunks[0].doc_id if alone.chunks and alone.passed else None
        rows.append(
            {
                **item,
                "resolved": res.text if res.followup else None,
                "top": top,
                "top_alone": top_alone,
            }
        )
        print(f"{item['id']} {item['kind']:<13} {'R' if res.followup else '-'} {top} | {res.text}")
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    summary = {}
    for kind, items in sorted(by_kind.items()):
        n = len(items)
        summary[kind] = {
            "n": n,
            "recall@1": sum(r["top"] == r["expected_doc"] for r in items) / n,
            "recall@1_alone": sum(r["top_alone"] == r["expected_doc"] for r in items) / n,
            "resolved": sum(r["resolved"] is not None for r in items) / n,
        }
        print(kind, json.dumps(summary[kind]))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
