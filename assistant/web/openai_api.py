"""OpenAI-compatible chat routes on the app's server: POST /v1/chat/completions and GET /v1/models.

Chat front-ends (Open WebUI, LobeChat, Chatbox) and any code written against the `openai` client can use the
assistant as a "model". What they get is the same pipeline as /api/ask, not a language model:

* `messages` -> turns: the user messages, earlier first; the last message must be the user's question.
  System and developer messages are ignored: they never change the answer and are never obeyed as rules.
  Assistant messages (our earlier replies) are ignored too; follow-ups are resolved from the user turns.
* Model `guideline-assistant` answers for clinicians, `guideline-assistant-patient` for patients.
* Patient context: `metadata.patient` (an object, or a JSON string since OpenAI metadata values are strings)
  or a top-level `patient` (the client's `extra_body`).
* `content` is the cited answer text with its [n] markers and a source list; a guard block always leads
  the content. The same citations, passages and guard findings come structured in an extra top-level
  field `guideline` (on the last chunk when streaming).
* `stream: true` gives SSE chunks ending in `data: [DONE]` (the answer is computed first, then streamed).
* Errors have OpenAI's shape {"error": {"message", "type", "param", "code"}} and a 4xx status.
* Login: with ASSISTANT_AUTH set, the API key is "user:password" (sent as `Authorization: Bearer ...`);
  HTTP Basic works too. The failed-login throttle is the app's (assistant.web.rest.LoginThrottle).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from typing import Any, Iterator

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event

from ..api import BLOCK_LEAD
from ..language import to_traditional
from ..model import Answer, InputError
from .rest import BadRequest, LoginThrottle, check_login, client_address, read_json, run_ask, safe_text

__all__ = ["MODELS", "install", "router", "parse_chat", "content_text", "completion", "chunks"]

log = logging.getLogger(__name__)
MODELS = {"guideline-assistant": "clinician", "guideline-assistant-patient": "patient"}
OWNER = "guideline-assistant"
CREATED = 1767225600  # 2026-01-01: a fixed "created" for the model list (the models are the pipeline)
IGNORED_ROLES = {"system", "developer", "assistant", "tool", "function"}
SOURCES_HEAD = {"zh": "来源：", "en": "Sources:"}


class ChatError(BadRequest):
    """A request error with OpenAI's `param` and `code`."""

    def __init__(self, message: str, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message, status)
        self.param, self.code = param, code


# ----------------------------------------------------------------------------------------- request
def _text(content: Any, i: int) -> str:
    """A message's text: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ChatError(f"messages[{i}].content: only text parts are supported", param=f"messages[{i}].content")
            parts.append(part["text"])
        return "\n".join(parts)
    raise ChatError(f"messages[{i}].content must be a string or a list of text parts", param=f"messages[{i}].content")


def _turns(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not messages:
        raise ChatError("'messages' must be a non-empty list of {role, content} objects", param="messages")
    turns, last_role = [], None
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ChatError(f"messages[{i}] must be an object with a 'role'", param=f"messages[{i}]")
        role = m["role"]
        if role == "user":
            turns.append(_text(m.get("content"), i))
        elif role not in IGNORED_ROLES:
            raise ChatError(f"messages[{i}].role {safe_text(repr(role))[:40]} is not one of user, assistant, system, "
                            "developer", param=f"messages[{i}].role")
        if role not in ("system", "developer"):
            last_role = role
    if last_role != "user":
        raise ChatError("the last message must be the user's question", param="messages")
    return turns


def _patient(body: dict) -> dict | None:
    meta = body.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise ChatError("'metadata' must be an object", param="metadata")
    from_meta = (meta or {}).get("patient")
    if isinstance(from_meta, str):
        try:
            from_meta = json.loads(from_meta) if from_meta.strip() else None
        except ValueError:
            raise ChatError("metadata.patient is not valid JSON", param="metadata.patient") from None
    top = body.get("patient")
    if from_meta is not None and top is not None:
        raise ChatError("give the patient once: in metadata.patient or in patient, not both", param="patient")
    patient = from_meta if from_meta is not None else top
    if patient is not None and not isinstance(patient, dict):
        raise ChatError("the patient must be an object of patient fields", param="patient")
    return patient


def parse_chat(body: Any) -> tuple[str, list[str], dict | None, bool]:
    """(model, turns, patient, stream) of a chat completions body; ChatError for a bad one."""
    if not isinstance(body, dict):
        raise ChatError("the body must be a JSON object like {\"model\": ..., \"messages\": [...]}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ChatError("'model' is required: guideline-assistant or guideline-assistant-patient", param="model")
    if model not in MODELS:
        raise ChatError(f"the model {safe_text(model)[:80]!r} does not exist; use one of {', '.join(MODELS)}", 404,
                        param="model", code="model_not_found")
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise ChatError("'stream' must be true or false", param="stream")
    if body.get("n", 1) not in (1, None):
        raise ChatError("only n=1 is supported", param="n")
    return model, _turns(body.get("messages")), _patient(body), bool(stream)


# ----------------------------------------------------------------------------------------- response
def _guard_lines(ans: Answer) -> list[str]:
    """A block verdict always leads the content: Assistant.ask leads with it; if it ever did not, add it."""
    if ans.level != "block":
        return []
    lead = BLOCK_LEAD.get(ans.language, BLOCK_LEAD["zh"])
    if lead in ans.text or to_traditional(lead) in ans.text:
        return []
    return [f"{lead}{f.message}" + (f"「{f.source_quote}」" if f.source_quote else "")
            for f in ans.findings if f.level == "block"]


def content_text(ans: Answer) -> str:
    """The reply a chat client shows: guard verdicts, the cited answer, then the numbered sources."""
    lines = _guard_lines(ans) + [ans.text]
    if ans.citations:
        lines += ["", SOURCES_HEAD.get(ans.language, SOURCES_HEAD["en"])]
        for c in ans.citations:
            where = " · ".join(x for x in (c.source_title, " / ".join(c.section), c.original_file) if x)
            en = f" (EN: {c.quote_en})" if c.quote_en and ans.language == "en" else ""
            lines.append(f"[{c.n}] {where}, {c.start}–{c.end}: 「{c.quote}」{en}")
    return "\n".join(lines)


def _extra(ans: Answer) -> dict[str, Any]:
    d = ans.to_dict()
    d.pop("text")
    return d


def completion(ans: Answer, model: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": content_text(ans)},
                                         "finish_reason": "stop"}],
            "guideline": _extra(ans)}


def chunks(ans: Answer, model: str) -> Iterator[bytes]:
    """SSE events of a streamed reply: role, the content line by line, the finish (with `guideline`), [DONE]."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}

    def event(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
        data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return format_sse_event(data_str=json.dumps(data, ensure_ascii=False))

    yield event({"role": "assistant", "content": ""})
    for line in content_text(ans).splitlines(keepends=True):
        yield event({"content": line})
    yield event({}, "stop", guideline=_extra(ans))
    yield format_sse_event(data_str="[DONE]")


# ----------------------------------------------------------------------------------------- routes
def error(status: int, message: str, param: str | None = None, code: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    kind = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}.get(
        status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"error": {"message": safe_text(message), "type": kind, "param": param, "code": code}},
                        status_code=status, headers=headers)


def _credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from "Bearer user:password" (the API key) or HTTP Basic."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    user, sep, password = value.partition(":")
    return (user, password) if sep else None


def _login(request: Request, users, throttle: LoginThrottle | None) -> JSONResponse | None:
    """None when the request may go on, else the OpenAI-shaped 401 or 429."""
    if not users:
        return None
    creds = _credentials(request.headers.get("authorization"))
    try:
        ok = creds is not None and check_login(users, throttle, client_address(request.scope), *creds)
    except HTTPException as e:  # 429 while this address or user is backed off
        return error(e.status_code, str(e.detail), code="rate_limit_exceeded", headers=e.headers)
    if ok:
        return None
    return error(401, "login required: use \"user:password\" as the API key (Bearer) or HTTP Basic",
                 code="invalid_api_key", headers={"WWW-Authenticate": "Basic"})


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": OWNER}


def router(assistant, users: list[tuple[str, str]] | None = None,
           throttle: LoginThrottle | None = None) -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.get("/models", summary="The assistant's two 'models' (clinician and patient audience)")
    def models(request: Request) -> JSONResponse:
        return _login(request, users, throttle) or JSONResponse(
            {"object": "list", "data": [_model(m) for m in MODELS]})

    @r.get("/models/{model_id}", include_in_schema=False)
    def model(model_id: str, request: Request) -> JSONResponse:
        if (denied := _login(request, users, throttle)) is not None:
            return denied
        if model_id not in MODELS:
            return error(404, f"the model {model_id[:80]!r} does not exist", "model", "model_not_found")
        return JSONResponse(_model(model_id))

    @r.post("/chat/completions", summary="OpenAI-compatible chat: cited answer, guard verdicts, sources")
    async def chat(request: Request):
        if (denied := _login(request, users, throttle)) is not None:
            return denied
        try:
            model_id, turns, patient, stream = parse_chat(read_json(await request.body()))
            ans = await run_ask(assistant, turns, patient, MODELS[model_id])
        except ChatError as e:
            return error(e.status, str(e), e.param, e.code)
        except BadRequest as e:  # the body is not JSON, too large or too deep
            return error(e.status if e.status != 422 else 400, str(e))
        except InputError as e:
            return error(400, str(e))
        except Exception as e:  # noqa: BLE001 - only the type is logged: messages may hold patient values
            log.error("unhandled %s in /v1/chat/completions", type(e).__name__)
            return error(500, f"internal error ({type(e).__name__}); the request was not answered")
        if stream:
            return EventSourceResponse(chunks(ans, model_id))
        return JSONResponse(completion(ans, model_id))

    @r.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    def unknown(path: str, request: Request) -> JSONResponse:
        if request.method == "GET" and path == "chat/completions":
            return error(405, "use POST /v1/chat/completions")
        return error(404, f"no route /v1/{path[:80]}; this server offers /v1/chat/completions and /v1/models")

    return r


def install(app: FastAPI, assistant, users: list[tuple[str, str]] | None = None,
            throttle: LoginThrottle | None = None) -> None:
    """Add the /v1 routes (before Gradio is mounted at /); `throttle` is the one REST and the UI use."""
    app.include_router(router(assistant, users, throttle))
