"""Follow-up resolution: turn the last turn of a conversation into a standalone question.

Deterministic: a short follow-up that names no therapy or topic borrows the subject of the most
recent earlier turn that had one ("间充质干细胞常用剂量是多少?" + "那老年人呢?" ->
"间充质干细胞常用剂量是多少 老年人"). Patient facts from every turn reach the guard.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .config import ELDERLY_AGE

__all__ = ["Resolved", "resolve", "time_side", "SUBJECTS", "FOLLOW_UP", "COMPARES"]

SUBJECTS = re.compile(
    r"PRP|富血小板血浆|血小板|platelet|MSCs?|间充质干细胞|干细胞|stem cells?|BMAC|骨髓浓缩液|骨髓抽吸浓缩物|"
    r"bone marrow|MPCs?|外泌体|exosomes?|透明质酸|hyaluronic|再生医学|regenerative|NSAIDs?|非甾体", re.I)
FOLLOW_UP = re.compile(
    r"^(那|那么|还有|另外|而|如果是|如果|对于|and|what about|how about|and for|and in|for|in|what if|if)\b|"
    r"呢[?？]?$|^(注射后|术后|之后|then|after)", re.I)
_STRIP_END = re.compile(r"[?？。!！\s]+$")


@dataclass(frozen=True)
class Resolved:
    query: str  # what retrieval and the composer see
    guard_text: str  # every turn: patient facts said earlier still count
    rewritten: bool = False


_LEAD_IN = re.compile(r"^(那么|那|还有|而|and for|and in|and|what about|how about)\s*|呢$", re.I)
_AGE = re.compile(r"(?:over|above|older than|aged?|超过|大于)\s*(\d{2,3})|(\d{2,3})\s*(?:岁|years? old|-year-old)", re.I)
_ASKS_SAME = re.compile(r"^(那|那么|而|还有)?.{1,16}呢[?？]?$|^(and|what about|how about)\b.{1,40}\??$", re.I)


# "跟打激素比,哪个更省钱?": a comparison with the earlier question's therapy, whatever it names itself.
COMPARES = re.compile(r"^(跟|和|与|同|比起|相比|相较于?|compared (to|with)|versus|vs\.?)\s*\S", re.I)


# "PRP打之前要注意什么?" + "那打完以后呢?": the follow-up asks about the other side of the procedure, so the
# earlier question's time word goes (术前 and 术后 in one query would answer the 术前 question again).
_BEFORE = re.compile(r"之前|以前|(术|针|射|疗|PRP|BMAC)前|\bbefore\b", re.I)
_AFTER = re.compile(r"打完|之后|以后|(术|针|射|疗|PRP|BMAC)后|\bafter(wards)?\b", re.I)


@lru_cache(maxsize=4096)  # the patient FAQ asks it of every sample question, for every question
def time_side(text: str) -> str | None:
    """"before" or "after" the procedure when the text names one side only."""
    before, after = bool(_BEFORE.search(text)), bool(_AFTER.search(text))
    return None if before == after else "before" if before else "after"


def _other_side(base: str, turn: str) -> str:
    side = time_side(turn)
    return base if side is None else (_BEFORE if side == "after" else _AFTER).sub(" ", base)


def _is_follow_up(turn: str, names: Callable[[str], bool]) -> bool:
    if COMPARES.search(turn.strip()):
        return True
    return not names(turn) and (bool(FOLLOW_UP.search(turn.strip())) or len(turn.strip()) <= 12)


def _swaps_subject(turn: str, names: Callable[[str], bool]) -> bool:
    """"那间充质干细胞呢?" / "what about MSCs?": the earlier question, asked of a new therapy."""
    return names(turn) and bool(_ASKS_SAME.match(turn.strip()))


def resolve(turns: list[str], elderly_age: int = ELDERLY_AGE,
            subjects: Callable[[str], list[str]] | None = None) -> Resolved:
    """`elderly_age` is the guard's assumption (corpus/rules.yaml settings.elderly_age). `subjects` gives
    the words of a turn that name what an added guideline is about (华法林, MTX): the seeds' therapies
    are `SUBJECTS`, a clinic's come from its index. With no earlier subject, a follow-up borrows the turn
    before it ("医生给我开了甲氨蝶呤" + "那最多能加到多少？")."""
    last = turns[-1]
    guard_text = "\n".join(turns)
    if len(turns) == 1:
        return Resolved(last, guard_text)

    def names(t: str) -> bool:
        return bool(SUBJECTS.search(t)) or bool(subjects and subjects(t))

    earlier = next((t for t in reversed(turns[:-1]) if names(t)), None)
    if earlier is None and _is_follow_up(last, names):
        earlier = turns[-2]
    if earlier is None:
        return Resolved(last, guard_text)
    base = _STRIP_END.sub("", earlier)
    if _swaps_subject(last, names):
        tail = _LEAD_IN.sub("", _STRIP_END.sub("", last.strip()))
        rest = SUBJECTS.sub(" ", base)
        for word in subjects(base) if subjects else ():
            rest = rest.replace(word, " ")
        return Resolved(f"{tail} {rest.strip()}", guard_text, True)
    if _is_follow_up(last, names):
        return Resolved(f"{_other_side(base, last)} {last}{_elderly(last, elderly_age)}", guard_text, True)
    return Resolved(last, guard_text)


def _elderly(turn: str, elderly_age: int) -> str:
    """"patients over 75" / "80岁的呢": the guideline's word for them is 老年人 (elderly)."""
    ages = [int(m.group(1) or m.group(2)) for m in _AGE.finditer(turn)]
    return " 老年人 elderly" if any(a >= elderly_age for a in ages) else ""
