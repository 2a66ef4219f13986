"""Conversation exports the web app hands out: private on disk, downloaded once, gone afterwards.

Each export is one file in a private temporary directory (0700, the file 0600) and is served by the app's
own route, `GET /export/<token>/<name>`, never through Gradio's file cache (which would keep a copy that
outlives the server). The token is random and works once: the file is deleted as it is sent. Exports not
downloaded expire after `ttl_s`; the whole directory goes at exit, and a directory left behind by a
killed server is swept by the next one.
"""
from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from ..lease import pid_alive

PREFIX = "assistant-exports-"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


class ExportStore:
    def __init__(self, ttl_s: float = 900.0, parent: str | Path | None = None):
        self.ttl_s = ttl_s
        self._parent = Path(parent or tempfile.gettempdir())
        self._root: Path | None = None
        self._items: dict[str, tuple[Path, float]] = {}
        self._lock = threading.Lock()
        sweep(self._parent)

    @property
    def root(self) -> Path:
        """The private directory, made on first use (mkdtemp: mode 0700, owner only)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=self._parent))
            os.chmod(self._root, 0o700)
            atexit.register(self.close)
        return self._root

    def put(self, name: str, text: str) -> str:
        """Store one export; the token for `take`."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"bad export file name {name!r}")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            d = self.root / token
            d.mkdir(mode=0o700)
            path = d / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            self._items[token] = (path, time.monotonic())
        return token

    def take(self, token: str, name: str | None = None) -> tuple[str, bytes] | None:
        """The export's file name and bytes, once: the file is removed here. None if unknown, used or expired."""
        with self._lock:
            self._expire()
            item = self._items.get(token)
            if item is None or (name is not None and item[0].name != name):
                return None
            del self._items[token]
        path = item[0]
        try:
            data = path.read_bytes()
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
        return path.name, data

    def pending(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        now = time.monotonic()
        for token, (path, made) in list(self._items.items()):
            if now - made > self.ttl_s:
                del self._items[token]
                shutil.rmtree(path.parent, ignore_errors=True)

    def close(self) -> None:
        """Remove every export (at exit)."""
        with self._lock:
            self._items.clear()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)


def sweep(parent: Path) -> None:
    """Remove export directories of servers that are gone (killed before their exit handler ran)."""
    for d in parent.glob(f"{PREFIX}*"):
        m = re.fullmatch(rf"{re.escape(PREFIX)}(\d+)-.*", d.name)
        try:
            mine = d.is_dir() and d.stat().st_uid == os.getuid()
        except OSError:
            continue
        if m and mine and not pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


def install(app, store: ExportStore) -> None:
    """The download route, outside /api (the token is the credential: random, single use, short-lived)."""
    from fastapi.responses import JSONResponse, Response

    @app.get("/export/{token}/{name}", include_in_schema=False)
    def download(token: str, name: str):
        got = store.take(token, name)
        if got is None:
            return JSONResponse({"error": "this export link was already used or has expired; export again"},
                                status_code=404, headers={"Cache-Control": "no-store"})
        filename, data = got
        return Response(data, media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
