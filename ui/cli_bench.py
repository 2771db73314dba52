"""``guichet bench``: speed and memory, written to BENCHMARKS.md (typer sub-app).

Thin like ``ui/cli_evals.py``: options parsed here, everything measured in ``evals.bench``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.core.messages import EVAL_CLI
from ui.cli_evals import echo_json, fail

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: speed and memory (BENCHMARKS.md)")

Out = Annotated[Path | None, typer.Option(help="markdown file (default BENCHMARKS.md)")]
Workdir = Annotated[Path | None, typer.Option(help="data folders kept here (default: temp)")]


def _suite(parts: set[str], *, merge: bool, out: Path | None, workdir: Path | None, **kw) -> None:
    from evals.bench.suite import BENCHMARKS, SuiteOptions, run_suite

    options = SuiteOptions(out=out or BENCHMARKS, workdir=workdir, **kw)
    try:
        typer.echo(run_suite(parts, options, merge=merge))
    except ValueError as exc:
        fail(str(exc))


@bench_app.command("all")
def bench_all(
    questions: Annotated[int, typer.Option(help="demo questions of the answers part")] = 20,
    skip_llm: Annotated[bool, typer.Option(help="leave out the answers and live parts")] = False,
    skip_100k: Annotated[bool, typer.Option(help="no 100k-point collection")] = False,
    parts: Annotated[str, typer.Option(help="comma-separated subset")] = (
        "ingest,retrieval,answers,threads,ocr,live"
    ),
    merge: Annotated[bool, typer.Option(help="keep the other parts' figures")] = False,
    out: Out = None,
    workdir: Workdir = None,
) -> None:
    """Every part in one run, written to BENCHMARKS.md (what `make bench` runs)."""
    chosen = {p for p in parts.split(",") if p} - ({"answers", "live"} if skip_llm else set())
    _suite(chosen, merge=merge, out=out, workdir=workdir, questions=questions, skip_100k=skip_100k)


@bench_app.command("ingest")
def bench_ingest(out: Out = None, workdir: Workdir = None) -> None:
    """Ingestion vs the raw embedder (also with scanned pages, OCR on and off), re-ingest vs
    first (other parts of BENCHMARKS.md kept)."""
    _suite({"ingest"}, merge=True, out=out, workdir=workdir)


@bench_app.command("retrieval")
def bench_retrieval(
    skip_100k: Annotated[bool, typer.Option(help="no 100k-point collection")] = False,
    out: Out = None,
    workdir: Workdir = None,
) -> None:
    """Retrieval p50/p95 at the demo size, then at the fiche and 100k sizes for both embedded
    engines (local mode, edge)."""
    _suite({"retrieval"}, merge=True, out=out, workdir=workdir, skip_100k=skip_100k)


@bench_app.command("answers")
def bench_answers(
    questions: Annotated[int, typer.Option(help="answerable demo questions")] = 20,
    out: Out = None,
    workdir: Workdir = None,
) -> None:
    """The pipeline vs raw llama.cpp on the same prompt and grammar; first sentence; cache."""
    _suite({"answers"}, merge=True, out=out, workdir=workdir, questions=questions)


@bench_app.command("threads")
def bench_threads(
    questions: Annotated[int, typer.Option(help="demo prompts")] = 4,
    threads: Annotated[str, typer.Option(help="llama.cpp thread counts")] = "1,2,3,4",
    embedder_only: Annotated[
        bool, typer.Option(help="only the embedder grid, printed (BENCHMARKS.md untouched)")
    ] = False,
    out: Out = None,
    workdir: Workdir = None,
) -> None:
    """llama.cpp at each thread count, alone and beside a busy core; the embedder grid."""
    if embedder_only:
        from evals.bench.threads import embedder_study, render

        typer.echo("\n".join(render(embedder_study())))
        return
    counts = tuple(int(t) for t in threads.split(","))
    _suite(
        {"threads"}, merge=True, out=out, workdir=workdir, thread_questions=questions,
        thread_counts=counts,
    )  # fmt: skip


@bench_app.command("live")
def bench_live(
    questions: Annotated[int, typer.Option(help="questions per phase")] = 6,
    out: Out = None,
    workdir: Workdir = None,
) -> None:
    """Answer p50/p95 idle and while the server ingests; upload to first citing answer (default
    model; run on a quiet machine)."""
    _suite({"live"}, merge=True, out=out, workdir=workdir, live_questions=questions)


@bench_app.command("engines")
def bench_engines(points: Annotated[int, typer.Option(help="synthetic points")] = 100_000) -> None:
    """Qdrant local mode vs qdrant-edge-py on the same synthetic points (printed)."""
    from evals.bench.engines import engines_study

    echo_json(engines_study(points))


@bench_app.command("ocr")
def bench_ocr(
    pages: Annotated[int, typer.Option(help="generated pages per scan quality")] = 4,
    dpi: Annotated[int, typer.Option(help="resolution of the generated scans")] = 200,
) -> None:
    """OCR pages/s and character accuracy on generated French scans (for BENCHMARKS.md)."""
    from evals.bench.ocr import report

    typer.echo(report(pages, dpi))


@bench_app.command("desk")
def bench_desk(
    llm: Annotated[str, typer.Option(help="small or default")] = "small",
    questions: int = 3,
    repeats: int = 1,
    data_dir: Annotated[Path | None, typer.Option(help="data folder with the demo index")] = None,
) -> None:
    """UI overhead: the same questions through Assistant.ask and through the running desk."""
    from evals.bench.desk import bench_desk as measure

    if llm not in ("small", "default"):
        fail(EVAL_CLI["desk_llm"])
    typer.echo(measure(llm, questions, repeats, data_dir))


@bench_app.command("load")
def bench_load(
    url: Annotated[str | None, typer.Option(help="a running guichet (loopback)")] = None,
    spawn: Annotated[bool, typer.Option(help="start `guichet serve` for the test")] = False,
    pid: Annotated[int | None, typer.Option(help="server pid for RSS (else by port)")] = None,
    clients: Annotated[int, typer.Option("--clients", "-n")] = 50,
    duration: Annotated[float, typer.Option("--duration", "-t", help="seconds of asking")] = 60.0,
    grace: Annotated[float, typer.Option(help="seconds for in-flight questions")] = 300.0,
    request_timeout: float = 600.0,
    impolite: Annotated[bool, typer.Option(help="ignore Retry-After")] = False,
    model: Annotated[str, typer.Option(help="--spawn: small, default or a GGUF")] = "small",
    data_dir: Annotated[Path | None, typer.Option(help="--spawn: GUICHET_DATA_DIR")] = None,
    rate_limit: Annotated[str, typer.Option(help="--spawn: per-client limit")] = "10/minute",
    start_timeout: float = 300.0,
    server_log: Path = Path("loadtest-server.log"),
    json_out: Annotated[Path | None, typer.Option("--json", help="write the figures here")] = None,
) -> None:
    """Bounded load test of POST /api/v1/ask on loopback: N concurrent citizens for T s."""
    from evals.bench.load import LoadOptions, LoadTestError, load_test, summary

    if spawn == (url is not None):
        fail(EVAL_CLI["load_target"])
    options = LoadOptions(
        url=url, pid=pid, clients=clients, duration=duration, grace=grace,
        request_timeout=request_timeout, impolite=impolite, model=model, data_dir=data_dir,
        rate_limit=rate_limit, start_timeout=start_timeout, server_log=server_log,
    )  # fmt: skip
    try:
        result = load_test(options)
    except LoadTestError as exc:
        fail(str(exc), code=1)
    echo_json(result)
    if json_out:
        json_out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    typer.echo("\n" + summary(result), err=True)
    if not result["ok"]:
        raise typer.Exit(1)
