"""UI overhead of the staff desk: the same questions through ``Assistant.ask`` directly and
through the running desk (uvicorn + Gradio queue + streaming + HTML rendering + SQLite write,
driven by ``gradio_client``), with one shared ``Assistant`` so both paths do the same work.

Each path answers all questions in turn (alternating which path goes first per repeat), with
the answer cache off, so that llama.cpp's prompt cache never favours one path. Two ratios:
desk / direct (what the issue asks; on a shared machine the model's speed varies more from run
to run than the UI costs), and desk / the pipeline time measured inside the same desk run
(``Answer.timings.total_ms``, stored in SQLite): the UI's own cost, whatever the model's speed.

Run: ``guichet bench desk [--llm small|default] [--repeats 2]``. Without an indexed demo
corpus in the data folder, it ingests ``corpora/demo`` into a temporary one.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

from assistant.core.settings import DEFAULT_LLM_FILE, Settings, get_settings
from assistant.index.provision import SMALL_LLM_FILE
from assistant.pipeline import Assistant
from evals.bench.common import DEMO, demo_questions
from evals.timing import timed
from ui.serve_thread import serve_in_thread

LOGIN, PASSWORD = "bench", "bench-desk"


def prepare_settings(llm: str, data_dir: Path | None) -> Settings:
    from assistant.index.store import StoreError, count_points
    from ui.auth import hash_password

    base = get_settings()
    model = base.models_dir / (SMALL_LLM_FILE if llm == "small" else DEFAULT_LLM_FILE)
    settings = base.updated(
        {
            "data_dir": data_dir or base.paths.data_dir,
            "models_path": base.models_dir,
            "llm_path": model,
            "staff_users": {LOGIN: hash_password(PASSWORD, iterations=1_000)},
            "feedback_db": Path(tempfile.mkdtemp(prefix="bench-desk-")) / "bench.db",
            "answer_cache_size": 0,  # every run really answers
        }
    )
    try:
        indexed = count_points(settings, settings.index.collection)
    except StoreError as exc:  # folder locked by a running guichet: use a private copy
        print(f"{exc}", file=sys.stderr)
        indexed = 0
    if indexed == 0:
        from ingest.pipeline import ingest

        tmp = Path(tempfile.mkdtemp(prefix="bench-desk-data-"))
        settings = settings.updated({"data_dir": tmp, "qdrant_path": None})
        print(f"no index in the data folder: ingesting corpora/demo into {tmp}", file=sys.stderr)
        ingest([DEMO], settings, progress=False)
    return settings


def last_pipeline_seconds(db: Path) -> float:
    """The pipeline's own total time of the answer the desk just stored."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT latency_ms FROM answers ORDER BY rowid DESC LIMIT 1").fetchone()
    return float(row[0]) / 1000


def bench_desk(
    llm: str = "small", n_questions: int = 3, repeats: int = 1, data_dir: Path | None = None
) -> str:
    """Both paths over the first ``n_questions`` demo questions; the report as text."""
    from gradio_client import Client

    from ui.server import create_app
    from ui.state import AppState

    settings = prepare_settings(llm, data_dir)
    assistant = Assistant(settings)
    _ = assistant.generator  # load the model before timing anything
    state = AppState(settings, assistant=assistant)
    qs = demo_questions(n_questions, answerable=False)
    direct: dict[str, list[float]] = {q: [] for q in qs}
    desk: dict[str, list[float]] = {q: [] for q in qs}
    inside: dict[str, list[float]] = {q: [] for q in qs}  # pipeline time within the desk run
    with serve_in_thread(create_app(settings, state)) as base:
        client = Client(f"{base}/desk/", auth=(LOGIN, PASSWORD), verbose=False)
        client.predict("Qui a écrit Les Misérables ?", api_name="/ask")  # warm-up (gate only)
        texts: dict[tuple[str, str], str] = {}
        for rep in range(repeats):
            # One path over all questions, then the other (order alternating per repeat): each
            # run then finds llama.cpp's prompt cache holding another question's prompt. Asking
            # the same question twice in a row would let the second run skip reading its prompt.
            for path in ("direct", "desk") if rep % 2 == 0 else ("desk", "direct"):
                for q in qs:
                    if path == "direct":
                        answer, took = timed(assistant.ask, q)
                        texts[(path, q)] = answer.text
                        direct[q].append(took)
                    else:
                        shown, took = timed(client.predict, q, api_name="/ask")
                        texts[(path, q)] = shown[4]
                        desk[q].append(took)
                        inside[q].append(last_pipeline_seconds(settings.database_path))
        for q in qs:
            if texts[("direct", q)] != texts[("desk", q)]:
                print(f"  note: the two answers differ for {q!r}", file=sys.stderr)
    lines = [
        f"model: {settings.gguf_path.name}, {settings.generation.llm_threads} threads, "
        f"answer cache off, {repeats} run(s) per question (medians)"
    ]
    sums = {"direct": 0.0, "desk": 0.0, "inside": 0.0}
    for q in qs:
        d, u, i = (statistics.median(x[q]) for x in (direct, desk, inside))
        sums["direct"] += d
        sums["desk"] += u
        sums["inside"] += i
        lines.append(f"  direct {d:7.2f} s | desk {u:7.2f} s, of which pipeline {i:7.2f} s | {q}")
    ratio = sums["desk"] / sums["direct"]
    own = sums["desk"] / sums["inside"]
    lines += [
        f"desk / direct ask          = {ratio:.3f} ({100 * (ratio - 1):+.1f} %, load-sensitive)",
        f"desk / its own pipeline    = {own:.3f} ({100 * (own - 1):+.1f} %: UI overhead)",
        f"UI time per question       = {(sums['desk'] - sums['inside']) / len(qs):.3f} s",
    ]
    return "\n".join(lines)
