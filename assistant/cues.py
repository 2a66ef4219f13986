"""Wording cues the guard reads, in one place: who a question is about and whether a number in it
is a proposal. Condition and intervention terms are data (the rules files); these cues are how
people phrase questions, whatever the guideline.

  * A *described patient* ("这位患者", "I take warfarin", "患者 3 天前吃了布洛芬", a form) gets
    verdicts; a *general* question about a class of patients ("孕妇能做PRP吗?", "服用华法林的患者…",
    "What glucose should diabetics reach?") gets the rule as information only.
  * A *proposed* dose has a plan cue (计划/拟/planned/my doctor wants) or is asked about as a dose
    ("70 亿个血小板是否过量?"); a number attributed to the guideline ("指南说常用剂量是2亿吧?") is not.
"""
from __future__ import annotations

import re

_I = re.IGNORECASE | re.ASCII  # ASCII \b: Python treats CJK as word characters

# ----------------------------------------------------------------------------- text, clauses, negation
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def normalise_text(text: str) -> str:
    """Full-width ASCII -> ASCII and traditional -> simplified (OpenCC), keeping every offset unchanged: a
    conversion that changes the length is redone character by character."""
    from .language import to_simplified

    text = text.translate(_FULLWIDTH)
    simple = to_simplified(text)
    return simple if len(simple) == len(text) else "".join(to_simplified(ch)[:1] or ch for ch in text)


_CLAUSE_BREAK = re.compile(r",(?!\d{3})|[;。!?\n]|\.\s|\bbut\b|但是?|不过|however", _I)
_NEG_ZH = re.compile(r"(没有|没|无(?!法|菌|效|痛)|未(?!来|经)|否认|排除|并无|不是|非(?!常|甾|类))(?!控制|控|达标|规律|好)")
_NEG_EN = re.compile(r"\b(no|not|never|without|denies|denied|negative for|free of|non)\b", _I)
NOT_A_FACT_AFTER = re.compile(r"^\s*(的)?\s*(风险|发生率|几率|概率|可能|risk|rate|incidence|chance)", _I)


def clause_start(text: str, pos: int) -> int:
    return max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, pos)), default=0)


def clause_end(text: str, pos: int) -> int:
    m = _CLAUSE_BREAK.search(text, pos)
    return m.start() if m else len(text)


def negated(text: str, start: int, end: int | None = None) -> bool:
    """A negation cue earlier in the same clause (没有糖尿病, no history of cancer, 非孕期)."""
    before = text[clause_start(text, start):start]
    if _NEG_ZH.search(before[-15:]) or _NEG_EN.search(before[-45:]):
        return True
    after = text[end:end + 12] if end is not None else ""
    return bool(re.match(r"^\s*(-free|阴性|已排除|(病史)?(否认|无))", after, _I))


# Someone is going to give / receive this.
PLAN = re.compile(
    r"计划|(?<!模)拟(?!合|定|南)|准备(?!工作)|打算|要给|想(?:用|加|打|开|做|给|启动|换|试)|安排|将要|将于|预计|"
    r"给(?:他|她|我|患者|病人|这位\S{0,4}?)(?:打|用|注射|开|加)|"
    r"\b(?:plan(?:ned|ning|s)?\b(?!\s+(?:is|are)\b)|will (?:receive|get|be given|start|use|inject|have)|"
    r"going to|(?:we|I) want to|wants? to (?:put|give|start|use|inject|prescribe|try|increase)|"
    r"scheduled|intend(?:s|ed)? to|start (?:him|her|them|me|the patient) on)", _I)

# The number is the guideline's (or a source's), quoted back for checking.
ATTRIBUTED = re.compile(
    r"(?:指南|共识|文献|资料|书上|说明书|原文)\s*(?:里|中|上|里面)?\s*(?:说|讲|提到|写|推荐|建议|规定|认为)|"
    r"(?:常用|推荐|标准|通常|一般|建议)的?\s*(?:剂量|用量)\s*(?:是|为|就是)?|"
    r"\b(?:guidelines?|consensus|the source|literature)\s+(?:says?|said|states?|recommends?|mentions?|suggests?)\b|"
    r"\b(?:according to the (?:guidelines?|consensus|source))\b|"
    r"\b(?:usual|recommended|standard|typical|guideline)\s+(?:dose|dosage)\s+(?:is|of)\b", _I)

# A particular person: a pronoun, a demonstrative, "患者" followed by a fact about them.
INDIVIDUAL = re.compile(
    r"这位|那位|该(?:患者|病人|病例|女性|男性|孕妇|老人|名)|此(?:患者|病人|例)|本例|一位|一名|某(?:位|患者|病人)|"
    r"(?:患者|病人)(?=\s*(?:[男女]|\d|有|在|正|已|长期|目前|现在|曾|既往|诊断|确诊|服|吃|用了|妊娠|怀|孕|血糖|血小板|"
    r"肾|肝|想|拟|计划|准备|打算|要求|[,，:：]))|"
    r"我(?!国|院|科|们的?指南)|俺|她|(?<!其)他(?![人汀])|家母|家父|老人家|"
    r"\b(?:I|I'm|I've|I'd|Im|my|me|mine|we|we're|our|she|he|her|him|his|this patient|the patient|my patient|"
    r"our patient|patient (?:is|has|had|was|takes|took|on|stopped|stoped|requests|wants|reports))\b", _I)

# A class of patients, or a period of life, as the subject of a general question.
_PREDICATE = (r"(?=\s*(?:能|可以|可不可以|可否|能否|能不能|是否|适合|适用|禁用|不能|不宜|不可|要|需要|需|应|该|做|打|"
              r"用|吃|服|接受|使用|进行|吗|呢|[,，?？]))")
GENERAL = re.compile(
    r"孕妇|孕产妇|准妈妈|哺乳期(?:妇女|女性|母亲)|哪些|哪类|哪种(?:患者|病人|人)|什么(?:样的?)?(?:患者|病人|人)|"
    r"的(?:患者|病人|人|人群|女性|妇女|男性)|(?:患者|病人|人群|人士|群体)" + _PREDICATE + "|"
    r"(?:孕期|妊娠期|哺乳期|怀孕期间|喂奶期间|哺乳期间|备孕期间?)" + _PREDICATE + "|"
    r"\b(?:patients|people|women|mothers|persons|individuals|diabetics|those|anyone|someone|somebody)\b|"
    r"\bwho (?:can|should|must|cannot|can't|shouldn't)\b|\bduring pregnancy\b|\bwhile (?:pregnant|breastfeeding)\b|"
    r"怎么办|如何处理|怎么处理|^\s*(?:what|which|how|why|is there|are there)\b|"
    # asking for the threshold or the rule itself, not stating a patient's value: "血小板计数低于多少不能做PRP?",
    # "Is malignancy a contraindication to …?"
    r"(?:低于|高于|小于|大于|超过|不到|达到)多少|多少(?:以下|以上)|\b(?:below|above|under|over) what\b|"
    r"是不是禁忌|是否(?:属于)?禁忌|算(?:不算)?禁忌|是禁忌[症证]?吗|^\s*(?:is|are)\b.{1,60}\bcontraindicat", _I)

GESTATION = re.compile(r"(?:孕|妊娠|怀孕)\s*\d+\s*(?:周|个月|月)|\d+\s*weeks? pregnant", _I)

# Units of amounts and measures read from text: id -> (pattern right after the number, bare number ok).
AMOUNT_UNITS = {"mg": r"\s*(?:mg|毫克)(?!\s*/\s*(?:kg|m2|m²|dL|L)\b)"}
PERIODS = {  # how often an amount is given, right after or before it; value = days
    "week": (r"\s*(?:/\s*(?:周|w|wk|week)\b|/周|每周|一周|per week|a week|weekly|\bqw\b|每星期)",
             r"(?:每周|每星期|一周|weekly|per week)[^,，;；。\d]{0,8}$", 7),
    "day": (r"\s*(?:/\s*(?:d|day)\b|/天|/日|每天|每日|一天|per day|a day|daily|\bqd\b)",
            r"(?:每天|每日|一天|天天|daily|per day)[^,，;；。\d]{0,8}$", 1),
}
MEASURE_UNITS = {
    "mL/min": (r"\s*(?:ml|mL)\s*/\s*min(?:\s*/\s*1\.73\s*m[²2])?|\s*毫升\s*/\s*分钟?", True),
    "x_ULN": (r"\s*(?:倍\s*(?:的\s*)?(?:ULN|正常(?:值)?上限)|[×xX*]\s*ULN|\s*times (?:the )?(?:ULN|upper limit))", False),
    "U/L": (r"\s*(?:U|IU)\s*/\s*L", True),
    "mmol/L": (r"\s*mmol\s*/\s*L", True),
}
NOT_A_VALUE_AFTER = re.compile(r"^\s*(?:以下|以内|以上|below|under|or (?:less|lower|more|higher)|的话|时)", _I)
HYPOTHETICAL_BEFORE = re.compile(r"(?:如果|假如|要是|若|低于|高于|超过|小于|大于|不足|if|below|above|under|over)\s*$", _I)


def plan_cue(text: str) -> bool:
    return bool(PLAN.search(text))


def individual(text: str) -> bool:
    return bool(INDIVIDUAL.search(text))


def general_question(text: str) -> bool:
    """A question about a class of patients ("孕妇能做PRP吗?") with nobody in particular in it."""
    return bool(GENERAL.search(text)) and not individual(text) and not plan_cue(text)


def attributed(text: str, start: int) -> bool:
    """The number at `start` is put in the guideline's mouth (same sentence, before it)."""
    s0 = max((m.end() for m in re.finditer(r"[。!?！？\n]|\.\s", text[:start])), default=0)
    return bool(ATTRIBUTED.search(text[s0:start]))


def compile_terms(terms: list[str] | tuple[str, ...], patterns: list[str] | tuple[str, ...] = ()) -> re.Pattern[str]:
    """Literal surface forms (zh/en; case-insensitive; space or hyphen interchangeable; an English
    plural 's' allowed; Latin forms on letter boundaries) plus optional raw regex patterns."""
    alts = []
    for t in sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True):
        body = re.sub(r"\\[ \-]", r"[\\s-]?", re.escape(t)) if re.search(r"[ -]", t) else re.escape(t)
        if t[-1].isascii() and t[-1].isalnum():
            body += r"(?:s|es)?(?![A-Za-z])"
        if t[0].isascii() and t[0].isalnum():
            body = r"(?<![A-Za-z])" + body
        alts.append(body)
    alts += [f"(?:{p})" for p in patterns]
    return re.compile("|".join(alts) if alts else r"(?!x)x", _I)
