"""Ordinary language vs domain concepts, for deciding what a question is *about*.

A word the corpus lacks only makes a question unanswerable when it names a concept (偏头痛,
temporomandibular), not when it is phrasing (不能, 以上, listed, roughly). General-language word
frequencies (`wordfreq`, whose Chinese tokeniser is jieba) tell the two apart; glossary terms are
always concepts. Thresholds are Zipf values (log10 of frequency per billion words).
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["HYPHEN_PREFIXES", "ORDINARY_ZIPF", "GENERIC", "WHO_ASKS", "PHRASING_EN", "PHRASING_ZIPF_EN", "KNOWN_ZIPF", "remember", "zipf", "is_ordinary", "is_phrasing",
           "is_noun", "is_pronoun", "absent_weight", "spell_en", "question_words", "SHORTHAND_EN"]

# Measured (stack notes + dev set): ordinary words score 4-6 (以后 5.46, 正常 5.14, contain 4.50,
# listed 4.69, over 6.08); domain terms below 3.5 (偏头痛 2.79, 间充质 2.04, temporomandibular 2.02).
# Chinese compounds from jieba land lower than English words of the same ordinariness.
ORDINARY_ZIPF = {"zh": 3.4, "en": 3.9}
_NOUN_TAGS = frozenset({"n", "nz", "nr", "ns", "nt", "nw", "vn", "eng"})
RARE_ZIPF = 3.2  # below this a Chinese non-noun is still likely a term (脱发 3.08), above it phrasing (太低 3.33)
# An everyday English noun no text has (pills, diameter, journal) is part of a concept the sources lack, or
# only how the question is put: it weighs this share of an unknown concept. Cross-validated with the refusal
# thresholds (benchmarks/calibrate_refusal.py --absent-common, dev + second pooled, 5 folds, session 7):
# balanced accuracy 0.895 at 0.2, 0.897 at 0.4, 0.907 at 0.6 -- so it stays.
ABSENT_COMMON_EN = 0.6
COMMON_EN_NOUN_ZIPF = 5.6  # above this an English word is too general to name a concept (over, side)
# Above this a Chinese word is phrasing whether or not the corpus has it (我们 6.5, 时间 5.9, 一次 5.5,
# 处理 5.4, 才能 5.4); population and domain words stay below (儿童 5.1, 检查 5.1, 感染 4.7).
PHRASING_ZIPF_ZH = 5.3
RARE_EN_ZIPF = 3.0  # an English word this rare (a drug, a named condition) that no text has is simply absent

# Who tells the story ("医生给我开了…", "我老公在吃…", "my husband is on…"): phrasing, present in the corpus
# or not. Children and the elderly are populations a guideline speaks about, so they are not here.
WHO_ASKS = frozenset("""医生 大夫 这位 我妈 我爸 大家 朋友 家人 老公 老婆 丈夫 妻子 爱人 妈妈 爸爸 父亲 母亲
    奶奶 爷爷 姥姥 外婆 亲戚 同事 老太太 老太 老头 老头儿 老爷子 大爷 大妈 阿姨 叔叔
    doctor husband wife partner mom mum dad mother father grandma grandpa friend family""".split())
# Nouns that say what kind of answer is wanted, not what the question is about.
GENERIC = WHO_ASKS | frozenset("""好处 作用 效果 疗效 区别 优点 缺点 风险 原因 禁用 适合 适用 推荐 建议 注意 注意事项 安全 有效
    情况 方面 问题 结果 证据 指南 资料 介绍 说明 意思 定义 患者 病人 治疗 疗法 方法 主要 哪些 什么样 东西 时候
    计划 方式 这批 准备 老人 一次 一般 大概 正常 合适 可以 能用 使用 人
    孩子 宝宝 儿子 女儿 男人 女人 男的 女的
    benefit effect effective work difference advantage risk reason recommend recommended advice safe
    suitable guideline evidence patient treatment therapy explain mean say thing people person
    son daughter""".split())
# Everyday English verbs, adjectives and prepositions that questions use and the corpus may lack.
PHRASING_EN = frozenset("""contain contains list give gives show shows mention mentions state states describe
    describes according regarding concerning roughly approximately exactly really actually also still just even
    ever yet else other another same different new old good bad big small high low long short main whole
    allowed okay ok fine sure true false right wrong kind sort type way part lot bit anything something
    everything nothing anyone someone there here why how what when where which whose whom worth
    get got make made take taken put keep let go going come seen see look fix help work cure treat shot shots jab
    ago since until minimum maximum least most best ok okay enough acceptable concern issue problem meet
    whats hows whos wheres dont doesnt cant wont isnt arent im ive youre pls plz thx
    within once has have had more less but if while during per each every then not also either neither
    now today tonight tomorrow yesterday currently recently soon later""".split())  # when it is asked, not about
# Chinese words that only say an upper limit is asked for (the "maximum" attribute carries them), not what it is of.
PHRASING_ZH = frozenset("最多 最多能 最大 最大能 最高 上限 封顶 至多".split())
# A hyphenated prefix is no concept of its own: "re-challenged" asks about challenging again ("re" is in no text).
HYPHEN_PREFIXES = frozenset({"re", "pre", "non", "co", "un", "sub", "semi", "multi", "self"})
# Clinicians' English shorthand, read as the words a guideline writes ("pt on HD", "LFTs", "abx").
SHORTHAND_EN = {
    "pt": "patient", "pts": "patients", "hx": "history", "dx": "diagnosis", "tx": "treatment", "rx": "prescription",
    "sx": "symptoms", "meds": "medications", "med": "medication", "abx": "antibiotics", "vs": "", "w/o": "without",
    "yo": "years", "yrs": "years", "wk": "week", "wks": "weeks", "hrs": "hours", "mo": "months", "approx": "",
    "lft": "liver function test", "lfts": "liver function tests", "bp": "blood pressure", "cv": "cardiovascular",
    "hd": "dialysis", "iv": "intravenous", "bid": "twice daily", "tid": "three times daily", "qd": "once daily",
    "prn": "as needed", "preg": "pregnancy", "bf": "breastfeeding",
}
# A verb that names the measure a patient's value is of ("weighing 62 kg": the weight, 体重 in a Chinese table).
MEASURE_VERBS_EN = {"weighing": "weight", "weighs": "weight", "weighed": "weight", "weigh": "weight"}
# An English word this common is how a question is put (has 6.4, more 6.4, after 6.1, much 6.0), never a
# concept: the English counterpart of PHRASING_ZIPF_ZH.
PHRASING_ZIPF_EN = 6.0


# The corpus's own words, looked up at index build (`remember`): most questions then never load wordfreq's
# lists (and its own jieba dictionary), about a second of every cold start. The same values, by construction.
KNOWN_ZIPF: dict[str, float] = {}


def remember(table: dict[str, float]) -> None:
    KNOWN_ZIPF.update(table)


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    """Zipf frequency in general Chinese or English (0 when unknown or wordfreq is missing)."""
    known = KNOWN_ZIPF.get(word)
    if known is not None:
        return known
    from wordfreq import zipf_frequency

    lang = "en" if word.isascii() else "zh"
    return float(zipf_frequency(word, lang))


def is_ordinary(word: str) -> bool:
    """Everyday language: says how something is asked, not what it is about."""
    if re.fullmatch(r"[\d.]+", word):
        return False
    lang = "en" if word.isascii() else "zh"
    return zipf(word) >= ORDINARY_ZIPF[lang]


def is_phrasing(word: str) -> bool:
    """How a question is put, never what it is about: weighs nothing, present in the corpus or not."""
    if word.lower() in WHO_ASKS or word in PHRASING_ZH:
        return True
    if word.isascii():
        return word.lower() in PHRASING_EN or (word.isalpha() and zipf(word) >= PHRASING_ZIPF_EN)
    return zipf(word) >= PHRASING_ZIPF_ZH


def absent_weight(word: str, in_jieba_dict: bool) -> float:
    """Share of the 'unknown concept' weight for a word the corpus lacks: 1 = a concept the sources
    do not cover (偏头痛, 儿童, temporomandibular), 0 = phrasing (太低, 人能, listed, roughly)."""
    if word in GENERIC or is_phrasing(word) or re.fullmatch(r"[\d.]+", word):
        return 0.0
    z = zipf(word)
    if not word.isascii():
        if in_jieba_dict and is_noun(word):
            return 1.0
        if in_jieba_dict and is_pronoun(word):
            return 0.0  # 啥时候, 为啥, 怎么样, 这种: how it is asked, never what about
        if not in_jieba_dict and (z >= ORDINARY_ZIPF["zh"] or (len(word) == 2 and any(map(is_phrasing, word)))):
            return 0.0  # a segmentation artefact of ordinary words ("的人能不能" -> 人能, "PRP针会不会肿" -> 针会)
        return 0.5 if z < RARE_ZIPF else 0.0
    if z < ORDINARY_ZIPF["en"]:
        return 1.0
    if word in PHRASING_EN or re.search(r"(ly|ed|ing)$", word) or z >= COMMON_EN_NOUN_ZIPF:
        return 0.0
    return ABSENT_COMMON_EN


@lru_cache(maxsize=1)
def _english_by_shape() -> dict[tuple[str, int], list[str]]:
    from wordfreq import top_n_list

    out: dict[tuple[str, int], list[str]] = {}
    for w in top_n_list("en", 40_000):
        if w.isalpha() and len(w) >= 4:
            out.setdefault((w[0], len(w)), []).append(w)
    return out


@lru_cache(maxsize=10_000)
def spell_en(word: str) -> str:
    """A likely intended English word for a misspelling (stoped -> stopped, responce -> response);
    the word itself when it is a known word or nothing is close."""
    import difflib

    if not word.isalpha() or len(word) < 5 or zipf(word) >= 2.5:
        return word
    shapes = _english_by_shape()
    pool = [w for n in (len(word) - 1, len(word), len(word) + 1) for w in shapes.get((word[0], n), [])]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.8)
    if not close:
        return word
    from .crosslingual import dictionary_words  # CC-CEDICT, read only when there is a correction to veto

    return word if word in dictionary_words() else close[0]  # rare but real: fasciitis is no misspelt "facilities"


def is_noun(word: str) -> bool:
    """jieba's part-of-speech tag says noun (Chinese); English words are judged by frequency alone."""
    if word.isascii():
        return True
    tags = _tags(word)
    return len(tags) == 1 and tags[0] in _NOUN_TAGS


def is_pronoun(word: str) -> bool:
    """jieba tags the Chinese word as one pronoun (r): 啥时候, 哪里, 为啥, 怎样, 自己, 其他."""
    return not word.isascii() and _tags(word) == ("r",)


@lru_cache(maxsize=50_000)
def _tags(word: str) -> tuple[str, ...]:
    import jieba.posseg as pseg  # loaded on first use: ~0.6 s, only for words the corpus lacks

    return tuple(f for _, f in pseg.lcut(word))


def question_words(question: str, vocab=()) -> list[str]:
    """The question's words as asked: jieba words for Chinese, lower-case words for English; a hyphenated
    word stays whole when the corpus has it so (child-pugh), else it is its parts (viable-cell)."""
    import jieba

    from .tokens import _WORD, STOP, fold_text, stem

    out = []
    for m in _WORD.finditer(fold_text(question)):
        w = m.group()
        if w.isascii():
            if "-" in w and stem(w) in vocab:
                out.append(w)
                continue
            parts = w.split("-")
            if len(parts) > 1:
                parts = [p for p in parts if p not in HYPHEN_PREFIXES]  # re-challenged -> challenged
            for part in parts:  # viable-cell -> viable, cell
                if part in SHORTHAND_EN:  # "pts" -> patients, "lfts" -> liver function tests, "vs" -> nothing
                    out.extend(SHORTHAND_EN[part].split())
                    continue
                part = spell_en(part)
                if part not in STOP and (len(part) > 1 or part.isdigit()):
                    out.append(part)
        else:
            out.extend(t for t in jieba.cut(w) if len(t) > 1 and t not in STOP)
    return out
