"""REST routes on the app's server: POST /api/ask and GET /api/health.

Bad requests never reach a 500: malformed JSON and wrong shapes are 422, input the pipeline rejects
(empty question, too long, control characters, lone surrogates, too deeply nested, implausible patient
values) is 400; every error body is {"error": "<one clear sentence>"}. An unexpected failure is a 500
with a generic message (details only in the server log) and keeps the keep-alive connection open.
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

from .config import Settings
from .model import InputError

log = logging.getLogger(__name__)
MAX_TURNS = Settings.max_turns  # the default; a server uses its settings' max_turns
MAX_DEPTH = 20  # nesting of the JSON body: a valid one is 4 deep ({"patient": {"measures": {...}}})
MAX_BODY_BYTES = 256 * 1024
ASK_KEYS = {"turns", "patient", "audience"}


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def parse_ask(body: Any, max_turns: int = MAX_TURNS) -> tuple[list[str], dict | None, str]:
    """Check the shape of an /api/ask body; the pipeline checks the content (InputError -> 400)."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"turns": ["question"], "patient": null}')
    unknown = sorted(safe_text(repr(k)) for k in set(body) - ASK_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown[:10])}; allowed: turns, patient, audience")
    if "turns" not in body:
        raise BadRequest("missing 'turns': a list of strings, the last one is the question")
    turns = body["turns"]
    if isinstance(turns, str):
        turns = [turns]
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise BadRequest("'turns' must be a list of strings (earlier turns first, the question last)")
    if not turns:
        raise BadRequest("'turns' is empty: give at least one question", 400)
    if len(turns) > max_turns:
        raise BadRequest(f"'turns' has {len(turns)} entries; at most {max_turns} are accepted", 400)
    patient = body.get("patient")
    if patient is not None and not isinstance(patient, dict):
        raise BadRequest("'patient' must be an object of patient fields or null")
    audience = body.get("audience", "clinician")
    if audience is None:
        audience = "clinician"
    if audience not in ("clinician", "patient"):
        raise BadRequest(f"'audience' must be 'clinician' or 'patient', not {safe_text(repr(audience))[:80]}")
    return turns, patient, audience


def safe_text(s: str) -> str:
    """Text that can be written as UTF-8 (lone surrogates escaped), for messages that echo input."""
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, counted without recursion and only up to `limit` + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


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
        except RecursionError:
            return _error(400, f"the body is nested too deeply; at most {MAX_DEPTH} levels are accepted")
        except UnicodeDecodeError as e:
            return _error(400, f"the body is not valid UTF-8 JSON (byte {e.start + 1} cannot be decoded)")
        except ValueError as e:  # JSONDecodeError, and integers too long to convert
            return _error(400, f"the body is not valid UTF-8 JSON ({str(e)[:200]})")
        if depth(body) > MAX_DEPTH:
            return _error(400, f"the body is nested too deeply; at most {MAX_DEPTH} levels are accepted")
        try:
            turns, patient, audience = parse_ask(body, assistant.settings.max_turns)
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
    return JSONResponse({"error": safe_text(message)}, status_code=status)


class CatchAll:
    """ASGI middleware: an unhandled exception becomes a generic JSON 500 and is not re-raised, so the
    server keeps the client's keep-alive connection (Starlette's own handler re-raises, and uvicorn then
    drops the connection). Only the exception type is logged: messages may hold patient values."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if started:
                return  # the response is under way; nothing more can be said on this connection
            body = json.dumps({"error": f"internal error ({type(exc).__name__}); the request was not answered"}
                              ).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, assistant, users: list[tuple[str, str]] | None = None) -> None:
    app.include_router(router(assistant, users))
    app.add_middleware(CatchAll)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

