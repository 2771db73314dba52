"""Ingest by work: bounded batches saved as they complete, resumed inside a document, and a
report that names every file met (real embedder, real Qdrant in local mode)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.index.store import close_clients
from ingest.pipeline import Ingestor, ingest
from tests.conftest import DEMO, make_settings
from tests.index_helpers import expected_chunk_ids, stored_point_ids

pytestmark = pytest.mark.model

SENTENCES = [
    "Le conseil municipal approuve à l'unanimité le compte administratif de l'exercice.",
    "La commission des finances a examiné le budget primitif lors de sa séance du 3 mars.",
    "Les crédits ouverts au chapitre des travaux de voirie s'élèvent à 184 000 euros.",
    "Monsieur le Maire rappelle que la salle des fêtes sera rénovée au printemps.",
    "La subvention versée à l'association sportive est reconduite pour un montant de 2 500 euros.",
    "Le conseil autorise le Maire à signer la convention avec la communauté d'agglomération.",
]


def page_text(number: int) -> str:
    """About 1,500 characters of minutes for page ``number`` (two chunks), all different."""
    lines = [f"Délibération n° {number:03d} : séance du conseil municipal"]
    for k in range(18):
        lines.append(f"{SENTENCES[(number + k) % len(SENTENCES)]} (point {number}.{k + 1})")
    return "\n".join(lines)


def minutes_pdf(path: Path, pages: int) -> Path:
    """A long text PDF, like the council minutes that filled one batch with 1,215 chunks."""
    import pymupdf

    pdf = pymupdf.open()
    for number in range(1, pages + 1):
        page = pdf.new_page()
        page.insert_textbox(pymupdf.Rect(50, 50, 560, 800), page_text(number), fontsize=9)
    pdf.set_metadata({"title": "Procès-verbaux du conseil municipal 2024"})
    pdf.save(str(path))
    pdf.close()
    return path


class Counting:
    """The ingestor's embedder, counting the chunks it embeds; stops the run on request."""

    def __init__(self, inner, stop_after_batches: int | None = None) -> None:
        self.inner, self.stop_after = inner, stop_after_batches
        self.chunks = self.batches = 0

    def __call__(self, nodes):
        if self.stop_after is not None and self.batches >= self.stop_after:
            raise KeyboardInterrupt  # an interrupt in the middle of the PDF
        self.batches += 1
        self.chunks += len(nodes)
        return self.inner(nodes)


def test_interrupt_inside_a_large_pdf_loses_at_most_one_batch(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    minutes_pdf(corpus / "pv-2024.pdf", pages=20)
    settings = make_settings(tmp_path / "data", ingest_batch_chunks=7)
    expected = expected_chunk_ids(corpus, settings)
    assert len(expected) >= 36

    first = Ingestor(settings)
    first.embed_model = counting = Counting(first.embed_model, stop_after_batches=2)
    with pytest.raises(KeyboardInterrupt):
        first.run([corpus], progress=False)
    assert counting.chunks == 14
    assert len(stored_point_ids(settings)) == 14  # two batches stored, nothing else
    close_clients()
    # Pages have three chunks: the second batch ended inside page 5, and the save says so.
    saved = json.loads(settings.docstore_file().read_text(encoding="utf-8"))
    partial = saved["guichet/partial"]
    assert list(partial) == ["pv-2024.pdf#p5"] and partial["pv-2024.pdf#p5"]["done"] == 2

    resumed = Ingestor(settings)
    resumed.embed_model = counting = Counting(resumed.embed_model)
    report = resumed.run([corpus], progress=False)
    assert counting.chunks == len(expected) - 14, "the resume embedded stored chunks again"
    (outcome,) = report.files
    assert outcome.status == "ok" and outcome.chunks == len(expected) - 14
    ids = stored_point_ids(settings)
    assert len(ids) == len(set(ids)) and set(ids) == expected
    saved = json.loads(settings.docstore_file().read_text(encoding="utf-8"))
    assert not saved.get("guichet/partial")

    again = ingest([corpus], settings, progress=False)
    assert again.count("unchanged") == 1 and again.chunks_written == 0


def test_batches_are_bounded_by_chunks_not_files(tmp_path: Path, monkeypatch) -> None:
    import ingest.pipeline as pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    minutes_pdf(corpus / "pv.pdf", pages=6)
    shutil.copy(DEMO / "mediatheque.md", corpus / "mediatheque.md")
    saves: list[int] = []
    real_save = pipeline.save_docstore
    monkeypatch.setattr(
        pipeline,
        "save_docstore",
        lambda docstore, path: (
            saves.append(len(stored_point_ids(settings))),
            real_save(docstore, path),
        ),
    )
    settings = make_settings(tmp_path / "data", ingest_batch_chunks=4, ingest_batch_docs=100)
    report = ingest([corpus], settings, progress=False)
    total = report.chunks_written
    assert total == len(expected_chunk_ids(corpus, settings))
    # A save after every batch of at most 4 chunks, and only then.
    steps = [b - a for a, b in zip([0, *saves], saves, strict=False)]
    assert max(steps) <= 4 and len(saves) >= total // 4
    assert saves[-1] == total


def test_every_file_met_is_in_the_report(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_layouts").mkdir(parents=True)
    (site / "_layouts" / "default.html").write_text("<html>{{ content }}</html>")
    shutil.copy(DEMO / "piscine-municipale.md", site / "piscine.md")
    (site / "budget.numbers").write_bytes(b"PK\x03\x04 not read")  # Apple Numbers
    (site / "vide.md").write_text("")
    (site / ".DS_Store").write_bytes(b"\x00\x01")
    (site / ".guichetignore").write_text("brouillons/\n")
    (site / "brouillons").mkdir()
    (site / "brouillons" / "note.md").write_text("# Note\n")
    settings = make_settings(tmp_path / "data")
    report = ingest([site], settings, progress=False)
    by_id = {f.doc_id: f for f in report.files}
    assert by_id["piscine.md"].status == "ok" and by_id["piscine.md"].chunks > 0
    assert by_id["vide.md"].status == "failed" and by_id["vide.md"].reason
    for skipped, reason in (
        ("budget.numbers", "format non pris en charge (.numbers)"),
        ("_layouts/", "gabarit du site, pas du contenu (motif par défaut « _layouts/ »)"),
        (".DS_Store", "fichier ou dossier caché"),
        ("brouillons/", "ignoré par .guichetignore (motif « brouillons/ »)"),
    ):
        assert (by_id[skipped].status, by_id[skipped].reason) == ("skipped", reason)
    assert set(by_id) == {
        "piscine.md",
        "vide.md",
        "budget.numbers",
        "_layouts/",
        ".DS_Store",
        "brouillons/",
    }
    assert "4 ignorés" in report.summary()
    saved = json.loads((settings.paths.data_dir / "last_ingest_guichet.json").read_text())
    assert {f["doc_id"] for f in saved["files"]} == set(by_id)
