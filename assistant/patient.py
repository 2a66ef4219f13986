"""Patient facts for the guideline guard: a validated form (`from_dict`) and deterministic
extraction from zh/en question text (`extract_patient`, `extract_doses`, `detect_therapies`).

Extraction is rule-based on purpose: the guard must give the same verdict for the same words,
and every fact it acts on must be explainable by a phrase in the question.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.model import InputError
from assistant.quantities import Quantity, parse_quantities

CONDITIONS = ("diabetes", "severe_infection", "malignancy", "coagulopathy", "thrombocytopenia", "organ_failure")
PRODUCTS = ("PRP", "MSCs", "MPCs", "BMAC", "regenerative")
MG_DL_PER_MMOL_L = Decimal("18.0")
BARE_GLUCOSE_MG_DL_FROM = Decimal(35)  # a unit-less glucose >= 35 is read as mg/dL, below as mmol/L
_I = re.IGNORECASE | re.ASCII  # ASCII \b: Python treats CJK as word characters ("做PRP吗")
_NUMBER_FIELDS = ("age", "glucose_mmol_l", "glucose_mg_dl", "nsaid_last_dose_days_ago", "platelets_10e9_per_l")


def corpus_dir() -> Path:
    """The corpus directory: $ASSISTANT_CORPUS_DIR, else <repo>/corpus."""
    env = os.environ.get("ASSISTANT_CORPUS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "corpus"


# ----------------------------------------------------------------------------- patient context
@dataclass
class PatientContext:
    age: float | None = None
    pregnant: bool | None = None
    conditions: list[str] = field(default_factory=list)
    glucose_mmol_l: float | None = None
    glucose_mg_dl: float | None = None
    nsaid_last_dose_days_ago: float | None = None
    medications: list[str] = field(default_factory=list)
    platelets_10e9_per_l: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "PatientContext":
        """Validate a structured form; anything unexpected is an InputError the user can fix."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise InputError("patient must be an object (dict) of fields")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown patient field(s): {', '.join(map(str, unknown))}; "
                             f"allowed: {', '.join(sorted(known))}")
        out = cls()
        for name in _NUMBER_FIELDS:
            if d.get(name) is not None:
                setattr(out, name, _number(name, d[name]))
        if out.age is not None and out.age > 130:
            raise InputError(f"patient field 'age' must be between 0 and 130, got {d['age']!r}")
        if d.get("pregnant") is not None:
            if not isinstance(d["pregnant"], bool):
                raise InputError(f"patient field 'pregnant' must be true or false, got {d['pregnant']!r}")
            out.pregnant = d["pregnant"]
        out.conditions = _str_list("conditions", d.get("conditions"))
        bad = [c for c in out.conditions if c not in CONDITIONS]
        if bad:
            raise InputError(f"unknown condition(s): {', '.join(bad)}; allowed: {', '.join(CONDITIONS)}")
        out.medications = _str_list("medications", d.get("medications"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {name: (list(v) if isinstance(v, list) else v)
                for name, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__)}

    def glucose(self) -> Decimal | None:
        """Glucose in mmol/L from whichever field is set (mg/dL / 18)."""
        if self.glucose_mmol_l is not None:
            return Decimal(str(self.glucose_mmol_l))
        if self.glucose_mg_dl is not None:
            return Decimal(str(self.glucose_mg_dl)) / MG_DL_PER_MMOL_L
        return None


def _number(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
        raise InputError(f"patient field '{name}' must be a number, got {v!r}")
    try:
        x = Decimal(str(v).strip())
    except Exception:
        raise InputError(f"patient field '{name}' must be a number, got {v!r}") from None
    if not x.is_finite() or x < 0:
        raise InputError(f"patient field '{name}' must be a non-negative number, got {v!r}")
    return float(x)


def _str_list(name: str, v: Any) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise InputError(f"patient field '{name}' must be a list of non-empty strings, got {v!r}")
    return [x.strip() for x in v]


# ----------------------------------------------------------------------------- drug lexicon
@dataclass(frozen=True)
class Drug:
    id: str
    cls: str
    names: tuple[str, ...]
    implies_condition: str = ""
    note: str = ""


@dataclass(frozen=True)
class DrugLexicon:
    drugs: tuple[Drug, ...]

    def lookup(self, name: str) -> Drug | None:
        """The drug a (possibly free-text) medication name refers to."""
        name = normalise_text(name)
        key = name.strip().lower()
        for d in self.drugs:
            if any(n.lower() == key for n in d.names):
                return d
        m = _lexicon_re(self).search(name)
        return self.lookup(m.group()) if m and m.group().lower() != key else None

    def find(self, text: str) -> list[tuple[Drug, re.Match[str]]]:
        return [(self.lookup(m.group()), m) for m in _lexicon_re(self).finditer(text)]  # type: ignore[misc]


@lru_cache(maxsize=8)
def _lexicon_re(lex: DrugLexicon) -> re.Pattern[str]:
    """Longest name first; Latin names only on letter boundaries (NSAIDs, not 'NSAID' + 's')."""
    names = sorted({n for d in lex.drugs for n in d.names}, key=len, reverse=True)
    return re.compile("|".join(rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" for n in names), _I)


@lru_cache(maxsize=4)
def load_drugs(path: str | Path | None = None) -> DrugLexicon:
    """Read corpus/drugs.yaml (class membership is pharmacology, not the guideline)."""
    p = Path(path) if path else corpus_dir() / "drugs.yaml"
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    drugs = tuple(Drug(e["id"], e["class"], tuple(str(n) for n in e["names"]), e.get("implies_condition", ""),
                       e.get("note", "")) for e in data["drugs"])
    return DrugLexicon(drugs)


# ----------------------------------------------------------------------------- text helpers
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Offline fallback for the traditional characters our keyword lists need (OpenCC does the rest).
_T2S = str.maketrans("懷漿間質幹細濃縮腎異療醫學雙嗎歲週個億萬藥臟發燒腫脹後術過還嚴惡減計數歷無沒癥縣紅熱膿",
                     "怀浆间质干细浓缩肾异疗医学双吗岁周个亿万药脏发烧肿胀后术过还严恶减计数历无没症县红热脓")


def normalise_text(text: str) -> str:
    """Full-width ASCII -> ASCII and traditional -> simplified, keeping every offset unchanged."""
    text = text.translate(_FULLWIDTH).translate(_T2S)
    try:
        from assistant.language import to_simplified
        simple = to_simplified(text)
        return simple if len(simple) == len(text) else text
    except Exception:  # OpenCC missing: _T2S covers the keywords
        return text


_CLAUSE_BREAK = re.compile(r",(?!\d{3})|[;。!?\n]|\.\s|\bbut\b|但是?|不过|however", _I)
_NEG_ZH = re.compile(r"(没有|没|无(?!法|菌|效|痛)|未(?!来|经)|否认|排除|并无|不是|非(?!常|甾|类))(?!控制|控|达标|规律|好)")
_NEG_EN = re.compile(r"\b(no|not|never|without|denies|denied|negative for|free of|non)\b", _I)
_NOT_A_FACT_AFTER = re.compile(r"^\s*(的)?\s*(风险|发生率|几率|概率|可能|risk|rate|incidence|chance)", _I)


def _clause_start(text: str, pos: int) -> int:
    return max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, pos)), default=0)


def _clause_end(text: str, pos: int) -> int:
    m = _CLAUSE_BREAK.search(text, pos)
    return m.start() if m else len(text)


def negated(text: str, start: int, end: int | None = None) -> bool:
    """A negation cue earlier in the same clause (没有糖尿病, no history of cancer, 非孕期)."""
    before = text[_clause_start(text, start):start]
    if _NEG_ZH.search(before[-15:]) or _NEG_EN.search(before[-45:]):
        return True
    after = text[end:end + 12] if end is not None else ""
    return bool(re.match(r"^\s*(-free|阴性|已排除|(病史)?(否认|无))", after, _I))


# ----------------------------------------------------------------------------- condition lexicon
_CONDITION_TERMS: dict[str, str] = {
    "diabetes": r"糖尿病|diabet(?:es|ic)|\bT[12]DM\b",
    "severe_infection": r"严重(?:的)?[^\s,;。:、]{0,6}?感染|重症感染|败血症|脓毒症|脓毒血症|化脓性关节炎|关节感染|活动性感染"
                        r"|severe\s+(?:\w+\s+){0,4}?infection|sepsis|septic|active infection",
    "malignancy": r"(?<!致)(?<!抗)(?:恶性肿瘤|癌症|[肺肝胃肠乳腺胰前列腺骨鼻咽宫颈甲状腺]{1,3}癌|癌(?!痛指南|变)"
                  r"|白血病|淋巴瘤|骨髓瘤|肉瘤|化疗|放疗)|\b(?:cancer|carcinoma|malignan(?:cy|t)|leuka?emia|lymphoma"
                  r"|myeloma|sarcoma|metasta\w+|chemotherapy)\b",
    "coagulopathy": r"凝血(?:功能)?(?:障碍|异常|紊乱|病)|血友病|出血性疾病|出血倾向|coagulopath\w*|coagulation disorder"
                    r"|clotting disorder|bleeding disorder|ha?emophilia|von willebrand",
    "thrombocytopenia": r"血小板(?:计数)?(?:减少|过低|偏低|低下|低)|thrombocytopeni\w*|low platelets?(?: count)?|\bITP\b",
    "organ_failure": r"(?:肝|肾|心|呼吸|器官|脏器|多脏器|多器官)(?:功能)?衰竭|心衰|尿毒症|透析|失代偿"
                     r"|(?:liver|kidney|renal|heart|cardiac|hepatic|respiratory|organ)\s+failure|\bESRD\b"
                     r"|end-stage renal|dialysis|decompensated",
}
_CONDITION_RE = {k: re.compile(v, _I) for k, v in _CONDITION_TERMS.items()}
_NOT_MALIGNANCY = re.compile(r"(致癌|引起癌|导致癌|癌变|cause[sd]?\s+cancer|cancer\s+risk|risk\s+of\s+cancer"
                             r"|cancer pain guideline|NCCN)", _I)
_PREGNANT_RE = re.compile(r"妊娠|怀孕|孕妇|孕期|孕\d+周|身孕|pregnan\w+", _I)


def _has_condition(text: str, cond: str) -> bool:
    for m in _CONDITION_RE[cond].finditer(text):
        if _NOT_A_FACT_AFTER.match(text[m.end():]) or negated(text, m.start(), m.end()):
            continue
        if cond == "malignancy" and _NOT_MALIGNANCY.search(text[max(0, m.start() - 6):m.end() + 8]):
            continue
        return True
    return False


def _pregnancy(text: str) -> bool | None:
    """True if any mention is affirmative, False if all are negated (非孕期, not pregnant), else None."""
    hits = [not negated(text, m.start(), m.end()) for m in _PREGNANT_RE.finditer(text)
            if not _NOT_A_FACT_AFTER.match(text[m.end():])]
    return any(hits) if hits else None


# ----------------------------------------------------------------------------- numeric facts
_AGE_AFTER = re.compile(r"^\s*(多)?(old\b|周岁|岁|-?\s*years?[- ]old|-?\s*yrs?[- ]old|\s*y/?o\b|\s*yo\b)", _I)
_AGE_BEFORE = re.compile(r"(aged|age|年龄|年纪)\s*(:|:|is|of|为|是)?\s*$"
                         r"|\b(I'm|I am|(mother|father|mom|dad|patient|wife|husband|grand\w+|she|he) (is|was))\s*$", _I)
_GLUCOSE_KEY = re.compile(r"(血糖|葡萄糖|glucose|blood sugar|sugar|\bBG\b|\bFBG\b|\bFPG\b|\bGLU\b)", _I)
_A1C_KEY = re.compile(r"(糖化|HbA1c|A1c)", _I)
_PLATELET_COUNT = re.compile(
    r"(血小板计数|血小板|PLT|platelet count|platelets?)\s*(?:of|is|was|为|是|:|:)?\s*"
    r"(\d+(?:\.\d+)?(?:,\d{3})*)\s*"
    r"(?:(?:[×xX*]\s*10\s*\^?\s*9|×10⁹)\s*/\s*L|(/\s*(?:μL|uL|µL|mm3|mm³))|(?=\s*$|\s*[,;。.]))", _I)


def _ages(text: str, qs: list[Quantity]) -> list[Decimal]:
    out = []
    for q in qs:
        if q.unit not in ("year", None) or q.is_range:
            continue
        own = q.text.lower()
        stated = (q.unit == "year" and any(k in own for k in ("岁", "old", "y/o"))) or _AGE_AFTER.match(text[q.end:])
        before = _AGE_BEFORE.search(text[max(0, q.start - 16):q.start]) and not text[q.end:].lstrip().startswith("%")
        if (stated or before) and 0 <= q.low <= 130:
            out.append(q.low)
    return out


def _glucose(text: str, qs: list[Quantity]) -> tuple[Decimal | None, str | None]:
    """First glucose value: a number right after 血糖/glucose in the same clause (not HbA1c, not a target)."""
    for q in qs:
        if q.unit not in ("mmol/L", "mg/dL", None) or q.comparator in ("<", "<=") or q.is_range:
            continue
        before = text[max(_clause_start(text, q.start), q.start - 14):q.start]
        key = list(_GLUCOSE_KEY.finditer(before))
        if not key or _A1C_KEY.search(before[max(0, key[-1].start() - 3):]):
            continue
        if re.match(r"\s*(以下|以内|以上|below|under|or (less|lower|more))", text[q.end:], _I):
            continue
        if q.unit is None:
            if text[q.end:q.end + 3].lstrip().startswith(("%", "mmol", "mg")):
                continue
            return q.low, ("mg/dL" if q.low >= BARE_GLUCOSE_MG_DL_FROM else "mmol/L")
        return q.low, q.unit
    return None, None


def _platelets(text: str) -> Decimal | None:
    for m in _PLATELET_COUNT.finditer(text):
        if re.match(r"\s*(万|亿|billion|million)", text[m.end(2):], _I):
            continue
        v = Decimal(m.group(2).replace(",", ""))
        return v / 1000 if m.group(3) else v
    return None


# ----------------------------------------------------------------------------- medications
_INTAKE = re.compile(r"(吃了|吃过|在吃|还吃|服了|服用|服过|在服|用了|在用|正在|一直|还在|长期|每天|刚吃|刚服|停了|已停|停药"
                     r"|停用了|停掉|\b(?:took|taking|takes|on|stopped|quit|last|used|using)\b)", _I)
_MODAL = re.compile(r"(能|可以|能否|可否|需要|需|要不要|是否|应该|应|得|should|can|could|may|need to|must|have to"
                    r"|when to)\s*$", _I)
_AGO_AFTER = re.compile(r"^\s*(了)?\s*(以前|之前|前|ago|before|earlier)", _I)
_STOP_BEFORE = re.compile(r"((?<!不)停[^,;。]{0,12}|stopped\s.*|quit\s.*|off\s.*|since\s.*)\s*$", _I)
_RELATIVE_DAYS = [
    (re.compile(r"大前天", _I), Decimal(3)),
    (re.compile(r"前天|day before yesterday", _I), Decimal(2)),
    (re.compile(r"昨天|昨晚|昨日|昨夜|yesterday|last night", _I), Decimal(1)),
    (re.compile(r"今天|今早|今晨|今日|刚刚|刚才|this morning|today|just took|tonight", _I), Decimal(0)),
]
_SENTENCE_END = re.compile(r"[。!?\n]|\.\s")
_DAYS_PER = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30), "hour": Decimal(1) / 24}


def _days_ago(text: str, qs: list[Quantity], sent: tuple[int, int], clause: tuple[int, int],
              anchor: int) -> Decimal | None:
    """Days since the last dose from '3天前', 'stopped ... 10 days ago' (nearest in the sentence)
    or '昨天' / 'yesterday' (same clause as the drug)."""
    best: tuple[int, Decimal] | None = None
    for q in qs:
        if q.unit not in _DAYS_PER or q.start < sent[0] or q.end > sent[1]:
            continue
        ago = _AGO_AFTER.match(text[q.end:sent[1]]) or re.search(r"(前|ago|before)\s*$", q.text)
        if ago or _STOP_BEFORE.search(text[max(sent[0], q.start - 40):q.start]):
            dist = abs(q.start - anchor)
            if best is None or dist < best[0]:
                best = (dist, q.low * _DAYS_PER[q.unit])  # type: ignore[index]
    if best:
        return best[1]
    for rx, days in _RELATIVE_DAYS:
        if rx.search(text, clause[0], clause[1]):
            return days
    return None


def _medications(text: str, qs: list[Quantity], lex: DrugLexicon) -> tuple[list[str], Decimal | None]:
    """Drugs the patient takes or took (an intake cue or a dose time is needed: 'PRP前需停用布洛芬吗' is
    a general question), and the most recent NSAID dose in days."""
    meds: list[str] = []
    nsaid_days: Decimal | None = None
    for drug, m in lex.find(text):
        if drug is None or negated(text, m.start(), m.end()):
            continue
        s0 = max((x.end() for x in _SENTENCE_END.finditer(text, 0, m.start())), default=0)
        s1 = _SENTENCE_END.search(text, m.end())
        sent = (s0, s1.start() if s1 else len(text))
        clause = (_clause_start(text, m.start()), _clause_end(text, m.end()))
        days = _days_ago(text, qs, sent, clause, m.start())
        cue = _INTAKE.search(text, max(clause[0], m.start() - 30), m.start())
        taking = cue is not None and not _MODAL.search(text[max(0, cue.start() - 6):cue.start()])
        if days is None and not taking:
            continue
        if m.group() not in meds:
            meds.append(m.group())
        if drug.cls == "NSAID" and days is not None:
            nsaid_days = days if nsaid_days is None else min(nsaid_days, days)
    return meds, nsaid_days


def extract_patient(text: str, drugs: DrugLexicon | None = None) -> PatientContext:
    """Patient facts stated in a zh/en question; negated mentions (没有糖尿病, not pregnant) do not count."""
    t = normalise_text(text)
    qs = parse_quantities(t)
    p = PatientContext()
    p.age = next((float(a) for a in _ages(t, qs)), None)
    p.pregnant = _pregnancy(t)
    p.conditions = [c for c in CONDITIONS if _has_condition(t, c)]
    g, unit = _glucose(t, qs)
    if g is not None:
        setattr(p, "glucose_mg_dl" if unit == "mg/dL" else "glucose_mmol_l", float(g))
    plt = _platelets(t)
    p.platelets_10e9_per_l = float(plt) if plt is not None else None
    meds, days = _medications(t, qs, drugs or load_drugs())
    p.medications, p.nsaid_last_dose_days_ago = meds, (float(days) if days is not None else None)
    return p


def merge(structured: PatientContext | None, extracted: PatientContext) -> tuple[PatientContext, list[str]]:
    """Form values win over text values; every disagreement is reported so a human can resolve it."""
    s = structured or PatientContext()
    out = PatientContext(**extracted.to_dict())
    conflicts: list[str] = []

    def scalar(name: str, a: Any, b: Any, differ: bool) -> None:
        if a is not None and b is not None and differ:
            conflicts.append(f"{name}: form says {_fmt(a)}, question text says {_fmt(b)}; using the form value")

    for name in ("age", "nsaid_last_dose_days_ago", "platelets_10e9_per_l"):
        a, b = getattr(s, name), getattr(extracted, name)
        scalar(name, a, b, a is not None and b is not None and abs(a - b) >= 0.5)
        if a is not None:
            setattr(out, name, a)
    scalar("pregnant", s.pregnant, extracted.pregnant, s.pregnant != extracted.pregnant)
    if s.pregnant is not None:
        out.pregnant = s.pregnant
    gs, ge = s.glucose(), extracted.glucose()
    if gs is not None and ge is not None and abs(gs - ge) > Decimal("0.1"):
        conflicts.append(f"glucose: form says {_fmt(gs)} mmol/L, question text says {_fmt(ge)} mmol/L; "
                         "using the form value")
    if gs is not None:
        out.glucose_mmol_l, out.glucose_mg_dl = s.glucose_mmol_l, s.glucose_mg_dl
    out.conditions = [c for c in CONDITIONS if c in s.conditions or c in extracted.conditions]
    out.medications = list(dict.fromkeys(s.medications + extracted.medications))
    return out, conflicts


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{Decimal(str(v)).quantize(Decimal('0.1')).normalize():f}"


# ----------------------------------------------------------------------------- therapies and doses
_THERAPY_TERMS = {
    "PRP": r"\bPRP\b|富血小板血浆|富血小板|platelet[- ]rich plasma",
    "MPCs": r"\bMPCs?\b|间充质前体细胞|间充质祖细胞|mesenchymal (?:precursor|progenitor) cells?",
    "MSCs": r"\bMSCs?\b|间充质干细胞|间充质|间质干细胞|干细胞|基质细胞|mesenchymal|stem[- ]cells?|stromal cells?",
    "BMAC": r"\bBMAC\b|骨髓浓缩液|骨髓浓缩|骨髓抽吸浓缩物|bone marrow aspirate concentrate|bone marrow concentrate",
    "regenerative": r"再生医学|再生疗法|再生治疗|regenerative|外泌体|exosomes?|细胞治疗|细胞疗法|cell therapy|生物制剂|biologics?",
}
_THERAPY_RE = {k: re.compile(v, _I) for k, v in _THERAPY_TERMS.items()}


def detect_therapies(text: str) -> list[str]:
    """Therapies a question is about, in PRODUCTS order (zh simplified/traditional and English)."""
    t = normalise_text(text)
    return [p for p in PRODUCTS if _THERAPY_RE[p].search(t)]


@dataclass(frozen=True)
class ProposedDose:
    product: str | None
    quantity: Quantity


_DOSE_PRODUCT = [
    ("MPCs", re.compile(r"\bMPCs?\b|间充质前体|precursor cells?", _I)),
    ("BMAC", re.compile(r"\bBMAC\b|骨髓浓缩", _I)),
    ("PRP", re.compile(r"\bPRP\b|血小板|platelets?|富血小板", _I)),
    ("MSCs", re.compile(r"\bMSCs?\b|间充质|干细胞|stem cells?|mesenchymal", _I)),
    ("cells", re.compile(r"细胞|\bcells?\b", _I)),
]
_MULTIPLIER = re.compile(r"万|亿|thousand|million|billion|[×xX*]\s*10", _I)
_LAB_AROUND = re.compile(r"(计数|count|PLT)\s*(of|is|为|是|:|:)?\s*$", _I)


def extract_doses(text: str) -> list[ProposedDose]:
    """Cell / platelet numbers (2亿个间充质干细胞, 10 billion platelets, 1.5×10^8个MSCs) with the product
    named nearest to them in the same clause; a bare 'cells' falls back to the question's therapy."""
    t = normalise_text(text)
    therapies = detect_therapies(t)
    out = []
    for q in parse_quantities(t):
        big = q.high >= 1000 and (q.unit == "count" or _MULTIPLIER.search(q.text))
        if q.unit not in ("count", None) or not big:
            continue
        lab = "/" in q.text or re.match(r"\s*/\s*(L|μL|uL|µL|mm)", t[q.end:])
        if lab or _LAB_AROUND.search(t[max(0, q.start - 12):q.start]):
            continue
        lo, hi = _clause_start(t, q.start), _clause_end(t, q.end)
        best: tuple[int, str] | None = None
        for product, rx in _DOSE_PRODUCT:
            for m in rx.finditer(t, lo, hi):
                dist = m.start() - q.end if m.start() >= q.end else (q.start - m.end() if m.end() <= q.start else 0)
                if dist <= 20 and (best is None or dist < best[0]):
                    best = (dist, product)
        product = best[1] if best else None
        if product == "cells":
            cell_therapies = [p for p in ("MPCs", "BMAC", "MSCs") if p in therapies]
            product = cell_therapies[0] if len(cell_therapies) == 1 else "MSCs"
        out.append(ProposedDose(product, q))
    return out
