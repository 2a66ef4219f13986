"""Learn bilingual terms and abbreviations from the way guidelines introduce them.

A guideline names a term once with its English and abbreviation in brackets, "甲氨蝶呤
（methotrexate，MTX）", and uses the short forms afterwards. Reading those pairs lets retrieval
expand a query for "MTX" to 甲氨蝶呤 without a hand-made glossary entry for every new document.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

_BRACKET = re.compile(r"[（(]([^（()）\n]{1,160})[）)]")
# A table's note or an abbreviation list defines its short forms: "注：MTX为甲氨蝶呤；eGFR为估算肾小球滤过率",
# "5-HT：5-羟色胺；NE：去甲肾上腺素". One such clause, on its own, is a DEFINITION (no answer to a question).
_NOTE_LINE = re.compile(r"^\s*(?:注|缩略语|缩写|英文缩写|abbreviations?)\s*[:：]", re.I | re.M)
DEFINITION = re.compile(r"^\s*(?:(?:注|缩略语|缩写|英文缩写)\s*[:：]\s*)?(?P<abbr>[A-Za-z0-9][A-Za-z0-9\-]{0,11})\s*(?:为|：|:|=|即)\s*"
                        r"(?P<zh>[\u4e00-\u9fff\d][^，,。；;：:\n]{0,20})\s*[；;。]?\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PART_SPLIT = re.compile(r"\s*[，,;；]\s*")
_ABBR = re.compile(r"[A-Za-z][A-Za-z0-9\-]{0,11}")
_ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9\-' ]*")
_QUOTES = {'"': '"', "”": "“", "’": "‘", "」": "「", "』": "『"}
# Words that end a term when read backwards from the bracket: verbs, prepositions, conjunctions,
# particles ("推荐使用甲氨蝶呤" -> 甲氨蝶呤).
_STOP = set("""
的 了 着 和 与 及 或 并 等 即 如 是 为 在 于 以 将 把 被 由 经 其 该 此 这 那 对 从 向 中 上 下 后 前 时 可 应 需 能 均 也 都 还
使用 推荐 采用 建议 接受 给予 应用 选择 首选 联合 加用 换用 停用 服用 口服 补充 监测 检测 考虑 进行 开展 发表 发布
组织 制定 制订 显示 提示 表明 认为 称为 简称 作为 成为 属于 导致 引起 出现 发生 伴有 合并 存在 具有 包括 包含 参考
对于 关于 根据 通过 以及 或者 并且 其中 可以 应当 需要 能够 尤其 特别 例如 比如 常规 同时 此外 以下 如下 主要 一种 一项
评估 计算 检查 复查 测定 减少 增加 降低 升高 抑制 促进 阻断 激活 诱导 影响 至 超过 达到 低于 高于 大多数 多数 少数 多种 各种
某些 一些 选用 改用 可选 用 给 予 使 年 月 日 岁 周 天 次 例 名 个 项 种 倍 治疗 旨在 回顾 研究
""".split())
# jieba parts of speech that never belong to a term: pronouns, conjunctions, prepositions, adverbs,
# particles, numerals, measure words, interjections
_STOP_POS = {"r", "c", "p", "d", "u", "y", "e", "o", "m", "q", "uj", "ul", "ud", "uz", "ug", "uv"}
_CONJUNCTIONS = {"与", "和", "及"}  # inside organisation names: 美国疼痛与神经科学学会
_ORGANISATION = ("学会", "协会", "联盟", "委员会", "组织", "协作组", "工作组")
_FUNCTION_WORDS = {"of", "and", "the", "for", "in", "with", "to", "on", "a", "an", "by"}
# Descriptors of a patient group or a dose, not part of the term unless the English says so:
# "中重度活动性类风湿关节炎（rheumatoid arthritis）" is about 类风湿关节炎.
_DESCRIPTORS = {
    "中重度": "moderate", "轻中度": "mild", "轻度": "mild", "中度": "moderate", "重度": "severe",
    "活动性": "active", "活动期": "active", "早期": "early", "晚期": "advanced", "难治性": "refractory",
    "新发": "new", "初治": "naive", "成人": "adult", "老年": "elder", "儿童": "child", "高剂量": "high",
    "低剂量": "low", "大剂量": "high", "小剂量": "low", "所有": "all", "部分": "partial", "患者": "patient",
}
_MAX_TERM = 14
# Words that would end a term but are part of it when the English says so: a negation ("不完全交叉耐受
# (incomplete cross-tolerance)": without 不 the term would mean its opposite), "再摄取 (reuptake)", "三环类 (tricyclic)".
_KEPT_WHEN = {"不": r"\b(in|un|non|im|ir|dis)", "非": r"\bnon", "未": r"\b(un|naive|non)", "无": r"\b(non|a)",
              "再": r"\bre", "三环": r"\btri", "三环类": r"\btri", "四环类": r"\btetra", "双": r"\b(bi|di|dual)"}


@dataclass(frozen=True)
class LearntTerm:
    zh: str
    en: str = ""  # lower case
    abbr: str = ""


@lru_cache(maxsize=1)
def _tokenizer():
    """A private jieba tokenizer: the glossary's user dictionary must not change what we learn."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg.POSTokenizer(jieba.Tokenizer())


def _is_abbr(part: str) -> bool:
    """MTX, eGFR, DMARDs, PP1M, CKD-EPI, IL-6: two capitals, few digits, no spaces."""
    return (bool(_ABBR.fullmatch(part)) and sum(c.isupper() for c in part) >= 2
            and sum(c.isdigit() for c in part) <= 3)


def _is_english(part: str) -> bool:
    """Words, at least one of four letters, no units ("mL/min"), doses or grades ("n=120", "1A")."""
    return bool(_ENGLISH.fullmatch(part)) and bool(re.search(r"[a-z]{4}", part)) \
        and not re.search(r"\b\d+(\.\d+)?\s*(mg|g|ml|mL|kg|μg|IU|U)\b", part)


def parse_bracket(inner: str) -> tuple[str, str] | None:
    """(english, abbreviation) of a bracket that glosses a term, None for any other bracket
    (citations, doses, evidence grades, Chinese asides)."""
    if _CJK.search(inner):
        return None
    english, abbr = [], ""
    for part in _PART_SPLIT.split(inner.strip()):
        if _is_abbr(part) and not abbr:
            abbr = part
        elif _is_english(part):
            english.append(part.strip())
        else:
            return None
    en = ", ".join(english).lower()
    return (en, abbr) if en or abbr else None


def _quoted(before: str) -> str:
    """'"锚定药物"（anchor drug）': the term is the quoted phrase."""
    opening = _QUOTES[before[-1]]
    start = before.rfind(opening, 0, len(before) - 1)
    inner = before[start + 1:-1] if start >= 0 else ""
    return inner if inner and _CJK.search(inner) and len(inner) <= _MAX_TERM and not re.search(r"[，。；、\s]", inner) else ""


def term_before(text: str, pos: int, en: str = "") -> str:
    """The Chinese noun phrase that ends at `pos`: the shortest run of jieba words back to a
    stop word, a descriptor the English does not mention, a digit, Latin letters or punctuation."""
    before = text[max(0, pos - 40):pos]
    if before and before[-1] in _QUOTES:
        return _quoted(before)
    clause = re.split(r"[^\u4e00-\u9fff]", before)[-1]
    words = [(w.word, w.flag) for w in _tokenizer().cut(clause)]
    glued = len(before) > len(clause) and before[-len(clause) - 1].isascii() and before[-len(clause) - 1].isalnum()
    picked: list[str] = []
    for word, pos in reversed(words):
        cue = _DESCRIPTORS.get(word)
        # the head noun always counts; before it, a stop word ends the term
        stop = picked and (word in _STOP or pos in _STOP_POS or (cue is not None and cue not in en))
        if stop and word in _KEPT_WHEN and re.search(_KEPT_WHEN[word], en):
            stop = False
        if stop and not (word in _CONJUNCTIONS and "".join(picked).endswith(_ORGANISATION)):
            break
        picked.insert(0, word)
        if len("".join(picked)) >= _MAX_TERM:
            break
    if glued and len(picked) == len(words):
        return ""  # "MTX相关淋巴增殖性疾病", "肝纤维化4因子指数": the term starts in Latin or digits
    term = "".join(picked).lstrip("的和与及或在对为是将把被个项次例名种")
    return term if len(term) >= 2 else ""


def learn_terms(text: str) -> list[LearntTerm]:
    """Bilingual pairs and abbreviations introduced in brackets, in order of first mention; a
    later mention fills in what an earlier one left out ("甲氨蝶呤（MTX）" then "（methotrexate，MTX）")."""
    found: list[LearntTerm] = []
    for m in _BRACKET.finditer(text):
        parsed = parse_bracket(m.group(1))
        if not parsed:
            continue
        en, abbr = parsed
        zh = term_before(text, m.start(), en)
        content_words = [w for w in re.split(r"[\s,\-]+", en) if w and w not in _FUNCTION_WORDS]
        if not zh or len(zh) < len(content_words):
            continue  # "评价（grading of recommendations assessment, ...）": we cut the term short
        for i, t in enumerate(found):
            if _same(t, LearntTerm(zh, en, abbr)):
                shorter = t.zh if len(t.zh) <= len(zh) else zh
                found[i] = LearntTerm(shorter, t.en or en, t.abbr or abbr)
                break
        else:
            found.append(LearntTerm(zh, en, abbr))
    for t in _note_terms(text):  # after the brackets: a note defines what the text already introduced, mostly
        if not any(f.abbr == t.abbr or f.zh == t.zh for f in found):
            found.append(t)
    return found


def _note_terms(text: str) -> list[LearntTerm]:
    """Abbreviations a note line defines, clause by clause ("注：INR为国际标准化比值；DOACs为直接口服抗凝药")."""
    out = []
    for line in text.splitlines():
        if not _NOTE_LINE.match(line):
            continue
        for clause in re.split(r"[；;]", line):
            m = DEFINITION.match(clause)
            if m and _is_abbr_like(m.group("abbr")) and _CJK.search(m.group("zh")) and len(m.group("zh")) <= _MAX_TERM:
                out.append(LearntTerm(m.group("zh").strip(), "", m.group("abbr")))
    return out


def _is_abbr_like(part: str) -> bool:
    """An abbreviation, also one that starts with a digit (5-HT, 4F-PCC)."""
    return _is_abbr(part) or (part[:1].isdigit() and _is_abbr(part.lstrip("0123456789-")))


def _same(a: LearntTerm, b: LearntTerm) -> bool:
    """One term mentioned twice: same Chinese and nothing contradicts, or the same abbreviation
    with one Chinese ending the other ("而间充质干细胞（MSCs）" after "间充质干细胞（MSCs）")."""
    agree = a.en in ("", b.en) or b.en in ("", a.en)
    if a.zh == b.zh:
        return agree and (a.abbr in ("", b.abbr) or b.abbr in ("", a.abbr))
    return agree and bool(a.abbr) and a.abbr == b.abbr and (a.zh.endswith(b.zh) or b.zh.endswith(a.zh))
