"""End to end through the CLI with the default model (Qwen2.5-Coder-1.5B Q4_K_M) on the demo
corpus: the commands a user types, in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import DEMO, models_dir

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory, default_llm):
    data = tmp_path_factory.mktemp("e2e-data")
    env = {**os.environ, "GUICHET_DATA_DIR": str(data), "GUICHET_MODELS_PATH": str(models_dir())}
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", str(DEMO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "25 ingérés" in done.stdout
    return env


def ask(env, question: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", question, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_answerable_question_gets_a_verified_cited_answer(cli_env):
    answer = ask(cli_env, "Quel est le numéro de téléphone de l'accueil de la mairie ?")
    assert answer["verdict"] in ("answered", "partial"), answer
    assert answer["model"].startswith("qwen2.5-coder-1.5b")
    given = {s["id"]: s for s in answer["sources"]}
    for sentence in answer["sentences"]:
        assert sentence["source_ids"] and set(sentence["source_ids"]) <= set(given)
        assert all(c["passed"] for c in sentence["checks"])
    assert "01 99 00 10 00" in answer["text"]
    cited = {i for s in answer["sentences"] for i in s["source_ids"]}
    assert any("01 99 00 10 00" in given[i]["excerpt"] for i in cited)


def test_answer_in_the_prompt_is_given_not_refused(cli_env):
    # With the earlier prompt the model wrote AUCUNE_SOURCE here although the winter hours were
    # in its sources (README, prompt A/B): a regression of the instructions shows up as a refusal.
    answer = ask(cli_env, "horaires du cimetiere en hiver ?")
    assert answer["verdict"] in ("answered", "partial"), answer
    assert "17 h 30" in answer["text"]


def test_out_of_corpus_question_is_refused_with_orientation(cli_env):
    # Words of the corpus (music, enrolment, daughter) but not its subject: refused by the gate
    # or by the model's AUCUNE_SOURCE, never answered.
    answer = ask(cli_env, "Comment inscrire ma fille au conservatoire de musique ?")
    assert answer["verdict"] == "refused", answer
    assert answer["sentences"] == []
    assert "01 99 00 10 00" in answer["orientation"]


def test_off_topic_grounded_answer_is_refused(cli_env):
    # The pool's hours are a grounded answer to another question: the IDF-weighted gate and the
    # verifier's on_topic check (assistant.relevance) must keep them from being shown.
    answer = ask(cli_env, "Quels sont les horaires de la patinoire municipale ?")
    assert answer["verdict"] == "refused", answer


def test_human_readable_output_lists_sources(cli_env):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "Combien coûte une entrée adulte à la piscine ?",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[1]" in done.stdout or "pas de réponse" in done.stdout
