"""What staff (or the command line) can do to the corpus while guichet serves, as jobs of the
server's one worker (``ui.jobs``): ingest folders, add uploads, remove a document, write or
remove a validated answer, and the sweep of expired answers.

The desk's Documents tab (``ui.desk_documents``) and the admin routes (``ui.admin``) both call
this service, so a check (type, size, known folder, role) cannot be skipped by one of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from assistant.core import messages as msg
from assistant.core.settings import Settings
from ui import library, validated
from ui.jobs import Job, JobRunner, PoliteEmbedder, Work, now_iso

log = logging.getLogger("guichet.jobs")
DOC = msg.DOCUMENTS
ROLE = "documents"


def has_role(settings: Settings, login: str | None, role: str = ROLE) -> bool:
    """Configured staff need the role in ``GUICHET_STAFF_ROLES``; without configured staff,
    the one-run login (``ui.auth``) is whoever started the server, and gets it."""
    if not login:
        return False
    if not settings.serving.staff_users:
        from ui.auth import DEMO_LOGIN

        return login == DEMO_LOGIN
    return role in settings.serving.staff_roles.get(login, [])


@dataclass
class Refusal:
    name: str
    reason: str
    status: int = 415


class DocumentService:
    def __init__(self, settings: Settings, jobs: JobRunner) -> None:
        self.settings = settings
        self.jobs = jobs
        jobs.sweep = self.sweep

    # --- ingest ------------------------------------------------------------------------------
    def _ingest_work(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        collection: str | None = None,
        files_of: Path | None = None,
    ) -> Work:
        """``paths`` ingested as files and folders, or (``files_of``) as files of that folder."""

        def work(job: Job, embedder: PoliteEmbedder | None) -> str:
            from ingest.pipeline import Ingestor

            if any(p.resolve() == library.library_dir(self.settings).resolve() for p in paths):
                validated.write_ignore(self.settings)  # expired answers are never re-read
            # the shared embedder, stepping aside for answers
            ingestor = Ingestor(self.settings, collection, embedder=embedder)
            if files_of is not None:
                report = ingestor.ingest_files(paths, files_of)
            else:
                report = ingestor.run(paths, prune=prune, progress=False)
            job.failures = [(f.doc_id, f.reason) for f in report.failed]
            job.failures += [
                (f"{f.doc_id} p. {page}", why)
                for f in report.files
                for page, why in getattr(f, "failed_pages", [])
            ]
            job.documents = [f.doc_id for f in report.files if f.status in ("ok", "pruned")]
            return report.summary()

        return work

    def ingest(
        self,
        paths: list[Path],
        actor: str,
        *,
        prune: bool = False,
        collection: str | None = None,
        any_path: bool = False,
    ) -> Job:
        """Queue an ingest of ``paths``. Staff (``any_path`` False) may only re-ingest a folder
        the index already holds documents of, or the library; the operator's token, any path."""
        resolved = [Path(p).expanduser().resolve() for p in paths]
        missing = [str(p) for p in resolved if not p.exists()]
        if missing:
            raise ValueError(DOC["path_missing"].format(path=", ".join(missing)[:300]))
        if not any_path:
            allowed = {Path(f).resolve() for f in library.known_folders(self.settings)}
            if any(p not in allowed for p in resolved):
                raise PermissionError(DOC["path_not_known"])
        label = DOC["job_ingest"].format(paths=", ".join(p.name or str(p) for p in resolved))
        work = self._ingest_work(resolved, prune=prune, collection=collection)
        return self.jobs.submit("ingest", label, actor, work)

    def library_ingest(self, label: str, actor: str, kind: str = "ingest") -> Job:
        folder = library.library_dir(self.settings)
        folder.mkdir(parents=True, exist_ok=True)
        return self.jobs.submit(kind, label, actor, self._ingest_work([folder]))

    def upload(self, files: list[tuple[Path, str]], actor: str) -> tuple[Job | None, list[Refusal]]:
        """Check and store each uploaded file (temporary path, name given by the browser),
        then queue one ingest of those files; refused files are listed with their reason."""
        stored: list[Path] = []
        refused: list[Refusal] = []
        for path, name in files:
            try:
                stored.append(library.store_upload(self.settings, Path(path), name))
            except library.UploadRefused as exc:
                refused.append(Refusal(library.safe_name(name), str(exc), exc.status))
        if not stored:
            return None, refused
        label = DOC["job_upload"].format(files=", ".join(p.name for p in stored))
        root = library.library_dir(self.settings)  # ids: televersements/<file>
        work = self._ingest_work(stored, files_of=root)  # these files, not the whole library
        return self.jobs.submit("upload", label, actor, work), refused

    # --- removal -----------------------------------------------------------------------------
    def delete(self, doc_id: str, actor: str) -> Job:
        doc_id = library.file_of(doc_id.strip())
        if not doc_id or doc_id.startswith("/") or ".." in doc_id.split("/"):
            raise ValueError(DOC["delete_unknown"])

        def work(job: Job, embedder: PoliteEmbedder | None) -> str:
            removed = library.forget_file(self.settings, doc_id, embedder=embedder)
            if not removed:
                raise ValueError(DOC["delete_unknown"])
            job.documents = [doc_id]
            return DOC["delete_done"].format(doc=doc_id, n=removed)

        return self.jobs.submit("delete", DOC["job_delete"].format(doc=doc_id), actor, work)

    # --- validated answers --------------------------------------------------------------------
    def save_answer(self, answer: validated.ValidatedAnswer, actor: str) -> Job:
        validated.save_answer(self.settings, answer)
        if answer.expired():
            return self._forget_answer(answer.doc_id, answer.question, actor, keep_file=True)
        label = DOC["job_answer"].format(question=answer.question[:80])
        return self.library_ingest(label, actor, "answer")

    def remove_answer(self, slug: str, actor: str) -> Job:
        answer = validated.find_answer(self.settings, slug)
        return self._forget_answer(answer.doc_id, answer.question, actor, keep_file=False)

    def _forget_answer(self, doc_id: str, question: str, actor: str, *, keep_file: bool) -> Job:
        def work(job: Job, embedder: PoliteEmbedder | None) -> str:
            path = library.library_dir(self.settings) / doc_id
            if keep_file:  # expired: kept on disk for staff to extend, out of the index
                validated.write_ignore(self.settings)
                _forget_if_indexed(self.settings, doc_id, lambda: embedder)
                return DOC["answer_expired_out"].format(question=question[:80])
            _forget_if_indexed(self.settings, doc_id, lambda: embedder)
            path.unlink(missing_ok=True)
            validated.write_ignore(self.settings)
            job.documents = [doc_id]
            return DOC["answer_removed"].format(question=question[:80])

        label = DOC["job_answer_remove"].format(question=question[:80])
        return self.jobs.submit("answer", label, actor, work)

    def sweep(self, today: date | None = None) -> Job | None:
        """In the worker, when idle: expired answers still indexed leave the index now."""
        if not validated.answers_dir(self.settings).is_dir():
            return None  # no validated answer yet: nothing to write, nothing to sweep
        expired = validated.write_ignore(self.settings, today)
        if not expired:
            return None
        gone = [doc_id for doc_id in expired if library.is_indexed(self.settings, doc_id)]
        if not gone:
            return None
        job = Job("sweep-" + now_iso(), "sweep", DOC["job_sweep"], "guichet", status="running")
        job.started = now_iso()
        for doc_id in gone:
            _forget_if_indexed(self.settings, doc_id, self.jobs.embedder)
        job.status, job.finished, job.documents = "done", now_iso(), gone
        job.summary = DOC["sweep_done"].format(n=len(gone))
        log.info("expired validated answers removed from the index: %d", len(gone))
        return job


def _forget_if_indexed(settings: Settings, doc_id: str, embedder: Callable[[], Any]) -> None:
    """Out of the index, file kept (the caller decides about the file). ``embedder``: the
    jobs' shared one, asked for only when there is something to remove."""
    if library.is_indexed(settings, doc_id):
        library.forget_file(settings, doc_id, delete_file=False, embedder=embedder())
