"""REST routes on the app's server: POST /api/ask and GET /api/health.

Bad requests never reach a 500: malformed JSON and wrong shapes are 422, input the pipeline rejects
(empty question, too long, control characters, bad patient fields) is 400; every error body is
{"error": "<one clear sentence>"}.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from .model import InputError

log = logging.getLogger(__name__)
MAX_TURNS = 50
MAX_BODY_BYTES = 256 * 1024
ASK_KEYS = {"turns", "patient", "audience"}


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def parse_ask(body: Any) -> tuple[list[str], dict | None, str]:
    """Check the shape of an /api/ask body; the pipeline checks the content (InputError -> 400)."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"turns": ["question"], "patient": null}')
    unknown = sorted(set(body) - ASK_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: turns, patient, audience")
    if "turns" not in body:
        raise BadRequest("missing 'turns': a list of strings, the last one is the question")
    turns = body["turns"]
    if isinstance(turns, str):
        turns = [turns]
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise BadRequest("'turns' must be a list of strings (earlier turns first, the question last)")
    if not turns:
        raise BadRequest("'turns' is empty: give at least one question", 400)
    if len(turns) > MAX_TURNS:
        raise BadRequest(f"'turns' has {len(turns)} entries; at most {MAX_TURNS} are accepted", 400)
    patient = body.get("patient")
    if patient is not None and not isinstance(patient, dict):
        raise BadRequest("'patient' must be an object of patient fields or null")
    audience = body.get("audience", "clinician")
    if audience is None:
        audience = "clinician"
    if audience not in ("clinician", "patient"):
        raise BadRequest(f"'audience' must be 'clinician' or 'patient', not {audience!r}")
    return turns, patient, audience


def basic_auth(users: list[tuple[str, str]] | None):
    """A dependency that checks HTTP Basic credentials when login is configured, else does nothing."""
    security = HTTPBasic(auto_error=False)

    def check(creds: HTTPBasicCredentials | None = Depends(security)) -> None:
        if not users:
            return
        ok = creds is not None and any(
            secrets.compare_digest(creds.username.encode(), u.encode())
            & secrets.compare_digest(creds.password.encode(), p.encode()) for u, p in users)
        if not ok:
            raise HTTPException(401, "login required: send HTTP Basic credentials",
                                headers={"WWW-Authenticate": "Basic"})

    return check


def router(assistant, users: list[tuple[str, str]] | None = None) -> APIRouter:
    r = APIRouter(prefix="/api", dependencies=[Depends(basic_auth(users))])

    @r.post("/ask", summary="Answer a question with citations and guard findings")
    async def ask(request: Request) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"request body is larger than {MAX_BODY_BYTES // 1024} KiB")
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return _error(400, f"the body is not valid UTF-8 JSON ({e})")
        try:
            turns, patient, audience = parse_ask(body)
        except BadRequest as e:
            return _error(e.status, str(e))
        from starlette.concurrency import run_in_threadpool

        try:
            ans = await run_in_threadpool(assistant.ask, turns, patient, audience)
        except InputError as e:
            return _error(400, str(e))
        return JSONResponse(ans.to_dict())

    @r.get("/ask", include_in_schema=False)
    def ask_get() -> JSONResponse:
        return _error(405, 'use POST /api/ask with a JSON body like {"turns": ["question"], "patient": null}')

    @r.get("/health", summary="Index version, documents and embedder")
    def health() -> dict:
        return assistant.health()

    return r


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def install(app: FastAPI, assistant, users: list[tuple[str, str]] | None = None) -> None:
    app.include_router(router(assistant, users))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the request was not answered")
