"""``--prune`` removes only what vanished from under the folder (or website mirror) being
ingested: a collection holds documents from several places, and a website's ingest with
``--prune`` once removed every document that was not a page of that site.

A real Qdrant (local mode) and the real pipeline; the embedder is the stems-hashing fake (what
is measured is which documents stay, not how they rank) and the website is served by an
in-process transport (no network).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import ingest.pipeline as pipeline
from assistant.index import embedding
from assistant.index.store import get_client
from ingest.pipeline import ingest
from ingest.website import Site, site_folder
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

HOST = "mairie.example"


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch):
    monkeypatch.setattr(embedding, "load_embedder", lambda spec: HashEmbedder())


def indexed(settings) -> set[str]:
    points, _ = get_client(settings).scroll(
        settings.index.collection, limit=1000, with_payload=True
    )
    return {p.payload["doc_id"] for p in points}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "piscine.md").write_text(
        "# Piscine\n\nLa piscine ouvre le mardi de 10 h à 19 h.\n", encoding="utf-8"
    )
    (folder / "cantine.md").write_text(
        "# Cantine\n\nLe repas de la cantine coûte 3,20 euros.\n", encoding="utf-8"
    )
    return folder


def mirror(data: Path, pages: dict[str, str]) -> Path:
    """Mirror a sitemap of ``pages`` (path → title) the way ``guichet ingest <sitemap>`` does."""
    urls = "".join(f"<url><loc>https://{HOST}{p}</loc></url>" for p in pages)
    sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    def serve(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/sitemap.xml":
            return httpx.Response(200, text=sitemap, headers={"content-type": "application/xml"})
        if path in pages:
            html = (
                f"<html><head><title>{pages[path]}</title></head><body><h1>{pages[path]}</h1>"
                f"<p>La page {pages[path]} de la mairie donne les horaires de ce service "
                "municipal et la marche à suivre pour y accéder.</p></body></html>"
            )
            return httpx.Response(200, text=html, headers={"content-type": "text/html"})
        return httpx.Response(404)

    folder = site_folder(data)
    client = httpx.Client(transport=httpx.MockTransport(serve))
    Site(folder, delay_s=0, client=client).run([f"https://{HOST}/sitemap.xml"])
    return folder


def test_a_website_ingest_with_prune_keeps_the_rest_of_the_corpus(tmp_path):
    settings = make_settings(tmp_path / "data")
    corpus = write_corpus(tmp_path / "corpus")
    ingest([corpus], settings, progress=False)
    assert indexed(settings) == {"piscine.md", "cantine.md"}

    sites = mirror(settings.paths.data_dir, {"/etat-civil": "État civil", "/dechets": "Déchets"})
    report = ingest([sites], settings, prune=True, progress=False)
    assert report.count("pruned") == 0, [f.doc_id for f in report.files if f.status == "pruned"]
    site_pages = {f"{HOST}/etat-civil.html", f"{HOST}/dechets.html"}
    assert indexed(settings) == {"piscine.md", "cantine.md", *site_pages}

    # A page gone from the sitemap leaves the mirror, then the index; nothing else does.
    mirror(settings.paths.data_dir, {"/etat-civil": "État civil"})
    report = ingest([sites], settings, prune=True, progress=False)
    assert [f.doc_id for f in report.files if f.status == "pruned"] == [f"{HOST}/dechets.html"]
    assert indexed(settings) == {"piscine.md", "cantine.md", f"{HOST}/etat-civil.html"}

    # A folder's prune, the other way round: the site's pages stay.
    (corpus / "cantine.md").unlink()
    report = ingest([corpus], settings, prune=True, progress=False)
    assert [f.doc_id for f in report.files if f.status == "pruned"] == ["cantine.md"]
    assert indexed(settings) == {"piscine.md", f"{HOST}/etat-civil.html"}


def test_prune_of_one_folder_keeps_another_folder_and_single_files(tmp_path):
    settings = make_settings(tmp_path / "data")
    first = write_corpus(tmp_path / "premier")
    second = tmp_path / "second"
    second.mkdir()
    (second / "mediatheque.md").write_text(
        "# Médiathèque\n\nLa médiathèque prête des livres.\n", encoding="utf-8"
    )
    lone = tmp_path / "seul" / "marche.md"
    lone.parent.mkdir()
    lone.write_text("# Marché\n\nLe marché a lieu le samedi matin.\n", encoding="utf-8")
    ingest([first, second, lone], settings, progress=False)

    (first / "piscine.md").unlink()
    report = ingest([first], settings, prune=True, progress=False)
    assert [f.doc_id for f in report.files if f.status == "pruned"] == ["piscine.md"]
    assert indexed(settings) == {"cantine.md", "mediatheque.md", "marche.md"}
    # A prune given only files has no folder to clear.
    report = ingest([lone], settings, prune=True, progress=False)
    assert report.count("pruned") == 0 and len(indexed(settings)) == 3


def test_files_indexed_before_their_folder_was_recorded_are_located_by_their_chunks(tmp_path):
    from ingest.records import ROOTS

    settings = make_settings(tmp_path / "data")
    corpus = write_corpus(tmp_path / "corpus")
    other = tmp_path / "autre"
    other.mkdir()
    (other / "salle.md").write_text("# Salle\n\nLa salle se loue 50 euros.\n", encoding="utf-8")
    ingestor = pipeline.Ingestor(settings)
    ingestor.run([corpus, other], progress=False)
    for fid in ("piscine.md", "salle.md"):  # as an older docstore: no folder recorded
        ingestor.docstore._kvstore.delete(fid, collection=ROOTS)
    ingestor._save()
    (corpus / "piscine.md").unlink()
    (other / "salle.md").unlink()  # gone too, but from a folder this prune is not about
    report = ingest([corpus], settings, prune=True, progress=False)
    assert [f.doc_id for f in report.files if f.status == "pruned"] == ["piscine.md"]
    assert indexed(settings) == {"cantine.md", "salle.md"}
