"""Index versions on disk and in Chroma: the CURRENT pointer per configuration (flipped atomically), collection
names, and garbage collection of versions, collections and killed builds that nobody can still be using (no
lease, no pointer, the building process gone). assistant.index builds and opens versions; this is their store."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from . import lease, orphans
from .config import Settings
from .embed import get_embedder

_VERSION = re.compile(r"[0-9a-f]{12}")
_TMP = re.compile(r"\.tmp-([0-9a-f]{12})-(\d+)")


def chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=int(settings.chroma_port or 8000), settings=cs)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=cs)


def chunking_label(settings: Settings, chunking: str) -> str:
    return f"sent{settings.chunk_chars}" if chunking == "sentences" else chunking


def collection_name(settings: Settings, version: str) -> str:
    """`<embedder>-<version>`: the version must survive intact (`collect` reads it back from the name),
    so a long model name is shortened instead, and characters Chroma refuses become "-"."""
    emb = re.sub(r"[^A-Za-z0-9.-]+", "-", get_embedder(settings.embedder).name).strip("-.") or "embedder"
    return f"{emb[:60 - len(version) - 1].rstrip('-.')}-{version}"


def _pointer(settings: Settings, chunking: str) -> Path:
    """One CURRENT pointer per (chunking, embedder): each configuration has its own live version."""
    emb = settings.embedder.replace(":", "_").replace("/", "_")
    return settings.index_root / f"CURRENT-{chunking_label(settings, chunking)}-{emb}"


def current_version(settings: Settings, chunking: str = "sentences") -> str | None:
    ptr = _pointer(settings, chunking)
    try:
        return ptr.read_text().strip() or None
    except FileNotFoundError:
        return None


def pointer_path(settings: Settings, chunking: str = "sentences") -> Path:
    """The CURRENT pointer file a server watches (its stat changes on every flip: os.replace)."""
    return _pointer(settings, chunking)


def flip(settings: Settings, chunking: str, version: str) -> None:
    ptr = _pointer(settings, chunking)
    ptr_tmp = ptr.with_suffix(f".tmp{os.getpid()}")
    ptr_tmp.write_text(version)
    os.replace(ptr_tmp, ptr)


def is_complete(root: Path) -> bool:
    return (root / "manifest.json").is_file()


def collection_exists(settings: Settings, client, root: Path) -> bool:
    try:
        client.get_collection(json.loads((root / "manifest.json").read_text())["collection"])
        return True
    except Exception:  # noqa: BLE001 - missing collection or unreadable manifest: rebuild
        return False


def gc(settings: Settings) -> None:
    """Remove what no pointer names and nobody uses (a server calls it after letting go of an old version)."""
    if settings.index_root.is_dir():
        collect(settings, chroma_client(settings), keep=set())


def collect(settings: Settings, client, keep: set[str]) -> None:
    """Drop leftovers of interrupted builds and versions no pointer refers to, unless someone still uses them.

    - a version dir goes only if no CURRENT pointer names it and we get its lease exclusively (no reader);
      its collection goes with it, while that lock is held, so nobody can open it half-deleted;
    - a `.tmp-<version>-<pid>` dir goes only when process <pid> is gone (a build still running keeps it).
    Only collections of versions this data dir built are dropped: a shared `chroma run` server also holds
    other users' collections.
    """
    root = settings.index_root
    live = {p.read_text().strip() for p in root.glob("CURRENT-*") if p.is_file()} | keep
    dropped: set[str] = set()
    busy: set[str] = set()
    for d in sorted(root.iterdir()):
        if not d.is_dir():
            continue
        m = _TMP.fullmatch(d.name)
        if m:
            if lease.pid_alive(int(m.group(2))):
                busy.add(m.group(1))
            else:
                shutil.rmtree(d, ignore_errors=True)
                dropped.add(m.group(1))
        elif _VERSION.fullmatch(d.name) and d.name not in live:
            with lease.exclusive(root, d.name) as ex:
                if ex is None:
                    busy.add(d.name)  # a server (or this process) still answers from it
                    continue
                shutil.rmtree(d, ignore_errors=True)
                _drop_collections(client, {d.name})
                lease.forget(ex)
    _drop_collections(client, dropped - live - busy)
    orphans.sweep(settings, client, protected=live | busy)  # killed builds' collections and segment folders
    leases = root / lease.LEASE_DIR
    for f in sorted(leases.glob("*.lock")) if leases.is_dir() else []:  # leases of versions long gone
        v = f.stem
        if _VERSION.fullmatch(v) and not (root / v).exists() and v not in busy:
            with lease.exclusive(root, v) as ex:
                if ex is not None:
                    lease.forget(ex)


def _drop_collections(client, versions: set[str]) -> None:
    if not versions:
        return
    try:
        for c in client.list_collections():
            cname = c if isinstance(c, str) else c.name
            m = re.fullmatch(r".+-([0-9a-f]{12})", cname)
            if m and m.group(1) in versions:
                client.delete_collection(cname)
    except Exception:  # noqa: BLE001 - best effort; a server may refuse listing
        pass
