"""The context curve compares folders on the questions they share, one row per budget."""

from __future__ import annotations

import json
from pathlib import Path

from evals.studies import context_curve


def folder(tmp_path: Path, name: str, settings: dict) -> Path:
    f = tmp_path / name
    f.mkdir()
    (f / "run.json").write_text(json.dumps({"hashes": {f"h-{name}": {"settings": settings}}}))
    return f


def test_rows_use_shared_questions_and_the_runs_settings(tmp_path, monkeypatch) -> None:
    full = folder(tmp_path, "default", {"context_mode": "windows", "context_tokens": 700})
    small = folder(tmp_path, "w300", {"context_mode": "windows", "context_tokens": 300})
    ids = {full: ["q1", "q2", "q3", "q4"], small: ["q1", "q2"]}
    monkeypatch.setattr(
        context_curve,
        "load_folder",
        lambda f: [{"id": i, "config_hash": f"h-{f.name}"} for i in ids[f]],
    )
    seen: list[list[str]] = []

    def fake_summarise(records):
        seen.append(sorted(r["id"] for r in records))
        n = len(seen)
        return {
            "prompt_tokens": 300.0 * n,
            "correct": 0.5,
            "invented_sentences": 0,
            "sentences": 4,
            "ooc_refusal_recall": None,
            "share_refused": 0.25,
            "p50_s": 9.0,
            "stages": {"first sentence": (7.5, 9.0)},
        }

    monkeypatch.setattr(context_curve, "summarise", fake_summarise)
    n, rows = context_curve.curve([full, small])
    assert n == 2 and seen == [["q1", "q2"], ["q1", "q2"]]  # the full run cut to the shared ids
    assert [(r["mode"], r["budget"]) for r in rows] == [("windows", 300), ("windows", 700)]
    table = context_curve.render(n, rows)
    assert "| windows | 300 | 600 | 50 % | 0 / 4 | – | 25 % | 9.0 s | 7.5 s |" in table
