"""Refusal calibration: support coverage of every dev-set question, and the trade-off per threshold.

    python benchmarks/calibrate_refusal.py [eval/dev.jsonl]
Prints refusal accuracy on out-of-scope items against the false-refusal rate on the rest.
"""
from __future__ import annotations

import json
import sys

from assistant.api import Assistant
from assistant.conversation import resolve
from assistant.language import to_simplified


def main(path: str = "eval/dev.jsonl") -> None:
    a = Assistant.load()
    rows = []
    for line in open(path, encoding="utf-8"):
        item = json.loads(line)
        q = resolve([to_simplified(t) for t in item["turns"]]).query
        sup = a.scorer.score(q, a.retrieve(q))
        rows.append((item["category"] == "out_of_scope", sup.coverage, sup.dense, item["id"], q, sup.missing))
    oos = [r for r in rows if r[0]]
    ins = [r for r in rows if not r[0]]
    print(f"{'min_coverage':>12} {'refusal_acc':>11} {'false_refusal':>13}")
    for t in [x / 20 for x in range(4, 17)]:
        ra = sum(r[1] < t for r in oos) / len(oos)
        fr = sum(r[1] < t for r in ins) / len(ins)
        print(f"{t:12.2f} {ra:11.3f} {fr:13.3f}")
    if "-v" in sys.argv:
        for r in sorted(rows, key=lambda r: r[1]):
            print(f"{'OOS' if r[0] else '   '} {r[1]:.2f} {r[2]:.3f} {r[3]} {r[4][:50]} missing={r[5]}")


if __name__ == "__main__":
    main(*[a for a in sys.argv[1:] if not a.startswith("-")])
