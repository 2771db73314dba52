"""Office formats through LibreOffice headless: ODT, DOC, RTF (read as DOCX), ODS, XLSX and XLS
sheets, ODP, PPTX and PPT slides; and every office file of a folder in the ingest report."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from ingest.loaders import LoadError, LoadOptions, load_file
from ingest.loaders.office import convert, soffice

pytestmark = pytest.mark.skipif(
    soffice() is None,
    reason="LibreOffice absent (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui "
    "libreoffice-impress-nogui)",
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


def make_odp(path: Path, slides: list[tuple[str, list[str]]]) -> Path:
    """A minimal OpenDocument presentation written by hand: a title and a text box a slide."""
    pages = []
    for number, (title, lines) in enumerate(slides, start=1):
        paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in lines)
        pages.append(
            f'<draw:page draw:name="page{number}">'
            '<draw:frame svg:x="1cm" svg:y="1cm" svg:width="24cm" svg:height="3cm">'
            f"<draw:text-box><text:p>{escape(title)}</text:p></draw:text-box></draw:frame>"
            '<draw:frame svg:x="1cm" svg:y="5cm" svg:width="24cm" svg:height="12cm">'
            f"<draw:text-box>{paragraphs}</draw:text-box></draw:frame></draw:page>"
        )
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        f'office:version="1.2"><office:body><office:presentation>{"".join(pages)}'
        "</office:presentation></office:body></office:document-content>"
    )
    mime = "application/vnd.oasis.opendocument.presentation"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", mime)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


SLIDES = [
    ("Conseil municipal du 14 mars", ["Ordre du jour : budget 2024", "Tarifs de la cantine"]),
    ("Tarifs de la cantine", ["Repas : 3,20 euros", "Repas non-résident : 4,80 euros"]),
]


@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_excel_sheets_are_read_like_ods(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "source").mkdir()
    sheets = {
        "Cantine": [["Quotient familial", "Prix du repas"], ["0 à 600 €", "1,20 €"]],
        "Garderie": [["Créneau", "Prix"], ["Soir", "2,00 €"]],
    }
    source = make_ods(tmp_path / "source" / "tarifs.ods", sheets)
    path = tmp_path / f"tarifs.{suffix}"
    path.write_bytes(convert(source, suffix, 120))  # saved by LibreOffice as Excel would
    (doc,) = load(path).documents
    assert doc.metadata["kind"] == suffix and doc.id_ == f"tarifs.{suffix}"
    lines = doc.text.split("\n")
    assert "## Cantine" in lines and "## Garderie" in lines
    assert "0 à 600 € : 1,20 €." in lines and "Soir : 2,00 €." in lines


@pytest.mark.parametrize("suffix", ["odp", "pptx", "ppt"])
def test_presentations_give_one_document_per_slide(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "source").mkdir()
    source = make_odp(tmp_path / "source" / "conseil.odp", SLIDES)
    path = tmp_path / f"conseil.{suffix}"
    path.write_bytes(source.read_bytes() if suffix == "odp" else convert(source, suffix, 120))
    docs = load(path).documents
    assert [d.id_ for d in docs] == [f"conseil.{suffix}#p1", f"conseil.{suffix}#p2"]
    assert [d.metadata["page"] for d in docs] == [1, 2]
    assert {d.metadata["kind"] for d in docs} == {suffix}
    assert {d.metadata["title"] for d in docs} == {"Conseil municipal du 14 mars"}
    assert "Ordre du jour : budget 2024" in docs[0].text
    assert "Repas non-résident : 4,80 euros" in docs[1].text and "3,20" not in docs[0].text


def test_every_office_file_of_a_folder_is_in_the_report(tmp_path: Path, monkeypatch) -> None:
    """Ingested, unchanged, failed with a reason, or skipped as not supported: none is silent."""
    from assistant.index import embedding
    from ingest.pipeline import ingest
    from tests.conftest import make_settings
    from tests.fakes import HashEmbedder

    monkeypatch.setattr(embedding, "load_embedder", lambda spec: HashEmbedder())
    corpus = tmp_path / "corpus"
    (tmp_path / "source").mkdir()
    corpus.mkdir()
    source = make_odp(tmp_path / "source" / "conseil.odp", SLIDES)
    (corpus / "conseil.pptx").write_bytes(convert(source, "pptx", 120))
    sheet = make_ods(
        tmp_path / "source" / "tarifs.ods", {"A": [["Objet", "Prix"], ["Salle", "50 €"]]}
    )
    (corpus / "tarifs.xlsx").write_bytes(convert(sheet, "xlsx", 120))
    (corpus / "casse.ppt").write_bytes(b"\xd0\xcf\x11\xe0 not really a presentation" * 10)
    (corpus / "diaporama.key").write_bytes(b"PK\x03\x04 keynote")
    settings = make_settings(tmp_path / "data")
    first = {f.doc_id: f for f in ingest([corpus], settings, progress=False).files}
    assert set(first) == {"conseil.pptx", "tarifs.xlsx", "casse.ppt", "diaporama.key"}
    assert first["conseil.pptx"].status == "ok" and first["conseil.pptx"].chunks >= 2
    assert first["tarifs.xlsx"].status == "ok"
    assert first["casse.ppt"].status == "failed" and first["casse.ppt"].reason
    assert first["diaporama.key"].status == "skipped"
    assert first["diaporama.key"].reason == "format non pris en charge (.key)"
    again = {f.doc_id: f.status for f in ingest([corpus], settings, progress=False).files}
    assert again["conseil.pptx"] == again["tarifs.xlsx"] == "unchanged"
