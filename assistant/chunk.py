"""Stage 2: cut segments into sentences and pack sentences into passages.

Sentence boundaries are Chinese (and ASCII) sentence punctuation; a passage never crosses a
section, so its section path stays true. `fixed_chunks` is the Langchain-Chatchat style baseline
we compare against in the eval.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace

from .markup import is_table_row
from .model import Passage, Segment
from .normalise import Normalised

# An English full stop ends a sentence before a space and a capital ("… in China. However, …"), not
# after a decimal digit or a short abbreviation (et al., e.g., Fig., vs.).
_END = re.compile(r"[。！？；!?;]+[”’」』)）]*|(?<![\d.])(?<!\b[A-Za-z])(?<!\bal)(?<!\bvs)(?<!\bFig)(?<!\bNo)(?<!\bDr)"
                  r"(?<!\be\.g)(?<!\bi\.e)\.(?=\s+[A-Z“\"(])")
_OPENERS = {"（": "(", "(": "(", "[": "[", "【": "【", "〔": "〔"}  # full- and half-width pair up
_CLOSERS = {"）": "(", ")": "(", "]": "[", "】": "【", "〕": "〔"}


def content_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """Same text in the same document -> same id; the n-th repeat of a text (a note under two tables, a
    paragraph the packing cut alike twice) gets its own, or the index would hold two passages under one id."""
    key = f"{doc_id}\x1f{text}" + (f"\x1f{occurrence}" if occurrence else "")
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _distinct_ids(passages: list[Passage]) -> list[Passage]:
    seen: dict[str, int] = {}
    out = []
    for p in passages:
        n = seen.get(p.id, 0)
        seen[p.id] = n + 1
        out.append(replace(p, id=content_id(p.doc_id, p.text, n)) if n else p)
    return out


def bracket_depths(text: str) -> list[int]:
    """For each character, how many matched brackets enclose it. A bracket never closed within
    the text (one segment, one line) encloses nothing, so a typo cannot swallow a paragraph."""
    stack: list[tuple[str, int]] = []
    pairs: list[tuple[int, int]] = []
    for i, c in enumerate(text):
        if c in _OPENERS:
            stack.append((_OPENERS[c], i))
        elif c in _CLOSERS:
            k = next((k for k in range(len(stack) - 1, -1, -1) if stack[k][0] == _CLOSERS[c]), None)
            if k is not None:
                pairs.append((stack[k][1], i))
                del stack[k:]
    delta = [0] * (len(text) + 1)
    for a, b in pairs:
        delta[a + 1] += 1
        delta[b] -= 1
    depths, depth = [], 0
    for d in delta[:-1]:
        depth += d
        depths.append(depth)
    return depths


def _closes_sentence(text: str, depths: list[int], start: int, end: int) -> bool:
    """"（注：剂量为每周总剂量。）": a whole sentence in brackets ends where its bracket closes."""
    first = end - len(text[start:end].lstrip())
    return text[first] in _OPENERS and text[end - 1] in _CLOSERS and (end == len(text) or not depths[end])


def sentence_spans(seg: Segment) -> list[tuple[int, int]]:
    """Spans (in the original text) of the sentences of one segment. Punctuation inside brackets
    does not end a sentence: "（第1周：7.5 mg；第2周起：10 mg）" belongs to the sentence around it."""
    spans = []
    pos = 0
    depths = bracket_depths(seg.text)
    for m in _END.finditer(seg.text):
        if depths[m.start()] and not _closes_sentence(seg.text, depths, pos, m.end()):
            continue
        if m.end() > pos:
            spans.append((pos, m.end()))
        pos = m.end()
    if pos < len(seg.text) and seg.text[pos:].strip():
        spans.append((pos, len(seg.text)))
    out = []
    for s, e in spans:
        while s < e and seg.text[s].isspace():
            s += 1
        if s < e:
            out.append((seg.start + s, seg.start + e))
    return out


def _joint(text: str, prev_end: int, start: int) -> str:
    """What joins two sentences in a passage: their own spacing on one line, else a newline."""
    gap = text[prev_end:start]
    return gap if gap.strip() == "" and "\n" not in gap else "\n"


def _passage(doc: Normalised, section: tuple[str, ...], spans: list[tuple[int, int]],
             translations: dict[tuple[int, int], str]) -> Passage:
    # Sentences of one line are contiguous; between lines we join with a newline.
    parts: list[str] = []
    prev_end = None
    for s, e in spans:
        if prev_end is not None:
            parts.append(_joint(doc.text, prev_end, s))
        parts.append(doc.text[s:e])
        prev_end = e
    text = "".join(parts)
    sentences_en = tuple(translations.get(sp, "") for sp in spans)
    en = " ".join(t for t in sentences_en if t)
    return Passage(
        id=content_id(doc.doc_id, text),
        doc_id=doc.doc_id,
        section=section,
        start=spans[0][0],
        end=spans[-1][1],
        text=text,
        text_en=en,
        sentences=tuple(spans),
        sentences_en=sentences_en,
    )


def _blocks(doc: Normalised) -> list[tuple[tuple[str, ...], list[tuple[int, int]]]]:
    """Sentence spans grouped into runs a passage may not cross: a heading or a new section ends one, and
    so does the start or end of a table (its rows pack together, not onto the paragraph before them)."""
    blocks: list[tuple[tuple[str, ...], list[tuple[int, int]]]] = []
    section: tuple[str, ...] | None = None
    fresh, table = True, False
    for seg in doc.segments:
        if seg.kind == "heading":
            section, fresh = seg.section, True
            continue
        row = is_table_row(seg.text)
        if fresh or seg.section != section or row != table:
            section, fresh, table = seg.section, False, row
            blocks.append((section, []))
        blocks[-1][1].extend(sentence_spans(seg))
    return [b for b in blocks if b[1]]


def _run_length(text: str, spans: list[tuple[int, int]]) -> int:
    return sum(e - s for s, e in spans) + sum(len(_joint(text, a[1], b[0])) for a, b in zip(spans, spans[1:]))


def _starts_list(text: str, spans: list[tuple[int, int]], k: int, size: int, joint: int, max_chars: int) -> bool:
    """Sentence k ends in a colon ("禁忌证包括："): start a new passage with it when that keeps it
    next to its first item (or its whole list) and the current passage has no room for them."""
    s, e = spans[k]
    if k + 1 >= len(spans) or not text[s:e].rstrip().endswith((":", "：")):
        return False
    first = _run_length(text, spans[k:k + 2])
    whole = _run_length(text, spans[k:])
    return any(size + joint + need > max_chars and need <= max_chars for need in (first, whole))


def chunk(doc: Normalised, max_chars: int = 200,
          translations: dict[tuple[int, int], str] | None = None) -> list[Passage]:
    """Greedy packing of whole sentences, same section only, up to `max_chars` characters; a list
    header moves to the next passage rather than be cut off from its items."""
    translations = translations or {}
    passages: list[Passage] = []
    for section, spans in _blocks(doc):
        current: list[tuple[int, int]] = []
        size = 0
        for k, (s, e) in enumerate(spans):
            # `size` is the length of the passage text, joints included, so max_chars holds for it
            joint = len(_joint(doc.text, current[-1][1], s)) if current else 0
            if current and (size + joint + (e - s) > max_chars
                            or _starts_list(doc.text, spans, k, size, joint, max_chars)):
                passages.append(_passage(doc, section, current, translations))
                current, size, joint = [], 0, 0
            current.append((s, e))
            size += joint + e - s
        passages.append(_passage(doc, section, current, translations))
    return _distinct_ids(passages)


def fixed_chunks(doc_id: str, text: str, size: int = 750, overlap: int = 150) -> list[Passage]:
    """Baseline: fixed-size windows with overlap, cut at the last Chinese punctuation mark."""
    passages = []
    start = 0
    n = len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = max(text.rfind(p, start + size // 2, end) for p in "。！？；\n")
            if cut > 0:
                end = cut + 1
        piece = text[start:end]
        if piece.strip():
            passages.append(Passage(content_id(doc_id, piece), doc_id, ("(fixed window)",), start, end,
                                    piece, "", ((start, end),)))
        if end >= n:
            break
        start = max(end - overlap, start + 1)
    return _distinct_ids(passages)


def all_sentences(doc: Normalised) -> Iterable[tuple[Segment, tuple[int, int]]]:
    for seg in doc.segments:
        if seg.kind != "heading":
            for sp in sentence_spans(seg):
                yield seg, sp
