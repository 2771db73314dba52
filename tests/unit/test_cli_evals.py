"""``guichet eval | calibrate | bench``: every command is there, parses its options into the
call it makes, and refuses bad input with a message (exit 2), without any model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.core.answer import Answer, Sentence, Source, Verdict
from evals.bench.suite import PARTS
from evals.datasets import EvalItem
from evals.results import rescore
from ui.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ("eval", ["run", "compare", "report", "replay", "smoke", "judge"]),
        ("calibrate", ["gate", "support", "subject", "meaning"]),
        (
            "bench",
            ["all", "ingest", "retrieval", "answers", "threads", "engines", "ocr", "desk", "load"],
        ),
    ],
)
def test_every_command_is_listed(group: str, commands: list[str]) -> None:
    result = runner.invoke(app, [group, "--help"])
    assert result.exit_code == 0
    for command in commands:
        assert f" {command} " in result.output


def _folder(tmp_path: Path) -> Path:
    src = Source(id=1, chunk_id="c", doc_id="piscine.md", title="Piscine", excerpt="Entrée 4,50 €.")
    answer = Answer(
        question="Prix ?",
        verdict=Verdict.answered,
        sentences=[Sentence(text="L'entrée coûte 4,50 €.", source_ids=[1], support_score=0.9)],
        sources=[src],
    )
    item = EvalItem(id="a", question="Prix ?", expected_sources=["piscine.md"])
    record = {
        "id": item.id, "dataset": "demo", "corpus": "demo", "category": item.category,
        "model": "m", "config": "default", "config_hash": "h", "verify": True,
        "item": item.model_dump(), "answer": answer.model_dump(mode="json"),
        "rejected_input": None, "error": None, "retrieved": [], "posthoc": None,
    }  # fmt: skip
    record["scores"] = rescore(record)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return folder


def test_report_and_judge_work_from_stored_answers(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["eval", "report", str(folder), "--all"])
    assert result.exit_code == 0, result.output
    assert (folder / "report.html").is_file() and "report.html" in result.output
    result = runner.invoke(app, ["eval", "judge", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "judge.csv").is_file()
    result = runner.invoke(app, ["eval", "compare", str(folder), str(folder)])
    assert result.exit_code == 0 and "invented-source rate" in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["eval", "compare", "nowhere-a", "nowhere-b"], "pas de results.jsonl dans nowhere-a"),
        (["eval", "report", "nowhere"], "pas de results.jsonl"),
        (["eval", "replay", "nowhere"], "pas de results.jsonl"),
        (["eval", "judge", "nowhere"], "pas de results.jsonl"),
        (["eval", "run", "--config", "nowhere.toml"], "fichier de configuration introuvable"),
        (["bench", "all", "--parts", "ingest,bogus"], "unknown bench parts: ['bogus']"),
        (["bench", "load"], "indiquez soit --url"),
        (["bench", "load", "--spawn", "--url", "http://127.0.0.1:1"], "indiquez soit --url"),
        (["bench", "desk", "--llm", "huge"], "--llm : small ou default"),
    ],
)
def test_bad_input_is_refused_with_a_message(args: list[str], says: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


@pytest.fixture
def suite_calls(monkeypatch) -> list[tuple[set[str], object, bool]]:
    calls: list[tuple[set[str], object, bool]] = []

    def fake_run_suite(parts, options, *, merge):
        calls.append((set(parts), options, merge))
        return "# Benchmarks"

    monkeypatch.setattr("evals.bench.suite.run_suite", fake_run_suite)
    return calls


def test_bench_parts_map_to_the_suite(suite_calls, tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    assert runner.invoke(app, ["bench", "all", "--skip-llm", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["bench", "answers", "--questions", "3"]).exit_code == 0
    assert runner.invoke(app, ["bench", "threads", "--threads", "1,2"]).exit_code == 0
    assert runner.invoke(app, ["bench", "live", "--questions", "4"]).exit_code == 0
    assert runner.invoke(app, ["bench", "all"]).exit_code == 0  # what `make bench` runs
    (all_parts, all_opts, all_merge), (ans, ans_opts, ans_merge), (thr, thr_opts, _) = suite_calls[
        :3
    ]
    (live, live_opts, live_merge), (every, _, _) = suite_calls[3:]
    assert all_parts == set(PARTS) - {"answers", "live"} and not all_merge  # both need the LLM
    assert all_opts.out == out  # type: ignore[attr-defined]
    assert ans == {"answers"} and ans_merge and ans_opts.questions == 3  # type: ignore[attr-defined]
    assert thr == {"threads"} and thr_opts.thread_counts == (1, 2)  # type: ignore[attr-defined]
    assert live == {"live"} and live_merge and live_opts.live_questions == 4  # type: ignore[attr-defined]
    assert every == set(PARTS) and {"ingest", "live"} <= every  # BENCHMARKS.md keeps both


def test_calibrate_writes_only_when_asked(monkeypatch) -> None:
    seen: list[bool] = []

    def fake_gate(write: bool) -> tuple[dict, list[str]]:
        seen.append(write)
        return {"gate_min_dense": 0.8}, ["  MISSED dense=0.700 cov=0.10 q"]

    monkeypatch.setattr("evals.calibrate.gate.calibrate_gate", fake_gate)
    result = runner.invoke(app, ["calibrate", "gate"])
    assert result.exit_code == 0 and '"gate_min_dense": 0.8' in result.output
    assert "MISSED" in result.output
    assert runner.invoke(app, ["calibrate", "gate", "--write"]).exit_code == 0
    assert seen == [False, True]
