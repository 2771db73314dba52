"""What every loader shares: the result types, the metadata of a Document, text decoding and
clean-up, dates and titles."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

TITLE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown in the report."""


@dataclass
class LoadOptions:
    """What a loader may need beyond the file: OCR and office conversion settings."""

    ocr: bool = True
    ocr_language: str = "fra"
    ocr_dpi: int = 300
    # Tesseract's mean word confidence (0-100) under which a page is reported, not indexed.
    # Measured on degraded scans (evals/bench_ocr.py): confidence 93-95 → 99.7 % of the
    # characters right, 89 → 94 %, 76 → 85 %, 51 → 75 %.
    ocr_min_confidence: float = 80.0
    # Folder of OCR results keyed by page image, so a resumed or repeated ingest does not
    # recognise a page twice; None: no cache.
    ocr_cache: Path | None = None
    office_timeout_s: float = 180.0


@dataclass
class LoadStream:
    """A file being loaded: Documents come one at a time (a page of a scanned PDF takes a
    second or two), warnings and failed pages fill in as they go."""

    documents: Iterator[Document]
    pages: int = 1  # units of work, for the progress bar
    warnings: list[str] = field(default_factory=list)
    failed_pages: list[tuple[int, str]] = field(default_factory=list)  # (page, reason)


@dataclass
class LoadResult:
    documents: list[Document]
    warnings: list[str] = field(default_factory=list)
    failed_pages: list[tuple[int, str]] = field(default_factory=list)


def one_document(doc: Document, warnings: list[str] | None = None) -> LoadStream:
    return LoadStream(iter([doc]), 1, warnings or [])


def doc_id_of(path: Path, root: Path) -> str:
    path, root = path.resolve(), root.resolve()
    if path == root or root.is_file():
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError as exc:
        raise LoadError(f"fichier hors du dossier ingéré ({root})") from exc


def metadata(path: Path, doc_id: str, kind: str, **values: Any) -> dict[str, Any]:
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


def short(text: object, limit: int = TITLE_MAX) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", str(text)).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stem_title(path: Path) -> str:
    return re.sub(r"[_\s]+", " ", path.stem).strip() or path.name


_MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
}
_FRENCH_DATE = re.compile(r"^(?:\w+\s+)?(\d{1,2})(?:er)?\s+(\w+)\s+(\d{4})$", re.IGNORECASE)


def _date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def iso_date(value: Any) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime or date-like string ("2024-03-15",
    "15/03/2024", "vendredi 15 mars 2024"); other text is kept as it is."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if match := re.match(r"^(\d{4})-(\d{2})-(\d{2})", text):
        year, month, day = map(int, match.groups())
        return _date(year, month, day)
    if match := re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", text):  # French dd/mm/yyyy
        day, month, year = map(int, match.groups())
        return _date(year, month, day)
    if (match := _FRENCH_DATE.match(text)) and match.group(2).lower() in _MONTHS:
        return _date(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)))
    return text or None


_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")


def symbol_bullets(line: str) -> str:
    """Word's Symbol/Wingdings bullets come out as private-use characters: make them "- "."""
    line = re.sub(r"^[\ue000-\uf8ff]\s*", "- ", line)
    return _PRIVATE_USE.sub("", line)


def normalise_text(text: str) -> str:
    """Light clean-up: one space between words, at most one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    lines = [re.sub(r"[ \t\u00a0\u2000-\u200b\u202f]+", " ", ln).strip() for ln in text.split("\n")]
    text = "\n".join(symbol_bullets(ln) for ln in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def read_text(data: bytes) -> tuple[str, list[str]]:
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


def require_text(text: str, what: str = "fichier vide (aucun texte)") -> str:
    if not text.strip():
        raise LoadError(what)
    return text
