"""HTML and Markdown rendering of answers for the web UI: guard banners, the citation panel with the quoted
span marked in its source, [n] links, the conversation export. Pure functions of an answer dict."""
from __future__ import annotations

import html
import json
import re
from typing import Any

CSS = """
.guard-banner {border-radius: 8px; padding: 10px 14px; margin: 4px 0; font-size: 15px; line-height: 1.5}
.guard-banner.block {background: #fdecea; border: 2px solid #c62828; color: #7f1010}
.guard-banner.warn {background: #fff4e0; border: 2px solid #ef8f00; color: #6b3d00}
.guard-banner .finding {margin-top: 8px}
.guard-banner .badge {display: inline-block; font-size: 12px; font-weight: 700; color: #fff; border-radius: 4px;
  padding: 0 6px; background: #ef8f00}
.guard-banner .finding.block .badge {background: #c62828}
.guard-banner .banner-title {font-size: 16px; font-weight: 700}
.guard-banner .rule-quote {display: block; margin-top: 4px; font-style: italic; opacity: .9}
.citations details {border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 10px; margin: 6px 0}
.citations summary {cursor: pointer; font-weight: 600}
.citations .passage {margin: 8px 0 4px; line-height: 1.7}
.citations mark {background: #ffe066; color: #000; padding: 0 2px}
.citations .quote-en, .citations .meta {color: #555; font-size: 13px}
#safety-notice {background: #e8f1fb; border-left: 4px solid #1e6fd9; padding: 10px 14px; border-radius: 4px}
"""

# A click on an [n] link in the chat opens the matching citation in the panel instead of navigating.
HEAD = """<script>
document.addEventListener('click', function (e) {
  const a = e.target.closest && e.target.closest('a[href*="#cit-"]');
  if (!a) return;
  e.preventDefault(); e.stopPropagation();
  const id = a.getAttribute('href').split('#')[1];
  const d = document.getElementById(id);
  if (d) { d.open = true; d.scrollIntoView({behavior: 'smooth', block: 'center'}); }
}, true);
</script>"""

_MARKER = re.compile(r"\[(\d+)\]")


def _esc(s: str) -> str:
    return html.escape(s or "", quote=True)


def link_markers(text: str, turn: int) -> str:
    """[n] -> a Markdown link to the citation panel entry of this turn's answer."""
    return _MARKER.sub(lambda m: f"[[{m.group(1)}]](#cit-{turn}-{m.group(1)})", text)


def passage_html(assistant, c: dict[str, Any], context: int = 90) -> str:
    """The cited passage from the original source text, with the quoted span [start:end] in <mark>."""
    text = assistant.index.texts.get(c["doc_id"], "")
    start, end = c["start"], c["end"]
    if not text or text[start:end] != c["quote"]:
        return f"<mark>{_esc(c['quote'])}</mark>"
    p = next((p for p in assistant.index.passages if p.id == c["chunk_id"]), None)
    lo, hi = (p.start, p.end) if p else (start, end)
    lo, hi = min(lo, start), max(hi, end)
    if lo == start and hi == end:  # the quote is the whole passage: show its neighbourhood too
        lo, hi = max(0, start - context), min(len(text), end + context)
    before, after = text[lo:start], text[end:hi]
    return (("…" if lo > 0 else "") + _esc(before) + f"<mark>{_esc(text[start:end])}</mark>" + _esc(after)
            + ("…" if hi < len(text) else ""))


def citations_html(assistant, answer: dict | None, turn: int, lang: str) -> str:
    if not answer:
        return ""
    cits = answer.get("citations") or []
    if not cits:
        cits = answer.get("see_also") or []
    if not cits:
        return f"<div class='citations'><p>{'本回答没有引用。' if lang == 'zh' else 'No citations for this answer.'}</p></div>"
    head = "引用来源（点击展开原文）" if lang == "zh" else "Sources (click to open the passage)"
    if not answer.get("citations"):
        head = "另见（并未回答该问题）" if lang == "zh" else "See also (they do not answer the question)"
    parts = [f"<div class='citations'><h4>{head}</h4>"]
    for c in cits:
        section = " / ".join(c.get("section") or [])
        en = (f"<div class='quote-en'>EN (translation): {_esc(c['quote_en'])}</div>" if c.get("quote_en") else "")
        parts.append(
            f"<details class='citation' id='cit-{turn}-{c['n']}' data-n='{c['n']}'>"
            f"<summary>[{c['n']}] {_esc(c['source_title'])} · {_esc(section)}</summary>"
            f"<div class='meta'>{_esc(c.get('original_file', ''))}{_added_by(c, lang)} · "
            f"{'字符' if lang == 'zh' else 'chars'} "
            f"{c['start']}–{c['end']}</div>"
            f"<div class='passage'>{passage_html(assistant, c)}</div>{en}</details>")
    return "".join(parts) + "</div>"


def _added_by(c: dict[str, Any], lang: str) -> str:
    """Who added the cited document (provenance): a clinic upload is never mistaken for a seed guideline."""
    who = c.get("added_by")
    if not who:
        return ""
    label = {"seed": ("随附指南", "shipped guideline"), "clinic": ("诊所添加", "added by the clinic")}.get(who, (who, who))
    return f" · <span class='added-by' data-added-by='{_esc(who)}'>{label[0 if lang == 'zh' else 1]}</span>"


def banner_html(answer: dict | None, lang: str) -> str:
    """Guard findings of the latest answer: red for block, amber for warn, each with its rule's quote."""
    if not answer:
        return ""
    findings = [f for f in answer.get("findings") or [] if f.get("level") in ("block", "warn")]
    if not findings:
        return ""
    level = "block" if any(f["level"] == "block" for f in findings) else "warn"
    title = {("block", "zh"): "不建议（指南禁忌 / 超出指南范围）", ("warn", "zh"): "注意",
             ("block", "en"): "Not recommended (guideline contraindication / outside the guideline range)",
             ("warn", "en"): "Caution"}[(level, lang)]
    rows = []
    for f in sorted(findings, key=lambda f: f["level"] != "block"):
        ref = f" [{f['citation']['n']}]" if f.get("citation") else ""
        src = ""
        if f.get("source_quote"):
            label = "指南原文" if lang == "zh" else "Guideline text"
            src = f"<span class='rule-quote'>{label}：「{_esc(f['source_quote'])}」{ref}</span>"
        assumption = f"<span class='rule-quote'>{_esc(f['assumption'])}</span>" if f.get("assumption") else ""
        rows.append(f"<div class='finding {f['level']}' data-rule='{_esc(f['rule_id'])}'>"
                    f"<span class='badge'>{_esc(f['level'].upper())}</span> <b>{_esc(f['message'])}</b>{src}{assumption}</div>")
    return (f"<div class='guard-banner {level}' role='alert' data-level='{level}'><div class='banner-title'>{title}</div>"
            + "".join(rows) + "</div>")


def export_markdown(records: list[dict], lang: str, patient: dict | None = None) -> str:
    """The conversation with its citations and guard findings, as Markdown."""
    zh = lang == "zh"
    out = ["# " + ("临床指南助手 — 对话记录" if zh else "Guideline assistant — conversation"), ""]
    if patient:
        out += ["**" + ("患者信息" if zh else "Patient context") + "**: `" + _json(patient) + "`", ""]
    for i, r in enumerate(records, 1):
        a = r["answer"]
        out += [f"## {'问' if zh else 'Q'}{i}: {r['question']}", ""]
        if r.get("patient"):
            out += ["*" + ("患者信息" if zh else "Patient context") + ": `" + _json(r["patient"]) + "`*", ""]
        out += [a["text"], ""]
        for f in a.get("findings") or []:
            if f["level"] in ("block", "warn"):
                out.append(f"> **{f['level'].upper()}** {f['message']}" + (
                    f" — 「{f['source_quote']}」 ({f['source_doc']})" if f.get("source_quote") else ""))
        if a.get("findings"):
            out.append("")
        for c in a.get("citations") or []:
            section = " / ".join(c.get("section") or [])
            out.append(f"- [{c['n']}] {c['source_title']} · {section} · `{c['original_file']}` "
                       f"{c['start']}–{c['end']}: 「{c['quote']}」")
            if c.get("quote_en"):
                out.append(f"    - EN (translation): {c['quote_en']}")
        out.append("")
    return "\n".join(out)


def _json(d: Any) -> str:
    return json.dumps(d, ensure_ascii=False)
