"""evals.replay: the before/after table and the list of flipped decisions."""

from __future__ import annotations

from evals import replay


def record(rid: str, texts: list[str], passed: list[bool], ok: list[bool]) -> dict:
    return {
        "id": rid,
        "answer": {"sentences": [{"text": t} for t in texts]},
        "posthoc": [
            {"passed": p, "support_score": 0.5, "failed": [] if p else ["support"]} for p in passed
        ],
        # (independently supported, verifier passed, support score) as evals.metrics scores it
        "scores": {"verifier": [(o, p, 0.5) for o, p in zip(ok, passed, strict=True)]},
    }


def test_flips_and_table() -> None:
    before = [
        record("q1", ["copied line", "wrong amount"], [False, False], [True, False]),
        record("q2", ["fine"], [True], [True]),
    ]
    after = [
        record("q1", ["copied line", "wrong amount"], [True, False], [True, False]),
        record("q2", ["fine"], [True], [True]),
    ]
    flipped = replay.changes(before, after)
    assert flipped == [("q1", "copied line", "dropped: support", "kept")]
    text = replay.render(before, after)
    assert "| stored | 3 | 1 | 1 | 0 | 1 |" in text
    assert "| current code | 3 | 1 | 0 | 0 | 2 |" in text
    assert "1 sentence(s) changed decision" in text
