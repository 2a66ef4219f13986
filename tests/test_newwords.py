"""New-word discovery (assistant.newwords) with the real jieba: a guideline's drug that jieba's dictionary
lacks is learnt from the text, and a question then cuts it as the index does."""
from __future__ import annotations

import jieba

from assistant.newwords import discover, install

TEXT = "\n".join([
    "华法林是维生素K拮抗剂。服用华法林的患者应定期监测INR。",
    "启动华法林前应评估出血风险；华法林起始剂量为3 mg/d。",
    "胺碘酮可增强华法林作用，联用胺碘酮时华法林减量。",
    "老年患者对华法林更敏感，停用胺碘酮后应复查。",
    "漏服华法林时不应加倍。胺碘酮与华法林合用需监测。",
    "使用胺碘酮的患者，华法林剂量宜低；胺碘酮停药后调整。",
    "心律失常常需加胺碘酮，或换用决奈达隆及胺碘酮类药物。",
] * 2)


def test_a_drug_jieba_does_not_know_is_learnt_and_phrases_around_it_are_not():
    words = discover([TEXT])
    assert "华法林" in words and "胺碘酮" in words
    assert not [w for w in words if w != "华法林" and "华法林" in w]  # 服用华法林, 时华法林: phrases
    assert "的患者" not in words and "患者" not in words  # not cohesive / already a jieba word


def test_installed_words_cut_a_question_like_the_index():
    install(discover([TEXT]))
    assert "华法林" in jieba.lcut("刚开始吃华法林第三天") and "胺碘酮" in jieba.lcut("要加胺碘酮")


def test_the_tail_of_longer_words_is_not_taught():
    """功能不全 of 肾功能不全: taught alone, jieba would cut 肝 off 肝功能不全 and lose the organ."""
    kidney = "肾功能不全患者应减量，肾功能不全者慎用，合并肾功能不全时监测，伴肾功能不全或透析，对于肾功能不全的老年人，"
    liver = "肝功能不全患者应减量，肝功能不全者慎用，合并肝功能不全时监测，伴肝功能不全或腹水，对于肝功能不全的老年人，"
    words = discover([kidney * 2 + liver * 2])
    assert "功能不全" not in words


def test_very_common_english_words_are_phrasing():
    from assistant.lexicon import is_phrasing

    assert all(is_phrasing(w) for w in ("has", "more", "after", "within", "once"))
    assert not any(is_phrasing(w) for w in ("warfarin", "bleeding", "surgery", "days", "kidney"))
