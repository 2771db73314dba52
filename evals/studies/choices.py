"""Choices between close documents, calibrated on retrieval alone (no model).

    python -m evals.studies.choices [--sets spf-105,spf-535,demo] [--json out.json]
    python -m evals.studies.choices --rows out.json      # sweep again from a saved run

Each question goes through the pipeline's own retrieval and relevance gate
(``Assistant.retrieve``); its ranked passages are kept, and the choice rule
(``assistant.retrieval.choices``) is applied to them for a grid of thresholds. Reported per
set and thresholds:

- ``offered``: share of the questions that get choices;
- ``r1``: recall@1 by document without choices (the first document is the expected one);
- ``after_click``: recall@1 after one click: with choices, the expected document is among
  them (the click restricts the question to it, so it is then the only one retrieved);
  without, it is first;
- ``in_choices``: of the questions offered choices, share whose expected document is there.

spf-105 and spf-535 use the ``spf532`` collection (built here when missing), the demo set
``evals_demo``; run with ``GUICHET_DATA_DIR`` on a scratch folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.core.answer import Chunk
from assistant.core.offline import enforce_offline
from assistant.core.query import Query
from assistant.core.settings import get_settings
from assistant.retrieval.choices import ChoiceRule, close_documents
from assistant.retrieval.relevance import TermStats
from evals.datasets import EvalItem

MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.2, 0.25, 0.3)
COVERAGES = (0.0, 0.5, 0.7, 0.8, 0.9)


def collect(set_names: list[str]) -> dict[str, dict]:
    from assistant.pipeline import Assistant
    from evals.datasets import CORPORA, load_dataset

    settings = get_settings()
    out: dict[str, dict] = {}
    for name in set_names:
        items = spf_535() if name == "spf-535" else load_dataset(name)[1]
        corpus = CORPORA[items[0].corpus]
        corpus.build(settings, corpus.collection)
        assistant = Assistant(settings, collection=corpus.collection, generator=None)
        stats = assistant.term_stats()
        rows = []
        for item in items:
            if len(item.expected_sources) != 1:
                continue  # out of corpus, or an answer needing two documents
            query = Query.parse(item.question, settings.serving.max_question_chars)
            query = assistant.with_synonyms(query)  # as the pipeline reads it
            retrieval = assistant.retrieve(query)
            rows.append(
                {
                    "id": item.id,
                    "question": item.question,
                    "gold": item.expected_sources[0],
                    "passed": retrieval.passed,
                    "alternatives": {k: [sorted(a) for a in v] for k, v in query.alternatives},
                    "chunks": [c.model_dump(include=_KEPT) for c in retrieval.chunks],
                }
            )
        out[name] = {"points": stats.points, "df": stats.df, "rows": rows}
        print(f"{name}: {len(rows)} questions retrieved", flush=True)
    return out


def spf_535() -> list[EvalItem]:
    """The 535 (fiche, question-style title) pairs whose fiche is in the 532 indexed."""
    from evals.spf import corpus_documents, questions_535

    known = {d.id_ for d in corpus_documents()}
    return [
        EvalItem(id=qa.id, question=qa.question, corpus="spf532", expected_sources=[qa.doc_id])
        for qa in questions_535(known=known)
    ]


_KEPT = {"chunk_id", "doc_id", "text", "title", "section", "score", "dense_score"}


def measure(data: dict, rule: ChoiceRule) -> dict[str, float]:
    stats = TermStats(data["points"], {int(k): v for k, v in data["df"].items()})
    n = offered = r1 = after = inside = 0
    for row in data["rows"]:
        chunks = [Chunk(**c) for c in row["chunks"]]
        top = chunks[0].doc_id if chunks else None
        alt = {k: [frozenset(a) for a in v] for k, v in row.get("alternatives", {}).items()}
        passed = row["passed"]
        close = close_documents(row["question"], chunks, stats, rule, alt) if passed else []
        docs = {doc[0].doc_id for doc in close}
        n += 1
        r1 += top == row["gold"]
        if close:
            offered += 1
            inside += row["gold"] in docs
            after += row["gold"] in docs
        else:
            after += top == row["gold"]
    n = max(n, 1)
    return {
        "offered": offered / n,
        "r1": r1 / n,
        "after_click": after / n,
        "in_choices": inside / max(offered, 1),
        "n": n,
    }


def sweep(collected: dict[str, dict], max_choices: int) -> list[dict]:
    table = []
    for margin in MARGINS:
        for cov in COVERAGES:
            rule = ChoiceRule(margin, cov, max_choices)
            row: dict = {"margin": margin, "min_coverage": cov}
            for name, data in collected.items():
                row[name] = measure(data, rule)
            table.append(row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="spf-105,spf-535,demo")
    parser.add_argument("--rows", type=Path, default=None, help="a saved run: sweep it again")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--max-choices", type=int, default=3)
    args = parser.parse_args()
    enforce_offline()
    if args.rows:
        collected = json.loads(args.rows.read_text(encoding="utf-8"))["collected"]
    else:
        collected = collect(args.sets.split(","))
    table = sweep(collected, args.max_choices)
    names = list(collected)
    print("margin cov  " + "  ".join(f"{n}: offered r1 after" for n in names))
    for row in table:
        cells = [
            f"{row[n]['offered']:.3f} {row[n]['r1']:.3f} {row[n]['after_click']:.3f}" for n in names
        ]
        print(f"{row['margin']:.2f}  {row['min_coverage']:.1f}  " + "  |  ".join(cells))
    if args.json:
        payload = {"table": table, "collected": collected}
        args.json.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
