"""What a question asks for (a duration, a rate, a dose, a list, a reference…) and what a sentence
can give: the attribute half of answerability (`support`), computed for every sentence at index build.
"""
from __future__ import annotations

import re

from .quantities import parse_quantities

__all__ = ["ATTRIBUTES", "asked_attributes", "sentence_attributes", "counts_asked_noun", "LIST_QUESTION", "LIST_HEADER",
           "ENUMERATION", "MEANING_QUESTION", "asking_spans", "within", "BOUND", "STUDY_REPORT", "ACTION_QUESTION", "EVIDENCE_QUESTION"]

# What kind of answer a question wants (question pattern), and how a sentence can give it.
ATTRIBUTES: dict[str, re.Pattern[str]] = {k: re.compile(v, re.I) for k, v in {
    "cost": r"多少钱|费用|价格|价钱|花费|花多少|贵不贵|医保|报销|自费|掏钱|\bcosts?\b|\bprice|expensive|insurance|afford",
    "sessions": r"几次|多少次|几针|多少针|几个疗程|how many\b.{0,20}\b(shots|injections|sessions|times|treatments)",
    # how often, not how long or how many: "多久查一次INR", "how often can it be repeated"
    "frequency": r"how often|how frequently|\bfrequency\b|at what intervals?|how many times (a|per|each)|"
                 r"多[久长][^，。？?]{0,6}一次|几[天周月][^，。？?]{0,4}一次|频率|频次|间隔多|[一每][天日周月]几次",
    "duration": r"多久|多长时间|多长|几天|几周|几个月|几年|多少天|多少周|多少个月|多少年|何时|什么时候|啥时候|什么时间|几点|how long|"
                r"how many (days|weeks|months|years|hours)|how soon|when can|duration",
    "percent": r"比例|百分之|百分比|发生率|有效率|成功率|概率|几率|占多少|\brates?\b|percent|percentage|proportion|"
               r"how (common|likely)|incidence",
    "count": r"多少个|几个|多少名|多少例|多少人|几名|几例|多少位|how many|number of",
    "dose": r"剂量|用量|多大量|\bdoses?\b|dosage",  # "how much" asks for an amount (of anything)
    # a cut-off, not any amount: "血小板计数低于多少不能做PRP", "below what TTR" (the answer states a bound: "＜60%")
    "threshold": r"(低于|高于|超过|不足|小于|大于|少于)\s*多少|多少\s*(以上|以下)|below what|above what|"
                 r"(what|which) (cut-?off|threshold)",
    "volume": r"[多少几]+\s*(毫升|ml\b|cc\b)|how many (ml|millilit)|how much\b.{0,30}\b(ml|millilit\w*)\b",  # 抽多少毫升骨髓
    "provider": r"品牌|牌子|厂家|厂商|哪家公司|哪家医院|哪个医院|哪里(可以|能)做|\bbrands?\b|manufacturer|which (company|hospital|clinic)",
    "stop": r"停|\bstop|\bpause|\bhold (off|it)|discontinu|withh",
    # an upper limit, not any amount: "最多能吃到多少", "最大剂量", "max dose" (the 25 mg/周 ceiling, not the 起始剂量)
    "maximum": r"最多(?!见|的是)|最大(?!疗效|效果|获益|程度|的)|最高(?!风险|级)|上限|封顶|至多|\bmax(imum)?\b|\bat most\b|"
               r"\bhighest (dose|daily|weekly)|\bupper limit|\bceiling\b|how high can",
    "amount": r"多少|几[个天周月年次名例岁倍]|多大|多高|多低|多长|多重|什么水平|阈值|临界值|how (much|many|high|low|big)|"
              r"what (percentage|proportion|number)|(what|which) ([\w\-]+ )?(level|value|threshold|cut-?off|concentration)s?\b"
              r"(?! of (evidence|recommendation))",
    # the grade a recommendation carries: "推荐强度是什么", "A级还是B级", "level of evidence" (not any evidence)
    "grade": r"推荐等级|证据等级|证据级别|推荐强度|推荐级别|[A-D]级还是|level of evidence|evidence level|"
             r"strength of (the )?recommendation|grade of (the )?recommendation|how strong is the recommendation",
    "contact": r"电话|地址|联系方式|预约|挂号|官网|网址|热线|hotline|phone|address|appointment|website|contact|where can i (get|buy)",
    "bibliographic": r"\bDOI\b|参考文献\s*(第\s*)?\[?\d|第\s*\d+\s*[条篇](参考)?文献|文献\s*\[\d|第一作者|通信作者|通讯作者|作者是|基金|资助|哪个期刊|哪本杂志|发表在|"
                     r"收稿|reference\s*\[?\d|first author|corresponding author|\bgrant|funded|which journal|published in",
}.items()}
_TIME_UNITS = {"day", "week", "month", "hour"}
# A time of day or of a meal answers "什么时候吃" as a date does ("推荐在下午或晚上服用", "at bedtime").
_TIME_OF_DAY = re.compile(r"早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜间|睡前|饭前|饭后|餐前|餐后|空腹|"
                          r"\b(in the (morning|afternoon|evening)|at (night|bedtime)|before (meals|breakfast)|after meals)\b", re.I)
_SHORT_TIME = re.compile(r"\d\s*(分钟|min\b|minutes?\b|秒|seconds?\b)", re.I)  # not units of `quantities`
_COST_WORDS = re.compile(r"费用|价格|成本|花费|医保|报销|自费|美元|元|cost|price|expens|insur|dollar|USD", re.I)
_SESSION = re.compile(r"\d\s*(次|针|个疗程)|[一二两三四五六七八九十]\s*(次|针|个疗程)|\b\d+\s*(sessions?|injections?|times)\b|"
                      r"\b(once|twice|single|one|two|three)\s+(session|injection|shot)s?", re.I)
# A frequency or an interval: "once daily", "every 4 weeks", "每2～4周1次", "3次/周", "not repeated within".
_FREQUENCY = re.compile(r"\b(once|twice|thrice)\b|\btimes\s+(a|per|daily|weekly)\b|\b(daily|weekly|monthly|fortnightly|"
                        r"hourly|nightly|annually|yearly)\b|\bevery\b|\bq\d+[hdw]\b|\b(bid|tid|qid)\b|\brepeat|"
                        r"每[隔]?\s*[\d.～~\-一二两三四五六七八九十半]*\s*个?(小时|[天日周月年])|[\d一二两三四]\s*次\s*/\s*[日天周月]|"
                        r"间隔\s*约?\s*\d", re.I)  # not "按推荐频率完成监测": naming a frequency is not giving one
# An upper limit given as a figure: "最大剂量不超过25 mg/周", "最大剂量 · 口服: 25 mg/周", "to a maximum of 2 g/day",
# "a diameter of < 25 μm" (a bound is a limit too; only a question asking for a maximum reads it).
_MAXIMUM = re.compile(r"(?:不超过|不宜超过|不得超过|不应超过|不要超过|不可超过|至多|最多|小于|低于|[<≤＜]|no more than|"
                      r"not (?:to )?exceed(?:ing)?|up to|at most|maximum of|ceiling of|less than|below|under)\s*\d|"
                      r"(?:最大|最高|上限|maximum|max\.?|highest|upper limit)\s*(?:[\u4e00-\u9fff]{0,2}(?:剂量|用量|量)|"
                      r"(?:daily |weekly |total |single )?doses?)?(?:[\s·:：,，=（）()]|为|是|约|口服|皮下注射|静脉注射|"
                      r"of|is|orally|oral)*\d", re.I)
BOUND = re.compile(r"[<>≤≥＜＞⩽⩾]\s*=?\s*\d|(低于|高于|超过|不足|小于|大于|少于|不低于|不超过|不少于|未达到?|达到)\s*\d|"
                    r"\d[^，,。；;]{0,10}(以上|以下|以内)|\b(below|above|under|over|less than|more than|greater than|"
                    r"at least|exceed(s|ing)?)\s*\d", re.I)
# A grade given: "（证据等级：C，推荐强度：强）", "A级推荐", "(strong; evidence: moderate)" (not "证据等级:PRP 治疗…").
_GRADE_GIVEN = re.compile(r"(证据等级|证据级别|推荐强度|推荐等级|推荐级别)\s*[:：为是]?\s*[A-D1-5ⅠⅡⅢⅣ强弱中高低]|"
                          r"[A-D]\s*级(推荐|证据)|\b(strong|conditional|weak)\s*;\s*evidence|evidence:\s*(high|moderate|low|very low)|"
                          r"\b(level|grade) (of evidence )?[A-D1-5]\b", re.I)
_VOLUME = re.compile(r"\d\s*(?:ml|毫升|cc)(?![A-Za-z])", re.I)
_PROVIDER = re.compile(r"®|™|品牌|厂家|厂商|\bbrand|manufacturer", re.I)
_STOP_WORDS = re.compile(r"停|stop|pause|discontinu|withh|hold", re.I)
_BIBLIO = re.compile(r"\bDOI\b|《[^》]{2,40}》\s*(杂志|期刊)|杂志(发表|刊登)|\bjournal\b|基金|grant|funded", re.I)
_CONTACT = re.compile(r"\d{3,4}[- ]?\d{7,8}|1[3-9]\d{9}|https?://|www\.|地址[:：]|电话[:：]|热线", re.I)
# A dose is an amount of a drug or cells ("3 mg/d", "25 IU/kg", "5000 万个细胞", "剂量减少25%"), not any
# figure ("CHA2DS2-VASc评分≥2分", "INR≤3.0时开始服用利伐沙班").
_DOSE = re.compile(r"\d\s*(mg|g|μg|µg|ug|mcg|IU|U|ml|mL|mmol|毫克|微克|克|毫升|单位|片|粒|丸|贴|支|袋|万|亿|million|billion)"
                   r"(?![A-Za-z])|"
                   r"剂量|用量|\bdos(e|es|age|ing)\b", re.I)
_DIGIT = re.compile(r"\d|[一二两三四五六七八九十百千万亿]+[个名例次]")
# A question asking for a list, and a sentence that gives one (a header or an enumeration).
LIST_QUESTION = re.compile(r"哪些|有哪几|包括什么|包括哪|都有什么|有什么(?!用|区别|不同)|列出|\blist\b|what are the|"
                           r"which (conditions|patients|drugs|factors|items|signs)|name the", re.I)
# A question about what a short form means: only then is a note's "MTX为甲氨蝶呤" an answer (`terms.DEFINITION`).
MEANING_QUESTION = re.compile(r"什么意思|啥意思|是什么的(缩写|简称)|全称|缩写|简称|代表什么|指什么|是指什么|"
                              r"stands? for|abbreviation|acronym|what does \S+ mean", re.I)
# A sentence reporting what one study found ("一项多中心研究显示…复发率为21.4%", "In a randomised trial, …"): the
# evidence for a recommendation, not the recommendation a "怎么减量" question asks for (`ACTION_QUESTION`), unless
# evidence is asked for (`EVIDENCE_QUESTION`); a review's findings still answer "让多少膝关节避免了置换".
STUDY_REPORT = re.compile(r"(研究|试验|分析|RCT|数据)(显示|发现|表明|证实|提示|报道)|随机对照试验|队列研究|\bRCT\b|"
                          r"\b(trial|study|studies|cohort|meta-analysis)\b[^.;]{0,60}\b(showed|found|reported|demonstrated|"
                          r"lowered|reduced)\b|\bin a (randomi[sz]ed|withdrawal|cohort|population)\b", re.I)
# A question about what to do ("怎么减量", "能用MTX吗", "should it be stopped"), not about what a treatment achieved.
ACTION_QUESTION = re.compile(r"怎么(办|处理|调|减|用|吃|加|停|换|给)|如何(处理|使用|调整|减量|用药|给药)|应该|应当|要不要|需不需要|"
                             r"是否需要|能(用|吃|开|打|合用)|可以(用|吃|开|打|合用)|\bshould\b|\bhow (to|do (i|we|you))\b|"
                             r"\bcan (i|we|he|she|they|it|a patient|patients)\b", re.I)
EVIDENCE_QUESTION = re.compile(r"研究|数据|证据|试验|文献|RCT|Meta|荟萃|\b(trials?|stud(y|ies)|evidence|data|cohort|"
                               r"meta-analys\w*|research)\b", re.I)
LIST_HEADER = re.compile(r"[：:]\s*$|包括\s*$")
ENUMERATION = re.compile(r"(包括|如下|以下)[^。]*[：:]|[①⑴]|（1）|\(1\)|[^、]+、[^、]+、[^、]+")

_ASKING = ("frequency", "duration", "count", "amount", "sessions", "maximum", "volume", "threshold")  # interrogative cues


def within(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """The span [start, end) lies inside one of `spans`."""
    return any(a <= start and end <= b for a, b in spans)


def asking_spans(question: str) -> list[tuple[int, int]]:
    """Where the question asks ("多长时间", "几个月", "最多能"): a word the corpus lacks there is how it asks."""
    return [m.span() for k in _ASKING for m in ATTRIBUTES[k].finditer(question)]


def asked_attributes(question: str) -> list[str]:
    """Attributes the question asks for; a 'how many sessions' question is not a count question."""
    found = [k for k, rx in ATTRIBUTES.items() if rx.search(question)]
    if ("sessions" in found or "volume" in found) and "count" in found:
        found.remove("count")  # "how many shots", "how many ml": what is counted says what kind of amount
    if "frequency" in found:  # "多久查一次": not a duration; "how many times a day": not a count
        spans = [m.span() for m in ATTRIBUTES["frequency"].finditer(question)]
        found = [a for a in found if a not in ("duration", "count", "sessions")
                 or not all(within(*m.span(), spans) for m in ATTRIBUTES[a].finditer(question))]
    if "stop" in found and len(found) > 1:
        found.remove("stop")  # "停几天": the duration sentence of a washout already says 停
    if "amount" in found and len(found) > 1:
        found.remove("amount")  # a more specific attribute says what kind of amount
    return found


# Attributes a sentence gives by a cue alone, whatever its amounts ("冷敷15分钟" is a duration: minutes are no
# unit of `quantities`).
_CUES = (("contact", _CONTACT), ("bibliographic", _BIBLIO), ("stop", _STOP_WORDS), ("provider", _PROVIDER),
         ("duration", _SHORT_TIME), ("duration", _TIME_OF_DAY), ("cost", _COST_WORDS), ("sessions", _SESSION), ("frequency", _FREQUENCY),
         ("maximum", _MAXIMUM), ("volume", _VOLUME), ("threshold", BOUND), ("grade", _GRADE_GIVEN))


def sentence_attributes(text: str) -> frozenset[str]:
    """Attributes a sentence can answer, from the amounts it states."""
    out = set()
    qs = parse_quantities(text)
    if qs or _DIGIT.search(text):
        out |= {"count", "amount"}
        if _DOSE.search(text):
            out.add("dose")
    out |= {attr for attr, rx in _CUES if rx.search(text)}
    for q in qs:
        if q.unit in _TIME_UNITS or (q.unit == "year" and not 1900 <= q.low <= 2100 and "岁" not in q.text):
            out.add("duration")
        if q.unit == "percent":
            out.add("percent")
        if q.unit in ("usd", "cny"):
            out.add("cost")
    if LIST_HEADER.search(text) or ENUMERATION.search(text):
        out.add("list")
    return frozenset(out)


def counts_asked_noun(text: str, concepts: list) -> bool:
    """"298个膝关节" for "纳入了多少个膝关节": a number right before the noun the question counts."""
    return any(c.word and not c.word.isascii() and re.search(rf"\d\s*[个名例项位]?{re.escape(c.word)}", text)
               for c in concepts)
