"""Round trips: whatever we format (or cn2an writes) must parse back exactly."""

from __future__ import annotations

from decimal import Decimal

import cn2an
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant._numerals import parse_zh
from assistant.quantities import format_en, format_zh, parse_number, parse_quantities

FAST = settings(max_examples=150, deadline=None)

counts = st.integers(min_value=1, max_value=10**12).map(Decimal)
# decimals with <= 2 places times 万 or 亿: 0.01万 .. 9999.99亿
scaled = st.builds(lambda k, size: Decimal(k) / 100 * size,
                   st.integers(min_value=1, max_value=999_999),
                   st.sampled_from([Decimal(10**4), Decimal(10**8)]))
amounts = counts | scaled
mantissas = st.integers(min_value=1, max_value=999).map(lambda k: Decimal(k) / 100)
superscript = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


@FAST
@given(amounts)
def test_format_zh_round_trip(value: Decimal) -> None:
    assert parse_number(format_zh(value)) == value


@FAST
@given(amounts)
def test_format_en_round_trip(value: Decimal) -> None:
    assert parse_number(format_en(value)) == value


@FAST
@given(counts)
def test_thousands_separators_round_trip(value: Decimal) -> None:
    assert parse_number(f"{int(value):,}") == value
    assert parse_number(str(value)) == value


@FAST
@given(st.integers(min_value=1, max_value=999_999), st.sampled_from(["万", " 万", "亿", " 亿"]))
def test_digits_with_chinese_multiplier(k: int, unit: str) -> None:
    mant = Decimal(k) / 100
    size = 10**4 if "万" in unit else 10**8
    assert parse_number(f"{_plain(mant)}{unit}") == mant * size


@FAST
@given(mantissas, st.integers(min_value=0, max_value=12), st.sampled_from(["×", "x", "*", " × "]))
def test_scientific_round_trip(mant: Decimal, exp: int, times: str) -> None:
    want = mant * Decimal(10) ** exp
    assert parse_number(f"{_plain(mant)}{times}10^{exp}") == want
    assert parse_number(f"{_plain(mant)}×10{str(exp).translate(superscript)}") == want
    assert parse_number(f"{_plain(mant)}e{exp}") == want


@FAST
@given(st.integers(min_value=1, max_value=10**12))
def test_cn2an_chinese_integers_parse_back(n: int) -> None:
    text = cn2an.an2cn(n)
    assert parse_number(text) == n
    assert parse_zh(text) == n


@FAST
@given(amounts)
def test_amount_in_sentence_keeps_unit_and_span(value: Decimal) -> None:
    text = f"剂量为{format_zh(value)}个细胞,随访 6 个月"
    first, second = parse_quantities(text)
    assert (first.low, first.high, first.unit) == (value, value, "count")
    assert text[first.start:first.end] == first.text
    assert (second.low, second.unit) == (Decimal(6), "month")


@FAST
@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=1, max_value=9_999),
       st.sampled_from(["-", "~", "至", " - ", "－", "～"]))
def test_chinese_range_shares_multiplier(a: int, b: int, dash: str) -> None:
    lo, hi = sorted((a, b))
    if lo == hi:
        hi += 1
    (q,) = parse_quantities(f"血小板数 {lo}{dash}{hi}亿")
    assert (q.low, q.high, q.unit) == (Decimal(lo) * 10**8, Decimal(hi) * 10**8, None)


@FAST
@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=1, max_value=9_999),
       st.sampled_from(["million", "billion"]))
def test_english_range_shares_multiplier(a: int, b: int, word: str) -> None:
    lo, hi = sorted((a, b))
    if lo == hi:
        hi += 1
    size = 10**6 if word == "million" else 10**9
    (q,) = parse_quantities(f"a dose of {lo} to {hi} {word} cells")
    assert (q.low, q.high, q.unit) == (Decimal(lo) * size, Decimal(hi) * size, "count")


@FAST
@given(st.integers(min_value=1, max_value=5_000).map(lambda k: Decimal(k) / 100))
def test_glucose_round_trip_is_exact(mmol: Decimal) -> None:
    (q,) = parse_quantities(f"血糖 < {_plain(mmol)} mmol/L")
    mg = q.in_unit("mg/dL")
    assert mg.low == mmol * 18 and mg.unit == "mg/dL" and mg.comparator == "<"
    assert mg.in_unit("mmol/L").low == mmol
    (back,) = parse_quantities(f"glucose {_plain(mg.low)} mg/dL")
    assert back.in_unit("mmol/L").low == mmol


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.,-~至万亿十百千零一二两三五点 %年个月周x×^e¹⁰⁸<≥约以上mLol/$元to",
               max_size=30))
def test_never_raises_and_spans_hold(text: str) -> None:
    for q in parse_quantities(text):
        assert text[q.start:q.end] == q.text
        assert q.low <= q.high
