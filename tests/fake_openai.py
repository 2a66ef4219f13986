"""A FAKE OpenAI-compatible chat server for tests: no model, only canned completions.

    with FakeOpenAI({"剂量": "PRP 单次注射血小板数为 20-50 亿 [1]。"}) as fake:
        settings = Settings(llm_base_url=fake.base_url)

POST /v1/chat/completions answers with the first canned completion whose keyword occurs in the last
user message (insertion order), else `default`. A keyword mapped to `Slow(seconds, text)` sleeps first,
to exercise client timeouts. Every request body is kept in `fake.requests`.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


@dataclass
class Slow:
    seconds: float
    text: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeOpenAI:
    def __init__(self, canned: dict[str, str | Slow], default: str = "资料中没有相关内容。"):
        self.canned = dict(canned)
        self.default = default
        self.requests: list[dict] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        app = FastAPI()

        @app.post("/v1/chat/completions")
        def completions(body: dict) -> dict:  # sync: runs in a worker thread, so Slow does not block others
            self.requests.append(body)
            user = [m for m in body.get("messages", []) if m.get("role") == "user"]
            last = user[-1]["content"] if user else ""
            if isinstance(last, list):
                last = " ".join(part.get("text", "") for part in last)
            reply = next((v for k, v in self.canned.items() if k in last), self.default)
            if isinstance(reply, Slow):
                time.sleep(reply.seconds)
                reply = reply.text
            return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    timeout_graceful_shutdown=5))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "FakeOpenAI":
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
