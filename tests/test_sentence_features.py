"""Sentence features are computed at build and read at load: the same as computing them at load.

The comparison runs in a fresh process: jieba's dictionary is process-global, and other tests of this
session install other guidelines' learnt terms into it, which would change the recomputed tokens.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from assistant import sentence_features
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.glossary import install_learnt_terms
    from assistant.support import SupportScorer

    a = Assistant.load(Settings.load(data_dir=Path(sys.argv[1])))
    index = a.index
    stored = index.sentence_features
    with_file = SupportScorer(index, a.glossary, index.bilingual)
    index.sentence_features = None
    without = SupportScorer(index, a.glossary, index.bilingual)
    install_learnt_terms(a.glossary)  # as at build
    print(json.dumps({
        "stored": stored is not None and len(stored) == len(index.sentence_vectors),
        "same_as_computed": sentence_features.compute(index.passages, index.texts) == stored,
        "same_sentences": with_file.sentences == without.sentences,
        "same_df": with_file.df == without.df,
    }))
""")


@pytest.fixture(scope="module")
def checked(assistant, settings):
    done = subprocess.run([sys.executable, "-c", _CHECK, str(settings.data_dir)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_stored_features_are_what_a_load_would_compute(checked):
    assert checked["stored"] and checked["same_as_computed"]


def test_a_scorer_without_stored_features_makes_the_same_sentences(checked):
    """An index built before the features file existed is served the same (computed at load)."""
    assert checked["same_sentences"] and checked["same_df"]
