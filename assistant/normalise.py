"""Stage 1: turn a page of text into structured segments and a list of removed noise.

Nothing is rewritten: every Segment keeps its exact character span in the original text so a
citation can quote and highlight it. Noise rules are data (corpus/noise.yaml): page noise, a
journal article's front matter (authors, affiliations, DOI...) and back matter (reference list,
conflict of interest), and the page headers/footers the loader found; each removal has a reason.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .model import Removal, Segment
from .tokens import fold_text
from .yamlfast import safe_load as yaml_load

_BULLET = re.compile(r"^[\s•·●▪◦\-–—*]+(?=\S)")
_CN_NUM_HEADING = re.compile(r"^[一二三四五六七八九十]+\s*[、.．]")
_ARABIC_HEADING = re.compile(r"^\d{1,2}\s*[、.．]\s*\D")
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_DOTTED_HEADING = re.compile(r"^\d{1,2}((?:\.\d{1,2}){1,2})\s+\D")  # "1.1 共识制订小组" nests under "一、"
_LABEL = re.compile(r"^([^:：,，。;；]{1,16})[:：](?=\S)")
_LIST_MARK = re.compile(r"^([（(]\d{1,2}[)）]|\d{1,2}[)）、．]|\d{1,2}\.(?!\d)|[①-⑳])")
_SENTENCE_END = "。；;"


@dataclass(frozen=True)
class NoiseRules:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    link_title_before_navigation: bool = True
    drop_repeated_lines: bool = True
    reference_headings: tuple[str, ...] = ()
    front_patterns: tuple[re.Pattern[str], ...] = ()
    front_keep: re.Pattern[str] | None = None
    front_end: re.Pattern[str] | None = None
    front_max_lines: int = 0
    reference_list_headings: tuple[str, ...] = ()  # folded
    reference_list_end: re.Pattern[str] | None = None


def _maybe(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


@lru_cache(maxsize=4)
def load_noise_rules(path: str) -> NoiseRules:
    data = yaml_load(Path(path).read_text(encoding="utf-8")) or {}
    pats = tuple((r["reason"], re.compile(r["pattern"])) for r in data.get("line_patterns", []))
    front = data.get("front_matter") or {}
    refs = data.get("reference_list") or {}
    return NoiseRules(
        patterns=pats,
        link_title_before_navigation=bool(data.get("link_title_before_navigation", True)),
        drop_repeated_lines=bool(data.get("drop_repeated_lines", True)),
        reference_headings=tuple(data.get("reference_headings", [])),
        front_patterns=tuple(re.compile(p) for p in front.get("patterns", [])),
        front_keep=_maybe(front.get("keep")),
        front_end=_maybe(front.get("end")),
        front_max_lines=int(front.get("max_lines", 0)),
        reference_list_headings=tuple(fold(h) for h in refs.get("headings", [])),
        reference_list_end=_maybe(refs.get("end")),
    )


@dataclass
class Normalised:
    doc_id: str
    text: str  # the original text, unchanged
    segments: list[Segment] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)


def fold(text: str) -> str:
    """Matching form: tokens.fold_text (NFKC: full-width -> ASCII; lower case) without whitespace."""
    return re.sub(r"\s+", "", fold_text(text))


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the stripped non-empty lines."""
    spans = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(raw) + 1
    return spans


def _noise_reason(line: str, rules: NoiseRules) -> str | None:
    bare = _BULLET.sub("", line) if len(line) > 1 else line
    for reason, pat in rules.patterns:
        if pat.fullmatch(line) or pat.fullmatch(bare):
            return reason
    return None


def _heading_level(line: str, rules: NoiseRules) -> int:
    """0 = not a heading. Short lines without sentence punctuation are headings."""
    m = _MD_HEADING.match(line)
    if m:
        return len(m.group(1))
    if line.rstrip(":：").strip() in rules.reference_headings:
        return 1
    # a full-width comma (a clause) or an unclosed bracket: a PDF line broken mid-sentence
    if len(line) > 48 or any(p in line for p in _SENTENCE_END + "，") or line.endswith((":", "：")) \
            or line.count("（") + line.count("(") != line.count("）") + line.count(")"):
        return 0
    if _CN_NUM_HEADING.match(line):
        return 1
    if _ARABIC_HEADING.match(line):
        return 2
    dotted = _DOTTED_HEADING.match(line)
    if dotted:
        return 1 + dotted.group(1).count(".")
    m = _LABEL.match(line)
    if m and len(line) - m.end() > 16 and not line.endswith(("?", "？")):
        return 0  # "label: a long statement" is an item, not a heading
    return 1


def _is_reference_heading(line: str, rules: NoiseRules) -> bool:
    return fold(re.sub(r"^#{1,6}\s+|[【】\[\]:：]", "", line)) in rules.reference_list_headings


def _is_prose(line: str) -> bool:
    """A sentence of body text: the front matter is over (its lines never end sentences)."""
    return (len(line) >= 10 and "。" in line) or (len(line) >= 60 and bool(re.search(r"[a-z]{2}[.!?](\s|$)", line)))


def _front_matter(lines: list[str], reasons: list[str | None], rules: NoiseRules) -> None:
    """Author lists, affiliations and authoring groups above the first prose paragraph or body
    heading. The first line left there is the title; abstract and keyword lines stay too."""
    title_seen = False
    for i, line in enumerate(lines[: rules.front_max_lines]):
        if reasons[i]:
            continue
        if rules.front_keep and rules.front_keep.fullmatch(line):
            continue
        if _is_prose(line) or (title_seen and rules.front_end and rules.front_end.fullmatch(line)):
            return
        if not title_seen:
            title_seen = True
        elif any(p.fullmatch(line) for p in rules.front_patterns):
            reasons[i] = "front matter"


def _reference_list(lines: list[str], reasons: list[str | None], rules: NoiseRules) -> None:
    """Everything under a 参考文献/References heading up to the next body heading."""
    inside = False
    for i, line in enumerate(lines):
        if _is_reference_heading(line, rules):
            inside = True
        elif inside and (_MD_HEADING.match(line) or bool(rules.reference_list_end
                                                          and rules.reference_list_end.fullmatch(line))):
            inside = False
        if inside and reasons[i] is None:
            reasons[i] = "reference list"


def _reasons(spans: list[tuple[int, int]], lines: list[str], rules: NoiseRules,
             noise: Iterable[tuple[int, int, str]]) -> list[str | None]:
    """Why each line is set aside (None: it is content)."""
    reasons: list[str | None] = [_noise_reason(ln, rules) for ln in lines]
    marks = sorted(noise)
    for i, (start, end) in enumerate(spans):  # the loader's page furniture (PDF) wins
        hit = next((r for s, e, r in marks if s < end and start < e), None)
        reasons[i] = hit or reasons[i]
    if rules.front_max_lines:
        _front_matter(lines, reasons, rules)
    if rules.reference_list_headings:
        _reference_list(lines, reasons, rules)
    if rules.link_title_before_navigation:
        for i in range(1, len(lines)):
            if reasons[i] == "navigation" and reasons[i - 1] is None:
                reasons[i - 1] = "navigation (linked article title)"
    if rules.drop_repeated_lines:
        seen: set[str] = set()
        for i, ln in enumerate(lines):
            key = fold(ln)
            if key in seen and reasons[i] is None and len(ln) >= 6:  # not "次" or "↓" in a PDF table
                reasons[i] = "repeated line (caption or banner)"
            seen.add(key)
    return reasons


def _plain_heading(line: str, rules: NoiseRules) -> bool:
    """A heading only because it is short: no '#', no numbering, no reference-list title."""
    return (_heading_level(line, rules) == 1 and not _MD_HEADING.match(line)
            and not _CN_NUM_HEADING.match(line) and line.rstrip(":：").strip() not in rules.reference_headings)


def _content_lines(text: str, spans: list[tuple[int, int]], reasons: list[str | None],
                   out: Normalised) -> list[tuple[int, int, str, bool, bool]]:
    """(start, end, line, had a bullet, follows a separator) of the content lines, bullets
    stripped from the span; removals are recorded on `out` on the way."""
    lines, after_separator = [], False
    for (start, end), reason in zip(spans, reasons):
        if reason == "bullet separator":
            after_separator = True
            continue  # structure, not content: not worth a line in the report
        if reason:
            out.removals.append(Removal(out.doc_id, start, end, text[start:end], reason))
            continue
        line = text[start:end]
        bullet = _BULLET.match(line)
        if bullet and not _ARABIC_HEADING.match(line):
            start += bullet.end()
            line = text[start:end]
        lines.append((start, end, line, bool(bullet), after_separator))
        after_separator = False
    return lines


def _demoted(lines: list[tuple[int, int, str, bool, bool]], rules: NoiseRules) -> set[int]:
    """Three or more short lines in a row are a table, figure or list, not headings (PDF); nor is
    a short unnumbered line listing things ("胞分类、血小") or one with hardly a word ("↓")."""
    plain = [_plain_heading(ln[2], rules) for ln in lines] + [False]
    out = {i for i, ln in enumerate(lines) if plain[i]
           and (("、" in ln[2] and len(ln[2]) <= 12) or sum(c.isalnum() for c in ln[2]) < 2)}
    run: list[int] = []
    for i, is_plain in enumerate(plain):
        if is_plain:
            run.append(i)
            continue
        if len(run) >= 3:
            out.update(run)
        run = []
    return out


def normalise(doc_id: str, text: str, rules: NoiseRules,
              noise: Iterable[tuple[int, int, str]] = ()) -> Normalised:
    """Segments and removals of `text`; `noise` are spans the loader already knows are not
    content (LoadedDocument.noise: PDF running headers and page numbers)."""
    out = Normalised(doc_id=doc_id, text=text)
    spans = _lines(text)
    reasons = _reasons(spans, [text[s:e] for s, e in spans], rules, noise)
    # A scraped page whose sections are dashed lists (the BMAC article); in Markdown, "---" is a thematic
    # break or the front matter's fence, and its "#" headings say where sections end.
    dash_doc = sum(1 for r in reasons if r == "bullet separator") >= 3 and not any(
        _MD_HEADING.match(text[s:e]) for s, e in spans)
    lines = _content_lines(text, spans, reasons, out)
    demoted = _demoted(lines, rules)
    section: list[str] = []
    levels: list[int] = []  # each section entry's heading level: "##" right under the title is not nested
    list_open = False  # the last content line introduced a list ("包括：") or was one of its items
    for i, (start, end, line, bullet, after_separator) in enumerate(lines):
        is_item = list_open and (bullet or bool(_LIST_MARK.match(line)))
        level = 0 if is_item or i in demoted else _heading_level(line, rules)
        list_open = not level and (is_item or line.endswith((":", "：")))
        if level:
            title = _MD_HEADING.sub("", line).rstrip(":：").strip()
            keep = len([x for x in levels if x < level])
            section, levels = section[:keep] + [title], levels[:keep] + [level]
            out.segments.append(Segment(doc_id, start, end, line, "heading", tuple(section)))
            continue
        if dash_doc and not after_separator and section:
            section, levels = [], []  # a free paragraph after the dashed list closes the last section
        label = _LABEL.match(line)
        path = tuple(section) + ((label.group(1).strip(),) if label else ())
        if section and section[0] in rules.reference_headings:
            path = tuple(section)
        out.segments.append(Segment(doc_id, start, end, line, "item" if label else "paragraph", path))
    out.removals.sort(key=lambda r: r.start)
    return out
