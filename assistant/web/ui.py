"""The Gradio Blocks: Clinician, Patient and Evaluation tabs, a zh/en UI toggle, and the "/ask" endpoint.

Every handler calls the one Assistant passed to `build_ui`; rendering helpers live in assistant.web.render.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from .render import banner_html, citations_html, export_markdown, link_markers
from .docs_tab import docs_tab
from ..config import REPO
from ..evaluation.report import build_payload, write_json, write_report
from ..evaluation.run import run
from ..evaluation.scoring import load_set
from ..model import InputError

log = logging.getLogger(__name__)

CONDITIONS = {"diabetes": ("糖尿病", "Diabetes"), "severe_infection": ("严重感染", "Severe infection"),
              "malignancy": ("恶性肿瘤", "Malignancy"), "coagulopathy": ("凝血功能障碍", "Coagulopathy"),
              "thrombocytopenia": ("血小板减少", "Thrombocytopenia"),
              "organ_failure": ("重要脏器功能衰竭", "Organ failure")}
SUGGESTIONS = {"zh": ["PRP注射前需要停用NSAIDs多久?", "我该打多少个干细胞?", "再生医学疗法有哪些禁忌症?"],
               "en": ["How long should NSAIDs be discontinued before PRP?", "How many stem cells should I get?",
                      "What are the contraindications of regenerative medicine therapies?"]}
T = {  # UI text: key -> (zh, en)
    "title": ("## 临床指南助手 · 再生医学治疗慢性疼痛", "## Clinical guideline assistant · regenerative pain medicine"),
    "tab_clin": ("临床医生", "Clinician"), "tab_pat": ("患者", "Patient"), "tab_eval": ("评估", "Evaluation"),
    "ui_lang": ("界面语言", "UI language"),
    "chat": ("对话", "Conversation"), "question": ("问题（中文或英文）", "Question (Chinese or English)"),
    "q_ph": ("例如：PRP注射前需要停用NSAIDs多久?", "e.g. How long should NSAIDs be discontinued before PRP?"),
    "send": ("提问", "Ask"), "new": ("新对话", "New conversation"), "export": ("导出 Markdown", "Export Markdown"),
    "export_file": ("对话记录（含引用）", "Conversation with citations"),
    "export_patient": ("导出时包含患者信息", "Include patient details in the export"),
    "export_link": ("下载对话记录", "Download the conversation"),
    "export_once": ("（链接仅可下载一次，15 分钟后失效）", "(the link works once and expires in 15 minutes)"),
    "form": ("### 患者信息（供安全检查）", "### Patient context (for the safety guard)"),
    "age": ("年龄（岁）", "Age (years)"), "pregnant": ("妊娠", "Pregnant"), "conditions": ("合并症", "Conditions"),
    "glucose": ("血糖", "Blood glucose"), "unit": ("血糖单位", "Glucose unit"),
    "nsaid": ("距上次服用NSAIDs（天）", "Days since last NSAID dose"),
    "meds": ("当前用药（逗号分隔）", "Current medications (comma-separated)"),
    "platelets": ("血小板（×10⁹/L）", "Platelets (×10⁹/L)"), "clear_form": ("清空患者信息", "Clear patient form"),
    "safety": ("**安全提示：** 本助手只转述指南中的一般信息，不提供个人诊断、剂量或治疗方案。是否适合治疗、用多少剂量，"
               "请由您的医生决定。如有紧急情况，请立即就医。",
               "**Safety notice:** this assistant only repeats general information from the guidelines. It does not "
               "give personal diagnoses, doses or treatment plans; whether a treatment suits you, and at what dose, "
               "is for your doctor to decide. In an emergency, seek medical care at once."),
    "suggest": ("**可以这样问：**", "**You could ask:**"),
    "eval_intro": ("### 评估：在问题集上运行评估套件", "### Evaluation: run the eval suite on a question set"),
    "set": ("问题集", "Question set"), "upload": ("或上传 JSONL 问题集", "or upload a JSONL question set"),
    "run": ("运行评估", "Run evaluation"), "metrics": ("指标", "Metrics"), "chart": ("图表", "Chart"),
    "report": ("下载报告", "Download report"),
}


def t(key: str, lang: str) -> str:
    return T[key][0 if lang == "zh" else 1]


def _cond_choices(lang: str) -> list[tuple[str, str]]:
    return [(v[0 if lang == "zh" else 1], k) for k, v in CONDITIONS.items()]


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
        return ((f"**{_err(lang)}** 只能评估 eval/ 目录中的问题集或上传的文件。" if zh else
                 f"**{_err(lang)}** only question sets under eval/ or an uploaded file can be evaluated."),
                None, None, None)
    path = str(resolved)
    try:
        items = load_set(path)
    except (ValueError, OSError) as e:
        return f"**{_err(lang)}** {e}", None, None, None
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


def _err(lang: str) -> str:
    return "错误：" if lang == "zh" else "Error:"


def _safe(text: str) -> str:
    """Echoed input that can be shown and sent as UTF-8 (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def internal_error(e: BaseException, lang: str) -> str:
    """What a user sees when something inside failed: a plain sentence; the log gets the type only
    (an exception's message can hold patient values)."""
    log.error("unhandled %s while answering in the web app", type(e).__name__)
    return ("内部错误，这个问题没有得到回答；请稍后再试。" if lang == "zh" else
            "Internal error: the question was not answered; please try again.")


OMITTED = {"zh": "［患者信息已省略］", "en": "[patient detail omitted]"}


def _patient_values(p: dict) -> tuple[list[str], list[str]]:
    """The form's values as they can appear in a guard message: names, and numbers as the guard writes them."""
    names = [str(x) for x in p.get("medications") or []] + [str(x) for x in (p.get("last_dose_days_ago") or {})]
    if p.get("planned_intervention"):
        names.append(str(p["planned_intervention"]))
    nums: list[float] = [p[k] for k in ("age", "glucose_mmol_l", "glucose_mg_dl", "nsaid_last_dose_days_ago",
                                        "platelets_10e9_per_l") if isinstance(p.get(k), (int, float))]
    nums += [v for d in (p.get("last_dose_days_ago") or {}, p.get("measures") or {}) for v in d.values()
             if isinstance(v, (int, float))]
    if isinstance(p.get("glucose_mg_dl"), (int, float)):
        nums.append(p["glucose_mg_dl"] / 18)
    shown = set()
    for v in nums:
        v = float(v)
        shown |= {f"{v:g}", f"{v:.1f}"} | ({str(int(v))} if v.is_integer() else set())
    return sorted(set(names), key=len, reverse=True), sorted(shown, key=len, reverse=True)


def _redact(text: str, names: list[str], numbers: list[str], lang: str) -> str:
    for n in names:
        text = text.replace(n, OMITTED[lang])
    for n in numbers:
        text = re.sub(rf"(?<![\d.]){re.escape(n)}(?![\d.])", OMITTED[lang], text)
    return text


def without_patient(records: list[dict], lang: str) -> list[dict]:
    """Records for an export without patient details: no form fields, and the guard messages built from
    them (「正在服用布洛芬…」, "aged 75") with those values replaced, in the findings and in the answer text."""
    out = []
    for r in records:
        names, numbers = _patient_values(r.get("patient") or {})
        a = dict(r.get("answer") or {})
        text, findings = a.get("text", ""), []
        for f in a.get("findings") or []:
            f = dict(f)
            for key in ("message", "assumption"):
                if f.get(key) and (names or numbers):
                    red = _redact(f[key], names, numbers, lang)
                    if red != f[key]:
                        text = text.replace(f[key], red)
                        f[key] = red
            findings.append(f)
        a["text"], a["findings"] = text, findings
        out.append({k: v for k, v in r.items() if k not in ("patient", "answer")} | {"answer": a})
    return out


def export_link(token: str, name: str, lang: str) -> str:
    """A relative link (works under any root path) to the app's one-time download route."""
    return (f"<a class='export-link' href='export/{token}/{name}' download='{name}'>{t('export_link', lang)}: "
            f"{name}</a> <span class='meta'>{t('export_once', lang)}</span>")


def build_ui(assistant, eval_dir: Path | None = None, exports=None, accounts: list | None = None) -> gr.Blocks:
    from .exports import ExportStore

    eval_dir = eval_dir or REPO / "eval"
    exports = exports if exports is not None else ExportStore()

    def ask(question: str, records: list[dict], lang: str, audience: str, patient: dict | None):
        pin = getattr(assistant, "pinned", None)  # answer and citation panel from one index version
        with pin() if pin else contextlib.nullcontext():
            return _ask(question, records, lang, audience, patient)

    def _ask(question: str, records: list[dict], lang: str, audience: str, patient: dict | None):
        records = list(records or [])
        try:
            ans = assistant.ask([r["question"] for r in records] + [question], patient, audience=audience)
        except InputError as e:
            msg = _safe(str(e))
            gr.Warning(msg)
            return (chat_messages(records), question, records, gr.update(), gr.update(), f"**{_err(lang)}** {msg}")
        except Exception as e:  # noqa: BLE001 - the user sees a plain sentence, never internals
            msg = internal_error(e, lang)
            gr.Warning(msg)
            return (chat_messages(records), question, records, gr.update(), gr.update(), f"**{_err(lang)}** {msg}")
        d = {k: v for k, v in ans.to_dict().items() if k != "passages"}  # keep the session state small
        records.append({"question": question, "answer": d, "patient": patient})
        turn = len(records) - 1
        return (chat_messages(records), "", records, banner_html(d, lang),
                citations_html(assistant, d, turn, lang), "")

    def clinician_ask(question, records, lang, *form):
        try:
            patient = form_patient(*form)
        except InputError as e:
            gr.Warning(str(e))
            return (chat_messages(records or []), question, records, gr.update(), gr.update(),
                    f"**{_err(lang)}** {e}")
        return ask(question, records, lang, "clinician", patient)

    def patient_ask(question, records, lang):
        return ask(question, records, lang, "patient", None)

    def export(records, lang, include_patient=False):
        """The conversation as Markdown in the private export store; patient fields only when ticked."""
        if not records:
            gr.Warning("还没有对话可导出。" if lang == "zh" else "Nothing to export yet.")
            return gr.update(value="", visible=False)
        kept = records if include_patient else without_patient(records, lang)
        name = time.strftime("conversation-%Y%m%d-%H%M%S.md")
        token = exports.put(name, export_markdown(kept, lang))
        return gr.update(value=export_link(token, name, lang), visible=True)

    def api_ask(question: str, patient_json: str = "", audience: str = "clinician") -> dict:
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
            return assistant.ask([question], patient, audience=audience or "clinician").to_dict()
        except InputError as e:
            raise gr.Error(_safe(str(e))) from None
        except Exception as e:  # noqa: BLE001 - never the exception's text: it may hold internals or patient values
            raise gr.Error(internal_error(e, "en")) from None

    with gr.Blocks(title="临床指南助手 / Guideline assistant", analytics_enabled=False) as demo:
        records_c, records_p = gr.State([]), gr.State([])
        with gr.Row():
            title = gr.Markdown(t("title", "zh"), elem_id="app-title")
            ui_lang = gr.Radio([("中文", "zh"), ("English", "en")], value="zh", label=t("ui_lang", "zh"),
                               elem_id="ui-lang", scale=0, min_width=220)
        with gr.Tabs():
            with gr.Tab(t("tab_clin", "zh"), id="clinician", elem_id="tab-clinician") as tab_c:
                with gr.Row():
                    with gr.Column(scale=3):
                        banner_c = gr.HTML("", elem_id="clinician-banner")
                        chat_c = gr.Chatbot(label=t("chat", "zh"), elem_id="clinician-chat", height=420,
                                            feedback_options=None, buttons=["copy"])
                        status_c = gr.Markdown("", elem_id="clinician-status")
                        with gr.Row():
                            q_c = gr.Textbox(label=t("question", "zh"), placeholder=t("q_ph", "zh"), scale=5,
                                             elem_id="clinician-question", max_lines=4)
                            send_c = gr.Button(t("send", "zh"), variant="primary", scale=1, elem_id="clinician-send")
                        with gr.Row():
                            new_c = gr.Button(t("new", "zh"), size="sm", elem_id="clinician-new")
                            export_c = gr.Button(t("export", "zh"), size="sm", elem_id="clinician-export")
                        cits_c = gr.HTML("", elem_id="clinician-citations")
                        export_patient = gr.Checkbox(label=t("export_patient", "zh"), value=False,
                                                     elem_id="export-patient")
                        export_file = gr.HTML("", label=t("export_file", "zh"), elem_id="export-file", visible=False)
                    with gr.Column(scale=2, elem_id="patient-form"):
                        form_md = gr.Markdown(t("form", "zh"))
                        age = gr.Textbox(label=t("age", "zh"), elem_id="form-age", max_lines=1)
                        pregnant = gr.Checkbox(label=t("pregnant", "zh"), value=False, elem_id="form-pregnant")
                        conditions = gr.CheckboxGroup(_cond_choices("zh"), label=t("conditions", "zh"),
                                                      elem_id="form-conditions")
                        with gr.Row():
                            glucose = gr.Textbox(label=t("glucose", "zh"), elem_id="form-glucose", max_lines=1)
                            unit = gr.Radio(["mmol/L", "mg/dL"], value="mmol/L", label=t("unit", "zh"),
                                            elem_id="form-glucose-unit")
                        nsaid = gr.Textbox(label=t("nsaid", "zh"), elem_id="form-nsaid", max_lines=1)
                        meds = gr.Textbox(label=t("meds", "zh"), elem_id="form-meds")
                        platelets = gr.Textbox(label=t("platelets", "zh"), elem_id="form-platelets", max_lines=1)
                        clear_form = gr.Button(t("clear_form", "zh"), size="sm", elem_id="form-clear")
            with gr.Tab(t("tab_pat", "zh"), id="patient", elem_id="tab-patient") as tab_p:
                safety = gr.Markdown(t("safety", "zh"), elem_id="safety-notice")
                banner_p = gr.HTML("", elem_id="patient-banner")
                chat_p = gr.Chatbot(label=t("chat", "zh"), elem_id="patient-chat", height=380,
                                    feedback_options=None, buttons=["copy"])
                status_p = gr.Markdown("", elem_id="patient-status")
                with gr.Row():
                    q_p = gr.Textbox(label=t("question", "zh"), placeholder=SUGGESTIONS["zh"][1], scale=5,
                                     elem_id="patient-question", max_lines=4)
                    send_p = gr.Button(t("send", "zh"), variant="primary", scale=1, elem_id="patient-send")
                suggest_md = gr.Markdown(t("suggest", "zh"))
                with gr.Row():
                    sug = [gr.Button(q, size="sm", elem_classes=["suggestion"]) for q in SUGGESTIONS["zh"]]
                new_p = gr.Button(t("new", "zh"), size="sm", elem_id="patient-new")
                cits_p = gr.HTML("", elem_id="patient-citations")
            with gr.Tab(t("tab_eval", "zh"), id="evaluation", elem_id="tab-evaluation") as tab_e:
                eval_md = gr.Markdown(t("eval_intro", "zh"))
                sets = eval_sets(eval_dir)
                default = next((s for s in sets if s.endswith("dev.jsonl")), sets[0] if sets else None)
                with gr.Row():
                    set_dd = gr.Dropdown(sets, value=default, label=t("set", "zh"), allow_custom_value=False,
                                         elem_id="eval-set")
                    upload = gr.File(label=t("upload", "zh"), file_types=[".jsonl"], elem_id="eval-upload")
                run_btn = gr.Button(t("run", "zh"), variant="primary", elem_id="eval-run")
                eval_status = gr.Markdown("", elem_id="eval-status")
                metrics = gr.Dataframe(headers=["metric", "all"], label=t("metrics", "zh"), interactive=False,
                                       elem_id="eval-metrics", wrap=True, max_height=800)
                chart = gr.Image(label=t("chart", "zh"), type="filepath", interactive=False, elem_id="eval-chart")
                report = gr.File(label=t("report", "zh"), file_count="multiple", interactive=False,
                                 elem_id="eval-report")
            docs = docs_tab(assistant, accounts)  # the library: list, reports, rules; changes for admins

        form = [age, pregnant, conditions, glucose, unit, nsaid, meds, platelets]
        out_c = [chat_c, q_c, records_c, banner_c, cits_c, status_c]
        out_p = [chat_p, q_p, records_p, banner_p, cits_p, status_p]
        hidden = {"api_visibility": "undocumented"}
        for trigger in (q_c.submit, send_c.click):
            trigger(clinician_ask, [q_c, records_c, ui_lang, *form], out_c, **hidden)
        for trigger in (q_p.submit, send_p.click):
            trigger(patient_ask, [q_p, records_p, ui_lang], out_p, **hidden)
        for b in sug:
            b.click(patient_ask, [b, records_p, ui_lang], out_p, **hidden)
        new_c.click(lambda: ([], "", [], "", "", "", gr.update(value="", visible=False)), None, out_c + [export_file], **hidden)
        new_p.click(lambda: ([], "", [], "", "", ""), None, out_p, **hidden)
        clear_form.click(lambda: ("", False, [], "", "mmol/L", "", "", ""), None, form, **hidden)
        export_c.click(export, [records_c, ui_lang, export_patient], export_file, **hidden)

        def evaluate(set_path, up, lang, progress=gr.Progress()):
            return run_eval(assistant, set_path, up, lang, progress, eval_dir=eval_dir)

        run_btn.click(evaluate, [set_dd, upload, ui_lang], [eval_status, metrics, chart, report], **hidden)

        labelled = {tab_c: "tab_clin", tab_p: "tab_pat", tab_e: "tab_eval", ui_lang: "ui_lang", chat_c: "chat",
                    chat_p: "chat", export_file: "export_file", export_patient: "export_patient", age: "age", pregnant: "pregnant",
                    glucose: "glucose", unit: "unit", nsaid: "nsaid", meds: "meds",
                    platelets: "platelets", set_dd: "set", upload: "upload", metrics: "metrics", chart: "chart",
                    report: "report"}
        valued = {title: "title", form_md: "form", safety: "safety", suggest_md: "suggest", eval_md: "eval_intro",
                  send_c: "send", send_p: "send", new_c: "new", new_p: "new", export_c: "export",
                  clear_form: "clear_form", run_btn: "run"}

        def switch(lang, rc, rp):
            ups = [gr.update(label=t(k, lang)) for k in labelled.values()]
            ups += [gr.update(value=t(k, lang)) for k in valued.values()]
            ups += [gr.update(label=t("question", lang), placeholder=t("q_ph", lang)),
                    gr.update(label=t("question", lang), placeholder=SUGGESTIONS[lang][1]),
                    gr.update(label=t("conditions", lang), choices=_cond_choices(lang))]
            ups += [gr.update(value=q) for q in SUGGESTIONS[lang]]
            for recs in (rc, rp):
                last = recs[-1]["answer"] if recs else None
                ups += [banner_html(last, lang), citations_html(assistant, last, len(recs) - 1, lang)]
            return ups

        ui_lang.change(switch, [ui_lang, records_c, records_p],
                       [*labelled, *valued, q_c, q_p, conditions, *sug, banner_c, cits_c, banner_p, cits_p],
                       **hidden)
        docs.wire(ui_lang, hidden)
        gr.api(api_ask, api_name="ask")
    demo.queue(default_concurrency_limit=8)  # retrieval is serialised inside Assistant.ask anyway
    return demo
