"""A guideline's own scope statement ("本共识不涉及儿童、机械心脏瓣膜…", "does not cover …"): when it names
what the question asks about and nothing else answers it, the source's own refusal is the answer."""
from __future__ import annotations

import re

__all__ = ["EXCLUSION", "EXCLUSION_MIN_WEIGHT", "excluded_by"]

# The cue of a scope statement; what follows it is excluded.
EXCLUSION = re.compile(r"不涉及|不包括|不适用于|未涉及|不在本(共识|指南)[^。]*范围|超出本(共识|指南)|"
                       r"does not (cover|address|apply to)|not covered|beyond the scope|outside the scope", re.I)
EXCLUSION_MIN_WEIGHT = 1.5  # a concept rare enough to be what the question is about


def excluded_by(scorer, concepts: list, candidates: list, chosen: list):
    """A sentence saying the guideline does not cover something the question asks about
    ("本共识…不涉及…银屑病关节炎…") that no other chosen sentence answers: the source's own refusal."""
    answers = [s for s in chosen if not (EXCLUSION.search(s.zh) or EXCLUSION.search(s.en))]
    for s in candidates:
        text = s.zh if EXCLUSION.search(s.zh) else s.en
        m = EXCLUSION.search(text)
        if not m:
            continue
        tail = text[m.end():]  # what the scope statement names (not its own words: 范围, 本共识)
        for c in concepts:
            if c.intervention or scorer.weight(c) < EXCLUSION_MIN_WEIGHT:
                continue
            if scorer.subject_doc(c) == s.passage.doc_id:
                continue  # "does not address … gout in children": a gout guideline excludes a population, not gout
            word = (c.word or c.token).lower()
            named = (c.pattern.search(tail) if c.pattern is not None else
                     (re.search(rf"\b{re.escape(word)}", tail, re.I) if word.isascii() else word in tail.lower())
                     or any(a in tail for a in c.alts))
            if named and not any(scorer.covers(c, x) for x in answers):
                return s
    return None
