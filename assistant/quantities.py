"""Deterministic amounts in Chinese and English clinical text.

Numbers are exact Decimals end to end (never float) so that a translation can be
checked number-for-number against its Chinese source and a dose guard can
compare thresholds without rounding surprises.

Conventions callers rely on:
  * a number with a 万/亿/million/billion multiplier but no unit has unit None:
    the caller knows whether it counts cells or dollars;
  * "×10^9/L" concentrations keep unit None (the "/L" only joins the text),
    since a per-litre basis is not one of our units;
  * cell nouns right after a number (cells, 个细胞, platelets, MSCs, MPCs) and
    Chinese count classifiers (个/名/例/位/项/只) give unit "count";
  * 以上/or more → ">=" and 以下/以内/or less → "<=" (the inclusive Chinese
    reading); prefix words are listed in `_CMP_WORDS`;
  * a lone Chinese numeral character ("一种", "十分", "二聚体") or the word
    "one" is an amount only when a unit follows, which keeps prose noise out;
  * "从57提升至87.3" gives two numbers, but adjacent "a 至/to b" is a range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import NamedTuple

from assistant._numerals import ZH_DIGITS, big_suffix, parse_zh

__all__ = ["Quantity", "parse_number", "parse_quantities", "values", "format_zh", "format_en"]

GLUCOSE_MG_PER_MMOL = Decimal(18)


@dataclass(frozen=True)
class Quantity:
    low: Decimal
    high: Decimal
    unit: str | None
    comparator: str | None
    text: str
    start: int
    end: int

    @property
    def is_range(self) -> bool:
        return self.low != self.high

    def in_unit(self, unit: str) -> "Quantity":
        """Only exact, context-free conversions: months and years vary in days."""
        if unit == self.unit:
            return self
        ratio = _CONVERSIONS.get((self.unit, unit))
        if ratio is None:
            raise ValueError(f"cannot convert {self.unit!r} to {unit!r}")
        mul, div = ratio
        with localcontext() as ctx:
            ctx.prec = 50
            return replace(self, unit=unit, low=_clean(self.low * mul / div),
                           high=_clean(self.high * mul / div))


_CONVERSIONS: dict[tuple[str | None, str], tuple[Decimal, Decimal]] = {
    ("mmol/L", "mg/dL"): (GLUCOSE_MG_PER_MMOL, Decimal(1)),
    ("mg/dL", "mmol/L"): (Decimal(1), GLUCOSE_MG_PER_MMOL),
    ("week", "day"): (Decimal(7), Decimal(1)),
}

# ---------------------------------------------------------------- patterns ---
_ZD = "".join(ZH_DIGITS)
_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_NOT_GLUED = r"(?<![A-Za-z0-9.])"  # "CXCL13", "v17", ".112778" are not amounts
_ARABIC = r"(?:\d{1,3}(?:,\d{3}(?!\d))+(?:\.\d+)?|\d+(?:\.\d+)?)"
_POW10 = rf"10\s*(?:\^\s*(?P<exp>[-−]?\d{{1,3}})|(?P<sup>⁻?[{_SUP}]+))"
_SCI = (rf"(?:{_NOT_GLUED}(?P<mant>{_ARABIC})\s*[×xX*·]\s*|{_NOT_GLUED}){_POW10}"
        rf"|{_NOT_GLUED}{_ARABIC}[eE]\+?\d{{1,3}}(?![A-Za-z0-9])")
_MIXED = (rf"(?:{_NOT_GLUED}{_ARABIC}|[{_ZD}十])"
          rf"(?:\s?[万亿]|[{_ZD}十百千万亿]|点(?=[{_ZD}])|(?<=[十百千万亿零〇])\d+(?:\.\d+)?)*")
_ONES_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
            "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
            "nineteen": 19}
_TENS_EN = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
            "seventy": 70, "eighty": 80, "ninety": 90}
_WORDS = (rf"(?<![A-Za-z-])(?i:(?:{'|'.join(_TENS_EN)})(?:-(?:{'|'.join(list(_ONES_EN)[:9])}))?"
          rf"|{'|'.join(sorted(_ONES_EN, key=len, reverse=True))})(?![A-Za-z])")
_NUM_RE = re.compile(rf"(?P<sci>{_SCI})|(?P<mixed>{_MIXED})|(?P<words>{_WORDS})")
_ZH_PAIR = re.compile(f"[{_ZD}]{{2}}")
_ARABIC_RE = re.compile(_NOT_GLUED + _ARABIC)
_MUL_RE = re.compile(r"[\s-]?(?i:(hundred|thousand|million|billion|trillion))(?![A-Za-z])")
_MUL_EN = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}

# (canonical unit, Chinese/symbol forms, English forms); earlier rows win ties.
_UNIT_TABLE: list[tuple[str, str, str]] = [
    ("month", "个月|月", "(?i:months?|mos?)"),
    ("count", "个细胞|个|名|例|位|项|只|血小板",
     "(?i:cells?|platelets?)|(?:h|BM|AD|UC)?MSCs?|MPCs?"),
    ("mmol/L", "", "mmol/[lL]|mM"),
    ("mg/dL", "", "mg/d[lL]"),
    ("mL", "毫升", "mL|ml|(?i:millilit(?:er|re)s?)"),
    ("day", "天|日", "(?i:days?)|d"),
    ("week", "周|星期", "(?i:weeks?|wks?)"),
    ("year", "岁|年", "(?i:years?(?:[\\s-]old)?|yrs?|y/?o)"),
    ("hour", "小时", "(?i:hours?|hrs?)|h"),
    ("um", "微米", "[μu]m|(?i:microns?|micromet(?:er|re)s?)"),
    ("percent", "%", "(?i:percent|per cent)"),
    ("x_baseline", "倍", "[×xX]\\s?(?i:baseline)|(?i:times\\s+(?:the\\s+)?baseline|fold)"),
    ("cm3", "立方厘米", "cm³|cm\\^?3|(?i:cubic centimet(?:er|re)s?)"),
    ("usd", "美元|美金", "USD|US dollars?|(?i:dollars?)"),
    ("cny", "元|人民币", "RMB|CNY|(?i:yuan)"),
]


def _unit_alt(zh: str, en: str) -> str:
    """Chinese forms may follow one space; English ones also a hyphen ("80-year-old")."""
    return (rf"\s?(?:{zh})|" if zh else "") + rf"[\s-]?(?:{en})(?![A-Za-z])"


_UNIT_RE = re.compile("|".join(
    f"(?P<u{i}>{_unit_alt(zh, en)})" for i, (_, zh, en) in enumerate(_UNIT_TABLE)))
_PER_LITRE_RE = re.compile(r"\s?/\s?(?:L|l|μL|uL)(?![A-Za-z])")
_CMP_WORDS: dict[str, str] = {
    "≥": ">=", ">=": ">=", "≧": ">=", "⩾": ">=", "≤": "<=", "<=": "<=", "≦": "<=", "⩽": "<=",
    "<": "<", ">": ">",
    "至少": ">=", "不少于": ">=", "不低于": ">=", "不小于": ">=",
    "超过": ">", "大于": ">", "高于": ">", "多于": ">",
    "不超过": "<=", "不多于": "<=", "不高于": "<=", "不大于": "<=", "最多": "<=", "至多": "<=",
    "低于": "<", "小于": "<", "少于": "<", "不足": "<", "不到": "<",
    "at least": ">=", "no less than": ">=", "not less than": ">=", "a minimum of": ">=",
    "no fewer than": ">=", "more than": ">", "greater than": ">", "over": ">", "above": ">",
    "exceeding": ">", "in excess of": ">", "up to": "<=", "no more than": "<=",
    "not more than": "<=", "at most": "<=", "a maximum of": "<=", "not exceeding": "<=",
    "below": "<", "less than": "<", "under": "<", "fewer than": "<", "lower than": "<",
}
_CMP_ALT = "|".join(re.escape(w) for w in sorted(_CMP_WORDS, key=len, reverse=True))
_PREFIX_RE = re.compile(
    rf"(?:(?<![A-Za-z])(?P<cmp>(?i:{_CMP_ALT})))?\s*(?:(?:约|大约|(?i:approximately|about|around)|~)\s*)?"
    rf"(?P<base>基线值?的)?\s*(?P<cur>US\$|\$|¥|RMB\s?|CNY\s?)?(?P<pct>百分之)?\s*$")
_SUFFIX_RE = re.compile(r"\s*(?:(?P<ge>及以上|以上|or (?:more|greater|higher|above))|"
                        r"(?P<le>及以下|以下|以内|or (?:less|fewer|lower|below)))(?![A-Za-z])")
_CUR_RE = re.compile(r"(?:US\$|\$|¥|RMB\s?)\s*")
_CONN_RE = re.compile(r"\s*(?:[-–—−~〜至到]|(?<=\s)(?i:to)(?=\s))\s*")
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xB5: 0x3BC}


class _Num(NamedTuple):
    start: int
    end: int
    text: str
    value: Decimal
    factor: int  # trailing multiplier a bare range low end borrows ("20-50亿")
    sci: bool


# ---------------------------------------------------------------- numbers ----
def _clean(d: Decimal) -> Decimal:
    """Normalise away trailing zeros without leaving a positive exponent."""
    with localcontext() as ctx:
        ctx.prec = 60
        n = d.normalize()
        try:
            return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n
        except InvalidOperation:
            return n


def _value(m: re.Match[str]) -> tuple[Decimal, int]:
    s = m.group()
    if m.group("sci"):
        exp = m.group("exp") or m.group("sup")
        if exp is None:  # 3.5e9
            return Decimal(s.replace(",", "")), 1
        power = int(exp.translate(str.maketrans(_SUP + "⁻−", "0123456789--")))
        factor = Decimal(10) ** power
        mant = Decimal(m.group("mant").replace(",", "")) if m.group("mant") else Decimal(1)
        return mant * factor, int(factor) if power > 0 else 1
    if m.group("words"):
        tens, _, ones = s.lower().partition("-")
        return Decimal(_TENS_EN.get(tens, 0) + _ONES_EN.get(tens, 0) + _ONES_EN.get(ones, 0)), 1
    if not re.search(r"[^\d.,]", s):
        return Decimal(s.replace(",", "")), 1
    return parse_zh(s), big_suffix(s)[1]


def _read_number(norm: str, pos: int, search: bool) -> _Num | None:
    """Next number at (or, with search, after) pos, with any English multiplier."""
    while (m := (_NUM_RE.search if search else _NUM_RE.match)(norm, pos)) is not None:
        cands = [m]
        a = _ARABIC_RE.match(norm, m.start())
        if a and a.end() < m.end() and m.group("mixed"):  # "2021一项": keep the digits
            cands.append(_NUM_RE.match(norm, m.start(), a.end()))
        for c in cands:
            try:
                value, factor = _value(c)
            except (ValueError, ArithmeticError):
                continue
            end = c.end()
            if mul := _MUL_RE.match(norm, end):
                extra = _MUL_EN[mul.group(1).lower()]
                value, factor, end = value * extra, factor * extra, mul.end()
            return _Num(c.start(), end, c.group(), value, factor, bool(c.group("sci")))
        if not search:
            return None
        pos = m.end()
    return None


def _unit_at(norm: str, pos: int) -> tuple[str | None, int]:
    m = _UNIT_RE.match(norm, pos)
    if not m or m.lastgroup is None:
        return None, pos
    return _UNIT_TABLE[int(m.lastgroup[1:])][0], m.end()


def _needs_unit(num: _Num) -> bool:
    t = num.text.strip().lower()
    return (len(t) == 1 and (t in ZH_DIGITS or t == "十")) or t == "one"


def parse_number(s: str) -> Decimal:
    """One number expression, whole string; ValueError on anything else."""
    norm = s.translate(_FULLWIDTH).strip()
    with localcontext() as ctx:  # exact whatever the caller's context says
        ctx.prec = 60
        num = _read_number(norm, 0, search=False) if norm else None
    if num is None or num.end != len(norm):
        raise ValueError(f"not a number: {s!r}")
    return _clean(num.value)


# ------------------------------------------------------------- quantities ----
PARSE_CACHE_SIZE = 16_384  # texts whose amounts are remembered: every rule check of a sentence reads them


def parse_quantities(text: str) -> list[Quantity]:
    """Every amount in `text`, left to right; never raises on odd input."""
    return list(_parse(text))


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse(text: str) -> tuple[Quantity, ...]:
    norm = text.translate(_FULLWIDTH)  # length-preserving, so spans stay valid
    out: list[Quantity] = []
    pos = 0
    with localcontext() as ctx:  # exact whatever the caller's context says
        ctx.prec = 60
        while (num := _read_number(norm, pos, search=True)) is not None:
            q = _quantity(norm, text, num)
            if q is not None:
                out.append(q)
            pos = max(num.end, q.end if q else 0)
    return tuple(out)


def _quantity(norm: str, text: str, num: _Num) -> Quantity | None:
    low = high = num.value
    unit, end = _unit_at(norm, num.end)
    if _ZH_PAIR.fullmatch(num.text):  # "三四天" is 3-4 days, not 34
        low, high = (Decimal(ZH_DIGITS[c]) for c in num.text)
        if high != low + 1:
            return None
    elif conn := _CONN_RE.match(norm, end):
        cur = _CUR_RE.match(norm, conn.end())  # "$2,000-$5,000"
        hi = _read_number(norm, cur.end() if cur else conn.end(), search=False)
        if hi is not None:
            unit2, end2 = _unit_at(norm, hi.end)
            lo = low * hi.factor if num.factor == 1 else low
            if lo > hi.value:
                lo = low
            if (lo < hi.value and (unit is None or unit == unit2)
                    and not (_needs_unit(hi) and unit2 is None)):
                low, high, unit, end = lo, hi.value, unit2, end2
    if num.sci and unit is None and (per_l := _PER_LITRE_RE.match(norm, end)):
        end = per_l.end()
    start, comparator = num.start, None
    if pre := _PREFIX_RE.search(norm, max(0, num.start - 24), num.start):
        cur, cmp = pre.group("cur"), pre.group("cmp")
        if cur and unit is None:
            unit = "cny" if cur.strip() in ("¥", "RMB", "CNY") else "usd"
        if pre.group("pct") and unit is None:
            unit = "percent"
        if cmp:
            comparator = _CMP_WORDS[cmp.lower()]
        start = min((pre.start(g) for g in ("cmp", "base", "cur", "pct") if pre.group(g)),
                    default=start)
    if _needs_unit(num) and high == low and (
            unit is None or (unit == "count" and num.text.strip().lower() in ("一", "one"))):
        return None
    if comparator is None and (suf := _SUFFIX_RE.match(norm, end)):
        comparator, end = (">=" if suf.group("ge") else "<="), suf.end()
    return Quantity(_clean(low), _clean(high), unit, comparator, text[start:end], start, end)


def values(text: str) -> set[Decimal]:
    """Every number in `text`: lets a translation be checked against its source."""
    return {v for q in parse_quantities(text) for v in (q.low, q.high)}


# -------------------------------------------------------------- formatting ---
def _plain(d: Decimal) -> str:
    return format(_clean(d), "f")


def format_zh(value: Decimal) -> str:
    """Chinese style: the largest of 亿/万 that keeps the mantissa >= 1 ("5000万")."""
    for unit, size in (("亿", 10**8), ("万", 10**4)):
        if abs(value) >= size:
            with localcontext() as ctx:
                ctx.prec = 60
                return _plain(value / size) + unit
    return _plain(value)


def format_en(value: Decimal) -> str:
    """English style: "50 million", "1.5 billion", "250,000"."""
    for word, size in (("trillion", 10**12), ("billion", 10**9), ("million", 10**6)):
        if abs(value) >= size:
            with localcontext() as ctx:
                ctx.prec = 60
                return f"{_plain(value / size)} {word}"
    whole, _, frac = _plain(value).partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")
