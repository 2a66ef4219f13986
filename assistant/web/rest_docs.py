"""REST routes for the guideline library, under /api/docs (assistant.docs_service does the work).

    GET    /api/docs              the documents this server serves, with provenance and rules
    GET    /api/docs/{id}         one document: its ingest report and rules
    POST   /api/docs              multipart: file [, rules, title, publisher, year, language]   -> 201
    PUT    /api/docs/{id}         multipart, the same fields [, force=true for a seed document]  -> 200
    DELETE /api/docs/{id}[?force=true]                                                          -> 200

Reading needs a login when login is on; changing needs the admin role (403 otherwise). Errors are
{"error": "..."}: 400 malformed or unreadable file, 404 unknown id, 409 id already taken, 413 too
large, 415 unsupported type.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..docs_service import DocsService, Forbidden, Rejected, safe_name
from ..model import InputError
from .rest import basic_auth, safe_text

__all__ = ["router"]
CHUNK = 1 << 20


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": safe_text(message)}, status_code=status)


async def _call(fn, *args, **kwargs) -> JSONResponse:
    """Run a service call in a worker thread; its refusals become clear 4xx."""
    status = kwargs.pop("_status", 200)
    try:
        return JSONResponse(await run_in_threadpool(fn, *args, **kwargs), status_code=status)
    except Forbidden as e:
        return _error(403, str(e))
    except Rejected as e:
        return _error(e.status, str(e))
    except InputError as e:  # a malformed file, a seed without force, an unknown id for a change
        msg = str(e)
        return _error(404 if msg.startswith("no document") else 400, msg)


async def _save(upload: UploadFile, into: Path, limit: int) -> Path | None:
    """Stream an upload to disk, stopping past `limit` bytes (None: too large)."""
    dest = into / safe_name(upload.filename or "upload")
    size = 0
    with dest.open("wb") as fh:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            fh.write(chunk)
    return dest


def router(assistant, users: list | None = None, throttle=None) -> APIRouter:
    service = DocsService(assistant, users)
    r = APIRouter(prefix="/api/docs")
    login = basic_auth(users, throttle)
    limit = assistant.settings.max_upload_bytes

    @r.get("", summary="Indexed documents with provenance, passages and rules")
    async def list_docs(user: str | None = Depends(login)) -> JSONResponse:
        return await _call(service.listing)

    @r.get("/{doc_id}", summary="One document: ingest report and rules")
    async def show_doc(doc_id: str, user: str | None = Depends(login)) -> JSONResponse:
        return await _call(service.detail, doc_id)

    async def _change(request: Request, user, file, rules, meta, doc_id=None, force=False) -> JSONResponse:
        try:
            service.check_role(user)  # before the body is read into a file
        except Forbidden as e:
            return _error(403, str(e))
        declared = int(request.headers.get("content-length") or 0)
        if declared > 2 * limit + 65536:
            return _error(413, f"the upload is larger than {limit // (1024 * 1024)} MiB")
        tmp = Path(tempfile.mkdtemp(prefix="docs-rest-"))
        try:
            doc = await _save(file, tmp, limit)
            rules_path = None
            if rules is not None:
                (tmp / "rules").mkdir()
                rules_path = await _save(rules, tmp / "rules", limit)
            if doc is None or (rules is not None and rules_path is None):
                return _error(413, f"the upload is larger than {limit // (1024 * 1024)} MiB")
            name = safe_name(file.filename or "upload")
            if doc_id is None:
                return await _call(service.upload, doc, user, meta, rules_path, name=name, _status=201)
            return await _call(service.replace, doc_id, doc, user, meta, rules_path, name=name, force=force)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @r.post("", summary="Upload a guideline (admin)", status_code=201)
    async def upload(request: Request, file: UploadFile = File(...), rules: UploadFile | None = File(None),
                     title: str | None = Form(None), publisher: str | None = Form(None),
                     year: int | None = Form(None), language: str | None = Form(None),
                     user: str | None = Depends(login)) -> JSONResponse:
        meta = {"title": title, "publisher": publisher, "year": year, "language": language}
        return await _change(request, user, file, rules, meta)

    @r.put("/{doc_id}", summary="Replace a document with a new file (admin; force=true for a seed)")
    async def replace(doc_id: str, request: Request, file: UploadFile = File(...),
                      rules: UploadFile | None = File(None), title: str | None = Form(None),
                      publisher: str | None = Form(None), year: int | None = Form(None),
                      language: str | None = Form(None), force: bool = False,
                      user: str | None = Depends(login)) -> JSONResponse:
        meta = {"title": title, "publisher": publisher, "year": year, "language": language}
        return await _change(request, user, file, rules, meta, doc_id=doc_id, force=force)

    @r.delete("/{doc_id}", summary="Remove a document (admin; force=true for a seed)")
    async def delete(doc_id: str, force: bool = False, user: str | None = Depends(login)) -> JSONResponse:
        return await _call(service.remove, doc_id, user, force=force)

    return r
