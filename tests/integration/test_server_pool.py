"""Generation on a pool of OpenAI-compatible servers.

Two layers:
* fast tests against scripted fake servers on loopback (exact streaming/failover semantics:
  partial lines discarded, replay after a released line, divergence, hung server, choice);
* real ``python -m llama_cpp.server`` processes with the small model (marked model + slow):
  answers through the pool, SIGKILL of the serving process mid-request, re-probe after a
  restart, and verdicts identical to in-process generation at temperature 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from assistant.core.answer import Verdict
from assistant.generation.base import GenerationError, Usage
from assistant.generation.loader import load_generator
from assistant.generation.local import LlamaCppGenerator
from assistant.generation.remote import ServerPoolGenerator
from assistant.pipeline import Assistant
from tests.conftest import REPO

MESSAGES = [{"role": "user", "content": "Question ?"}]
CLEAN = {Verdict.answered, Verdict.partial, Verdict.quoted, Verdict.refused}


# ---------------------------------------------------------------------------------------------
# Scripted fake servers
# ---------------------------------------------------------------------------------------------
@dataclass
class Fake:
    """Steps: ("text", s) | ("finish",) | ("done",) | ("die",) | ("hang", seconds)."""

    steps: list[tuple] = field(default_factory=lambda: [("text", "Oui [1]\n"), ("finish",)])
    health: int = 404  # like llama_cpp.server (no /health)
    status: int = 200
    model: str = "fake-model"
    tokenize_bos: int | None = None  # None: no tokenizer endpoint
    bodies: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def start_fake(fake: Fake) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def _json(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self._json(fake.health, {"status": "ok"})
            elif self.path == "/v1/models":
                code = fake.status if fake.status >= 500 else 200
                self._json(code, {"data": [{"id": fake.model}]})
            else:
                self._json(404, {})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/extras/tokenize/count" and fake.tokenize_bos is not None:
                text = body["input"]
                self._json(200, {"count": fake.tokenize_bos + len(text.split())})
                return
            if self.path != "/v1/chat/completions":
                self._json(404, {})
                return
            fake.bodies.append(body)
            if fake.status != 200:
                self._json(fake.status, {"error": "nope"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": ping\n\n" + _chunk({"role": "assistant"}))
            for step in fake.steps:
                if step[0] == "text":
                    self.wfile.write(_chunk({"content": step[1]}))
                elif step[0] == "finish":
                    self.wfile.write(_chunk({}, "stop"))
                elif step[0] == "done":
                    self.wfile.write(b"data: [DONE]\n\n")
                elif step[0] == "die":
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                elif step[0] == "hang":
                    self.wfile.flush()
                    fake.release.wait(step[1])
                    return
                self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def fakes():
    servers: list[ThreadingHTTPServer] = []
    made: list[Fake] = []

    def make(*specs: Fake) -> list[Fake]:
        for spec in specs:
            servers.append(start_fake(spec))
            made.append(spec)
        return list(specs)

    yield make
    for fake in made:
        fake.release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def collect(pool: ServerPoolGenerator, usage: Usage | None = None) -> list[str]:
    return list(pool.stream(MESSAGES, 'root ::= "x"', 32, usage or Usage()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Fast: streaming and failover semantics
# ---------------------------------------------------------------------------------------------
def test_request_payload_and_backend(fakes):
    (a,) = fakes(Fake(steps=[("text", "Oui "), ("text", "[1]\n"), ("finish",), ("done",)]))
    pool = ServerPoolGenerator([a.url], "secret", 10, seed=7)
    assert "".join(collect(pool)) == "Oui [1]\n"
    body = a.bodies[0]
    assert body["stream"] is True and body["temperature"] == 0 and body["seed"] == 7
    assert body["grammar"] == 'root ::= "x"' and body["repeat_penalty"] == 1.0
    assert pool.backend == f"server:{a.url}" and pool.name == "fake-model"

    vllm = ServerPoolGenerator([a.url], None, 10, grammar_param="structured_outputs")
    collect(vllm)
    assert a.bodies[-1]["structured_outputs"] == {"grammar": 'root ::= "x"'}
    assert "grammar" not in a.bodies[-1]


def test_death_before_any_line_reruns_whole_request(fakes):
    a, b = fakes(
        Fake(steps=[("text", "Début d'une réponse sans fin de li"), ("die",)]),
        Fake(steps=[("text", "Réponse complète [1]\n"), ("finish",)]),
    )
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    pieces = collect(pool)
    assert "".join(pieces) == "Réponse complète [1]\n"  # nothing of A's partial line
    assert pool.backend == f"server:{b.url}"
    assert pool.stats.failovers == 1 and pool.status()[0]["healthy"] is False


def test_death_after_released_line_replays_prefix(fakes):
    a, b = fakes(
        Fake(steps=[("text", "Un [1]\nDeu"), ("die",)]),
        Fake(steps=[("text", "Un [1"), ("text", "]\nDeux [2]\n"), ("finish",)]),
    )
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    pieces = collect(pool)
    assert pieces == ["Un [1]\n", "Deux [2]\n"]  # the first line is released once only
    assert pool.stats.replays == 1 and pool.backend == f"server:{b.url}"


def test_divergent_replay_stops_instead_of_splicing(fakes):
    a, b = fakes(
        Fake(steps=[("text", "Un [1]\nDeu"), ("die",)]),
        Fake(steps=[("text", "Autre chose [2]\n"), ("finish",)]),
    )
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    got: list[str] = []
    with pytest.raises(GenerationError, match="divergente"):
        for piece in pool.stream(MESSAGES, "", 32, Usage()):
            got.append(piece)
    assert got == ["Un [1]\n"] and pool.stats.diverged == 1


def test_done_without_finish_reason_counts_as_cut_short(fakes):
    # llama_cpp.server with --interrupt_requests true ends a preempted stream with [DONE] only
    a, b = fakes(
        Fake(steps=[("text", "Tronqué"), ("done",)]),
        Fake(steps=[("text", "Entier [1]\n"), ("finish",), ("done",)]),
    )
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    assert "".join(collect(pool)) == "Entier [1]\n"


def test_hung_server_is_abandoned_after_read_timeout(fakes):
    a, b = fakes(
        Fake(steps=[("text", "Je commence"), ("hang", 30)]),
        Fake(steps=[("text", "Rapide [1]\n"), ("finish",)]),
    )
    pool = ServerPoolGenerator([a.url, b.url], None, 20, read_timeout_s=1.0)
    t0 = time.monotonic()
    assert "".join(collect(pool)) == "Rapide [1]\n"
    assert time.monotonic() - t0 < 5
    assert "ReadTimeout" in pool.status()[0]["last_error"]


def test_nothing_reachable_fails_fast_and_cleanly():
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    pool = ServerPoolGenerator(urls, None, 30, connect_timeout_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(GenerationError, match="aucun serveur"):
        collect(pool)
    assert time.monotonic() - t0 < 3


def test_bad_request_is_not_retried_elsewhere(fakes):
    a, b = fakes(Fake(status=400), Fake())
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    with pytest.raises(GenerationError, match="refusé"):
        collect(pool)
    assert not b.bodies


def test_least_busy_then_round_robin(fakes):
    a, b = fakes(Fake(), Fake())
    pool = ServerPoolGenerator([a.url, b.url], None, 10)
    used = []
    for _ in range(4):
        collect(pool)
        used.append(pool.backend)
    assert used == [f"server:{a.url}", f"server:{b.url}"] * 2

    # A busy with a slow request: the next ones go to B.
    a.steps = [("text", "Lent [1]\n"), ("hang", 10)]
    pool.read_timeout_s = 3
    n_before = len(a.bodies) + 1
    outcome: list = []

    def slow_request():
        try:
            outcome.append(collect(pool))
        except GenerationError as exc:  # "Lent" released, then B answers otherwise: diverged
            outcome.append(exc)

    background = threading.Thread(target=slow_request)
    background.start()
    deadline = time.monotonic() + 5
    while len(a.bodies) < n_before and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(2):
        collect(pool)
        assert pool.backend == f"server:{b.url}"  # thread-local: not the background request's
    assert len(a.bodies) == n_before
    a.release.set()
    background.join(10)
    assert isinstance(outcome[0], GenerationError)


def test_down_server_is_reprobed_after_interval(fakes):
    a, b = fakes(Fake(health=503, status=503), Fake())
    pool = ServerPoolGenerator([a.url, b.url], None, 10, health_interval_s=0.3)
    collect(pool)
    assert pool.backend == f"server:{b.url}" and pool.status()[0]["healthy"] is False
    a.health, a.status = 200, 200
    time.sleep(0.4)
    seen = set()
    for _ in range(2):
        collect(pool)
        seen.add(pool.backend)
    assert f"server:{a.url}" in seen


def test_count_tokens_remote_then_approximate(fakes):
    a, b = fakes(Fake(tokenize_bos=1), Fake())
    assert ServerPoolGenerator([a.url], None, 10).count_tokens("un deux trois") == 3
    approx = ServerPoolGenerator([b.url], None, 10).count_tokens("x" * 33)
    assert approx == 10


def test_settings_switch_to_pool(fakes, tmp_path):
    from assistant.core.settings import Settings

    (a,) = fakes(Fake())
    settings = Settings(data_dir=tmp_path, llm_urls=[a.url], llm_timeout_s=5)
    generator = load_generator(settings)
    assert isinstance(generator, ServerPoolGenerator) and generator.timeout_s == 5


# ---------------------------------------------------------------------------------------------
# Real llama_cpp.server processes, small model
# ---------------------------------------------------------------------------------------------
QUESTIONS = [  # evals/datasets/demo.jsonl smoke subset
    "C'est combien l'entrée adulte à la piscine ?",
    "Combien coûte la carte de lecteur de la médiathèque pour un adulte qui habite la commune ?",
    "La piscine est ouverte à quelle heure le dimanche matin ?",
    "Quels sont les horaires du skate park ?",
]
# Short runs on 2 shared cores: fewer context and output tokens than production.
SMALL = {"llm_max_tokens": 64, "context_tokens": 350, "llm_timeout_s": 150}


class LlamaServer:
    def __init__(self, model: Path, port: int, ctx: int) -> None:
        self.model, self.port, self.ctx = model, port, ctx
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = REPO / "artifacts" / f"llama-server-{port}.log"

    def start(self) -> LlamaServer:
        self.log.parent.mkdir(exist_ok=True)
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", "1",
            "--n_threads_batch", "1", "--n_ctx", str(self.ctx), "--verbose", "False",
            "--interrupt_requests", "False",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                if httpx.get(self.url + "/v1/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.url} not ready after {timeout} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="module")
def servers(small_llm, demo_settings) -> Iterator[list[LlamaServer]]:
    pair = [
        LlamaServer(small_llm, free_port(), demo_settings.generation.llm_ctx).start()
        for _ in range(2)
    ]
    try:
        for server in pair:
            server.wait_ready()
        yield pair
    finally:
        for server in pair:
            server.kill()


def pool_settings(demo_settings, servers):
    urls = [s.url for s in servers]
    return demo_settings.updated({"llm_urls": urls, **SMALL})


def kill_during_prompt(pool: ServerPoolGenerator, servers, log: list) -> threading.Thread:
    """Watch the pool; SIGKILL the process serving a request while it reads the prompt."""
    base = {state.url: state.streamed_chars for state in pool.servers}

    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for state in pool.servers:
                if state.in_flight > 0 and state.streamed_chars == base[state.url]:
                    time.sleep(0.3)  # well inside prompt reading (seconds on CPU)
                    victim = next(s for s in servers if s.url == state.url)
                    victim.kill()
                    log.append(victim.url)
                    return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.model
@pytest.mark.slow
def test_answers_through_server_pool(demo_settings, servers):
    settings = pool_settings(demo_settings, servers)
    assistant = Assistant(settings)  # configuration only: load_generator returns the pool
    assert isinstance(assistant.generator, ServerPoolGenerator)
    backends = set()
    for question in QUESTIONS[:2]:
        answer = assistant.ask(question)
        assert answer.verdict in CLEAN, answer.reasons
        if answer.verdict != Verdict.refused or answer.prompt_tokens:
            assert answer.backend.startswith("server:http://127.0.0.1:"), answer.backend
            backends.add(answer.backend)
            assert answer.model == "smollm2-135m-instruct-q4_1"
        for sentence in answer.sentences:
            assert sentence.source_ids
    assert len(backends) == 2, "two requests in a row should use both servers (round robin)"


@pytest.mark.model
@pytest.mark.slow
def test_sigkill_mid_request_then_later_requests(demo_settings, servers):
    settings = pool_settings(demo_settings, servers)
    pool = ServerPoolGenerator(
        settings.generation.llm_urls,
        None,
        settings.generation.llm_timeout_s,
        read_timeout_s=60,
        health_interval_s=1,
    )
    assistant = Assistant(settings, generator=pool)
    killed: list = []

    # 1. killed while reading the prompt: the whole request re-runs on the other server
    watcher = kill_during_prompt(pool, servers, killed)
    t0 = time.monotonic()
    first = assistant.ask(QUESTIONS[0])
    watcher.join(1)
    assert killed, "the watcher never saw a request in flight"
    assert first.verdict in CLEAN and time.monotonic() - t0 < settings.generation.llm_timeout_s
    assert pool.stats.failovers == 1
    survivor = next(s for s in servers if s.url != killed[0])
    assert first.backend == f"server:{survivor.url}", (first.backend, first.reasons)

    # 2. later requests go straight to the survivor, nothing waits on the dead one
    second = assistant.ask(QUESTIONS[1])
    assert second.verdict in CLEAN and second.backend == f"server:{survivor.url}"
    assert pool.stats.failovers == 1

    # 3. the dead server comes back: re-probed after health_interval_s, used again
    dead = next(s for s in servers if s.url == killed[0])
    dead.start().wait_ready()
    time.sleep(1.1)
    usage = Usage()
    list(pool.stream([{"role": "user", "content": "Bonjour"}], 'root ::= "ok"', 4, usage))
    list(pool.stream([{"role": "user", "content": "Bonjour"}], 'root ::= "ok"', 4, usage))
    assert all(s["healthy"] for s in pool.status()), pool.status()

    # 4. killed once a line was released, while the stream goes on. The small model rarely
    #    finishes a cited line within the answer budget, so this step drives the pool directly
    #    with a grammar forcing short lines: the next server must replay the released line
    #    (greedy, same model) and continue, or stop cleanly; never two answers spliced.
    messages = [{"role": "user", "content": "Décris la piscine municipale en quatre phrases."}]
    lines = 'root ::= line line line line\nline ::= [A-Za-z ,]{20,60} " [1]\\n"'
    killed.clear()
    got: list[str] = []
    error = None
    try:
        for piece in pool.stream(messages, lines, 120, Usage()):
            got.append(piece)
            if not killed:
                busy = [state.url for state in pool.servers if state.in_flight > 0]
                assert busy, "the stream ended with its first line: nothing to interrupt"
                victim = next(s for s in servers if s.url == busy[0])
                victim.kill()
                killed.append(victim.url)
    except GenerationError as exc:
        error = exc
    assert killed and pool.stats.failovers == 2
    assert pool.stats.replays + pool.stats.diverged == 1
    reference = "".join(pool.stream(messages, lines, 120, Usage()))  # survivor, uninterrupted
    if error is None:
        assert "".join(got) == reference and pool.stats.replays == 1
    else:  # diverged: the caller only ever saw a prefix it can keep
        assert "divergente" in str(error) and len(got) == 1
    print(f"\nfailover mid-stream: replays={pool.stats.replays} diverged={pool.stats.diverged}")
    # bring the killed one back for the next test
    next(s for s in servers if s.url == killed[0]).start().wait_ready()


@pytest.mark.model
@pytest.mark.slow
def test_pool_verdicts_match_in_process(demo_settings, servers, small_llm):
    settings = pool_settings(demo_settings, servers)
    pool = ServerPoolGenerator(
        settings.generation.llm_urls, None, settings.generation.llm_timeout_s, seed=0
    )
    local = LlamaCppGenerator(small_llm, threads=1, n_ctx=settings.generation.llm_ctx, seed=0)
    via_pool = Assistant(settings, generator=pool)
    in_process = Assistant(
        settings, generator=local, embedder=via_pool.embedder, retriever=via_pool.retriever
    )
    text = "La piscine municipale des Cigales est ouverte le dimanche de 9 h à 13 h."
    assert pool.count_tokens(text) == local.count_tokens(text)
    rows = []
    for question in QUESTIONS:
        a, b = via_pool.ask(question), in_process.ask(question)
        generated = [[s.text for s in x.sentences + x.rejected] for x in (a, b)]
        same = (a.text == b.text, generated[0] == generated[1])
        rows.append((question[:40], a.verdict.value, b.verdict.value, *same))
    print(
        "\n(question, pool, in-process, same text, same generation)\n" + "\n".join(map(str, rows))
    )
    assert [r[1] for r in rows] == [r[2] for r in rows], rows
    assert all(r[4] for r in rows), "greedy decoding, same GGUF: the generations should match"
