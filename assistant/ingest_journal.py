"""Library copies commit with the build: a killed `assistant ingest` leaves nothing the next one indexes.

Before ingest copies a file into `<data_dir>/library/`, it records the destination in its journal
(`library/.ingest-<pid>.json`, hidden, so never read as a document); once the build has switched the
CURRENT pointer the journal is deleted (commit). The next ingest or build finds journals of processes
that are gone: if the live index holds their documents the copy had committed (killed just after the
switch) and the journal goes; otherwise the copied files are removed (rolled back). Files that were
already in the library before that ingest are never listed, so never removed.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import lease

__all__ = ["Journal", "recover"]

_NAME = re.compile(r"\.ingest-(\d+)\.json")


class Journal:
    """The files one ingest process added to the library, written before each copy."""

    def __init__(self, library: Path, pid: int | None = None):
        self.library = library
        self.path = library / f".ingest-{pid or os.getpid()}.json"
        self.files: list[str] = []
        self.docs: list[str] = []

    def add(self, dest: Path, doc_id: str = "") -> None:
        """Record `dest` (if new to the library) before it is written; atomic rewrite of the journal."""
        if dest.exists() or dest.name in self.files:
            return
        self.files.append(dest.name)
        if doc_id and doc_id not in self.docs:
            self.docs.append(doc_id)
        self.library.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.files, "docs": self.docs}), encoding="utf-8")
        os.replace(tmp, self.path)

    def commit(self) -> None:
        self.path.unlink(missing_ok=True)

    def rollback(self) -> None:
        _remove(self.library, self.files)
        self.commit()


def _remove(library: Path, names: list[str]) -> None:
    for name in names:
        if "/" not in name and name not in ("", ".", ".."):
            (library / name).unlink(missing_ok=True)


def recover(settings, live_docs: set[str] | None = None) -> list[str]:
    """Settle journals of dead ingest processes; the files rolled back. `live_docs`: doc ids of the
    CURRENT index (read from its manifest when not given)."""
    library = Path(settings.data_dir) / "library"
    out: list[str] = []
    for j in sorted(library.glob(".ingest-*.json")) if library.is_dir() else []:
        m = _NAME.fullmatch(j.name)
        if not m or lease.pid_alive(int(m.group(1))):
            continue
        try:
            data = json.loads(j.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {"files": [], "docs": []}
        docs = live_docs if live_docs is not None else _current_docs(settings)
        if data.get("docs") and set(data["docs"]) <= docs:
            j.unlink(missing_ok=True)  # the build had switched: committed
            continue
        _remove(library, data.get("files") or [])
        out += data.get("files") or []
        j.unlink(missing_ok=True)
    return out


def _current_docs(settings) -> set[str]:
    from .versions import current_version

    version = current_version(settings)
    try:
        manifest = json.loads((settings.index_root / version / "manifest.json").read_text()) if version else {}
    except (OSError, ValueError):
        manifest = {}
    return set(manifest.get("documents") or [])
