"""Leases on index versions: who may still be reading a version, so garbage collection leaves it alone.

Every process that opens an index version holds a shared `flock` on `<index_root>/.leases/<version>.lock`
for as long as it serves that version (`Index.open` takes it, `Index.close` or garbage collection of
the Index drops it). Garbage collection takes a non-blocking exclusive lock on the same file and skips
the version when it cannot: a lock, not a timer, so a slow request never loses its index.

flock locks belong to the open file, not to the process, so two opens in one process conflict too:
a test (or a CLI) that still holds an Index keeps its version alive against its own build.
The kernel drops the lock when the holder dies, so a killed server never pins a version forever.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LEASE_DIR = ".leases"
_VERSION = re.compile(r"[0-9a-f]{12}")


def lease_path(index_root: Path, version: str) -> Path:
    if not _VERSION.fullmatch(version):
        raise ValueError(f"not an index version: {version!r}")
    return index_root / LEASE_DIR / f"{version}.lock"


class Lease:
    """A held lock on one version's lease file (shared: reading it; exclusive: deleting it)."""

    def __init__(self, path: Path, fd: int, exclusive: bool):
        self.path, self._fd, self.exclusive = path, fd, exclusive

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)  # closing the only descriptor drops the flock
            except OSError:
                pass

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"Lease({self.path.name}, {'exclusive' if self.exclusive else 'shared'}, held={self.held})"


def acquire(index_root: Path, version: str, exclusive: bool = False, blocking: bool = True) -> Lease | None:
    """Lock the lease file of `version`; None when `blocking` is False and someone else holds a conflicting lock.

    The file may be unlinked by a garbage collector between our open and our lock; we then hold a lock on
    a file nobody else can find, so the inode is checked after locking and the open retried."""
    path = lease_path(index_root, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, op)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return Lease(path, fd, exclusive)
        os.close(fd)  # unlinked under us: lock the file that is there now
    raise RuntimeError(f"could not lock {path}: it keeps being replaced")


@contextmanager
def exclusive(index_root: Path, version: str) -> Iterator[Lease | None]:
    """Non-blocking exclusive lock for deleting `version`: yields None when a reader holds it.
    On success the lease file is unlinked before the lock is dropped (only once the version is gone)."""
    lease = acquire(index_root, version, exclusive=True, blocking=False)
    try:
        yield lease
    finally:
        if lease is not None:
            lease.release()


def forget(lease: Lease) -> None:
    """Unlink the lease file of a version that was just deleted, while the exclusive lock is still held."""
    if lease.held and lease.exclusive:
        try:
            lease.path.unlink()
        except FileNotFoundError:
            pass


def in_use(index_root: Path, version: str) -> bool:
    """Does anyone (this process included, through another open) hold a lease on `version`?"""
    if not lease_path(index_root, version).exists():
        return False
    lease = acquire(index_root, version, exclusive=True, blocking=False)
    if lease is None:
        return True
    lease.release()
    return False


def pid_alive(pid: int) -> bool:
    """Is process `pid` still there (a zombie counts as gone only once reaped)?"""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a killed child its parent has not reaped yet is a zombie: it builds nothing any more
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
