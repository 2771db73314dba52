"""Incremental ingestion: files → documents → chunks → embeddings → Qdrant.

llama-index's ``IngestionPipeline`` does the work (chunker + embedder as transformations, the
``QdrantVectorStore`` as sink) and its docstore decides what changed (``UPSERTS``: a document
whose hash changed has its old chunks deleted before the new ones are written).

What we add around it, and why:
- a file-level hash (``file::<doc_id>`` in the same docstore) so an unchanged file is not even
  parsed again: a re-ingest of an unchanged corpus costs a hash per file;
- small batches with an atomic docstore save after each, so a killed ingest resumes where it
  stopped. Chunk ids are deterministic (uuid5 of document id and position), so chunks written
  before a kill are overwritten, not duplicated, and a changed document's hash mismatch makes
  the pipeline delete all its chunks before rewriting them;
- ``prune``: documents of the collection that were not seen under the given paths are removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import Document
from llama_index.core.storage.docstore import SimpleDocumentStore
from tqdm import tqdm

from assistant import messages as msg
from assistant.embedding import LlamaIndexEmbedding, load_embedder
from assistant.settings import Settings
from assistant.store import vector_store
from ingest.chunking import SectionChunker
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_file

FILE_KEY = "file::"


class IngestError(RuntimeError):
    """The ingest cannot go on (e.g. disk full); the message says what to do."""


def _disk_full(exc: BaseException) -> bool:
    # Qdrant local mode writes through SQLite, which reports ENOSPC as "database or disk is full".
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


Status = Literal["ok", "unchanged", "failed", "pruned"]


@dataclass
class FileOutcome:
    doc_id: str
    status: Status
    reason: str = ""
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)


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

    def summary(self) -> str:
        return (
            f"{self.count('ok')} ingérés, {self.count('unchanged')} inchangés, "
            f"{self.count('failed')} en échec, {self.count('pruned')} retirés · "
            f"{self.chunks_written} passages écrits · {self.seconds:.1f} s"
        )


def report_path(settings: Settings, collection: str | None = None) -> Path:
    return settings.data_dir / f"last_ingest_{collection or settings.collection}.json"


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


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs, sorted so ids and batches are reproducible; hidden files skipped."""
    for path in paths:
        path = Path(path)
        if path.is_file():
            yield path, path.parent
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = file.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if file.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield file, path
        else:
            raise FileNotFoundError(f"chemin introuvable : {path}")


def file_id(file: Path, root: Path) -> str:
    return file.relative_to(root).as_posix()


def file_hash(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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


def _forget(docstore: SimpleDocumentStore, store, doc_ids: Iterable[str]) -> None:
    for doc_id in doc_ids:
        store.delete(doc_id)
        docstore.delete_ref_doc(doc_id, raise_error=False)
        docstore.delete_document(doc_id, raise_error=False)
        docstore._kvstore.delete(doc_id, collection=docstore._metadata_collection)


class Ingestor:
    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.collection
        self.embedder = load_embedder(settings.embedder)
        self.store = vector_store(settings, self.collection, self.embedder.dim)
        self.docstore_path = settings.docstore_file(self.collection)
        self.docstore = load_docstore(self.docstore_path)
        self.pipeline = IngestionPipeline(
            transformations=[
                SectionChunker(
                    chunk_chars=settings.chunk_chars, overlap_chars=settings.chunk_overlap_chars
                ),
                LlamaIndexEmbedding(self.embedder, embed_batch_size=settings.embed_batch_size),
            ],
            vector_store=self.store,
            docstore=self.docstore,
            docstore_strategy=DocstoreStrategy.UPSERTS,
            disable_cache=True,
        )

    def run(self, paths: list[Path], *, prune: bool = False, progress: bool = True) -> IngestReport:
        try:
            return self._run(paths, prune=prune, progress=progress)
        except Exception as exc:
            if _disk_full(exc):
                raise IngestError(msg.INGEST_DISK_FULL.format(path=self.settings.data_dir)) from exc
            raise

    def _run(self, paths: list[Path], *, prune: bool, progress: bool) -> IngestReport:
        start = time.perf_counter()
        report = IngestReport(self.collection)
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        files = list(discover(paths))
        seen: set[str] = set()
        bar = tqdm(total=len(files), unit="fichier", desc="ingest", disable=not progress)
        batch: list[tuple[Path, Path]] = []
        for item in files:
            batch.append(item)
            if len(batch) >= self.settings.ingest_batch_docs:
                self._run_batch(batch, report, seen, max_bytes, bar)
                batch = []
        if batch:
            self._run_batch(batch, report, seen, max_bytes, bar)
        bar.close()
        if prune:
            self._prune(seen, report)
        report.seconds = time.perf_counter() - start
        save_report(report, self.settings)
        return report

    def _run_batch(self, batch, report, seen, max_bytes, bar) -> None:
        hashes = known_hashes(self.docstore)
        documents: list[Document] = []
        new_file_hashes: dict[str, str] = {}
        outcomes: dict[str, FileOutcome] = {}
        stale: list[str] = []
        for file, root in batch:
            fid = file_id(file, root)
            seen.add(fid)
            try:
                digest = file_hash(file)
            except OSError as exc:
                report.files.append(FileOutcome(fid, "failed", f"lecture impossible : {exc}"))
                continue
            if hashes.get(FILE_KEY + fid) == digest:
                report.files.append(FileOutcome(fid, "unchanged"))
                continue
            try:
                loaded = load_file(file, root, max_bytes=max_bytes)
            except LoadError as exc:
                report.files.append(FileOutcome(fid, "failed", str(exc)))
                continue
            new_ids = {d.id_ for d in loaded.documents}
            stale += [d for d in _docs_of_file(hashes, fid) if d not in new_ids]
            for doc in loaded.documents:
                doc.metadata["content_hash"] = hashlib.sha256(doc.text.encode()).hexdigest()[:16]
            documents += loaded.documents
            new_file_hashes[FILE_KEY + fid] = digest
            outcome = FileOutcome(fid, "ok", warnings=loaded.warnings)
            outcomes.update({d.id_: outcome for d in loaded.documents})
            report.files.append(outcome)
        if stale:
            _forget(self.docstore, self.store, stale)
        report.chunks_written += self._write(documents, outcomes)
        self.docstore.set_document_hashes(new_file_hashes)
        save_docstore(self.docstore, self.docstore_path)
        bar.update(len(batch))

    def _write(self, documents: list[Document], outcomes: dict[str, FileOutcome]) -> int:
        if not documents:
            return 0
        nodes = self.pipeline.run(documents=documents, store_doc_text=False)
        for node in nodes:
            owner = outcomes.get(node.ref_doc_id or "")
            if owner is not None:
                owner.chunks += 1
        return len(nodes)

    def add_documents(self, documents: list[Document], *, progress: bool = True) -> IngestReport:
        """Ingest documents that do not come from files (e.g. an eval corpus in one JSON),
        with the same incremental and resumable behaviour as files."""
        try:
            return self._add_documents(documents, progress=progress)
        except Exception as exc:
            if _disk_full(exc):
                raise IngestError(msg.INGEST_DISK_FULL.format(path=self.settings.data_dir)) from exc
            raise

    def _add_documents(self, documents: list[Document], *, progress: bool) -> IngestReport:
        start = time.perf_counter()
        report = IngestReport(self.collection)
        step = self.settings.ingest_batch_docs
        for i in tqdm(
            range(0, len(documents), step), desc="ingest", unit="lot", disable=not progress
        ):
            batch = documents[i : i + step]
            outcomes = {d.id_: FileOutcome(d.id_, "ok") for d in batch}
            for doc in batch:
                doc.metadata.setdefault(
                    "content_hash", hashlib.sha256(doc.text.encode()).hexdigest()[:16]
                )
            written = self._write(batch, outcomes)
            report.chunks_written += written
            for outcome in outcomes.values():
                if written and outcome.chunks == 0:
                    outcome.status = "unchanged"
            report.files += outcomes.values()
            save_docstore(self.docstore, self.docstore_path)
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
