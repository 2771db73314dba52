"""PDF (PyMuPDF, one Document per page) and scanned images, with OCR for pages without text.

A page whose text layer is empty, or holds only a stamp over a full-page scan, is rendered and
recognised (``ingest/loaders/ocr.py``); its Document is marked ``ocr: true`` with the engine's
confidence. A page recognised with too little confidence is reported as failed with its
reason and not indexed: a citizen must not be quoted a misread amount.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from ingest.loaders import ocr
from ingest.loaders.common import (
    LoadError,
    LoadOptions,
    LoadStream,
    metadata,
    short,
    stem_title,
    symbol_bullets,
)

# A word broken at the end of a line ("déter-\nmination"): rejoin lower-case halves only, so
# "Jean-\nPierre" and table cells ("7h30-\n8h50") stay as they are.
_HYPHEN_BREAK = re.compile(r"(?<=[a-zà-öø-ÿ])-\n(?=[a-zà-öø-ÿ])")
_COLUMN_GAP = re.compile(r" {3,}")
# A text layer this short over an image covering most of the page is a stamp or a page
# number on a scan ("Reçu en préfecture le …"): the page is recognised instead.
_STAMP_CHARS = 120
_SCAN_COVER = 0.6


def pdf_page_text(page: Any) -> str:
    """Text of one page in reading order, table rows kept on one line with ``|`` separators.

    ``get_text(sort=True)`` lays out each line at its position (padding with spaces), so a
    table row comes out as one line with wide gaps between cells; three spaces or more become
    a `` | `` separator. Plain ``get_text()`` gives one cell per line and loses the rows.
    """
    raw = page.get_text("text", sort=True)
    lines = []
    for line in raw.replace("\r", "\n").split("\n"):
        line = line.replace("\u00a0", " ").replace("\u00ad", "").strip()
        line = _COLUMN_GAP.sub(" | ", symbol_bullets(line).strip())
        lines.append(re.sub(r"[ \t]+", " ", line))
    text = "\n".join(lines)
    text = _HYPHEN_BREAK.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _pdf_date(value: str | None) -> str | None:
    """PDF dates look like ``D:20131220154849+01'00'``."""
    match = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", value or "")
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


def _pdf_title(meta: dict[str, Any], path: Path) -> str:
    title = (meta.get("title") or "").strip()
    title = re.sub(r"^Microsoft (?:Word|PowerPoint|Excel) - ", "", title)
    title = re.sub(r"\.(?:docx?|odt|pdf|xlsx?)$", "", title, flags=re.IGNORECASE)
    # Producers fill the title with placeholders ("DCM", "Document1", "untitled"): keep a title
    # only if it looks like words.
    if len(title) >= 8 and " " in title and not re.match(r"^(?:untitled|document\d*)$", title):
        return short(title) or stem_title(path)
    return stem_title(path)


def _scan_cover(page: Any) -> float:
    """Share of the page covered by images (0-1)."""
    area = abs(page.rect) or 1.0
    import pymupdf

    covered = sum(abs(pymupdf.Rect(i["bbox"]) & page.rect) for i in page.get_image_info())
    return min(1.0, covered / area)


def blank(page: Any) -> bool:
    """No text, no image, no drawing: nothing to recognise."""
    return not page.get_image_info() and not page.get_drawings()


def needs_ocr(page: Any, text: str) -> bool:
    return not text or (len(text) < _STAMP_CHARS and _scan_cover(page) >= _SCAN_COVER)


def render(page: Any, dpi: int) -> Any:
    """The page as a greyscale PIL image."""
    import pymupdf
    from PIL import Image

    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    return Image.frombytes("L", (pix.width, pix.height), pix.samples)


def recognised(
    image: Any, number: int, stream: LoadStream, options: LoadOptions
) -> ocr.OcrPage | None:
    """OCR of one page image, or None with the page reported (warning or failure)."""
    try:
        page = ocr.recognise(image, options)
    except LoadError as exc:
        stream.failed_pages.append((number, str(exc)))
        return None
    if len(page.text) < ocr.MIN_CHARS:
        if ocr.ink(image) < ocr.BLANK_INK:
            stream.warnings.append(f"page {number}: pas de texte (page blanche scannée)")
        else:
            stream.failed_pages.append((number, "aucun texte reconnu sur la page scannée"))
        return None
    reason = ocr.too_uncertain(page, options)
    if reason:
        stream.failed_pages.append((number, reason))
        return None
    return page


def _ocr_meta(page: ocr.OcrPage) -> dict[str, Any]:
    return {"ocr": True, "ocr_confidence": page.confidence}


def _no_pages_error(stream: LoadStream, pages: int, what: str) -> LoadError:
    if stream.failed_pages:
        number, reason = stream.failed_pages[0]
        more = f" (et {len(stream.failed_pages) - 1} autres pages)" if pages > 1 else ""
        return LoadError(f"{what} non indexé : page {number}, {reason}{more}")
    return LoadError(f"{what} sans texte ({pages} pages sans couche texte ni texte reconnu)")


def _pdf_documents(
    pdf: Any, path: Path, doc_id: str, options: LoadOptions, stream: LoadStream
) -> Iterator[Document]:
    try:
        info = pdf.metadata or {}
        title = _pdf_title(info, path)
        updated = _pdf_date(info.get("modDate")) or _pdf_date(info.get("creationDate"))
        produced = 0
        for number in range(1, pdf.page_count + 1):
            try:
                page = pdf[number - 1]
                text = pdf_page_text(page)
                if not text and blank(page):
                    stream.warnings.append(f"page {number}: pas de texte (page blanche)")
                    continue
                scanned = needs_ocr(page, text)
                image = render(page, options.ocr_dpi) if scanned and options.ocr else None
            except Exception as exc:
                stream.failed_pages.append((number, f"page illisible ({exc})"))
                continue
            extra: dict[str, Any] = {}
            if scanned and image is None:
                if not text:
                    stream.warnings.append(f"page {number}: pas de texte (OCR désactivé)")
                    continue
            elif scanned:
                result = recognised(image, number, stream, options)
                if result is None:
                    continue
                text, extra = result.text, _ocr_meta(result)
            meta = metadata(path, doc_id, "pdf", title=title, updated=updated, page=number)
            produced += 1
            yield Document(id_=f"{doc_id}#p{number}", text=text, metadata={**meta, **extra})
        if not produced:
            raise _no_pages_error(stream, pdf.page_count, "PDF")
    finally:
        pdf.close()


def load_pdf(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise LoadError(f"PDF illisible: {exc}") from exc
    if pdf.needs_pass:
        pdf.close()
        raise LoadError("PDF protégé par un mot de passe")
    if pdf.page_count == 0:
        pdf.close()
        raise LoadError("PDF sans page")
    stream = LoadStream(iter(()), pages=pdf.page_count)
    stream.documents = _pdf_documents(pdf, path, doc_id, options, stream)
    return stream


def _image_documents(
    frames: list[Any], path: Path, doc_id: str, options: LoadOptions, stream: LoadStream
) -> Iterator[Document]:
    produced = 0
    for number, frame in enumerate(frames, start=1):
        result = recognised(frame, number, stream, options)
        if result is None:
            continue
        single = len(frames) == 1
        meta = metadata(
            path, doc_id, "image", title=stem_title(path), page=None if single else number
        )
        produced += 1
        yield Document(
            id_=doc_id if single else f"{doc_id}#p{number}",
            text=result.text,
            metadata={**meta, **_ocr_meta(result)},
        )
    if not produced:
        raise _no_pages_error(stream, len(frames), "image")


def load_image(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    """A scanned page as PNG, JPEG or TIFF (every frame of a multi-page TIFF)."""
    import io

    from PIL import Image, ImageSequence

    if not options.ocr:
        raise LoadError("image scannée : OCR désactivé")
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = [frame.convert("L") for frame in ImageSequence.Iterator(image)]
    except Exception as exc:
        raise LoadError(f"image illisible: {exc}") from exc
    stream = LoadStream(iter(()), pages=len(frames))
    stream.documents = _image_documents(frames, path, doc_id, options, stream)
    return stream
