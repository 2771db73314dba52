"""Admin routes under ``/desk/admin``: the corpus while guichet serves (``ui.documents``).

Who may call them:
- the operator, with ``Authorization: Bearer <GUICHET_OPS_TOKEN>``, or the run token that
  ``guichet ingest`` reads from the 0600 serve record (``ui.handoff``);
- a desk session (the cookie, path ``/desk``, checked by ``ui.desk_login.DeskGate``, which
  puts the login in ``request.state.staff_login``) whose login has the ``documents`` role.
  A session's writes must come from this site (``Origin`` / ``Sec-Fetch-Site``, as the login
  form): the cookie is ``SameSite=Strict`` too, but a second barrier costs nothing.

Staff may re-ingest only the folders the index already holds; the operator, any folder.
Uploads: at most ``upload_max_mb`` each (declared length checked before reading), type by
content (``ui.library``).
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.core import messages as msg
from ui import library
from ui.desk_login import same_site
from ui.documents import has_role
from ui.state import AppState

DOC = msg.DOCUMENTS
PREFIX = "/desk/admin"
MAX_FILES = 10
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the files


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1, max_length=50)
    prune: bool = False
    collection: str | None = Field(default=None, max_length=100, pattern=r"^[\w-]+$")


class Actor(BaseModel):
    name: str
    operator: bool  # by token: any path


def actor(request: Request) -> Actor:
    """Who calls: the operator's or the run's token, else a desk session with the role."""
    state: AppState = request.app.state.guichet
    settings = state.settings
    given = request.headers.get("authorization", "").encode()
    tokens = [state.jobs.local_token]
    if settings.serving.ops_token is not None:
        tokens.append(settings.serving.ops_token.get_secret_value())
    if given and any(hmac.compare_digest(given, f"Bearer {t}".encode()) for t in tokens):
        return Actor(name="exploitation", operator=True)
    login = getattr(request.state, "staff_login", None)
    if not login:
        raise HTTPException(401, DOC["admin_login_required"], {"WWW-Authenticate": "Bearer"})
    if not has_role(settings, login):
        raise HTTPException(403, DOC["role_required"])
    if request.method not in ("GET", "HEAD") and not same_site(request.headers):
        raise HTTPException(403, DOC["admin_cross_site"])
    return Actor(name=login, operator=False)


Who = Annotated[Actor, Depends(actor)]


def build_admin_router(state: AppState) -> APIRouter:
    settings = state.settings
    router = APIRouter(prefix=PREFIX, tags=["admin"])

    def accepted(job: Any, **extra: Any) -> JSONResponse:
        return JSONResponse({**job.public(), **extra}, status_code=202)

    @router.get("/jobs", summary="Dernières tâches d'ingestion")
    async def jobs(who: Who) -> dict[str, Any]:
        return {"jobs": [j.public() for j in state.jobs.recent()]}

    @router.get("/jobs/{job_id}", summary="Une tâche et son avancement")
    async def job(job_id: str, who: Who) -> dict[str, Any]:
        found = state.jobs.get(job_id)
        if found is None:
            raise HTTPException(404, DOC["job_unknown"])
        return found.public()

    @router.post("/ingest", status_code=202, summary="Ingérer des dossiers ou fichiers")
    async def ingest(body: Annotated[IngestRequest, Body()], who: Who) -> JSONResponse:
        try:
            queued = await run_in_threadpool(
                state.documents.ingest,
                [Path(p) for p in body.paths],
                who.name,
                prune=body.prune,
                collection=body.collection,
                any_path=who.operator,
            )
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return accepted(queued)

    @router.get("/documents", summary="Documents indexés")
    async def documents(who: Who) -> dict[str, Any]:
        rows = await run_in_threadpool(library.list_documents, settings)
        return {"documents": [document_json(r) for r in rows]}

    @router.post("/documents", status_code=202, summary="Téléverser des documents")
    async def upload(request: Request, who: Who) -> JSONResponse:
        limit = int(settings.serving.upload_max_mb * 1_048_576)
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit():
            raise HTTPException(411, DOC["refused_no_length"])
        if int(declared) > limit * MAX_FILES + FORM_OVERHEAD:
            raise HTTPException(
                413, DOC["refused_size"].format(max_mb=settings.serving.upload_max_mb)
            )
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
        except Exception as exc:  # malformed multipart
            raise HTTPException(400, DOC["refused_form"]) from exc
        uploads = [v for v in form.getlist("file") if hasattr(v, "filename")]
        if not uploads:
            raise HTTPException(400, DOC["refused_form"])
        folder = Path(tempfile.mkdtemp(prefix="guichet-upload-"))
        try:
            files = []
            for n, item in enumerate(uploads):
                target = folder / str(n)
                with target.open("wb") as out:
                    await run_in_threadpool(shutil.copyfileobj, item.file, out)  # type: ignore[union-attr]
                files.append((target, str(item.filename or "document")))  # type: ignore[union-attr]
            queued, refused = await run_in_threadpool(state.documents.upload, files, who.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            await form.close()
        reasons = [asdict(r) for r in refused]
        if queued is None:
            first = refused[0]
            return JSONResponse({"detail": first.reason, "refused": reasons}, first.status)
        return accepted(queued, refused=reasons)

    @router.delete("/documents/{doc_id:path}", status_code=202, summary="Retirer un document")
    async def delete(doc_id: str, who: Who) -> JSONResponse:
        try:
            return accepted(state.documents.delete(doc_id, who.name))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc

    return router


def document_json(row: library.DocumentRow) -> dict[str, Any]:
    return {
        "doc_id": row.doc_id,
        "title": row.title,
        "source": row.source,
        "kind": row.kind,
        "pages": len(row.pages) or 1,
        "chunks": row.chunks,
        "updated": row.updated or None,
        "ocr_pages": sorted(row.ocr_pages),
    }
