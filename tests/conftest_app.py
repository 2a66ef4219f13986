"""Start a real `assistant serve` subprocess for the app tests (imported by test_app_api / test_browser).

Not a conftest: plain helpers, so the fixtures stay in the test files. The index is built once per pytest
session into the `server_data` dir (seeded with the session embedding cache) and reused by every server
started in that session.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = float(os.environ.get("ASSISTANT_TEST_STARTUP_S", "240"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               TRANSFORMERS_OFFLINE="1", ASSISTANT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("ASSISTANT_AUTH", None)
    env.update(extra)
    return env


@contextmanager
def running_server(data_dir: Path, log_path: Path, **extra_env: str):
    """Yield the base URL of a fresh server on a free loopback port; stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], cwd=REPO,
                            env=server_env(data_dir, **extra_env), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(proc, url, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except urllib.error.HTTPError as e:
            if e.code == 401:  # login is on: the server is up
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {STARTUP_S:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return "(no log)"


def _json_request(req: urllib.request.Request, timeout: float) -> tuple[int, dict]:
    """Status and JSON body, for error statuses too (non-JSON error bodies come back as _raw)."""
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", errors="replace")
        try:
            return e.code, json.loads(text)
        except json.JSONDecodeError:
            return e.code, {"_raw": text}


def post_json(url: str, body: object, headers: dict[str, str] | None = None, raw: bytes | None = None,
              timeout: float = 60) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return _json_request(urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", **(headers or {})}), timeout)


def get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict]:
    return _json_request(urllib.request.Request(url, headers=headers or {}), timeout)
