"""Settings in sections, with the flat GUICHET_ names users' env files already have."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.core.settings import (
    CALIBRATION_DIR,
    NOT_ANSWER,
    SECTION_OF,
    SECTIONS,
    Settings,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_guichet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("GUICHET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout


def test_flat_env_names_set_their_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUICHET_TOP_K", "9")
    monkeypatch.setenv("GUICHET_LLM_PATH", "/models/x.gguf")
    monkeypatch.setenv("GUICHET_PORT", "9001")
    monkeypatch.setenv("GUICHET_GATE_MIN_DENSE", "0.9")
    s = Settings()
    assert s.retrieval.top_k == 9
    assert s.generation.llm_path == Path("/models/x.gguf") == s.gguf_path
    assert s.serving.port == 9001
    assert s.retrieval.gate_min_dense == 0.9


def test_env_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("GUICHET_TOP_K=3\nGUICHET_CANDIDATES=12\n", encoding="utf-8")
    monkeypatch.setenv("GUICHET_TOP_K", "7")
    s = Settings()
    assert (s.retrieval.top_k, s.retrieval.candidates) == (7, 12)
    # a keyword wins over both, and the environment still fills the rest of the section
    s = Settings(top_k=2)
    assert (s.retrieval.top_k, s.retrieval.candidates) == (2, 12)


def test_flat_keywords_and_updated_copies_are_validated(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, top_k="4", llm_threads=1)
    assert s.paths.data_dir == tmp_path and s.retrieval.top_k == 4
    assert s.models_dir == tmp_path / "models"
    copy = s.updated({"top_k": "6", "answer_mode": "paraphrase"})
    assert copy.retrieval.top_k == 6 and copy.generation.answer_mode == "paraphrase"
    assert s.retrieval.top_k == 4  # the original is untouched
    assert copy.generation.llm_threads == 1 and copy.paths.data_dir == tmp_path
    # model_copy(update=...) does not validate in pydantic: here it routes to updated()
    assert s.model_copy(update={"top_k": 8}).retrieval.top_k == 8
    with pytest.raises(ValidationError):
        s.updated({"answer_mode": "poetry"})
    with pytest.raises(ValueError, match="topk"):
        s.updated({"topk": 3})
    with pytest.raises(ValidationError, match="topk"):
        Settings(topk=3)


def test_a_moved_flat_attribute_says_where_it_went() -> None:
    with pytest.raises(AttributeError, match=r"settings\.retrieval\.top_k"):
        getattr(Settings(), "top_k")  # noqa: B009 (written so, the guard below would flag it)


def test_flat_names_are_unique_across_sections() -> None:
    names = [f for cls in SECTIONS.values() for f in cls.model_fields]
    assert len(names) == len(set(names)) == len(SECTION_OF)
    assert set(SECTION_OF) >= NOT_ANSWER, NOT_ANSWER - set(SECTION_OF)


def test_answer_settings_list_what_changes_an_answer() -> None:
    s = Settings()
    keys = s.answer_settings()
    assert "top_k" in keys and "support_min_overlap" in keys and "gate_min_dense" in keys
    assert "port" not in keys and "llm_threads" not in keys
    assert s.updated({"support_min_overlap": 0.5}).answer_key() != s.answer_key()
    assert s.updated({"llm_threads": 1, "port": 1}).answer_key() == s.answer_key()


def test_calibrated_defaults_come_from_the_calibration_files() -> None:
    gate = json.loads((CALIBRATION_DIR / "gate.json").read_text("utf-8"))
    subject = json.loads((CALIBRATION_DIR / "subject.json").read_text("utf-8"))
    support = json.loads((CALIBRATION_DIR / "support.json").read_text("utf-8"))["thresholds"]
    s = Settings()
    assert s.retrieval.gate_min_dense == gate["gate_min_dense"]
    assert s.retrieval.gate_min_coverage == gate["gate_min_coverage"]
    assert s.grounding.subject_min_relative == subject["subject_min_relative"]
    assert s.grounding.subject_min_unit == subject["subject_min_unit"]
    assert {k: getattr(s.grounding, f"support_{k}") for k in support} == support


# --------------------------------------------------------------------------------------------
# Guard: code written against the flat object (``settings.top_k``) fails here, with its place,
# also where mypy does not look (tests, untyped values).


def _tail(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _tail(node.func)
    return ""


def test_no_code_reads_a_flat_setting() -> None:
    found = []
    for package in ("assistant", "ingest", "ui", "evals", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in SECTION_OF
                    and "settings" in _tail(node.value).lower()
                ):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append(f"{where} .{node.attr} -> .{SECTION_OF[node.attr]}.{node.attr}")
    assert not found, "\n".join(found)
