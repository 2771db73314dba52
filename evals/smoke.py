"""CI smoke gate: ten demo questions through the real pipeline with the default model.

Fails (exit code 1) on any delivered sentence that the independent check finds invented (a
source id that was not given, no citation, or a phone / URL / e-mail / amount / date / time /
reference absent from the cited source), on any wrong-but-delivered answer
(``evals.metrics.wrong_reasons``: another document cited, another amount stated) and on any
out-of-corpus question that is not refused.
The set (``evals.datasets.SMOKE_IDS``): 3 answerable, 1 needing two sources, 3 out of corpus,
3 fake-source bait.

    .venv/bin/guichet eval smoke [--out reports] [--model PATH]

Always recomputes (the report folder's previous results are discarded): a gate must not pass
on cached answers. Writes ``reports/<date>-smoke/`` like ``guichet eval run``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.settings import Settings, get_settings
from evals.figures import build
from evals.run import REPORTS, RunConfig, run
from evals.timing import Stopwatch


@dataclass
class SmokeResult:
    passed: bool
    seconds: float
    folder: Path
    failures: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def gate(records: list[dict]) -> list[str]:
    failures = []
    for r in records:
        scores = r["scores"]
        if "error" in scores:
            failures.append(f"{r['id']}: error {scores['error']}")
            continue
        for inv in scores.get("invented", []):
            failures.append(
                f"{r['id']}: invented source in {inv['text']!r} ({'; '.join(inv['reasons'])})"
            )
        for reason in scores.get("wrong", []):
            failures.append(f"{r['id']}: wrong answer delivered ({reason})")
        if r["category"] == "out_of_corpus" and not scores.get("refused"):
            answer = (r.get("answer") or {}).get("text", "")
            failures.append(f"{r['id']}: out-of-corpus question answered: {answer[:200]!r}")
    return failures


def run_smoke(
    settings: Settings | None = None,
    *,
    out: Path = REPORTS,
    folder: Path | None = None,
    demo_collection: str | None = None,
    model: str = "default",
    progress: bool = True,
) -> SmokeResult:
    folder = folder or out / f"{dt.date.today().isoformat()}-smoke"
    (folder / "results.jsonl").unlink(missing_ok=True)
    clock = Stopwatch()
    result = run(
        ["smoke"],
        config=RunConfig(name="smoke", datasets=["smoke"], models=[model]),
        folder=folder,
        settings=settings or get_settings(),
        collections={"demo": demo_collection} if demo_collection else None,
        progress=progress,
    )
    failures = gate(result.records)
    data = build(result.records)
    summary: dict = next(iter(data["models"].values()), {})
    return SmokeResult(not failures, clock.seconds, folder, failures, summary)


def describe(result: SmokeResult) -> str:
    """One line for the CI log: what the gate looked at."""
    s = result.summary
    return (
        f"smoke: {s.get('n', 0)} questions in {result.seconds:.0f} s · invented sentences "
        f"{s.get('invented_sentences')} / {s.get('sentences')} · out-of-corpus refused "
        f"{s.get('ooc_refusal_recall')} · correct {s.get('correct')} · report {result.folder}"
    )
