"""The Documents tab: the library this server serves (provenance, ingest report, rules), and for admins
(anyone when login is off, unless Settings.library_edit_without_login is false) upload, replace and remove.

Every handler goes through assistant.docs_service, which checks the role again on the server: hiding the
controls is only for the eye, a request to a hidden handler is refused the same way.
"""
from __future__ import annotations

import html
import logging
from pathlib import Path

import gradio as gr

from ..docs_service import DocsService, Forbidden
from ..loaders import SUPPORTED
from ..model import InputError

__all__ = ["DocsTab", "docs_tab", "detail_html"]
log = logging.getLogger(__name__)

T = {  # key -> (zh, en)
    "tab": ("文档", "Documents"), "intro": ("### 指南文档库", "### Guideline library"),
    "table": ("已索引的文档", "Indexed documents"), "pick": ("选择文档", "Document"),
    "refresh": ("刷新", "Refresh"), "admin": ("### 上传、替换、删除（管理员）", "### Upload, replace, remove (admin)"),
    "file": ("指南文件（.md .txt .html .pdf .docx）", "Guideline file (.md .txt .html .pdf .docx)"),
    "rules": ("规则文件（可选，.rules.yaml）", "Rules file (optional, .rules.yaml)"),
    "title": ("标题（可选）", "Title (optional)"), "force": ("允许替换或删除种子文档", "Allow replacing or removing a seed document"),
    "add": ("上传为新文档", "Upload as a new document"), "replace": ("用此文件替换所选文档", "Replace the selected document"),
    "remove": ("删除所选文档", "Remove the selected document"),
}
COLUMNS = {"zh": ["ID", "标题", "添加者", "原文件名", "SHA-256", "段落", "表格行", "规则", "添加日期"],
           "en": ["ID", "Title", "Added by", "Original file", "SHA-256", "Passages", "Table rows", "Rules", "Added"]}


def t(key: str, lang: str) -> str:
    return T[key][0 if lang == "zh" else 1]


def _esc(s: object) -> str:
    return html.escape("" if s is None else str(s), quote=True)


def table_rows(listing: dict) -> list[list]:
    return [[d["doc_id"], d["shown_as"], d["added_by"], d["original_file"], d["sha256"][:12], d["passages"],
             d["tables"], d["rules"], d["added_at"]] for d in listing["documents"]]


def detail_html(d: dict | None, lang: str) -> str:
    """One document's provenance, ingest report and rules."""
    if not d:
        return ""
    zh = lang == "zh"
    rep = d["report"]
    aside = "、".join(f"{k} {v}" for k, v in sorted(rep["set_aside"].items())) or ("无" if zh else "nothing")
    terms = ", ".join(f"{x.get('zh', '')}={x.get('abbr') or x.get('en', '')}" for x in rep["terms"][:12])
    parts = [f"<div class='doc-detail' data-doc='{_esc(d['doc_id'])}'><h4>{_esc(d['shown_as'])}</h4>",
             f"<div class='meta'>{'添加者' if zh else 'added by'} <b>{_esc(d['added_by'])}</b> · "
             f"{_esc(d['added_at'])} · {'原文件' if zh else 'file'} <code>{_esc(d['original_file'])}</code> · "
             f"SHA-256 <code>{_esc(d['sha256'])}</code></div>",
             f"<p>{rep['sections']} {'节' if zh else 'sections'}, {rep['table_rows']} {'表格行' if zh else 'table rows'}, "
             f"{rep['sentences']} {'句' if zh else 'sentences'}, {d['passages']} {'段落' if zh else 'passages'}; "
             f"{'已剔除' if zh else 'set aside'}: {_esc(aside)}; {'学到的术语' if zh else 'terms learnt'}: "
             f"{len(rep['terms'])} {_esc(terms)}</p>"]
    if d["set_aside_lines"]:
        items = "".join(f"<li>[{r['start']}–{r['end']}] {_esc(r['reason'])}: {_esc(r['text'][:100])}</li>"
                        for r in d["set_aside_lines"][:30])
        parts.append(f"<details><summary>{'剔除的行' if zh else 'Lines set aside'}</summary><ul>{items}</ul></details>")
    rules = "".join(f"<li class='doc-rule'><code>{_esc(r['id'])}</code> ({_esc(r['kind'])}): 「{_esc(r['quote'])}」</li>"
                    for r in d["rules_attached"])
    parts.append(f"<p><b>{'规则' if zh else 'Rules'}</b> ({len(d['rules_attached'])})</p><ul>{rules}</ul>")
    for r in d["rules_disabled"]:
        parts.append(f"<p class='rule-disabled'>{'规则不再适用' if zh else 'rule no longer applies'}: "
                     f"<code>{_esc(r['rule_id'])}</code>: {_esc(r['reason'])}</p>")
    return "".join(parts) + "</div>"


def change_md(out: dict, lang: str) -> str:
    zh = lang == "zh"
    lines = [f"- {'已添加' if zh else 'added'}: {_esc(a)}" for a in out.get("added", [])]
    if out.get("removed"):
        m = out["removed"]
        lines.append(f"- {'已移出' if zh else 'taken out'}: {_esc(m['doc_id'])} ({_esc(m['added_by'])}, "
                     f"{_esc(m['original_file'])})")
    for r in out.get("rules_stopped", []):
        lines.append(f"- {'引用它的规则不再适用' if zh else 'rule quoting it no longer applies'}: `{_esc(r['id'])}`")
    lines.append(f"- {'现在使用索引' if zh else 'now serving index'} `{_esc(out.get('serving'))}`")
    return "\n".join(lines)


class DocsTab:
    """The tab's components, built inside the app's gr.Tabs; `bind_language` follows the UI toggle."""

    def __init__(self, assistant, accounts: list | None = None):
        self.service = DocsService(assistant, accounts)
        self.open_to_all = self.service.may_edit(None) if not accounts else False
        listing = self._first_listing()
        ids = [d["doc_id"] for d in listing["documents"]]
        with gr.Tab(t("tab", "zh"), id="documents", elem_id="tab-documents") as self.tab:
            self.intro = gr.Markdown(t("intro", "zh"))
            self.table = gr.Dataframe(table_rows(listing), headers=COLUMNS["zh"], label=t("table", "zh"),
                                      interactive=False, wrap=True, elem_id="docs-table")
            with gr.Row():
                self.pick = gr.Dropdown(ids, value=ids[0] if ids else None, label=t("pick", "zh"), elem_id="docs-pick")
                self.refresh = gr.Button(t("refresh", "zh"), size="sm", scale=0, elem_id="docs-refresh")
            self.detail = gr.HTML(self._detail(ids[0] if ids else None, "zh"), elem_id="docs-detail")
            with gr.Column(visible=self.open_to_all, elem_id="docs-admin") as self.admin:
                self.admin_md = gr.Markdown(t("admin", "zh"))
                self.file = gr.File(label=t("file", "zh"), file_types=list(SUPPORTED), type="filepath",
                                    elem_id="docs-file")
                self.rules = gr.File(label=t("rules", "zh"), file_types=[".yaml", ".yml"], type="filepath",
                                     elem_id="docs-rules")
                self.title = gr.Textbox(label=t("title", "zh"), max_lines=1, elem_id="docs-title")
                self.force = gr.Checkbox(label=t("force", "zh"), value=False, elem_id="docs-force")
                with gr.Row():
                    self.add = gr.Button(t("add", "zh"), variant="primary", elem_id="docs-add")
                    self.replace = gr.Button(t("replace", "zh"), elem_id="docs-replace")
                    self.remove = gr.Button(t("remove", "zh"), variant="stop", elem_id="docs-remove")
            self.result = gr.Markdown("", elem_id="docs-result")

    def _first_listing(self) -> dict:
        """The list shown before the tab is first opened; empty if the index cannot be read yet (it is read
        again whenever the tab is selected)."""
        try:
            return self.service.listing()
        except Exception as e:  # noqa: BLE001 - the app must start; the tab fills in on select
            log.warning("documents tab: library not readable at start (%s)", type(e).__name__)
            return {"documents": []}

    def _detail(self, doc_id: str | None, lang: str) -> str:
        if not doc_id:
            return ""
        try:
            return detail_html(self.service.detail(doc_id), lang)
        except InputError:
            return ""

    def _view(self, pick: str | None, lang: str, user: str | None):
        """Table, picker, detail and the admin controls' visibility, from the version serving now."""
        listing = self.service.listing()
        ids = [d["doc_id"] for d in listing["documents"]]
        pick = pick if pick in ids else (ids[0] if ids else None)
        return (gr.update(value=table_rows(listing), headers=COLUMNS[lang]), gr.update(choices=ids, value=pick),
                self._detail(pick, lang), gr.update(visible=self.service.may_edit(user)))

    def _change(self, action: str, file, rules, title, force, pick, lang, user):
        try:
            if action == "remove":
                out = self.service.remove(pick or "", user, force=bool(force))
            elif not file:
                raise InputError("请先选择一个文件。" if lang == "zh" else "Choose a file first.")
            elif action == "add":
                out = self.service.upload(Path(file), user, {"title": title}, Path(rules) if rules else None)
            else:
                out = self.service.replace(pick or "", Path(file), user, {"title": title},
                                           Path(rules) if rules else None, force=bool(force))
        except (Forbidden, InputError) as e:
            return (*self._view(pick, lang, user), f"**{'错误：' if lang == 'zh' else 'Error:'}** {_esc(e)}")
        except Exception as e:  # noqa: BLE001 - a plain sentence for the user; the log gets the type
            log.error("library change failed: %s", type(e).__name__)
            return (*self._view(pick, lang, user), "**Error:** the library was not changed (internal error)")
        new_pick = (out.get("doc_ids") or [None])[0]
        return (*self._view(new_pick, lang, user), change_md(out, lang))

    def wire(self, ui_lang, hidden: dict) -> None:
        """Events: refresh on select, detail on pick, the three changes, the language toggle."""
        view_out = [self.table, self.pick, self.detail, self.admin]

        def view(pick, lang, request: gr.Request):
            return self._view(pick, lang, getattr(request, "username", None))

        self.tab.select(view, [self.pick, ui_lang], view_out, **hidden)
        self.refresh.click(view, [self.pick, ui_lang], view_out, **hidden)
        self.pick.change(lambda p, lang: self._detail(p, lang), [self.pick, ui_lang], self.detail, **hidden)
        inputs = [self.file, self.rules, self.title, self.force, self.pick, ui_lang]
        for button, action in ((self.add, "add"), (self.replace, "replace"), (self.remove, "remove")):
            def run(file, rules, title, force, pick, lang, request: gr.Request, action=action):
                return self._change(action, file, rules, title, force, pick, lang, getattr(request, "username", None))
            button.click(run, inputs, view_out + [self.result], **hidden)

        def switch(lang, pick):
            ups = [gr.update(label=t("tab", lang)), gr.update(value=t("intro", lang)),
                   gr.update(label=t("table", lang), headers=COLUMNS[lang]), gr.update(label=t("pick", lang)),
                   gr.update(value=t("refresh", lang)), gr.update(value=t("admin", lang)),
                   gr.update(label=t("file", lang)), gr.update(label=t("rules", lang)),
                   gr.update(label=t("title", lang)), gr.update(label=t("force", lang)),
                   gr.update(value=t("add", lang)), gr.update(value=t("replace", lang)),
                   gr.update(value=t("remove", lang))]
            return ups + [self._detail(pick, lang)]

        ui_lang.change(switch, [ui_lang, self.pick],
                       [self.tab, self.intro, self.table, self.pick, self.refresh, self.admin_md, self.file,
                        self.rules, self.title, self.force, self.add, self.replace, self.remove, self.detail],
                       **hidden)


def docs_tab(assistant, accounts: list | None = None) -> DocsTab:
    return DocsTab(assistant, accounts)
