"""`Mentions` finds a term's sentences as `pattern.search` one by one does, from the forms' sentences the build
stored (`mentions.npz`) or from one scan of all texts, and a token's from postings as a scan of every
sentence's terms does."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.glossary import form_pattern
from assistant.mentions import Mentions, compute

pytestmark = pytest.mark.integration


def test_stored_forms_and_scan_agree_with_the_regex(assistant):
    scorer = assistant.scorer
    every = scorer._every
    assert assistant.index.mentions is not None and assistant.index.mentions.forms  # written by this build
    stored, scanned = scorer.mentions, Mentions(every)  # the scorer's uses the build's; a bare one scans
    patterns = [(form_pattern(t.forms), t.forms) for t in assistant.glossary.terms] + [scorer._intervention]
    for pattern, forms in patterns:
        want = frozenset(s.order for s in every if pattern.search(s.text))
        assert stored.term(pattern, forms) == want == scanned.term(pattern, forms), forms


def test_token_postings_are_the_scan(assistant):
    every = assistant.scorer._every
    m = Mentions(every)
    for token in list(m.postings)[::7] + ["not-a-corpus-token"]:
        assert m.token(token) == frozenset(s.order for s in every if token in s.terms)


@pytest.mark.parametrize("forms", [("6-6",), ("MTX", "甲氨蝶呤"), ("μg",), ("kg",), ("IL-6", "白介素")])
def test_scan_edges(forms):
    """Overlapping occurrences (the first fails its word bound, a later one holds), word bounds, a cased
    letter beyond ASCII (μ) and the NFKC-folded texts the scorer searches."""
    texts = ["x6-6-6 于", "6-6", "mtx每周", "amtx 与 mtxb", "甲氨蝶呤", "10 μg/kg", "kgb", "il-6）升高", "il-66",
             ""]
    every = [SimpleNamespace(text=t, terms=frozenset(), order=i) for i, t in enumerate(texts)]
    pattern = form_pattern(forms)
    want = frozenset(i for i, t in enumerate(texts) if pattern.search(t))
    assert Mentions(every).term(pattern, forms) == want  # scanned
    assert Mentions(every, compute(texts, set(forms))).term(pattern, forms) == want  # found at build
