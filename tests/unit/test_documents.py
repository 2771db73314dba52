"""Corpus management while serving, without a model or an index: upload checks by content,
validated answers (file, title, expiry, ignore file read by the ingest's discovery), roles, the
polite embedder, the job worker and its history, the serialised Qdrant client."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.index.serialise import Serialised
from ingest.discovery import walk
from ui import library, validated
from ui.auth import DEMO_LOGIN
from ui.documents import DocumentService, has_role
from ui.jobs import Job, JobRunner, PoliteEmbedder

DOC = msg.DOCUMENTS


def odt_bytes(kind: str = "text") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), f"application/vnd.oasis.opendocument.{kind}")
        z.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "refused"),
    [
        ("arrete.pdf", b"%PDF-1.7\n1 0 obj", False),
        ("arrete.pdf", b"Ceci n'est pas un PDF", True),  # the name lies
        ("compte-rendu.odt", odt_bytes(), False),
        ("compte-rendu.docx", odt_bytes(), True),  # a zip, but an ODF one
        ("ancien.doc", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600), False),
        ("conseil.odp", odt_bytes("presentation"), False),
        ("conseil.pptx", odt_bytes("presentation"), True),  # an ODF zip named as PowerPoint's
        ("tarifs.xls", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600), False),
        ("tarifs.xlsx", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600), True),  # OLE, not zip
        ("notes.md", "# Horaires\n\nÉté : 9 h – 19 h.".encode(), False),
        ("notes.txt", "Horaires d'été".encode("cp1252"), False),
        ("notes.md", b"%PDF-1.7\n1 0 obj", True),  # a PDF named .md
        ("notes.txt", b"\x7fELF\x02\x01\x01" + bytes(64), True),
        ("page.html", b"MZ\x90\x00" + bytes(64), True),  # a Windows program
        ("setup.exe", b"MZ\x90\x00", True),  # not a format guichet reads
    ],
)
def test_upload_type_is_decided_by_content(tmp_path, name, data, refused):
    path = tmp_path / "upload"
    path.write_bytes(data)
    if refused:
        with pytest.raises(library.UploadRefused) as caught:
            library.check_upload(path, name, 1_000_000)
        assert caught.value.status == 415
    else:
        assert library.check_upload(path, name, 1_000_000) == name


def test_upload_size_and_names(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(b"mairie " * 100)
    with pytest.raises(library.UploadRefused) as caught:
        library.check_upload(path, "gros.txt", 100)
    assert caught.value.status == 413
    path.write_bytes(b"")
    with pytest.raises(library.UploadRefused):
        library.check_upload(path, "vide.txt", 100)
    assert library.safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert library.safe_name("..\\..\\x\\.bashrc.md") == "bashrc.md"  # no hidden file either
    assert library.safe_name("Arrêté n°12 <script>.PDF") == "Arrêté n-12 -script.pdf"


def test_stored_upload_lands_in_the_library_and_replaces_its_previous_version(tmp_path):
    settings = Settings(data_dir=tmp_path)
    source = tmp_path / "tmp-upload"
    source.write_text("Version 1", encoding="utf-8")
    first = library.store_upload(settings, source, "horaires.txt")
    source.write_text("Version 2", encoding="utf-8")
    second = library.store_upload(settings, source, "horaires.txt")
    assert first == second == tmp_path / "bibliotheque" / "televersements" / "horaires.txt"
    assert second.read_text(encoding="utf-8") == "Version 2"
    assert [p.name for p in second.parent.iterdir()] == ["horaires.txt"]  # no .part left


def test_document_rows_group_chunks_by_file():
    rows: dict[str, library.DocumentRow] = {}
    for page, ocr in ((1, False), (2, True), (2, True)):
        library._add_chunk(
            rows,
            {
                "ref_doc_id": f"scans/arrete.pdf#p{page}",
                "title": "Arrêté",
                "page": page,
                "ocr": ocr,
                "path": "/srv/corpus/scans/arrete.pdf",
                "updated": "2026-03-12",
            },
        )
    row = rows["scans/arrete.pdf"]
    assert (row.chunks, row.pages, row.ocr_pages) == (3, {1, 2}, {2})
    assert row.root == "/srv/corpus" and row.kind == DOC["kind_corpus"]


def answer(**overrides) -> validated.ValidatedAnswer:
    fields = {
        "question": "Quels sont les horaires de la patinoire ?",
        "text": "La patinoire ouvre le samedi de 14 h à 18 h.",
        "author": "Marie (accueil)",
        "day": "12/03/2026",
        **overrides,
    }
    return validated.make_answer(**fields)


def test_validated_answer_file_title_and_round_trip(tmp_path):
    settings = Settings(data_dir=tmp_path)
    made = answer(expires="30/09/2026", link="https://www.example.fr/patinoire")
    assert made.title == (
        "Réponse validée par l'accueil, 12/03/2026 : Quels sont les horaires de la patinoire ?"
    )
    path = validated.save_answer(settings, made)
    assert path.parent == tmp_path / "bibliotheque" / "reponses-validees"
    text = path.read_text(encoding="utf-8")
    assert "kind: réponse validée" in text and "url: https://www.example.fr/patinoire" in text
    again = validated.read_answer(path)
    assert again == made
    assert validated.find_answer(settings, made.slug) == made


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"question": "  "}, "answer_no_question"),
        ({"text": ""}, "answer_no_text"),
        ({"author": ""}, "answer_no_author"),
        ({"link": "javascript:alert(1)"}, "answer_bad_link"),
        ({"link": 'https://x.fr/"><script>'}, "answer_bad_link"),
        ({"expires": "01/01/2020"}, "answer_expiry_before"),
        ({"slug": "../../etc"}, "answer_unknown"),
    ],
)
def test_validated_answer_form_is_checked(overrides, error):
    with pytest.raises(validated.InvalidAnswer) as caught:
        answer(**overrides)
    assert str(caught.value) == DOC[error] or str(caught.value).startswith(DOC[error][:20])


def test_bad_date_is_named():
    with pytest.raises(validated.InvalidAnswer, match="31/02/2026"):
        answer(day="31/02/2026")


def test_expired_answers_are_in_the_ignore_file_the_ingest_reads(tmp_path):
    settings = Settings(data_dir=tmp_path)
    today = date(2026, 6, 1)
    live = answer(day="01/03/2026", expires="01/06/2026")  # its last day: still served
    old = answer(question="Où jeter les sapins ?", day="01/01/2026", expires="31/01/2026")
    for a in (live, old):
        validated.save_answer(settings, a)
    assert validated.write_ignore(settings, today) == [old.doc_id]
    found = {f.doc_id: f.skipped for f in walk([library.library_dir(settings)])}
    assert found[live.doc_id] is None
    assert found[old.doc_id] and ".guichetignore" in found[old.doc_id]
    assert validated.write_ignore(settings, today + timedelta(days=1)) == sorted(
        [old.doc_id, live.doc_id]
    )


def test_roles():
    demo = Settings()
    assert (
        has_role(demo, DEMO_LOGIN) and not has_role(demo, "quelqu'un") and not has_role(demo, None)
    )
    staff = Settings(staff_users={"marie": "h", "paul": "h"}, staff_roles={"marie": ["documents"]})
    assert has_role(staff, "marie") and not has_role(staff, "paul")
    assert not has_role(staff, DEMO_LOGIN)  # the one-run login exists only without staff


class CountingEmbedder:
    name, dim = "fake", 3

    def __init__(self) -> None:
        self.calls: list[int] = []

    def passages(self, texts):
        self.calls.append(len(texts))
        return np.ones((len(texts), 3), dtype=np.float32)


def test_polite_embedder_slices_and_waits_for_answers():
    inner = CountingEmbedder()
    busy_until = time.monotonic() + 0.3
    job = Job("j", "ingest", "x", "test")
    polite = PoliteEmbedder(inner, lambda: time.monotonic() < busy_until, job, slice_size=4)
    started = time.monotonic()
    vectors = polite.passages([f"passage {i}" for i in range(10)])
    assert vectors.shape == (10, 3) and inner.calls == [4, 4, 2]
    assert time.monotonic() - started >= 0.3 and job.yielded_s >= 0.25 and job.passages == 10


def test_polite_embedder_is_never_starved():
    inner = CountingEmbedder()
    polite = PoliteEmbedder(inner, lambda: True, slice_size=8, max_yield_s=0.05)
    started = time.monotonic()
    polite.passages(["a"] * 16)
    assert inner.calls == [8, 8] and time.monotonic() - started < 1.0


def test_job_runner_runs_in_order_records_failures_and_keeps_history(tmp_path):
    settings = Settings(data_dir=tmp_path)
    runner = JobRunner(settings, embedder=CountingEmbedder)  # no worker: run_now, this thread
    order: list[str] = []

    def ok(job, embedder):
        order.append(job.label)
        return "fait"

    def boom(job, embedder):
        raise RuntimeError("disque plein")

    for label, work in (("un", ok), ("deux", boom)):
        job = Job(label, "ingest", label, "test")
        runner._jobs.append(job)
        runner.run_now(job, work)
    first, second = runner.recent()[::-1]
    assert (first.status, first.summary, second.status, second.error) == (
        "done",
        "fait",
        "failed",
        "disque plein",
    )
    pending = Job("trois", "ingest", "trois", "test", status="running")
    runner._jobs.append(pending)
    runner._save_history()
    reloaded = JobRunner(settings).recent()
    assert [j.id for j in reloaded] == ["trois", "deux", "un"]
    assert reloaded[0].status == "failed" and reloaded[0].error == DOC["job_interrupted"]


def test_job_worker_thread_runs_submitted_jobs(tmp_path, monkeypatch):
    monkeypatch.setattr("ui.jobs.JobRunner.run_now", _run_without_embedder)
    runner = JobRunner(Settings(data_dir=tmp_path))
    jobs = [runner.submit("ingest", f"job {i}", "test", lambda j, e: j.label) for i in range(3)]
    assert runner.wait_idle(10)
    assert [j.summary for j in jobs] == ["job 0", "job 1", "job 2"]
    runner.stop()


def _run_without_embedder(self, job, work):
    job.status = "running"
    job.summary = work(job, None)
    job.status = "done"


def test_staff_may_reingest_only_known_folders(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path)
    known = tmp_path / "corpus"
    known.mkdir()
    row = library.DocumentRow("a.md", path=str(known / "a.md"))
    monkeypatch.setattr(library, "list_documents", lambda s, c=None: [row])
    runner = JobRunner(settings)
    queued: list[str] = []
    monkeypatch.setattr(runner, "submit", lambda kind, label, actor, work: queued.append(label))
    service = DocumentService(settings, runner)
    service.ingest([known], "marie")
    with pytest.raises(PermissionError):
        service.ingest([Path("/etc")], "marie")
    service.ingest([Path("/etc")], "exploitation", any_path=True)  # the operator's token
    with pytest.raises(ValueError, match="introuvable"):
        service.ingest([tmp_path / "absent"], "marie")
    assert len(queued) == 2


def test_serialised_calls_never_overlap():
    class Store:
        def __init__(self) -> None:
            self.inside = 0
            self.most = 0
            self.size = 3  # attributes pass through

        def upsert(self) -> None:
            self.inside += 1
            self.most = max(self.most, self.inside)
            time.sleep(0.01)
            self.inside -= 1

    store = Store()
    wrapped = Serialised(store)
    threads = [threading.Thread(target=wrapped.upsert) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.most == 1 and wrapped.size == 3


def test_sweep_takes_expired_answers_out_of_the_index_and_keeps_their_file(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path)
    old = answer(day="01/01/2026", expires="31/01/2026")
    validated.save_answer(settings, old)
    forgotten: list[tuple[str, bool]] = []
    monkeypatch.setattr(library, "is_indexed", lambda s, doc_id, c=None: True)
    monkeypatch.setattr(
        library,
        "forget_file",
        lambda s, doc_id, c=None, *, delete_file=True, embedder=None: forgotten.append(
            (doc_id, delete_file)
        ),
    )
    # the sweep removes with the jobs' shared embedder (here a fake: no model in this tier)
    service = DocumentService(settings, JobRunner(settings, embedder=CountingEmbedder))
    assert service.sweep(today=date(2026, 1, 31)) is None  # its last day: still served
    job = service.sweep(today=date(2026, 2, 1))
    assert job is not None and job.status == "done" and job.documents == [old.doc_id]
    assert forgotten == [(old.doc_id, False)]
    assert (library.library_dir(settings) / old.doc_id).is_file()
