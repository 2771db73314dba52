"""Bounded load test of ``POST /api/v1/ask`` on loopback: N concurrent citizens for T seconds.

    guichet bench load --spawn --data-dir DIR [--model small|default|PATH] [-n 50] [-t 60]
    guichet bench load --url http://127.0.0.1:8000 [--pid PID]

Each client has its own loopback address (127.0.0.10, .11, …) so the per-client rate limit
applies as it would to 50 citizens, asks the demo questions in turn, and honours ``Retry-After``.
New questions stop at T; questions in flight get ``--grace`` seconds more, then are cancelled.
Every response must be an answer (200 + Answer JSON), a 429 or a 503 with ``Retry-After``;
anything else counts as "other". Reports throughput, p50/p95 latency, queue wait (from the
server's /metrics), and the server's RSS (psutil, sampled every 0.5 s). Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psutil

from assistant.core.stats import percentile
from evals.bench.common import REPO, demo_questions
from ui.serve_thread import free_port

MAX_CLIENTS = 240  # one loopback address each, 127.0.0.10-249


class LoadTestError(RuntimeError):
    """The test could not run (server would not start, address not loopback, bad option)."""


@dataclass
class LoadOptions:
    url: str | None = None  # a running guichet (loopback); None: spawn one
    pid: int | None = None  # server pid for RSS (found by port otherwise)
    clients: int = 50
    duration: float = 60.0  # seconds of asking
    grace: float = 300.0  # seconds more for the questions in flight
    request_timeout: float = 600.0
    impolite: bool = False  # ignore Retry-After
    model: str = "small"  # spawn: small, default or a GGUF
    data_dir: Path | None = None  # spawn: GUICHET_DATA_DIR (an index)
    rate_limit: str = "10/minute"  # spawn: per-client limit
    start_timeout: float = 300.0
    server_log: Path = Path("loadtest-server.log")


@dataclass
class Tally:
    answers: int = 0
    rate_limited: int = 0  # 429 with Retry-After
    busy: int = 0  # 503 with Retry-After
    other: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # answered requests, seconds
    busy_latencies: list[float] = field(default_factory=list)  # 429/503, seconds
    verdicts: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0

    def count_other(self, kind: str) -> None:
        self.other[kind] = self.other.get(kind, 0) + 1


def _assert_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise LoadTestError(f"refusing to load-test {host}: loopback addresses only")


async def client(
    i: int, url: str, qs: list[str], stop_at: float, tally: Tally, timeout: float, polite: bool
) -> None:
    rng = random.Random(i)
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{10 + i}")
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=timeout) as http:
        await asyncio.sleep(rng.uniform(0, 1.0))  # do not all start on the same millisecond
        while time.monotonic() < stop_at:
            question = rng.choice(qs)
            t0 = time.monotonic()
            try:
                response = await http.post("/api/v1/ask", json={"question": question})
            except httpx.TimeoutException:
                tally.count_other("client timeout")
                continue
            except httpx.HTTPError as exc:
                tally.count_other(f"connection: {type(exc).__name__}")
                await asyncio.sleep(1)
                continue
            elapsed = time.monotonic() - t0
            retry = response.headers.get("Retry-After")
            if response.status_code == 200:
                try:
                    body = response.json()
                    verdict = body["verdict"]
                except (ValueError, KeyError):
                    tally.count_other("200 without an Answer")
                    continue
                tally.answers += 1
                tally.latencies.append(elapsed)
                tally.verdicts[verdict] = tally.verdicts.get(verdict, 0) + 1
            elif response.status_code in (429, 503) and retry and retry.isdigit():
                if response.status_code == 429:
                    tally.rate_limited += 1
                else:
                    tally.busy += 1
                tally.busy_latencies.append(elapsed)
                if polite:
                    await asyncio.sleep(min(int(retry), max(0.0, stop_at - time.monotonic())))
            else:
                missing = " without Retry-After" if response.status_code in (429, 503) else ""
                tally.count_other(f"HTTP {response.status_code}{missing}")
                await asyncio.sleep(1)


async def sample_rss(pid: int | None, samples: list[float], done: asyncio.Event) -> None:
    if pid is None:
        return
    proc = psutil.Process(pid)
    while not done.is_set():
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))
        except psutil.Error:
            return
        samples.append(rss / 2**20)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=0.5)


def scrape_histogram(url: str, name: str) -> dict[str, float]:
    """Cumulative buckets (le → count), plus _sum and _count, of one histogram in /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return out
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for s in family.samples:
            if s.name.endswith("_bucket"):
                out[s.labels["le"]] = s.value
            elif s.name.endswith("_sum"):
                out["_sum"] = s.value
            elif s.name.endswith("_count"):
                out["_count"] = s.value
    return out


def histogram_quantile(before: dict[str, float], after: dict[str, float], q: float) -> float | None:
    """Prometheus-style quantile estimate from the bucket deltas between two scrapes."""
    buckets = sorted(
        ((float(le), after[le] - before.get(le, 0.0)) for le in after if not le.startswith("_")),
        key=lambda b: b[0],
    )
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    rank, prev_le, prev_count = q * total, 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            width = count - prev_count
            return prev_le + (le - prev_le) * ((rank - prev_count) / width if width else 1)
        prev_le, prev_count = le, count
    return prev_le


def spawn_server(args: LoadOptions) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GUICHET_RATE_LIMIT": args.rate_limit}
    if args.data_dir:
        env["GUICHET_DATA_DIR"] = str(args.data_dir)
    if args.model != "default":
        if args.model == "small":
            from assistant.core.settings import Settings
            from assistant.index.provision import SMALL_LLM_FILE

            settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
            path = settings.models_dir
            env["GUICHET_LLM_PATH"] = str(path / SMALL_LLM_FILE)
        else:
            env["GUICHET_LLM_PATH"] = str(Path(args.model).resolve())
    log = open(args.server_log, "w")  # noqa: SIM115 (kept open for the server's lifetime)
    cmd = [sys.executable, "-m", "ui.cli", "serve", "--host", "127.0.0.1", "--port"]
    proc = subprocess.Popen([*cmd, str(port)], env=env, stdout=log, stderr=log, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LoadTestError(f"server exited with {proc.returncode}: see {args.server_log}")
        with contextlib.suppress(httpx.HTTPError):
            ready = httpx.get(f"{url}/readyz", timeout=5)
            if ready.status_code == 200:
                return proc, url
            if ready.status_code == 503 and ready.json().get("reasons"):
                stop_server(proc)
                reasons = ready.json()["reasons"]
                raise LoadTestError(f"server not ready: {reasons} (ingest a corpus first?)")
        time.sleep(1)
    stop_server(proc)
    raise LoadTestError(f"server not ready after {args.start_timeout:.0f} s: see {args.server_log}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def server_pid(url: str) -> int | None:
    port = urlparse(url).port
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    return None


async def run(args: LoadOptions, url: str, pid: int | None) -> dict:
    qs = demo_questions()
    tally = Tally()
    wait_before = scrape_histogram(url, "guichet_queue_wait_seconds")
    rss: list[float] = []
    done = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, rss, done))
    start = time.monotonic()
    stop_at = start + args.duration
    tasks = [
        asyncio.create_task(
            client(i, url, qs, stop_at, tally, args.request_timeout, not args.impolite)
        )
        for i in range(args.clients)
    ]
    _, pending = await asyncio.wait(tasks, timeout=args.duration + args.grace)
    for task in pending:
        task.cancel()
        tally.cancelled += 1
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.monotonic() - start
    done.set()
    await sampler
    wait_after = scrape_histogram(url, "guichet_queue_wait_seconds")
    waits = wait_after.get("_count", 0) - wait_before.get("_count", 0)
    alive = True
    if pid is not None:
        alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    r3 = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {
        "url": url,
        "clients": args.clients,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 1),
        "answers": tally.answers,
        "rate_limited_429": tally.rate_limited,
        "busy_503": tally.busy,
        "other": tally.other,
        "cancelled_after_grace": tally.cancelled,
        "verdicts": tally.verdicts,
        "answers_per_minute": round(tally.answers * 60 / elapsed, 2),
        "latency_p50_s": r3(percentile(tally.latencies, 50, interpolate=True)),
        "latency_p95_s": r3(percentile(tally.latencies, 95, interpolate=True)),
        "latency_max_s": r3(max(tally.latencies, default=None)),
        "refusal_latency_p95_s": r3(percentile(tally.busy_latencies, 95, interpolate=True)),
        "queue_wait_mean_s": r3(
            (wait_after.get("_sum", 0) - wait_before.get("_sum", 0)) / waits if waits else None
        ),
        "queue_wait_p50_s": r3(histogram_quantile(wait_before, wait_after, 0.5)),
        "queue_wait_p95_s": r3(histogram_quantile(wait_before, wait_after, 0.95)),
        "server_rss_start_mb": r3(rss[0] if rss else None),
        "server_rss_max_mb": r3(max(rss, default=None)),
        "server_rss_end_mb": r3(rss[-1] if rss else None),
        "server_alive": alive,
        "ok": alive and not tally.other and not tally.cancelled,
    }


def load_test(options: LoadOptions) -> dict:
    """Run the test against ``options.url``, or a server spawned for it; the figures."""
    if options.clients > MAX_CLIENTS:
        raise LoadTestError(f"at most {MAX_CLIENTS} clients (one loopback address each)")
    proc = None
    if options.url is None:
        proc, url = spawn_server(options)
        pid: int | None = proc.pid
    else:
        url = options.url.rstrip("/")
        _assert_loopback(url)
        pid = options.pid or server_pid(url)
    try:
        result = asyncio.run(run(options, url, pid))
    finally:
        if proc is not None:
            stop_server(proc)
    result["model"] = options.model if proc is not None else "(running server)"
    return result


def summary(result: dict) -> str:
    lat = result["latency_p50_s"], result["latency_p95_s"]
    return (
        f"{result['answers']} answers, {result['busy_503']} × 503, "
        f"{result['rate_limited_429']} × 429, other {result['other'] or 0} in "
        f"{result['elapsed_s']} s → {result['answers_per_minute']} answers/min; latency p50/p95 "
        f"{lat[0]}/{lat[1]} s; queue wait p50/p95 {result['queue_wait_p50_s']}/"
        f"{result['queue_wait_p95_s']} s; server RSS max {result['server_rss_max_mb']} MB"
    )
