"""Office formats through LibreOffice headless: ODT, DOC, RTF (read as DOCX) and ODS sheets."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from ingest.loaders import LoadError, LoadOptions, load_file
from ingest.loaders.office import convert, soffice

pytestmark = pytest.mark.skipif(
    soffice() is None,
    reason="LibreOffice absent (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui)",
)
MAX = 50_000_000


def load(path: Path):
    return load_file(path, path.parent, max_bytes=MAX, options=LoadOptions())


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Règlement de la salle des fêtes"
    document.add_heading("Règlement de la salle des fêtes", level=1)
    document.add_paragraph("La salle est louée aux habitants et aux associations de la commune.")
    document.add_heading("Tarifs", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, (name, price) in enumerate(
        [("Formule", "Prix"), ("Week-end", "350 €"), ("Journée", "200 €")]
    ):
        table.cell(row, 0).text = name
        table.cell(row, 1).text = price
    document.add_heading("Réservation", level=2)
    document.add_paragraph("Pièces à fournir :")
    document.add_paragraph("une attestation d'assurance", style="List Bullet")
    document.add_paragraph("un chèque de caution de 500 €", style="List Bullet")
    document.save(str(path))
    return path


def office_file(tmp_path: Path, suffix: str) -> Path:
    """The same document saved by LibreOffice as ``suffix``."""
    (tmp_path / "source").mkdir()
    source = make_docx(tmp_path / "source" / "reglement.docx")
    target = tmp_path / f"reglement.{suffix}"
    target.write_bytes(convert(source, suffix, 120))
    return target


@pytest.mark.parametrize("suffix", ["odt", "doc", "rtf"])
def test_writer_formats_keep_headings_tables_and_lists(tmp_path: Path, suffix: str) -> None:
    path = office_file(tmp_path, suffix)
    (doc,) = load(path).documents
    assert doc.id_ == f"reglement.{suffix}"
    assert doc.metadata["kind"] == suffix
    assert "## Tarifs" in doc.text and "## Réservation" in doc.text
    assert "Week-end | 350 €" in doc.text
    assert "un chèque de caution de 500 €" in doc.text
    assert doc.text.index("## Tarifs") < doc.text.index("350 €") < doc.text.index("Réservation")
    if suffix != "rtf":  # RTF has no place for the document title LibreOffice keeps
        assert doc.metadata["title"] == "Règlement de la salle des fêtes"


def make_ods(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    """A minimal OpenDocument spreadsheet written by hand (no LibreOffice involved)."""
    body = []
    for name, rows in sheets.items():
        body.append(f'<table:table table:name="{escape(name)}">')
        for row in rows:
            cells = "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p>'
                "</table:table-cell>"
                for c in row
            )
            body.append(f"<table:table-row>{cells}</table:table-row>")
        body.append("</table:table>")
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        f'office:version="1.2"><office:body><office:spreadsheet>{"".join(body)}'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_ods_sheets_become_sections_and_rows_sentences(tmp_path: Path) -> None:
    path = make_ods(
        tmp_path / "tarifs-2024.ods",
        {
            "Cantine": [
                ["Quotient familial", "Prix du repas"],
                ["0 à 600 €", "1,20 €"],
                ["601 à 1 200 €", "2,90 €"],
            ],
            "Garderie": [
                ["Créneau", "Prix", "Goûter"],
                ["Matin", "1,50 €", "non"],
                ["Soir", "2,00 €", "oui"],
            ],
        },
    )
    (doc,) = load(path).documents
    assert doc.metadata["kind"] == "ods" and doc.metadata["title"] == "tarifs-2024"
    lines = doc.text.split("\n")
    assert "## Cantine" in lines and "## Garderie" in lines
    assert "0 à 600 € : 1,20 €." in lines
    assert "Soir — Prix : 2,00 € ; Goûter : oui." in lines
    assert (
        lines.index("## Cantine") < lines.index("0 à 600 € : 1,20 €.") < lines.index("## Garderie")
    )


def test_unreadable_office_file_has_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "casse.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 not really a word file" * 10)
    with pytest.raises(LoadError) as failure:
        load(bad)
    assert str(failure.value)


def test_missing_libreoffice_is_a_reason(tmp_path: Path, monkeypatch) -> None:
    path = make_ods(tmp_path / "t.ods", {"A": [["x", "y"]]})
    monkeypatch.setattr("ingest.loaders.office.soffice", lambda: None)
    with pytest.raises(LoadError, match="LibreOffice absent"):
        load(path)
