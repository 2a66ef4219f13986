"""The web UI's words: every label in zh and en, the suggested questions, the condition checkboxes' labels."""
from __future__ import annotations

from ..guard.patient import CONDITIONS

# labels of the guard's condition keys (assistant.guard.patient.CONDITIONS, the one list of keys)
CONDITION_LABELS = {"diabetes": ("糖尿病", "Diabetes"), "severe_infection": ("严重感染", "Severe infection"),
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


def cond_choices(lang: str) -> list[tuple[str, str]]:
    """The form's condition checkboxes: (label, key) for each of the guard's seed condition keys."""
    return [(CONDITION_LABELS[k][0 if lang == "zh" else 1], k) for k in CONDITIONS]


def err(lang: str) -> str:
    return "错误：" if lang == "zh" else "Error:"
