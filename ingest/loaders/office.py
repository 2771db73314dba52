"""Office documents: DOCX by python-docx; everything else through LibreOffice headless
(Debian's ``libreoffice-writer-nogui``, ``-calc-nogui`` and ``-impress-nogui``):

- ODT, DOC and RTF converted to DOCX, then read as DOCX (headings, lists, tables);
- ODS, XLSX and XLS converted to HTML: each sheet a section, each row one sentence;
- ODP, PPTX and PPT converted to PDF, then read by the PDF loader: one document per slide
  (``page`` is the slide's number), a slide that is only a picture recognised by OCR.

LibreOffice rather than one Python library per format: no maintained Python library reads
Word 97-2003 ``.doc`` (nor Excel's ``.xls`` or PowerPoint's ``.ppt`` beyond old, unmaintained
ones), which fill a town hall's archives, and LibreOffice reads every version of ODF, OOXML and
RTF the way the staff's own office suite does. openpyxl and python-pptx would cover only the
OOXML half, with a second code path to keep in step; one converter feeds the readers that
already keep headings, table rows and pages. It costs about 1.7 s of start-up per file, small
next to embedding the file's chunks.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from ingest.loaders.common import (
    LoadError,
    LoadOptions,
    LoadStream,
    iso_date,
    metadata,
    normalise_text,
    one_document,
    require_text,
    short,
    stem_title,
)
from ingest.tables import header_line, row_sentence

_HEADING_STYLE = re.compile(r"^(?:heading|titre|überschrift|título)\s*(\d)$", re.IGNORECASE)
WRITER = {".odt": "odt", ".doc": "doc", ".rtf": "rtf"}
CALC = {".ods": "ods", ".xlsx": "xlsx", ".xls": "xls"}
IMPRESS = {".odp": "odp", ".pptx": "pptx", ".ppt": "ppt"}
# LibreOffice's import filter by signature and suffix: OLE2 (97-2003) and zip (ODF, OOXML).
OLE_FILTERS = {".doc": "MS Word 97", ".xls": "MS Excel 97", ".ppt": "MS PowerPoint 97"}
ZIP_FILTERS = {
    ".odt": "writer8",
    ".ods": "calc8",
    ".odp": "impress8",
    ".xlsx": "Calc MS Excel 2007 XML",
    ".pptx": "Impress MS PowerPoint 2007 XML",
}
OFFICE_SUFFIXES = (".rtf", *OLE_FILTERS, *ZIP_FILTERS)


def _docx_blocks(document: Any) -> tuple[list[str], str | None]:
    """Markdown-ish lines of a DOCX body in order, and its first heading."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []
    first_heading: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = re.sub(r"\s+", " ", block.text).strip()
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            level = _HEADING_STYLE.match(style.strip())
            if level or style.strip().lower() == "title":
                depth = int(level.group(1)) if level else 1
                first_heading = first_heading or text
                lines.append("")
                lines.append("#" * max(1, min(depth, 6)) + " " + text)
                lines.append("")
            elif style.lower().startswith(("list", "liste")):
                lines.append("- " + text)
            else:
                lines.append(text)
                lines.append("")
        elif isinstance(block, Table):
            lines.append("")
            for row in block.rows:
                cells: list[str] = []
                previous = None
                for cell in row.cells:
                    if cell._tc is previous:  # a merged cell is repeated once per grid column
                        continue
                    previous = cell._tc
                    cells.append(re.sub(r"\s+", " ", cell.text).strip())
                if any(cells):
                    lines.append(" | ".join(cells))
            lines.append("")
    return lines, first_heading


def _docx(path: Path, data: bytes, doc_id: str, kind: str, label: str) -> Document:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        lines, first_heading = _docx_blocks(document)
        props = document.core_properties
        core_title, modified = props.title, props.modified
    except Exception as exc:
        raise LoadError(f"{label} illisible: {exc}") from exc
    body = require_text(normalise_text("\n".join(lines)), f"{label} sans texte")
    title = short(core_title) or short(first_heading) or stem_title(path)
    meta = metadata(path, doc_id, kind, title=title, updated=iso_date(modified))
    return Document(id_=doc_id, text=body, metadata=meta)


def load_docx(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    return one_document(_docx(path, data, doc_id, "docx", "DOCX"))


@lru_cache(maxsize=1)
def _profile() -> str:
    """A LibreOffice user profile of this process: the default one is locked by any other
    LibreOffice running on the machine (a staff member's, another ingest)."""
    folder = tempfile.mkdtemp(prefix="guichet-libreoffice-")
    atexit.register(shutil.rmtree, folder, True)
    return Path(folder).as_uri()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def input_filter(path: Path, data: bytes) -> str | None:
    """LibreOffice's import filter for the file, chosen from its first bytes.

    Named, because left to guess LibreOffice imports a damaged file as plain text and the
    index would get its binary garbage; a ".doc" that is really RTF (Word wrote many) is read
    as RTF."""
    suffix = path.suffix.lower()
    if data.startswith(b"{\\rtf"):
        return "Rich Text Format"
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2 container: Office 97-2003
        return OLE_FILTERS.get(suffix)
    if data.startswith(b"PK"):  # zip: OpenDocument, Office Open XML
        return ZIP_FILTERS.get(suffix)
    if suffix in OFFICE_SUFFIXES and b"\x00" in data[:4096]:
        raise LoadError(f"contenu qui n'est pas un fichier {suffix} (signature inconnue)")
    return None  # text or HTML saved under an office name: LibreOffice recognises it


def convert(path: Path, target: str, timeout_s: float, data: bytes | None = None) -> bytes:
    """``path`` converted by LibreOffice to ``target`` ("docx", "html", "pdf"): the bytes."""
    program = soffice()
    if program is None:
        raise LoadError(
            "LibreOffice absent : installez libreoffice-writer-nogui, libreoffice-calc-nogui "
            f"et libreoffice-impress-nogui pour lire les fichiers {path.suffix.lower()}"
        )
    with tempfile.TemporaryDirectory(prefix="guichet-convert-") as out:
        command = [
            program,
            f"-env:UserInstallation={_profile()}",
            "--headless",
            "--norestore",
            *([f"--infilter={f}"] if (f := input_filter(path, data or b"")) else []),
            "--convert-to",
            target,
            "--outdir",
            out,
            str(path.resolve()),
        ]
        # A session of its own, so a conversion that hangs is killed with all its children.
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise LoadError(f"conversion LibreOffice trop longue (> {timeout_s:.0f} s)") from exc
        produced = Path(out) / f"{path.stem}.{target}"
        if not produced.is_file():
            detail = output.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise LoadError(f"fichier illisible par LibreOffice, endommagé ? ({detail[0][:200]})")
        return produced.read_bytes()


def load_writer(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    """ODT, DOC, RTF: converted to DOCX, then read as DOCX (headings, lists, tables)."""
    kind = WRITER[path.suffix.lower()]
    converted = convert(path, "docx", options.office_timeout_s, data)
    return one_document(_docx(path, converted, doc_id, kind, kind.upper()))


def _sheets(html: bytes) -> list[tuple[str | None, list[list[str]]]]:
    """(sheet name, rows of cell texts) of LibreOffice Calc's HTML export."""
    import lxml.html

    tree = lxml.html.fromstring(html)
    sheets: list[tuple[str | None, list[list[str]]]] = []
    name: str | None = None
    for element in tree.iter("h1", "table"):
        if element.tag == "h1":
            em = element.find(".//em")  # "Sheet 1: <em>Tarifs</em>"; the overview has none
            name = short(em.text_content()) if em is not None else None
            continue
        rows = []
        for row in element.iter("tr"):
            cells = [re.sub(r"\s+", " ", c.text_content()).strip() for c in row.iter("td", "th")]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                rows.append(cells)
        if rows:
            sheets.append((name, rows))
    return sheets


def load_calc(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    """ODS, XLSX, XLS: each sheet a section, its first row the header, each row one sentence."""
    converted = convert(path, "html", options.office_timeout_s, data)
    lines: list[str] = []
    sheets = _sheets(converted)
    for name, rows in sheets:
        if name and len(sheets) > 1:
            lines += ["", f"## {name}", ""]
        header, *body = rows
        if body and (head := header_line(header)):
            lines.append(head)
        lines += [s for row in body if (s := row_sentence(header, row))] if body else header
        lines.append("")
    text = require_text(normalise_text("\n".join(lines)), "tableur sans donnée")
    meta = metadata(path, doc_id, CALC[path.suffix.lower()], title=stem_title(path))
    return one_document(Document(id_=doc_id, text=text, metadata=meta))


def load_impress(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    """ODP, PPTX, PPT: converted to PDF, one document per slide (the PDF loader's pages)."""
    from ingest.loaders.pdf import load_pdf

    kind = IMPRESS[path.suffix.lower()]
    stream = load_pdf(path, convert(path, "pdf", options.office_timeout_s, data), doc_id, options)
    stream.documents = _slides(stream.documents, kind, path)
    return stream


def _slides(pages: Iterator[Document], kind: str, path: Path) -> Iterator[Document]:
    # A presentation seldom has a title property: its first slide's first line is its title.
    title = None
    try:
        for doc in pages:
            if title is None:
                first = doc.text.strip().split("\n", 1)[0]
                named = doc.metadata.get("title") not in (None, stem_title(path))
                title = doc.metadata["title"] if named else short(first, 120) or stem_title(path)
            doc.metadata["kind"], doc.metadata["title"] = kind, title
            yield doc
    except LoadError as exc:  # the PDF loader's words, about a file that is no PDF
        raise LoadError(str(exc).replace("PDF", "présentation", 1)) from exc
