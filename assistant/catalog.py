"""What the library holds, read from one index version: documents with provenance, their ingest reports
and the rules attached to them (`assistant docs list|show`, GET /api/docs, the Documents tab).

A running server describes the version it serves (`Snapshot.of(assistant.index)`, rules already loaded);
the CLI reads the CURRENT version's files under its lease (`Snapshot.read`), without opening Chroma.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import lease
from .config import Settings
from .versions import current_version
from .model import SourceMeta
from .provenance import display_title
from .guard.rulebook import RuleError, doc_id as rule_doc_id, load_rulebooks, rule_files

__all__ = ["Snapshot", "doc_rows", "doc_detail", "load_rules", "rules_of", "LIST_FIELDS"]

LIST_FIELDS = ("doc_id", "title", "publisher", "year", "language", "added_by", "original_file", "sha256",
               "passages", "tables", "rules", "added_at")
SET_ASIDE_SHOWN = 200  # set-aside lines listed per document by `docs show` (all are counted)


@dataclass
class Snapshot:
    """The parts of one index version the catalogue needs."""

    version: str
    sources: dict[str, SourceMeta]
    understood: dict[str, dict]
    passages: Counter
    texts: dict[str, str]
    root: Path | None = None  # the version dir, for removals.jsonl
    removals: list[dict] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, index, settings: Settings | None = None) -> "Snapshot":
        root = settings.index_root / index.version if settings is not None else None
        return cls(index.version, dict(index.sources), {u["doc_id"]: u for u in index.understood},
                   Counter(p.doc_id for p in index.passages), index.texts, root)

    @classmethod
    def read(cls, settings: Settings, chunking: str = "sentences") -> "Snapshot":
        """The CURRENT version, read under its lease (garbage collection cannot remove it meanwhile)."""
        version = current_version(settings, chunking)
        if not version:
            raise FileNotFoundError(f"no index under {settings.index_root}; run `assistant ingest` first")
        root = settings.index_root / version
        with lease.acquire(settings.index_root, version):
            if not (root / "manifest.json").is_file():
                raise FileNotFoundError(f"index version {version} is missing; run `assistant ingest`")
            sources = {m["doc_id"]: SourceMeta(**m) for m in json.loads((root / "sources.json").read_text())}
            und = root / "understood.json"
            understood = json.loads(und.read_text(encoding="utf-8")) if und.exists() else []
            counts: Counter = Counter()
            for line in (root / "passages.jsonl").read_text(encoding="utf-8").splitlines():
                if line.strip():
                    counts[json.loads(line)["doc_id"]] += 1
            texts = {d: (root / "docs" / f"{d}.txt").read_text(encoding="utf-8") for d in sources}
            snap = cls(version, sources, {u["doc_id"]: u for u in understood}, counts, texts, root)
            snap.removals = snap._read_removals()
        return snap

    def _read_removals(self) -> list[dict]:
        path = self.root / "removals.jsonl" if self.root else None
        if path is None or not path.is_file():
            return []
        return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]

    def set_aside(self, doc_id: str) -> list[dict]:
        if self.removals is None:
            try:
                self.removals = self._read_removals()
            except OSError:  # collected since: the counts in the ingest report remain
                self.removals = []
        return [r for r in self.removals if r.get("doc_id") == doc_id]


def load_rules(settings: Settings, texts: dict[str, str]) -> tuple[Any, list[str]]:
    """The rules as a server loads them against these texts: (rulebook or None, problems)."""
    try:
        return load_rulebooks(rule_files(settings), texts=texts, indexed_only=True), []
    except RuleError as e:
        return None, list(e.problems)


def _rule_doc(document: str, sources: dict[str, SourceMeta]) -> str:
    return document if document in sources else rule_doc_id(document)


def rules_of(rules, doc_id: str, sources: dict[str, SourceMeta]) -> list[dict]:
    """The active rules quoting `doc_id`: id, kind, quote, file and line."""
    if rules is None:
        return []
    return [{"id": r.id, "kind": r.kind, "quote": r.quote, "where": f"{r.book.path}:{r.line}",
             "interventions": list(r.interventions)}
            for r in rules.rules if _rule_doc(r.document, sources) == doc_id]


def doc_rows(snap: Snapshot, rules) -> list[dict]:
    """One row per indexed document, in index order: `LIST_FIELDS` plus the title answers show."""
    rows = []
    for d, m in snap.sources.items():
        u = snap.understood.get(d, {})
        rows.append({"doc_id": d, "title": m.title, "shown_as": display_title(m), "publisher": m.publisher,
                     "year": m.year, "language": m.language, "added_by": m.added_by or "?",
                     "original_file": m.original_file, "sha256": m.sha256, "passages": snap.passages.get(d, 0),
                     "tables": u.get("table_rows", 0), "rules": len(rules_of(rules, d, snap.sources)),
                     "added_at": m.added_at})
    return rows


def doc_detail(snap: Snapshot, rules, doc_id: str) -> dict | None:
    """`docs show ID`: the row, the ingest report (sections, sentences, set-aside lines, learnt terms), its rules."""
    row = next((r for r in doc_rows(snap, rules) if r["doc_id"] == doc_id), None)
    if row is None:
        return None
    m, u = snap.sources[doc_id], snap.understood.get(doc_id, {})
    aside = snap.set_aside(doc_id)
    return {**row, "provenance": m.provenance, "index_version": snap.version,
            "report": {"sections": u.get("sections", 0), "table_rows": u.get("table_rows", 0),
                       "sentences": u.get("sentences", 0), "set_aside": u.get("set_aside", {}),
                       "terms": u.get("terms", [])},
            "set_aside_lines": [{"reason": r["reason"], "start": r["start"], "end": r["end"], "text": r["text"]}
                                for r in aside[:SET_ASIDE_SHOWN]],
            "rules_attached": rules_of(rules, doc_id, snap.sources),
            "rules_disabled": [r for r in (rules.disabled if rules is not None else [])
                               if _rule_doc(r["document"], snap.sources) == doc_id]}
