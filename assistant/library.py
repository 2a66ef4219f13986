"""Changing the guideline library: add, replace and remove documents, then rebuild the index.

Used alike by `assistant ingest [--replace ID]`, `assistant docs remove ID`, REST /api/docs and the
Documents tab. Every change runs under one library lock (a `flock` on `<data_dir>/.library.lock`, so a
CLI ingest and a server upload never interleave) and ends in `index.build`: the crash-safe, versioned path
whose CURRENT flip a running server picks up on its next request (requests finish on the version they
started on). A removal is recorded first (`provenance.mark_removed`) and the files are moved out of the
library (to `<data_dir>/removed/`) only after the new version is live, so an interrupted removal leaves
the old index and its rules as they were; the next build completes it.

Rules quoting a removed or replaced document stop speaking (the rule loader leaves them out when their
document or quote is not in the index) and are reported in the `Change`, never silently kept.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

from . import provenance
from .catalog import Snapshot, load_rules, rules_of
from .config import Settings
from .documents import source_paths
from .index import BuildReport, build
from .ingest_journal import Journal, recover
from .loaders import SUPPORTED, DocumentError, discover, read_meta, read_text, rules_beside, sidecar_path
from .model import InputError, SourceMeta
from .guard.rulebook import doc_id as rule_doc_id

__all__ = ["Change", "locked", "ingest", "remove", "restore", "find"]
LOCK_FILE = ".library.lock"


@dataclass
class Change:
    """What one library change did: files added or refused, the document taken out, rules that stopped."""

    action: str  # ingest | replace | remove
    added: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)  # of the documents added or put in place
    failed: list[str] = field(default_factory=list)
    removed: dict | None = None  # provenance of the document taken out (remove, replace)
    moved_to: str = ""  # where its files went (clinic documents)
    rules_stopped: list[dict] = field(default_factory=list)  # rules quoting it that no longer speak
    rules_kept: list[dict] = field(default_factory=list)  # (replace) rules whose quote the new text still has
    report: BuildReport | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.report is not None:
            r = self.report
            d["report"] = {"version": r.version, "built": r.built, "documents": r.documents, "skipped": r.skipped,
                           "passages": r.passages, "seconds": round(r.seconds, 2), "understood": r.understood,
                           "notes": r.notes, "set_aside": len(r.removals)}
        return d


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """One library change at a time, across processes (blocking)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def find(settings: Settings, doc_id: str) -> tuple[Path | None, bool]:
    """The file a build indexes under `doc_id` (removed ones excluded) and whether it is a seed."""
    for p in source_paths(settings):
        try:
            if read_meta(p).doc_id == doc_id:
                return p, provenance.is_seed(settings, p)
        except DocumentError:
            continue
    return None, False


# ----------------------------------------------------------------------------------------- adding
@dataclass
class _Plan:
    """A validated file, ready to be copied into the library."""

    path: Path
    meta: SourceMeta
    dest: Path
    rules: Path | None


def _plan(path: Path, overrides: dict, rules: Path | None, settings: Settings, taken: dict[str, Path],
          doc_id: str | None = None, new_only: bool = False) -> tuple[_Plan | None, str]:
    """Check one file before anything is copied: (plan, "") or (None | plan, message); None + message: refused."""
    if path.suffix.lower() not in SUPPORTED:
        return None, f"{path}: unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
    try:
        meta = read_meta(path, overrides)
        text = read_text(path)  # validate before anything is copied: a bad file never reaches the index
    except DocumentError as e:
        return None, str(e)
    library = settings.data_dir / "library"
    if doc_id:
        meta = replace(meta, doc_id=doc_id)
    inside = path.resolve().is_relative_to(library.resolve())  # re-ingesting the library's own copy
    meta = replace(meta, added_by=provenance.CLINIC, sha256=provenance.sha256_file(path),
                   original_file=meta.original_file if inside else path.name,
                   added_at=meta.added_at if inside and meta.added_at else provenance.today())
    dest = library / f"{meta.doc_id}{''.join(path.suffixes[-1:]).lower()}"
    owner = taken.get(meta.doc_id)
    if new_only and owner is not None:
        return None, f"{path.name}: document {meta.doc_id!r} is already in the library; replace it instead"
    if owner is not None and owner.resolve() == path.resolve():
        return _Plan(path, meta, dest, None), f"{path} -> {meta.doc_id} (already indexed)"
    if owner is not None and owner.resolve() != dest.resolve():
        return None, (f"{path}: doc_id {meta.doc_id!r} is already used by {owner}; give this file another doc_id in "
                      f"{sidecar_path(path).name}, or use --replace {meta.doc_id}")
    rules = rules if rules is not None else rules_beside(path)
    if rules is not None:
        from .guard.rulebook import check_files

        problems, _ = check_files([rules], texts={path.name: text, meta.doc_id: text, dest.name: text})
        if problems:
            return None, f"{rules}: rules rejected, document not added:\n  " + "\n  ".join(problems)
    return _Plan(path, meta, dest, rules), ""


def _commit(plan: _Plan, settings: Settings, taken: dict[str, Path], journal: Journal | None = None) -> str:
    """Copy the file, its provenance sidecar and its rules into the library; each new file is recorded in
    the ingest journal before it is written, so a killed ingest's copies are rolled back by the next one."""
    library = plan.dest.parent
    library.mkdir(parents=True, exist_ok=True)
    taken[plan.meta.doc_id] = plan.dest
    note = journal.add if journal is not None else (lambda dest, doc_id="": None)
    if plan.path.resolve() != plan.dest.resolve():
        note(plan.dest, plan.meta.doc_id)
        shutil.copyfile(plan.path, plan.dest)
    side = asdict(plan.meta)
    side.pop("path")
    note(sidecar_path(plan.dest), plan.meta.doc_id)
    sidecar_path(plan.dest).write_text(json.dumps(side, ensure_ascii=False, indent=1), encoding="utf-8")
    own_rules = library / f"{plan.meta.doc_id}.rules.yaml"
    if plan.rules is not None and plan.rules.resolve() != own_rules.resolve():
        note(own_rules, plan.meta.doc_id)
        shutil.copyfile(plan.rules, own_rules)
    if _removed_clinic(settings, plan.meta.doc_id):  # added again after an interrupted removal
        provenance.unmark_removed(settings, plan.meta.doc_id)
    return f"{plan.path} -> {plan.meta.doc_id}" + (f" (rules: {plan.rules.name})" if plan.rules else "")


def _removed_clinic(settings: Settings, doc_id: str) -> bool:
    return provenance.removed(settings).get(doc_id, {}).get("added_by") == provenance.CLINIC


def _taken(settings: Settings) -> dict[str, Path]:
    taken: dict[str, Path] = {}
    for existing in source_paths(settings):
        try:
            taken.setdefault(read_meta(existing).doc_id, existing)
        except DocumentError:
            pass  # reported by the build
    return taken


def ingest(settings: Settings, paths: list[Path], overrides: dict | None = None, rules: Path | None = None,
           replace_id: str | None = None, force: bool = False, progress: bool | None = None,
           new_only: bool = False) -> Change:
    """Add files to the library (or, with `replace_id`, put one file in that document's place) and rebuild.
    `force`: rebuild even if nothing changed, and allow replacing a seed document; `new_only`: refuse a file
    whose doc id is taken (an upload never overwrites a document silently)."""
    overrides = overrides or {}
    with locked(settings):
        files = discover([Path(p) for p in paths])
        if rules is not None and len(files) != 1:
            raise InputError("--rules goes with exactly one document")
        if replace_id is not None:
            return _replace(settings, files, overrides, rules, replace_id, force, progress)
        recover(settings)  # a killed ingest's copies are rolled back before anything reads the library
        journal = Journal(settings.data_dir / "library")
        change, taken = Change("ingest"), _taken(settings)
        for path in files:
            plan, msg = _plan(path, overrides, rules, settings, taken, new_only=new_only)
            if plan is None:
                change.failed.append(f"{msg}; skipped")
            else:
                change.added.append(msg or _commit(plan, settings, taken, journal))
                change.doc_ids.append(plan.meta.doc_id)
        try:
            change.report = build(settings, progress=progress, force=force)
        except BaseException:
            journal.rollback()  # the copies go with the build that failed
            raise
        journal.commit()
        return change


def _refuse_seed(doc_id: str, seed: bool, force: bool, doing: str) -> None:
    """A seed document shipped in corpus/ changes only with `force`."""
    if seed and not force:
        raise InputError(f"{doc_id!r} is a seed document shipped in corpus/; {doing} it needs --force "
                         "(REST: force=true)")


def _replace(settings: Settings, files: list[Path], overrides: dict, rules: Path | None, doc_id: str,
             force: bool, progress: bool | None) -> Change:
    if len(files) != 1:
        raise InputError("--replace goes with exactly one document")
    old, seed = find(settings, doc_id)
    if old is None:
        raise InputError(f"no document {doc_id!r} to replace; `assistant docs list` shows the ids")
    _refuse_seed(doc_id, seed, force, "replacing")
    taken = _taken(settings)
    taken.pop(doc_id, None)
    plan, msg = _plan(files[0], overrides, rules, settings, taken, doc_id=doc_id)
    if plan is None or msg:
        raise InputError(msg.replace("\n", " "))
    before = _quoting(settings, doc_id)
    old_meta = provenance.stamp(read_meta(old), old, settings)
    change = Change("replace", removed=_public(old_meta))
    if seed:
        provenance.mark_removed(settings, old_meta)
    else:  # the old copy is kept aside; its rules file stays for the new text (checked again below)
        change.moved_to = str(_move_out(settings, old, doc_id, keep_rules=plan.rules is None))
    change.added.append(_commit(plan, settings, taken))
    change.doc_ids.append(doc_id)
    change.report = build(settings, progress=progress)
    after = _quoting(settings, doc_id, disabled=True)
    kept_ids = {r["id"] for r in after if not r.get("reason")}
    change.rules_kept = [r for r in after if not r.get("reason")]
    stopped = {r["id"]: r for r in before if r["id"] not in kept_ids}
    stopped |= {r["id"]: r for r in after if r.get("reason")}  # e.g. a new rules file naming another document
    change.rules_stopped = list(stopped.values())
    return change


# ----------------------------------------------------------------------------------------- removing
def remove(settings: Settings, doc_id: str, force: bool = False, progress: bool | None = None) -> Change:
    """Take one document out of the index; a seed needs `force`. Its files go to <data_dir>/removed/."""
    with locked(settings):
        path, seed = find(settings, doc_id)
        if path is None:
            raise InputError(f"no document {doc_id!r} in the library; `assistant docs list` shows the ids")
        _refuse_seed(doc_id, seed, force, "removing")
        meta = provenance.stamp(read_meta(path), path, settings)
        change = Change("remove", removed=_public(meta), rules_stopped=_quoting(settings, doc_id))
        provenance.mark_removed(settings, meta)
        try:
            change.report = build(settings, progress=progress)
        except DocumentError:
            provenance.unmark_removed(settings, doc_id)
            raise InputError(f"{doc_id!r} is the last document: the index cannot be empty") from None
        except BaseException:
            provenance.unmark_removed(settings, doc_id)  # nothing changed: the old version still serves
            raise
        if not seed:  # live without it: now its files (and rules) may leave the library
            change.moved_to = str(_move_out(settings, path, doc_id))
            provenance.unmark_removed(settings, doc_id)
        return change


def restore(settings: Settings, doc_id: str, progress: bool | None = None) -> Change:
    """Put a removed seed document back (clinic documents are added again with `assistant ingest`)."""
    with locked(settings):
        entry = provenance.removed(settings).get(doc_id)
        if entry is None or entry.get("added_by") != provenance.SEED:
            raise InputError(f"{doc_id!r} is not a removed seed document; add a clinic file again with `assistant ingest`")
        if doc_id in _taken(settings):
            raise InputError(f"{doc_id!r} is in use by a clinic document (it replaced the seed); remove that first")
        provenance.unmark_removed(settings, doc_id)
        change = Change("restore", added=[f"{entry.get('original_file', doc_id)} -> {doc_id} (seed)"], doc_ids=[doc_id])
        change.report = build(settings, progress=progress)
        return change


def _move_out(settings: Settings, path: Path, doc_id: str, keep_rules: bool = False) -> Path:
    """Move a clinic document, its sidecar and (unless `keep_rules`) its rules file to <data_dir>/removed/."""
    dest = settings.data_dir / "removed" / f"{time.strftime('%Y%m%d-%H%M%S')}-{doc_id}"
    dest.mkdir(parents=True, exist_ok=True)
    moving = [path, sidecar_path(path)]
    if not keep_rules:
        moving += [path.parent / f"{doc_id}.rules.yaml", path.parent / f"{doc_id}.rules.yml"]
    for f in moving:
        if f.is_file():
            shutil.move(f, dest / f.name)
    return dest


def _quoting(settings: Settings, doc_id: str, disabled: bool = False) -> list[dict]:
    """Rules quoting `doc_id` in the CURRENT version (rules as the server loads them); with `disabled`,
    also those left out for it, each with its `reason`."""
    try:
        snap = Snapshot.read(settings)
    except FileNotFoundError:
        return []
    rules, _ = load_rules(settings, snap.texts)
    out = rules_of(rules, doc_id, snap.sources)
    if disabled and rules is not None:
        out += [{"id": d["rule_id"], "where": d["where"], "reason": d["reason"]} for d in rules.disabled
                if d["document"] == doc_id or rule_doc_id(d["document"]) == doc_id]
    return out


def _public(meta: SourceMeta) -> dict:
    d = asdict(meta)
    d.pop("path", None)
    return d
