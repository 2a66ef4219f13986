"""Stage 1: turn a page of text into structured segments and a list of removed noise.

Nothing is rewritten: every Segment keeps its exact character span in the original text so a
citation can quote and highlight it. Noise rules are data (corpus/noise.yaml).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .model import Removal, Segment

_BULLET = re.compile(r"^[\s•·●▪◦\-–—*]+(?=\S)")
_CN_NUM_HEADING = re.compile(r"^[一二三四五六七八九十]+\s*[、.．]")
_ARABIC_HEADING = re.compile(r"^\d{1,2}\s*[、.．]\s*\D")
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_LABEL = re.compile(r"^([^:：,，。;；]{1,16})[:：](?=\S)")
_SENTENCE_END = "。；;"


@dataclass(frozen=True)
class NoiseRules:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    link_title_before_navigation: bool = True
    drop_repeated_lines: bool = True
    reference_headings: tuple[str, ...] = ()


@lru_cache(maxsize=4)
def load_noise_rules(path: str) -> NoiseRules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    pats = tuple((r["reason"], re.compile(r["pattern"])) for r in data.get("line_patterns", []))
    return NoiseRules(
        patterns=pats,
        link_title_before_navigation=bool(data.get("link_title_before_navigation", True)),
        drop_repeated_lines=bool(data.get("drop_repeated_lines", True)),
        reference_headings=tuple(data.get("reference_headings", [])),
    )


@dataclass
class Normalised:
    doc_id: str
    text: str  # the original text, unchanged
    segments: list[Segment] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)


def fold(text: str) -> str:
    """Matching form: NFKC (full-width -> ASCII), lower case, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


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
    if len(line) > 48 or any(p in line for p in _SENTENCE_END) or line.endswith((":", "：")):
        return 0
    if _CN_NUM_HEADING.match(line):
        return 1
    if _ARABIC_HEADING.match(line):
        return 2
    m = _LABEL.match(line)
    if m and len(line) - m.end() > 16 and not line.endswith(("?", "？")):
        return 0  # "label: a long statement" is an item, not a heading
    return 1


def normalise(doc_id: str, text: str, rules: NoiseRules) -> Normalised:
    out = Normalised(doc_id=doc_id, text=text)
    spans = _lines(text)
    lines = [text[s:e] for s, e in spans]
    reasons: list[str | None] = [_noise_reason(ln, rules) for ln in lines]
    if rules.link_title_before_navigation:
        for i in range(1, len(lines)):
            if reasons[i] == "navigation" and reasons[i - 1] is None:
                reasons[i - 1] = "navigation (linked article title)"
    if rules.drop_repeated_lines:
        seen: set[str] = set()
        for i, ln in enumerate(lines):
            key = fold(ln)
            if key in seen and reasons[i] is None:
                reasons[i] = "repeated line (caption or banner)"
            seen.add(key)
    dash_doc = sum(1 for r in reasons if r == "bullet separator") >= 3

    section: list[str] = []
    after_separator = False
    for (start, end), line, reason in zip(spans, lines, reasons):
        if reason == "bullet separator":
            after_separator = True
            continue  # structure, not content: not worth a line in the report
        if reason:
            out.removals.append(Removal(doc_id, start, end, line, reason))
            continue
        bullet = _BULLET.match(line)
        if bullet and not _ARABIC_HEADING.match(line):
            start += bullet.end()
            line = text[start:end]
        level = _heading_level(line, rules)
        if level:
            title = _MD_HEADING.sub("", line).rstrip(":：").strip()
            section = section[: level - 1] + [title]
            out.segments.append(Segment(doc_id, start, end, line, "heading", tuple(section)))
        else:
            if dash_doc and not after_separator and section:
                section = []  # a free paragraph after the dashed list closes the last section
            label = _LABEL.match(line)
            kind = "item" if label else "paragraph"
            path = tuple(section) + ((label.group(1).strip(),) if label else ())
            if section and section[0] in rules.reference_headings:
                path = tuple(section)
            out.segments.append(Segment(doc_id, start, end, line, kind, path))
        after_separator = False
    return out
