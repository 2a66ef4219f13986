"""Turn converter markup (MinerU-style Markdown: LaTeX fragments, HTML tables, images) into plain text.

PDF-to-Markdown converters write "$1 5 \\mathrm{mg}$" for "15 mg" and tables as HTML; neither reads
as text nor retrieves. `clean_markup` renders them as text and returns an offset map (for every
clean character, the index of the raw character it came from) so a span can be traced back to
the raw file. Generated characters map to the start of the construct they replace.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable

from .latex import circled, render_math

_TIGHT = "，。；：、！？（）【】《》“”‘’/()[]\n"  # no space between these and a rendered formula
ROW_SEP = " · "  # caption · row header · cells: how a table row reads as a sentence (`row_lines`)
_CELL_SEP = "，"  # not ";" or "；": those end a sentence, and a table row must be one sentence
_MARKUP = re.compile(
    r"<table\b|<(?:sup|sub|br)\b|!\[[^\]\n]*\]\(|\\(?:textcircled|mathrm|text)\b|(?<!\\)\$[^$\n]+(?<!\\)\$"
    r"|\*\*\S|^[ \t]*\|.*\|[ \t]*\n[ \t]*\|?[ \t]*:?-{3,}", re.I | re.M)

_MARKER = re.compile(r"[\[(]?[\d,，\-–~～*†‡§a-z ]+[\])]?")
_UNIT_BEFORE = re.compile(r"(?:\b(?:m|cm|mm|km|L|dL|mL|kg|g|mg|μm|s|h)|\d)$")
_INLINE_TAGS = ("a|abbr|b|big|br|center|div|em|font|i|p|small|span|strong|u|ins|del|s|strike|ol|ul|li"
                "|img|hr|sup|sub")


# -- offset-preserving rewriting ---------------------------------------------------------------

def _rewrite(text: str, offs: list[int], pattern: re.Pattern[str],
             fn: Callable[[re.Match[str]], list | str | None]) -> tuple[str, list[int]]:
    """Replace every match by fn(match) (None keeps it) and carry the offset map along.

    fn returns a string (mapped to the match start) or pieces: (text, position) for generated
    text, range(a, b) for a verbatim copy of text[a:b] that keeps its own offsets."""
    parts: list[str] = []
    out: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        rep = fn(m)
        if rep is None:
            continue
        parts.append(text[pos:m.start()])
        out.extend(offs[pos:m.start()])
        for piece in ([(rep, m.start())] if isinstance(rep, str) else rep):
            if isinstance(piece, range):
                parts.append(text[piece.start:piece.stop])
                out.extend(offs[piece.start:piece.stop])
            elif piece[0]:
                parts.append(piece[0])
                out.extend([offs[min(piece[1], len(offs) - 1)]] * len(piece[0]))
        pos = m.end()
    parts.append(text[pos:])
    out.extend(offs[pos:])
    return "".join(parts), out


def is_table_row(line: str) -> bool:
    """A sentence made of a table row by `row_lines`: table rows pack into passages of their own."""
    return ROW_SEP in line and line.rstrip().endswith("。")


def has_markup(text: str) -> bool:
    return bool(_MARKUP.search(text))


def clean_markup(raw: str) -> tuple[str, list[int]]:
    """Plain text and, for each of its characters, the index of the raw character it came from."""
    text, offs = raw, list(range(len(raw)))
    if not has_markup(raw):
        return text, offs
    for pattern, fn in _PASSES:
        text, offs = _rewrite(text, offs, pattern, fn)
    return text, offs


def raw_span(raw: str, offsets: list[int], start: int, end: int) -> tuple[int, int]:
    """The raw span behind clean text[start:end], to highlight a citation in the raw file.

    It runs on to the next clean character's origin on the same raw line, so "82%" covers all
    of "$8 2 \\%$" and not just its first characters."""
    if start >= end:
        return (offsets[start],) * 2 if start < len(offsets) else (len(raw), len(raw))
    lo, hi = min(offsets[start:end]), max(offsets[start:end]) + 1
    nxt = offsets[end] if end < len(offsets) else len(raw)
    if nxt > hi and "\n" not in raw[hi:nxt]:
        hi = nxt
    while hi > lo + 1 and raw[hi - 1].isspace():
        hi -= 1
    return lo, hi


def _math(m: re.Match[str]) -> list:
    lead, body, trail = m.group("lead") or "", m.group("body"), m.group("trail") or ""
    text = m.string
    before = text[:m.start()][-1:]
    after = text[m.end():m.end() + 1]
    pieces = render_math(body, m.start("body"))
    rendered = "".join(p[0] for p in pieces)
    script = re.fullmatch(r"\s*(?:\{\s*\})?\s*\^\s*\{?([^{}]*)\}?\s*", body)
    if script and _MARKER.fullmatch(script.group(1).strip()):
        if _UNIT_BEFORE.search(text[:m.start()]) and re.fullmatch(r"\s*-?\d\s*", script.group(1)):
            space = " " if trail and after and after not in _TIGHT else ""
            return [("^" + script.group(1).strip() + space, m.start("body"))]  # "m $^{2}$": an exponent
        # an affiliation or citation marker: drop it and the spaces around it
        keep = " " if before.isalnum() and after.isalnum() else ""  # "王建华 $^{1}$ 李明": names stay apart
        return [(keep, m.start())]
    out: list = []
    if lead and before and before not in _TIGHT:  # "剂量为 15 mg" keeps its space, "（≥25 mg）" none
        out.append((" ", m.start()))
    out.extend(pieces if rendered.strip() else [])
    if trail and after and after not in _TIGHT:
        out.append((" ", m.end() - 1))
    return out


# -- tables --------------------------------------------------------------------------------------

def _cell_text(value: str) -> str:
    """One cell as a clause: no sentence ends inside a row; "—" (not applicable) says nothing."""
    value = re.sub(r"\s+", " ", value).strip().rstrip("。；;，,")
    return "" if re.fullmatch(r"[-—–/\\ ]*", value) else re.sub(r"[。；;！？!?]+", _CELL_SEP, value)


def caption_before(text: str, start: int) -> str:
    """The caption line just above a table ("表1 ..."), else the nearest heading, else ""."""
    lines = text[:start].split("\n")
    for n, line in enumerate(reversed(lines[-200:])):
        bare = re.sub(r"^#{1,6}\s+|\*\*", "", line).strip()
        if not bare:
            continue
        if n < 3 and re.match(r"(表|Table|TABLE)\s*[0-9一二三四五六七八九十]+", bare):
            return bare
        if re.match(r"#{1,6}\s", line.strip()):
            return bare
    return ""


# A row header that is a bare figure or range ("45～59", "≥60 mL/min"): it needs its column's header.
_UNITS = re.compile(r"\\[A-Za-z]+|\b(mL|L|dL|min|h|mg|g|kg|µg|μg|mmol|μmol|umol|IU|U|m²|m2)\b")


def _bare(cell: str) -> bool:
    rest = _UNITS.sub("", cell)  # LaTeX commands too: math is rendered after tables
    return bool(re.search(r"\d", rest)) and not re.search(r"[A-Za-z\u4e00-\u9fff]", rest)


def row_lines(rows: list[list[tuple[str, int, int]]], header_count: int, caption: str,
              row_pos: list[int]) -> list[list[tuple[str, int]]]:
    """Grid rows of (text, position, origin cell id) -> one sentence per data row:
    "caption · row header · column header: value，column header: value。"; a row header that is a bare
    range ("45～59") is prefixed with its column's header ("eGFR: 45～59")."""
    width = max((len(r) for r in rows), default=0)
    labels = []
    for j in range(width):
        seen: list[str] = []
        for r in rows[:header_count]:
            if j < len(r) and r[j][0] and r[j][0] not in seen:
                seen.append(r[j][0])
        labels.append(" ".join(seen))
    out, group = [], ""
    for r, pos in zip(rows[header_count:], row_pos[header_count:]):
        if len(r) > 1 and len({c[2] for c in r}) == 1 and r[0][0]:
            group = r[0][0]  # a row spanning the whole table labels the rows under it
            continue
        pieces: list[tuple[str, int]] = []
        for part in (caption, group):
            if part:
                pieces += [(part, pos), (ROW_SEP, pos)]
        if r and r[0][0]:
            if labels and labels[0] and _bare(r[0][0]) and labels[0] != r[0][0]:
                pieces += [(labels[0] + ": ", pos)]  # "45～59" alone does not say it is an eGFR
            pieces += [(r[0][0], r[0][1]), (ROW_SEP, pos)]
        cells = 0
        for j in range(1, len(r)):
            value, cpos, origin = r[j]
            if not value or origin == r[j - 1][2]:
                continue
            if cells:
                pieces.append((_CELL_SEP, cpos))
            spanned = [labels[k] for k in range(j, len(r)) if r[k][2] == origin and labels[k]]
            label = "/".join(dict.fromkeys(spanned))  # a cell across columns answers all of them
            pieces += [(label + ": ", pos)] if label and label != value else []
            pieces.append((value, cpos))
            cells += 1
        if pieces and pieces[-1][0] == ROW_SEP:
            pieces.pop()
        if cells or (r and r[0][0]):
            out.append(pieces + [("。", pos)])
    return out


def _html_grid(table, where: Callable[[object], int]) -> tuple[list, int, list[int]]:
    """Rows of (text, position, origin) with rowspan/colspan filled in; the number of header rows."""
    grid: dict[tuple[int, int], tuple[str, int, int]] = {}
    trs = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    row_pos, header, spans_first = [], 0, False
    for i, tr in enumerate(trs):
        row_pos.append(where(tr))
        j = 0
        cells = tr.find_all(["td", "th"], recursive=False)
        for cell in cells:
            while (i, j) in grid:
                j += 1
            text = _cell_text(cell.get_text(" "))
            rs, cs = (min(int(re.sub(r"\D", "", str(cell.get(a, "1"))) or 1), 50) for a in ("rowspan", "colspan"))
            spans_first |= i == 0 and cs > 1
            for di in range(rs):
                for dj in range(cs):
                    grid.setdefault((i + di, j + dj), (text, where(cell), id(cell)))
            j += cs
        in_head = tr.find_parent("thead") is not None or bool(cells and all(c.name == "th" for c in cells))
        header = i + 1 if in_head and header == i else header
    if not header and len(trs) > 1:
        header = 2 if spans_first and len(trs) > 2 else 1
    width = max((j for _, j in grid), default=-1) + 1
    rows = [[grid.get((i, j), ("", row_pos[i], -1 - j)) for j in range(width)] for i in range(len(trs))]
    return rows, header, row_pos


def _table_pieces(lines: list[list[tuple[str, int]]], m: re.Match[str]) -> list:
    text = m.string
    out: list = []
    if m.start() > 0 and text[m.start() - 1] != "\n":
        out.append(("\n", m.start()))
    for n, line in enumerate(lines):
        out += ([("\n", m.start())] if n else []) + line
    if m.end() < len(text) and text[m.end()] != "\n":
        out.append(("\n", m.end() - 1))
    return out


def html_table_lines(table, caption: str, where: Callable[[object], int] = lambda tag: 0) -> list:
    """A BeautifulSoup <table> as row sentences (pieces of text and position)."""
    rows, header, row_pos = _html_grid(table, where)
    return row_lines(rows, header, caption, row_pos)


def _html_table(m: re.Match[str]) -> list:
    from bs4 import BeautifulSoup

    src = m.group()
    table = BeautifulSoup(src, "html.parser").find("table")
    if table is None:
        return []
    starts = [0] + [k + 1 for k, c in enumerate(src) if c == "\n"]

    def where(tag) -> int:
        return m.start() + starts[(tag.sourceline or 1) - 1] + (tag.sourcepos or 0)

    return _table_pieces(html_table_lines(table, caption_before(m.string, m.start()), where), m)


def _pipe_table(m: re.Match[str]) -> list | None:
    if not re.search(r"^[ \t]*\|?[ \t]*:?-{3,}", m.group(), re.M):
        return None  # no |---| separator line: not a table
    rows, row_pos, pos = [], [], m.start()
    for line in m.group().split("\n"):
        if line.strip() and not re.fullmatch(r"[\s|:\-]+", line):
            cells, k = [], pos + line.index("|") + 1
            for part in re.split(r"(?<!\\)\|", line.strip().strip("|")):
                cells.append((_cell_text(part.replace("\\|", "|")), k + len(part) - len(part.lstrip()), k))
                k += len(part) + 1
            rows.append(cells)
            row_pos.append(pos)
        pos += len(line) + 1
    lines = row_lines(rows, 1 if len(rows) > 1 else 0, caption_before(m.string, m.start()), row_pos)
    return _table_pieces(lines, m)


# -- inline HTML and Markdown ----------------------------------------------------------------------

def _sup(m: re.Match[str]) -> list:
    inner = m.group("inner").strip()
    before = m.string[:m.start()]
    if _UNIT_BEFORE.search(before) and re.fullmatch(r"-?\d", inner):
        return [("^" + inner, m.start("inner"))]
    if _MARKER.fullmatch(inner) or re.fullmatch(r"\[[\d,，\-–\s]+\]", inner):
        return []
    return [range(m.start("inner"), m.end("inner"))]


def _tag(m: re.Match[str]) -> str:
    return "\n" if m.group(1).lower() in ("br", "p", "div", "li", "hr") and not m.group().startswith("</") else ""


def _entity(m: re.Match[str]) -> str | None:
    char = html.unescape(m.group())
    return None if char == m.group() else char.replace("\xa0", " ")


def _inner(m: re.Match[str]) -> list:
    return [range(m.start("inner"), m.end("inner"))]


_PASSES: list[tuple[re.Pattern[str], Callable]] = [
    (re.compile(r"<table\b.*?</table\s*>", re.S | re.I), _html_table),
    (re.compile(r"^[ \t]*\|.*\|[ \t]*(?:\n[ \t]*\|.*\|[ \t]*)+$", re.M), _pipe_table),
    (re.compile(r"^[ \t]*!\[[^\]\n]*\]\([^)\n]*\)[ \t]*$|!\[[^\]\n]*\]\([^)\n]*\)", re.M), lambda m: []),
    (re.compile(r"(?P<lead>)\$\$(?P<body>.+?)\$\$(?P<trail>)", re.S), _math),
    (re.compile(r"(?P<lead>[ \t]*)(?<!\\)\$(?P<body>[^$\n]+?)(?<!\\)\$(?P<trail>[ \t]*)"), _math),
    (re.compile(r"\\textcircled\s*\{\s*(\d{1,2})\s*\}"), lambda m: circled(int(m.group(1)))),
    (re.compile(r"\\([%&_#])"), lambda m: m.group(1)),
    (re.compile(r"<sup\b[^>]*>(?P<inner>.*?)</sup\s*>", re.I | re.S), _sup),
    (re.compile(r"<sub\b[^>]*>(?P<inner>.*?)</sub\s*>", re.I | re.S), _inner),
    (re.compile(rf"</?({_INLINE_TAGS})\b[^>\n]*/?>", re.I), _tag),
    (re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,5});"), _entity),
    (re.compile(r"(\*\*|__)(?=\S)(?P<inner>.+?)(?<=\S)\1"), _inner),
    (re.compile(r"(?<![*A-Za-z0-9])\*(?=[^\s*])(?P<inner>[^*\n]+?)(?<=[^\s*])\*(?![*A-Za-z0-9])"), _inner),
]
