"""The stored answers of a report folder (``results.jsonl``): read, deduplicated, rescored.

Shared by the run that writes them and by everything that reads them back (report, compare,
replay, judge, context curve), so that reading never needs the code that runs the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from assistant.core.answer import Answer
from evals import metrics
from evals.datasets import EvalItem


def read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill: recomputed
    return out


def rescore(record: dict) -> dict:
    """Scores from the stored answer (so a metric fix applies without re-running the model)."""
    item = EvalItem.model_validate(record["item"])
    answer = Answer.model_validate(record["answer"]) if record.get("answer") else None
    if record.get("error"):
        return {"error": record["error"]}
    return metrics.score(item, answer, record.get("retrieved"), record.get("posthoc"))


def dedupe(records: Iterable[dict]) -> list[dict]:
    """One record per (id, config hash): the last one without error, else the last one."""
    best: dict[tuple[str, str], dict] = {}
    for r in records:
        key = (r["id"], r["config_hash"])
        if key not in best or not r.get("error") or best[key].get("error"):
            best[key] = r
    return list(best.values())


def rescored(records: Iterable[dict]) -> list[dict]:
    """``records`` deduplicated, each with scores recomputed by the current metric code."""
    out = dedupe(records)
    for r in out:
        r["scores"] = rescore(r)
    return out


def load_folder(folder: Path, every_run: bool = False) -> list[dict]:
    """Records of the folder's last run (its config hashes), or of every run it holds."""
    meta_path = folder / "run.json"
    hashes = (
        set(json.loads(meta_path.read_text()).get("hashes", {}))
        if meta_path.is_file() and not every_run
        else set()
    )
    return rescored(
        r
        for r in read_results(folder / "results.jsonl")
        if not hashes or r["config_hash"] in hashes
    )
