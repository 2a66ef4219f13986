"""Where each indexed document came from: who added it, its original file name, SHA-256 and date added.

Provenance is decided here, at build time, from where the file lies and what it holds, never taken from
a user's metadata sidecar: a file under `corpus/sources/` is `seed`, one in `<data_dir>/library/` is
`clinic`, and the hash is of the bytes indexed. It is written into every index version (`sources.json`),
so answers can show a clinic document's file name next to the title someone typed (`display_title`): a
forged "ASPN 2024 官方更新" title can never pass as the seed guideline.

Removed documents: `<data_dir>/removed.json` lists the doc ids a build leaves out (a seed removed with
`--force` stays listed; a clinic document's entry goes once its files have been moved out of the library).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from .config import Settings
from .model import SourceMeta

__all__ = ["SEED", "CLINIC", "sha256_file", "stamp", "display_title", "is_seed", "removed", "mark_removed",
           "unmark_removed", "kept", "today"]

SEED, CLINIC = "seed", "clinic"
REMOVED_FILE = "removed.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def today() -> str:
    return time.strftime("%Y-%m-%d")


def is_seed(settings: Settings, path: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to((settings.corpus_dir / "sources").resolve())
    except OSError:
        return False


def stamp(meta: SourceMeta, path: Path, settings: Settings) -> SourceMeta:
    """The document's provenance as the index records it: location decides seed/clinic, bytes the hash."""
    seed = is_seed(settings, path)
    added = meta.added_at or ("" if seed else _file_date(path))  # a library copy from before provenance existed
    return replace(meta, added_by=SEED if seed else CLINIC, sha256=sha256_file(path),
                   original_file=meta.original_file or Path(path).name, added_at=added)


def _file_date(path: Path) -> str:
    try:
        return time.strftime("%Y-%m-%d", time.localtime(Path(path).stat().st_mtime))
    except OSError:
        return ""


def display_title(meta: SourceMeta) -> str:
    """The title as answers show it: a clinic document whose title is not just its file name gets the file
    name next to it, so whoever reads a citation sees which upload it really is."""
    if meta.added_by != CLINIC:
        return meta.title
    name = meta.original_file or Path(meta.path).name
    if not name or meta.title in (name, Path(name).stem, name.split(".")[0]):
        return meta.title
    return f"{meta.title} [{name}]"


# ----------------------------------------------------------------------------------------- removed ids
def _removed_path(settings: Settings) -> Path:
    return settings.data_dir / REMOVED_FILE


def removed(settings: Settings) -> dict[str, dict]:
    """doc id -> {removed_at, added_by, sha256, original_file} of documents builds leave out."""
    try:
        data = json.loads(_removed_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(settings: Settings, data: dict[str, dict]) -> None:
    path = _removed_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a killed process leaves the old list or the new one


def mark_removed(settings: Settings, meta: SourceMeta) -> None:
    data = removed(settings)
    data[meta.doc_id] = {"removed_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "added_by": meta.added_by,
                         "sha256": meta.sha256, "original_file": meta.original_file}
    _write(settings, data)


def unmark_removed(settings: Settings, doc_id: str) -> None:
    data = removed(settings)
    if data.pop(doc_id, None) is not None:
        _write(settings, data)


def kept(settings: Settings, paths: list[Path]) -> list[Path]:
    """`paths` without the documents marked removed (their doc id read as the build reads it)."""
    gone = removed(settings)
    if not gone:
        return paths
    from .loaders import DocumentError, read_meta

    out = []
    for p in paths:
        try:  # by id and kind: a seed removed and replaced keeps its id for the clinic's new file
            entry = gone.get(read_meta(p).doc_id)
            if entry is not None and entry.get("added_by", SEED) == (SEED if is_seed(settings, p) else CLINIC):
                continue
        except DocumentError:
            pass  # the build reports it
        out.append(p)
    return out
