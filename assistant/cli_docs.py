"""`assistant docs list|show|remove`, and the printing of a library change shared with `assistant ingest`."""
from __future__ import annotations

import argparse
import json
import sys

from .config import Settings

__all__ = ["add_parser", "print_change", "understood_line"]


def understood_line(u: dict) -> str:
    """One document as ingest understood it: what a clinic checks before trusting the answers."""
    aside = ", ".join(f"{n} {reason}" for reason, n in sorted(u["set_aside"].items())) or "nothing"
    terms = ", ".join(f"{t['zh']}={t['abbr'] or t['en']}" for t in u["terms"][:6])
    more = f" (+{len(u['terms']) - 6})" if len(u["terms"]) > 6 else ""
    return (f"  {u['doc_id']}: {u['sections']} sections, {u['table_rows']} table rows, {u['sentences']} sentences; "
            f"set aside: {aside}; terms learnt: {len(u['terms'])} {terms}{more}")


def _rule_line(r: dict) -> str:
    return f"{r['id']} ({r.get('where', '')})"


def print_change(change, verbose: bool = False, quiet: bool = False) -> int:
    """What a library change did, as `assistant ingest` has always printed it; exit 1 if a file failed."""
    for line in change.added:
        print(f"added: {line}")
    for line in change.failed:
        print(f"error: {line}", file=sys.stderr)
    if change.removed:
        m = change.removed
        print(f"{'replaced' if change.action == 'replace' else 'removed'}: {m['doc_id']} ({m['added_by']}, "
              f"{m['original_file']}, sha256 {m['sha256'][:12]})" + (f"; files moved to {change.moved_to}"
                                                                     if change.moved_to else ""))
    if change.rules_stopped:
        print(f"rules quoting it that no longer apply ({len(change.rules_stopped)}): "
              + ", ".join(_rule_line(r) for r in change.rules_stopped))
    if change.action == "replace" and change.rules_kept:
        print(f"rules still quoting it verbatim ({len(change.rules_kept)}): "
              + ", ".join(r["id"] for r in change.rules_kept))
    report = change.report
    for r in report.removals if verbose else []:
        print(f"removed [{r.doc_id} {r.start}-{r.end}] {r.reason}: {r.text[:60]}")
    for s in report.skipped:
        print(f"error: {s}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}")
    if not quiet:
        for u in report.understood:
            print(understood_line(u))
    state = "built" if report.built else "up to date"
    print(f"index {report.version} {state}: {len(report.documents)} documents, {report.passages} passages, "
          f"{len(report.removals)} lines set aside ({report.seconds:.1f} s)")
    return 1 if change.failed or report.skipped else 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from .catalog import Snapshot, doc_rows, load_rules

    snap = Snapshot.read(settings)
    rules, problems = load_rules(settings, snap.texts)
    rows = doc_rows(snap, rules)
    if args.json:
        print(json.dumps({"index_version": snap.version, "documents": rows,
                          "rules_disabled": rules.disabled if rules else [], "rules_problems": problems},
                         ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(f"{r['doc_id']}  [{r['added_by']}] {r['shown_as']}")
        print(f"    {r['publisher'] or '-'} · {r['year'] or '-'} · {r['language']} · file {r['original_file']} · "
              f"sha256 {r['sha256'][:16]}… · {r['passages']} passages, {r['tables']} table rows, "
              f"{r['rules']} rules · added {r['added_at'] or '-'}")
    for d in rules.disabled if rules else []:
        print(f"rule {d['rule_id']} ({d['where']}) does not apply: {d['reason']}")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    print(f"index {snap.version}: {len(rows)} documents")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from .catalog import Snapshot, doc_detail, load_rules
    from .model import InputError

    snap = Snapshot.read(settings)
    rules, _ = load_rules(settings, snap.texts)
    d = doc_detail(snap, rules, args.id)
    if d is None:
        raise InputError(f"no document {args.id!r} in index {snap.version}; known: {', '.join(snap.sources)}")
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=1))
        return 0
    print(f"{d['doc_id']}: {d['shown_as']}\n  added by {d['added_by']} on {d['added_at'] or '-'}, file "
          f"{d['original_file']}, sha256 {d['sha256']}\n  {d['publisher'] or '-'} · {d['year'] or '-'} · "
          f"{d['language']} · {d['passages']} passages · index {d['index_version']}")
    print(understood_line({"doc_id": "report", **d["report"]}))
    for r in d["set_aside_lines"]:
        print(f"  set aside [{r['start']}-{r['end']}] {r['reason']}: {r['text'][:80]}")
    for r in d["rules_attached"]:
        print(f"  rule {r['id']} ({r['kind']}): 「{r['quote']}」")
    for r in d["rules_disabled"]:
        print(f"  rule {r['rule_id']} does not apply: {r['reason']}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from .library import remove

    change = remove(settings, args.id, force=args.force, progress=False if args.quiet else None)
    if args.json:
        print(json.dumps(change.to_dict(), ensure_ascii=False, indent=1, default=str))
        return 0
    return print_change(change, quiet=True)


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from .library import restore

    return print_change(restore(settings, args.id, progress=False), quiet=True)


def add_parser(sub) -> None:
    s = sub.add_parser("docs", help="the guideline library: list, show and remove documents")
    docs = s.add_subparsers(dest="docs_command", required=True)
    d = docs.add_parser("list", help="every indexed document with its provenance, passages and rules")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_list)
    d = docs.add_parser("show", help="one document's ingest report and rules")
    d.add_argument("id")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_show)
    d = docs.add_parser("remove", help="take a document out of the index (a seed document needs --force)")
    d.add_argument("id")
    d.add_argument("--force", action="store_true", help="allow removing a seed document shipped in corpus/")
    d.add_argument("--json", action="store_true")
    d.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_remove)
    d = docs.add_parser("restore", help="put a removed seed document back")
    d.add_argument("id")
    d.set_defaults(func=cmd_restore)
