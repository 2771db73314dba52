"""Hostile input through the command line: arguments and files to ingest.

Whatever a user types or drops in a folder, the CLI ends with exit code 0 (done; files that
could not be read are listed with a reason) or 2 (refused, with a French message); never a
Python traceback. The CLI runs
in-process (typer's runner) against a real Qdrant folder, the real embedder and the small model.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assistant.core.settings import get_settings
from tests.conftest import make_settings
from ui.cli import app

pytestmark = pytest.mark.model

FUZZ = hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

# Text a person (or a script) could type: other scripts, emoji, control characters, RTL marks.
hostile_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(
        [
            "",
            "   ",
            "\x00\x01\x02",
            "🏊‍♀️🏊‍♀️🏊‍♀️",
            "بطاقة الهوية",
            "паспорт мэрия",
            "‮horaires piscine",
            "--help",
            "-k",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "piscine " * 400,
        ]
    ),
)


@pytest.fixture()
def cli(demo_settings, small_llm, monkeypatch):
    monkeypatch.setenv("GUICHET_DATA_DIR", str(demo_settings.paths.data_dir))
    monkeypatch.setenv("GUICHET_MODELS_PATH", str(demo_settings.models_dir))
    monkeypatch.setenv("GUICHET_LLM_PATH", str(small_llm))
    monkeypatch.setenv("GUICHET_LLM_MAX_TOKENS", "24")
    get_settings.cache_clear()  # the CLI reads the environment through a cached Settings
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args))
        # typer turns an uncaught exception into exit code 1 with result.exception set
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{args!r} crashed") from result.exception
        return result

    yield invoke
    get_settings.cache_clear()


def _clear_refusal(result) -> bool:
    return result.exit_code == 2 and bool(result.output.strip())


@FUZZ
@given(question=hostile_text, k=st.integers(-5, 1000))
def test_search_takes_any_question_and_k(cli, question, k):
    result = cli("search", "--json", "-k", str(k), "--", question)
    if result.exit_code == 0:
        hits = json.loads(result.stdout)
        assert 1 <= k <= 100 and len(hits) <= k
    else:
        assert _clear_refusal(result), result.output


@FUZZ
@given(question=hostile_text)
def test_ask_takes_any_question(cli, question):
    result = cli("ask", "--json", "--", question)
    if result.exit_code == 0:
        answer = json.loads(result.stdout)
        assert answer["verdict"] in {"answered", "partial", "quoted", "refused"}
        # the contract holds for garbage too: nothing delivered without a citation
        assert all(s["source_ids"] for s in answer["sentences"])
    else:
        assert _clear_refusal(result), result.output


def test_bad_options_are_refused_in_french(cli):
    assert _clear_refusal(cli("search", "--mode", "magic", "piscine"))
    assert "entre 1 et" in cli("search", "-k", "0", "piscine").output
    assert "introuvable" in cli("ingest", "/nonexistent/folder").output


# Files as they come from a shared drive: any bytes under any supported extension, odd names.
file_names = st.text(
    alphabet=string.ascii_letters + string.digits + " -_éèàç'()[]#%&+=,;~",
    min_size=1,
    max_size=30,
).filter(lambda n: n.strip(" .") == n and not n.startswith("-"))
extensions = st.sampled_from([".md", ".txt", ".html", ".htm", ".pdf", ".docx", ".markdown"])
contents = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
    st.text(max_size=500).map(lambda t: t.encode("utf-16")),
    st.sampled_from(
        [
            b"",
            b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n",  # a PDF cut after its header
            b"PK\x03\x04garbage",  # a DOCX (zip) cut short
            b"---\ntitle: [unclosed\n---\nTexte",  # front matter that is not YAML
            b"<html><body><nav>menu</nav></body></html>",
            "Titre\n\nCarte d'identité : délai de 3 semaines.".encode("latin-1"),
        ]
    ),
)


@hypothesis_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(files=st.lists(st.tuples(file_names, extensions, contents), min_size=1, max_size=6))
def test_ingest_takes_any_folder(demo_settings, monkeypatch, tmp_path_factory, files):
    """Every file is either ingested or reported failed with a reason; the run never dies, and
    a second run over the same folder finds the ingested ones unchanged."""
    folder = tmp_path_factory.mktemp("drop")
    written: set[str] = set()
    for name, ext, data in files:
        path = folder / f"{name}{ext}"
        if path.name.lower() in {p.lower() for p in written}:
            continue
        path.write_bytes(data)
        written.add(path.name)
    data_dir = tmp_path_factory.mktemp("fuzz-index")
    settings = make_settings(data_dir)
    monkeypatch.setenv("GUICHET_DATA_DIR", str(settings.paths.data_dir))
    monkeypatch.setenv("GUICHET_MODELS_PATH", str(demo_settings.models_dir))
    get_settings.cache_clear()
    runner = CliRunner()

    def run() -> dict:
        result = runner.invoke(app, ["ingest", "--json", str(folder)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError("ingest crashed") from result.exception
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    try:
        first = run()
        second = run()
    finally:
        get_settings.cache_clear()
    assert {f["doc_id"] for f in first["files"]} == written
    for f in first["files"]:
        assert f["status"] in {"ok", "failed"}, f
        if f["status"] == "failed":
            assert f["reason"], f
    assert second["chunks_written"] == 0
    ok_first = {f["doc_id"] for f in first["files"] if f["status"] == "ok"}
    assert ok_first <= {f["doc_id"] for f in second["files"] if f["status"] == "unchanged"}
