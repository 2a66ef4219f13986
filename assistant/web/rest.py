"""REST routes on the app's server: POST /api/ask and GET /api/health.

Bad requests never reach a 500: malformed JSON and wrong shapes are 422, input the pipeline rejects
(empty question, too long, control characters, lone surrogates, too deeply nested, implausible patient
values) is 400; every error body is {"error": "<one clear sentence>"}. An unexpected failure is a 500
with a generic message (details only in the server log) and keeps the keep-alive connection open.

Login (when ASSISTANT_AUTH is set): every route needs HTTP Basic credentials except GET /api/health, which
load balancers poll; with login on it reports only status, index version and counts. Failed logins are
throttled per client address and per user name (LoginThrottle, shared with the UI's login form): after
Settings.login_max_failures consecutive failures, attempts get 429 without a password check until the
back-off has passed.
"""
from __future__ import annotations

import contextvars
import json
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings
from ..model import InputError

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


def read_json(raw: bytes) -> Any:
    """Parse a request body as UTF-8 JSON within MAX_BODY_BYTES and MAX_DEPTH (BadRequest 413 / 400)."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is larger than {MAX_BODY_BYTES // 1024} KiB", 413)
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except RecursionError:
        raise BadRequest(f"the body is nested too deeply; at most {MAX_DEPTH} levels are accepted", 400) from None
    except UnicodeDecodeError as e:
        raise BadRequest(f"the body is not valid UTF-8 JSON (byte {e.start + 1} cannot be decoded)", 400) from None
    except ValueError as e:  # JSONDecodeError, and integers too long to convert
        raise BadRequest(f"the body is not valid UTF-8 JSON ({str(e)[:200]})", 400) from None
    if depth(body) > MAX_DEPTH:
        raise BadRequest(f"the body is nested too deeply; at most {MAX_DEPTH} levels are accepted", 400)
    return body


# ----------------------------------------------------------------------------------------- login
# The throttle's numbers are Settings (login_max_failures, login_backoff_s, login_backoff_max_s); these two
# only bound its memory and how long an old failure counts.
MAX_TRACKED = 10_000  # client addresses (and user names) remembered at once; least recently failed go first
FORGET_AFTER_S = 15 * 60  # failures are forgotten this long after the last one: a typo a day never locks out

CLIENT_ADDRESS: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="unknown")


class LoginThrottle:
    """Counts consecutive failed logins per client address and per user name, in memory, thread-safe.

    After `max_failures` failures for a key, attempts are refused for `backoff_s`, doubling with every
    further failure up to `backoff_max_s`; an attempt refused this way is not checked and not counted. A
    success clears that address and that user name. Only configured user names are tracked (others can
    never log in), and at most MAX_TRACKED addresses, so the tables stay bounded.
    """

    def __init__(self, max_failures: int = 5, backoff_s: float = 1.0, backoff_max_s: float = 60.0,
                 users: list[str] | None = None, max_tracked: int = MAX_TRACKED,
                 forget_after_s: float = FORGET_AFTER_S, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max(1, int(max_failures))
        self.backoff_s = max(0.0, float(backoff_s))
        self.backoff_max_s = max(self.backoff_s, float(backoff_max_s))
        self.users = set(users) if users is not None else None
        self.max_tracked = max(1, int(max_tracked))
        self.forget_after_s = forget_after_s
        self.clock = clock
        self._lock = threading.Lock()
        # key -> [failures, time of the last failure, blocked until]
        self._table: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings, users: list[tuple[str, str]] | None) -> "LoginThrottle":
        settings = settings if settings is not None else Settings()
        return cls(settings.login_max_failures, settings.login_backoff_s, settings.login_backoff_max_s,
                   users=[u for u, _ in users or []])

    def _keys(self, address: str, user: str) -> list[tuple[str, str]]:
        keys = [("addr", address)]
        if self.users is None or user in self.users:
            keys.append(("user", user))
        return keys

    def _state(self, key: tuple[str, str], now: float) -> list[float] | None:
        st = self._table.get(key)
        if st is not None and now - st[1] > self.forget_after_s:
            del self._table[key]
            return None
        return st

    def retry_after(self, address: str, user: str) -> float:
        """Seconds until this address and user name may try again; 0 when they may now."""
        now = self.clock()
        with self._lock:
            waits = [st[2] - now for k in self._keys(address, user) if (st := self._state(k, now))]
        return max([0.0, *waits])

    def failed(self, address: str, user: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(address, user):
                st = self._state(key, now) or [0, now, 0.0]
                st[0] += 1
                st[1] = now
                extra = st[0] - self.max_failures
                if extra >= 0:
                    st[2] = now + min(self.backoff_max_s, self.backoff_s * 2.0 ** min(extra, 40))
                self._table[key] = st
                self._table.move_to_end(key)
            while len(self._table) > self.max_tracked:
                self._table.popitem(last=False)

    def succeeded(self, address: str, user: str) -> None:
        with self._lock:
            for key in self._keys(address, user):
                self._table.pop(key, None)

    def __len__(self) -> int:
        return len(self._table)


def _throttled(wait: float) -> HTTPException:
    secs = max(1, math.ceil(wait))
    return HTTPException(429, f"too many failed logins; try again in {secs} s", headers={"Retry-After": str(secs)})


def _valid(users: list[tuple[str, str]], user: str, password: str) -> bool:
    ok = False
    for u, p in users:  # every entry compared, in constant time, so timing does not tell which part failed
        ok |= secrets.compare_digest(user.encode("utf-8", "surrogatepass"), u.encode()) & \
            secrets.compare_digest(password.encode("utf-8", "surrogatepass"), p.encode())
    return bool(ok)


def check_login(users: list[tuple[str, str]], throttle: LoginThrottle | None, address: str, user: str,
                password: str) -> bool:
    """True for a valid login; raises 429 (password unchecked) while this address or user is backed off."""
    if throttle is not None:
        wait = throttle.retry_after(address, user)
        if wait > 0:
            log.warning("login refused: throttled for %.1f s more", wait)
            raise _throttled(wait)
    ok = _valid(users, user, password)
    if throttle is not None:
        (throttle.succeeded if ok else throttle.failed)(address, user)
    return ok


def ui_login(users: list[tuple[str, str]], throttle: LoginThrottle | None) -> Callable[[str, str], bool]:
    """The UI's login check (Gradio's auth callable): the same users and throttle as REST. The client address
    comes from ClientAddress; a throttled attempt is answered 429 by raising from inside Gradio's /login."""

    def check(username: str, password: str) -> bool:
        return check_login(users, throttle, CLIENT_ADDRESS.get(), username, password)

    return check


def client_address(scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ClientAddress:
    """ASGI middleware: makes the client address visible to the UI's login check (CLIENT_ADDRESS)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            CLIENT_ADDRESS.set(client_address(scope))
        return await self.app(scope, receive, send)


def basic_auth(users: list[tuple[str, str]] | None, throttle: LoginThrottle | None = None):
    """A dependency that checks HTTP Basic credentials when login is configured, else does nothing."""
    security = HTTPBasic(auto_error=False)

    def check(request: Request, creds: HTTPBasicCredentials | None = Depends(security)) -> str | None:
        """The logged-in user name (None when login is off)."""
        if not users:
            return None
        if creds is None or not check_login(users, throttle, client_address(request.scope), creds.username,
                                            creds.password):
            raise HTTPException(401, "login required: send HTTP Basic credentials",
                                headers={"WWW-Authenticate": "Basic"})
        return creds.username

    return check


# Health with login on: enough for a load balancer, nothing about the documents or the set-up.
PUBLIC_HEALTH_KEYS = ("status", "corpus_version", "passages", "index_loading")


def public_health(h: dict) -> dict:
    out = {k: h[k] for k in PUBLIC_HEALTH_KEYS if k in h}
    if isinstance(h.get("documents"), (list, tuple, dict)):
        out["document_count"] = len(h["documents"])
    return out


_limiters: dict[int, Any] = {}


async def run_ask(assistant, *args):
    """`assistant.ask(*args)` in a worker thread, at most `Settings.ask_concurrency` at once in this
    process; the others wait their turn (first come, first served) in the event loop, holding no thread."""
    import anyio

    slots = getattr(getattr(assistant, "settings", None), "ask_concurrency", 0)
    if not slots:
        return await anyio.to_thread.run_sync(assistant.ask, *args)
    limiter = _limiters.get(id(assistant))
    if limiter is None:
        limiter = _limiters[id(assistant)] = anyio.CapacityLimiter(slots)
    return await anyio.to_thread.run_sync(assistant.ask, *args, limiter=limiter)


def router(assistant, users: list[tuple[str, str]] | None = None,
           throttle: LoginThrottle | None = None) -> APIRouter:
    r = APIRouter(prefix="/api")
    login = [Depends(basic_auth(users, throttle))]

    @r.post("/ask", summary="Answer a question with citations and guard findings", dependencies=login)
    async def ask(request: Request) -> JSONResponse:
        try:
            body = read_json(await request.body())
        except BadRequest as e:
            return _error(e.status, str(e))
        try:
            turns, patient, audience = parse_ask(body, assistant.settings.max_turns)
        except BadRequest as e:
            return _error(e.status, str(e))
        try:
            ans = await run_ask(assistant, turns, patient, audience)
        except InputError as e:
            return _error(400, str(e))
        return JSONResponse(ans.to_dict())

    @r.get("/ask", include_in_schema=False, dependencies=login)
    def ask_get() -> JSONResponse:
        return _error(405, 'use POST /api/ask with a JSON body like {"turns": ["question"], "patient": null}')

    @r.get("/health", summary="Index version, documents and embedder (no login needed; less when login is on)")
    def health() -> dict:
        h = assistant.health()
        return public_health(h) if users else h

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


def install(app: FastAPI, assistant, users: list[tuple[str, str]] | None = None,
            throttle: LoginThrottle | None = None) -> None:
    if users and throttle is None:
        throttle = LoginThrottle.from_settings(getattr(assistant, "settings", None), users)
    app.include_router(router(assistant, users, throttle))
    from .rest_docs import router as docs_router  # /api/docs: the guideline library

    app.include_router(docs_router(assistant, users, throttle))
    app.add_middleware(ClientAddress)
    app.add_middleware(CatchAll)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

