"""Conversation exports without patient details: the form's values redacted from the guard messages built
from them, and the one-time download link."""
from __future__ import annotations

import re

from ..quantities import GLUCOSE_MG_PER_MMOL
from .ui_text import t


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
        nums.append(p["glucose_mg_dl"] / float(GLUCOSE_MG_PER_MMOL))
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
