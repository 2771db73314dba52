"""The city's documents as staff manage them while guichet serves: the library folder, checked
uploads, the list of indexed documents, removal.

The library is ``data_dir/bibliotheque``, ingested as one folder so that its document ids are
``televersements/<file>`` (uploads) and ``reponses-validees/<slug>.md`` (``ui.validated``):
they cannot collide with a corpus ingested from elsewhere (``piscine.md``). Every change to
the index goes through the server's one job worker (``ui.jobs``); this module only prepares
files and reads the index.

An upload's type is decided by its bytes (``filetype``), not its name: a PDF must start like
a PDF, an office file must be the zip or OLE container its suffix says, and a text file must
be text (no NUL byte, UTF-8 or Windows-1252). A file whose bytes and name disagree is refused.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filetype

from assistant.core import messages as msg
from assistant.core.settings import Settings

DOC = msg.DOCUMENTS
LIBRARY = "bibliotheque"
UPLOADS = "televersements"
ANSWERS = "reponses-validees"
# Sniffed type → the suffixes a file of that type may have. Office containers: a .docx, .odt
# or .ods is a zip, so filetype names the precise format from the zip's first entries.
BINARY_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/x-ole-storage": (".doc", ".xls", ".ppt"),
    "application/rtf": (".rtf",),
}
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # compound file of .doc, .xls, .ppt (97-2003)
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
NAME_MAX = 120
SNIFF_BYTES = 8192
PAYLOAD_FIELDS = ["ref_doc_id", "doc_id", "title", "url", "path", "page", "updated", "ocr"]


class UploadRefused(ValueError):
    """The file is not accepted; the message (French) says why, ``status`` the HTTP code."""

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


def library_dir(settings: Settings) -> Path:
    return settings.paths.data_dir / LIBRARY


def uploads_dir(settings: Settings) -> Path:
    return library_dir(settings) / UPLOADS


def file_of(doc_id: str) -> str:
    """The file id of a document id (a PDF's pages are ``file.pdf#p3``)."""
    return re.sub(r"#p\d+$", "", doc_id)


def safe_name(name: str) -> str:
    """A file name that stays in its folder: no path, no hidden file, plain characters."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name).strip()
    base = re.sub(r"[^\w.\- ()]+", "-", base).strip(" .-")
    stem, suffix = os.path.splitext(base)
    stem = stem.strip(" .-")[: NAME_MAX - len(suffix)] or "document"
    return stem + suffix.lower()


def sniff(head: bytes, suffix: str) -> str | None:
    """Why ``head`` (a file's first bytes) cannot be a ``suffix`` file, or None if it can."""
    kind = filetype.guess(head)
    if suffix in TEXT_SUFFIXES:
        if kind is not None:
            return DOC["refused_mismatch"].format(suffix=suffix, found=kind.mime)
        if b"\x00" in head:
            return DOC["refused_binary"].format(suffix=suffix)
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a cut multi-byte character at the end is fine
                try:
                    head.decode("cp1252")
                except UnicodeDecodeError:
                    return DOC["refused_binary"].format(suffix=suffix)
        return None
    allowed = [mime for mime, suffixes in BINARY_TYPES.items() if suffix in suffixes]
    if not allowed:
        return DOC["refused_format"].format(suffix=suffix or "sans extension")
    found = kind.mime if kind is not None else None
    if found is None and head.startswith(OLE_MAGIC):  # filetype names only some Word files
        found = "application/x-ole-storage"
    if found not in allowed:
        return DOC["refused_mismatch"].format(suffix=suffix, found=found or DOC["unknown_type"])
    return None


def check_upload(path: Path, name: str, max_bytes: int) -> str:
    """The safe name under which the file at ``path`` (uploaded as ``name``) may be stored.
    Raises :class:`UploadRefused`."""
    from ingest.loaders import supported

    clean = safe_name(name)
    suffix = Path(clean).suffix.lower()
    if not supported(Path(clean)) or (
        suffix not in TEXT_SUFFIXES and not any(suffix in s for s in BINARY_TYPES.values())
    ):
        raise UploadRefused(DOC["refused_format"].format(suffix=suffix or "sans extension"))
    size = path.stat().st_size
    if size == 0:
        raise UploadRefused(DOC["refused_empty"], 400)
    if size > max_bytes:
        max_mb = round(max_bytes / 1_048_576, 1)
        raise UploadRefused(DOC["refused_size"].format(max_mb=max_mb), 413)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    why = sniff(head, suffix)
    if why:
        raise UploadRefused(why)
    return clean


def store_upload(settings: Settings, source: Path, name: str) -> Path:
    """Check the upload, then copy it into the library (atomically: the ingest never reads a
    half-written file). A file of the same name is replaced: that is how a page is updated."""
    clean = check_upload(source, name, int(settings.serving.upload_max_mb * 1_048_576))
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / clean
    tmp = folder / f".{clean}.part"
    with source.open("rb") as src, tmp.open("wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    return target


@dataclass
class DocumentRow:
    """One indexed file, summed over its chunks."""

    doc_id: str
    title: str = ""
    source: str = ""  # its web address, else its file path
    pages: set[int] = field(default_factory=set)
    chunks: int = 0
    updated: str = ""
    ocr_pages: set[int] = field(default_factory=set)
    path: str = ""

    @property
    def kind(self) -> str:
        if self.doc_id.startswith(ANSWERS + "/"):
            return DOC["kind_validated"]
        if self.doc_id.startswith(UPLOADS + "/"):
            return DOC["kind_upload"]
        return DOC["kind_corpus"]

    @property
    def root(self) -> str:
        """The folder this document was ingested from (its path less its id)."""
        if self.path.endswith(self.doc_id):
            return self.path[: -len(self.doc_id)].rstrip("/") or "/"
        return str(Path(self.path).parent)


_listed: dict[tuple[str, str], tuple[tuple[int, int], list[DocumentRow]]] = {}


def _docstore_version(settings: Settings, collection: str) -> tuple[int, int]:
    try:
        stat = settings.docstore_file(collection).stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def is_indexed(settings: Settings, doc_id: str, collection: str | None = None) -> bool:
    """The docstore knows the file (no scroll of the index)."""
    from ingest.pipeline import indexed_files

    return doc_id in indexed_files(settings, collection)


def list_documents(settings: Settings, collection: str | None = None) -> list[DocumentRow]:
    """Every document of the collection, from the chunks' payloads (no vectors read); read
    again only when an ingest or a removal saved the docstore (the desk refreshes often)."""
    name = collection or settings.index.collection
    key = (str(settings.paths.data_dir), name)
    version = _docstore_version(settings, name)
    cached = _listed.get(key)
    if cached is not None and cached[0] == version and version != (0, 0):
        return list(cached[1])
    rows = _scroll_documents(settings, name)
    _listed[key] = (version, rows)
    return list(rows)


def _scroll_documents(settings: Settings, name: str) -> list[DocumentRow]:
    from assistant.index.store import get_client

    client = get_client(settings)
    if not client.collection_exists(name):
        return []
    rows: dict[str, DocumentRow] = {}
    offset: Any = None
    while True:
        points, offset = client.scroll(
            name, limit=512, offset=offset, with_payload=PAYLOAD_FIELDS, with_vectors=False
        )
        for point in points:
            _add_chunk(rows, point.payload or {})
        if offset is None:
            break
    return sorted(rows.values(), key=lambda r: r.doc_id)


def _add_chunk(rows: dict[str, DocumentRow], payload: dict[str, Any]) -> None:
    fid = file_of(str(payload.get("ref_doc_id") or payload.get("doc_id") or ""))
    row = rows.setdefault(fid, DocumentRow(fid))
    row.chunks += 1
    row.title = row.title or str(payload.get("title") or "")
    row.source = row.source or str(payload.get("url") or payload.get("path") or "")
    row.path = row.path or str(payload.get("path") or "")
    page = payload.get("page")
    if isinstance(page, int):
        row.pages.add(page)
        if payload.get("ocr"):
            row.ocr_pages.add(page)
    elif payload.get("ocr"):
        row.ocr_pages.add(1)
    updated = str(payload.get("updated") or "")
    row.updated = max(row.updated, updated)


def known_folders(settings: Settings, rows: list[DocumentRow] | None = None) -> list[str]:
    """The folders the index's documents came from (the library first): what staff may
    re-ingest, and nothing else."""
    rows = list_documents(settings) if rows is None else rows
    library = str(library_dir(settings))
    roots = {r.root for r in rows if r.path} - {library}
    return [library, *sorted(roots)]


def forget_file(
    settings: Settings,
    doc_id: str,
    collection: str | None = None,
    *,
    delete_file: bool = True,
    embedder: Any = None,
) -> int:
    """Remove one file's documents and chunks from the index and the docstore (the file
    itself is deleted only when it lives in the library, and ``delete_file``). Returns the
    documents removed.
    Runs in the job worker only: it writes the index. ``embedder``: the jobs' shared one."""
    from ingest.pipeline import Ingestor

    removed = Ingestor(settings, collection, embedder=embedder).delete_document(doc_id)
    own = library_dir(settings) / doc_id
    inside = own.resolve().is_relative_to(library_dir(settings).resolve())
    if delete_file and inside and own.is_file():
        own.unlink()
    return removed
