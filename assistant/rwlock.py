"""A readers-writer lock: many requests tokenise and search at once (shared), while installing a new
version's terms into jieba's global dictionary waits for them and holds them off (exclusive), so one
request never sees the dictionary half-changed."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["RWLock"]


class RWLock:
    """Writer-preferring: once a writer waits, new readers wait behind it (a swap is never starved).
    `with lock:` is the exclusive side, so it stands in wherever a plain Lock was used."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    def acquire(self) -> None:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True

    def release(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()

    def __enter__(self) -> "RWLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
