"""Homophone typos of Chinese terms: a question types 华发林 or 华法令 for the guideline's 华法林, 凝血酶元
for 凝血酶原 (a pinyin input method picks the wrong character of the same sound). The English side has
its spelling correction (`lexicon.spell_en`); this is the Chinese one.

A sound key is the toneless pinyin (pypinyin) with the distinctions many speakers merge folded
(-ng/-n, zh/z, ch/c, sh/s). Only words of three or more characters are matched: two-character
homophones are common words of their own (实验/试验).
"""
from __future__ import annotations

__all__ = ["sound", "sound_index", "correct", "FILE", "MIN_CHARS"]

FILE = "homophones.json"
MIN_CHARS = 3
_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"))


def sound(word: str) -> str:
    """"华法令" -> "hua fa lin": toneless pinyin, merged initials and finals."""
    from pypinyin import lazy_pinyin

    out = []
    for syllable in lazy_pinyin(word):
        for a, b in _FOLDS:
            if syllable.startswith(a):
                syllable = b + syllable[len(a):]
        out.append(syllable[:-1] if syllable.endswith("ng") else syllable)
    return " ".join(out)


def sound_index(words: dict[str, int]) -> dict[str, str]:
    """Sound key -> the corpus word (of MIN_CHARS or more Chinese characters) used most with that sound."""
    best: dict[str, tuple[int, str]] = {}
    for w, n in words.items():
        if len(w) >= MIN_CHARS and all("\u4e00" <= ch <= "\u9fff" for ch in w):
            k = sound(w)
            if k not in best or n > best[k][0]:
                best[k] = (n, w)
    return {k: w for k, (_, w) in best.items()}


def correct(question: str, word: str, index: dict[str, str]) -> str:
    """The corpus word the question meant where it has `word` (or `word` with the character after or
    before it: jieba cuts 华发林 into 华发 / 林); "" when no span sounds like one."""
    if not index:
        return ""
    at = question.find(word)
    if at < 0:
        return ""
    spans = [question[at:at + len(word) + k] for k in (0, 1, 2)] + [question[max(0, at - 1):at + len(word)]]
    for span in dict.fromkeys(s for s in spans if len(s) >= MIN_CHARS):
        if all("\u4e00" <= ch <= "\u9fff" for ch in span) and (hit := index.get(sound(span))) and hit != span:
            return hit
    return ""
