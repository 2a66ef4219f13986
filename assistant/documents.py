"""Stages 1-3 for a build: every source document (the shipped corpus and the library) read, normalised and
chunked into passages, with what ingest understood of each (sections, table rows, set-aside lines, terms)."""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from . import provenance
from .chunk import chunk, fixed_chunks
from .config import Settings
from .loaders import DocumentError, discover, document_title, read_document, read_meta
from .model import Passage, Removal, SourceMeta
from .normalise import load_noise_rules, normalise
from .terms import learn_terms


def understanding(meta: SourceMeta, norm, passages: list[Passage], terms: list) -> dict:
    """What ingest understood of one document: sections, table rows, sentences, set-aside lines, terms."""
    set_aside: dict[str, int] = {}
    for r in norm.removals:
        set_aside[r.reason] = set_aside.get(r.reason, 0) + 1
    sections = {p.section for p in passages if p.section}  # leaf sections: a title heading holds all the rest
    table_rows = sum(1 for seg in norm.segments if " · " in seg.text and seg.text.rstrip().endswith("。")
                     and ":" in seg.text)
    return {"doc_id": meta.doc_id, "title": meta.title, "original_file": meta.original_file,
            "sections": len(sections), "table_rows": table_rows,
            "sentences": sum(len(p.sentences) for p in passages), "passages": len(passages),
            "set_aside": set_aside, "terms": [t if isinstance(t, dict) else asdict(t) for t in terms]}


def source_paths(settings: Settings) -> list[Path]:
    """The shipped corpus plus documents users added with `assistant ingest PATH`."""
    roots = [settings.corpus_dir / "sources", settings.data_dir / "library"]
    return provenance.kept(settings, discover([r for r in roots if r.exists()]))  # less those removed


def _translations(settings: Settings, doc_id: str) -> dict[tuple[int, int], str]:
    path = settings.corpus_dir / "translations" / f"{doc_id}.en.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            if r.get("en"):
                out[(r["start"], r["end"])] = r["en"]
    return out


def prepare(settings: Settings, paths: list[Path], chunking: str = "sentences"
            ) -> tuple[list[SourceMeta], dict[str, str], list[Passage], list[Removal], list[str], list[dict]]:
    """Read, normalise and chunk every document; also what was understood of each (`understanding`)."""
    rules = load_noise_rules(str(settings.corpus_dir / "noise.yaml"))
    metas, texts, passages, removals, skipped, understood = [], {}, [], [], [], []
    for path in paths:
        try:
            meta = provenance.stamp(read_meta(path), path, settings)
            doc = read_document(path)
            text = doc.text
        except DocumentError as e:
            skipped.append(str(e))
            continue
        if meta.title == path.stem and (own := document_title(text)):  # no title in a .meta.json
            meta = replace(meta, title=own)
        if meta.doc_id in texts:
            skipped.append(f"{path}: duplicate doc_id {meta.doc_id!r}; give it another in its .meta.json")
            continue
        norm = normalise(meta.doc_id, text, rules, doc.noise)  # page headers/footers found by the loader
        if chunking == "chatchat750":
            doc_passages = fixed_chunks(meta.doc_id, text)
        else:
            # translations are aligned to the seed texts' spans: a clinic file under a seed's id gets none
            en = _translations(settings, meta.doc_id) if meta.added_by == provenance.SEED else {}
            doc_passages = chunk(norm, settings.chunk_chars, en)
        if not doc_passages:
            skipped.append(f"{path}: no content left after removing page noise")
            continue
        metas.append(meta)
        texts[meta.doc_id] = text
        passages.extend(doc_passages)
        removals.extend(norm.removals)
        body = "\n".join(seg.text for seg in norm.segments)  # front matter and references teach no terms
        understood.append(understanding(meta, norm, doc_passages, learn_terms(body)))
    return metas, texts, passages, removals, skipped, understood
