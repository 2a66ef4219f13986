"""Words of a guideline that jieba's dictionary lacks (华法林, 胺碘酮, 利伐沙班), found from the text itself.

jieba cuts a drug it does not know into characters, or glues it to a neighbour ("吃华法林", "时华法林"),
so a question about it matches nothing. A character n-gram is taken for a word when it is frequent,
cohesive (its parts seldom occur without each other), free at both ends (many different neighbours),
and jieba's dictionary alone would cut it into single characters. The build teaches jieba these words
before tokenising, and every load teaches them again, so questions and the index cut alike.
"""
from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict

__all__ = ["discover", "install", "FILE", "MIN_COUNT", "MAX_LEN", "MIN_COHESION", "MIN_FREEDOM"]

FILE = "words.json"
MIN_COUNT = 5  # occurrences in the corpus
MAX_LEN = 6  # characters
MIN_COHESION = 0.5  # count(word) / count of its rarer part, at its weakest split: 华法林 ~0.9, 的患者 ~0.2
MIN_FREEDOM = 3  # different characters (or line ends) seen before it, and after it
# A candidate starting or ending in a function character is a phrase around a word (用胺碘酮, 可考虑).
_FUNCTION = set("的了在是和与及或用吃时后可再应为以将对于等并且但而也都需要能会就按每其该此本如若则即")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_lock = threading.Lock()


def _ngrams(texts: list[str]) -> tuple[Counter, dict, dict]:
    counts: Counter = Counter()
    left: dict[str, set[str]] = defaultdict(set)
    right: dict[str, set[str]] = defaultdict(set)
    for text in texts:
        for run in _CJK_RUN.findall(text):
            for n in range(1, MAX_LEN + 1):
                for i in range(len(run) - n + 1):
                    g = run[i:i + n]
                    counts[g] += 1
                    if n >= 2:
                        left[g].add(run[i - 1] if i else "^")
                        right[g].add(run[i + n] if i + n < len(run) else "$")
    return counts, left, right


def discover(texts: list[str]) -> list[str]:
    """New words of `texts`, most frequent first; see the module docstring for the tests they pass."""
    import jieba

    counts, left, right = _ngrams(texts)
    found = []
    for g, c in counts.items():
        if (len(g) < 2 or c < MIN_COUNT or g in jieba.dt.FREQ or g[0] in _FUNCTION or g[-1] in _FUNCTION
                or len(left[g]) < MIN_FREEDOM or len(right[g]) < MIN_FREEDOM):
            continue
        if min(c / min(counts[g[:k]], counts[g[k:]]) for k in range(1, len(g))) < MIN_COHESION:
            continue
        if any(len(p) == 1 for p in jieba.lcut(g, HMM=False)):  # the dictionary alone would cut it apart
            found.append(g)
    # A part of a longer word that seldom occurs without it (沙班 inside 利伐沙班 still stands on its own),
    # and a found word with ordinary words around it (服用华法林, 转换为华法林), are not words of their own.
    kept = [g for g in found if not any(h != g and g in h and counts[h] >= 0.7 * counts[g] for h in found)
            and not any(v != g and v in g and _ordinary(g.replace(v, "", 1), jieba) for v in found)]
    # The tail of longer words (功能不全 of 肾功能不全 and 肝功能不全) is not taught: jieba would then cut 肝
    # off as a lone character, and a question about the liver would match the kidney's sentences.
    kept = [g for g in kept if not any(h != g and g in h for h in kept)]
    return sorted(kept, key=lambda g: (-counts[g], g))


def _ordinary(rest: str, jieba) -> bool:
    """The rest of a candidate around a found word is ordinary words and function characters."""
    return bool(rest) and all(len(p) > 1 or p in _FUNCTION for p in jieba.lcut(rest, HMM=False))


def install(words: list[str]) -> None:
    """Teach jieba the words, with just the frequency that keeps each whole (idempotent)."""
    import jieba

    with _lock:
        for w in words:
            if w not in jieba.dt.FREQ:
                jieba.suggest_freq(w, tune=True)
