"""Sentence features are computed at build and read at load: the same as computing them at load."""
from __future__ import annotations

import pytest

from assistant import sentence_features
from assistant.glossary import install_learnt_terms
from assistant.support import SupportScorer

pytestmark = pytest.mark.integration


def test_stored_features_are_what_a_load_would_compute(assistant):
    index = assistant.index
    stored = index.sentence_features
    assert stored is not None and len(stored) == len(index.sentence_vectors)
    install_learnt_terms(assistant.glossary)  # as at build
    assert sentence_features.compute(index.passages, index.texts) == stored


def test_a_scorer_without_stored_features_makes_the_same_sentences(assistant):
    """An index built before the features file existed is served the same (computed at load)."""
    index = assistant.index
    with_file = SupportScorer(index, assistant.glossary, index.bilingual)
    saved, index.sentence_features = index.sentence_features, None
    try:
        without = SupportScorer(index, assistant.glossary, index.bilingual)
    finally:
        index.sentence_features = saved
    assert with_file.sentences == without.sentences
    assert with_file.df == without.df
