"""Incremental ingestion: files → documents → chunks → embeddings → Qdrant.

Every file met is in the report: ingested (``ok``), ``unchanged``, ``failed`` with a reason,
``skipped`` (not supported, hidden, ignored: ``ingest/discovery.py``) or ``pruned``. A PDF's
pages that could not be indexed (OCR too uncertain) are listed on its outcome.

What we add around llama-index, and why:
- a file-level hash (``file::<doc_id>`` in the docstore, signed with the reading version:
  ``ingest/reading.py``) so an unchanged file is not even
  parsed again: a re-ingest of an unchanged corpus costs a hash per file;
- batches bounded by chunks and bytes, saved as they complete (``ingest/batches.py``), fed
  by files read one document at a time (a scanned PDF one page at a time), so a killed
  ingest resumes where it stopped and loses at most one small batch. Chunk ids are
  deterministic (uuid5 of document id and position), so chunks written before a kill are
  overwritten, not duplicated;
- ``prune``: documents once read from under the given folders and gone from them are removed
  (the folder each file was read from is recorded, ``ingest/records.py``); documents read
  from anywhere else (another folder, a website's mirror, the desk's library) are kept.
"""

from __future__ import annotations

import errno
import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document
from tqdm import tqdm

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.index import embedding
from assistant.index.embedding import Embedder, LlamaIndexEmbedding
from assistant.index.store import vector_store
from ingest.batches import ChunkWriter
from ingest.chunking import SectionChunker
from ingest.discovery import Found, discover, unsupported_reason, walk
from ingest.loaders import LoadError, LoadOptions, LoadStream, open_file, supported
from ingest.reading import reading_signature, signed
from ingest.records import (
    FILE_KEY,
    FileOutcome,
    IngestReport,
    docs_of_file,
    document_of,
    file_ids,
    forget,
    indexed_files,
    known_hashes,
    load_docstore,
    read_report,
    record_root,
    recorded_root,
    report_path,
    save_docstore,
    save_report,
    stored_path,
)
from ingest.website import SiteReport, mirror_site

__all__ = [
    "FILE_KEY",
    "FileOutcome",
    "IngestError",
    "IngestReport",
    "Ingestor",
    "discover",
    "indexed_files",
    "ingest",
    "known_hashes",
    "load_docstore",
    "read_report",
    "report_path",
    "save_docstore",
    "save_report",
]


class IngestError(RuntimeError):
    """The ingest cannot go on (e.g. disk full); the message says what to do."""


def _disk_full(exc: BaseException) -> bool:
    # Qdrant local mode writes through SQLite, which reports ENOSPC as "database or disk is full".
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


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
    """The one way into a collection: what ``guichet ingest``, the server's jobs and the evals
    call. Public: :meth:`run` (files and folders), :meth:`ingest_folder`, :meth:`ingest_files`,
    :meth:`ingest_site`, :meth:`add_documents`, :meth:`delete_document`, :meth:`files`; the
    report of the last run is :func:`read_report`.

    ``embedder``: the embedder to use (the server's shared one, stepping aside for answers),
    by default the one the settings name."""

    def __init__(
        self, settings: Settings, collection: str | None = None, *, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.collection = collection or settings.index.collection
        self.embedder = embedder or embedding.load_embedder(settings.index.embedder)
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
        self.signature = reading_signature(settings)
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
            save=self._save,
            max_chunks=self.settings.ingest.ingest_batch_chunks,
            max_bytes=self.settings.ingest.ingest_batch_kb * 1024,
            max_documents=self.settings.ingest.ingest_batch_docs,
            on_stored=stored,
            signature=self.signature,
        )
        return writer

    def _save(self) -> None:
        save_docstore(self.docstore, self.docstore_path)

    # --- public -------------------------------------------------------------------------------
    def run(self, paths: list[Path], *, prune: bool = False, progress: bool = True) -> IngestReport:
        """Ingest files and folders. ``prune``: documents once read from under one of the
        folders given, and no longer there, are removed; nothing read from elsewhere is."""
        paths = [Path(p) for p in paths]
        scope = [p.resolve() for p in paths if p.is_dir()]
        return self._guarded(
            lambda: self._run(list(walk(paths)), scope if prune else None, progress)
        )

    def ingest_folder(
        self, folder: Path, *, prune: bool = False, progress: bool = False
    ) -> IngestReport:
        return self.run([folder], prune=prune, progress=progress)

    def ingest_files(
        self, files: list[Path], root: Path, *, progress: bool = False
    ) -> IngestReport:
        """Ingest these files of ``root`` only (an upload into the library), with the ids they
        get when ``root`` is ingested as a folder."""
        root = Path(root).resolve()
        found = []
        for file in files:
            file = Path(file).resolve()
            if not file.is_relative_to(root) or not file.is_file():
                raise FileNotFoundError(f"fichier introuvable dans {root} : {file.name}")
            found.append(Found(file, root, None if supported(file) else unsupported_reason(file)))
        return self._guarded(lambda: self._run(found, None, progress))

    def ingest_site(
        self,
        addresses: list[str],
        *,
        prune: bool = False,
        progress: bool = True,
        delay_s: float = 1.0,
    ) -> tuple[IngestReport, SiteReport]:
        """Mirror a website (sitemaps or page addresses, ``ingest.website``) into the data
        folder, then ingest the mirror; ``prune`` removes only the mirror's vanished pages."""
        folder, site = mirror_site(addresses, self.settings.paths.data_dir, delay_s=delay_s)
        folder.mkdir(parents=True, exist_ok=True)
        return self.run([folder], prune=prune, progress=progress), site

    def delete_document(self, doc_id: str) -> int:
        """Remove one file (``doc_id`` of the file or of one of its pages) from the index and
        the docstore; the number of documents removed (0: not indexed)."""
        fid = document_of(doc_id)
        hashes = known_hashes(self.docstore)
        doomed = [d for d in [*docs_of_file(hashes, fid), FILE_KEY + fid] if d in hashes]
        if not doomed:  # not in the docstore (a chunk left by an older layout): by payload
            if stored_path(self.store, self.collection, [fid]) is None:
                return 0
            doomed = [fid]
        forget(self.docstore, self.store, doomed)
        self._save()  # a new corpus version: the answer cache keys on it
        return len([d for d in doomed if not d.startswith(FILE_KEY)]) or 1

    def files(self) -> list[str]:
        """The files of the collection (ids), from the docstore."""
        return file_ids(self.docstore)

    # --- the run ------------------------------------------------------------------------------
    def _guarded(self, work: Any) -> IngestReport:
        try:
            report: IngestReport = work()
        except Exception as exc:
            if _disk_full(exc):
                raise IngestError(
                    msg.INGEST_DISK_FULL.format(path=self.settings.paths.data_dir)
                ) from exc
            raise
        return report

    def _run(self, found: list[Found], scope: list[Path] | None, progress: bool) -> IngestReport:
        start = time.perf_counter()
        report = IngestReport(self.collection)
        pages = {f.path: page_count(f.path) for f in found if f.skipped is None}
        bar = tqdm(total=sum(pages.values()), unit="page", desc="ingest", disable=not progress)
        writer = self._writer(bar)
        # The documents of each file before this run: those a new version lacks are removed.
        self._before = {}
        for doc_id in known_hashes(self.docstore):
            if not doc_id.startswith(FILE_KEY):
                self._before.setdefault(document_of(doc_id), []).append(doc_id)
        seen: set[str] = set()
        roots_changed = False
        for item in found:
            if item.skipped is not None:
                report.files.append(FileOutcome(item.doc_id, "skipped", item.skipped))
                continue
            fid = file_id(item.path, item.root)
            seen.add(fid)
            self._ingest_file(item, fid, report, writer, bar, pages[item.path])
            if report.files[-1].status in ("ok", "unchanged"):
                roots_changed |= record_root(self.docstore, fid, item.root)
        writer.flush()
        bar.close()
        report.chunks_written = writer.stored
        if scope is not None:
            self._prune(scope, seen, report)
        elif roots_changed:
            self._save()
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
            digest = signed(file_hash(item.path), self.signature)
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
                forget(self.docstore, self.store, ids)
            bar.update(max(0, pages - done))
            return
        bar.update(max(0, pages - done))
        stale = [d for d in self._before.get(fid, []) if d not in ids]
        if stale:
            forget(self.docstore, self.store, stale)
        writer.file_done(FILE_KEY + fid, digest)

    def add_documents(self, documents: list[Document], *, progress: bool = True) -> IngestReport:
        """Ingest documents that do not come from files (e.g. an eval corpus in one JSON),
        with the same incremental and resumable behaviour as files."""
        return self._guarded(lambda: self._add_documents(documents, progress=progress))

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

    def _prune(self, scope: list[Path], seen: set[str], report: IngestReport) -> None:
        """Remove the files read from under ``scope`` that this run did not meet. A file whose
        folder is unknown (indexed before folders were recorded) is located by its chunks'
        path; one that cannot be located is kept: a prune never guesses."""
        hashes = known_hashes(self.docstore)
        for fid in [k[len(FILE_KEY) :] for k in hashes if k.startswith(FILE_KEY)]:
            if fid in seen:
                continue
            docs = docs_of_file(hashes, fid)
            root = recorded_root(self.docstore, fid)
            where = root / fid if root else stored_path(self.store, self.collection, docs)
            if where is None or not any(where.is_relative_to(s) for s in scope):
                continue
            forget(self.docstore, self.store, [*docs, FILE_KEY + fid])
            report.files.append(FileOutcome(fid, "pruned"))
        self._save()


def ingest(
    paths: list[Path],
    settings: Settings,
    *,
    collection: str | None = None,
    prune: bool = False,
    progress: bool = True,
) -> IngestReport:
    return Ingestor(settings, collection).run(paths, prune=prune, progress=progress)
