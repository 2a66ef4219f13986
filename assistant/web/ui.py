"""The Gradio Blocks: Clinician, Patient and Evaluation tabs, a zh/en UI toggle, and the "/ask" endpoint.

Every handler calls the one Assistant passed to `build_ui`; rendering helpers live in assistant.web.render.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from ..config import REPO
from ..model import InputError
from .docs_tab import docs_tab
from .render import banner_html, citations_html, export_markdown, link_markers
from .ui_eval import eval_sets, run_eval
from .ui_export import export_link, without_patient
from .ui_text import SUGGESTIONS, cond_choices, err, t

log = logging.getLogger(__name__)
HIDDEN = {"api_visibility": "undocumented"}  # the UI's own events: not part of the documented API


def _num(text: Any, label: str) -> float | None:
    """A number field of the form (a Textbox: gr.Number sends 0 for an empty field)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    s = str(text).strip().translate(str.maketrans("０１２３４５６７８９．，", "0123456789.,")).replace(",", "")
    try:
        return float(s)
    except ValueError:
        raise InputError(f"{label}: {text!r} is not a number") from None


def form_patient(age, pregnant, conditions, glucose, unit, nsaid, meds, platelets) -> dict | None:
    """The patient form as a patient dict for the guard; only filled-in fields; None when empty."""
    p: dict[str, Any] = {}
    for key, text, label in (("age", age, "age"), ("nsaid_last_dose_days_ago", nsaid, "NSAID days"),
                             ("platelets_10e9_per_l", platelets, "platelets")):
        if (v := _num(text, label)) is not None:
            p[key] = v
    if pregnant:
        p["pregnant"] = True
    if conditions:
        p["conditions"] = list(conditions)
    if (g := _num(glucose, "glucose")) is not None:
        p["glucose_mg_dl" if unit == "mg/dL" else "glucose_mmol_l"] = g
    names = [m.strip() for m in re.split(r"[,，;；、\n]+", meds or "") if m.strip()]
    if names:
        p["medications"] = names
    return p or None


def chat_messages(records: list[dict]) -> list[dict]:
    msgs = []
    for i, r in enumerate(records):
        msgs.append({"role": "user", "content": r["question"]})
        msgs.append({"role": "assistant", "content": link_markers(r["answer"]["text"], i)})
    return msgs


def _safe(text: str) -> str:
    """Echoed input that can be shown and sent as UTF-8 (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def internal_error(e: BaseException, lang: str) -> str:
    """What a user sees when something inside failed: a plain sentence; the log gets the type only
    (an exception's message can hold patient values)."""
    log.error("unhandled %s while answering in the web app", type(e).__name__)
    return ("内部错误，这个问题没有得到回答；请稍后再试。" if lang == "zh" else
            "Internal error: the question was not answered; please try again.")


class Handlers:
    """The event handlers: every one calls the one Assistant; exports go to the private one-time store."""

    def __init__(self, assistant, exports) -> None:
        self.assistant, self.exports = assistant, exports

    def ask(self, question: str, records: list[dict], lang: str, audience: str, patient: dict | None):
        pin = getattr(self.assistant, "pinned", None)  # answer and citation panel from one index version
        with pin() if pin else contextlib.nullcontext():
            return self._ask(question, records, lang, audience, patient)

    def _ask(self, question: str, records: list[dict], lang: str, audience: str, patient: dict | None):
        records = list(records or [])
        try:
            ans = self.assistant.ask([r["question"] for r in records] + [question], patient, audience=audience)
        except InputError as e:
            msg = _safe(str(e))
            gr.Warning(msg)
            return (chat_messages(records), question, records, gr.update(), gr.update(), f"**{err(lang)}** {msg}")
        except Exception as e:  # noqa: BLE001 - the user sees a plain sentence, never internals
            msg = internal_error(e, lang)
            gr.Warning(msg)
            return (chat_messages(records), question, records, gr.update(), gr.update(), f"**{err(lang)}** {msg}")
        d = {k: v for k, v in ans.to_dict().items() if k != "passages"}  # keep the session state small
        records.append({"question": question, "answer": d, "patient": patient})
        turn = len(records) - 1
        return (chat_messages(records), "", records, banner_html(d, lang),
                citations_html(self.assistant, d, turn, lang), "")

    def clinician_ask(self, question, records, lang, *form):
        try:
            patient = form_patient(*form)
        except InputError as e:
            gr.Warning(str(e))
            return (chat_messages(records or []), question, records, gr.update(), gr.update(),
                    f"**{err(lang)}** {e}")
        return self.ask(question, records, lang, "clinician", patient)

    def patient_ask(self, question, records, lang):
        return self.ask(question, records, lang, "patient", None)

    def export(self, records, lang, include_patient=False):
        """The conversation as Markdown in the private export store; patient fields only when ticked."""
        if not records:
            gr.Warning("还没有对话可导出。" if lang == "zh" else "Nothing to export yet.")
            return gr.update(value="", visible=False)
        kept = records if include_patient else without_patient(records, lang)
        name = time.strftime("conversation-%Y%m%d-%H%M%S.md")
        token = self.exports.put(name, export_markdown(kept, lang))
        return gr.update(value=export_link(token, name, lang), visible=True)

    def api_ask(self, question: str, patient_json: str = "", audience: str = "clinician") -> dict:
        """Answer one question. patient_json: a JSON object of patient fields, or "" for none."""
        try:
            patient = json.loads(patient_json) if patient_json and patient_json.strip() else None
        except json.JSONDecodeError as e:
            raise gr.Error(f"patient_json is not valid JSON ({e.msg} at column {e.colno})") from None
        except RecursionError:
            raise gr.Error("patient_json is nested too deeply: give a flat object of patient fields") from None
        except (ValueError, TypeError):
            raise gr.Error("patient_json must be a JSON object of patient fields, as text") from None
        try:
            return self.assistant.ask([question], patient, audience=audience or "clinician").to_dict()
        except InputError as e:
            raise gr.Error(_safe(str(e))) from None
        except Exception as e:  # noqa: BLE001 - never the exception's text: it may hold internals or patient values
            raise gr.Error(internal_error(e, "en")) from None


def build_ui(assistant, eval_dir: Path | None = None, exports=None, accounts: list | None = None) -> gr.Blocks:
    """The Blocks app: Clinician, Patient, Evaluation and Documents tabs sharing `assistant`, and "/ask"."""
    from .exports import ExportStore

    eval_dir = eval_dir or REPO / "eval"
    h = Handlers(assistant, exports if exports is not None else ExportStore())
    with gr.Blocks(title="临床指南助手 / Guideline assistant", analytics_enabled=False) as demo:
        records_c, records_p = gr.State([]), gr.State([])
        with gr.Row():
            title = gr.Markdown(t("title", "zh"), elem_id="app-title")
            ui_lang = gr.Radio([("中文", "zh"), ("English", "en")], value="zh", label=t("ui_lang", "zh"),
                               elem_id="ui-lang", scale=0, min_width=220)
        with gr.Tabs():
            c = _clinician_tab()
            p = _patient_tab()
            e = _eval_tab(eval_dir)
            docs = docs_tab(assistant, accounts)  # the library: list, reports, rules; changes for admins
        _wire_chat(h, ui_lang, records_c, records_p, c, p)
        e.run_btn.click(_evaluate(assistant, eval_dir), [e.set_dd, e.upload, ui_lang],
                        [e.status, e.metrics, e.chart, e.report], **HIDDEN)
        _wire_language(assistant, ui_lang, title, records_c, records_p, c, p, e)
        docs.wire(ui_lang, HIDDEN)
        gr.api(h.api_ask, api_name="ask")
    demo.queue(default_concurrency_limit=8)  # retrieval is serialised inside Assistant.ask anyway
    return demo


def _clinician_tab() -> SimpleNamespace:
    with gr.Tab(t("tab_clin", "zh"), id="clinician", elem_id="tab-clinician") as tab:
        with gr.Row():
            with gr.Column(scale=3):
                banner = gr.HTML("", elem_id="clinician-banner")
                chat = gr.Chatbot(label=t("chat", "zh"), elem_id="clinician-chat", height=420,
                                  feedback_options=None, buttons=["copy"])
                status = gr.Markdown("", elem_id="clinician-status")
                with gr.Row():
                    q = gr.Textbox(label=t("question", "zh"), placeholder=t("q_ph", "zh"), scale=5,
                                   elem_id="clinician-question", max_lines=4)
                    send = gr.Button(t("send", "zh"), variant="primary", scale=1, elem_id="clinician-send")
                with gr.Row():
                    new = gr.Button(t("new", "zh"), size="sm", elem_id="clinician-new")
                    export = gr.Button(t("export", "zh"), size="sm", elem_id="clinician-export")
                cits = gr.HTML("", elem_id="clinician-citations")
                export_patient = gr.Checkbox(label=t("export_patient", "zh"), value=False, elem_id="export-patient")
                export_file = gr.HTML("", label=t("export_file", "zh"), elem_id="export-file", visible=False)
            form = _patient_form()
    return SimpleNamespace(tab=tab, banner=banner, chat=chat, status=status, q=q, send=send, new=new, export=export,
                           cits=cits, export_patient=export_patient, export_file=export_file, **vars(form))


def _patient_form() -> SimpleNamespace:
    """The clinician's structured patient context (form_patient reads it in this order)."""
    with gr.Column(scale=2, elem_id="patient-form"):
        form_md = gr.Markdown(t("form", "zh"))
        age = gr.Textbox(label=t("age", "zh"), elem_id="form-age", max_lines=1)
        pregnant = gr.Checkbox(label=t("pregnant", "zh"), value=False, elem_id="form-pregnant")
        conditions = gr.CheckboxGroup(cond_choices("zh"), label=t("conditions", "zh"), elem_id="form-conditions")
        with gr.Row():
            glucose = gr.Textbox(label=t("glucose", "zh"), elem_id="form-glucose", max_lines=1)
            unit = gr.Radio(["mmol/L", "mg/dL"], value="mmol/L", label=t("unit", "zh"), elem_id="form-glucose-unit")
        nsaid = gr.Textbox(label=t("nsaid", "zh"), elem_id="form-nsaid", max_lines=1)
        meds = gr.Textbox(label=t("meds", "zh"), elem_id="form-meds")
        platelets = gr.Textbox(label=t("platelets", "zh"), elem_id="form-platelets", max_lines=1)
        clear_form = gr.Button(t("clear_form", "zh"), size="sm", elem_id="form-clear")
    return SimpleNamespace(form_md=form_md, age=age, pregnant=pregnant, conditions=conditions, glucose=glucose,
                           unit=unit, nsaid=nsaid, meds=meds, platelets=platelets, clear_form=clear_form,
                           form=[age, pregnant, conditions, glucose, unit, nsaid, meds, platelets])


def _patient_tab() -> SimpleNamespace:
    with gr.Tab(t("tab_pat", "zh"), id="patient", elem_id="tab-patient") as tab:
        safety = gr.Markdown(t("safety", "zh"), elem_id="safety-notice")
        banner = gr.HTML("", elem_id="patient-banner")
        chat = gr.Chatbot(label=t("chat", "zh"), elem_id="patient-chat", height=380,
                          feedback_options=None, buttons=["copy"])
        status = gr.Markdown("", elem_id="patient-status")
        with gr.Row():
            q = gr.Textbox(label=t("question", "zh"), placeholder=SUGGESTIONS["zh"][1], scale=5,
                           elem_id="patient-question", max_lines=4)
            send = gr.Button(t("send", "zh"), variant="primary", scale=1, elem_id="patient-send")
        suggest_md = gr.Markdown(t("suggest", "zh"))
        with gr.Row():
            sug = [gr.Button(s, size="sm", elem_classes=["suggestion"]) for s in SUGGESTIONS["zh"]]
        new = gr.Button(t("new", "zh"), size="sm", elem_id="patient-new")
        cits = gr.HTML("", elem_id="patient-citations")
    return SimpleNamespace(tab=tab, safety=safety, banner=banner, chat=chat, status=status, q=q, send=send,
                           suggest_md=suggest_md, sug=sug, new=new, cits=cits)


def _eval_tab(eval_dir: Path) -> SimpleNamespace:
    with gr.Tab(t("tab_eval", "zh"), id="evaluation", elem_id="tab-evaluation") as tab:
        md = gr.Markdown(t("eval_intro", "zh"))
        sets = eval_sets(eval_dir)
        default = next((s for s in sets if s.endswith("dev.jsonl")), sets[0] if sets else None)
        with gr.Row():
            set_dd = gr.Dropdown(sets, value=default, label=t("set", "zh"), allow_custom_value=False,
                                 elem_id="eval-set")
            upload = gr.File(label=t("upload", "zh"), file_types=[".jsonl"], elem_id="eval-upload")
        run_btn = gr.Button(t("run", "zh"), variant="primary", elem_id="eval-run")
        status = gr.Markdown("", elem_id="eval-status")
        metrics = gr.Dataframe(headers=["metric", "all"], label=t("metrics", "zh"), interactive=False,
                               elem_id="eval-metrics", wrap=True, max_height=800)
        chart = gr.Image(label=t("chart", "zh"), type="filepath", interactive=False, elem_id="eval-chart")
        report = gr.File(label=t("report", "zh"), file_count="multiple", interactive=False, elem_id="eval-report")
    return SimpleNamespace(tab=tab, md=md, set_dd=set_dd, upload=upload, run_btn=run_btn, status=status,
                           metrics=metrics, chart=chart, report=report)


def _evaluate(assistant, eval_dir: Path):
    def evaluate(set_path, up, lang, progress=gr.Progress()):
        return run_eval(assistant, set_path, up, lang, progress, eval_dir=eval_dir)

    return evaluate


def _wire_chat(h: Handlers, ui_lang, records_c, records_p, c: SimpleNamespace, p: SimpleNamespace) -> None:
    out_c = [c.chat, c.q, records_c, c.banner, c.cits, c.status]
    out_p = [p.chat, p.q, records_p, p.banner, p.cits, p.status]
    for trigger in (c.q.submit, c.send.click):
        trigger(h.clinician_ask, [c.q, records_c, ui_lang, *c.form], out_c, **HIDDEN)
    for trigger in (p.q.submit, p.send.click):
        trigger(h.patient_ask, [p.q, records_p, ui_lang], out_p, **HIDDEN)
    for b in p.sug:
        b.click(h.patient_ask, [b, records_p, ui_lang], out_p, **HIDDEN)
    c.new.click(lambda: ([], "", [], "", "", "", gr.update(value="", visible=False)), None, out_c + [c.export_file],
                **HIDDEN)
    p.new.click(lambda: ([], "", [], "", "", ""), None, out_p, **HIDDEN)
    c.clear_form.click(lambda: ("", False, [], "", "mmol/L", "", "", ""), None, c.form, **HIDDEN)
    c.export.click(h.export, [records_c, ui_lang, c.export_patient], c.export_file, **HIDDEN)


def _wire_language(assistant, ui_lang, title, records_c, records_p, c: SimpleNamespace, p: SimpleNamespace,
                   e: SimpleNamespace) -> None:
    """The zh/en toggle relabels every component and re-renders the latest banners and citation panels."""
    labelled = {c.tab: "tab_clin", p.tab: "tab_pat", e.tab: "tab_eval", ui_lang: "ui_lang", c.chat: "chat",
                p.chat: "chat", c.export_file: "export_file", c.export_patient: "export_patient", c.age: "age",
                c.pregnant: "pregnant", c.glucose: "glucose", c.unit: "unit", c.nsaid: "nsaid", c.meds: "meds",
                c.platelets: "platelets", e.set_dd: "set", e.upload: "upload", e.metrics: "metrics",
                e.chart: "chart", e.report: "report"}
    valued = {title: "title", c.form_md: "form", p.safety: "safety", p.suggest_md: "suggest", e.md: "eval_intro",
              c.send: "send", p.send: "send", c.new: "new", p.new: "new", c.export: "export",
              c.clear_form: "clear_form", e.run_btn: "run"}

    def switch(lang, rc, rp):
        ups = [gr.update(label=t(k, lang)) for k in labelled.values()]
        ups += [gr.update(value=t(k, lang)) for k in valued.values()]
        ups += [gr.update(label=t("question", lang), placeholder=t("q_ph", lang)),
                gr.update(label=t("question", lang), placeholder=SUGGESTIONS[lang][1]),
                gr.update(label=t("conditions", lang), choices=cond_choices(lang))]
        ups += [gr.update(value=q) for q in SUGGESTIONS[lang]]
        for recs in (rc, rp):
            last = recs[-1]["answer"] if recs else None
            ups += [banner_html(last, lang), citations_html(assistant, last, len(recs) - 1, lang)]
        return ups

    ui_lang.change(switch, [ui_lang, records_c, records_p],
                   [*labelled, *valued, c.q, p.q, c.conditions, *p.sug, c.banner, c.cits, p.banner, p.cits], **HIDDEN)
