"""Audit log: one JSONL record per answer, so what was answered from which index version can be shown.

    <data_dir>/audit/2026-12-02.jsonl    one file per UTC day, append-only, 0600 in a 0700 folder
    <data_dir>/audit/.salt               random salt for the question hash, written once, 0600

A record holds the time, the index version and corpus hash, audience, language, passage ids, cited
spans, guard findings (rule id + level, never their messages, which can carry patient values), the
refused flag, latency and an HMAC of the question. Never patient fields; the question text only
with `ASSISTANT_AUDIT_TEXT=1`. Each record is one `write()` on an O_APPEND descriptor under an
exclusive `flock`, so threads and processes appending at once never interleave lines.
`summarise` is what `assistant audit` prints.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

__all__ = ["audit_dir", "salt", "question_hash", "corpus_hash", "record", "append", "log_answer", "read",
           "summarise", "format_summary"]

SALT_FILE = ".salt"
log = logging.getLogger(__name__)


def audit_dir(settings) -> Path:
    d = Path(settings.data_dir) / "audit"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def salt(settings) -> bytes:
    """The data dir's salt: created once (written to a private temp file, then linked into place, so two
    processes starting together agree on one), read afterwards."""
    path = audit_dir(settings) / SALT_FILE
    if not path.exists():
        tmp = path.with_name(f"{SALT_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; use its salt
        finally:
            tmp.unlink()
    return path.read_bytes().strip()


def question_hash(question: str, key: bytes) -> str:
    """HMAC-SHA256 of the question: equal questions can be counted, the text cannot be read back."""
    return hmac.new(key, question.encode("utf-8", "backslashreplace"), hashlib.sha256).hexdigest()


_CORPUS: dict[str, str] = {}


def corpus_hash(index) -> str:
    """SHA-256 over the indexed documents (doc id and text), once per index version."""
    if index.version not in _CORPUS:
        h = hashlib.sha256()
        for doc in sorted(index.texts):
            h.update(doc.encode() + b"\0" + index.texts[doc].encode("utf-8", "backslashreplace") + b"\0")
        _CORPUS[index.version] = h.hexdigest()
    return _CORPUS[index.version]


def record(answer, index, turns: list[str], key: bytes, with_text: bool = False) -> dict[str, Any]:
    """The audit record of one answer (no patient fields; no question text unless `with_text`)."""
    rec: dict[str, Any] = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "index_version": index.version, "corpus_hash": corpus_hash(index),
        "audience": answer.audience, "language": answer.language, "turns": len(turns),
        "question_hash": question_hash(turns[-1] if turns else "", key),
        "passage_ids": [sp.passage.id for sp in answer.passages],
        "cited": [{"n": c.n, "doc_id": c.doc_id, "chunk_id": c.chunk_id, "start": c.start, "end": c.end}
                  for c in answer.citations],
        "findings": [{"rule_id": f.rule_id, "level": f.level} for f in answer.findings],
        "conflicts": [{"rule_id": c.rule_id, "doc_id": c.doc_id, "start": c.start, "end": c.end}
                      for c in getattr(answer, "conflicts", [])],
        "level": answer.level, "refused": bool(answer.refused),
        "latency_ms": answer.timings_ms.get("total"),
    }
    if with_text:
        rec["question"] = turns[-1] if turns else ""
        rec["earlier_turns"] = list(turns[:-1])
    return rec


def append(settings, rec: dict[str, Any]) -> Path:
    """One line, one write, O_APPEND, under an exclusive flock: safe for concurrent threads and processes."""
    day = rec["time"][:10]
    path = audit_dir(settings) / f"{day}.jsonl"
    line = (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "backslashreplace")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)  # closing releases the lock
    return path


def log_answer(settings, index, turns: list[str], answer) -> None:
    """Append the answer's record, if auditing is on (`settings.audit`). A full or read-only disk is logged
    (the error type only) and the answer still goes out."""
    if not settings.audit:
        return
    try:
        append(settings, record(answer, index, turns, salt(settings), settings.audit_text))
    except OSError as e:
        log.error("audit record not written: %s", type(e).__name__)


# ----------------------------------------------------------------------------- reading
def read(settings, since: dt.date | None = None) -> Iterable[dict[str, Any]]:
    d = Path(settings.data_dir) / "audit"
    for path in sorted(d.glob("*.jsonl")) if d.is_dir() else []:
        try:
            day = dt.date.fromisoformat(path.stem)
        except ValueError:
            continue
        if since is not None and day < since:
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn last line (a killed writer) is skipped, not fatal


def _pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def summarise(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts by day / audience / language, refusals, blocks and warnings by rule, conflicts, latency."""
    recs = list(records)
    lat = [float(r["latency_ms"]) for r in recs if isinstance(r.get("latency_ms"), (int, float))]
    by_level = {lvl: Counter(f["rule_id"] for r in recs for f in r.get("findings", []) if f.get("level") == lvl)
                for lvl in ("block", "warn")}
    return {
        "answers": len(recs),
        "by_day": dict(sorted(Counter(r["time"][:10] for r in recs).items())),
        "by_audience": dict(Counter(r.get("audience", "") for r in recs)),
        "by_language": dict(Counter(r.get("language", "") for r in recs)),
        "refused": sum(1 for r in recs if r.get("refused")),
        "blocked": sum(1 for r in recs if r.get("level") == "block"),
        "blocks_by_rule": dict(by_level["block"].most_common()),
        "warnings_by_rule": dict(by_level["warn"].most_common()),
        "conflicts_by_rule": dict(Counter(c["rule_id"] for r in recs for c in r.get("conflicts", [])).most_common()),
        "index_versions": dict(Counter(r.get("index_version", "") for r in recs)),
        "latency_ms_p50": _pct(lat, 0.50), "latency_ms_p95": _pct(lat, 0.95),
    }


def format_summary(s: dict[str, Any]) -> str:
    def counts(d: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"
    lat = "–" if s["latency_ms_p50"] is None else f"p50 {s['latency_ms_p50']:.0f} ms, p95 {s['latency_ms_p95']:.0f} ms"
    return "\n".join([
        f"answers: {s['answers']} (refused {s['refused']}, blocked {s['blocked']})",
        f"by day: {counts(s['by_day'])}",
        f"by audience: {counts(s['by_audience'])}",
        f"by language: {counts(s['by_language'])}",
        f"blocks by rule: {counts(s['blocks_by_rule'])}",
        f"warnings by rule: {counts(s['warnings_by_rule'])}",
        f"source conflicts by rule: {counts(s['conflicts_by_rule'])}",
        f"index versions: {counts(s['index_versions'])}",
        f"latency: {lat}",
    ])
