"""Turn one file into llama-index ``Document``s with guichet's metadata.

One module per family of formats, each built on a maintained library: ``markdown``
(python-frontmatter, markdown-it-py), ``text`` (plain text, service-public fiches, HTML by
trafilatura), ``pdf`` (PyMuPDF, one Document per page; scanned pages and images through
``ocr``: Tesseract by pytesseract), ``office`` (python-docx; LibreOffice headless for ODT, DOC,
RTF, the spreadsheets ODS, XLSX, XLS and the presentations ODP, PPTX, PPT). Every failure
becomes a :class:`LoadError` whose message is shown in the ingest
report; a partial problem (a blank page, a legacy encoding) is a warning, and a page that
could not be read well enough is a failed page of an ingested file.

Metadata of every Document (all keys present, ``None`` when unknown): ``doc_id``, ``title``,
``url``, ``path``, ``service``, ``updated`` (ISO date), ``page`` (PDF and multi-page TIFF,
1-based), ``kind``; service-public fiches add ``situation``; recognised pages add ``ocr``
(True) and ``ocr_confidence`` (0-100).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from llama_index.core.schema import Document

from ingest.loaders.common import (
    LoadError,
    LoadOptions,
    LoadResult,
    LoadStream,
    doc_id_of,
    normalise_text,
)
from ingest.loaders.markdown import load_markdown, render_markdown
from ingest.loaders.office import load_calc, load_docx, load_impress, load_writer
from ingest.loaders.pdf import load_image, load_pdf, pdf_page_text
from ingest.loaders.text import load_html, load_text

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadError",
    "LoadOptions",
    "LoadResult",
    "LoadStream",
    "load_file",
    "normalise_text",
    "open_file",
    "pdf_page_text",
    "render_markdown",
]

Loader = Callable[[Path, bytes, str, LoadOptions], LoadStream]
LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".odt": load_writer,
    ".doc": load_writer,
    ".rtf": load_writer,
    ".ods": load_calc,
    ".xlsx": load_calc,
    ".xls": load_calc,
    ".odp": load_impress,
    ".pptx": load_impress,
    ".ppt": load_impress,
    ".png": load_image,
    ".jpg": load_image,
    ".jpeg": load_image,
    ".tif": load_image,
    ".tiff": load_image,
}
SUPPORTED_SUFFIXES = frozenset(LOADERS)


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def open_file(
    path: Path, root: Path, *, max_bytes: int, options: LoadOptions | None = None
) -> LoadStream:
    """Start loading one file under ``root``: its Documents come as they are read (a scanned
    PDF's pages one OCR at a time). Raises :class:`LoadError`, and only that, when the file
    cannot be read, here or while iterating ``documents``."""
    path, root = Path(path), Path(root)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"format non pris en charge ({path.suffix or 'sans extension'})")
    try:
        doc_id = doc_id_of(path, root)
        size = path.stat().st_size
        if size == 0:
            raise LoadError("fichier vide")
        if size > max_bytes:
            raise LoadError(
                f"fichier trop volumineux ({size / 1e6:.1f} Mo > limite {max_bytes / 1e6:.1f} Mo)"
            )
        stream = loader(path, path.read_bytes(), doc_id, options or LoadOptions())
    except Exception as exc:
        raise _as_load_error(exc) from exc
    stream.documents = _guarded(stream.documents)
    return stream


def _as_load_error(exc: Exception) -> LoadError:
    if isinstance(exc, LoadError):
        return exc
    if isinstance(exc, OSError):
        return LoadError(f"lecture impossible: {exc.strerror or exc}")
    # a loader bug must not stop the ingest of the other files
    return LoadError(f"erreur inattendue ({type(exc).__name__}: {exc})")


def _guarded(documents: Iterator[Document]) -> Iterator[Document]:
    try:
        yield from documents
    except Exception as exc:
        raise _as_load_error(exc) from exc


def load_file(
    path: Path, root: Path, *, max_bytes: int, options: LoadOptions | None = None
) -> LoadResult:
    """Load one whole file under ``root``; raise :class:`LoadError` (and only that)."""
    stream = open_file(path, root, max_bytes=max_bytes, options=options)
    documents = list(stream.documents)
    return LoadResult(documents, stream.warnings, stream.failed_pages)
