"""Read guideline files of any supported format into plain text plus metadata.

The text returned here is what citations point into (character spans), so every loader
returns exactly the text that is stored with the index.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from .model import InputError, SourceMeta

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
_CJK = r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})[ \t]+(?={_CJK})")


class DocumentError(InputError):
    """A file that cannot be ingested (unsupported, unreadable, empty, not UTF-8)."""


def _read_utf8(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DocumentError(f"{path}: cannot read file ({e.strerror})") from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DocumentError(f"{path}: not UTF-8 text (byte {e.start}); convert it to UTF-8 first") from e


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
        tag.decompose()
    lines = (ln.strip() for ln in soup.get_text("\n").splitlines())
    return "\n".join(ln for ln in lines if ln)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [p.extract_text() or "" for p in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError) as e:
        raise DocumentError(f"{path}: unreadable PDF ({e})") from e
    # pypdf puts spaces between CJK characters; they are not in the document.
    return "\n".join(_SPACE_BETWEEN_CJK.sub("", p) for p in pages)


def _docx_text(path: Path) -> str:
    import zipfile

    import docx
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    try:
        document = docx.Document(str(path))
    # A file that is not a zip at all raises PackageNotFoundError (an OpcError); broken XML inside
    # the zip raises an lxml error. Both are unreadable documents, not crashes.
    except (zipfile.BadZipFile, KeyError, ValueError, OpcError, LxmlError) as e:
        raise DocumentError(f"{path}: unreadable DOCX ({e})") from e
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            lines.append(" | ".join(c for c in cells if c))
    return "\n".join(ln for ln in lines if ln.strip())


def read_text(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(f"{path}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    if suffix in (".txt", ".md", ".markdown"):
        text = _read_utf8(path)
    elif suffix in (".html", ".htm"):
        text = _html_text(_read_utf8(path))
    elif suffix == ".pdf":
        text = _pdf_text(path)
    else:
        text = _docx_text(path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise DocumentError(f"{path}: contains NUL bytes; not a text document")
    if not text.strip():
        raise DocumentError(f"{path}: no text found (scanned PDF or empty file?)")
    return text


def sidecar_path(path: Path) -> Path:
    """`guide.zh.txt` -> `guide.zh.meta.json`: metadata lives beside the file it describes."""
    return path.with_name(path.stem + ".meta.json") if path.suffix else path.with_name(path.name + ".meta.json")


def slug(path: Path) -> str:
    name = path.name.split(".")[0]
    s = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", name).strip("-").lower()
    return s or "doc"


def read_meta(path: Path, overrides: dict | None = None) -> SourceMeta:
    data: dict = {}
    side = sidecar_path(path)
    if side.exists():
        try:
            data = json.loads(_read_utf8(side))
        except json.JSONDecodeError as e:
            raise DocumentError(f"{side}: invalid JSON metadata ({e.msg}, line {e.lineno})") from e
    data.update({k: v for k, v in (overrides or {}).items() if v not in (None, "")})
    known = {f for f in SourceMeta.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise DocumentError(f"{side}: unknown metadata keys {sorted(unknown)}; known: {sorted(known)}")
    data.setdefault("doc_id", slug(path))
    data.setdefault("title", path.stem)
    data.setdefault("original_file", path.name)
    return replace(SourceMeta(**data), path=str(path))


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into their document files (sidecars and hidden files are not documents)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith(".") and not f.name.endswith(".meta.json"):
                    found.append(f)
        else:
            found.append(p)
    return found
