"""Faults with the real components: model file missing or corrupt, Qdrant folder locked or
corrupt, a generation over its time limit or crashing, the disk filling up during ingest.

Each fault must give a clear message, destroy nothing, and leave the server serving.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.core import messages as msg
from assistant.core.answer import Reason
from assistant.core.settings import DEFAULT_LLM_FILE, Settings
from assistant.generation.base import GenerationError
from assistant.generation.loader import load_generator
from assistant.generation.local import LlamaCppGenerator
from assistant.index.provision import DEFAULT_LLM_SHA256, check_gguf
from assistant.index.store import StoreError, get_client
from tests.conftest import DEMO, models_dir
from tests.index_helpers import expected_chunk_ids, stored_point_ids
from ui.state import AppState

QUESTION = "C'est combien l'entrée adulte à la piscine ?"


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its content."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def client_for(app):
    from fastapi.testclient import TestClient

    return TestClient(app)


def release(settings: Settings) -> None:
    """Close this folder's local-mode client (it locks the folder), and only this one: the
    session's demo index stays open for the other tests."""
    from assistant.index import store

    with store._lock:
        client = store._clients.pop(str(settings.qdrant_folder.resolve()), None)
    if client is not None:
        client.close()


# --- model file -------------------------------------------------------------------------------
def _fake_default_model(models: Path, kind: str, small_llm: Path) -> None:
    models.mkdir(parents=True)
    target = models / DEFAULT_LLM_FILE
    if kind == "truncated":  # an interrupted copy: valid GGUF header, sha256 mismatch
        with small_llm.open("rb") as fh:
            target.write_bytes(fh.read(2_000_000))
    elif kind == "wrong_sha":  # a whole, loadable GGUF that is not the expected file
        shutil.copyfile(small_llm, target)
    elif kind == "garbage":
        target.write_bytes(b"\x00" * 4096)


@pytest.mark.model
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "fichier modèle absent"),
        ("truncated", "fichier modèle corrompu (sha256"),
        ("wrong_sha", "fichier modèle corrompu (sha256"),
        ("garbage", "fichier modèle corrompu (pas un GGUF)"),
    ],
)
def test_default_model_missing_or_corrupt(tmp_path, small_llm, kind, expected):
    models = tmp_path / "models"
    if kind != "missing":
        _fake_default_model(models, kind, small_llm)
    settings = Settings(data_dir=tmp_path / "data", models_path=models, llm_threads=1)

    check = check_gguf(settings.gguf_path, DEFAULT_LLM_SHA256)
    assert not check.ok and expected in check.reason and str(settings.gguf_path) in check.reason
    with pytest.raises(GenerationError, match=re.escape(expected)):
        load_generator(settings)

    state = AppState(settings)
    try:
        state.load()
        assert not state.loaded
        assert state.startup_error is not None and expected in state.startup_error
        _assert_not_ready(settings, state)
    finally:
        release(settings)
    if models.is_dir():  # nothing deleted or rewritten but the checksum stamp
        assert (models / DEFAULT_LLM_FILE).is_file()


def test_custom_model_truncated_fails_at_load(tmp_path, small_llm):
    """A GGUF without a known sha256 gets the cheap checks; llama.cpp refuses the rest."""
    broken = tmp_path / "city-model.gguf"
    with small_llm.open("rb") as fh:
        broken.write_bytes(fh.read(3_000_000))
    settings = Settings(data_dir=tmp_path / "data", llm_path=broken, llm_threads=1)
    state = AppState(settings)
    try:
        state.load()
    finally:
        release(settings)
    assert not state.loaded and state.startup_error
    assert "city-model.gguf" in state.startup_error, state.startup_error


def _assert_not_ready(settings: Settings, state: AppState) -> None:
    try:
        from ui.server import create_app
    except ImportError:
        pytest.skip("ui.server.create_app not there yet: /readyz not checked")
    with client_for(create_app(settings, state)) as client:
        assert client.get("/healthz").status_code == 200  # the process is up to say why
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert msg.NOT_READY["model"] in ready.json()["reasons"]
        asked = client.post("/api/v1/ask", json={"question": QUESTION})
        assert asked.status_code == 503 and int(asked.headers["Retry-After"]) > 0
        assert asked.json()["detail"] == msg.UNAVAILABLE


# --- Qdrant folder ----------------------------------------------------------------------------
HOLDER = textwrap.dedent(
    """
    import sys, time
    from qdrant_client import QdrantClient, models as qm
    client = QdrantClient(path=sys.argv[1])
    if not client.collection_exists("guichet"):
        client.create_collection(
            "guichet", vectors_config=qm.VectorParams(size=4, distance=qm.Distance.COSINE)
        )
        client.upsert("guichet", [
            qm.PointStruct(id=i, vector=[1.0, 0.0, 0.5, float(i)], payload={"doc_id": f"d{i}"})
            for i in range(5)
        ])
    print("ready", flush=True)
    time.sleep(float(sys.argv[2]))
    client.close()
    """
)


def _qdrant_folder(tmp_path: Path, hold_s: float = 0) -> tuple[Path, subprocess.Popen | None]:
    folder = tmp_path / "qdrant"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(hold_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    if not hold_s:
        proc.wait(timeout=30)
        return folder, None
    return folder, proc


def test_qdrant_folder_locked_by_another_process(tmp_path):
    folder, _ = _qdrant_folder(tmp_path)  # create it, then hold it from another process
    before = tree_digest(folder)
    _, holder = _qdrant_folder(tmp_path, hold_s=120)
    assert holder is not None
    settings = Settings(data_dir=tmp_path, qdrant_path=folder)
    try:
        with pytest.raises(StoreError, match="in use by another guichet process") as err:
            get_client(settings)
        assert str(folder) in str(err.value)
        state = AppState(settings)
        state.load()
        assert not state.loaded and "in use by another" in (state.startup_error or "")
    finally:
        holder.kill()
        holder.wait()
    assert tree_digest(folder) == before
    try:
        assert get_client(settings).count("guichet").count == 5  # holder gone, data all there
    finally:
        release(settings)


def _garbage(path: Path, *, offset: int = 0, size: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    size = size if size is not None else len(data) - offset
    data[offset : offset + size] = bytes((i * 37 + 11) % 256 for i in range(size))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["meta_json", "sqlite_header", "sqlite_truncated"])
def test_corrupt_qdrant_folder_is_reported_and_kept(tmp_path, damage):
    folder, _ = _qdrant_folder(tmp_path)
    storage = folder / "collection" / "guichet" / "storage.sqlite"
    if damage == "meta_json":
        _garbage(folder / "meta.json", offset=1)
    elif damage == "sqlite_header":
        _garbage(storage, size=100)
    else:
        storage.write_bytes(storage.read_bytes()[:1500])
    before = tree_digest(folder)
    settings = Settings(data_dir=tmp_path, qdrant_path=folder)
    with pytest.raises(StoreError, match="cannot open Qdrant") as err:
        get_client(settings)
    assert str(folder) in str(err.value)
    state = AppState(settings)
    state.load()
    assert not state.loaded and "cannot open Qdrant" in (state.startup_error or "")
    after = tree_digest(folder)
    assert set(after) == set(before), "a file was added or deleted"
    assert after == before, "a file was rewritten"


# --- generation over its time limit, or crashing ----------------------------------------------
@pytest.fixture(scope="module")
def small_assistant(demo_settings, small_llm):
    """The demo index with the small model; generator built from the settings (a fresh one:
    ``load_generator``'s cache would hand back an instance with another time limit)."""
    from assistant.pipeline import Assistant

    settings = demo_settings.updated(
        {"llm_path": small_llm, "llm_timeout_s": 0.5, "llm_threads": 1, "llm_max_tokens": 48}
    )
    generator = LlamaCppGenerator(
        settings.gguf_path,
        threads=settings.generation.llm_threads,
        n_ctx=settings.generation.llm_ctx,
        timeout_s=settings.generation.llm_timeout_s,
    )
    return Assistant(settings, generator=generator)


@pytest.mark.model
@pytest.mark.slow
def test_generation_timeout_is_a_refusal_and_the_server_goes_on(small_assistant):
    from ui.server import create_app

    assistant = small_assistant
    generator = assistant.generator
    assert getattr(generator, "timeout_s", None) == 0.5
    answer = assistant.ask(QUESTION)
    assert answer.verdict.value == "refused"
    assert Reason.timeout in answer.reasons
    assert answer.orientation  # the citizen is told where to ask instead

    state = AppState(assistant.settings, assistant=assistant)
    state.load()
    assert state.loaded, state.startup_error
    with client_for(create_app(assistant.settings, state)) as client:
        slow = client.post("/api/v1/ask", json={"question": QUESTION})
        assert slow.status_code == 200
        assert slow.json()["verdict"] == "refused" and slow.json()["reason"] == "timeout"
        generator.timeout_s = 120.0  # type: ignore[attr-defined]
        try:
            after = client.post(
                "/api/v1/ask", json={"question": "Quels sont les horaires de la piscine ?"}
            )
        finally:
            generator.timeout_s = 0.5  # type: ignore[attr-defined]
        assert after.status_code == 200
        assert after.json()["reason"] != "timeout"
        assert client.get("/readyz").status_code == 200


@pytest.mark.model
@pytest.mark.slow
def test_generation_time_limit_covers_reading_the_prompt(small_assistant, small_llm):
    from assistant.pipeline import Assistant

    fresh = LlamaCppGenerator(small_llm, threads=1, timeout_s=0.5)  # nothing cached yet
    assistant = Assistant(
        small_assistant.settings, generator=fresh, embedder=small_assistant.embedder,
        retriever=small_assistant.retriever,
    )  # fmt: skip
    answer = assistant.ask("Quels documents faut-il pour inscrire un enfant à la cantine ?")
    assert Reason.timeout in answer.reasons
    assert answer.timings.generate_ms < 500 + 1500, f"{answer.timings.generate_ms:.0f} ms"


@pytest.mark.model
@pytest.mark.slow
def test_generation_crash_is_a_refusal_and_the_server_goes_on(small_assistant, small_llm):
    from assistant.pipeline import Assistant
    from ui.server import create_app

    tiny = LlamaCppGenerator(small_llm, threads=1, n_ctx=256, timeout_s=60)  # prompt won't fit
    settings = small_assistant.settings
    crashing = Assistant(
        settings, generator=tiny, embedder=small_assistant.embedder,
        retriever=small_assistant.retriever,
    )  # fmt: skip
    answer = crashing.ask(QUESTION)
    assert answer.verdict.value == "refused"
    assert Reason.generation_error in answer.reasons
    state = AppState(settings, assistant=crashing)
    state.load()
    with client_for(create_app(settings, state)) as client:
        for _ in range(2):  # and again: the failure did not wedge the queue or the model lock
            response = client.post("/api/v1/ask", json={"question": QUESTION})
            assert response.status_code == 200
            assert response.json()["reason"] == "generation_error"
        assert client.get("/healthz").status_code == 200


# --- disk full during ingest ------------------------------------------------------------------
def _stored_ids(settings: Settings) -> list[str]:
    try:
        return stored_point_ids(settings)
    finally:
        release(settings)


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {mounted.stderr.strip()}")
    yield disk
    release(Settings(data_dir=disk))
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.model
@pytest.mark.slow
def test_disk_full_during_ingest_then_resume(tmp_path, small_disk):
    from ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for file in sorted(DEMO.glob("*.md"))[:6]:
        shutil.copy(file, corpus / file.name)
    settings = Settings(data_dir=small_disk, models_path=models_dir(), ingest_batch_docs=2)
    expected = expected_chunk_ids(corpus, settings)

    with pytest.raises(Exception) as err:
        ingest([corpus], settings, progress=False)
    message = str(err.value)
    release(settings)
    partial = _stored_ids(settings)
    assert 0 < len(partial) < len(expected), "the disk filled too late or too soon: resize it"
    assert len(partial) == len(set(partial)) and set(partial) <= expected  # consistent

    remount = ["mount", "-o", "remount,size=64m", str(small_disk)]
    subprocess.run(remount, check=True)
    report = ingest([corpus], settings, progress=False)
    assert not report.failed, report.failed
    ids = _stored_ids(settings)
    assert len(ids) == len(set(ids)), "duplicated chunks"
    assert set(ids) == expected, "missing or extra chunks"

    assert "espace disque" in message.lower() and "relancez" in message.lower(), message
