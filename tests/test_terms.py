"""Terms learnt from how a guideline introduces them: "甲氨蝶呤（methotrexate，MTX）".

The Chinese term must be the noun phrase right before the bracket, no more (not "推荐使用甲氨蝶呤",
not "中重度活动性类风湿关节炎") and no less; brackets that are not glosses teach nothing.
"""
from __future__ import annotations

import pytest

from assistant.terms import LearntTerm, learn_terms, parse_bracket, term_before


@pytest.mark.parametrize("sentence, term", [
    ("推荐使用甲氨蝶呤（methotrexate，MTX）作为首选改善病情抗风湿药。",
     LearntTerm("甲氨蝶呤", "methotrexate", "MTX")),
    ("对于中重度活动性类风湿关节炎（rheumatoid arthritis，RA）患者，应尽早启动治疗。",
     LearntTerm("类风湿关节炎", "rheumatoid arthritis", "RA")),
    ("精神分裂症维持治疗可选用棕榈酸帕利哌酮（paliperidone palmitate 1-month，PP1M）。",
     LearntTerm("棕榈酸帕利哌酮", "paliperidone palmitate 1-month", "PP1M")),
    ("MTX是首选改善病情抗风湿药（disease-modifying antirheumatic drugs，DMARDs）。",
     LearntTerm("改善病情抗风湿药", "disease-modifying antirheumatic drugs", "DMARDs")),
    ("启动前应评估估算肾小球滤过率（eGFR）。", LearntTerm("估算肾小球滤过率", "", "eGFR")),
    ("类风湿关节炎(rheumatoid arthritis, RA)是一种慢性自身免疫病。",
     LearntTerm("类风湿关节炎", "rheumatoid arthritis", "RA")),
    ("也是我国应用最广泛的传统合成改善病情抗风湿药（conventional synthetic disease-modifying antirheumatic drugs，"
     "csDMARDs）。", LearntTerm("传统合成改善病情抗风湿药",
                               "conventional synthetic disease-modifying antirheumatic drugs", "csDMARDs")),
    ("患者接受甲氨蝶呤（MTX）治疗后复查。", LearntTerm("甲氨蝶呤", "", "MTX")),
    ("所有患者均应常规补充叶酸（folic acid），推荐每周5 mg。", LearntTerm("叶酸", "folic acid", "")),
    ("由美国疼痛与神经科学学会(ASPN)组织多学科专家制定。", LearntTerm("美国疼痛与神经科学学会", "", "ASPN")),
    ('并被视为RA治疗的"锚定药物"（anchor drug）[2,4-5]。', LearntTerm("锚定药物", "anchor drug", "")),
    ("可采用CKD-EPI公式，即慢性肾脏病流行病学协作组（Chronic Kidney Disease Epidemiology Collaboration，CKD-EPI）公式。",
     LearntTerm("慢性肾脏病流行病学协作组", "chronic kidney disease epidemiology collaboration", "CKD-EPI")),
    ("合并间质性肺病（interstitial lung disease，ILD）的患者", LearntTerm("间质性肺病", "interstitial lung disease", "ILD")),
])
def test_terms_from_guideline_sentences(sentence, term):
    assert learn_terms(sentence) == [term]


@pytest.mark.parametrize("sentence", [
    "推荐意见3：起始剂量为7.5～15 mg/周（证据等级：B，推荐强度：强）。",
    "共纳入患者（n=120）。", "推荐强度为（1A）。", "单次剂量（15 mg）。", "见文献（[3]）。",
    "来自全国28个省（自治区、直辖市）。", "eGFR（mL/min/1.73 m²）", "显著降低（P<0.05）。",
    "国家重点研发计划（2022YFC2509800）", "临床研究项目（HBMU-CR2023-017）", "分级为（B）。",
    "阶梯起始方案（第1周：7.5 mg；第2周起：10 mg）。", "大剂量（d1: 150 mg; d8: 100 mg）",
])
def test_brackets_that_are_not_glosses_teach_nothing(sentence):
    assert learn_terms(sentence) == []


def test_half_terms_are_not_learnt():
    # the term starts in Latin letters or digits, or the Chinese is too short for its English
    for sentence in ("发生MTX相关淋巴增殖性疾病（MTX-associated lymphoproliferative disorders，MTX-LPD）",
                     "可采用肝纤维化4因子指数（fibrosis-4 index，FIB-4）评估",
                     "采用推荐分级的评估、制订与评价（Grading of Recommendations Assessment，Development and Evaluation，GRADE）"):
        assert learn_terms(sentence) == []


def test_deduplicated_and_completed_by_later_mentions():
    text = ("甲氨蝶呤（MTX）是锚定药物。甲氨蝶呤（methotrexate，MTX）自20世纪80年代用于RA治疗。"
            "类风湿关节炎（rheumatoid arthritis，RA）……类风湿关节炎（rheumatoid arthritis，RA）。"
            "生物制剂改善病情抗风湿药（biological DMARDs，bDMARDs）")
    assert learn_terms(text) == [
        LearntTerm("甲氨蝶呤", "methotrexate", "MTX"),
        LearntTerm("类风湿关节炎", "rheumatoid arthritis", "RA"),
        LearntTerm("生物制剂改善病情抗风湿药", "biological dmards", "bDMARDs"),
    ]


def test_bracket_parsing_and_term_boundaries():
    assert parse_bracket("methotrexate，MTX") == ("methotrexate", "MTX")
    assert parse_bracket("hepatitis B virus, HBV") == ("hepatitis b virus", "HBV")
    assert parse_bracket("IL-6") == ("", "IL-6")
    assert parse_bracket("证据等级：B") is None and parse_bracket("n=120") is None and parse_bracket("1A") is None
    text = "建议老年患者补充叶酸"
    assert term_before(text, len(text), "folic acid") == "叶酸"
    text = "2018年欧洲抗风湿病联盟"
    assert term_before(text, len(text)) == "欧洲抗风湿病联盟"
    text = "对于活动性类风湿关节炎"  # the English says "active": the descriptor belongs to the term
    assert term_before(text, len(text), "active rheumatoid arthritis") == "活动性类风湿关节炎"


def test_a_longer_mention_of_a_known_abbreviation_keeps_the_short_term():
    text = ("以骨髓浓缩液（BMAC）为代表的再生医学策略。我们旨在系统回顾骨髓浓缩液（BMAC）的疗效。"
            "而间充质干细胞（MSCs）对中重度软骨损伤可能更有效。间充质干细胞（MSCs）常用剂量为5000万个细胞。")
    assert learn_terms(text) == [LearntTerm("骨髓浓缩液", "", "BMAC"), LearntTerm("间充质干细胞", "", "MSCs")]


def test_a_negation_or_prefix_the_english_states_stays_in_the_term():
    """Without 不, "不完全交叉耐受（incomplete cross-tolerance）" would be learnt as its opposite."""
    assert learn_terms("存在不完全交叉耐受（incomplete cross-tolerance）")[0].zh == "不完全交叉耐受"
    assert learn_terms("选择性5-羟色胺再摄取抑制剂（selective serotonin reuptake inhibitor，SSRI）")[0].zh == "羟色胺再摄取抑制剂"
    assert learn_terms("不推荐使用华法林（warfarin）")[0].zh == "华法林"  # no prefix in the English: 不 ends it


def test_a_table_note_defines_abbreviations():
    """"注：INR为国际标准化比值；DOACs为直接口服抗凝药" teaches both short forms; a note clause that is not a
    definition, or a line that is not a note, teaches nothing."""
    text = ("华法林的剂量按INR调整。\n注：INR为国际标准化比值；DOACs为直接口服抗凝药；出血患者的处理见表5\n"
            "注：5-HT：5-羟色胺；NE：去甲肾上腺素\nCrCl为肌酐清除率；正文里的句子不是注释。\n")
    got = {(t.abbr, t.zh) for t in learn_terms(text)}
    assert got == {("INR", "国际标准化比值"), ("DOACs", "直接口服抗凝药"), ("5-HT", "5-羟色胺"), ("NE", "去甲肾上腺素")}


def test_a_bracket_pair_wins_over_the_note_that_repeats_it():
    text = "甲氨蝶呤（methotrexate，MTX）每周1次。\n注：MTX为甲氨蝶呤；T2T为达标治疗\n"
    assert learn_terms(text) == [LearntTerm("甲氨蝶呤", "methotrexate", "MTX"), LearntTerm("达标治疗", "", "T2T")]
