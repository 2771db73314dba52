"""OCR of scanned pages: image-only PDFs and images made from known French text, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evals.bench.ocr import PAGES, char_accuracy, scanned_pdf
from ingest.loaders import LoadError, LoadOptions, load_file
from ingest.loaders.ocr import missing

pytestmark = pytest.mark.skipif(
    missing("fra") is not None,
    reason=f"OCR unavailable: {missing('fra')} (apt-get install tesseract-ocr tesseract-ocr-fra)",
)
MAX = 50_000_000


def load(path: Path, **options):
    return load_file(path, path.parent, max_bytes=MAX, options=LoadOptions(**options))


def test_scanned_pdf_is_recognised_with_accuracy_and_confidence(tmp_path: Path) -> None:
    pdf = scanned_pdf(PAGES[:2], tmp_path / "deliberation.pdf")
    result = load(pdf)
    assert [d.id_ for d in result.documents] == ["deliberation.pdf#p1", "deliberation.pdf#p2"]
    for doc, text in zip(result.documents, PAGES[:2], strict=True):
        assert char_accuracy(text, doc.text) >= 0.97, doc.text
        assert doc.metadata["ocr"] is True
        assert 80 <= doc.metadata["ocr_confidence"] <= 100
        assert doc.metadata["kind"] == "pdf"
    # Facts a citizen asks for survive recognition.
    assert "3,20 euros" in result.documents[1].text
    assert "14 mars 2024" in result.documents[1].text
    assert not result.failed_pages


def test_low_confidence_page_is_reported_not_indexed(tmp_path: Path) -> None:
    clean = scanned_pdf(PAGES[:1], tmp_path / "clean.pdf")
    blurred = scanned_pdf(PAGES[1:2], tmp_path / "blurred.pdf", blur=3.5)
    import pymupdf

    mixed = pymupdf.open(clean)
    mixed.insert_pdf(pymupdf.open(blurred))
    mixed.save(tmp_path / "mixed.pdf")
    result = load(tmp_path / "mixed.pdf")
    assert [d.metadata["page"] for d in result.documents] == [1]
    ((page, reason),) = result.failed_pages
    assert page == 2 and "confiance OCR" in reason and "non indexée" in reason


def test_only_uncertain_pages_fail_the_file(tmp_path: Path) -> None:
    pdf = scanned_pdf(PAGES[1:2], tmp_path / "illisible.pdf", blur=3.5)
    with pytest.raises(LoadError, match="non indexé : page 1, texte reconnu trop incertain"):
        load(pdf)
    # A lower bar lets the same page in, marked with its confidence.
    (doc,) = load(pdf, ocr_min_confidence=0).documents
    assert doc.metadata["ocr_confidence"] < 80


def test_text_pages_are_not_recognised(tmp_path: Path) -> None:
    import pymupdf

    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_text((72, 72), "La mairie est ouverte le samedi matin.")
    pdf.save(tmp_path / "texte.pdf")
    (doc,) = load(tmp_path / "texte.pdf").documents
    assert "ocr" not in doc.metadata
    assert doc.text == "La mairie est ouverte le samedi matin."


def test_stamp_over_a_scan_is_recognised(tmp_path: Path) -> None:
    """A prefecture's receipt stamp is a text layer over a full-page scan: the scan counts."""
    import pymupdf

    scan = scanned_pdf(PAGES[2:3], tmp_path / "scan.pdf")
    pdf = pymupdf.open(scan)
    pdf[0].insert_text((400, 30), "Reçu en préfecture le 05/06/2024")
    pdf.save(tmp_path / "arrete.pdf")
    (doc,) = load(tmp_path / "arrete.pdf").documents
    assert doc.metadata["ocr"] is True
    assert char_accuracy(PAGES[2], doc.text) >= 0.9


def test_blank_scan_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    import pymupdf

    scan = scanned_pdf(PAGES[:1], tmp_path / "scan.pdf")
    blank = scanned_pdf([""], tmp_path / "blank.pdf")
    pdf = pymupdf.open(scan)
    pdf.insert_pdf(pymupdf.open(blank))
    pdf.save(tmp_path / "recto.pdf")
    result = load(tmp_path / "recto.pdf")
    assert [d.metadata["page"] for d in result.documents] == [1]
    assert result.warnings == ["page 2: pas de texte (page blanche scannée)"]
    assert not result.failed_pages


def test_ocr_off_reports_the_scan(tmp_path: Path) -> None:
    pdf = scanned_pdf(PAGES[:1], tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match="PDF sans texte"):
        load(pdf, ocr=False)


def test_scanned_images(tmp_path: Path) -> None:
    import pymupdf
    from PIL import Image

    pdf = pymupdf.open(scanned_pdf(PAGES[:2], tmp_path / "scan.pdf"))
    frames = []
    for page in pdf:
        pix = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)
        frames.append(Image.frombytes("L", (pix.width, pix.height), pix.samples))
    frames[0].save(tmp_path / "affiche.png")
    frames[0].save(tmp_path / "affiche.jpg", quality=90)
    frames[0].save(tmp_path / "registre.tif", save_all=True, append_images=frames[1:])
    for name in ("affiche.png", "affiche.jpg"):
        (doc,) = load(tmp_path / name).documents
        assert doc.id_ == name and doc.metadata["kind"] == "image"
        assert char_accuracy(PAGES[0], doc.text) >= 0.97
    docs = load(tmp_path / "registre.tif").documents
    assert [d.id_ for d in docs] == ["registre.tif#p1", "registre.tif#p2"]
    assert char_accuracy(PAGES[1], docs[1].text) >= 0.97


def test_ocr_cache_serves_a_page_recognised_before(tmp_path: Path, monkeypatch) -> None:
    pdf = scanned_pdf(PAGES[:1], tmp_path / "scan.pdf")
    cache = tmp_path / "cache"
    first = load(pdf, ocr_cache=cache).documents[0]
    assert list(cache.rglob("*.json"))

    import pytesseract

    def no_tesseract(*args, **kwargs):
        raise AssertionError("recognised again")

    monkeypatch.setattr(pytesseract, "image_to_data", no_tesseract)
    again = load(pdf, ocr_cache=cache).documents[0]
    assert again.text == first.text
    assert again.metadata["ocr_confidence"] == first.metadata["ocr_confidence"]


def test_missing_tesseract_is_a_reason(tmp_path: Path, monkeypatch) -> None:
    pdf = scanned_pdf(PAGES[:1], tmp_path / "scan.pdf")
    missing.cache_clear()
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name: None if name == "tesseract" else real_which(name)
    )
    try:
        with pytest.raises(LoadError, match="Tesseract absent"):
            load(pdf)
    finally:
        missing.cache_clear()


def test_the_thread_limit_is_tesseracts_alone(tmp_path: Path) -> None:
    """OMP_THREAD_LIMIT=1 goes to Tesseract only: in this process it would cap llama.cpp."""
    import os

    before = os.environ.get("OMP_THREAD_LIMIT")
    load(scanned_pdf(PAGES[:1], tmp_path / "scan.pdf"))
    assert os.environ.get("OMP_THREAD_LIMIT") == before
