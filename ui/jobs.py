"""Ingest jobs run by the server itself: one worker thread, one job at a time, progress kept.

Qdrant's local mode locks its folder per process, so while ``guichet serve`` runs, every
change to the index goes through here: uploads and re-ingests from the desk's Documents tab,
``guichet ingest`` handed over by the command line (``ui.handoff``), removals, validated
answers and the sweep of expired ones. Answers keep being served meanwhile:

- Qdrant local mode is not thread-safe, so the one client of the process serialises its calls
  (``assistant.index.serialise``, applied where the store is opened); each call lasts
  milliseconds, so an answer's search waits at most for one batch of upserts;
- the 2 cores are the model's while it generates: the job's embedder (``PoliteEmbedder``)
  embeds in small slices and, before each, waits while an answer is being generated (at most
  ``MAX_YIELD_S``, so a busy desk slows an ingest without starving it). A per-thread
  ``os.nice`` does not exist, hence yielding between slices.

The answer cache keys on the docstore's mtime (``corpus_version``), which the ingest saves
after every batch: a finished job is visible to the next question.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from assistant.core import messages as msg
from assistant.core.settings import Settings

log = logging.getLogger("guichet.jobs")
DOC = msg.DOCUMENTS

SLICE = 8  # passages embedded between two looks at the answer queue (~0.5 s on 2 cores)
MAX_YIELD_S = 10.0  # longest a slice waits for answers to finish
POLL_S = 0.05
SWEEP_S = 60.0  # idle worker: expired validated answers leave the index within a minute
HISTORY = 30
Status = Literal["queued", "running", "done", "failed"]


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kind: str  # ingest, upload, delete, answer, sweep
    label: str
    actor: str
    status: Status = "queued"
    created: str = field(default_factory=now_iso)
    started: str | None = None
    finished: str | None = None
    seconds: float = 0.0
    passages: int = 0  # embedded so far
    yielded_s: float = 0.0  # time the job waited for answers
    summary: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # doc ids written or removed
    error: str = ""

    @property
    def pending(self) -> bool:
        return self.status in ("queued", "running")

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["status_text"] = msg.JOB_STATUS[self.status]
        return data


Work = Callable[["Job", "PoliteEmbedder | None"], str]


class PoliteEmbedder:
    """The ingest's embedder: the shared one, in small slices, stepping aside for answers."""

    def __init__(
        self,
        inner: Any,
        busy: Callable[[], bool],
        job: Job | None = None,
        *,
        slice_size: int = SLICE,
        max_yield_s: float = MAX_YIELD_S,
    ) -> None:
        self.inner, self.busy, self.job = inner, busy, job
        self.name, self.dim = inner.name, inner.dim
        self.slice_size, self.max_yield_s = max(1, slice_size), max_yield_s

    def _yield(self) -> None:
        start = time.monotonic()
        while self.busy() and time.monotonic() - start < self.max_yield_s:
            time.sleep(POLL_S)
        if self.job is not None:
            self.job.yielded_s += time.monotonic() - start

    def passages(self, texts: list[str]) -> np.ndarray:
        parts = []
        for i in range(0, len(texts), self.slice_size):
            self._yield()
            part = self.inner.passages(texts[i : i + self.slice_size])
            parts.append(part)
            if self.job is not None:
                self.job.passages += len(part)
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(parts)

    def query(self, text: str) -> np.ndarray:
        return self.inner.query(text)

    def sentences(self, texts: list[str]) -> np.ndarray:
        return self.inner.sentences(texts)


class JobRunner:
    """A queue of jobs and the one thread that runs them; the last ``HISTORY`` jobs are kept
    (and written to ``data_dir/jobs.json`` so the desk shows them after a restart)."""

    def __init__(
        self,
        settings: Settings,
        *,
        busy: Callable[[], bool] = lambda: False,
        sweep: Callable[[], Job | None] | None = None,
        embedder: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.busy = busy
        self.sweep = sweep
        self._embedder = embedder or self._build_embedder
        self._own_embedder: Any = None
        self._embedder_lock = threading.Lock()
        # Given to ``guichet ingest`` through the 0600 serve record (ui/handoff.py): whoever
        # can read the data folder may hand this server a job.
        self.local_token = secrets.token_urlsafe(32)
        self._queue: queue.Queue[tuple[Job, Work] | None] = queue.Queue()
        self._jobs: deque[Job] = deque(self._load_history(), maxlen=HISTORY)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    @property
    def history_path(self) -> Any:
        return self.settings.paths.data_dir / "jobs.json"

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="guichet-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def submit(self, kind: str, label: str, actor: str, work: Work) -> Job:
        job = Job(secrets.token_hex(6), kind, label[:300], actor[:80])
        with self._lock:
            self._jobs.append(job)
            self._idle.clear()
        self._save_history()
        self.start()
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs if j.id == job_id), None)

    def recent(self, n: int = HISTORY) -> list[Job]:
        """The latest jobs, newest first."""
        with self._lock:
            return list(reversed(self._jobs))[:n]

    def pending(self) -> bool:
        with self._lock:
            return any(j.pending for j in self._jobs)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (tests, the command line)."""
        return self._idle.wait(timeout)

    def run_now(self, job: Job, work: Work) -> None:
        """Run ``job`` in this thread (the worker, or a test without one)."""
        job.status, job.started = "running", now_iso()
        self._save_history()
        start = time.perf_counter()
        try:
            job.summary = work(job, PoliteEmbedder(self.embedder(), self.busy, job))
            job.status = "done"
        except Exception as exc:  # reported on the desk; the worker goes on
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.status, job.error = "failed", str(exc)[:500] or type(exc).__name__
        finally:
            job.seconds = round(time.perf_counter() - start, 2)
            job.finished = now_iso()
            self._save_history()

    def embedder(self) -> Any:
        """The embedder the jobs share: the server's (``AppState`` hands its ``Components``'),
        or one built on first use when none was given."""
        with self._embedder_lock:  # not self._lock: a first load takes seconds
            if self._own_embedder is None:
                self._own_embedder = self._embedder()
            return self._own_embedder

    def _build_embedder(self) -> Any:
        from assistant.index.embedding import load_embedder

        return load_embedder(self.settings.index.embedder)

    def _loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=SWEEP_S)
            except queue.Empty:
                self._sweep()
                continue
            if item is None:
                return
            self.run_now(*item)
            with self._lock:
                if self._queue.empty() and not any(j.pending for j in self._jobs):
                    self._idle.set()

    def _sweep(self) -> None:
        if self.sweep is None:
            return
        try:
            job = self.sweep()
        except Exception:
            log.exception("sweep of expired answers failed")
            return
        if job is not None:
            with self._lock:
                self._jobs.append(job)
            self._save_history()

    # --- history ------------------------------------------------------------------------------
    def _load_history(self) -> list[Job]:
        try:
            rows = json.loads(self.history_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        jobs = []
        for row in rows if isinstance(rows, list) else []:
            try:
                row.pop("status_text", None)
                row["failures"] = [tuple(f) for f in row.get("failures", [])]
                job = Job(**row)
            except (TypeError, AttributeError):
                continue
            if job.pending:  # the server stopped under it
                job.status, job.error = "failed", DOC["job_interrupted"]
            jobs.append(job)
        return jobs[-HISTORY:]

    def _save_history(self) -> None:
        with self._lock:
            rows = [j.public() for j in self._jobs]
        path = self.history_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            log.warning("could not save the job history", exc_info=True)
