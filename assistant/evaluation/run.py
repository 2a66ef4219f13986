"""`assistant eval`: score JSONL question sets against one or several pipeline configurations.
Metric definitions (hits, fact matching, ALCE-style citations, guard, refusals, latency) are in
`report.METRIC_NOTES` (reproduced in report.md); the code below is the reference. An item that raises
(e.g. InputError for an empty question) fails with its message: a miss for hit/mrr/fact/guard/refusal
accuracy, left out of latency, citation metrics and the false refusal rate.
"""
from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from .metrics import ThresholdError, check_thresholds, parse_thresholds
from .report import banner, build_payload, summary, write_json, write_report
from .scoring import EvalSetError, ItemResult, invalid_reason, load_set, score_item

# name -> (retriever, chunking); chatchat750 = fixed 750-char chunks, 150 overlap (Langchain-Chatchat default)
CONFIGS = {"bm25": ("bm25", "sentences"), "dense": ("dense", "sentences"), "hybrid": ("hybrid", "sentences"),
           "chatchat750": ("dense", "chatchat750")}


def evaluate_item(a, item: dict) -> ItemResult:
    if bad := invalid_reason(item):
        return score_item(item, None, None, str, error=f"invalid item: {bad}")
    try:
        t = time.perf_counter()
        ans = a.ask(item["turns"], item["patient"], audience=item["audience"])
        ms = (time.perf_counter() - t) * 1000
        passages = a.retrieve(ans.query, 10)
    except Exception as e:  # noqa: BLE001 - any failure of one item is reported, never fatal
        return score_item(item, None, None, str, error=f"{type(e).__name__}: {e}")
    return score_item(item, ans, passages, lambda d: getattr(a.index.sources.get(d), "original_file", ""), ms)


def run(a, items: list[dict], label: str = "", progress: bool = False,
        on_item: Callable[[int, int], None] | None = None) -> list[ItemResult]:
    """Every item asked of `a` after one warm-up ask (latencies are measured warm); `on_item(i, n)` is
    called before item i (the web app's progress bar)."""
    for warm in [it for it in items if not invalid_reason(it)][:1]:
        try:
            a.ask(warm["turns"], warm["patient"], audience=warm["audience"])
        except Exception:  # noqa: BLE001 - the item itself will report it
            pass
    out = []
    for i, it in enumerate(tqdm(items, desc=label or "eval", disable=not progress, unit="q", leave=False,
                                file=sys.stderr)):
        if on_item is not None:
            on_item(i, len(items))
        out.append(evaluate_item(a, it))
    return out


def parse_compare(spec: str | None, default: str) -> list[str]:
    names = [n.strip() for n in (spec or default).split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        raise ThresholdError(f"unknown configuration(s) {', '.join(unknown) or '(none)'}; known: {', '.join(CONFIGS)}")
    return list(dict.fromkeys(names))


def main(args, settings) -> int:
    from ..api import Assistant

    try:
        thresholds = parse_thresholds(args.mins, getattr(args, "maxes", None))
        names = parse_compare(args.compare, settings.retriever)
        items = [it for p in (args.sets or ["eval/dev.jsonl"]) for it in load_set(p)]
    except (ThresholdError, EvalSetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if dupes := [k for k, v in Counter(str(i["id"]) for i in items).items() if v > 1]:
        warnings.warn(f"duplicate item ids across sets: {', '.join(map(str, dupes[:10]))}", stacklevel=1)
    progress = not args.quiet and sys.stderr.isatty()
    runs: dict[str, list[ItemResult]] = {}
    for name in names:
        t = time.perf_counter()
        a = Assistant.load(settings, retriever=CONFIGS[name][0], chunking=CONFIGS[name][1])
        runs[name] = run(a, items, name, progress)
        if not args.quiet:
            print(f"{name}: {len(items)} items in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    primary = settings.retriever if settings.retriever in runs else names[0]
    out = build_payload(runs, primary)
    if args.json_out:
        write_json(Path(args.json_out), out)
    if args.out:
        write_report(Path(args.out), out)
    print(summary(out))
    failed = check_thresholds(out["metrics"], thresholds)
    if failed:
        print(banner(f"EVAL THRESHOLDS FAILED ({primary}):", failed), file=sys.stderr)
        return 1
    if thresholds:
        print(f"all {len(thresholds)} thresholds met ({primary})")
    return 0
