"""The corpus changes while guichet serves (issue 18, item 5): the admin routes, the job
worker, uploads checked by content, removal, and ``guichet ingest`` handed to a running server.

A real server (uvicorn in a thread, the small model, a copy of the demo index); answers are
asked over HTTP while an upload is being ingested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from assistant.core import messages as msg
from assistant.core.answer import DoneEvent
from tests.conftest import models_dir
from tests.live_server import api_settings_for, serve
from ui.auth import hash_password
from ui.library import UPLOADS
from ui.serve_thread import free_port
from ui.server import create_app
from ui.state import AppState

pytestmark = [pytest.mark.model]

DOC = msg.DOCUMENTS
TOKEN = "jeton-exploitation-de-test"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CLERK, LIBRARIAN, PASSWORD = "agent", "documentaliste", "mot-de-passe-de-test"
NEW_DOC = f"{UPLOADS}/patinoire.md"
PATINOIRE = (
    "# Patinoire municipale des Garrigues\n\n"
    "La patinoire municipale des Garrigues est ouverte le samedi de 14 h à 18 h.\n\n"
    "L'entrée à la patinoire coûte 3,50 € et la location de patins 2 €.\n"
)
QUESTION = "Quels sont les horaires de la patinoire municipale ?"


def copy_index(demo_settings, target: Path) -> None:
    """The demo index in a folder of its own (local Qdrant locks a folder per client)."""
    shutil.copytree(demo_settings.qdrant_folder, target / "qdrant", ignore=_lock_file)
    shutil.copytree(demo_settings.paths.data_dir / "docstore", target / "docstore")


def _lock_file(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == ".lock"]


@pytest.fixture(scope="module")
def live(demo_settings, small_llm, tmp_path_factory):
    data = tmp_path_factory.mktemp("live-corpus")
    copy_index(demo_settings, data)
    settings = api_settings_for(
        demo_settings,
        small_llm,
        data / "g.db",
        data_dir=data,
        ops_token=SecretStr(TOKEN),
        redact_names=False,
        upload_max_mb=0.05,
        staff_users={
            CLERK: hash_password(PASSWORD, iterations=1_000),
            LIBRARIAN: hash_password(PASSWORD, iterations=1_000),
        },
        staff_roles={LIBRARIAN: ["documents"]},
    )
    state = AppState(settings)
    with serve(create_app(settings, state)) as base:
        yield base, state


def wait_job(client: httpx.Client, job: dict, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        job = client.get(f"/desk/admin/jobs/{job['id']}", headers=BEARER).json()
    return job


def offered_docs(state: AppState, question: str) -> list[str]:
    """Documents of the sources the answer was built from (given to the model)."""
    for item in state.ask_events(question):
        if isinstance(item, DoneEvent):
            return [s.doc_id for s in item.answer.sources]
    raise AssertionError("no answer")


@contextmanager
def session(base: str, login: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=120) as client:
        done = client.post("/desk/login", data={"username": login, "password": PASSWORD})
        assert done.status_code == 200, done.text
        yield client


def test_admin_routes_need_the_token_or_a_session_with_the_role(live):
    base, state = live
    folder = str(state.settings.paths.data_dir)
    with httpx.Client(base_url=base, timeout=60) as anon:
        assert anon.get("/desk/admin/jobs").status_code == 401
        wrong = anon.get("/desk/admin/jobs", headers={"Authorization": "Bearer faux"})
        assert wrong.status_code == 401
        assert anon.get("/desk/admin/jobs", headers=BEARER).status_code == 200
    with session(base, CLERK) as clerk:  # logged in, but not allowed to manage documents
        refused = clerk.get("/desk/admin/documents")
        assert refused.status_code == 403 and refused.json()["detail"] == DOC["role_required"]
    with session(base, LIBRARIAN) as librarian:
        listed = librarian.get("/desk/admin/documents").json()["documents"]
        assert {"piscine-municipale.md", "mediatheque.md"} <= {d["doc_id"] for d in listed}
        body = {"paths": [folder]}
        cross = librarian.post(
            "/desk/admin/ingest", json=body, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403 and cross.json()["detail"] == DOC["admin_cross_site"]
        # Staff re-ingest only folders the index holds; /etc is none of them.
        other = librarian.post("/desk/admin/ingest", json={"paths": ["/etc"]})
        assert other.status_code == 403 and other.json()["detail"] == DOC["path_not_known"]


def test_uploads_are_checked_by_content_and_size(live):
    base, state = live
    with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
        fake_pdf = client.post(
            "/desk/admin/documents", files={"file": ("arrete.pdf", b"pas un PDF du tout", "a/b")}
        )
        assert fake_pdf.status_code == 415, fake_pdf.text
        assert "ne correspond pas" in fake_pdf.json()["detail"]
        elf = client.post(
            "/desk/admin/documents",
            files={"file": ("notes.md", b"\x7fELF\x02\x01\x01" + bytes(64))},
        )
        assert elf.status_code == 415, elf.text
        big = client.post(
            "/desk/admin/documents", files={"file": ("gros.txt", b"mairie " * 20_000)}
        )
        assert big.status_code == 413, big.text
        exe = client.post("/desk/admin/documents", files={"file": ("setup.exe", b"MZ" + bytes(99))})
        assert exe.status_code == 415
    assert not (state.settings.paths.data_dir / "bibliotheque" / UPLOADS / "arrete.pdf").exists()


def test_upload_while_answering_is_cited_next_then_removed(live):
    base, state = live
    assert NEW_DOC not in offered_docs(state, QUESTION)
    before = httpx.get(f"{base}/readyz", headers=BEARER).json()

    answered: list[int] = []
    stop = threading.Event()

    def citizen() -> None:  # answers keep being served during the ingest
        with httpx.Client(base_url=base, timeout=300) as c:
            n = 0
            while not stop.is_set():  # a new question each time: no answer from the cache
                n += 1
                r = c.post("/api/v1/ask", json={"question": f"horaires de la piscine {n} ?"})
                answered.append(r.status_code)

    asking = threading.Thread(target=citizen)
    asking.start()
    try:
        time.sleep(1.0)  # an answer is being generated when the job starts
        with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
            started = time.perf_counter()
            job = client.post(
                "/desk/admin/documents", files={"file": ("patinoire.md", PATINOIRE.encode())}
            )
            assert job.status_code == 202, job.text
            job = wait_job(client, job.json())
            ingest_s = time.perf_counter() - started
    finally:
        stop.set()
        asking.join(timeout=300)
    assert job["status"] == "done", job
    assert NEW_DOC in job["documents"] and job["passages"] >= 1  # the polite embedder ran
    assert answered and set(answered) == {200}, answered

    assert NEW_DOC in offered_docs(state, QUESTION)  # the very next question sees it
    after = httpx.get(f"{base}/readyz", headers=BEARER).json()
    assert after["documents"] == before["documents"] + 1
    assert after["passages"] > before["passages"] > after["documents"]
    assert ingest_s < 300

    with httpx.Client(base_url=base, timeout=60, headers=BEARER) as client:
        gone = client.delete(f"/desk/admin/documents/{NEW_DOC}")
        assert gone.status_code == 202, gone.text
        assert wait_job(client, gone.json())["status"] == "done"
        listed = client.get("/desk/admin/documents").json()["documents"]
    assert NEW_DOC not in {d["doc_id"] for d in listed}
    assert not (state.settings.paths.data_dir / "bibliotheque" / NEW_DOC).exists()
    assert NEW_DOC not in offered_docs(state, QUESTION)
    assert httpx.get(f"{base}/readyz", headers=BEARER).json()["documents"] == before["documents"]


@pytest.mark.slow
def test_guichet_ingest_hands_the_job_to_the_running_server(demo_settings, small_llm, tmp_path):
    """`guichet serve` in its own process holds the Qdrant folder; `guichet ingest` on the
    same data folder does not fail with "folder in use": the server ingests, then answers."""
    copy_index(demo_settings, tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_MODELS_PATH": str(models_dir()),
        "GUICHET_LLM_PATH": str(small_llm),
        "GUICHET_LLM_THREADS": "1",
        "GUICHET_REDACT_NAMES": "0",
        "GUICHET_STAFF_USERS": "{}",
    }
    serve_log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
        env=env,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "server did not become ready"
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert (tmp_path / "serve.json").stat().st_mode & 0o077 == 0  # owner only
        folder = tmp_path / "nouveaux"
        folder.mkdir()
        (folder / "patinoire.md").write_text(PATINOIRE, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "ui.cli", "ingest", str(folder)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
        assert "confiée au serveur" in done.stderr
        assert "1 ingérés" in done.stdout, done.stdout
        assert httpx.get(f"{base}/readyz", timeout=30).json()["documents"] == 26
    finally:
        server.terminate()
        server.wait(timeout=60)
        serve_log.close()
    assert not (tmp_path / "serve.json").exists()  # removed at exit
