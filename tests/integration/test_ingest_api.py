"""The ingest's public API, as the server's jobs use it (``ui.documents``, ``ui.library``):
given files of a folder, a folder, a website's addresses, removal of a document, the files
indexed and the last report; and the local Qdrant client serialised where it is opened.

A real Qdrant (local mode); the embedder is the stems-hashing fake, given to the Ingestor the
way the server gives its shared embedder.
"""

from __future__ import annotations

import httpx
import pytest

import ingest.website
from assistant.index.serialise import is_serialised
from assistant.index.store import get_client
from ingest.pipeline import Ingestor, indexed_files, read_report
from ingest.records import document_of
from tests.conftest import make_settings
from tests.fakes import HashEmbedder


@pytest.fixture
def ingestor(tmp_path):
    return Ingestor(make_settings(tmp_path / "data"), embedder=HashEmbedder())


def doc_ids(ingestor: Ingestor) -> set[str]:
    points, _ = get_client(ingestor.settings).scroll(ingestor.collection, limit=1000)
    return {document_of(p.payload["doc_id"]) for p in points}  # a PDF's pages: its file


def test_files_of_a_folder_keep_the_ids_of_the_folder_and_nothing_else_is_read(ingestor, tmp_path):
    library = tmp_path / "bibliotheque"
    (library / "televersements").mkdir(parents=True)
    new = library / "televersements" / "patinoire.md"
    new.write_text("# Patinoire\n\nLa patinoire ouvre le samedi.\n", encoding="utf-8")
    (library / "autre.md").write_text("# Autre\n\nNe pas lire.\n", encoding="utf-8")
    slides = library / "televersements" / "notes.key"
    slides.write_bytes(b"PK\x03\x04")
    report = ingestor.ingest_files([new, slides], library)
    assert [(f.doc_id, f.status) for f in report.files] == [
        ("televersements/patinoire.md", "ok"),
        ("televersements/notes.key", "skipped"),
    ]
    assert doc_ids(ingestor) == {"televersements/patinoire.md"}
    assert ingestor.files() == ["televersements/patinoire.md"]
    assert indexed_files(ingestor.settings) == ["televersements/patinoire.md"]
    saved = read_report(ingestor.settings)
    assert saved is not None and saved["files"][0]["doc_id"] == "televersements/patinoire.md"
    with pytest.raises(FileNotFoundError):
        ingestor.ingest_files([tmp_path / "ailleurs.md"], library)


def test_delete_document_removes_every_page_and_says_how_many(ingestor, tmp_path):
    import pymupdf

    folder = tmp_path / "corpus"
    folder.mkdir()
    pdf = pymupdf.open()
    for text in ("Le marché a lieu le samedi.", "La fête du village est en juin."):
        pdf.new_page().insert_text((72, 72), text)
    pdf.save(str(folder / "bulletin.pdf"))
    (folder / "piscine.md").write_text("# Piscine\n\nOuverte le mardi.\n", encoding="utf-8")
    ingestor.ingest_folder(folder)
    assert doc_ids(ingestor) == {"bulletin.pdf", "piscine.md"}
    assert ingestor.delete_document("bulletin.pdf#p2") == 2  # a page names its file
    assert doc_ids(ingestor) == {"piscine.md"}
    assert ingestor.files() == ["piscine.md"]
    assert ingestor.delete_document("bulletin.pdf") == 0  # already gone
    # the removal is saved: a new Ingestor (the next job) sees it
    assert Ingestor(ingestor.settings, embedder=HashEmbedder()).files() == ["piscine.md"]


def test_ingest_site_mirrors_then_ingests_the_mirror(ingestor, monkeypatch):
    pages = {
        "/sitemap.xml": (
            "application/xml",
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<url><loc>https://ville.example/mairie</loc></url></urlset>",
        ),
        "/mairie": (
            "text/html",
            "<html><head><title>Mairie</title></head><body><h1>Mairie</h1><p>La mairie "
            "ouvre du lundi au vendredi de 8 h 30 à 17 h, le samedi matin sur rendez-vous."
            "</p></body></html>",
        ),
    }

    def serve(request: httpx.Request) -> httpx.Response:
        kind, body = pages.get(request.url.path, ("", ""))
        return httpx.Response(200 if body else 404, text=body, headers={"content-type": kind})

    real = ingest.website.Site

    def offline_site(folder, **kw):
        return real(folder, client=httpx.Client(transport=httpx.MockTransport(serve)), **kw)

    monkeypatch.setattr(ingest.website, "Site", offline_site)
    report, site = ingestor.ingest_site(["https://ville.example/sitemap.xml"], delay_s=0)
    assert site.fetched == ["https://ville.example/mairie"]
    assert [(f.doc_id, f.status) for f in report.files] == [("ville.example/mairie.html", "ok")]
    points, _ = get_client(ingestor.settings).scroll(ingestor.collection, with_payload=True)
    assert {p.payload["url"] for p in points} == {"https://ville.example/mairie"}


def test_the_local_client_is_serialised_where_it_is_opened(tmp_path):
    # The server's answers and its ingest jobs share it (ui/jobs.py no longer wraps it).
    assert is_serialised(get_client(make_settings(tmp_path / "data")))
