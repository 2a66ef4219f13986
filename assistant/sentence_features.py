"""What answer selection needs of every sentence, computed once at index build instead of at every load:
its content terms (jieba, the costly part) and the attributes it can answer (`attributes.sentence_attributes`).

Stored per version as `sentence_features.json`, one [terms, attributes] pair per sentence in index order
(the row order of `sentences.npy`). An index built before this file existed is served by computing the same
at load (`SupportScorer`), so both paths share `features_of`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .model import Passage
from .tokens import content_terms, fold_text

__all__ = ["FILE", "ZIPF_FILE", "features_of", "compute", "search_text", "search_texts", "save", "load", "zipf_table",
           "load_zipf"]

FILE = "sentence_features.json"
ZIPF_FILE = "zipf.json"  # general-language frequency of every corpus word (`lexicon.remember`)


def features_of(zh: str, en: str, section: str, attributes) -> tuple[frozenset[str], frozenset[str]]:
    """(terms, attributes) of one sentence; `attributes` is `attributes.sentence_attributes`."""
    return frozenset(content_terms(f"{zh} {en}") | content_terms(section)), attributes(zh)


def _sentences(passages: list[Passage], texts: dict[str, str]):
    """(zh, en, section path) of every sentence, in index order."""
    for p in passages:
        text = texts.get(p.doc_id, p.text)
        ens = p.sentences_en or ("",) * len(p.sentences)
        section = " ".join(p.section)
        yield from ((text[a:b], en, section) for (a, b), en in zip(p.sentences, ens))


def compute(passages: list[Passage], texts: dict[str, str]) -> list[tuple[frozenset[str], frozenset[str]]]:
    from .attributes import sentence_attributes

    return [features_of(zh, en, section, sentence_attributes) for zh, en, section in _sentences(passages, texts)]


def search_text(section: str, zh: str, en: str) -> str:
    """What glossary term patterns search in a sentence (`Sentence.text`): section path, text, translation."""
    return fold_text(f"{section} {zh} {en}")


def search_texts(passages: list[Passage], texts: dict[str, str]) -> list[str]:
    """Every sentence's `search_text`, in index order (`mentions.compute` at build)."""
    return [search_text(section, zh, en) for zh, en, section in _sentences(passages, texts)]


def save(path: Path, features: list[tuple[frozenset[str], frozenset[str]]]) -> None:
    rows = [[sorted(t), sorted(a)] for t, a in features]
    path.write_text(json.dumps(rows, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def load(root: Path) -> list[tuple[frozenset[str], frozenset[str]]] | None:
    path = root / FILE
    if not path.exists():
        return None
    return [(frozenset(t), frozenset(a)) for t, a in json.loads(path.read_text(encoding="utf-8"))]


def zipf_table(features: list[tuple[frozenset[str], frozenset[str]]]) -> dict[str, float]:
    """wordfreq's Zipf value of every word the sentences use: a question made of corpus words is weighed
    without loading wordfreq at all."""
    from .lexicon import zipf

    return {t: zipf(t) for t in sorted({t for terms, _ in features for t in terms})}


def load_zipf(root: Path) -> dict[str, float]:
    path = root / ZIPF_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
