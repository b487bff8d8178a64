"""Numbers and lists the staffing and eligibility rules depend on (Y§7–§12, Y§26), each with its article.

Another city or province changes them here, not in `states/staffing.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

from states.policy import Limit


@dataclass(frozen=True)
class TitleRequirement:
    """The lowest title tier a post accepts (a tier name of TITLE_TIERS)."""

    tier: str
    rule: str


# --- Y§7: the city QC expert committee (市级医疗质量控制中心专家委员会) ---------------------------
EXPERT_COMMITTEE_MAX = Limit(25, "Y§7")          # 委员不超过 25 名 (the whole committee, chair included)
EXPERT_MAX_AGE = Limit(70, "Y§7")                # 年龄不超过 70 岁
EXPERT_MIN_TITLE = TitleRequirement("副高", "Y§7")  # 具有高级技术职务: 副高 or 正高

# --- Y§8: who may host a center ---------------------------------------------------------------
CENTERS_PER_SPECIALTY = Limit(1, "Y§8")          # 同一专业领域和专业方向原则上只设定一个本级质控中心
HOST_INSTITUTION_LEVEL = "三级甲等"               # 原则上应当为市级三级甲等综合医院
HOST_INSTITUTION_LEVEL_RULE = "Y§8"
HOST_INSTITUTION_LEVEL_ALIASES = {"三甲": "三级甲等", "三级甲等医院": "三级甲等"}
INCIDENT_FREE_YEARS = Limit(3, "Y§8")            # 三年内未发生重大医疗质量安全事件
# Spellings of one specialty differ only by these endings (compared after NFKC and case folding).
SPECIALTY_SUFFIXES = ("医疗质量控制中心", "质量控制中心", "质控中心", "专业", "中心")

# --- Y§10: organisation of a center -----------------------------------------------------------
STRUCTURE_RULE = "Y§10"                          # roles and sub-specialty group roles themselves
DIRECTORS = Limit(1, "Y§10")                     # 设主任 1 名
DEPUTIES_MIN = Limit(2, "Y§10")                  # 副主任 2-4 名
DEPUTIES_MAX = Limit(4, "Y§10")
DEPUTIES_FROM_HOST_MAX = Limit(1, "Y§10")        # 其中挂靠单位人数不超过 1 名
SECRETARIES = Limit(1, "Y§10")                   # 秘书 1 名
ADVISORS_MAX = Limit(1, "Y§10")                  # 可酌情设顾问 1 名
MEMBERS_MAX = Limit(18, "Y§10")                  # 成员总数（含主任、副主任和秘书，不含顾问）原则上不超过 18 人
MEMBERS_MAX_JUSTIFIED = Limit(20, "Y§10")        # 特殊情况可酌情增加，最多不超过 20 人
HOST_PEOPLE_MAX = Limit(4, "Y§10")               # 挂靠单位人员总数原则上不超过 4 人（不含顾问）
GROUP_LEADERS = Limit(1, "Y§10")                 # 亚专业质控小组设组长 1 人
GROUP_DEPUTY_LEADERS_MIN = Limit(1, "Y§10")      # 副组长 1—2 人
GROUP_DEPUTY_LEADERS_MAX = Limit(2, "Y§10")
GROUP_SIZE_MAX = Limit(10, "Y§10")               # 总人数不超过 10 人

# --- Y§11: director and deputies (副主任的任职条件比照主任) ----------------------------------------
LEADER_RULE = "Y§11"                             # department head or above; provincial society membership
LEADER_MIN_TITLE = TitleRequirement("正高", "Y§11")  # 具有正高级职称
LEADER_MAX_AGE = Limit(60, "Y§11")               # 年龄一般不超过 60 岁 (on the appointment date)
LEADER_PENALTY_FREE_YEARS = Limit(3, "Y§11")     # 三年内未因违纪违规受到上级相关部门处罚

# --- Y§12: members --------------------------------------------------------------------------
MEMBER_MIN_TITLE = TitleRequirement("副高", "Y§12")        # 副高及以上职称
MEMBER_EXCEPTION_MIN_TITLE = TitleRequirement("中级", "Y§12")  # 特殊专业可以放宽为中级职称 (recorded)
SAME_COUNTY_INSTITUTION_MAX = Limit(1, "Y§12")   # 同一县级医疗卫生机构专家原则上不超过 1 名
MUNICIPAL_COUNTY_SUFFIX = "本级"                  # a municipal institution's county reads 市本级; blank is refused

# --- Y§26: terms ----------------------------------------------------------------------------
TERM_YEARS = Limit(4, "Y§26")                    # 每届聘期 4 年
CONSECUTIVE_TERMS_MAX = Limit(2, "Y§26")         # 原则上连任不超过两届

# --- Professional titles (专业技术职务) by tier, highest first --------------------------------
# Health titles (卫生系列: 医、药、护、技), with research, teaching and engineering equivalents that
# hospital staff commonly hold. The tier names themselves are accepted for forms that record only
# the tier. A title not listed here cannot be recognised and is refused with a clear message.
TITLE_TIERS: dict[str, frozenset[str]] = {
    "正高": frozenset({
        "正高", "正高级",
        "主任医师", "主任中医师", "主任护师", "主任药师", "主任中药师", "主任技师",
        "研究员", "教授", "正高级工程师", "正高级实验师", "正高级统计师", "正高级会计师",
    }),
    "副高": frozenset({
        "副高", "副高级",
        "副主任医师", "副主任中医师", "副主任护师", "副主任药师", "副主任中药师", "副主任技师",
        "副研究员", "副教授", "高级工程师", "高级实验师", "高级统计师", "高级会计师",
    }),
    "中级": frozenset({
        "中级",
        "主治医师", "主治中医师", "主管护师", "主管药师", "主管中药师", "主管技师",
        "助理研究员", "讲师", "工程师", "实验师", "统计师", "会计师",
    }),
    "初级": frozenset({
        "初级",
        "医师", "住院医师", "中医师", "护师", "护士", "药师", "药士", "中药师", "技师", "技士",
        "研究实习员", "助教", "助理工程师", "助理实验师", "助理统计师", "助理会计师",
    }),
}
# Rank of each tier: higher is more senior.
TIER_RANK: dict[str, int] = {"正高": 4, "副高": 3, "中级": 2, "初级": 1}

# Establishment and expert review (Y§13, Y§21)
EXPERTS_PER_REVIEW = Limit(3, "Y§13")            # experts assigned to one application (default)
EXPERT_REVIEW_WORKING_DAYS = Limit(10, "Y§13")   # experts answer within this many working days
MATERIALS_CHECK_WORKING_DAYS = Limit(5, "Y§9")
INDICATORS_DUE_MONTHS = Limit(3, "Y§21")         # indicators, standards and assessment plan after establishment
