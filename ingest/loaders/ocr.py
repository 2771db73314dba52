"""OCR of scanned pages: Tesseract (Debian's ``tesseract-ocr`` + ``tesseract-ocr-fra``) through
pytesseract.

pytesseract and not OCRmyPDF: guichet needs the text and the engine's confidence of each page,
not a new PDF. ``image_to_data`` gives every word with its confidence in one Tesseract run on an
image that PyMuPDF already renders; OCRmyPDF rewrites the whole file (Ghostscript, pikepdf) to
add a text layer and reports no confidence. The page confidence is Tesseract's word confidence
(0-100) averaged over the recognised characters.

Results are cached by page image (sha256 of the pixels and the OCR settings): an ingest
resumed after a kill, or re-run after another page of the PDF changed, recognises no page
twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.loaders.common import LoadError, LoadOptions, normalise_text

MIN_CHARS = 20  # fewer recognised characters: nothing to index
BLANK_INK = 0.002  # share of dark pixels under which a scan is a blank page, not a failure


@dataclass
class OcrPage:
    text: str
    confidence: float  # 0-100, Tesseract's word confidence weighted by word length
    words: int


@lru_cache(maxsize=4)
def missing(language: str) -> str | None:
    """Why OCR cannot run here (French, for the report), or None when it can."""
    if shutil.which("tesseract") is None:
        return "Tesseract absent (installez tesseract-ocr et tesseract-ocr-fra)"
    import pytesseract

    try:
        languages = pytesseract.get_languages()
    except Exception as exc:  # a broken install: say so rather than fail every page
        return f"Tesseract inutilisable ({exc})"
    if language not in languages:
        return f"langue OCR « {language} » absente de Tesseract (paquet tesseract-ocr-{language})"
    return None


def _text_from_data(data: dict[str, list[Any]]) -> OcrPage:
    """Lines and paragraphs as Tesseract found them, and the mean confidence."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    weighted = chars = 0.0
    words = 0
    for k, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][k])
        if not word or conf < 0:
            continue
        key = (data["block_num"][k], data["par_num"][k], data["line_num"][k])
        lines.setdefault(key, []).append(word)
        weighted += conf * len(word)
        chars += len(word)
        words += 1
    out: list[str] = []
    previous: tuple[int, int] | None = None
    for (block, par, _line), line_words in lines.items():
        if previous is not None and previous != (block, par):
            out.append("")  # a new paragraph
        out.append(" ".join(line_words))
        previous = (block, par)
    text = normalise_text("\n".join(out))
    return OcrPage(text, round(weighted / chars, 1) if chars else 0.0, words)


def _cache_file(options: LoadOptions, key: str) -> Path | None:
    return options.ocr_cache / key[:2] / f"{key}.json" if options.ocr_cache else None


def recognise(image: Any, options: LoadOptions) -> OcrPage:
    """OCR of one greyscale PIL image; raise :class:`LoadError` when Tesseract cannot run."""
    import pytesseract

    problem = missing(options.ocr_language)
    if problem:
        raise LoadError(problem)
    digest = hashlib.sha256(image.tobytes())
    digest.update(f"{options.ocr_language}|{image.size}|tesseract".encode())
    cache = _cache_file(options, digest.hexdigest())
    if cache is not None and cache.is_file():
        try:
            return OcrPage(**json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            pass  # a damaged entry is recognised again
    # Tesseract's OpenMP threads fight over two cores with the embedder and the answer model:
    # one thread recognised a page in 1.1 s against 2.3 s with the default on this machine.
    # Only Tesseract's environment gets the limit (pytesseract passes its module's ``environ``
    # to the subprocess): in this process it would also cap llama.cpp, which uses OpenMP too.
    pytesseract.pytesseract.environ = {"OMP_THREAD_LIMIT": "1", **os.environ}  # type: ignore[assignment]
    try:
        data = pytesseract.image_to_data(
            image, lang=options.ocr_language, output_type=pytesseract.Output.DICT
        )
    except Exception as exc:
        raise LoadError(f"OCR en échec ({type(exc).__name__}: {exc})") from exc
    page = _text_from_data(data)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(page), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache)
    return page


def ink(image: Any) -> float:
    """Share of dark pixels of a greyscale image."""
    histogram = image.histogram()[:256]
    return sum(histogram[:128]) / max(1, sum(histogram))


def too_uncertain(page: OcrPage, options: LoadOptions) -> str | None:
    """Why a recognised page is not indexed (French), or None when it is kept."""
    if page.confidence < options.ocr_min_confidence:
        return (
            f"texte reconnu trop incertain (confiance OCR {page.confidence:.0f} % < "
            f"{options.ocr_min_confidence:.0f} %), page non indexée"
        )
    return None
