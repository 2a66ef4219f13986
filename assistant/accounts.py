"""Login accounts and their roles (ASSISTANT_AUTH).

    ASSISTANT_AUTH="alice:s3cret:admin,bob:pw"    # or a file with one user:password[:role] per line

A role is the text after the last ":" when it is one of ROLES; otherwise the whole rest is the password,
so every setting written before roles existed ("bob:pw:with:colons") reads as before, with the role
`user`. (A password that really ends in ":admin" or ":user" needs an explicit role: "bob:x:admin:user".)
Only `admin` may change the library (upload, replace, remove) when login is on; with login off,
`Settings.library_edit_without_login` decides (a local single-user set-up may, by default).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["ROLES", "ADMIN", "Accounts", "parse_auth", "may_edit_library"]

ADMIN, USER = "admin", "user"
ROLES = (ADMIN, USER)


class Accounts(list):
    """(user, password) pairs, as the login checks have always taken them, plus each user's role."""

    def __init__(self, entries: list[tuple[str, str, str]] = ()):
        super().__init__((u, p) for u, p, _ in entries)
        self.roles = {u: r for u, _, r in entries}

    def role(self, user: str | None) -> str | None:
        return self.roles.get(user) if user else None


def _entry(e: str, where: str) -> tuple[str, str, str]:
    user, sep, rest = e.partition(":")
    password, role = rest, USER
    head, sep2, tail = rest.rpartition(":")
    if sep2 and head and tail in ROLES:
        password, role = head, tail
    if not sep or not user or not password:
        raise ValueError(f"{where}: expected user:password[:role] entries, got {e.split(':')[0]!r}:…")
    return user, password, role


def parse_auth(value: str | None) -> Accounts | None:
    """ASSISTANT_AUTH: "user:pass[:role],…" or a path to a file with one user:pass[:role] per line."""
    if not value or not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if path.is_file():
        entries, where = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()], str(path)
    else:
        entries, where = [e.strip() for e in value.split(",")], "ASSISTANT_AUTH"
    parsed = [_entry(e, where) for e in entries if e and not e.startswith("#")]
    if not parsed:
        raise ValueError(f"{where}: no user:password entries")
    return Accounts(parsed)


def may_edit_library(accounts: list | None, user: str | None, settings=None) -> bool:
    """May this user upload, replace or remove documents? Admins only when login is on."""
    if not accounts:
        return bool(getattr(settings, "library_edit_without_login", True))
    roles = getattr(accounts, "roles", {})
    return bool(user) and roles.get(user) == ADMIN
