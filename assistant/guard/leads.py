"""How guard verdicts lead an answer: in plain words for patients, with the rule's quote for clinicians."""
from __future__ import annotations

from assistant.model import LEVEL_ORDER, GuardFinding

from .engine import RuleBook, plain_message

__all__ = ["BLOCK_LEAD", "WARN_LEAD", "lead_text"]

BLOCK_LEAD = {"zh": "不建议：", "en": "Not recommended: "}
WARN_LEAD = {"zh": "注意：", "en": "Caution: "}


def lead_text(findings: list[GuardFinding], lang: str, rules: RuleBook, audience: str = "clinician") -> str:
    """One line per warn or block verdict, the strongest first, each with its citation number."""
    lines = []
    for f in sorted(findings, key=lambda f: -LEVEL_ORDER[f.level]):
        if f.level == "none":
            continue
        lead = BLOCK_LEAD[lang] if f.level == "block" else WARN_LEAD[lang]
        ref = f" [{f.citation.n}]" if f.citation else ""
        if audience == "patient":
            lines.append(f"{lead}{plain_message(f, lang, rules)}{ref}")
            continue
        quote = f"「{f.source_quote}」" if f.source_quote and lang == "zh" else (
            f' (source: "{f.source_quote}")' if f.source_quote else "")
        lines.append(f"{lead}{f.message}{quote}{ref}")
    return ("\n".join(lines) + "\n\n") if lines else ""
