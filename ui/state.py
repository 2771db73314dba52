"""What the web front ends share in one process: settings, the assistant, the work queue.

The assistant (model + index) is opened once at start-up; if that fails (model file missing or
corrupt, Qdrant folder locked) the server still starts, ``/readyz`` says why and the desk shows
it, rather than crashing in a loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence

from assistant.components import Components
from assistant.core.answer import DoneEvent, Event
from assistant.core.settings import Settings
from assistant.pipeline import Assistant
from assistant.records.audit import AuditLog
from ui.documents import DocumentService
from ui.jobs import JobRunner
from ui.queue import Waiting, WorkQueue

log = logging.getLogger("guichet.server")


class AppState:
    def __init__(
        self,
        settings: Settings,
        assistant: Assistant | None = None,
        components: Components | None = None,
    ) -> None:
        self.settings = settings
        # Built once for the process: the assistant and the live-corpus jobs share its models.
        self.components = components or Components(settings)
        self.queue = WorkQueue(max_waiting=settings.serving.queue_max_waiting)
        self._assistant = assistant
        self.startup_error: str | None = None
        self.loaded = False  # model and index opened by load()
        self._lock = threading.Lock()
        self.audit = AuditLog.from_settings(settings)
        # Corpus changes while serving (ui/jobs.py): ingest embeddings wait while an answer
        # is being generated.
        self.jobs = JobRunner(
            settings,
            busy=lambda: self.queue.active > 0,
            embedder=lambda: self.components.embedder,
        )
        self.documents = DocumentService(settings, self.jobs)
        self.at_exit: list[Callable[[], None]] = []  # run by the server's shutdown

    def load(self) -> None:
        """Open the index and the model now (start-up), recording any error for /readyz."""
        try:
            from assistant.records import redact

            redact.preload()  # the name model loads now, not during the first answer
            self.audit.purge_older_than(self.settings.records.audit_retention_days)
            assistant = self.assistant
            _ = assistant.generator  # load the GGUF at start, not on the first question
            self.loaded = True
        except Exception as exc:  # reported, not raised: the server must stay up to say so
            self.startup_error = str(exc)
            log.error("guichet not ready: %s", exc)

    @property
    def assistant(self) -> Assistant:
        with self._lock:
            if self._assistant is None:
                self._assistant = Assistant(self.settings, components=self.components)
            return self._assistant

    def ask_events(
        self,
        question: str,
        channel: str = "api",
        history: Sequence[str] = (),
        document: str | None = None,
    ) -> Iterator[Waiting | Event]:
        """Queue position updates, then the answer's events. Raises ``QueueFull``.
        Every finished answer goes to the append-only audit log (redacted question).
        ``history``: the conversation's previous questions, sent by the client, kept nowhere.
        ``document``: a doc id the question is restricted to (one of an answer's choices)."""
        thread = list(history)

        def work() -> Iterator[Event]:
            return self.assistant.events(question, history=thread, document=document)

        for item in self.queue.stream(work):
            if isinstance(item, DoneEvent):
                try:
                    self.audit.record(item.answer, channel=channel)
                except Exception:  # the audit must never cost the citizen an answer
                    log.exception("audit log write failed")
            yield item
