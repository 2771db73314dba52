"""Incremental ingestion into a real Qdrant (local mode) with the real default embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.index.store import get_client
from ingest.pipeline import ingest
from tests.conftest import DEMO, make_settings
from tests.index_helpers import stored_point_ids

pytestmark = pytest.mark.model


def small_corpus(
    tmp_path: Path, names=("piscine-municipale.md", "mediatheque.md", "stationnement.md")
) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in names:
        shutil.copy(DEMO / name, folder / name)
    return folder


def test_unchanged_skipped_changed_replaced_pruned(tmp_path):
    corpus = small_corpus(tmp_path)
    settings = make_settings(tmp_path / "data")
    first = ingest([corpus], settings, progress=False)
    assert first.count("ok") == 3 and first.chunks_written > 3
    ids_first = stored_point_ids(settings)
    assert len(ids_first) == len(set(ids_first)) == first.chunks_written

    again = ingest([corpus], settings, progress=False)
    assert again.count("unchanged") == 3 and again.chunks_written == 0
    assert sorted(stored_point_ids(settings)) == sorted(ids_first)

    # Shrink one document: its stale chunks must disappear, nothing else changes.
    page = corpus / "piscine-municipale.md"
    head = page.read_text(encoding="utf-8").split("## Tarifs")[0]
    page.write_text(head, encoding="utf-8")
    changed = ingest([corpus], settings, progress=False)
    assert changed.count("ok") == 1 and changed.count("unchanged") == 2
    client = get_client(settings)
    texts = [
        p.payload["_node_content"] for p in client.scroll(settings.index.collection, limit=500)[0]
    ]
    assert not any("4,50 €" in t for t in texts), "stale chunk of the old version left behind"
    assert len(stored_point_ids(settings)) == len(set(stored_point_ids(settings)))

    (corpus / "stationnement.md").unlink()
    pruned = ingest([corpus], settings, prune=True, progress=False)
    assert pruned.count("pruned") == 1
    docs = {p.payload["doc_id"] for p in client.scroll(settings.index.collection, limit=500)[0]}
    assert docs == {"piscine-municipale.md", "mediatheque.md"}


def test_new_reading_version_reads_unchanged_files_again(tmp_path, monkeypatch):
    """A loader or chunker change must reach indexes built before it: same bytes, new reading
    version → the files are read and their passages replaced, not reported "unchanged"."""
    from ingest import reading

    corpus = small_corpus(tmp_path, names=("piscine-municipale.md", "mediatheque.md"))
    settings = make_settings(tmp_path / "data")
    ingest([corpus], settings, progress=False)
    ids_first = sorted(stored_point_ids(settings))
    monkeypatch.setattr(reading, "READING_VERSION", reading.READING_VERSION + 1)
    again = ingest([corpus], settings, progress=False)
    assert again.count("ok") == 2 and again.count("unchanged") == 0
    assert again.chunks_written == len(ids_first)
    assert sorted(stored_point_ids(settings)) == ids_first  # replaced in place, not doubled
    settled = ingest([corpus], settings, progress=False)
    assert settled.count("unchanged") == 2 and settled.chunks_written == 0


def test_bad_files_reported_rest_ingested(tmp_path):
    corpus = small_corpus(tmp_path, names=("mediatheque.md",))
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "binaire.txt").write_bytes(bytes(range(256)) * 20)
    (corpus / "casse.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (corpus / "latin1.txt").write_bytes(
        "Horaires d'été de la mairie annexe\nOuvert à 9 h.".encode("latin-1")
    )
    (corpus / "enorme.md").write_text("x " * 700_000, encoding="utf-8")
    settings = make_settings(tmp_path / "data", max_file_mb=1.0)
    report = ingest([corpus], settings, progress=False)
    by_id = {f.doc_id: f for f in report.files}
    assert by_id["mediatheque.md"].status == "ok"
    assert by_id["latin1.txt"].status == "ok"
    for bad in ("vide.txt", "binaire.txt", "casse.pdf", "enorme.md"):
        assert by_id[bad].status == "failed" and by_id[bad].reason, bad


def test_real_pdf_pages_are_kept(tmp_path, shared_data):
    pdf_dir = shared_data / "montpellier-2014" / "deliberations" / "VilleMTP_MTP_Delib_2014_04_24"
    pdfs = sorted(pdf_dir.glob("*.pdf"))[:2]
    folder = tmp_path / "pdf"
    folder.mkdir()
    for pdf in pdfs:
        shutil.copy(pdf, folder / pdf.name)
    settings = make_settings(tmp_path / "data")
    report = ingest([folder], settings, progress=False)
    assert report.count("ok") == 2
    payloads = [
        p.payload for p in get_client(settings).scroll(settings.index.collection, limit=500)[0]
    ]
    assert all(isinstance(p.get("page"), int) and p["page"] >= 1 for p in payloads)
