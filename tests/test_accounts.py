"""ASSISTANT_AUTH roles (issue 14): backward compatible entries, the admin role, who may change the library;
and the upload file names the server keeps (plumbing units, no server)."""
from __future__ import annotations

import pytest

from assistant.accounts import may_edit_library, parse_auth
from assistant.config import Settings
from assistant.docs_service import safe_name


def test_entries_without_a_role_read_as_before():
    users = parse_auth("a:1, b:pw:with:colons")
    assert users == [("a", "1"), ("b", "pw:with:colons")]  # what the login checks iterate
    assert users.role("a") == "user" and users.role("b") == "user"


def test_a_trailing_known_role_is_the_role():
    users = parse_auth("root:s3cret:admin,doc:pw:user,odd:x:admin:user")
    assert users == [("root", "s3cret"), ("doc", "pw"), ("odd", "x:admin")]
    assert [users.role(u) for u in ("root", "doc", "odd", "nobody")] == ["admin", "user", "user", None]
    for bad in (":pw:admin", "nocolon", "a:"):
        with pytest.raises(ValueError):
            parse_auth(bad)


def test_only_admins_change_the_library_when_login_is_on():
    users = parse_auth("root:pw:admin,doc:pw")
    assert may_edit_library(users, "root") and not may_edit_library(users, "doc")
    assert not may_edit_library(users, None) and not may_edit_library(users, "stranger")
    assert may_edit_library(None, None, Settings())  # login off: a local set-up may, by default
    assert not may_edit_library(None, None, Settings(library_edit_without_login=False))


@pytest.mark.parametrize("name, kept", [("../../etc/passwd.md", "passwd.md"), ("C:\\x\\guide.pdf", "guide.pdf"),
                                        ("a\x00b.md", "a_b.md"), ("", "upload"), ("指南 2025.md", "指南 2025.md")])
def test_upload_names_lose_any_directory(name, kept):
    assert safe_name(name) == kept


@pytest.mark.integration
def test_documents_tab_changes_only_for_admins(assistant):
    """The tab's handlers check the role on the server (hidden controls are only for the eye)."""
    import gradio as gr

    from assistant.web.docs_tab import DocsTab

    users = parse_auth("root:pw:admin,doc:pw")
    with gr.Blocks():
        with gr.Tabs():
            tab = DocsTab(assistant, users)
    assert tab.open_to_all is False  # with login on, nobody sees the controls before the role is known
    seed = "aspn-2024-regenerative-chronic-pain"
    assert tab._view(seed, "en", "doc")[3]["visible"] is False
    assert tab._view(seed, "en", "root")[3]["visible"] is True
    before = assistant.index.version
    out = tab._change("remove", None, None, "", True, seed, "en", "doc")
    assert "only an admin" in out[-1] and assistant.index.version == before
    assert seed in {d["doc_id"] for d in tab.service.listing()["documents"]}
