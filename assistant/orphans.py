"""Leftovers of killed builds in the embedded Chroma store, removed by the next build or GC.

Two kinds: a collection `<embedder>-<version>` whose version has no directory, no `.tmp-` build and no
lease (the build died before its rename, or an earlier GC could not drop it), and a segment folder
(`<data_dir>/chroma/<uuid>/`) that no segment row of `chroma.sqlite3` names (Chroma's
`delete_collection` drops the rows but leaves the folder). Collections of a version someone holds a
lease on are never touched. Only the embedded store: a shared `chroma run` server holds other users'
collections, and its files are not ours.
"""
from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from pathlib import Path

from . import lease

__all__ = ["sweep", "orphan_collections", "orphan_segment_dirs"]

log = logging.getLogger(__name__)
_COLLECTION = re.compile(r".+-([0-9a-f]{12})")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _names(client) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def orphan_collections(client, index_root: Path, protected: set[str]) -> list[tuple[str, str]]:
    """(collection, version) of collections whose version has no dir, no `.tmp-` build, and is not protected."""
    on_disk = {d.name.split("-")[1] if d.name.startswith(".tmp-") else d.name
               for d in index_root.iterdir() if d.is_dir()} if index_root.is_dir() else set()
    out = []
    for name in _names(client):
        m = _COLLECTION.fullmatch(name)
        if m and m.group(1) not in on_disk | protected:
            out.append((name, m.group(1)))
    return out


def orphan_segment_dirs(chroma_dir: Path) -> list[Path]:
    """Segment folders no segment row names. Folders are listed before the rows are read: a build creates
    the rows first, so a folder seen here whose row is missing is not one being made."""
    if not (chroma_dir / "chroma.sqlite3").is_file():
        return []
    dirs = [d for d in chroma_dir.iterdir() if d.is_dir() and _UUID.fullmatch(d.name)]
    try:
        con = sqlite3.connect(f"file:{chroma_dir / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=10)
        try:
            known = {str(r[0]) for r in con.execute("SELECT id FROM segments")}
        finally:
            con.close()
    except sqlite3.Error as e:  # another Chroma schema, or locked: leave the folders alone
        log.warning("chroma segments not read (%s); segment folders kept", type(e).__name__)
        return []
    return [d for d in dirs if d.name not in known]


def sweep(settings, client, protected: set[str]) -> list[str]:
    """Drop orphan collections (each under an exclusive lease of its version) and orphan segment
    folders of the embedded store; what was removed, for logs and tests."""
    if settings.chroma_host:
        return []
    root, removed = settings.index_root, []
    try:
        candidates = orphan_collections(client, root, protected)
    except Exception as e:  # noqa: BLE001 - best effort: the next build tries again
        log.warning("chroma collections not listed (%s)", type(e).__name__)
        candidates = []
    for name, version in candidates:
        with lease.exclusive(root, version) as ex:
            if ex is None:
                continue  # someone reads it
            try:
                client.delete_collection(name)
                removed.append(name)
            except Exception as e:  # noqa: BLE001
                log.warning("orphan collection %s not dropped (%s)", name, type(e).__name__)
    for d in orphan_segment_dirs(Path(settings.data_dir) / "chroma"):
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d.name)
    return removed
