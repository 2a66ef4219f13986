"""Stage 2: cut segments into sentences and pack sentences into passages.

Sentence boundaries are Chinese (and ASCII) sentence punctuation; a passage never crosses a
section, so its section path stays true. `fixed_chunks` is the Langchain-Chatchat style baseline
we compare against in the eval.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .model import Passage, Segment
from .normalise import Normalised

_END = re.compile(r"[。！？；!?;]+[”’」』)）]*")


def content_id(doc_id: str, text: str) -> str:
    return hashlib.sha1(f"{doc_id}\x1f{text}".encode()).hexdigest()[:16]


def sentence_spans(seg: Segment) -> list[tuple[int, int]]:
    """Spans (in the original text) of the sentences of one segment."""
    spans = []
    pos = 0
    for m in _END.finditer(seg.text):
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


def chunk(doc: Normalised, max_chars: int = 200,
          translations: dict[tuple[int, int], str] | None = None) -> list[Passage]:
    """Greedy packing of whole sentences, same section only, up to `max_chars` characters."""
    translations = translations or {}
    passages: list[Passage] = []
    current: list[tuple[int, int]] = []
    section: tuple[str, ...] | None = None
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current and section is not None:
            passages.append(_passage(doc, section, current, translations))
        current, size = [], 0

    for seg in doc.segments:
        if seg.kind == "heading":
            flush()
            section = seg.section
            continue
        if seg.section != section:
            flush()
            section = seg.section
        for s, e in sentence_spans(seg):
            # `size` is the length of the passage text, joints included, so max_chars holds for it
            joint = len(_joint(doc.text, current[-1][1], s)) if current else 0
            if current and size + joint + (e - s) > max_chars:
                flush()
                joint = 0
            current.append((s, e))
            size += joint + e - s
    flush()
    return passages


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
    return passages


def all_sentences(doc: Normalised) -> Iterable[tuple[Segment, tuple[int, int]]]:
    for seg in doc.segments:
        if seg.kind != "heading":
            for sp in sentence_spans(seg):
                yield seg, sp
