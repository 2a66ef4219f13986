"""Check that a change left behaviour alone: compare two `assistant eval --json` files item by item
(answer text, citations, guard level, refusal, support figures, failures), not just the scores.

    .venv/bin/python benchmarks/same_answers.py /tmp/before.json /tmp/after.json
"""
from __future__ import annotations

import json
import sys

FIELDS = ("answer", "citations", "level", "refused", "support", "failures", "passed")

__all__ = ["differences"]


def differences(before: dict, after: dict) -> list[str]:
    a = {i["id"]: i for i in before["items"]}
    b = {i["id"]: i for i in after["items"]}
    out = [f"{k}: only in one file" for k in sorted(set(a) ^ set(b))]
    for k in sorted(set(a) & set(b)):
        out += [f"{k}: {f} differs:\n  before {a[k].get(f)!r}\n  after  {b[k].get(f)!r}"
                for f in FIELDS if a[k].get(f) != b[k].get(f)]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = (json.load(open(p, encoding="utf-8")) for p in argv)
    diffs = differences(before, after)
    print("\n".join(diffs) or f"identical: {len(before['items'])} items ({', '.join(FIELDS)})")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
