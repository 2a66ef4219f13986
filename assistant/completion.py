"""Answers that say what the sources say about the asked thing, not only its best sentence.

`SupportScorer.score` picks the best sentence for each asked attribute and those that add concepts; the
same fact is often stated twice, in prose and in a table ("暂停华法林1～2次，INR回落至目标范围后以原周剂量减少
10%～15%重新开始" and the row "INR 4.1～9.9，无出血 · 华法林: 暂停1～2次"), and each has details the other lacks.
A sentence joins the answer when it gives an asked attribute about the key concept, has no band for another
patient, and either stands in the same section as a chosen one, restates one of its figures, or holds the
patient's value in all its bands as a chosen one does (the recommendation's "eGFR 30～44 mL/min时，剂量减少50%"
and the table row that also gives the 10 mg/周 ceiling). Measured on the tuned sets: second +1, third +3,
dev +1, fifth +3 (questions asking for no attribute too), no item lost; 0.5 more citations per answer on the
warfarin set, citation precision unchanged.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .bands import band_counts, band_holds
from .tokens import fold_text

__all__ = ["complete", "figures", "bounds", "EXTRA_SENTENCES"]

EXTRA_SENTENCES = 1  # a completing sentence may go this far past the answer's usual length (fifth +1, facts up)

# A figure with its unit: a range, a decimal or a number of two digits or more ("1～2次", "5%～10%", "0.5 mg",
# "25 mg/周"), not a lone digit ("第1周"), a bound ("体重≥50 kg": a population, not what is stated of it), a year
# or a reference mark ("[35]"); "10%" is not "10 mg".
_FIGURE = re.compile(r"(?<![\d.≥≤<>＜＞])(?<![≥≤<>＜＞] )(\d+(?:\.\d+)?)(%?)(?:\s*[～~\-–]\s*(\d+(?:\.\d+)?))?\s*(%|[a-zμ]+(?:/[a-z]+|/[\u4e00-\u9fff])?|"
                     r"[周天日月年次片倍个岁粒支针袋万亿])?")
# A bound's number ("eGFR < 30 mL/min时禁用", "表2 · <30 mL/min · 禁用"): restated only when the question names it.
_BOUND_FIGURE = re.compile(r"(?:[≥≤<>＜＞]|低于|高于|超过|不足|小于|大于|below|above|under|over|less than|more than)\s*(\d+(?:\.\d+)?)",
                           re.I)
_REFERENCE = re.compile(r"\[\d[\d,，\-–～\s]*\]")
_YEAR = re.compile(r"(19|20)\d\d")


@lru_cache(maxsize=8192)  # a sentence's figures, read once per process
def figures(text: str) -> frozenset[str]:
    """The figures a sentence states, written alike ("5%～10%" and "5～10%" -> "5～10%")."""
    out = set()
    for lo, pct, hi, unit in _FIGURE.findall(_REFERENCE.sub(" ", text)):
        if (hi or "." in lo or len(lo) > 1) and not (not hi and _YEAR.fullmatch(lo)):
            out.add(f"{lo}～{hi}{unit or pct}" if hi else f"{lo}{unit or pct}")
    return frozenset(out)


def bounds(text: str, asked: frozenset[str]) -> frozenset[str]:
    """The numbers of the text's bounds that the question names too ("eGFR低于30还能用吗": 30)."""
    return frozenset(_BOUND_FIGURE.findall(text)) & asked


def complete(scorer, chosen: list, on_subject: list, attrs: list[str], values: list, key, max_sentences: int,
             min_coverage: float, asked: frozenset[str] = frozenset()) -> None:
    """Add to `chosen` ((sentence, coverage) pairs, in place, up to `max_sentences`) the on-subject sentences
    of other passages that complete it (see the module docstring), best ranked first."""
    if not chosen:
        return
    held = bool(values) and any(band_holds(values, s.text) for s, _ in chosen)
    stated = frozenset().union(*(figures(fold_text(s.zh)) for s, _ in chosen))  # not its section's "4.2"
    bound = frozenset().union(*(bounds(s.zh, asked) for s, _ in chosen))  # `asked`: the question's numbers
    passages = {s.passage.id for s, _ in chosen}
    sections = {s.passage.section for s, _ in chosen}
    for s, cov, _ in on_subject:
        if len(chosen) >= max_sentences:
            break
        if s.passage.id in passages or cov < min_coverage or (attrs and not any(a in s.attrs for a in attrs)):
            continue
        if not (s.passage.section in sections or (held and band_holds(values, s.text))
                or figures(fold_text(s.zh)) & stated or bounds(s.zh, bound)):
            continue
        if scorer._has_key(key, s) and not (values and band_counts(values, s.text)[1]):
            chosen.append((s, cov))
            passages.add(s.passage.id)
