"""Staff-validated answers end to end with the default model (issue 18, item 7), and the time
from an upload to the first answer citing it (BENCHMARKS.md).

A real server (uvicorn in a thread, Qwen2.5-Coder-1.5B, a copy of the demo index): a question
the documents do not answer is refused and lands in the content-gap list; staff write its
answer; the same question is then answered from it, cited as "Réponse validée par l'accueil,
<date>"; once expired it is no longer served.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import httpx
import pytest
from pydantic import SecretStr

from assistant.core import messages as msg
from tests.integration.test_live_corpus import BEARER, TOKEN, copy_index, wait_job
from tests.live_server import serve
from ui import validated
from ui.desk_handlers import Desk
from ui.server import create_app
from ui.state import AppState

pytestmark = [pytest.mark.model, pytest.mark.slow]

GAP = "Quels sont les horaires de la patinoire municipale ?"
ANSWER = "La patinoire municipale est ouverte le mercredi et le samedi de 14 h à 18 h."
NEW_PAGE = (
    "# Ludothèque municipale\n\n"
    "La ludothèque municipale prête des jeux de société aux habitants de la commune.\n\n"
    "## Horaires de la ludothèque\n\n"
    "- Mardi : de 16 h à 19 h.\n"
    "- Samedi : de 10 h à 12 h 30.\n\n"
    "## Tarifs de la ludothèque\n\n"
    "L'adhésion annuelle à la ludothèque coûte 12 € par famille.\n"
)


@pytest.fixture(scope="module")
def server(demo_settings, default_llm, tmp_path_factory):
    data = tmp_path_factory.mktemp("validated")
    copy_index(demo_settings, data)
    settings = demo_settings.updated(
        {
            "data_dir": data,
            "llm_path": default_llm,
            "feedback_db": data / "g.db",
            "ops_token": SecretStr(TOKEN),
            "redact_names": False,
            "rate_limit": "1000/minute",
        }
    )
    state = AppState(settings)
    with serve(create_app(settings, state)) as base:
        yield base, state


def ask(base: str, question: str) -> dict:
    answer = httpx.post(f"{base}/api/v1/ask", json={"question": question}, timeout=600)
    assert answer.status_code == 200, answer.text
    return answer.json()


def cited_titles(answer: dict) -> list[str]:
    return [s["title"] for s in answer["sources"]]


def test_a_validated_answer_is_returned_for_its_gap_question(server):
    base, state = server
    first = ask(base, GAP)
    assert first["verdict"] == "refused", first
    gaps = Desk(state).gap_labels()  # the desk's content-gap list
    assert GAP in gaps

    today = date.today()
    written = validated.make_answer(question=GAP, text=ANSWER, author="Accueil", day=today)
    with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
        job = state.documents.save_answer(written, "test").public()
        assert wait_job(client, job)["status"] == "done"
    again = ask(base, GAP)
    assert again["verdict"] in ("answered", "quoted"), again
    label = msg.DOCUMENTS["answer_label"].format(date=today.strftime("%d/%m/%Y"))
    assert any(t.startswith(label) for t in cited_titles(again)), again["sources"]
    assert "14 h à 18 h" in again["text"]

    # Expired (edited by staff with a past expiry): no longer served.
    expired = validated.make_answer(
        question=GAP,
        text=ANSWER,
        author="Accueil",
        day=today - timedelta(days=30),
        expires=today - timedelta(days=1),
        slug=written.slug,
    )
    with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
        job = state.documents.save_answer(expired, "test").public()
        assert wait_job(client, job)["status"] == "done"
    gone = ask(base, GAP)
    assert not any(t.startswith("Réponse validée") for t in cited_titles(gone)), gone
    assert "14 h à 18 h" not in gone["text"]
    assert (state.settings.paths.data_dir / "bibliotheque" / written.doc_id).is_file()  # kept


def test_time_from_upload_to_the_first_answer_citing_it(server, artifacts):
    base, state = server
    question = "Quels sont les horaires de la ludothèque ?"
    with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
        started = time.perf_counter()
        job = client.post(
            "/desk/admin/documents", files={"file": ("ludotheque.md", NEW_PAGE.encode())}
        )
        assert job.status_code == 202, job.text
        done = wait_job(client, job.json())
        indexed_s = time.perf_counter() - started
    assert done["status"] == "done"
    answer = ask(base, question)
    total_s = time.perf_counter() - started
    assert answer["verdict"] in ("answered", "quoted"), answer
    assert any("Ludothèque" in t for t in cited_titles(answer)), answer["sources"]
    assert "16 h à 19 h" in answer["text"]
    figures = {
        "upload_to_indexed_s": round(indexed_s, 2),
        "upload_to_first_citing_answer_s": round(total_s, 2),
        "answer_s": round(total_s - indexed_s, 2),
        "passages_embedded": done["passages"],
        "model": state.settings.gguf_path.name,
    }
    (artifacts / "live_corpus.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    assert total_s < 300, figures
