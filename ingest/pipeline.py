"""Incremental ingestion: files → documents → chunks → embeddings → Qdrant.

Every file met is in the report: ingested (``ok``), ``unchanged``, ``failed`` with a reason,
``skipped`` (not supported, hidden, ignored: ``ingest/discovery.py``) or ``pruned``. A PDF's
pages that could not be indexed (OCR too uncertain) are listed on its outcome.

What we add around llama-index, and why:
- a file-level hash (``file::<doc_id>`` in the docstore) so an unchanged file is not even
  parsed again: a re-ingest of an unchanged corpus costs a hash per file;
- batches bounded by chunks and bytes, saved as they complete (``ingest/batches.py``), fed
  by files read one document at a time (a scanned PDF one page at a time), so a killed
  ingest resumes where it stopped and loses at most one small batch. Chunk ids are
  deterministic (uuid5 of document id and position), so chunks written before a kill are
  overwritten, not duplicated;
- ``prune``: documents of the collection that were not seen under the given paths are removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from llama_index.core.schema import Document
from llama_index.core.storage.docstore import SimpleDocumentStore
from tqdm import tqdm

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.index.embedding import LlamaIndexEmbedding, load_embedder
from assistant.index.store import vector_store
from ingest.batches import ChunkWriter, forget_partial
from ingest.chunking import SectionChunker
from ingest.discovery import Found, discover, walk
from ingest.loaders import LoadError, LoadOptions, LoadStream, open_file

__all__ = ["FILE_KEY", "IngestError", "IngestReport", "Ingestor", "discover", "ingest"]

FILE_KEY = "file::"


class IngestError(RuntimeError):
    """The ingest cannot go on (e.g. disk full); the message says what to do."""


def _disk_full(exc: BaseException) -> bool:
    # Qdrant local mode writes through SQLite, which reports ENOSPC as "database or disk is full".
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


Status = Literal["ok", "unchanged", "failed", "skipped", "pruned"]


@dataclass
class FileOutcome:
    doc_id: str
    status: Status
    reason: str = ""
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)
    # (page, reason) of the pages not indexed, e.g. OCR too uncertain
    failed_pages: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class IngestReport:
    collection: str
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    chunks_written: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def skipped(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "skipped"]

    def summary(self) -> str:
        pages = sum(len(f.failed_pages) for f in self.files)
        return (
            f"{self.count('ok')} ingérés, {self.count('unchanged')} inchangés, "
            f"{self.count('failed')} en échec, {self.count('skipped')} ignorés, "
            f"{self.count('pruned')} retirés · {pages} pages non indexées · "
            f"{self.chunks_written} passages écrits · {self.seconds:.1f} s"
        )


def report_path(settings: Settings, collection: str | None = None) -> Path:
    return settings.paths.data_dir / f"last_ingest_{collection or settings.index.collection}.json"


def save_report(report: IngestReport, settings: Settings) -> Path:
    """Write the ingest report as JSON (finish time, counts, every file's outcome), read by
    the desk's Corpus tab."""
    path = report_path(settings, report.collection)
    payload = {
        "collection": report.collection,
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 2),
        "chunks_written": report.chunks_written,
        "summary": report.summary(),
        "files": [asdict(f) for f in report.files],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def file_id(file: Path, root: Path) -> str:
    return file.relative_to(root).as_posix()


def file_hash(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def page_count(file: Path) -> int:
    """Pages of a PDF (the progress bar's units), 1 for any other file."""
    if file.suffix.lower() != ".pdf":
        return 1
    import pymupdf

    try:
        with pymupdf.open(file) as pdf:
            return max(1, pdf.page_count)
    except Exception:  # reported by the loader; here it only sizes the bar
        return 1


def load_docstore(path: Path) -> SimpleDocumentStore:
    if path.is_file():
        return SimpleDocumentStore.from_persist_path(str(path))
    return SimpleDocumentStore()


def save_docstore(docstore: SimpleDocumentStore, path: Path) -> None:
    """Write to a temporary file then rename: a kill never leaves half a JSON behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.json")
    docstore.persist(str(tmp))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def known_hashes(docstore: SimpleDocumentStore) -> dict[str, str]:
    """doc id → hash for everything the docstore has recorded (files and documents)."""
    meta = docstore._kvstore.get_all(collection=docstore._metadata_collection)
    return {key: value.get("doc_hash", "") for key, value in meta.items()}


def _docs_of_file(hashes: dict[str, str], fid: str) -> list[str]:
    return [k for k in hashes if k == fid or k.startswith(fid + "#p")]


def _forget(docstore: SimpleDocumentStore, store: Any, doc_ids: Iterable[str]) -> None:
    for doc_id in doc_ids:
        store.delete(doc_id)
        docstore.delete_ref_doc(doc_id, raise_error=False)
        docstore.delete_document(doc_id, raise_error=False)
        docstore._kvstore.delete(doc_id, collection=docstore._metadata_collection)
        forget_partial(docstore, doc_id)


def load_options(settings: Settings) -> LoadOptions:
    return LoadOptions(
        ocr=settings.ingest.ocr,
        ocr_language=settings.ingest.ocr_language,
        ocr_dpi=settings.ingest.ocr_dpi,
        ocr_min_confidence=settings.ingest.ocr_min_confidence,
        ocr_cache=settings.paths.data_dir / "ocr-cache",
        office_timeout_s=settings.ingest.office_timeout_s,
    )


def _content_hash(doc: Document) -> None:
    doc.metadata.setdefault("content_hash", hashlib.sha256(doc.text.encode()).hexdigest()[:16])


class Ingestor:
    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.index.collection
        self.embedder = load_embedder(settings.index.embedder)
        self.store = vector_store(settings, self.collection, self.embedder.dim)
        self.docstore_path = settings.docstore_file(self.collection)
        self.docstore = load_docstore(self.docstore_path)
        self.chunker = SectionChunker(
            chunk_chars=settings.ingest.chunk_chars,
            overlap_chars=settings.ingest.chunk_overlap_chars,
        )
        self.embed_model = LlamaIndexEmbedding(
            self.embedder, embed_batch_size=settings.index.embed_batch_size
        )
        self.options = load_options(settings)
        self._before: dict[str, list[str]] = {}

    def _writer(self, bar: Any = None) -> ChunkWriter:
        def stored(n: int) -> None:
            if bar is not None:
                bar.set_postfix_str(f"{writer.stored} passages", refresh=False)

        writer = ChunkWriter(
            chunker=self.chunker.split,
            embed=self.embed_model,
            store=self.store,
            docstore=self.docstore,
            save=lambda: save_docstore(self.docstore, self.docstore_path),
            max_chunks=self.settings.ingest.ingest_batch_chunks,
            max_bytes=self.settings.ingest.ingest_batch_kb * 1024,
            max_documents=self.settings.ingest.ingest_batch_docs,
            on_stored=stored,
        )
        return writer

    def run(self, paths: list[Path], *, prune: bool = False, progress: bool = True) -> IngestReport:
        try:
            return self._run(paths, prune=prune, progress=progress)
        except Exception as exc:
            if _disk_full(exc):
                raise IngestError(
                    msg.INGEST_DISK_FULL.format(path=self.settings.paths.data_dir)
                ) from exc
            raise

    def _run(self, paths: list[Path], *, prune: bool, progress: bool) -> IngestReport:
        start = time.perf_counter()
        report = IngestReport(self.collection)
        found = list(walk(paths))
        pages = {f.path: page_count(f.path) for f in found if f.skipped is None}
        bar = tqdm(total=sum(pages.values()), unit="page", desc="ingest", disable=not progress)
        writer = self._writer(bar)
        # The documents of each file before this run: those a new version lacks are removed.
        self._before = {}
        for doc_id in known_hashes(self.docstore):
            if not doc_id.startswith(FILE_KEY):
                self._before.setdefault(re.sub(r"#p\d+$", "", doc_id), []).append(doc_id)
        seen: set[str] = set()
        for item in found:
            if item.skipped is not None:
                report.files.append(FileOutcome(item.doc_id, "skipped", item.skipped))
                continue
            fid = file_id(item.path, item.root)
            seen.add(fid)
            self._ingest_file(item, fid, report, writer, bar, pages[item.path])
        writer.flush()
        bar.close()
        report.chunks_written = writer.stored
        if prune:
            self._prune(seen, report)
        report.seconds = time.perf_counter() - start
        save_report(report, self.settings)
        return report

    def _ingest_file(
        self,
        item: Found,
        fid: str,
        report: IngestReport,
        writer: ChunkWriter,
        bar: Any,
        pages: int,
    ) -> None:
        max_bytes = int(self.settings.ingest.max_file_mb * 1024 * 1024)
        try:
            digest = file_hash(item.path)
        except OSError as exc:
            report.files.append(FileOutcome(fid, "failed", f"lecture impossible : {exc}"))
            bar.update(pages)
            return
        if self.docstore.get_document_hash(FILE_KEY + fid) == digest:
            report.files.append(FileOutcome(fid, "unchanged"))
            bar.update(pages)
            return
        outcome = FileOutcome(fid, "ok")
        report.files.append(outcome)
        stream: LoadStream | None = None
        done = 0
        ids: set[str] = set()
        try:
            stream = open_file(item.path, item.root, max_bytes=max_bytes, options=self.options)
            outcome.warnings, outcome.failed_pages = stream.warnings, stream.failed_pages
            for doc in stream.documents:
                _content_hash(doc)
                ids.add(doc.id_)
                writer.add(doc, outcome)
                page = doc.metadata.get("page") or 1
                bar.update(max(0, min(page, pages) - done))
                done = max(done, min(page, pages))
        except LoadError as exc:
            outcome.status, outcome.reason = "failed", str(exc)
            if ids:  # documents of a file that failed half-way must not stay indexed
                writer.flush()
                _forget(self.docstore, self.store, ids)
            bar.update(max(0, pages - done))
            return
        bar.update(max(0, pages - done))
        stale = [d for d in self._before.get(fid, []) if d not in ids]
        if stale:
            _forget(self.docstore, self.store, stale)
        writer.file_done(FILE_KEY + fid, digest)

    def add_documents(self, documents: list[Document], *, progress: bool = True) -> IngestReport:
        """Ingest documents that do not come from files (e.g. an eval corpus in one JSON),
        with the same incremental and resumable behaviour as files."""
        try:
            return self._add_documents(documents, progress=progress)
        except Exception as exc:
            if _disk_full(exc):
                raise IngestError(
                    msg.INGEST_DISK_FULL.format(path=self.settings.paths.data_dir)
                ) from exc
            raise

    def _add_documents(self, documents: list[Document], *, progress: bool) -> IngestReport:
        start = time.perf_counter()
        report = IngestReport(self.collection)
        bar = tqdm(total=len(documents), desc="ingest", unit="doc", disable=not progress)
        writer = self._writer(bar)
        for doc in documents:
            _content_hash(doc)
            outcome = FileOutcome(doc.id_, "ok")
            if not writer.add(doc, outcome):
                outcome.status = "unchanged"
            report.files.append(outcome)
            bar.update(1)
        writer.flush()
        bar.close()
        report.chunks_written = writer.stored
        report.seconds = time.perf_counter() - start
        return report

    def _prune(self, seen: set[str], report: IngestReport) -> None:
        hashes = known_hashes(self.docstore)
        gone = [k[len(FILE_KEY) :] for k in hashes if k.startswith(FILE_KEY)]
        gone = [fid for fid in gone if fid not in seen]
        for fid in gone:
            _forget(self.docstore, self.store, [*_docs_of_file(hashes, fid), FILE_KEY + fid])
            report.files.append(FileOutcome(fid, "pruned"))
        save_docstore(self.docstore, self.docstore_path)


def ingest(
    paths: list[Path],
    settings: Settings,
    *,
    collection: str | None = None,
    prune: bool = False,
    progress: bool = True,
) -> IngestReport:
    return Ingestor(settings, collection).run(paths, prune=prune, progress=progress)
