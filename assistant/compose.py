"""Stage 6: an extractive answer with inline [n] citations, or a refusal with "see also".

Every sentence of an answer is a source sentence (or its aligned translation), so every number it
states is in the passage its [n] points to. The only other lines are templates that carry a source
quote: a premise correction ("the source says 1-2 周, not 4 周") and the guard's verdicts. No LLM.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .model import Citation, Passage, ScoredPassage, Sentence, SourceMeta, Support
from .provenance import display_title
from .quantities import Quantity, format_en, format_zh, parse_quantities
from .attributes import ENUMERATION, LIST_HEADER, LIST_QUESTION
from .bands import asked_values, band_counts, band_fit, band_holds
from .support import SupportScorer
from .tokens import CJK

__all__ = ["compose", "refusal", "make_citation", "premise_line", "REFUSAL", "SEE_ALSO", "TRANSLATION_NOTE",
           "NO_TRANSLATION_NOTE", "ENGLISH_SOURCE_NOTE", "PREMISE_LEAD", "is_list_question", "gloss_line", "GLOSS_LEAD"]

REFUSAL = {
    "zh": "这些指南资料没有涉及这个问题{missing}。为安全起见，这里不给出来源之外的数字或建议；请咨询医生。",
    "en": "The guideline sources here do not cover this question{missing}. To stay safe, no figures or "
          "advice beyond the sources are given; please ask a clinician.",
}
SEE_ALSO = {"zh": "另见（最接近的段落，并未回答该问题）：", "en": "See also (nearest passages; they do not answer the question):"}
TRANSLATION_NOTE = "(English translation of the Chinese guideline text; the Chinese original is authoritative.)"
NO_TRANSLATION_NOTE = ("(No English translation of this guideline is available: the cited sentences are quoted in "
                       "the original Chinese; numbers can be checked against them.)")
ENGLISH_SOURCE_NOTE = "（该指南只有英文原文：引用的句子按原文照录，其中的数字可直接核对。）"
GLOSS_LEAD = "Terms in the cited Chinese (dictionary glosses, not a translation):"
GLOSS_MAX_TERMS = 30
PREMISE_LEAD = {"zh": "来源写的是", "en": "The source says"}
_CONTINUES = re.compile(r"[；;：:]\s*$")  # the enumeration goes on after this sentence
_CLAUSE_GOES_ON = re.compile(r"[；;]\s*$")  # the statement goes on after this clause
LIST_MAX_SENTENCES = 8  # a list question keeps its list whole, up to this many sentences
_ITEM = re.compile(r"\s*([①-⑳⑴-⒇]|[（(]\d+[）)]|\d+[.、．]|[a-z][.)]\s)")  # an enumerated item
CLAUSE_CHAIN = 2  # clauses after a sentence that ends in "；" that belong to the same statement


def is_list_question(question: str) -> bool:
    return bool(LIST_QUESTION.search(question))


def make_citation(n: int, passage: Passage, span: tuple[int, int], meta: SourceMeta, text: str,
                  quote_en: str = "") -> Citation:
    return Citation(n=n, chunk_id=passage.id, doc_id=passage.doc_id, source_title=display_title(meta),
                    original_file=meta.original_file, section=list(passage.section),
                    quote=text[span[0]:span[1]], start=span[0], end=span[1], quote_en=quote_en,
                    added_by=meta.added_by)


def _other_band(t: Sentence, values) -> bool:
    """A clause for another patient: its band does not hold the value the question states (INR 5.2 and
    "INR 2.0～3.9时，25 IU/kg")."""
    return bool(values) and band_fit(values, t.text) < 0


def _for_the_asked_patient(picked: list[Sentence], values) -> list[Sentence]:
    """When a sentence's bands all hold the value asked, one that also has another band of it goes: a table
    cell listing every band ("INR 2.0～3.9时25 IU/kg，INR 4.0～6.0时35 IU/kg，…") answers other patients too."""
    if values and any(band_holds(values, s.text) for s in picked):
        return [s for s in picked if not band_counts(values, s.text)[1]]
    return picked


def _with_list_items(chosen: list[Sentence], scorer: SupportScorer, limit: int, values=()) -> list[Sentence]:
    """A list header ("其致病机制包括：", "禁忌证包括：① 妊娠；") brings the items that follow it in its
    passage: sentences are cut at "；", so an enumeration runs on until a sentence ends with "。"."""
    out: list[Sentence] = []
    for s in chosen:
        if s not in out:
            out.append(s)
        if not (LIST_HEADER.search(s.zh) or ENUMERATION.search(s.zh)):
            continue
        for t in scorer.following(s, _CONTINUES):
            if len(out) >= limit:
                break
            if t not in out and not _other_band(t, values):
                out.append(t)
    return out[:max(limit, 1)]


def _opening_clause(s: Sentence, scorer: SupportScorer) -> Sentence | None:
    """The clause a statement began with when `s` is its second half ("答：可短期使用对乙酰氨基酚…；
    应避免使用布洛芬…。"): the one before it in the passage ending in "；", neither an enumerated item."""
    prev = scorer.previous(s)
    if prev is None or not _CLAUSE_GOES_ON.search(prev.zh) or LIST_HEADER.search(prev.zh):
        return None
    before = scorer.previous(prev)
    if _ITEM.match(s.zh) or _ITEM.match(prev.zh) or (before is not None and _CLAUSE_GOES_ON.search(before.zh)):
        return None  # a run of "；" clauses is an enumeration, not one statement
    return prev


def _with_clause_chain(chosen: list[Sentence], scorer: SupportScorer, limit: int, values=()
                       ) -> tuple[list[Sentence], dict[Sentence, Sentence]]:
    """A statement cut at "；" goes on in the next sentence ("…降低免疫应答；接种前后暂停MTX 2周。"):
    up to `CLAUSE_CHAIN` following clauses join it, and the clause it began with (`_opening_clause`; returned
    too, each with the sentence it opens)."""
    out: list[Sentence] = []
    openings: dict[Sentence, Sentence] = {}
    for s in chosen:
        opening = _opening_clause(s, scorer)
        if opening is not None and opening not in out and opening not in chosen and not _other_band(opening, values):
            out.append(opening)
            openings[opening] = s
        if s not in out:
            out.append(s)
        added = 0
        for t in scorer.following(s, _CLAUSE_GOES_ON):
            if added >= CLAUSE_CHAIN or len(out) >= limit:
                break
            if t not in out and not _other_band(t, values):
                out.append(t)
                added += 1
    return out, openings


def compose(question: str, lang: str, support: Support, scorer: SupportScorer, sources: dict[str, SourceMeta],
            texts: dict[str, str], max_sentences: int = 3, correct_premise: bool = True) -> tuple[str, list[Citation]]:
    """The chosen sentences in the source's own order, each with the [n] of its passage; a figure the
    question asserts is corrected unless the guard already judged it (`correct_premise=False`)."""
    if not support.chosen:
        return "", []
    limit = LIST_MAX_SENTENCES if is_list_question(question) else max_sentences
    picked, values = [s for s, _ in support.chosen], asked_values(question)
    if is_list_question(question):
        picked = _with_list_items(picked, scorer, limit, values)
        picked = picked[:limit + CLAUSE_CHAIN]
    else:  # an opening clause comes on top: it never displaces a part of the answer
        chained, openings = _with_clause_chain(picked, scorer, limit + CLAUSE_CHAIN, values)
        body = [s for s in chained if s not in openings][:limit + CLAUSE_CHAIN]
        picked = body + [o for o, s in openings.items() if s in body]
    picked = sorted(picked, key=lambda s: s.order)  # reads like the guideline
    picked = _for_the_asked_patient(picked, values)
    for s in [s for s in picked if (s.passage.id, *s.span) in support.conflicts]:  # contradicts a rule
        picked.remove(s)
        if support.conflicts[(s.passage.id, *s.span)] not in support.withheld:
            support.withheld.append(support.conflicts[(s.passage.id, *s.span)])
    citations: list[Citation] = []
    lines: list[str] = []
    untranslated = in_english = False
    for s in picked:
        cit = make_citation(len(citations) + 1, s.passage, s.span, sources[s.passage.doc_id],
                            texts[s.passage.doc_id], s.en)
        citations.append(cit)
        shown = s.en if lang == "en" and s.en else cit.quote
        untranslated |= lang == "en" and not s.en and bool(CJK.search(cit.quote))
        in_english |= lang == "zh" and s.order in scorer.latin  # an English-language guideline's sentence
        lines.append(f"{shown} [{cit.n}]")
    premise = premise_line(question, lang, picked, citations) if correct_premise else ""
    text = "\n".join(([premise] if premise else []) + lines)
    if lang == "en" and untranslated:
        gloss = gloss_line([s for s in picked if not s.en], scorer.glosses)
        text += ("\n" + gloss if gloss else "") + "\n" + NO_TRANSLATION_NOTE
    elif lang == "en" and any(s.en for s in picked):
        text += "\n" + TRANSLATION_NOTE
    if in_english:
        text += "\n" + ENGLISH_SOURCE_NOTE
    return text, citations


def gloss_line(sentences: list[Sentence], glosses: dict[str, str]) -> str:
    """"Terms …: 双倍 twofold; double · 剂量 dosage": the words of untranslated sentences an English reader
    needs, in reading order, from the document's own English terms and CC-CEDICT (built at index time)."""
    import jieba

    seen: dict[str, str] = {}
    for s in sentences:
        for w in jieba.cut(s.zh):
            if w in glosses and w not in seen and len(seen) < GLOSS_MAX_TERMS:
                seen[w] = glosses[w]
    return f"{GLOSS_LEAD} " + " · ".join(f"{w} {g}" for w, g in seen.items()) if seen else ""


# ----------------------------------------------------------------------------- premise correction
_CHECK_FAMILIES = {"day", "week", "month", "hour", "percent", "count", "usd", "cny", None}


def _family(q: Quantity) -> tuple[str | None, Decimal, Decimal]:
    k = Decimal(7) if q.unit == "week" else Decimal(1)
    return ("day" if q.unit in ("day", "week") else q.unit), q.low * k, q.high * k


def _claimed(question: str) -> list[Quantity]:
    """Amounts the question asserts (4周, 2亿个): not ages or lab values, which are patient facts."""
    out = []
    for q in parse_quantities(question):
        big = bool(re.search(r"万|亿|million|billion|×\s*10", q.text))
        if q.unit in _CHECK_FAMILIES - {None} or (q.unit is None and big):
            out.append(q)
    return out


_ASSERTS = re.compile(r"对吧|对吗|是吧|是吗|是不是|没错吧|吧[?？]?$|指南说|听说|据说|我看到|我读到|不是说|"
                      r"right\?|correct\?|isn't it|is it true|true that|i heard|i read|the guideline says|"
                      r"doesn't it|don't they|\bso it'?s\b", re.I)


def premise_line(question: str, lang: str, picked: list[Sentence], citations: list[Citation]) -> str:
    """"来源写的是「1-2 周」，不是 4 周。[n]" when the question asserts a figure the source contradicts."""
    if not _ASSERTS.search(question.strip()):
        return ""
    for q in _claimed(question):
        fam, lo, hi = _family(q)
        for s, c in zip(picked, citations):
            text = s.en if lang == "en" and s.en else s.zh
            same = [x for x in parse_quantities(text) if _family(x)[0] == fam]
            if not same:
                continue
            src = max(same, key=lambda x: _context_overlap(question, text, x))  # the figure about what was asked
            if _agrees(src, lo, hi):
                return ""  # the question's figure is the source's
            asked = _fmt(q, lang)
            if lang == "zh":
                return f"{PREMISE_LEAD['zh']}「{src.text.strip()}」，不是 {asked}。[{c.n}]"
            return f"{PREMISE_LEAD['en']} {src.text.strip()}, not {asked}. [{c.n}]"
    return ""


def _agrees(src: Quantity, lo: Decimal, hi: Decimal) -> bool:
    """The asked figure lies in the source's range, or satisfies its bound (97% for "≥95%")."""
    _, s_lo, s_hi = _family(src)
    if src.comparator in (">=", ">"):
        return lo >= s_lo if src.comparator == ">=" else lo > s_lo
    if src.comparator in ("<=", "<"):
        return hi <= s_hi if src.comparator == "<=" else hi < s_hi
    return s_lo <= lo and hi <= s_hi


def _context_overlap(question: str, text: str, q: Quantity, window: int = 14) -> int:
    """How many of the question's words stand next to this amount ("限制负重 1-2 周" for 负重)."""
    near = text[max(0, q.start - window):q.end + 4].lower()
    words = set(re.findall(r"[a-z]{3,}", question.lower())) | {question[i:i + 2] for i in range(len(question) - 1)
                                                              if re.fullmatch(r"[\u4e00-\u9fff]{2}", question[i:i + 2])}
    return sum(1 for w in words if w in near)


def _fmt(q: Quantity, lang: str) -> str:
    if q.unit is None:
        f = format_zh if lang == "zh" else format_en
        return f(q.low) if not q.is_range else f"{f(q.low)}–{f(q.high)}"
    return q.text.strip()


# ----------------------------------------------------------------------------- refusal
def refusal(lang: str, missing: list[str], hits: list[ScoredPassage], sources: dict[str, SourceMeta],
            texts: dict[str, str], n: int = 3) -> tuple[str, list[Citation]]:
    miss = ""
    if missing:
        shown = "、".join(missing[:4]) if lang == "zh" else ", ".join(missing[:4])
        miss = f"（资料中未提及：{shown}）" if lang == "zh" else f" (not mentioned: {shown})"
    see_also = []
    for h in hits[:n]:
        p = h.passage
        span = p.sentences[0] if p.sentences else (p.start, p.end)
        en = p.sentences_en[0] if p.sentences_en else ""
        see_also.append(make_citation(len(see_also) + 1, p, span, sources[p.doc_id], texts[p.doc_id], en))
    return REFUSAL[lang].format(missing=miss), see_also
