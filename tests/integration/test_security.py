"""The security review (issue 16): desk login off the event loop, lockout per (login, client),
sessions, headers, bounded metrics, ops token, feedback per client, French errors, Retry-After.

No model: a fake assistant streams sentences at a steady pace, so that a stall of the server
shows up as a gap in the stream.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.core import messages as msg
from assistant.core.answer import (
    Answer,
    DoneEvent,
    Sentence,
    SentenceEvent,
    Source,
    SourcesEvent,
    Verdict,
)
from assistant.core.settings import Settings
from tests.live_server import serve
from ui.auth import DEMO_LOGIN, PASSWORD_FILE, StaffAuth, desk_auth, hash_password
from ui.queue import QueueFull, WorkQueue
from ui.server import create_app
from ui.state import AppState

LOGIN, PASSWORD = "agent", "mot-de-passe-de-test"
SOURCE = Source(id=1, chunk_id="c1", doc_id="piscine.md", title="Piscine", excerpt="Ouvert.")


class PacedAssistant:
    """Stands in for the model: one sentence every ``pace_s`` until ``stop`` (or ``limit``)."""

    def __init__(self, pace_s: float = 0.02, limit: int = 3) -> None:
        self.pace_s = pace_s
        self.limit = limit
        self.stop = threading.Event()
        self.generator = None
        self.retriever = SimpleNamespace(collection="absente")

    def events(self, question: str, **_):
        yield SourcesEvent(sources=[SOURCE])
        sentences = []
        for n in range(self.limit):
            if self.stop.is_set():
                break
            time.sleep(self.pace_s)
            sentence = Sentence(text=f"Phrase {n}.", source_ids=[1])
            sentences.append(sentence)
            yield SentenceEvent(sentence=sentence)
        yield DoneEvent(
            answer=Answer(
                question=question,
                verdict=Verdict.answered,
                sentences=sentences,
                sources=[SOURCE],
                text=" ".join(s.text for s in sentences) + " [1]",
            ),
        )


@pytest.fixture(scope="module", autouse=True)
def no_name_model():
    with pytest.MonkeyPatch.context() as mp:  # spaCy's load is not what is measured here
        mp.setenv("GUICHET_REDACT_NAMES", "0")
        yield


def make_settings(tmp: Path, **extra) -> Settings:
    return Settings(
        data_dir=tmp,
        staff_users={LOGIN: hash_password(PASSWORD, iterations=1_000)},
        rate_limit="1000/minute",
        cors_origins=["http://127.0.0.1"],
        **extra,
    )


def make_app(settings: Settings, assistant: PacedAssistant | None = None):
    state = AppState(settings, assistant=assistant or PacedAssistant())  # type: ignore[arg-type]
    state.loaded = True
    return create_app(settings, state)


@pytest.fixture
def client(tmp_path):
    with TestClient(make_app(make_settings(tmp_path)), base_url="http://127.0.0.1:8000") as c:
        yield c


def login(c, password: str = PASSWORD, **headers) -> httpx.Response:
    return c.post("/desk/login", data={"username": LOGIN, "password": password}, headers=headers)


# --- 1. logins run off the event loop ----------------------------------------------------------
def test_login_burst_does_not_stall_health_nor_streams(tmp_path):
    """10 parallel bad logins (unknown users: the full 600,000-round hash each) while /healthz
    is polled and an answer streams one sentence every 20 ms: neither waits 100 ms."""
    assistant = PacedAssistant(pace_s=0.02, limit=1000)
    app = make_app(make_settings(tmp_path), assistant)
    with serve(app) as base, ThreadPoolExecutor(12) as pool:
        arrivals: list[float] = []
        streaming = threading.Event()

        def stream() -> None:
            with httpx.stream(
                "POST", f"{base}/api/v1/ask/stream", json={"question": "Horaires ?"}, timeout=60
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        arrivals.append(time.perf_counter())
                        streaming.set()

        reader = pool.submit(stream)
        assert streaming.wait(10)
        burst = [
            pool.submit(
                httpx.post,
                f"{base}/desk/login",
                data={"username": f"inconnu{i}", "password": "faux"},
                timeout=120,
            )
            for i in range(10)
        ]
        health: list[float] = []
        started = time.perf_counter()
        with httpx.Client(base_url=base, timeout=30) as http:
            while not all(f.done() for f in burst) and time.perf_counter() - started < 60:
                t0 = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                health.append(time.perf_counter() - t0)
                time.sleep(0.02)
        burst_end = time.perf_counter()
        assistant.stop.set()
        reader.result(timeout=30)
        statuses = sorted(f.result().status_code for f in burst)
    during = [b - a for a, b in itertools.pairwise(arrivals) if started <= b <= burst_end]
    print(
        f"\nburst {burst_end - started:.2f} s, /healthz max {max(health) * 1000:.0f} ms "
        f"over {len(health)}, stream max gap {max(during) * 1000:.0f} ms, statuses {statuses}"
    )
    assert max(health) < 0.1
    assert during and max(during) < 0.1 + 0.02
    assert set(statuses) <= {401, 429} and 401 in statuses


def test_login_is_rate_limited_per_client(tmp_path):
    settings = make_settings(tmp_path, desk_login_rate_limit="3/minute")
    with TestClient(make_app(settings), base_url="http://127.0.0.1:8000") as c:
        statuses = [login(c, "faux").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        refused = login(c)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        seconds = refused.headers["Retry-After"]
        assert refused.json()["detail"] == msg.DESK["login_rate_limited"].format(seconds=seconds)


# --- 2. lockout per (login, client), growing ---------------------------------------------------
def test_lockout_is_per_client_and_grows():
    now = [0.0]
    auth = StaffAuth({"accueil": hash_password("bon", iterations=1_000)}, clock=lambda: now[0])
    attacker, desk = "203.0.113.9", "192.0.2.10"
    for _ in range(7):
        assert not auth("accueil", "faux", attacker)  # 7 wrong passwords from elsewhere
    assert auth("accueil", "bon", desk)  # the counter desk still logs in
    assert not auth("accueil", "bon", attacker)  # the attacker's pair is locked
    assert auth.locked_for("accueil", attacker) == 60  # tries while locked do not count
    delays = []
    for _ in range(3):
        now[0] += auth.locked_for("accueil", attacker) + 1
        assert not auth("accueil", "faux", attacker)
        delays.append(auth.locked_for("accueil", attacker))
    assert delays == [120, 240, 480]  # doubled at each further failure
    assert auth.check("accueil", "bon", attacker).retry_after == 480
    now[0] += 481
    assert auth("accueil", "bon", attacker)  # and the right password clears the count
    assert auth.locked_for("accueil", attacker) == 0


# --- 4. the one-run password never goes where logs go ------------------------------------------
def test_demo_password_goes_to_a_private_file_when_stderr_is_not_a_terminal(
    tmp_path, monkeypatch, caplog
):
    stderr = io.StringIO()  # `guichet serve 2>&1 | tee server.log`
    monkeypatch.setattr("sys.stderr", stderr)
    with caplog.at_level(logging.INFO):
        auth = desk_auth({}, data_dir=tmp_path)
    path = tmp_path / PASSWORD_FILE
    password = path.read_text(encoding="utf-8").split()[-1]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert auth(DEMO_LOGIN, password)
    assert password not in stderr.getvalue() and password not in caplog.text
    assert str(path) in caplog.text


def test_demo_password_on_a_terminal_is_printed_not_written(tmp_path, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    auth = desk_auth({}, data_dir=tmp_path)
    assert not (tmp_path / PASSWORD_FILE).exists()
    assert auth(DEMO_LOGIN, tty.getvalue().split()[-1])


# --- 5. sessions: French page, Origin check, expiry, logout ------------------------------------
def test_login_page_is_french_and_needs_no_script(client):
    page = client.get("/desk/")
    assert page.status_code == 200
    for text in ("Identifiant", "Mot de passe", "Se connecter", 'lang="fr"'):
        assert text in page.text, text
    assert "<script" not in page.text and "Login" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # none allowed
    wrong = client.post(
        "/desk/login", data={"username": LOGIN, "password": "x"}, headers={"Accept": "text/html"}
    )
    assert wrong.status_code == 401 and msg.DESK["login_failed"] in wrong.text
    assert "Incorrect" not in wrong.text


def test_cross_site_login_is_refused(client):
    evil = login(client, Origin="https://evil.example")
    assert evil.status_code == 403 and evil.json()["detail"] == msg.DESK["login_forbidden"]
    assert login(client, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert login(client, Origin="null").status_code == 403
    assert login(client, Origin="null", **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert login(client, Origin="http://127.0.0.1:8000").status_code == 200  # this site
    # Chromium's same-origin form under the site's "Referrer-Policy: no-referrer"
    assert login(client, Origin="null", **{"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_session_cookie_logout_and_token_route(client):
    ok = login(client)
    assert ok.status_code == 200 and ok.json() == {"success": True}
    cookie = ok.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/desk", "max-age="):
        assert attribute in cookie, attribute
    assert client.get("/desk/config").status_code == 200
    assert client.get("/desk/gradio_api/token").status_code == 404
    out = client.get("/desk/logout")
    assert out.status_code == 200 and msg.DESK["logged_out"] in out.text
    assert client.get("/desk/config").status_code == 401


def test_sessions_expire_when_idle_and_at_their_maximum_age():
    from ui.desk_login import Sessions

    now = [0.0]
    sessions = Sessions(max_age_s=100, idle_s=10, clock=lambda: now[0])
    sessions.add("t", "agent")
    now[0] = 9
    assert sessions.touch("t") is not None
    now[0] = 18  # 9 s after the last use: still alive
    assert sessions.touch("t") is not None
    now[0] = 29  # 11 s idle
    assert sessions.touch("t") is None
    sessions.add("u", "agent")
    for t in range(35, 130, 5):
        now[0] = t
        alive = sessions.touch("u") is not None
        assert alive == (t - 29 < 100), t


def test_expired_session_is_withdrawn_from_gradio(tmp_path):
    settings = make_settings(tmp_path, desk_idle_minutes=0.0005)  # 30 ms
    with TestClient(make_app(settings), base_url="http://127.0.0.1:8000") as c:
        assert login(c).status_code == 200
        assert c.get("/desk/config").status_code == 200
        time.sleep(0.1)
        assert c.get("/desk/config").status_code == 401
        assert msg.DESK["login_expired"] in c.get("/desk/").text


# --- 6. security headers ---------------------------------------------------------------------
def test_security_headers(client):
    for path in ("/", "/widget.js", "/healthz", "/api/v1/nope"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp, (path, csp)
    assert login(client).status_code == 200
    desk = client.get("/desk/").headers["content-security-policy"]
    # Gradio's gr.HTML needs eval (tests/test_desk_browser.py renders answers under this CSP)
    assert "frame-ancestors 'none'" in desk and "object-src 'none'" in desk
    home = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in home and "unsafe-inline" not in home


def test_no_server_banner(monkeypatch, tmp_path):
    import uvicorn

    from ui import server

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(server, "create_app", lambda settings, state=None: None)
    server.run(make_settings(tmp_path))
    assert seen["server_header"] is False


# --- 7. metrics: bounded labels, ops token ----------------------------------------------------
def test_metrics_method_label_is_bounded(client):
    for n in range(5):
        client.request(f"FOOBAR{n}", "/healthz")
    text = client.get("/metrics").text
    assert "FOOBAR" not in text and 'method="other"' in text


def test_ops_token_protects_metrics_and_readyz(tmp_path):
    settings = make_settings(tmp_path, ops_token="s3cret-ops")
    with TestClient(make_app(settings)) as c:
        for path in ("/metrics", "/readyz"):
            refused = c.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["detail"] == msg.OPS_TOKEN_REQUIRED
            assert c.get(path, headers={"Authorization": "Bearer faux"}).status_code == 401
            allowed = c.get(path, headers={"Authorization": "Bearer s3cret-ops"})
            assert allowed.status_code in (200, 503), path  # 503: no Qdrant here
        assert c.get("/healthz").status_code == 200  # liveness stays open


# --- 8. every log line cuts client addresses ---------------------------------------------------
def test_rate_limit_warning_masks_the_client_address():
    from assistant.core.logging_setup import RedactFilter

    record = logging.LogRecord(
        "slowapi", logging.WARNING, __file__, 1,
        "ratelimit %s (%s) exceeded at endpoint: %s", ("2 per 1 minute", "203.0.113.77", "/x"),
        None,
    )  # fmt: skip
    RedactFilter().filter(record)
    assert "203.0.113.77" not in record.getMessage() and "203.0.113.0/24" in record.getMessage()
    v6 = logging.LogRecord("x", logging.WARNING, __file__, 1, "from 2001:db8:1:2::99", None, None)
    RedactFilter().filter(v6)
    assert "2001:db8:1::/48" in v6.getMessage()
    version = logging.LogRecord("x", logging.INFO, __file__, 1, "llama.cpp 0.3.36", None, None)
    RedactFilter().filter(version)
    assert version.getMessage() == "llama.cpp 0.3.36"


# --- 9. one rating per (answer, client) -------------------------------------------------------
def test_one_rating_per_answer_and_client(client):
    from assistant.records.feedback import FeedbackStore

    answer = client.post("/api/v1/ask", json={"question": "Horaires ?"}).json()
    for rating in ["up"] * 10 + ["down"]:
        r = client.post("/api/v1/feedback", json={"answer_id": answer["id"], "rating": rating})
        assert r.status_code == 200
    store = FeedbackStore(client.app.state.guichet.settings.database_path)
    rows = store.feedback_for(answer["id"])
    assert [row["rating"] for row in rows] == [-1]  # updated, not piled up


# --- 10. every API error in French --------------------------------------------------------------
def test_deeply_nested_json_gets_a_french_error(client):
    deep = "[" * 30_000 + "]" * 30_000  # under the 64 KB cap; json.loads gives up (recursion)
    for path in ("/api/v1/ask", "/api/v1/ask/stream", "/api/v1/feedback"):
        r = client.post(path, content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == msg.INVALID_REQUEST.format(details=msg.BODY_UNREADABLE)
        assert "error" not in r.json()["detail"].lower()


# --- 11. Retry-After from the measured pace ---------------------------------------------------
def test_retry_after_follows_the_measured_answer_time():
    now = [0.0]
    queue = WorkQueue(max_waiting=2, clock=lambda: now[0])

    def job(seconds: float):
        def work():
            now[0] += seconds
            yield "done"

        return work

    assert queue.recent_job_seconds == 10  # nothing measured yet: the initial guess
    for _ in range(3):
        list(queue.stream(job(4.0)))
    assert queue.recent_job_seconds == 4.0
    running = queue.stream(job(4.0))
    next(running)  # being answered
    waiting = [queue.stream(job(4.0)) for _ in range(2)]
    for w in waiting:
        next(w)  # Waiting(position)
    with pytest.raises(QueueFull) as full:
        next(queue.stream(job(4.0)))
    assert full.value.retry_after == 12  # 3 answers ahead × 4 s


def test_desk_has_no_js_handlers(tmp_path):
    """No script of ours runs in the desk page beyond Gradio's own."""
    from ui.desk import build_desk

    state = AppState(make_settings(tmp_path), assistant=PacedAssistant())  # type: ignore[arg-type]
    dependencies = build_desk(state).get_config_file()["dependencies"]
    assert dependencies and not [d for d in dependencies if d.get("js")]
