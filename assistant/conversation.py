"""Follow-up resolution: turn the last turn of a conversation into a standalone question.

Deterministic: a short follow-up that names no therapy or topic borrows the subject of the most
recent earlier turn that had one ("间充质干细胞常用剂量是多少?" + "那老年人呢?" ->
"间充质干细胞常用剂量是多少 老年人"). Patient facts from every turn reach the guard.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

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


def _is_follow_up(turn: str) -> bool:
    return not SUBJECTS.search(turn) and (bool(FOLLOW_UP.search(turn.strip())) or len(turn.strip()) <= 12)


def resolve(turns: list[str]) -> Resolved:
    last = turns[-1]
    guard_text = "\n".join(turns)
    if len(turns) == 1 or not _is_follow_up(last):
        return Resolved(last, guard_text)
    for earlier in reversed(turns[:-1]):
        if SUBJECTS.search(earlier):
            return Resolved(f"{_STRIP_END.sub('', earlier)} {last}", guard_text, True)
    return Resolved(last, guard_text)
