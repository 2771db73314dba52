"""UI overhead of the staff desk: the same questions through ``Assistant.ask`` directly and
through the running desk (uvicorn + Gradio queue + streaming + HTML rendering + SQLite write,
driven by ``gradio_client``), with one shared ``Assistant`` so both paths do the same work.

Runs are interleaved (direct, desk, direct, desk…) so that load from other processes hits both
alike; we report medians per question and the overall ratio desk / direct. The answers of the
two paths are compared: llama.cpp with a fixed seed gives the same text, so the difference is
the UI's cost. A question refused at the relevance gate costs ~0.1 s directly: its ratio says
more about the UI's fixed cost than about what an agent waits for.

Run: ``.venv/bin/python -m evals.bench_desk [--llm small|default] [--repeats 2]``. Without an
indexed demo corpus in the data folder, it ingests ``corpora/demo`` into a temporary one.
"""

from __future__ import annotations

import argparse
import json
import socket
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", choices=["small", "default"], default="small")
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
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
    with serve(create_app(settings, state)) as base:
        client = Client(f"{base}/desk/", auth=(LOGIN, PASSWORD), verbose=False)
        assistant.ask(qs[0])  # warm-up: first prompt evaluation, page caches
        client.predict(qs[0], api_name="/ask")
        for _ in range(args.repeats):
            for q in qs:
                t0 = time.perf_counter()
                answer = assistant.ask(q)
                direct[q].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                result = client.predict(q, api_name="/ask")
                desk[q].append(time.perf_counter() - t0)
                if result[4] != answer.text:  # the desk's plain answer text
                    print(f"  note: answers differ for {q!r}", file=sys.stderr)
    print(
        f"model: {settings.gguf_path.name}, {settings.llm_threads} threads, "
        f"{args.repeats} runs per question (medians)"
    )
    total_direct = total_desk = 0.0
    for q in qs:
        d, u = statistics.median(direct[q]), statistics.median(desk[q])
        total_direct += d
        total_desk += u
        print(f"  {d:7.2f} s direct  {u:7.2f} s desk  ×{u / d:5.3f}  {q}")
    ratio = total_desk / total_direct
    print(f"desk / direct = {ratio:.3f} (overhead {100 * (ratio - 1):+.1f} %)")


if __name__ == "__main__":
    main()
