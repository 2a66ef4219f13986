"""REST /api/docs on a real `assistant serve` with login and roles (issue 14), driven by httpx.

A user may list and read documents; only the admin role may upload, replace and remove. Uploads keep
the input limits (size, type, a clear 4xx for a malformed file), and each change is answered only once
this server serves the new version: the next question already cites (or no longer cites) the document.
"""
from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import own_data_dir  # noqa: E402
from conftest_app import running_server  # noqa: E402

pytestmark = pytest.mark.integration
ADMIN, CLINICIAN = ("root", "r00t-pw"), ("doc", "doc-pw")
MAX_UPLOAD = 64 * 1024
DOC = "# 足底筋膜冲击波指引\n\n## 疗程\n\n足底筋膜炎冲击波治疗每次间隔 5 天，共 4 次。\n"
DOC_V2 = "# 足底筋膜冲击波指引（第二版）\n\n## 疗程\n\n足底筋膜炎冲击波治疗每次间隔 6 天，共 3 次。\n"
QUESTION = "足底筋膜炎冲击波治疗每次间隔多久?"
SEED = "aspn-2024-regenerative-chronic-pain"


@pytest.fixture(scope="module")
def url(settings, tmp_path_factory):
    data = own_data_dir(settings, tmp_path_factory, "docs-rest")
    auth = f"{ADMIN[0]}:{ADMIN[1]}:admin,{CLINICIAN[0]}:{CLINICIAN[1]}"
    with running_server(data, tmp_path_factory.mktemp("log") / "docs-rest.log", ASSISTANT_AUTH=auth,
                        ASSISTANT_MAX_UPLOAD_BYTES=str(MAX_UPLOAD)) as u:
        yield u


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=600) as c:
        yield c


def cited(http, doc_id: str) -> list[str]:
    r = http.post("/api/ask", json={"turns": [QUESTION]}, auth=CLINICIAN)
    assert r.status_code == 200, r.text
    return [c["quote"] for c in r.json()["citations"] if c["doc_id"] == doc_id]


def test_reading_needs_a_login_but_no_role(http):
    assert http.get("/api/docs").status_code == 401
    r = http.get("/api/docs", auth=CLINICIAN)
    assert r.status_code == 200
    docs = {d["doc_id"]: d for d in r.json()["documents"]}
    assert docs[SEED]["added_by"] == "seed" and len(docs[SEED]["sha256"]) == 64
    one = http.get(f"/api/docs/{SEED}", auth=CLINICIAN)
    assert one.status_code == 200 and one.json()["rules_attached"]
    assert http.get("/api/docs/no-such-doc", auth=CLINICIAN).status_code == 404


def test_only_an_admin_changes_the_library(http):
    files = {"file": ("plantar-eswt.md", DOC.encode(), "text/markdown")}
    r = http.post("/api/docs", files=files, data={"title": "ASPN 2024 官方更新"}, auth=CLINICIAN)
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert http.delete(f"/api/docs/{SEED}", params={"force": "true"}, auth=CLINICIAN).status_code == 403
    assert http.post("/api/docs", files=files).status_code == 401
    assert not cited(http, "plantar-eswt")

    r = http.post("/api/docs", files=files, data={"title": "ASPN 2024 官方更新"}, auth=ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["doc_ids"] == ["plantar-eswt"] and "/tmp" not in r.json()["added"][0]
    ans = http.post("/api/ask", json={"turns": [QUESTION]}, auth=CLINICIAN).json()
    cit = next(c for c in ans["citations"] if c["doc_id"] == "plantar-eswt")
    assert "间隔 5 天" in cit["quote"]
    assert cit["source_title"] == "ASPN 2024 官方更新 [plantar-eswt.md]" and cit["added_by"] == "clinic"
    assert http.post("/api/docs", files=files, auth=ADMIN).status_code == 409  # an upload never overwrites

    v2 = {"file": ("plantar-eswt-v2.md", DOC_V2.encode(), "text/markdown")}
    assert http.put("/api/docs/plantar-eswt", files=v2, auth=CLINICIAN).status_code == 403
    r = http.put("/api/docs/plantar-eswt", files=v2, auth=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["removed"]["original_file"] == "plantar-eswt.md"
    quotes = " ".join(cited(http, "plantar-eswt"))
    assert "间隔 6 天" in quotes and "间隔 5 天" not in quotes

    r = http.delete(f"/api/docs/{SEED}", auth=ADMIN)  # a seed needs force
    assert r.status_code == 400 and "force" in r.json()["error"]
    r = http.delete("/api/docs/plantar-eswt", auth=ADMIN)
    assert r.status_code == 200 and r.json()["removed"]["doc_id"] == "plantar-eswt"
    assert not cited(http, "plantar-eswt")
    listed = {d["doc_id"] for d in http.get("/api/docs", auth=CLINICIAN).json()["documents"]}
    assert "plantar-eswt" not in listed and SEED in listed
    assert http.delete("/api/docs/plantar-eswt", auth=ADMIN).status_code == 404


@pytest.mark.parametrize("name, body, status, says", [
    ("guide.exe", b"MZ\x90\x00", 415, "unsupported file type"),
    ("guide.md", b"\xff\xfe\x00bad", 400, "UTF-8"),
    ("guide.pdf", b"%PDF-1.4 this is not a pdf", 400, "PDF"),
    ("guide.docx", b"not a zip", 400, "DOCX"),
    ("empty.md", b"   \n", 400, "no text"),
    ("big.md", "很长的指南。".encode() * (MAX_UPLOAD // 10), 413, "larger than"),
    ("../../etc/evil.md", DOC.replace("足底", "踝关节").encode(), 201, ""),
])
def test_upload_limits(http, url, name, body, status, says):
    r = http.post("/api/docs", files={"file": (name, body, "application/octet-stream")}, auth=ADMIN)
    assert r.status_code == status, r.text
    if says:
        assert says in r.json()["error"] and "/tmp" not in r.json()["error"]
    else:  # a path in the file name is dropped: the document is known by its own name only
        assert r.json()["doc_ids"] == ["evil"]
        assert http.delete("/api/docs/evil", auth=ADMIN).status_code == 200


def test_malformed_requests_are_4xx(http):
    assert http.post("/api/docs", data={"title": "no file"}, auth=ADMIN).status_code == 422
    assert http.post("/api/docs", content=b"{not multipart", auth=ADMIN,
                     headers={"Content-Type": "multipart/form-data; boundary=x"}).status_code in (400, 422)
    r = http.put("/api/docs/no-such-doc", files={"file": ("a.md", DOC.encode())}, auth=ADMIN)
    assert r.status_code == 404
