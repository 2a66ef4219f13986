"""Answerability: which source sentences answer a question, and whether together they do.

A question is answered by *sentences*, not passages. It asks about concepts (glossary terms and
domain words) and often for an attribute (a duration, a rate, a count, a cost, a dose). It is
answerable when some sentence gives the asked attribute about the asked intervention, and the
chosen sentences jointly cover enough of the domain concepts. Ordinary words (不能, listed) weigh
nothing when the corpus lacks them: they are phrasing, not concepts (`lexicon`).
"""
from __future__ import annotations

import math
import re

import numpy as np

from .attributes import (ACTION_QUESTION, ATTRIBUTES, BOUND, EVIDENCE_QUESTION, LIST_QUESTION, MEANING_QUESTION, STUDY_REPORT,
                         asked_attributes, counts_asked_noun, sentence_attributes)
from .bands import asked_values, band_fit
from .completion import EXTRA_SENTENCES, complete
from .concepts import ConceptReader
from .crosslingual import lookup
from .glossary import Glossary, form_pattern
from .index import Index
from .lexicon import GENERIC, RARE_EN_ZIPF, absent_weight, is_ordinary, is_phrasing, zipf
from .mentions import Mentions
from .model import Concept, ScoredPassage, Sentence, Support
from .scope import EXCLUSION, excluded_by
from .sentence_features import features_of, search_text
from .terms import DEFINITION
from .tokens import CJK, content_terms, fold_text

__all__ = ["SupportScorer"]  # its Concept, Sentence and Support live in `model`

# A further sentence joins the answer when it covers another part of the question (>= 10 % of the
# weight) and is itself about the question (>= 35 % coverage): multi-part questions get every part.
MIN_PART_GAIN = 0.10
MIN_PART_COVERAGE = 0.35
# A question must name at least one concept (about one rare-ish word's idf, or a domain word the corpus
# has: `_domain`); "And for patients over 75?" on its own asks about nothing the sources could answer.
MIN_CONCEPT_WEIGHT = 1.0
CONTEXT_CREDIT = 0.5
SUBJECT_MIN_MENTIONS = 20  # sentences: a concept this present, and
SUBJECT_SHARE = 1.0  # all in one document (the seeds share MSCs, 注射: 90 % was too loose), is its subject
# e5 similarities are compressed (unrelated 0.79, paraphrase 0.92): what counts is the part above the floor.
DENSE_FLOOR, DENSE_WEIGHT = 0.80, 3.0
# A Chinese question on an English-language guideline's sentence with no word to check there (别嘌醇, 尿酸:
# no dictionary sense) counts as covered by its similarity above the floor, full at the floor + this.
DENSE_SPAN = 0.10
NUMBER_BONUS = 0.08
# A band ("INR 4.1～9.9", "eGFR 45～59") holding the asked value (+), or of its measure but not holding it (-).
# Same results on the tuned sets at 0.08, 0.15 and 0.3: the middle one, not fitted.
BAND_WEIGHT = 0.15
# A concept no sentence has weighs this many times the idf of a word in one sentence in n: what the
# question is about is not in the sources. Cross-validated with the thresholds (benchmarks/
# calibrate_refusal.py --absent-factor, dev + second guideline pooled, 5 folds): balanced accuracy
# 0.874 at 0.7, 0.873 at 1.0, 0.885 at 1.5, 0.881 at 2.0 -- no reliable difference, so it stays.
ABSENT_IDF_FACTOR = 2.0
KEY_MIN_WEIGHT = 2.5  # only a rare concept is "the" thing an amount must be about
RANK_BONUS = 0.05  # the passage's retrieval rank breaks ties between equally covering sentences
PRECISION_WEIGHT = 0.3  # per figure of the question the sentence repeats ("eGFR 30-44" -> the 30～44 row)
LISTS_PER_ANSWER = 2  # a list question may get two fully covering lists (绝对禁忌证 and 相对禁忌证)
STOP_BONUS = 0.1  # "停多久" asks a duration; of two duration sentences the one that says 停 fits ("停药至少3个月")
STUDY_PENALTY = 0.15  # of a question about what to do, a study's finding ranks below a statement of it
LIST_BONUS = 0.15  # "禁忌证有哪些": a sentence that lists ("包括：① …", "A、B、C") beats one that names one item
AMOUNT_WINDOW = 24  # characters between an asked concept and the amount that answers it
AMOUNT_WINDOW_LATIN = 72  # the same in an English-language guideline: a word is some six letters, a Chinese one two
_NUMBER = re.compile(r"[\d.]+")
# Where an amount starts: a digit that is not part of a name (CXCL13, IL-6, HLA-B*5801), or a Chinese count.
_AMOUNT_SPOT = re.compile(r"(?<![A-Za-z*\-\d])\d|[一二两三四五六七八九十百千万亿]+[个名例次周天月年]")
_INFLECTED = re.compile(r"[a-z]{3}(ed|ly)$", re.I)  # not -ing: bleeding, dosing, screening are nouns


class SupportScorer(ConceptReader):
    """Weighted concept coverage at the sentence level; weights are idf over sentences."""

    def __init__(self, index: Index, glossary: Glossary, bilingual: dict[str, list[str]] | None = None) -> None:
        self.glossary = glossary
        self.bilingual = bilingual or {}
        self.glosses: dict[str, str] = getattr(index, "glosses", None) or {}  # for untranslated English answers
        self.synonyms: dict[str, list[str]] = getattr(index, "synonyms", None) or {}  # 怀孕 -> 妊娠
        self.homophones: dict[str, str] = getattr(index, "homophones", None) or {}  # sound -> corpus word
        vectors = index.sentence_vectors  # a memory map; an ndarray view of it indexes row by row faster
        self.vectors = None if vectors is None else np.asarray(vectors)
        self.sentences: dict[str, list[Sentence]] = {}
        order = 0
        feats = getattr(index, "sentence_features", None)  # computed at build; else here (older index)
        for p in index.passages:
            title = index.sources[p.doc_id].title if p.doc_id in index.sources else ""
            text = index.texts.get(p.doc_id, p.text)
            views = []
            ens = p.sentences_en or ("",) * len(p.sentences)
            section = " ".join(p.section)
            for pos, (span, en) in enumerate(zip(p.sentences, ens)):
                zh = text[span[0]:span[1]]
                terms, attrs = feats[order] if feats else features_of(zh, en, section, sentence_attributes)
                views.append(Sentence(p, span, zh, en, search_text(section, zh, en), terms,
                                      fold_text(f"{section} {title}"), attrs, order, pos))
                order += 1
            self.sentences[p.id] = views
        every = [s for vs in self.sentences.values() for s in vs]  # every[s.order] is s
        self.n = max(1, len(every))
        self.mentions = Mentions(every, getattr(index, "mentions", None))  # forms found at build
        self.df: dict[str, int] = {t: len(rows) for t, rows in self.mentions.postings.items()}
        self._every = every
        self._docs = list(dict.fromkeys(s.passage.doc_id for s in every))  # `_mentions`: sentence -> document
        where = {d: i for i, d in enumerate(self._docs)}
        self._doc_of = np.fromiter((where[s.passage.doc_id] for s in every), dtype=np.int64, count=len(every))
        self._scope = [s for s in every if EXCLUSION.search(s.zh) or EXCLUSION.search(s.en)]
        self._scope_orders = {s.order for s in self._scope}
        # A document's title names its topic for every sentence of it ("甲氨蝶呤治疗类风湿关节炎…共识":
        # its "MTX起始剂量为…" is about RA without saying so).
        self._titles = {d: (fold_text(m.title), frozenset(content_terms(m.title))) for d, m in index.sources.items()}
        self._en_vocab = sorted(t for t in self.df if t.isascii() and len(t) >= 5)
        forms = tuple(f for t in glossary.terms if t.kind == "intervention" for f in t.forms)
        self._intervention = (form_pattern(forms), forms) if forms else None  # any intervention, one regex
        self._words: dict[int, list[str]] = {}  # sentence order -> its terms that are not numbers
        self._typos: dict[str, str] = {}  # English question word -> the nearest corpus word (`_known`)
        self._concepts: dict[str, tuple[Concept, ...]] = {}  # question -> its concepts (`concepts`)
        self.unknown_idf = math.log(1 + self.n) * ABSENT_IDF_FACTOR
        self._weights: dict[str, float] = {}
        self._subjects: dict[str, str | None] = {}
        self._by_doc: dict[str, dict[str, int]] = {}
        self._dfs: dict[str, int] = {}

    def doc_freq(self, c: Concept) -> int:
        """Sentences that mention the concept (its forms, its token or its Chinese alternatives)."""
        if c.label not in self._dfs:
            if c.pattern is not None:
                self._dfs[c.label] = sum(self._mentions(c).values())
            else:
                self._dfs[c.label] = self.df.get(c.token, 0) or len(
                    frozenset().union(*(self.mentions.token(a) for a in c.alts))) or (
                    sum(self._mentions(c).values()) if c.en_alts else 0)
        return self._dfs[c.label]

    def weight(self, c: Concept) -> float:
        """idf over sentences; ordinary words weigh little, and phrasing nothing when the corpus lacks it."""
        if c.label not in self._weights:
            df = self.doc_freq(c)
            if c.pattern is not None:
                w = math.log(1 + self.n / df) if df else self.unknown_idf
            elif is_phrasing(c.word):
                w = 0.0
            elif df:
                ordinary = c.word in GENERIC or is_ordinary(c.word)
                w = math.log(1 + self.n / df) * (0.25 if ordinary else 1.0)
            else:
                import jieba

                w = self.unknown_idf * absent_weight(c.word, c.word in jieba.dt.FREQ)
            self._weights[c.label] = w
        return self._weights[c.label]

    def _mentions(self, c: Concept) -> dict[str, int]:
        """Sentences that mention the concept, by document (its pattern's sentences, else those of its token
        and Chinese alternatives: the sentences `covers` it)."""
        if c.label not in self._by_doc:
            if c.pattern is not None:
                rows = self.mentions.term(c.pattern, c.forms)
            elif c.en_alts:  # a Chinese word in an English-language guideline's words: the rows `covers` takes
                english = frozenset().union(*(frozenset.intersection(*(self.mentions.token(p) for p in a.split()))
                                              for a in c.en_alts)) & self.latin
                rows = self.mentions.token(c.token).union(*(self.mentions.token(a) for a in c.alts), english)
            elif not c.alts:
                rows = self.mentions.postings.get(c.token, [])
            else:
                rows = self.mentions.token(c.token).union(*(self.mentions.token(a) for a in c.alts))
            docs = self._doc_of[np.fromiter(rows, dtype=np.int64, count=len(rows))]
            counts = np.bincount(docs, minlength=len(self._docs))  # numpy: a term can be in 70,000 sentences
            self._by_doc[c.label] = {self._docs[d]: int(n) for d, n in enumerate(counts.tolist()) if n}
        return self._by_doc[c.label]

    def covers(self, c: Concept, s: Sentence, with_context: bool = False) -> bool:
        if c.pattern is not None:
            return (s.order in self.mentions.term(c.pattern, c.forms)
                    or (with_context and self.mentions.matches(c.pattern, s.context)))
        if c.token in s.terms or any(a in s.terms for a in c.alts):
            return True
        return bool(c.en_alts) and s.order in self.latin and any(all(p in s.terms for p in a.split()) for a in c.en_alts)

    def within(self, c: Concept, s: Sentence) -> bool:
        """The sentence covers the concept in its document: by its own words (an intervention also by its section)."""
        return self.covers(c, s, c.intervention) or self._titled(c, s)  # or because the document's title names it

    def _titled(self, c: Concept, s: Sentence) -> bool:
        title, terms = self._titles.get(s.passage.doc_id, ("", frozenset()))
        if c.pattern is not None:
            return bool(title) and self.mentions.matches(c.pattern, title)
        return c.token in terms or any(a in terms for a in c.alts)

    def coverage(self, concepts: list[Concept], s: Sentence) -> float:
        """Own mentions count fully; a concept named by the previous sentence of the same passage
        (its context: "Hernigou 设计了… 经过平均约15年的随访") counts half. An English word cannot be
        checked against an untranslated Chinese sentence: it counts neither way (dense retrieval and
        the glossary's cross-language terms carry such questions)."""
        own = [c for c in concepts if self.verifiable(c, s)]
        total = sum(self.weight(c) for c in own)
        if total <= 0:
            return 0.0
        prev = self.previous(s)
        got = 0.0
        for c in own:
            if self.within(c, s):
                got += self.weight(c)
            elif prev is not None and self.covers(c, prev):
                got += CONTEXT_CREDIT * self.weight(c)
        return got / total

    def verifiable(self, c: Concept, s: Sentence) -> bool:
        """Whether the sentence can show the concept: an English word on an untranslated Chinese sentence
        only through the glossary or CC-CEDICT, unless it is a rare word the whole corpus lacks
        (tofacitinib, ectopic): then it is simply not there."""
        if s.order in self.latin:  # an English-language guideline: its own words show English words
            return c.pattern is not None or c.word.isascii() or bool(c.en_alts)  # Chinese ones through their English
        if s.en or c.pattern is not None or not c.word.isascii():
            return True
        if _INFLECTED.search(c.word) and is_ordinary(c.word):  # "started", "reached": a dictionary sense of
            return False  # an everyday verb (开始? 启动? 起始?) cannot show what the Chinese says
        if c.alts:
            return True
        return c.token not in self.df and zipf(c.word) < RARE_EN_ZIPF

    def _has_key(self, key: Concept | None, s: Sentence) -> bool:
        """The sentence giving an amount names the question's most specific concept (羟氯喹 in "羟氯喹的
        常用剂量"), itself or in the sentence before it; otherwise it is another thing's amount."""
        if key is None or self.weight(key) < KEY_MIN_WEIGHT or not self.verifiable(key, s) or self._titled(key, s):
            return True  # the document's title names it (类风湿 in a methotrexate-for-RA consensus)
        prev = self.previous(s)
        return self.covers(key, s, True) or (prev is not None and self.covers(key, prev))

    def _amount_on_topic(self, s: Sentence, attr: str, concepts: list[Concept]) -> bool:
        """The amount is about what was asked: a question concept (not the intervention, which is the
        subject) stands within a clause of it, so "MSC 多久起效" is not answered by "5 年随访"."""
        asked = [c for c in concepts if not c.intervention and self.weight(c) > 0 and self.verifiable(c, s)]
        topics = [c for c in asked if self.covers(c, s)]
        if attr in ("cost", "contact", "sessions", "frequency", "bibliographic", "stop", "provider", "grade") or not asked:
            return True
        bound = attr == "threshold"  # a cut-off stands right by its measure: "血小板计数 <100", not "(<0.5%)…血小板计数"
        for text in (s.zh, s.en):  # an English question's words stand next to the amount in the translation
            spots = [m.start() for m in (BOUND if bound else _AMOUNT_SPOT).finditer(text)]
            window = (AMOUNT_WINDOW_LATIN if s.order in self.latin else AMOUNT_WINDOW) // (2 if bound else 1)
            for c in topics:
                rx = c.pattern or re.compile(re.escape(c.token if c.word.isascii() else c.word), re.I)
                if c.en_alts and s.order in self.latin:  # 透析 in "after each dialysis session": its stem
                    rx = re.compile("|".join(re.escape(a.split()[0]) for a in c.en_alts), re.I)
                if any(abs(p - m.start()) <= window for m in rx.finditer(text) for p in spots):
                    return True
        return not s.zh.strip() or bool(topics and not re.search(r"\d", s.zh))

    def previous(self, s: Sentence) -> Sentence | None:
        """The sentence before `s` in its passage."""
        return self.sentences[s.passage.id][s.pos - 1] if s.pos > 0 else None

    def following(self, s: Sentence, continues: re.Pattern[str]):
        """The sentences after `s` in its passage, for as long as the one before ends as `continues` says
        (a statement or an enumeration cut at "；" / "：" goes on)."""
        prev = s
        for t in self.sentences[s.passage.id][s.pos + 1:]:
            if not continues.search(prev.zh):
                return
            yield t
            prev = t

    def subject_doc(self, c: Concept) -> str | None:
        """The document a concept is the subject of: nearly all its many mentions are there (华法林 in a
        warfarin consensus). A question about it is not answered from another document's sentence."""
        if c.label not in self._subjects:
            by_doc = self._mentions(c)
            total = sum(by_doc.values())
            doc = max(by_doc, key=by_doc.get) if by_doc else None
            self._subjects[c.label] = (doc if total >= SUBJECT_MIN_MENTIONS and by_doc[doc] >= SUBJECT_SHARE * total
                                       else None)
        return self._subjects[c.label]

    def on_subject(self, concepts: list[Concept], s: Sentence) -> bool:
        """The sentence is not about another intervention than the one asked about: it (or its section)
        names the asked interventions, or names none and inherits its document's subject; and a concept
        that is one document's subject is named by a sentence from any other document."""
        if any((d := self.subject_doc(c)) is not None and d != s.passage.doc_id and not self.covers(c, s)
               for c in concepts if self.weight(c) > 0 and not (c.word and is_ordinary(c.word))):
            return False
        asked = [c for c in concepts if c.intervention]
        if all(self.covers(c, s, with_context=True) for c in asked):
            return True
        return self._intervention is None or s.order not in self.mentions.term(*self._intervention)

    # -- the decision --------------------------------------------------------------------------
    def _precision(self, s: Sentence, qterms: set[str]) -> float:
        """Share of the sentence's own words the question asked about: of two rows that both give the
        起始剂量, the one without an unasked 老年患者 qualifier fits better."""
        own = self._words.get(s.order)
        if own is None:
            own = self._words[s.order] = [t for t in s.terms if not _NUMBER.fullmatch(t)]
        return len([t for t in own if t in qterms]) / len(own) if own else 0.0

    def similarity(self, s: Sentence, qvec) -> float:
        """Dense similarity of question and sentence, as a bonus over the compressed e5 floor."""
        if qvec is None or self.vectors is None or s.order >= len(self.vectors):
            return 0.0
        return max(0.0, float(self.vectors[s.order] @ qvec) - DENSE_FLOOR)

    def score(self, question: str, hits: list[ScoredPassage], max_sentences: int = 3, qvec=None,
              skip: frozenset = frozenset()) -> Support:
        """Choose sentences: the best one giving each asked attribute on the asked subject, then
        the ones that add concepts; coverage is what they cover together. Sentences rank by concept
        coverage, with the question's dense similarity (`qvec`) and repeated figures as bonuses; sentences
        whose (passage id, start, end) is in `skip` are never chosen."""
        concepts = self.concepts(question)
        attrs = asked_attributes(question)
        dense = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
        total = sum(self.weight(c) for c in concepts)
        ranked: list[tuple[Sentence, float, float]] = []
        numbers = set(re.findall(r"\d+(?:\.\d+)?", question))
        values = asked_values(question)  # "INR 6.5": the row whose band holds it answers
        values += [(zh, v) for m, v in values if m.isascii() for zh in lookup(self.bilingual, [m]).get(m, [])[:1]]
        qterms = {c.token for c in concepts if c.token} | {c.label for c in concepts}
        listing = LIST_BONUS if LIST_QUESTION.search(question) else 0.0
        chinese, meaning = bool(CJK.search(question)), bool(MEANING_QUESTION.search(question))
        # "怎么减量" asks what to do: a study's finding ranks below the recommendation (not for "有研究数据吗")
        action = bool(ACTION_QUESTION.search(question)) and not EVIDENCE_QUESTION.search(question)
        stopping = "stop" not in attrs and bool(ATTRIBUTES["stop"].search(question))  # "他要停多久": a duration of stopping
        for h in hits:
            for s in self.sentences.get(h.passage.id, ()):
                if (skip and (s.passage.id, *s.span) in skip) or (not meaning and DEFINITION.match(s.zh)):
                    continue  # a note's "MTX为甲氨蝶呤" names the drug and says nothing about it
                cov = self.coverage(concepts, s)
                if not cov and chinese and s.order in self.latin and not any(self.verifiable(c, s) for c in concepts):
                    cov = min(1.0, self.similarity(s, qvec) / DENSE_SPAN)  # nothing to check: dense decides
                same = sum(1 for n in numbers if re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", s.zh))
                bonus = (RANK_BONUS / max(1, h.rank) + NUMBER_BONUS * min(same, 2) + DENSE_WEIGHT * self.similarity(s, qvec)
                         + BAND_WEIGHT * band_fit(values, s.text)
                         + PRECISION_WEIGHT * self._precision(s, qterms) + (listing if "list" in s.attrs else 0.0)
                         + (STOP_BONUS if stopping and "stop" in s.attrs else 0.0)
                         - (STUDY_PENALTY if action and STUDY_REPORT.search(s.zh) else 0.0))
                ranked.append((s, cov, cov + bonus))
        ranked.sort(key=lambda x: (-x[2], x[0].order))
        on_subject = [r for r in ranked if self.on_subject(concepts, r[0])]
        chosen: list[tuple[Sentence, float]] = []
        answered = bool(on_subject)
        attr_cov = 1.0
        known = [c for c in concepts if not c.intervention and self.doc_freq(c) > 0]  # absent ones: coverage's job
        key = max(known, key=self.weight, default=None)
        for a in attrs:
            best = max((r for r in on_subject if a in r[0].attrs and self._amount_on_topic(r[0], a, concepts)
                        and self._has_key(key, r[0])),
                       default=None,
                       key=lambda r: r[2] + (0.2 if counts_asked_noun(r[0].zh, concepts) else 0.0))
            if best is None:
                answered = False
                continue
            attr_cov = min(attr_cov, best[1])
            if best[0] not in [c for c, _ in chosen]:
                chosen.append((best[0], best[1]))
        if not attrs and on_subject:  # "髋关节可以做BMAC吗": the answer names what is most specifically asked about
            best = next((r for r in on_subject if self._has_key(key, r[0])), None)
            answered = best is not None
            first = best or on_subject[0]
            chosen.append((first[0], first[1]))
        covered = {c.label for c in concepts for s, _ in chosen if self.within(c, s)}
        for s, cov, _ in on_subject:  # add sentences that answer other parts of the question
            if len(chosen) >= max_sentences:
                break
            new = {c.label for c in concepts if c.label not in covered and self.weight(c) > 0
                   and self.within(c, s)}
            gain = sum(self.weight(c) for c in concepts if c.label in new) / total if total > 0 else 0.0
            another_list = listing and "list" in s.attrs and cov >= 1.0 and len(chosen) < LISTS_PER_ANSWER
            if (gain >= MIN_PART_GAIN or another_list) and cov >= MIN_PART_COVERAGE and s not in [c for c, _ in chosen]:
                chosen.append((s, cov))
                covered |= new
        complete(self, chosen, on_subject, attrs, values, key, max_sentences + EXTRA_SENTENCES, MIN_PART_COVERAGE,
                 frozenset(numbers))  # a recommendation and its table row
        checkable = [c for c in concepts if any(self.verifiable(c, x) for x, _ in chosen)] if chosen else concepts
        part = sum(self.weight(c) for c in checkable)
        # Nothing checkable (an English question on an untranslated text): dense retrieval decides.
        joint = sum(self.weight(c) for c in checkable if c.label in covered) / part if part > 0 else float(bool(chosen))
        missing = [c.label for c in checkable if c.label not in covered and self.weight(c) > 0]
        answered = answered and (total >= MIN_CONCEPT_WEIGHT or any(map(self._domain, concepts)))  # phrasing alone asks about nothing
        docs = {h.passage.doc_id for h in hits}  # a scope statement of the documents retrieved, wherever it stands
        scope = [x for x in self._scope if x.passage.doc_id in docs]
        stated = [r[0] for r in ranked if r[0].order in self._scope_orders]  # the others state no scope
        excluded = excluded_by(self, concepts, stated + scope, [x for x, _ in chosen])
        return Support(joint, dense, missing, chosen, attrs, answered, attr_cov, excluded)

