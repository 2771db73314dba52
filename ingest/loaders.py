"""Turn one file into llama-index ``Document``s with guichet's metadata.

One loader per format, each built on a maintained library: python-frontmatter (Markdown),
trafilatura (HTML main content), PyMuPDF (PDF, one Document per page), python-docx (DOCX).
Every failure becomes a :class:`LoadError` whose message is shown in the ingest report; a
partial problem (a page without text, a legacy encoding) is a warning, not a failure.

Metadata of every Document (all keys present, ``None`` when unknown): ``doc_id``, ``title``,
``url``, ``path``, ``service``, ``updated`` (ISO date), ``page`` (PDF only, 1-based), ``kind``;
service-public fiches add ``situation``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from ingest import service_public
from ingest.tables import tables_to_sentences

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}

_KIND = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_TITLE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ATX_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown in the report."""


@dataclass
class LoadResult:
    documents: list[Document]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# helpers


def _doc_id(path: Path, root: Path) -> str:
    path, root = path.resolve(), root.resolve()
    if path == root or root.is_file():
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError as exc:
        raise LoadError(f"fichier hors du dossier ingéré ({root})") from exc


def _metadata(path: Path, doc_id: str, kind: str, **values: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": doc_id,
        "title": None,
        "url": None,
        "path": str(path.resolve()),
        "service": None,
        "updated": None,
        "page": None,
        "kind": kind,
    }
    meta.update(values)
    return meta


def _short(text: object, limit: int = _TITLE_MAX) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", str(text)).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _stem_title(path: Path) -> str:
    return re.sub(r"[_\s]+", " ", path.stem).strip() or path.name


def _iso_date(value: Any) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime or date-like string."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            return None
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", text)  # French dd/mm/yyyy
    if match:
        day, month, year = map(int, match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return None
    return text or None


def _pdf_date(value: str | None) -> str | None:
    """PDF dates look like ``D:20131220154849+01'00'``."""
    match = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", value or "")
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")


def _symbol_bullets(line: str) -> str:
    """Word's Symbol/Wingdings bullets come out as private-use characters: make them "- "."""
    line = re.sub(r"^[\ue000-\uf8ff]\s*", "- ", line)
    return _PRIVATE_USE.sub("", line)


_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def markdown_for_reading(text: str) -> str:
    """Tables become one sentence per row and bold markers go: the model, the sentence
    splitter and the support check all read plain sentences better than Markdown syntax."""
    return _EMPHASIS.sub(r"\2", tables_to_sentences(text))


def normalise_text(text: str) -> str:
    """Light clean-up: one space between words, at most one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    lines = [re.sub(r"[ \t\u00a0\u2000-\u200b\u202f]+", " ", ln).strip() for ln in text.split("\n")]
    text = "\n".join(_symbol_bullets(ln) for ln in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _read_text(path: Path, data: bytes) -> tuple[str, list[str]]:
    """Decode text bytes: UTF-8 first, then cp1252, then latin-1 (with a warning)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), ["encodage utf-16 (pas UTF-8)"]
        except UnicodeDecodeError as exc:
            raise LoadError("encodage UTF-16 invalide") from exc
    sample = data[:65536]
    if b"\x00" in sample:
        raise LoadError("contenu binaire (octets nuls) dans un fichier texte")
    text: str | None = None
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Mostly UTF-8 with a few bad bytes (a bad copy-paste): keep UTF-8, replace those.
        lenient = data.decode("utf-8-sig", errors="replace")
        bad = lenient.count("\ufffd")
        good = sum(1 for c in lenient if ord(c) > 127) - bad
        if good >= 2 * bad:
            text, warnings = lenient, [f"{bad} octet(s) UTF-8 invalide(s) remplacé(s)"]
    if text is None:
        for encoding in ("cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            warnings = [f"encodage {encoding} (pas UTF-8)"]
            break
    assert text is not None  # latin-1 decodes any byte string
    head = text[:65536]
    if head and len(_CONTROL.findall(head)) / len(head) > 0.02:
        raise LoadError("contenu binaire (caractères de contrôle) dans un fichier texte")
    return text, warnings


def _require_text(text: str, what: str = "fichier vide (aucun texte)") -> str:
    if not text.strip():
        raise LoadError(what)
    return text


# --------------------------------------------------------------------------------------------
# formats


def _load_markdown(path: Path, data: bytes, doc_id: str) -> LoadResult:
    import frontmatter

    text, warnings = _read_text(path, data)
    try:
        post = frontmatter.loads(text)
        front, body = dict(post.metadata), post.content
    except Exception as exc:  # YAML errors come in many types
        warnings.append(f"en-tête YAML ignoré ({type(exc).__name__})")
        front, body = {}, text
    body = _require_text(normalise_text(markdown_for_reading(body)))
    title = _short(front.get("title"))
    if not title:
        heading = _ATX_HEADING.search(body)
        title = _short(heading.group(1)) if heading else _stem_title(path)
    meta = _metadata(
        path,
        doc_id,
        "md",
        title=title,
        url=_short(front.get("url"), 2000),
        service=_short(front.get("service")),
        updated=_iso_date(front.get("updated") or front.get("date")),
    )
    return LoadResult([Document(id_=doc_id, text=body, metadata=meta)], warnings)


def _load_text(path: Path, data: bytes, doc_id: str) -> LoadResult:
    text, warnings = _read_text(path, data)
    _require_text(text)
    if service_public.is_fiche_file(path):
        fiche = service_public.parse_fiche(path, text)
        body = _require_text(fiche.body, "fiche sans contenu (seulement les libellés de situation)")
        situation = service_public.SITUATION_SEPARATOR.join(fiche.situation) or None
        meta = _metadata(
            path,
            doc_id,
            "txt",
            title=_short(fiche.title),
            url=fiche.url,
            service=fiche.service,
            situation=situation,
        )
        if fiche.title is None or not fiche.theme_path:
            warnings.append(f"fiche {fiche.fiche_id} absente du catalogue des thèmes")
        return LoadResult([Document(id_=doc_id, text=body, metadata=meta)], warnings)
    body = _require_text(normalise_text(text))
    first = next(ln for ln in body.split("\n") if ln.strip())
    meta = _metadata(path, doc_id, "txt", title=_short(first))
    return LoadResult([Document(id_=doc_id, text=body, metadata=meta)], warnings)


def _html_fallback_text(tree: Any) -> str:
    """Visible text without scripts and navigation when trafilatura finds no main content."""
    for bad in tree.xpath(
        "//script|//style|//noscript|//nav|//header|//footer|//aside|//form|//template"
    ):
        bad.drop_tree()
    body = tree.find("body")
    node = body if body is not None else tree
    blocks = []
    for element in node.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre"):
        text = re.sub(r"\s+", " ", element.text_content()).strip()
        if not text:
            continue
        tag = element.tag
        if isinstance(tag, str) and re.fullmatch(r"h[1-6]", tag):
            text = "#" * int(tag[1]) + " " + text
        elif tag == "li":
            text = "- " + text
        blocks.append(text)
    if not blocks:
        return re.sub(r"[ \t]+", " ", node.text_content())
    return "\n\n".join(blocks)


def _html_meta_date(tree: Any) -> str | None:
    """Only explicit modification / publication dates; never a guess from the page text."""
    for attr, name in (
        ("property", "article:modified_time"),
        ("name", "last-modified"),
        ("name", "dcterms.modified"),
        ("name", "DC.date.modified"),
        ("property", "article:published_time"),
        ("name", "date"),
        ("name", "dcterms.date"),
    ):
        for value in tree.xpath(f"//meta[@{attr}=$n]/@content", n=name):
            iso = _iso_date(value)
            if iso and re.match(r"^\d{4}-\d{2}-\d{2}$", iso):
                return iso
    return None


def _load_html(path: Path, data: bytes, doc_id: str) -> LoadResult:
    import lxml.html
    import trafilatura

    text, warnings = _read_text(path, data)
    _require_text(text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str with a declaration
    try:
        tree = lxml.html.fromstring(text)
    except Exception as exc:
        raise LoadError(f"HTML illisible: {exc}") from exc
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    url = _short(canonical[0], 2000) if canonical else None
    page_title = _short(tree.findtext(".//title"))
    h1_nodes = tree.xpath("//h1")
    h1 = _short(h1_nodes[0].text_content()) if h1_nodes else None
    # "<h1>Carte d'identité</h1>" in "<title>Carte d'identité - Mairie de X</title>": the h1
    # without the site name; an h1 unrelated to the title is often the site logo.
    title = h1 if h1 and page_title and h1.lower() in page_title.lower() else page_title or h1
    updated = _html_meta_date(tree)
    body = trafilatura.extract(
        text, output_format="markdown", include_tables=True, include_comments=False
    )
    if not body or not body.strip():
        warnings.append("contenu principal introuvable: texte brut de la page")
        body = _html_fallback_text(lxml.html.fromstring(text))
    body = _require_text(normalise_text(body), "page HTML sans texte")
    meta = _metadata(
        path, doc_id, "html", title=title or _stem_title(path), url=url, updated=updated
    )
    return LoadResult([Document(id_=doc_id, text=body, metadata=meta)], warnings)


# A word broken at the end of a line ("déter-\nmination"): rejoin lower-case halves only, so
# "Jean-\nPierre" and table cells ("7h30-\n8h50") stay as they are.
_HYPHEN_BREAK = re.compile(r"(?<=[a-zà-öø-ÿ])-\n(?=[a-zà-öø-ÿ])")
_COLUMN_GAP = re.compile(r" {3,}")


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
        line = _COLUMN_GAP.sub(" | ", _symbol_bullets(line).strip())
        lines.append(re.sub(r"[ \t]+", " ", line))
    text = "\n".join(lines)
    text = _HYPHEN_BREAK.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _pdf_title(meta: dict[str, Any], path: Path) -> str:
    title = (meta.get("title") or "").strip()
    title = re.sub(r"^Microsoft (?:Word|PowerPoint|Excel) - ", "", title)
    title = re.sub(r"\.(?:docx?|odt|pdf|xlsx?)$", "", title, flags=re.IGNORECASE)
    # Producers fill the title with placeholders ("DCM", "Document1", "untitled"): keep a title
    # only if it looks like words.
    if len(title) >= 8 and " " in title and not re.match(r"^(?:untitled|document\d*)$", title):
        return _short(title) or _stem_title(path)
    return _stem_title(path)


def _load_pdf(path: Path, data: bytes, doc_id: str) -> LoadResult:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    warnings: list[str] = []
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise LoadError(f"PDF illisible: {exc}") from exc
    page_count = 0
    try:
        if pdf.needs_pass:
            raise LoadError("PDF protégé par un mot de passe")
        page_count = pdf.page_count
        if page_count == 0:
            raise LoadError("PDF sans page")
        info = pdf.metadata or {}
        title = _pdf_title(info, path)
        updated = _pdf_date(info.get("modDate")) or _pdf_date(info.get("creationDate"))
        documents = []
        for number in range(1, page_count + 1):
            try:
                text = pdf_page_text(pdf[number - 1])
            except Exception as exc:
                warnings.append(f"page {number}: illisible ({exc})")
                continue
            if not text:
                warnings.append(f"page {number}: pas de texte (scan sans OCR ?)")
                continue
            meta = _metadata(path, doc_id, "pdf", title=title, updated=updated, page=number)
            documents.append(Document(id_=f"{doc_id}#p{number}", text=text, metadata=meta))
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"PDF illisible: {exc}") from exc
    finally:
        pdf.close()
    if not documents:
        raise LoadError(f"PDF sans texte ({page_count} pages sans couche texte, OCR requis)")
    return LoadResult(documents, warnings)


_HEADING_STYLE = re.compile(r"^(?:heading|titre|überschrift|título)\s*(\d)$", re.IGNORECASE)


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


def _load_docx(path: Path, data: bytes, doc_id: str) -> LoadResult:
    import io

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        lines, first_heading = _docx_blocks(document)
        props = document.core_properties
        core_title, modified = props.title, props.modified
    except Exception as exc:
        raise LoadError(f"DOCX illisible: {exc}") from exc
    body = _require_text(normalise_text("\n".join(lines)), "DOCX sans texte")
    title = _short(core_title) or _short(first_heading) or _stem_title(path)
    meta = _metadata(path, doc_id, "docx", title=title, updated=_iso_date(modified))
    return LoadResult([Document(id_=doc_id, text=body, metadata=meta)], [])


_LOADERS: dict[str, Callable[[Path, bytes, str], LoadResult]] = {
    "md": _load_markdown,
    "txt": _load_text,
    "html": _load_html,
    "pdf": _load_pdf,
    "docx": _load_docx,
}


def load_file(path: Path, root: Path, *, max_bytes: int) -> LoadResult:
    """Load one file under ``root``; raise :class:`LoadError` (and only that) when it cannot."""
    path, root = Path(path), Path(root)
    kind = _KIND.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"format non pris en charge ({path.suffix or 'sans extension'})")
    try:
        doc_id = _doc_id(path, root)
        size = path.stat().st_size
        if size == 0:
            raise LoadError("fichier vide")
        if size > max_bytes:
            raise LoadError(
                f"fichier trop volumineux ({size / 1e6:.1f} Mo > limite {max_bytes / 1e6:.1f} Mo)"
            )
        data = path.read_bytes()
        return _LOADERS[kind](path, data, doc_id)
    except LoadError:
        raise
    except OSError as exc:
        raise LoadError(f"lecture impossible: {exc.strerror or exc}") from exc
    except Exception as exc:  # a loader bug must not stop the ingest of the other files
        raise LoadError(f"erreur inattendue ({type(exc).__name__}: {exc})") from exc
