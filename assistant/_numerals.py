"""Exact Chinese (and mixed Arabic/Chinese) numerals for `assistant.quantities`.

cn2an is used for plain Chinese integers ("十万零一千", "两千五百万"), where it is
exact.  Everything it gets wrong or refuses is done here on Decimals: decimal
points ("三点五亿"), Arabic digits with 万/亿 ("16.4亿", "13万2", "1亿2000万")
and colloquial tails it crashes on ("一亿二" raises KeyError in cn2an 0.5.24).
"""

from __future__ import annotations

import re
from decimal import Decimal


ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10**4, "亿": 10**8}
_DIGIT_CLASS = "".join(ZH_DIGITS)
_PURE_ZH = re.compile(f"[{_DIGIT_CLASS}十百千万亿]+")
_DIGIT_STRING = re.compile(f"[{_DIGIT_CLASS}]+")
_TOKEN = re.compile(rf"\s*(?:(\d+(?:\.\d+)?)|([{_DIGIT_CLASS}])|([十百千])|([万亿]))")


def parse_zh(s: str) -> Decimal:
    """Value of a Chinese or mixed numeral; ValueError if it is not one."""
    s = s.replace(",", "").strip()
    if "点" in s:
        return _with_point(s)
    if _PURE_ZH.fullmatch(s) and not _DIGIT_STRING.fullmatch(s):
        import cn2an  # here, not at import: it costs ~0.3 s of every start and most texts never need it

        try:
            value = cn2an.cn2an(s, "normal")
        except (ValueError, KeyError):  # cn2an bugs out on e.g. "一亿二"
            value = None
        if isinstance(value, int):
            return Decimal(value)
    return _own(s)


def big_suffix(s: str) -> tuple[str, int]:
    """Split off a trailing 万/亿 multiplier so a range can share it ("20-50亿")."""
    m = re.fullmatch(r"(.*?)\s*([万亿]+)", s.strip())
    if not m or any(c in _BIG for c in m.group(1)):
        return s, 1
    factor = 1
    for c in m.group(2):
        factor *= _BIG[c]
    return m.group(1), factor


def _with_point(s: str) -> Decimal:
    """'三点五亿', '十二点零五': integer part, Chinese fraction digits, then multipliers."""
    m = re.fullmatch(rf"(.+?)点([{_DIGIT_CLASS}]+)\s*([万亿]*)", s)
    if not m or "两" in m.group(2):
        raise ValueError(f"not a number: {s!r}")
    frac = "".join(str(ZH_DIGITS[c]) for c in m.group(2))
    value = _own(m.group(1)) + Decimal("0." + frac)
    for c in m.group(3):
        value *= _BIG[c]
    return value


def _own(s: str) -> Decimal:
    if not s:
        raise ValueError("empty number")
    if _DIGIT_STRING.fullmatch(s):  # "二〇二四", "五"
        return Decimal("".join(str(ZH_DIGITS[c]) for c in s))
    tokens: list[tuple[str, Decimal, str]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise ValueError(f"not a number: {s!r}")
        pos = m.end()
        arabic, digit, small, big = m.groups()
        if arabic is not None:
            tokens.append(("num", Decimal(arabic), arabic))
        elif digit is not None:
            kind = "zero" if ZH_DIGITS[digit] == 0 else "num"
            tokens.append((kind, Decimal(ZH_DIGITS[digit]), digit))
        elif small is not None:
            tokens.append(("small", Decimal(_SMALL[small]), small))
        else:
            tokens.append(("big", Decimal(_BIG[big]), big))

    total = section = Decimal(0)
    num: Decimal | None = None
    prev: str | None = None
    last_unit = Decimal(1)
    seen_value = False
    for i, (kind, val, raw) in enumerate(tokens):
        if kind == "num":
            if prev == "num":
                raise ValueError(f"adjacent numbers in {s!r}")
            is_tail = i == len(tokens) - 1 and prev in ("small", "big")
            # colloquial "十三万二" / "13万2" / "一百二": a lone digit scales by the unit / 10
            num = val * last_unit / 10 if is_tail and len(raw) == 1 else val
            seen_value = True
        elif kind == "zero":
            if prev in (None, "num"):
                raise ValueError(f"misplaced zero in {s!r}")
        elif kind == "small":
            if num is None and not (val == 10 and prev in (None, "zero", "big")):
                raise ValueError(f"unit without number in {s!r}")
            section += (num if num is not None else 1) * val
            num, last_unit, seen_value = None, val, True
        else:
            part = section + (num or 0)
            if part == 0:
                raise ValueError(f"multiplier without number in {s!r}")
            if val == _BIG["亿"]:
                total, section = (total + part) * val, Decimal(0)
            else:
                section = part * val
            num, last_unit = None, val
        prev = kind
    if not seen_value:
        raise ValueError(f"not a number: {s!r}")
    return total + section + (num or 0)
