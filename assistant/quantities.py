"""Deterministic amounts in Chinese and English clinical text.

Numbers are exact Decimals end to end (never float) so that a translation can be
checked number-for-number against its Chinese source and a dose guard can
compare thresholds without rounding surprises.

Conventions the callers rely on:
  * a bare number with a 万/亿/million/billion multiplier but no unit has
    unit None - the caller knows whether it counts cells or dollars;
  * "×10^9/L" style concentrations keep unit None (the "/L" is consumed into
    the text only), because the per-litre basis is not one of our units;
  * cell-type nouns right after a number (MSCs, MPCs, cells, 个细胞, platelets)
    and Chinese count classifiers (个/名/例/位/项/只) give unit "count";
  * 以上/or more → ">=" and 以下/以内/or less → "<=" (the inclusive Chinese
    convention); prefix words are listed in `_CMP_WORDS`;
  * a lone Chinese numeral character ("一种", "十分", "二聚体") or the word
    "one" is only an amount when a unit follows, to keep prose noise out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation, localcontext

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
        """Only exact, context-free conversions; months/years vary in days."""
        if unit == self.unit:
            return self
        factor = _CONVERSIONS.get((self.unit, unit))
        if factor is None:
            raise ValueError(f"cannot convert {self.unit!r} to {unit!r}")
        with localcontext() as ctx:
            ctx.prec = 50
            return replace(self, low=_clean(self.low * factor),
                           high=_clean(self.high * factor), unit=unit)


_CONVERSIONS: dict[tuple[str | None, str], Decimal] = {
    ("mmol/L", "mg/dL"): GLUCOSE_MG_PER_MMOL,
    ("mg/dL", "mmol/L"): 1 / GLUCOSE_MG_PER_MMOL,
    ("week", "day"): Decimal(7),
}

# ---------------------------------------------------------------- patterns ---
_ZD = "".join(ZH_DIGITS)
_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_ARABIC = r"(?<![A-Za-z0-9.])(?:\d{1,3}(?:,\d{3}(?!\d))+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SCI = (rf"(?:{_ARABIC}\s*[×xX*·]\s*)?(?<![A-Za-z0-9.])10\s*(?:\^\s*[-−]?\d{{1,3}}|[⁻]?[{_SUP}]+)"
        rf"|{_ARABIC}[eE][+]?\d{{1,3}}(?![A-Za-z0-9])")
_MIXED = (rf"(?:{_ARABIC}|[{_ZD}十])(?:\s?[万亿]|[{_ZD}十百千万亿]|点(?=[{_ZD}])"
          rf"|(?<=[十百千万亿零〇])\d+(?:\.\d+)?)*")
_UNITS_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
             "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
             "nineteen": 19}
_TENS_EN = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
            "seventy": 70, "eighty": 80, "ninety": 90}
_WORDS = (rf"(?i:(?<![A-Za-z-])(?:(?:{'|'.join(_TENS_EN)})(?:-(?:{'|'.join(list(_UNITS_EN)[:9])}))?"
          rf"|{'|'.join(sorted(_UNITS_EN, key=len, reverse=True))})(?![A-Za-z]))")
_NUM_RE = re.compile(rf"(?P<sci>{_SCI})|(?P<mixed>{_MIXED})|(?P<words>{_WORDS})")
_MUL_RE = re.compile(r"[\s-]?(?i:(thousand|million|billion|trillion))(?![A-Za-z])")
_MUL_EN = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}

_EN = r"(?![A-Za-z])"
_UNIT_TABLE: list[tuple[str, str]] = [
    ("month", rf"个月|(?:[\s-]?(?i:months?|mos?){_EN})|月"),
    ("count", rf"个细胞|个|名|例|位|项|只|血小板|[\s-]?(?:(?i:cells?|platelets?)|(?:h|BM|AD|UC)?MSCs?|MPCs?){_EN}"),
    ("mmol/L", rf"\s?(?:mmol/[lL]|mM){_EN}"),
    ("mg/dL", rf"\s?mg/d[lL]{_EN}"),
    ("mL", rf"毫升|\s?(?:mL|ml|(?i:millilit(?:er|re)s?)){_EN}"),
    ("day", rf"天|日|[\s-]?(?:(?i:days?)|d){_EN}"),
    ("week", rf"周|星期|[\s-]?(?i:weeks?|wks?){_EN}"),
    ("year", rf"岁|年|[\s-]?(?i:years?(?:[\s-]old)?|yrs?){_EN}"),
    ("hour", rf"小时|[\s-]?(?:(?i:hours?|hrs?)|h){_EN}"),
    ("um", rf"微米|\s?(?:[μu]m|(?i:microns?|micromet(?:er|re)s?)){_EN}"),
    ("percent", r"%|\s?(?i:percent|per cent)(?![A-Za-z])"),
    ("x_baseline", rf"倍|\s?(?:[×xX]\s?(?i:baseline)|(?i:times\s+(?:the\s+)?baseline)|-?(?i:fold)){_EN}"),
    ("cm3", rf"立方厘米|\s?(?:cm³|cm\^?3|(?i:cubic centimet(?:er|re)s?)){_EN}"),
    ("usd", rf"美元|美金|\s?(?:USD|US dollars?|(?i:dollars?)){_EN}"),
    ("cny", rf"元|人民币|\s?(?:RMB|CNY|(?i:yuan)){_EN}"),
]
_UNIT_RE = re.compile("|".join(f"(?P<u{i}>{p})" for i, (_, p) in enumerate(_UNIT_TABLE)))
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
    rf"(?:(?<![A-Za-z])(?P<cmp>{_CMP_ALT}))?\s*(?:约|大约|(?i:approximately|about|around|~)\s*)?"
    rf"(?P<base>基线值?的)?\s*(?P<cur>US\$|\$|¥|RMB\s?|CNY\s?)?(?P<pct>百分之)?\s*$")
_SUFFIX_RE = re.compile(r"\s*(?:(?P<ge>及以上|以上|or (?:more|greater|higher|above))|"
                        r"(?P<le>及以下|以下|以内|or (?:less|fewer|lower|below)))(?![A-Za-z])")
_CONN_RE = re.compile(r"\s*(?:[-–—−~〜至到]|(?i:to)(?=\s))\s*")
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xB5: 0x3BC}


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


def _sup_to_int(s: str) -> int:
    return int(s.translate(str.maketrans(_SUP + "⁻−", "0123456789--")))


def _number(m: re.Match[str]) -> tuple[Decimal, int]:
    """(value, trailing multiplier) of a `_NUM_RE` match; the multiplier lets a
    bare low end of a range borrow it ("20-50亿")."""
    s = m.group()
    if m.group("sci"):
        mant, _, exp = re.split(r"\s*(10\s*(?:\^\s*)?)(?=[-−⁻\d⁰-⁹¹²³])", s, maxsplit=1)[-3:] \
            if re.search(r"10\s*\^|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]", s) else (s, "", "")
        if exp:
            mant = re.sub(r"\s*[×xX*·]\s*$", "", mant).replace(",", "") or "1"
            factor = Decimal(10) ** _sup_to_int(exp.replace(" ", ""))
            return Decimal(mant) * factor, int(factor) if factor >= 1 else 1
        return Decimal(s.replace(",", "")), 1
    if m.group("words"):
        w = s.lower().split("-")
        return Decimal(_TENS_EN.get(w[0], 0) + _UNITS_EN.get(w[0], 0)
                       + (_UNITS_EN[w[1]] if len(w) > 1 else 0)), 1
    if not re.search(r"[^\d.,]", s):
        return Decimal(s.replace(",", "")), 1
    head, factor = big_suffix(s)
    return parse_zh(s), factor if head.strip() else 1


def _fallback(norm: str, m: re.Match[str]) -> re.Match[str] | None:
    """A glued Chinese tail that does not parse ("2021一项") must not eat the digits."""
    a = re.compile(_ARABIC).match(norm, m.start())
    return _NUM_RE.match(norm[: a.end()], m.start()) if a and a.end() < m.end() else None


def _read_number(norm: str, pos: int, search: bool) -> tuple[re.Match[str], Decimal, int] | None:
    while True:
        m = _NUM_RE.search(norm, pos) if search else _NUM_RE.match(norm, pos)
        if m is None:
            return None
        for cand in (m, _fallback(norm, m)):
            if cand is None:
                continue
            try:
                value, factor = _number(cand)
            except (ValueError, ArithmeticError):
                continue
            mul = _MUL_RE.match(norm, cand.end())
            if mul:
                extra = _MUL_EN[mul.group(1).lower()]
                return _Span(cand.start(), mul.end(), cand.group()), value * extra, factor * extra
            return cand, value, factor
        if not search:
            return None
        pos = m.end()


@dataclass
class _Span:
    """Stand-in for a match that was extended by an English multiplier."""
    _start: int
    _end: int
    _text: str

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, *_: object) -> str:
        return self._text


def _unit_at(norm: str, pos: int) -> tuple[str | None, int]:
    m = _UNIT_RE.match(norm, pos)
    if not m or m.lastgroup is None:
        return None, pos
    return _UNIT_TABLE[int(m.lastgroup[1:])][0], m.end()


def _needs_unit(text: str) -> bool:
    t = text.strip().lower()
    return (len(t) == 1 and t in ZH_DIGITS | {"十": 0}) or t == "one"


def parse_number(s: str) -> Decimal:
    """One number expression, whole string; ValueError on anything else."""
    norm = s.translate(_FULLWIDTH).strip()
    got = _read_number(norm, 0, search=False) if norm else None
    if got is None or got[0].end() != len(norm):
        raise ValueError(f"not a number: {s!r}")
    return _clean(got[1])


# ------------------------------------------------------------- quantities ----
def parse_quantities(text: str) -> list[Quantity]:
    """Every amount in `text`, left to right; never raises on odd input."""
    norm = text.translate(_FULLWIDTH)  # length-preserving, so spans stay valid
    out: list[Quantity] = []
    pos = 0
    while True:
        got = _read_number(norm, pos, search=True)
        if got is None:
            return out
        m, low, low_factor = got
        q_end = _quantity(norm, text, m, low, low_factor, out)
        pos = max(q_end, m.end())


def _quantity(norm: str, text: str, m, low: Decimal, low_factor: int, out: list[Quantity]) -> int:
    unit, end = _unit_at(norm, m.end())
    high, single_end = low, end
    conn = _CONN_RE.match(norm, end)
    if conn and (unit is None or norm[m.end():end].strip()):
        got = _read_number(norm, conn.end(), search=False)
        if got is not None and not _needs_unit(got[0].group()):
            m2, hi, hi_factor = got
            unit2, end2 = _unit_at(norm, m2.end())
            lo = low * hi_factor if low_factor == 1 and hi_factor != 1 else low
            if lo > hi:
                lo = low
            if (unit is None or unit == unit2) and lo <= hi and lo != hi:
                low, high, unit, end = lo, hi, unit2, end2
    if end == single_end and unit is None:
        per_l = _PER_LITRE_RE.match(norm, end)
        if per_l and "10" in m.group():
            end = per_l.end()
    start, comparator = m.start(), None
    pre = _PREFIX_RE.search(norm, max(0, m.start() - 24), m.start())
    if pre:
        if pre.group("cur") and unit is None:
            unit = "cny" if pre.group("cur").strip() in ("¥", "RMB", "CNY") else "usd"
        if pre.group("pct") and unit is None:
            unit = "percent"
        if pre.group("cmp"):
            comparator = _CMP_WORDS[pre.group("cmp")]
        first = next((pre.start(g) for g in ("cmp", "base", "cur", "pct") if pre.group(g)), None)
        if first is not None:
            start = first
    if _needs_unit(m.group()) and high == low and (
            unit is None or (unit == "count" and m.group().strip().lower() in ("一", "one"))):
        return m.end()
    suf = _SUFFIX_RE.match(norm, end)
    if suf and comparator is None:
        comparator, end = (">=" if suf.group("ge") else "<="), suf.end()
    out.append(Quantity(_clean(low), _clean(high), unit, comparator, text[start:end], start, end))
    return end


def values(text: str) -> set[Decimal]:
    """Every number in `text` - for comparing a translation with its source."""
    return {v for q in parse_quantities(text) for v in (q.low, q.high)}


# -------------------------------------------------------------- formatting ---
def _plain(d: Decimal) -> str:
    return format(_clean(d), "f")


def format_zh(value: Decimal) -> str:
    """Chinese style: largest of 亿/万 that keeps the mantissa >= 1 ("5000万")."""
    for unit, size in (("亿", Decimal(10**8)), ("万", Decimal(10**4))):
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
