"""What an ingest keeps between runs and reports: the docstore (hashes of files and documents,
the folder each file was read from) and the report of the last run.

The folder of each file matters to ``--prune``: a collection holds documents from several
places (a folder, the mirror of a website, the desk's library), and a prune of one of them must
remove only the documents that were under it and are gone, never those of the others.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from llama_index.core.storage.docstore import SimpleDocumentStore

from assistant.core.settings import Settings
from ingest.batches import forget_partial

FILE_KEY = "file::"
ROOTS = "guichet/roots"  # docstore collection: {file id: {"root": folder it was read from}}

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


# --- the report of the last run ---------------------------------------------------------------
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


def read_report(settings: Settings, collection: str | None = None) -> dict[str, Any] | None:
    """The last saved report (``save_report``'s JSON), None when there is none or it is
    unreadable."""
    try:
        data = json.loads(report_path(settings, collection).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- the docstore -----------------------------------------------------------------------------
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


def file_ids(docstore: SimpleDocumentStore) -> list[str]:
    """The files of the docstore (a PDF is one file however many pages it has)."""
    return sorted(k[len(FILE_KEY) :] for k in known_hashes(docstore) if k.startswith(FILE_KEY))


def indexed_files(settings: Settings, collection: str | None = None) -> list[str]:
    """The files indexed in ``collection``, read from its docstore (no index opened)."""
    return file_ids(load_docstore(settings.docstore_file(collection or settings.index.collection)))


def document_of(doc_id: str) -> str:
    """The file id of a document id (a PDF's pages are ``file.pdf#p3``)."""
    return re.sub(r"#p\d+$", "", doc_id)


def docs_of_file(hashes: dict[str, str], fid: str) -> list[str]:
    return [k for k in hashes if k == fid or k.startswith(fid + "#p")]


def record_root(docstore: SimpleDocumentStore, fid: str, root: Path) -> bool:
    """Remember the folder ``fid`` was read from; True when that changed the docstore."""
    where = str(root.resolve())
    known = docstore._kvstore.get(fid, collection=ROOTS)
    if known and known.get("root") == where:
        return False
    docstore._kvstore.put(fid, {"root": where}, collection=ROOTS)
    return True


def recorded_root(docstore: SimpleDocumentStore, fid: str) -> Path | None:
    known = docstore._kvstore.get(fid, collection=ROOTS)
    return Path(known["root"]) if known and known.get("root") else None


def stored_path(store: Any, collection: str, doc_ids: list[str]) -> Path | None:
    """Where the file of these documents (a file's, or its pages') was when their chunks were
    written (the ``path`` payload): for files indexed before their folder was recorded."""
    from qdrant_client import models as qm

    client = store.client
    if not doc_ids or not client.collection_exists(collection):
        return None
    match = qm.Filter(must=[qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=doc_ids))])
    points, _ = client.scroll(
        collection, scroll_filter=match, limit=1, with_payload=["path"], with_vectors=False
    )
    path = (points[0].payload or {}).get("path") if points else None
    return Path(path) if path else None


def forget(docstore: SimpleDocumentStore, store: Any, doc_ids: Iterable[str]) -> None:
    """Remove documents (and file keys) from the index and the docstore."""
    for doc_id in doc_ids:
        store.delete(doc_id)
        docstore.delete_ref_doc(doc_id, raise_error=False)
        docstore.delete_document(doc_id, raise_error=False)
        docstore._kvstore.delete(doc_id, collection=docstore._metadata_collection)
        if doc_id.startswith(FILE_KEY):
            docstore._kvstore.delete(doc_id[len(FILE_KEY) :], collection=ROOTS)
        forget_partial(docstore, doc_id)
