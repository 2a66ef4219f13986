"""Language and script of a question: zh / en / mixed, simplified or traditional (OpenCC t2s)."""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from .model import InputError

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_lock = threading.Lock()


def detect(text: str) -> str:
    """'zh' when Chinese characters carry the question, 'en' when only Latin words do, else 'mixed'.

    Abbreviations (PRP, NSAIDs) inside a Chinese sentence do not make it English.
    """
    cjk = len(_CJK.findall(text))
    latin_words = re.findall(r"[A-Za-z]{2,}", text)
    if cjk == 0:
        return "en"
    if not latin_words:
        return "zh"
    lower_words = [w for w in latin_words if not w.isupper() and not re.fullmatch(r"[A-Z]+s", w)]
    if cjk >= 4 and len(lower_words) <= 2:
        return "zh"
    return "mixed" if cjk >= 2 else "en"


def answer_language(text: str) -> str:
    """Answers come back in the question's language; a mixed question is answered in Chinese."""
    return "en" if detect(text) == "en" else "zh"


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config if config.endswith(".json") else config + ".json")


def to_simplified(text: str) -> str:
    with _lock:
        return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    with _lock:
        return _converter("s2t").convert(text)


def is_traditional(text: str) -> bool:
    """True when t2s changes a Chinese character (the question was written in traditional script)."""
    return bool(_CJK.search(text)) and to_simplified(text) != text


def validate_question(text: object, max_chars: int) -> str:
    """Reject input we cannot answer safely, with a message a user can act on."""
    if not isinstance(text, str):
        raise InputError("the question must be text")
    if _CONTROL.search(text):
        bad = _CONTROL.search(text).group()  # type: ignore[union-attr]
        raise InputError(f"the question contains a control character (U+{ord(bad):04X}); remove it and ask again")
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InputError("the question is empty")
    if len(text) > max_chars:
        raise InputError(f"the question is {len(text)} characters long; the limit is {max_chars}. "
                         "Ask one question at a time.")
    return text
