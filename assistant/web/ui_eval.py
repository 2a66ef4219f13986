"""The Evaluation tab: which question sets may be read (eval/ or an upload, nothing else) and a run of the
evaluation (assistant.evaluation) with the shared Assistant, shown as a table, a chart and report files."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import REPO
from ..evaluation.report import build_payload, write_json, write_report
from ..evaluation.run import run
from ..evaluation.scoring import load_set
from .ui_text import err


def eval_sets(eval_dir: Path) -> list[str]:
    files = sorted(eval_dir.glob("*.jsonl")) if eval_dir.is_dir() else []
    return [str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in files]


def upload_dirs() -> list[Path]:
    """Where Gradio puts uploaded files (the only place besides eval/ a set may be read from)."""
    from gradio.utils import get_upload_folder

    return [Path(get_upload_folder()).resolve()]


def allowed_set(set_path: str | None, upload: str | None, eval_dir: Path) -> Path | None:
    """The question set to read: an upload Gradio stored, or a .jsonl file under `eval_dir`; anything else
    (another server path, `..`, a symlink out) is None, before anything is read or even checked for existence."""
    if upload:
        p = Path(str(upload)).resolve()
        return p if any(p.is_relative_to(d) for d in upload_dirs()) else None
    if not set_path:
        return None
    raw = Path(str(set_path))
    root = eval_dir.resolve()
    candidates = [raw] if raw.is_absolute() else [REPO / raw, eval_dir / raw]
    for c in candidates:
        p = c.resolve()
        if p.is_relative_to(root) and p.suffix == ".jsonl":
            return p
    return None


def run_eval(assistant, set_path: str | None, upload: str | None, lang: str, progress=None,
             eval_dir: Path | None = None):
    """Run the eval suite on one set with the shared Assistant -> (status, table, chart path, report files).
    Sets are read only from `eval_dir` (default: the repo's eval/) or from a file uploaded to the app."""
    zh = lang == "zh"
    if not (upload or set_path):
        return ("请选择或上传问题集。" if zh else "Choose or upload a question set."), None, None, None
    resolved = allowed_set(set_path, upload, eval_dir or REPO / "eval")
    if resolved is None:
        return ((f"**{err(lang)}** 只能评估 eval/ 目录中的问题集或上传的文件。" if zh else
                 f"**{err(lang)}** only question sets under eval/ or an uploaded file can be evaluated."),
                None, None, None)
    path = str(resolved)
    try:
        items = load_set(path)
    except (ValueError, OSError) as e:
        return f"**{err(lang)}** {e}", None, None, None
    t0 = time.perf_counter()  # Assistant.retrieve takes the lock ask uses
    tick = None if progress is None else (
        lambda i, n: progress((i, n), desc=("评估中" if zh else "evaluating"), unit="q"))
    name = assistant.settings.retriever
    out = build_payload({name: run(assistant, items, on_item=tick)}, name)
    out_dir = Path(tempfile.mkdtemp(prefix="eval-report-"))
    write_report(out_dir, out)
    write_json(out_dir / "results.json", out)
    files = [str(p) for p in sorted(out_dir.iterdir()) if p.suffix in (".md", ".json", ".png")]
    chart = next((f for f in files if f.endswith(".png")), None)
    cats = out.get("by_category") or {}
    header = ["metric", "all"] + list(cats)
    rows = [[m, _fmt(v)] + [_fmt(cats[c].get(m)) for c in cats] for m, v in out["metrics"].items()]
    secs = time.perf_counter() - t0
    status = (f"{Path(path).name}: {len(items)} 题，用时 {secs:.1f} 秒（检索器 {name}）" if zh else
              f"{Path(path).name}: {len(items)} items in {secs:.1f} s (retriever {name})")
    return status, gr.update(value=rows, headers=header), chart, files


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) <= 1 else f"{v:.1f}"
    return "–" if v is None else str(v)
