"""``guichet eval | calibrate``: the maintainers' measuring tools (typer sub-apps; ``guichet
bench`` is in ``ui/cli_bench.py``).

Thin on purpose: each command parses its options and calls one function of ``evals``; the
figures, files and policies live there. ``evals`` is imported inside the commands so that
``guichet --help`` and the citizen-facing commands never load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from assistant.core.messages import EVAL_CLI

eval_app = typer.Typer(no_args_is_help=True, help="Évaluations (retrieval, hallucinations)")
calibrate_app = typer.Typer(
    no_args_is_help=True,
    help="Calibrations: thresholds chosen on data (assistant/core/calibration)",
)

ReportFolder = Annotated[Path, typer.Argument(help="report folder")]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _need_results(*folders: Path) -> None:
    for folder in folders:
        if not (folder / "results.jsonl").is_file():
            fail(EVAL_CLI["no_results"].format(folder=folder))


# --------------------------------------------------------------------------------------------
# guichet eval


@eval_app.command("run")
def eval_run(
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset", "-d", help="demo, spf-105, montpellier, injection, smoke, or a JSONL"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file: name, datasets, models, settings table")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="default, 0.5b, smollm2 or a GGUF")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="first N questions of each dataset")] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="ablation: off")] = True,
    out: Annotated[Path, typer.Option(help="reports folder")] = Path("reports"),
    folder: Annotated[
        Path | None, typer.Option(help="exact report folder (resume a run of another day)")
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="re-check the spf532 index too")] = False,
) -> None:
    """Run datasets through the real pipeline; write reports/<date>-<config>/ (resumable)."""
    from evals.run import load_config, run

    if config is not None and not config.is_file():
        fail(EVAL_CLI["no_config"].format(path=config))
    try:
        result = run(
            dataset, config=load_config(config), models=model, limit=limit, verify=verify,
            out=out, folder=folder, rebuild=rebuild,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{len(result.records)} answers · {result.seconds:.0f} s")
    typer.echo(f"report: {result.folder / 'report.html'}")
    typer.echo(f"        {result.folder / 'report.md'}")


@eval_app.command("compare")
def eval_compare(
    a: Annotated[Path, typer.Argument(help="report folder A")],
    b: Annotated[Path, typer.Argument(help="report folder B")],
) -> None:
    """Print the metric deltas of two report folders side by side."""
    from evals.report import compare

    _need_results(a, b)
    typer.echo(compare(a, b))


@eval_app.command("report")
def eval_report(
    folders: Annotated[list[Path], typer.Argument(help="report folders")],
    every_run: Annotated[
        bool, typer.Option("--all", help="every run results.jsonl holds, not only the last")
    ] = False,
) -> None:
    """Re-write report.md / report.html with the current metric code (no model needed)."""
    from evals.report import rerender

    _need_results(*folders)
    for page in rerender(folders, every_run):
        typer.echo(page)


@eval_app.command("replay")
def eval_replay(folder: ReportFolder) -> None:
    """Re-run the current verifier on the sentences stored by a --no-verify run.

    Prints the verifier table before and after, and every sentence whose decision changed.
    """
    from evals.replay import render, replay

    _need_results(folder)
    typer.echo(render(*replay(folder)))


@eval_app.command("smoke")
def eval_smoke(
    out: Annotated[Path, typer.Option(help="reports folder")] = Path("reports"),
    model: Annotated[str, typer.Option(help="default, 0.5b, smollm2 or a GGUF")] = "default",
) -> None:
    """The CI gate: 10 demo questions through the real pipeline, never from cache.

    Fails on any invented source, wrong answer delivered or out-of-corpus question answered.
    """
    from evals.smoke import describe, run_smoke

    result = run_smoke(out=out, model=model)
    typer.echo(describe(result))
    for failure in result.failures:
        typer.secho(f"FAIL {failure}", err=True, fg=typer.colors.RED)
    if not result.passed:
        raise typer.Exit(1)


@eval_app.command("judge")
def eval_judge(
    folder: ReportFolder,
    read: Annotated[bool, typer.Option("--read", help="lire les marques saisies")] = False,
    limit: Annotated[int | None, typer.Option(help="au plus N réponses")] = None,
    marks_from: Annotated[
        Path | None,
        typer.Option(help="feuille dont les marques valent pour les réponses identiques"),
    ] = None,
) -> None:
    """A sheet of delivered answers for a person to mark, or (--read) the marks read back.

    Marks: juste / trompeur / faux; read back into judged.json.
    """
    from evals.judge import read_marks, write_sheet

    _need_results(folder)
    if read:
        try:
            summary = read_marks(folder)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        typer.echo(json.dumps({k: v for k, v in summary.items() if k != "not_right"}))
        return
    sheet = write_sheet(folder, limit, marks_from)
    typer.echo(EVAL_CLI["judge_sheet"].format(path=sheet))


# --------------------------------------------------------------------------------------------
# guichet calibrate

Write = Annotated[
    bool, typer.Option("--write", help="write assistant/core/calibration/<name>.json")
]


def echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=1, ensure_ascii=False, default=str))


@calibrate_app.command("gate")
def calibrate_gate(write: Write = False) -> None:
    """Relevance gate thresholds, on the demo questions (needs the demo index).

    The best dense score and question coverage that keep 90 % of in-corpus questions and refuse
    the most out-of-corpus ones.
    """
    from evals.calibrate.gate import calibrate_gate as measure

    result, errors = measure(write)
    echo_json(result)
    for line in errors:
        typer.echo(line)


@calibrate_app.command("support")
def calibrate_support(
    lexical_only: Annotated[bool, typer.Option(help="no embedder")] = False,
    limit: Annotated[int | None, typer.Option(help="first N questions only")] = None,
    threads: int = 2,
    output: Annotated[
        Path | None, typer.Option(help="default assistant/core/calibration/support.json")
    ] = (None),
    no_write: Annotated[bool, typer.Option("--no-write")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="re-embed everything")] = False,
) -> None:
    """Support check thresholds, on the service-public questions (written unless --no-write).

    Searched on one half of the questions, reported on the other.
    """
    from evals.calibrate.support import OUTPUT
    from evals.calibrate.support import calibrate_support as measure

    target = None if no_write else (output or OUTPUT)
    echo_json(
        measure(
            lexical_only=lexical_only, limit=limit, threads=threads, output=target,
            cache=not no_cache,
        )
    )  # fmt: skip


@calibrate_app.command("subject")
def calibrate_subject(write: Write = False) -> None:
    """Subject check: how much of the question a sentence's subject must cover (demo index)."""
    from evals.calibrate.subject import calibrate_subject as measure

    echo_json({k: v for k, v in measure(write).items() if k != "grid"})


@calibrate_app.command("meaning")
def calibrate_meaning() -> None:
    """Paraphrase-mode meaning checks on service-public sentences (writes meaning.json)."""
    from evals.calibrate.meaning import calibrate_meaning as measure

    echo_json(measure())
