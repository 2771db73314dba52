"""Loaders: every format, every kind of bad input, and a slice of the real shared data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from evals.spf import shared_data
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, LoadResult, load_file
from ingest.service_public import (
    find_catalogue,
    load_catalogue,
    parse_fiche,
    split_situation,
)

MAX = 5_000_000
KEYS = {"doc_id", "title", "url", "path", "service", "updated", "page", "kind"}
SHARED = shared_data()


def load(path: Path, root: Path | None = None, max_bytes: int = MAX) -> LoadResult:
    return load_file(path, root or path.parent, max_bytes=max_bytes)


def make_pdf(path: Path) -> None:
    import pymupdf

    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_text((72, 72), "Horaires de la mairie")
    page.insert_text((72, 100), "La mairie est ouverte du lundi au vendredi, de 8 h 30 a 17 h.")
    pdf.new_page()  # blank: no text layer
    page = pdf.new_page()
    page.insert_text((72, 72), "Tarifs de la cantine scolaire : 3,20 euros le repas.")
    pdf.set_metadata({"title": "Guide des services municipaux", "modDate": "D:20240315093000"})
    pdf.save(str(path))
    pdf.close()


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Location de salles"
    document.add_heading("Location de salles", level=1)
    document.add_paragraph("La commune loue ses salles aux associations et aux particuliers.")
    document.add_heading("Tarifs", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Salle"
    table.cell(0, 1).text = "Prix"
    table.cell(1, 0).text = "Salle des fêtes"
    table.cell(1, 1).text = "150 €"
    document.add_heading("Réservation", level=2)
    document.add_paragraph("Réservez au moins un mois à l'avance auprès de l'accueil.")
    document.save(str(path))


HTML = """<!doctype html><html><head><title>Piscine municipale - Mairie de Fictiville</title>
<link rel="canonical" href="https://fictiville.example.fr/piscine">
<meta property="article:modified_time" content="2024-05-02T10:00:00+02:00"></head>
<body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/agenda">Agenda des festivités</a></li>
<li><a href="/contact">Nous contacter par formulaire</a></li></ul></nav>
<main><article>
<h1>Piscine municipale</h1>
<p>La piscine municipale est ouverte toute l'année, sauf pendant la vidange technique de
septembre. Les horaires changent pendant les vacances scolaires.</p>
<h2>Tarifs</h2>
<p>L'entrée coûte 3 euros pour les adultes et 1,50 euro pour les moins de 18 ans. Un
abonnement de dix entrées est proposé à l'accueil de la piscine.</p>
</article></main>
<footer><p>Mentions légales - Plan du site - Copyright Mairie de Fictiville</p></footer>
</body></html>"""

MARKDOWN = """---
title: État civil
url: https://fictiville.example.fr/etat-civil
service: Population
updated: 2024-02-01
---
# État civil

## Acte de naissance

Demandez l'acte à la mairie du lieu de naissance.
"""


# --- formats ---------------------------------------------------------------------------------


def test_pdf_pages_numbered_and_blank_page_reported(tmp_path: Path) -> None:
    make_pdf(tmp_path / "guide.pdf")
    result = load(tmp_path / "guide.pdf", tmp_path)
    assert [d.id_ for d in result.documents] == ["guide.pdf#p1", "guide.pdf#p3"]
    assert [d.metadata["page"] for d in result.documents] == [1, 3]
    assert result.warnings == ["page 2: pas de texte (page blanche)"]
    first = result.documents[0]
    assert set(first.metadata) >= KEYS
    assert first.metadata["kind"] == "pdf"
    assert first.metadata["title"] == "Guide des services municipaux"
    assert first.metadata["updated"] == "2024-03-15"
    assert first.metadata["doc_id"] == "guide.pdf"
    assert "lundi au vendredi" in first.text


def test_docx_headings_and_table(tmp_path: Path) -> None:
    make_docx(tmp_path / "salles.docx")
    (doc,) = load(tmp_path / "salles.docx").documents
    assert doc.id_ == "salles.docx"
    assert doc.metadata["title"] == "Location de salles"
    assert doc.metadata["kind"] == "docx"
    assert doc.metadata["page"] is None
    assert "# Location de salles" in doc.text
    assert "## Tarifs" in doc.text
    assert "Salle | Prix" in doc.text
    assert "Salle des fêtes | 150 €" in doc.text
    assert doc.text.index("## Tarifs") < doc.text.index("150 €") < doc.text.index("Réservation")


def test_html_main_content_without_navigation(tmp_path: Path) -> None:
    (tmp_path / "piscine.html").write_text(HTML, encoding="utf-8")
    (doc,) = load(tmp_path / "piscine.html").documents
    assert "vidange technique" in doc.text
    assert "1,50 euro" in doc.text
    assert "Agenda des festivités" not in doc.text
    assert "Nous contacter" not in doc.text
    assert "Mentions légales" not in doc.text
    assert "## Tarifs" in doc.text  # headings survive as Markdown for the chunker
    assert doc.metadata["title"] == "Piscine municipale"
    assert doc.metadata["url"] == "https://fictiville.example.fr/piscine"
    assert doc.metadata["updated"] == "2024-05-02"
    assert doc.metadata["kind"] == "html"


def test_html_without_main_content_falls_back_to_text(tmp_path: Path) -> None:
    page = "<html><head><title>Bref</title></head><body><p>Ouvert.</p><footer>pied</footer>"
    (tmp_path / "bref.htm").write_text(page, encoding="utf-8")
    (doc,) = load(tmp_path / "bref.htm").documents
    assert "Ouvert." in doc.text
    assert doc.metadata["title"] == "Bref"


def test_markdown_front_matter(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    path = tmp_path / "services" / "etat-civil.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    (doc,) = load(path, tmp_path).documents
    assert doc.id_ == "services/etat-civil.md"
    assert doc.metadata == {
        "doc_id": "services/etat-civil.md",
        "title": "État civil",
        "url": "https://fictiville.example.fr/etat-civil",
        "path": str(path.resolve()),
        "service": "Population",
        "updated": "2024-02-01",
        "page": None,
        "kind": "md",
    }
    assert doc.text.startswith("# État civil")
    assert "---" not in doc.text


def test_markdown_title_fallbacks(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Intro.\n\n# Cimetière\n\nConcessions.", encoding="utf-8")
    (tmp_path / "b_notes.markdown").write_text("Pas de titre ici.", encoding="utf-8")
    assert load(tmp_path / "a.md").documents[0].metadata["title"] == "Cimetière"
    assert load(tmp_path / "b_notes.markdown").documents[0].metadata["title"] == "b notes"


def test_root_is_the_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Note de service\n\nTexte.", encoding="utf-8")
    (doc,) = load_file(path, path, max_bytes=MAX).documents
    assert doc.id_ == "note.txt"
    assert doc.metadata["title"] == "Note de service"


def test_plain_text_title_is_first_line_and_spaces_collapsed(tmp_path: Path) -> None:
    path = tmp_path / "horaires.txt"
    path.write_text(
        "\n\n  Horaires   d'été  \n\n\n\nLa mairie    ferme à 16 h.\n", encoding="utf-8"
    )
    (doc,) = load(path).documents
    assert doc.metadata["title"] == "Horaires d'été"
    assert doc.text == "Horaires d'été\n\nLa mairie ferme à 16 h."


def test_latin1_text_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "ancien.txt"
    path.write_bytes("Élections municipales : bureau de vote à l'école.".encode("latin-1"))
    result = load(path)
    assert "Élections municipales" in result.documents[0].text
    assert any("encodage" in w for w in result.warnings)


def test_utf8_with_one_bad_byte_stays_utf8(tmp_path: Path) -> None:
    path = tmp_path / "accents.md"
    path.write_bytes(
        "Déchèterie : accès réservé aux habitants, carte à présenter.".encode() + b"\xff"
    )
    result = load(path)
    assert result.documents[0].text.startswith("Déchèterie : accès réservé")
    assert any("UTF-8 invalide" in w for w in result.warnings)


# --- bad input -------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "vide.md").write_bytes(b"")
    with pytest.raises(LoadError, match="fichier vide"):
        load(tmp_path / "vide.md")


def test_whitespace_only_file(tmp_path: Path) -> None:
    (tmp_path / "blanc.txt").write_text("   \n\n\t\n", encoding="utf-8")
    with pytest.raises(LoadError, match="vide"):
        load(tmp_path / "blanc.txt")


def test_binary_named_txt(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(random.Random(1).randbytes(4096))
    with pytest.raises(LoadError, match="binaire"):
        load(tmp_path / "image.txt")


def test_control_characters_named_md(tmp_path: Path) -> None:
    (tmp_path / "bizarre.md").write_bytes(b"\x01\x02\x03\x04abc\x05\x06\x07\x08" * 50)
    with pytest.raises(LoadError, match="binaire"):
        load(tmp_path / "bizarre.md")


def test_corrupt_pdf(tmp_path: Path) -> None:
    (tmp_path / "casse.pdf").write_bytes(random.Random(2).randbytes(2048))
    with pytest.raises(LoadError, match="PDF illisible"):
        load(tmp_path / "casse.pdf")


def test_truncated_pdf(tmp_path: Path) -> None:
    make_pdf(tmp_path / "ok.pdf")
    data = (tmp_path / "ok.pdf").read_bytes()
    (tmp_path / "tronque.pdf").write_bytes(data[: len(data) // 3])
    try:
        result = load(tmp_path / "tronque.pdf")
    except LoadError:
        return  # a clear refusal is fine
    assert all(d.metadata["page"] for d in result.documents)  # or MuPDF repaired it


def test_pdf_without_any_text(tmp_path: Path) -> None:
    import pymupdf

    pdf = pymupdf.open()
    pdf.new_page()
    pdf.new_page()
    pdf.save(tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match="PDF sans texte"):
        load(tmp_path / "scan.pdf")


def test_corrupt_docx(tmp_path: Path) -> None:
    (tmp_path / "casse.docx").write_bytes(b"PK\x03\x04 pas vraiment un zip")
    with pytest.raises(LoadError, match="DOCX illisible"):
        load(tmp_path / "casse.docx")


def test_oversized_file(tmp_path: Path) -> None:
    (tmp_path / "gros.txt").write_text("mot " * 3000, encoding="utf-8")
    with pytest.raises(LoadError, match="trop volumineux"):
        load(tmp_path / "gros.txt", max_bytes=1000)


def test_unsupported_suffix(tmp_path: Path) -> None:
    (tmp_path / "tableur.numbers").write_bytes(b"PK\x03\x04")  # Apple Numbers
    assert ".numbers" not in SUPPORTED_SUFFIXES
    with pytest.raises(LoadError, match="non pris en charge"):
        load(tmp_path / "tableur.numbers")


def test_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="lecture impossible"):
        load(tmp_path / "absent.md")


# --- service-public fiches (synthetic) -------------------------------------------------------


def test_fiche_situation_labels_split_from_text() -> None:
    text = "Apa à domicile\n\nDemande\n\nÀ Paris\nEn ligne\nPermet de faire la demande.\n"
    labels, body = split_situation(text, "apa-a-domicile--demande_--a-paris")
    assert labels == ["Apa à domicile", "Demande", "À Paris"]
    assert body.startswith("En ligne\nPermet")


def test_fiche_with_catalogue(tmp_path: Path) -> None:
    catalogue = {
        "version": "1.0",
        "data": [
            {
                "id": "N1",
                "type": "theme",
                "name": "Papiers - Citoyenneté",
                "data": [
                    {
                        "id": None,
                        "type": "sous_theme",
                        "name": "Identité",
                        "data": [
                            {
                                "id": "F1234",
                                "type": "fiche",
                                "name": "Carte d'identité",
                                "data": None,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    import json

    (tmp_path / "arborescence_spf_particuliers.json").write_text(json.dumps(catalogue))
    fiches = tmp_path / "fiches"
    fiches.mkdir()
    path = fiches / "F1234_majeur--pieces-a-fourn_--premiere-deman.txt"
    path.write_text(
        "Majeur\n\nPièces à fournir\n\nPremière demande\nUne photo d'identité\n\n"
        ", de moins de 6 mois.\n",
        encoding="utf-8",
    )
    assert find_catalogue(path) == tmp_path / "arborescence_spf_particuliers.json"
    assert load_catalogue(tmp_path / "arborescence_spf_particuliers.json")["F1234"].theme_path == [
        "Papiers - Citoyenneté",
        "Identité",
    ]
    (doc,) = load(path, fiches).documents
    assert doc.metadata["title"] == "Carte d'identité"
    assert doc.metadata["situation"] == "Majeur > Pièces à fournir > Première demande"
    assert doc.metadata["service"] == "Papiers - Citoyenneté"
    assert doc.metadata["url"] == "https://www.service-public.fr/particuliers/vosdroits/F1234"
    assert doc.text == "Une photo d'identité, de moins de 6 mois."


def test_fiche_with_only_labels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "F984_college-public--demarche_--rouen.txt"
    path.write_text("Collège public\n\nDémarche\n\nRouen", encoding="utf-8")
    with pytest.raises(LoadError, match="fiche sans contenu"):
        load(path)


# --- real data -------------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared real data absent ({SHARED})")
def test_real_fiches_and_montpellier_pdf() -> None:
    fiches_dir = SHARED / "service-public-2020" / "fiches"
    catalogue = load_catalogue(
        SHARED / "service-public-2020" / "arborescence_spf_particuliers.json"
    )
    files = sorted(fiches_dir.glob("F*.txt"))
    files = [f for f in files if f.name.split("_")[0] in catalogue]
    sample = random.Random(7).sample(files, 20)
    loaded = 0
    for path in sample:
        fid = path.name.split("_")[0]
        parsed = parse_fiche(path, path.read_text(encoding="utf-8"))
        assert parsed.title == catalogue[fid].title
        assert 1 <= len(parsed.situation) <= 3
        try:
            (doc,) = load(path, fiches_dir).documents
        except LoadError as exc:
            assert "fiche sans contenu" in str(exc)  # a few variants hold only their labels
            continue
        loaded += 1
        assert doc.metadata["title"] == catalogue[fid].title
        assert doc.metadata["service"] == catalogue[fid].theme_path[0]
        assert doc.metadata["url"].endswith("/" + fid)
        assert doc.metadata["situation"]
        assert not doc.text.startswith(parsed.situation[0])
    assert loaded >= 15

    (pdf_path,) = sorted((SHARED / "montpellier-2014" / "tarifs").glob("*.pdf"))
    result = load(pdf_path, SHARED / "montpellier-2014")
    pages = [d.metadata["page"] for d in result.documents]
    assert pages == list(range(1, len(pages) + 1)) and len(pages) >= 20
    assert result.documents[0].id_ == f"tarifs/{pdf_path.name}#p1"
    # table rows stay on one line, cells separated by " | "
    assert any(
        " | " in line and "€" in line for d in result.documents for line in d.text.split("\n")
    )
