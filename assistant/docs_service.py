"""The library as a running server offers it: one home for REST /api/docs and the Documents tab.

Listing describes the version this server is serving (its pinned index and rules). Changes check the
role first (admins only when login is on: assistant.accounts), the upload limits (size, type; a malformed
file is a clear error), then go through assistant.library, and finally switch this server to the new
version before answering, so the next question already sees it (other servers pick it up on their next
request).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .accounts import may_edit_library
from .catalog import Snapshot, doc_detail, doc_rows
from .loaders import SUPPORTED
from .model import InputError

__all__ = ["DocsService", "Forbidden", "Rejected", "safe_name"]
SWITCH_WAIT_S = 120.0  # at most this long for the new version to open before answering with the old one


class Forbidden(PermissionError):
    """The user may read the library but not change it (HTTP 403)."""


class Rejected(InputError):
    """A request the library refuses, with the HTTP status that says why (400, 404, 413, 415)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def safe_name(name: str) -> str:
    """An uploaded file's own name, without any directory part or characters a path must not hold."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f/:*?\"<>|]+", "_", base).strip(" .")
    return base[:120] or "upload"


class DocsService:
    """List, show, upload, replace and remove documents for one server's Assistant."""

    def __init__(self, assistant, accounts: list | None = None):
        self.assistant = assistant
        self.accounts = accounts
        self.settings = assistant.settings

    # -- reading ------------------------------------------------------------------------------
    def listing(self) -> dict[str, Any]:
        with self.assistant.pinned() as serving:
            snap = Snapshot.of(serving.index, self.settings)
            return {"index_version": snap.version, "documents": doc_rows(snap, serving.rules),
                    "rules_disabled": list(getattr(serving.rules, "disabled", []))}

    def detail(self, doc_id: str) -> dict[str, Any]:
        with self.assistant.pinned() as serving:
            d = doc_detail(Snapshot.of(serving.index, self.settings), serving.rules, doc_id)
        if d is None:
            raise Rejected(f"no document {doc_id!r} in the index; GET /api/docs lists them", 404)
        return d

    def may_edit(self, user: str | None) -> bool:
        return may_edit_library(self.accounts, user, self.settings)

    # -- changing -----------------------------------------------------------------------------
    def upload(self, path: Path, user: str | None, meta: dict | None = None, rules: Path | None = None,
               name: str | None = None) -> dict[str, Any]:
        """Add one new document (its doc id must be free); `name`: the uploaded file's own name."""
        from .library import ingest

        with self._staged(path, user, name, rules) as staging:
            doc, rules_copy = staging.files
            try:
                change = ingest(self.settings, [doc], meta or {}, rules_copy, progress=False, new_only=True)
            except InputError as e:
                raise Rejected(staging.clean(str(e))) from None
            change.added = [staging.clean(a) for a in change.added]
            if change.failed:
                raise Rejected(staging.clean(" ".join(change.failed)), 409 if "already in" in change.failed[0] else 400)
        return self._finish(change)

    def replace(self, doc_id: str, path: Path, user: str | None, meta: dict | None = None,
                rules: Path | None = None, name: str | None = None, force: bool = False) -> dict[str, Any]:
        from .library import ingest

        with self._staged(path, user, name, rules) as staging:
            doc, rules_copy = staging.files
            try:
                change = ingest(self.settings, [doc], meta or {}, rules_copy, replace_id=doc_id, force=force,
                                progress=False)
            except InputError as e:
                status = 404 if str(e).startswith("no document") else 400
                raise Rejected(staging.clean(str(e)), status) from None
            change.added = [staging.clean(a) for a in change.added]
        return self._finish(change)

    def remove(self, doc_id: str, user: str | None, force: bool = False) -> dict[str, Any]:
        from .library import remove

        self.check_role(user)
        return self._finish(remove(self.settings, doc_id, force=force, progress=False))

    def check_role(self, user: str | None) -> None:
        if not self.may_edit(user):
            raise Forbidden("only an admin may change the library" if self.accounts else
                            "changing the library is switched off on this server (library_edit_without_login)")

    def _staged(self, path: Path, user: str | None, name: str | None, rules: Path | None):
        """Role and limits checked, the upload copied under its own name into a private temp dir."""
        self.check_role(user)
        name = safe_name(name or Path(path).name)
        if Path(name).suffix.lower() not in SUPPORTED:
            raise Rejected(f"{name}: unsupported file type {Path(name).suffix or '(none)'}; "
                           f"supported: {', '.join(SUPPORTED)}", 415)
        for p in (path, rules):
            if p is not None and Path(p).stat().st_size > self.settings.max_upload_bytes:
                raise Rejected(f"{safe_name(Path(p).name)} is larger than "
                               f"{self.settings.max_upload_bytes // (1024 * 1024)} MiB", 413)
        return _Staging(Path(path), name, rules)

    def _finish(self, change) -> dict[str, Any]:
        """The change, answered once this server serves its version (the next question already sees it)."""
        out = change.to_dict()
        target = change.report.version if change.report is not None else None
        deadline = time.monotonic() + SWITCH_WAIT_S
        serving = self.assistant.refresh()
        while target and serving != target and time.monotonic() < deadline:
            time.sleep(0.1)  # a request opened it in the background first: wait for that
            serving = self.assistant.refresh()
        out["serving"] = serving
        return out


class _Staging:
    """A private temp dir holding the upload (and its rules file) under safe names; removed afterwards."""

    def __init__(self, path: Path, name: str, rules: Path | None):
        self.path, self.name, self.rules = path, name, rules
        self.dir: Path | None = None

    def __enter__(self) -> "_Staging":
        self.dir = Path(tempfile.mkdtemp(prefix="docs-upload-"))  # 0700
        doc = self.dir / self.name
        shutil.copyfile(self.path, doc)
        rules = None
        if self.rules is not None:
            (self.dir / "rules").mkdir()
            rules = self.dir / "rules" / "upload.rules.yaml"
            shutil.copyfile(self.rules, rules)
        self.files = (doc, rules)
        return self

    def clean(self, text: str) -> str:
        """A message without the private staging path: the user knows the file by its own name."""
        return text.replace(f"{self.dir}/rules/", "").replace(f"{self.dir}/", "").replace("\n", " ")

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
