"""Read guideline files of any supported format into plain text plus metadata.

The text returned here is what citations point into (character spans), so every loader
returns exactly the text that is stored with the index. Converter markup (MinerU Markdown) is
rendered as text by `markup.clean_markup`; PDF running headers and page numbers stay in the text
(spans must stay exact) but are reported as `noise` spans for normalise to set aside.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from .markup import clean_markup, has_markup, html_table_lines
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


@dataclass(frozen=True)
class LoadedDocument:
    """What a loader read. `text` is the document text every span points into; `offsets[i]` is
    the index in `raw` (the file's text, or the extracted text for HTML/PDF/DOCX) of text[i];
    `noise` holds (start, end, reason) spans of `text` that are not content (PDF page furniture)."""

    text: str
    offsets: list[int]
    kind: str  # "text", "markdown", "html", "pdf", "docx"
    raw: str = ""
    noise: list[tuple[int, int, str]] = field(default_factory=list)


def _html_tables_to_text(soup) -> None:
    """Tables become one sentence per row (see markup.row_lines), captioned like Markdown ones."""
    for table in soup.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        caption = table.find("caption")
        label = caption.get_text(" ", strip=True) if caption else ""
        prev = table.find_previous(string=lambda s: s.strip())
        if not label and prev and re.match(r"(表|Table)\s*\d", prev.strip()):
            label = prev.strip()
        if not label:
            heading = table.find_previous(["h1", "h2", "h3", "h4", "h5", "h6"])
            label = heading.get_text(" ", strip=True) if heading else ""
        rows = ["".join(piece[0] for piece in line) for line in html_table_lines(table, label)]
        table.replace_with("\n" + "\n".join(rows) + "\n")


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
        tag.decompose()
    _html_tables_to_text(soup)
    lines = (ln.strip() for ln in soup.get_text("\n").splitlines())
    return "\n".join(ln for ln in lines if ln)


def _pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [p.extract_text() or "" for p in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError) as e:
        raise DocumentError(f"{path}: unreadable PDF ({e})") from e
    # pypdf puts spaces between CJK characters; they are not in the document.
    return [_SPACE_BETWEEN_CJK.sub("", p).replace("\r\n", "\n").replace("\r", "\n") for p in pages]


_PAGE_NUMBER = re.compile(r"[-–—·•]\s*\d{1,4}\s*[-–—·•]|第\s*\d{1,4}\s*页(\s*[/／,，]?\s*共\s*\d+\s*页)?"
                          r"|(?i:page)\s*\d{1,4}(\s*(?i:of)\s*\d+)?")
_BARE_NUMBER = re.compile(r"\d{1,4}(\s*/\s*\d{1,4})?")
_EDGE = 2  # lines at the top and at the bottom of a page that may be running headers/footers


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def page_furniture(pages: list[list[str]]) -> list[set[int]]:
    """Per page, the indexes of its running-header/footer and page-number lines.

    A line near the top or bottom of a page is furniture when, with its digits normalised, it
    recurs near the edge of at least half the pages (odd and even pages often alternate two
    headers, so "half" rounds down), or when it is a page number ("· 3 ·", "第 3 页", "3")."""
    def edge(lines: list[str]) -> list[int]:
        idx = [i for i, ln in enumerate(lines) if ln.strip()]
        return sorted(set(idx[:_EDGE] + idx[-_EDGE:]))

    def key(line: str) -> str:
        return re.sub(r"\d+", "0", re.sub(r"\s+", "", line))

    counts: dict[str, int] = {}
    for lines in pages:
        for k in {key(lines[i]) for i in edge(lines)}:
            counts[k] = counts.get(k, 0) + 1
    need = max(2, len(pages) // 2)
    out = []
    for lines in pages:
        marked = set()
        for i in edge(lines):
            line = lines[i].strip()
            if (counts[key(line)] >= need and len(pages) > 1) or _PAGE_NUMBER.fullmatch(line) \
                    or (len(pages) > 1 and _BARE_NUMBER.fullmatch(line)):
                marked.add(i)
        out.append(marked)
    return out


_BLOCK_START = re.compile(
    r"[（(]?\d{1,2}[)）.、]|[①-⑳•●▪\-–【]|\[\d{1,3}\]|[一二三四五六七八九十]+、|\d+(\.\d+)+\s"
    r"|(通信作者|通讯作者|DOI|doi|基金项目|收稿日期|引用本文|关键词|摘要|利益冲突|作者贡献|参考文献|注[:：]"
    r"|表\s*\d|图\s*\d|Fund|Corresponding|Received|Key\s*words|Abstract|References|Table\s*\d|Fig)")
_POWER_LOST = re.compile(r"(?<=×)(\s*10)([1-9]|1[0-2])(?=\s*/\s*[LlμumkdgG])")  # "× 109/L" was "× 10⁹/L"


def _wrapped(lines: list[str], i: int, skip: set[int]) -> bool:
    """Line i runs to the right margin (as wide as its neighbours), does not end a sentence, and
    the next line does not start a new block: pypdf broke a paragraph there."""
    if i + 1 >= len(lines) or i in skip or i + 1 in skip:
        return False
    line, nxt = lines[i].strip(), lines[i + 1].strip()
    near = [_width(lines[j].strip()) for j in range(max(0, i - 2), min(len(lines), i + 3)) if j not in skip]
    return (bool(nxt) and _width(line) >= max(30, 0.85 * max(near))
            and not re.search(r"[。！？；：:!?]$", line) and not _BLOCK_START.match(nxt))


def _pdf_document(path: Path) -> LoadedDocument:
    """Page texts joined; lines wrapped at the margin are re-joined so a paragraph is one line."""
    pages = [p.split("\n") for p in _pdf_pages(path)]
    furniture = page_furniture(pages)
    parts: list[str] = []
    offs: list[int] = []
    noise: list[tuple[int, int, str]] = []
    raw_pos = size = 0
    for p, lines in enumerate(pages):
        for i, line in enumerate(lines):
            if i in furniture[p] and line.strip():
                lead = len(line) - len(line.lstrip())
                noise.append((size + lead, size + lead + len(line.strip()), "page header/footer"))
                text, line_offs = line, list(range(raw_pos, raw_pos + len(line)))
            else:
                text, line_offs = _restore_powers(line, list(range(raw_pos, raw_pos + len(line))))
            parts.append(text)
            offs.extend(line_offs)
            raw_pos += len(line)
            size += len(text)
            if i == len(lines) - 1 and p == len(pages) - 1:
                break
            sep = "\n"
            if _wrapped(lines, i, furniture[p]):
                latin = re.search(r"[A-Za-z0-9,.;:)]$", line.strip()) and re.match(r"[A-Za-z0-9(]", lines[i + 1].strip())
                sep = " " if latin else ""
            parts.append(sep)
            offs.extend([raw_pos] * len(sep))
            size += len(sep)
            raw_pos += 1  # the newline between lines (and pages) of the raw extraction
    raw = "\n".join("\n".join(lines) for lines in pages)
    return LoadedDocument("".join(parts), offs, "pdf", raw, noise)


def _restore_powers(text: str, offs: list[int]) -> tuple[str, list[int]]:
    """pypdf drops superscripts: "3.0 × 109/L" is 3.0 × 10^9/L. Insert the "^" (spans stay exact:
    the loader's text is what everything points into)."""
    parts, out, pos = [], [], 0
    for m in _POWER_LOST.finditer(text):
        parts += [text[pos:m.end(1)], "^"]
        out += offs[pos:m.end(1)] + [offs[m.start(2)]]
        pos = m.end(1)
    return "".join(parts) + text[pos:], out + offs[pos:]


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


def _markup_document(raw: str, kind: str) -> LoadedDocument:
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    text, offsets = clean_markup(raw) if has_markup(raw) else (raw, list(range(len(raw))))
    return LoadedDocument(text, offsets, kind, raw)


def read_document(path: Path) -> LoadedDocument:
    """Read any supported file; DocumentError (naming the file) when it cannot be ingested."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(f"{path}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    if suffix in (".txt", ".md", ".markdown"):
        doc = _markup_document(_read_utf8(path), "text" if suffix == ".txt" else "markdown")
    elif suffix in (".html", ".htm"):
        doc = _markup_document(_html_text(_read_utf8(path)), "html")
    elif suffix == ".pdf":
        doc = _pdf_document(path)
    else:
        text = _docx_text(path).replace("\r\n", "\n").replace("\r", "\n")
        doc = LoadedDocument(text, list(range(len(text))), "docx", text)
    if "\x00" in doc.text:
        raise DocumentError(f"{path}: contains NUL bytes; not a text document")
    if not doc.text.strip():
        raise DocumentError(f"{path}: no text found (scanned PDF or empty file?)")
    return doc


def read_text(path: Path) -> str:
    return read_document(path).text


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


_YAML_TITLE = re.compile(r"\A---\n(?:.*\n)*?title:\s*[\"']?(.+?)[\"']?\s*\n(?:.*\n)*?---\n")
_H1 = re.compile(r"^#\s+(\S.*?)\s*#*\s*$", re.M)
TITLE_MAX_CHARS = 200


def document_title(text: str) -> str:
    """The title a document gives itself: its Markdown front matter's `title:`, else its first "# " heading
    ("" when neither). A clinic file without a .meta.json is then named as its authors named it."""
    m = _YAML_TITLE.match(text) or _H1.search(text)
    return m.group(1).strip()[:TITLE_MAX_CHARS] if m else ""


def is_rules_file(path: Path) -> bool:
    """Guard rules beside a document (`<name>.rules.yaml`, `rules.yaml`) are data about it, not a document."""
    return path.name in ("rules.yaml", "rules.yml") or path.name.endswith((".rules.yaml", ".rules.yml"))


def rules_beside(path: Path) -> Path | None:
    """The rules file a clinic keeps next to a guideline: `<stem>.rules.yaml`, else `rules.yaml`."""
    stem = path.name.split(".")[0]
    for cand in (path.with_name(f"{stem}.rules.yaml"), path.with_name("rules.yaml")):
        if cand.is_file():
            return cand
    return None


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into their document files (sidecars, rules files and hidden files are not documents)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and not f.name.startswith(".") and not f.name.endswith(".meta.json")
                        and not is_rules_file(f)):
                    found.append(f)
        else:
            found.append(p)
    return found
