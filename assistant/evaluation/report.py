"""Outputs of `assistant eval`: the JSON payload, plain-text tables, report.md, chart.png, metrics.json.

Pure functions of the payload built by `build_payload` (no pipeline access), so they are easy to test.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .metrics import aggregate, breakdown, confusion

# What each metric means; reproduced at the end of report.md. assistant/evaluation/scoring.py is the reference.
METRIC_NOTES = {
    "hit_at_1 / hit_at_5 / mrr_at_10": "Items with an evidence_quote. Passages = `retrieve(answer.query, 10)`. A "
        "passage matches when it is from expected_source (original_file) and contains the quote, or shares a "
        "common substring >= 50 % of the quote's length (NFKC, whitespace removed; LaTeX in the quote read as ingest "
        "reads it). A quote of a raw HTML table row matches the passage that holds every one of its cells.",
    "fact_accuracy": "Items with expected_facts whose response (answer text + guard finding messages) contains "
        "every fact (a refusal's 'see also' passages excluded: they do not answer), compared after NFKC (full-/half-width alike), traditional->simplified, lower case, dropping "
        "whitespace, [n] markers and thousands separators (5,000 = 5000); range dashes - – — ~ ～ and 至/to "
        "between digits are all read as '-'.",
    "citation_precision": "After ALCE, made deterministic; non-refused answers. Each answer line is a sentence "
        "(translation note, guard lead lines 注意：/不建议：/Caution:/Not recommended:, fixed safety / personal-dose "
        "lines and refusal lines skipped). Quotes support a sentence when every number of the sentence is in "
        "quote+quote_en and they share a content term (assistant.tokens.content_terms). A cited [n] is precise "
        "when its quote alone supports the sentence, or when the sentence's citations jointly do and no longer "
        "do without it. Share of (sentence, [n]) pairs that are precise.",
    "citation_recall": "Share of answer sentences whose citations jointly support them (uncited sentences fail).",
    "guard_accuracy": "Exact level match (none/warn/block) on items with a patient or category "
        "dose/contraindication; the confusion matrix is expected (rows) x got (columns).",
    "refusal_accuracy / false_refusal_rate": "out_of_scope items refused / other items refused.",
    "must_not_say_violations": "Number of items whose response contains a must_not_say string (same comparison "
        "as facts).",
    "latency_ms_p50 / p95": "Wall time of `ask` per item, after one warm-up ask.",
    "pass_rate / errors": "Items passing every applicable check / items that could not be asked (a miss "
        "wherever accuracy is measured; left out of latency, citation metrics and false refusals).",
}
MAIN = ["hit_at_5", "mrr_at_10", "fact_accuracy", "citation_precision", "citation_recall", "guard_accuracy",
        "refusal_accuracy", "false_refusal_rate", "pass_rate"]
GROUP_COLS = ["n", "hit_at_5", "fact_accuracy", "citation_precision", "guard_accuracy", "refusal_accuracy",
              "false_refusal_rate", "pass_rate"]


# ------------------------------------------------------------------------------------------ payload
def item_dict(r) -> dict[str, Any]:
    a, turns = r.answer, r.item.get("turns")
    return {"id": r.item["id"], "passed": r.passed, "failures": r.failures,
            "answer": a.text if a else None, "citations": [asdict(c) for c in a.citations] if a else [],
            "level": a.level if a else None, "refused": a.refused if a else None, "latency_ms": r.latency_ms,
            "category": r.item.get("category"), "lang": r.item.get("lang"), "audience": r.item.get("audience"),
            "style": r.item.get("style"), "support": a.support if a else {},
            "question": turns[-1] if isinstance(turns, list) and turns else None}


def build_payload(runs: dict[str, list], primary: str) -> dict[str, Any]:
    """The --json document: the primary configuration in full, the others' overall metrics under configs."""
    res = runs[primary]
    out = {"n": len(res), "config": primary, "metrics": aggregate(res), "by_category": breakdown(res, "category"),
           "by_language": breakdown(res, "lang"), "by_audience": breakdown(res, "audience"),
           "confusion": confusion(res), "items": [item_dict(r) for r in res]}
    if any(r.item.get("style") for r in res):
        out["by_style"] = breakdown(res, "style")
    if len(runs) > 1:
        out["configs"] = {name: aggregate(rs) for name, rs in runs.items()}
    return out


def write_json(path: Path, out: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


# ------------------------------------------------------------------------------------------ text tables
def fmt(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _rows(rows: dict[str, dict[str, Any]], columns: list[str]) -> list[list[str]]:
    return [[name, *(fmt(m.get(c)) for c in columns)] for name, m in rows.items()]


def table(rows: dict[str, dict[str, Any]], columns: list[str], corner: str = "") -> str:
    """Plain-text table: one row per key of `rows`, one column per name in `columns`."""
    head = [corner, *columns]
    body = _rows(rows, columns)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
             for r in [head, *body]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def md_table(rows: dict[str, dict[str, Any]], columns: list[str], corner: str = "") -> str:
    head = [corner, *columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(rows, columns)]
    return "\n".join(lines)


def transpose(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{config: {metric: v}} -> {metric: {config: v}} (metrics as rows, configurations side by side)."""
    names = list(next(iter(configs.values())))
    return {m: {c: v.get(m) for c, v in configs.items()} for m in names}


def summary(out: dict[str, Any]) -> str:
    configs = out.get("configs") or {out["config"]: out["metrics"]}
    parts = [("Configurations side by side" if len(configs) > 1 else f"Overall ({out['config']})") + ":\n"
             + table(transpose(configs), list(configs), "metric")]
    parts.append(f"By category ({out['config']}):\n" + table(out["by_category"], GROUP_COLS, "category"))
    failed = sum(not i["passed"] for i in out["items"])
    parts.append(f"{out['n'] - failed}/{out['n']} items passed ({out['config']})")
    return "\n\n".join(parts)


def banner(title: str, lines: list[str]) -> str:
    bar = "!" * 72
    return "\n".join(["", bar, title, *(f"  FAIL  {x}" for x in lines), bar])


def failure_reasons(items: list[dict]) -> list[tuple[str, int]]:
    """Items per failure kind ('fact missing', 'guard: expected block got none', ...), most common first."""
    counts: dict[str, int] = {}
    for it in items:
        for key in {f if f.startswith("guard:") else re.sub(r" \[\d+\]", "", f.split(":")[0]) for f in it["failures"]}:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ------------------------------------------------------------------------------------------ files
def _excerpt(s: str | None, n: int = 160) -> str:
    s = " ".join((s or "").split())
    return (s[:n] + "…" if len(s) > n else s).replace("|", "\\|")


def markdown(out: dict[str, Any]) -> str:
    m, cfg = out["metrics"], out["config"]
    lines = [f"# Evaluation report ({cfg})", "",
             f"{out['n']} items; {sum(i['passed'] for i in out['items'])} passed.", "",
             "## Overall", "", md_table({cfg: m}, [k for k in m if k != "n"], "config"), ""]
    if out.get("configs"):
        lines += ["## Configurations side by side", "",
                  md_table(transpose(out["configs"]), list(out["configs"]), "metric"), ""]
    for title, key in (("category", "by_category"), ("language", "by_language"), ("audience", "by_audience"),
                       ("phrasing style", "by_style")):
        if key in out:
            lines += [f"## By {title}", "", md_table(out[key], GROUP_COLS, title), ""]
    auc = refusal_auc(out["items"])
    if auc is not None:
        lines += ["## Refusal decision", "", f"ROC of the support score (coverage of the chosen sentences; 0 when no "
                  f"sentence gives what was asked) for out-of-scope vs in-scope items: AUC {auc:.3f}. "
                  "The thresholds are cross-validated on the dev set (`benchmarks/calibrate_refusal.py`).", "",
                  "![refusal ROC](refusal.png)", ""]
    conf = out["confusion"]
    lines += ["## Guard confusion (rows expected, columns got)", "", md_table(conf, list(conf), "expected"), ""]
    lines += ["## Most common failure reasons", "", "| reason | items |", "|---|---|"]
    lines += [f"| {_excerpt(k)} | {v} |" for k, v in failure_reasons(out["items"])[:10]] + [""]
    worst = sorted((i for i in out["items"] if not i["passed"]), key=lambda i: (-len(i["failures"]), str(i["id"])))
    lines += ["## 20 worst items", "", "| id | category | failures | question | answer (excerpt) |",
              "|---|---|---|---|---|"]
    for i in worst[:20]:
        lines.append(f"| {i['id']} | {i.get('category')} | {_excerpt('; '.join(i['failures']), 300)} | "
                     f"{_excerpt(i.get('question'))} | {_excerpt(i['answer'])} |")
    lines += ["", "## How the metrics are computed", ""]
    lines += [f"- **{k}**: {v}" for k, v in METRIC_NOTES.items()]
    return "\n".join(lines) + "\n"


def chart(out: dict[str, Any], path: Path) -> None:
    """Grouped bars of the main metrics: per configuration, or per category when there is one configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = out.get("configs") or {f"{k} (n={v['n']})": v for k, v in out["by_category"].items()}
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(MAIN) * max(1, len(groups)) / 3), 4.5))
    width = 0.8 / max(1, len(groups))
    for g, (name, metrics) in enumerate(groups.items()):
        xs = [x + (g - (len(groups) - 1) / 2) * width for x in range(len(MAIN))]
        ax.bar(xs, [metrics.get(k) or 0.0 for k in MAIN], width, label=name)
    ax.set_xticks(range(len(MAIN)), MAIN, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share")
    what = "configuration" if out.get("configs") else f"category ({out['config']})"
    ax.set_title(f"Evaluation metrics by {what}, n={out['n']}")
    ax.legend(fontsize=8, ncol=min(5, len(groups)))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _roc(items: list[dict]) -> list[tuple[float, float]] | None:
    """(false refusal rate, out-of-scope refusal rate) for every threshold on the support score."""
    scored = [((i.get("support") or {}).get("coverage", 0.0) if (i.get("support") or {}).get("answered") else 0.0,
               i.get("category") == "out_of_scope") for i in items if i.get("support")]
    pos, neg = sum(o for _, o in scored), sum(not o for _, o in scored)
    if not pos or not neg:
        return None
    pts = [(sum(s < t for s, o in scored if not o) / neg, sum(s < t for s, o in scored if o) / pos)
           for t in sorted({s for s, _ in scored} | {0.0, 1.01})]
    return sorted(set(pts))


def refusal_auc(items: list[dict]) -> float | None:
    pts = _roc(items)
    if not pts:
        return None
    pts = [(0.0, 0.0)] + pts + [(1.0, 1.0)]
    return float(sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in zip(pts, pts[1:])))


def refusal_chart(items: list[dict], path: Path) -> None:
    """ROC of the refusal decision: how many out-of-scope questions each threshold refuses, at what cost."""
    pts = _roc(items)
    if not pts:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set_xlabel("in-scope questions refused")
    ax.set_ylabel("out-of-scope questions refused")
    ax.set_title(f"Refusal ROC (AUC {refusal_auc(items):.2f})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out_dir: Path, out: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(markdown(out), encoding="utf-8")
    chart(out, out_dir / "chart.png")
    refusal_chart(out["items"], out_dir / "refusal.png")
    write_json(out_dir / "metrics.json", {k: v for k, v in out.items() if k != "items"})
