"""UI overhead of the staff desk: the same questions through ``Assistant.ask`` directly and
through the running desk (uvicorn + Gradio queue + streaming + HTML rendering + SQLite write,
driven by ``gradio_client``), with one shared ``Assistant`` so both paths do the same work.

Each path answers all questions in turn (alternating which path goes first per repeat), with
the answer cache off, so that llama.cpp's prompt cache never favours one path. Two ratios:
desk / direct (what the issue asks; on a shared machine the model's speed varies more from run
to run than the UI costs), and desk / the pipeline time measured inside the same desk run
(``Answer.timings.total_ms``, stored in SQLite): the UI's own cost, whatever the model's speed.

Run: ``.venv/bin/python -m evals.bench_desk [--llm small|default] [--repeats 2]``. Without an
indexed demo corpus in the data folder, it ingests ``corpora/demo`` into a temporary one.
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.offline import enforce_offline

enforce_offline()

from assistant.pipeline import Assistant  # noqa: E402
from assistant.provision import SMALL_LLM_FILE  # noqa: E402
from assistant.settings import DEFAULT_LLM_FILE, Settings, get_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "evals" / "datasets" / "demo.jsonl"
LOGIN, PASSWORD = "bench", "bench-desk"


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows[:n]]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """uvicorn in a thread of this process (Qdrant's local mode locks its folder per process)."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def prepare_settings(llm: str, data_dir: Path | None) -> Settings:
    from assistant.store import StoreError, count_points
    from ui.auth import hash_password

    base = get_settings()
    model = base.models_dir / (SMALL_LLM_FILE if llm == "small" else DEFAULT_LLM_FILE)
    settings = base.model_copy(
        update={
            "data_dir": data_dir or base.data_dir,
            "models_path": base.models_dir,
            "llm_path": model,
            "staff_users": {LOGIN: hash_password(PASSWORD, iterations=1_000)},
            "feedback_db": Path(tempfile.mkdtemp(prefix="bench-desk-")) / "bench.db",
            "answer_cache_size": 0,  # every run really answers
        }
    )
    try:
        indexed = count_points(settings, settings.collection)
    except StoreError as exc:  # folder locked by a running guichet: use a private copy
        print(f"{exc}", file=sys.stderr)
        indexed = 0
    if indexed == 0:
        from ingest.pipeline import ingest

        tmp = Path(tempfile.mkdtemp(prefix="bench-desk-data-"))
        settings = settings.model_copy(update={"data_dir": tmp, "qdrant_path": None})
        print(f"no index in the data folder: ingesting corpora/demo into {tmp}", file=sys.stderr)
        ingest([REPO / "corpora" / "demo"], settings, progress=False)
    return settings


def last_pipeline_seconds(db: Path) -> float:
    """The pipeline's own total time of the answer the desk just stored."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT latency_ms FROM answers ORDER BY rowid DESC LIMIT 1").fetchone()
    return float(row[0]) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", choices=["small", "default"], default="small")
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    from gradio_client import Client

    from ui.server import create_app
    from ui.state import AppState

    settings = prepare_settings(args.llm, args.data_dir)
    assistant = Assistant(settings)
    _ = assistant.generator  # load the model before timing anything
    state = AppState(settings, assistant=assistant)
    qs = questions(args.questions)
    direct: dict[str, list[float]] = {q: [] for q in qs}
    desk: dict[str, list[float]] = {q: [] for q in qs}
    inside: dict[str, list[float]] = {q: [] for q in qs}  # pipeline time within the desk run
    with serve(create_app(settings, state)) as base:
        client = Client(f"{base}/desk/", auth=(LOGIN, PASSWORD), verbose=False)
        client.predict("Qui a écrit Les Misérables ?", api_name="/ask")  # warm-up (gate only)
        texts: dict[tuple[str, str], str] = {}
        for rep in range(args.repeats):
            # One path over all questions, then the other (order alternating per repeat): each
            # run then finds llama.cpp's prompt cache holding another question's prompt. Asking
            # the same question twice in a row would let the second run skip reading its prompt.
            for path in ("direct", "desk") if rep % 2 == 0 else ("desk", "direct"):
                for q in qs:
                    t0 = time.perf_counter()
                    if path == "direct":
                        texts[(path, q)] = assistant.ask(q).text
                        direct[q].append(time.perf_counter() - t0)
                    else:
                        texts[(path, q)] = client.predict(q, api_name="/ask")[4]
                        desk[q].append(time.perf_counter() - t0)
                        inside[q].append(last_pipeline_seconds(settings.database_path))
        for q in qs:
            if texts[("direct", q)] != texts[("desk", q)]:
                print(f"  note: the two answers differ for {q!r}", file=sys.stderr)
    print(
        f"model: {settings.gguf_path.name}, {settings.llm_threads} threads, answer cache off, "
        f"{args.repeats} run(s) per question (medians)"
    )
    sums = {"direct": 0.0, "desk": 0.0, "inside": 0.0}
    for q in qs:
        d, u, i = (statistics.median(x[q]) for x in (direct, desk, inside))
        sums["direct"] += d
        sums["desk"] += u
        sums["inside"] += i
        print(f"  direct {d:7.2f} s | desk {u:7.2f} s, of which pipeline {i:7.2f} s | {q}")
    ratio = sums["desk"] / sums["direct"]
    own = sums["desk"] / sums["inside"]
    print(f"desk / direct ask          = {ratio:.3f} ({100 * (ratio - 1):+.1f} %, load-sensitive)")
    print(f"desk / its own pipeline    = {own:.3f} ({100 * (own - 1):+.1f} %: UI overhead)")
    print(f"UI time per question       = {(sums['desk'] - sums['inside']) / len(qs):.3f} s")


if __name__ == "__main__":
    main()
