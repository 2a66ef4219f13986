"""Tokens for BM25 and for term overlap: jieba words for Chinese, lower-cased words for English."""
from __future__ import annotations

import re
import unicodedata

import jieba

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*|[\u3400-\u9fff]+")
CJK = re.compile(r"[\u3400-\u9fff]")  # a text with one of these has Chinese in it
# Function words that carry no retrieval signal in either language.
STOP = frozenset(
    """的 了 和 与 及 或 在 是 为 对 有 可 将 其 中 等 以 于 并 而 也 被 需 能 吗 呢 么 什么 哪些 怎么 如何 多少 是否
    这 那 该 此 一 个 吧 啊 呀 我 你 他 她 它 们 要 会 还 就 都 又 之 所 从 到 把 让 给 用 多 少 后 前 时
    a an the of to in on for and or is are was were be been do does did what which who how when why
    with by at as it its this that these those can could should would will i you my your me there than
    about from into after before any much many
    需要 应该 哪个 多久 多长 可以 能否 是否 吗 请问 告诉 一下 有没有 怎样 为什么 哪 几 啥 咋 打 做
    must should long typical typically usually often does did tell please know need""".split()
)


def fold_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def stem(word: str) -> str:
    """Crude English suffix stripping, applied alike to questions and passages (stopped -> stop)."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
                word = word[:-1]
            break
    return word


def inflection_bases(word: str) -> list[str]:
    """The words an English inflection may come from, likeliest first: dosed -> dose, stopped -> stop,
    dosing -> dose, studies -> study (`stem` leaves short words alone, and stems them all one way)."""
    w, out = word.lower(), []
    if w.endswith("ied") or w.endswith("ies"):
        out.append(w[:-3] + "y")
    if w.endswith("ed"):
        out += [w[:-1], w[:-2]] + ([w[:-3]] if len(w) > 4 and w[-3] == w[-4] else [])
    if w.endswith("ing"):
        out += [w[:-3], w[:-3] + "e"] + ([w[:-4]] if len(w) > 5 and w[-4] == w[-5] else [])
    if w.endswith("ly"):
        out.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss"):
        out.append(w[:-1])
    return [b for b in out if len(b) >= 3]


def tokenize(text: str, search_mode: bool = True) -> list[str]:
    """jieba tokens and stemmed English words, minus stop words.

    Search mode also yields the parts of long words (间充质干细胞 -> 干细胞), which is what an
    index wants; precise mode keeps a question's words whole, which is what counting concepts wants.
    """
    out: list[str] = []
    cut = jieba.cut_for_search if search_mode else jieba.cut
    for m in _WORD.finditer(fold_text(text)):
        w = m.group()
        if w.isascii():
            if w not in STOP:
                out.append(stem(w))
        else:
            out.extend(t for t in cut(w) if t.strip() and t not in STOP)
    return out


def known_word(word: str) -> bool:
    """In jieba's dictionary; a Chinese token that is not was made by its HMM from characters it did not know."""
    return word in jieba.dt.FREQ


def corpus_part(word: str, vocab) -> str:
    """The longest corpus word inside a Chinese word the corpus lacks: jieba glues a word it does not know
    to its neighbour ("吃华法林", "时华法林"), and the corpus knows the drug; "" when none is."""
    for size in range(len(word) - 1, 1, -1):
        for i in range(len(word) - size + 1):
            if word[i:i + size] in vocab:
                return word[i:i + size]
    return ""


def stand_ins(question: str, word: str, vocab, sounds: dict[str, str]) -> list[str]:
    """Corpus words a Chinese question word the corpus lacks stands for, best first: the corpus word inside a
    jieba join (吃华法林 -> 华法林), then the term it sounds like (华发林 -> 华法林, `homophones`). One policy
    for retrieval (`Assistant._search`) and answerability (`SupportScorer.concepts`)."""
    from .homophones import correct

    if word.isascii() or word in vocab:
        return []
    out = [part] if not known_word(word) and (part := corpus_part(word, vocab)) else []
    if (heard := correct(question, word, sounds)) and heard not in out:
        out.append(heard)
    return out


def content_terms(text: str, search_mode: bool = True) -> set[str]:
    """Distinct informative tokens (single CJK characters dropped: too ambiguous alone)."""
    return {t for t in tokenize(text, search_mode) if len(t) > 1 or t.isdigit()}
