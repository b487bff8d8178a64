"""Who may host a quality-control center and who may staff it (Y§7–§12, Y§26). Pure functions, no I/O.

Every check returns the list of every violation it finds, each a Reason with its article and a
sentence naming the role, the people or numbers involved and the limit; an empty list means the
check passes. The numbers live in `states/staffing_policy.py`.

Dates follow the 民法典 way of counting periods in years (第二百零二条): a period of N years
ends on the corresponding day N years later, or on the month's last day when there is none
(29 February → 28 February). Age limits count completed years (周岁), and "不超过" includes the
figure: someone is within "≤60" until the day before their 61st birthday.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Optional

from states import staffing_policy as P
from states.rules import Reason

ROLES = {
    "director": "主任",
    "deputy": "副主任",
    "secretary": "秘书",
    "member": "成员",
    "advisor": "顾问",
}
GROUP_ROLES = {"leader": "组长", "deputy_leader": "副组长", "member": "组员"}
LEADER_ROLES = ("director", "deputy")


@dataclass(frozen=True)
class Member:
    """One person on a center's roster (or on the expert committee)."""

    name: str
    role: str  # director / deputy / secretary / member / advisor (ROLES)
    title: str  # professional title, e.g. 主任医师 (see staffing_policy.TITLE_TIERS)
    birth_date: date
    institution_code: str
    institution_county_level: Optional[bool]  # a county-level (县级) institution; None: its county is not recorded
    department_head: bool  # head of a department (科室/部门主任) or a higher post
    penalty_dates: tuple[date, ...]  # disciplinary penalties by higher authorities
    provincial_society_member: bool  # (former) member of a provincial society's specialty committee
    title_exception: str = ""  # recorded reason a 中级 title is accepted (Y§12)
    group: str = ""  # sub-specialty group (亚专业质控小组) name, if any
    group_role: str = ""  # leader / deputy_leader / member (GROUP_ROLES)


@dataclass(frozen=True)
class Roster:
    center_specialty: str
    host_institution_code: str
    members: tuple[Member, ...]
    size_justification: str = ""  # recorded special circumstances for 19–20 members (Y§10)


@dataclass(frozen=True)
class Applicant:
    institution_code: str
    institution_level: str  # e.g. 三级甲等
    special_center_reason: str  # why a special center is hosted by a non-三级甲等 institution (Y§8)
    major_incident_dates: tuple[date, ...]  # major quality-safety incidents (重大医疗质量安全事件)


@dataclass(frozen=True)
class ExpertCommittee:
    experts: tuple[Member, ...]


# --- dates --------------------------------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    """The corresponding day `years` later (or earlier); 29 February falls back to 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_on(birth_date: date, day: date) -> tuple[int, int]:
    """(completed years, days since the last birthday) on `day`."""
    years = day.year - birth_date.year
    if add_years(birth_date, years) > day:
        years -= 1
    return years, (day - add_years(birth_date, years)).days


def _age_text(birth_date: date, day: date) -> str:
    years, days = age_on(birth_date, day)
    return f"{years} 岁零 {days} 天" if days else f"{years} 岁"


def _over_age(birth_date: date, day: date, limit: int) -> bool:
    # "年龄不超过60岁" counts completed years (周岁), and "不超过" includes the figure (民法典 §1259):
    # a person is 60 until the day before the 61st birthday.
    return day >= add_years(birth_date, limit + 1)


def _within_years_before(events: Iterable[date], day: date, years: int) -> list[date]:
    """The events on or after the date `years` before `day`, up to `day` itself."""
    start = add_years(day, -years)
    return sorted(e for e in events if start <= e <= day)


def term_end(start: date) -> date:
    """Last day of a director's term that starts on `start` (Y§26: 4 years)."""
    return add_years(start, P.TERM_YEARS.value)


# --- titles -------------------------------------------------------------------------------------

def title_tier(title: str) -> Optional[str]:
    """The tier (正高/副高/中级/初级) of a professional title, or None when it is not in the catalogue."""
    cleaned = "".join((title or "").split())
    for tier, titles in P.TITLE_TIERS.items():
        if cleaned in titles:
            return tier
    return None


def _meets(tier: Optional[str], required: str) -> bool:
    return tier is not None and P.TIER_RANK[tier] >= P.TIER_RANK[required]


def _title_text(title: str, tier: Optional[str]) -> str:
    return f"{title}（{tier}）" if tier else f"“{title}”（不在职称目录中，无法认定级别）"


# --- institutions -------------------------------------------------------------------------------

def county_level(county: Optional[str]) -> Optional[bool]:
    """Whether an institution with this county is a county-level (县级) one: a county-level institution
    names its county (临溪县), a municipal one says 市本级. None when the county is blank: the Y§12
    county limit cannot be judged, and a blank must never count as "not county-level"."""
    cleaned = "".join((county or "").split())
    if not cleaned:
        return None
    return not cleaned.endswith(P.MUNICIPAL_COUNTY_SUFFIX)


# --- helpers ------------------------------------------------------------------------------------

def _names(people: Iterable[Member]) -> str:
    return "、".join(p.name for p in people)


def _with_names(people: list[Member]) -> str:
    return f"（{_names(people)}）" if people else ""


def _span(low: int, high: int) -> str:
    return f"{low}–{high}"


def _counted(roster: Roster) -> list[Member]:
    """The people counted as the center's members: everyone but the advisor (Y§10)."""
    return [m for m in roster.members if m.role != "advisor"]


# --- Y§10 ---------------------------------------------------------------------------------------

def check_structure(roster: Roster) -> list[Reason]:
    """Y§10: one director, 2–4 deputies (≤1 from the host unit), one secretary, ≤1 advisor, ≤18 members
    (≤20 with a recorded justification), ≤4 host-unit people, and the sub-specialty groups."""
    reasons: list[Reason] = []
    by_role = {role: [m for m in roster.members if m.role == role] for role in ROLES}
    host = roster.host_institution_code

    for m in roster.members:
        if m.role not in ROLES:
            options = "、".join(ROLES.values())
            reasons.append(Reason(P.STRUCTURE_RULE, f"{m.name} 的职务“{m.role}”无效，应为：{options}"))

    directors = by_role["director"]
    if len(directors) != P.DIRECTORS.value:
        reasons.append(Reason(P.DIRECTORS.rule,
                              f"主任应为 {P.DIRECTORS.value} 名，现有 {len(directors)} 名{_with_names(directors)}"))

    deputies = by_role["deputy"]
    if not P.DEPUTIES_MIN.value <= len(deputies) <= P.DEPUTIES_MAX.value:
        reasons.append(Reason(P.DEPUTIES_MIN.rule,
                              f"副主任应为 {_span(P.DEPUTIES_MIN.value, P.DEPUTIES_MAX.value)} 名，"
                              f"现有 {len(deputies)} 名{_with_names(deputies)}"))
    host_deputies = [m for m in deputies if m.institution_code == host]
    if len(host_deputies) > P.DEPUTIES_FROM_HOST_MAX.value:
        reasons.append(Reason(P.DEPUTIES_FROM_HOST_MAX.rule,
                              f"副主任 {len(deputies)} 人中挂靠单位 {len(host_deputies)} 人"
                              f"（{_names(host_deputies)}），超过 {P.DEPUTIES_FROM_HOST_MAX.value} 人上限"))

    secretaries = by_role["secretary"]
    if len(secretaries) != P.SECRETARIES.value:
        reasons.append(Reason(P.SECRETARIES.rule,
                              f"秘书应为 {P.SECRETARIES.value} 名，现有 {len(secretaries)} 名{_with_names(secretaries)}"))

    advisors = by_role["advisor"]
    if len(advisors) > P.ADVISORS_MAX.value:
        reasons.append(Reason(P.ADVISORS_MAX.rule,
                              f"顾问最多 {P.ADVISORS_MAX.value} 名，现有 {len(advisors)} 名（{_names(advisors)}）"))

    counted = _counted(roster)
    size = len(counted)
    justified = bool(roster.size_justification.strip())
    if size > P.MEMBERS_MAX_JUSTIFIED.value:
        reasons.append(Reason(P.MEMBERS_MAX_JUSTIFIED.rule,
                              f"成员总数（含主任、副主任和秘书，不含顾问）{size} 人，"
                              f"超过 {P.MEMBERS_MAX_JUSTIFIED.value} 人的最高上限，有特殊情况说明也不得超过"))
    elif size > P.MEMBERS_MAX.value and not justified:
        reasons.append(Reason(P.MEMBERS_MAX.rule,
                              f"成员总数（含主任、副主任和秘书，不含顾问）{size} 人，超过 {P.MEMBERS_MAX.value} 人上限；"
                              f"确需增至 {P.MEMBERS_MAX_JUSTIFIED.value} 人以内，须填写特殊情况说明"))

    host_people = [m for m in counted if m.institution_code == host]
    if len(host_people) > P.HOST_PEOPLE_MAX.value:
        reasons.append(Reason(P.HOST_PEOPLE_MAX.rule,
                              f"挂靠单位人员（不含顾问）{len(host_people)} 人（{_names(host_people)}），"
                              f"超过 {P.HOST_PEOPLE_MAX.value} 人上限"))

    reasons.extend(_check_groups(roster))
    return reasons


def _check_groups(roster: Roster) -> list[Reason]:
    rule = P.STRUCTURE_RULE
    reasons: list[Reason] = []
    groups: dict[str, list[Member]] = {}
    for m in roster.members:
        group = m.group.strip()
        if not group:
            if m.group_role:
                label = GROUP_ROLES.get(m.group_role, m.group_role)
                reasons.append(Reason(rule, f"{m.name} 填写了小组职务“{label}”，但未填写所属亚专业质控小组"))
            continue
        groups.setdefault(group, []).append(m)
        if m.group_role not in GROUP_ROLES:
            options = "、".join(GROUP_ROLES.values())
            reasons.append(Reason(rule, f"{m.name} 属于亚专业质控小组“{group}”，"
                                        f"但小组职务“{m.group_role}”无效，应为：{options}"))

    for group, people in groups.items():
        leaders = [m for m in people if m.group_role == "leader"]
        if len(leaders) != P.GROUP_LEADERS.value:
            reasons.append(Reason(P.GROUP_LEADERS.rule,
                                  f"亚专业质控小组“{group}”组长应为 {P.GROUP_LEADERS.value} 人，"
                                  f"现有 {len(leaders)} 人{_with_names(leaders)}"))
        deputies = [m for m in people if m.group_role == "deputy_leader"]
        if not P.GROUP_DEPUTY_LEADERS_MIN.value <= len(deputies) <= P.GROUP_DEPUTY_LEADERS_MAX.value:
            reasons.append(Reason(P.GROUP_DEPUTY_LEADERS_MIN.rule,
                                  f"亚专业质控小组“{group}”副组长应为 "
                                  f"{_span(P.GROUP_DEPUTY_LEADERS_MIN.value, P.GROUP_DEPUTY_LEADERS_MAX.value)} 人，"
                                  f"现有 {len(deputies)} 人{_with_names(deputies)}"))
        if len(people) > P.GROUP_SIZE_MAX.value:
            reasons.append(Reason(P.GROUP_SIZE_MAX.rule,
                                  f"亚专业质控小组“{group}”共 {len(people)} 人，超过 {P.GROUP_SIZE_MAX.value} 人上限"))
    return reasons


# --- Y§11 ---------------------------------------------------------------------------------------

def check_leaders(roster: Roster, appointment_date: date) -> list[Reason]:
    """Y§11: the director and every deputy hold a 正高 title, head a department or more, are at most
    60 on the appointment date, had no penalty in the 3 years before it, and sit on a provincial
    society's specialty committee."""
    reasons: list[Reason] = []
    penalty_window_start = add_years(appointment_date, -P.LEADER_PENALTY_FREE_YEARS.value)
    for m in roster.members:
        if m.role not in LEADER_ROLES:
            continue
        who = f"{ROLES[m.role]} {m.name}"
        tier = title_tier(m.title)
        if not _meets(tier, P.LEADER_MIN_TITLE.tier):
            reasons.append(Reason(P.LEADER_MIN_TITLE.rule,
                                  f"{who} 的职称为{_title_text(m.title, tier)}，须为{P.LEADER_MIN_TITLE.tier}级职称"))
        if not m.department_head:
            reasons.append(Reason(P.LEADER_RULE,
                                  f"{who} 未担任科室（部门）主任或以上领导职务"))
        if _over_age(m.birth_date, appointment_date, P.LEADER_MAX_AGE.value):
            reasons.append(Reason(P.LEADER_MAX_AGE.rule,
                                  f"{who}（{m.birth_date.isoformat()} 出生）在任命日 {appointment_date.isoformat()} "
                                  f"年龄 {_age_text(m.birth_date, appointment_date)}，"
                                  f"超过 {P.LEADER_MAX_AGE.value} 岁上限"))
        penalties = _within_years_before(m.penalty_dates, appointment_date, P.LEADER_PENALTY_FREE_YEARS.value)
        if penalties:
            dates = "、".join(d.isoformat() for d in penalties)
            reasons.append(Reason(P.LEADER_PENALTY_FREE_YEARS.rule,
                                  f"{who} 在任命日 {appointment_date.isoformat()} 前 "
                                  f"{P.LEADER_PENALTY_FREE_YEARS.value} 年内（{penalty_window_start.isoformat()} 起）"
                                  f"受过处罚：{dates}"))
        if not m.provincial_society_member:
            reasons.append(Reason(P.LEADER_RULE,
                                  f"{who} 未担任（含曾经担任）省医学会相关专业委员会委员以上职务"
                                  f"或其他相关学术团体相应职务"))
    return reasons


# --- Y§12 ---------------------------------------------------------------------------------------

def check_members(roster: Roster) -> list[Reason]:
    """Y§12: secretary and members hold 副高 or above (中级 only with a recorded exception); at most one
    expert from the same county-level institution. The director's and deputies' titles are checked
    by the stricter Y§11; the advisor is not a member (Y§10)."""
    reasons: list[Reason] = []
    required = P.MEMBER_MIN_TITLE.tier
    relaxed = P.MEMBER_EXCEPTION_MIN_TITLE.tier
    for m in _counted(roster):
        if m.role in LEADER_ROLES:
            continue
        who = f"{ROLES.get(m.role, m.role)} {m.name}"
        tier = title_tier(m.title)
        if _meets(tier, required):
            continue
        if tier == relaxed and m.title_exception.strip():
            continue
        if tier == relaxed:
            message = (f"{who} 的职称为{_title_text(m.title, tier)}，须为{required}及以上；"
                       f"特殊专业放宽为{relaxed}职称须记录放宽理由")
        else:
            message = (f"{who} 的职称为{_title_text(m.title, tier)}，须为{required}及以上"
                       f"（特殊专业最低放宽为{relaxed}职称）")
        reasons.append(Reason(P.MEMBER_MIN_TITLE.rule, message))

    by_county_institution: dict[str, list[Member]] = {}
    unknown = sorted({m.institution_code or "（未登记单位）" for m in _counted(roster) if m.institution_county_level is None})
    for code in unknown:
        people = [m for m in _counted(roster) if m.institution_county_level is None
                  and (m.institution_code or "（未登记单位）") == code]
        reasons.append(Reason(P.SAME_COUNTY_INSTITUTION_MAX.rule,
                              f"{_names(people)} 所在单位 {code} 未登记所属县（county），无法核对同一县级机构专家"
                              f"不超过 {P.SAME_COUNTY_INSTITUTION_MAX.value} 名的限制；请在名录中填写 county"
                              f"（县级机构填县名，市级机构填“市本级”）"))
    for m in _counted(roster):
        if m.institution_county_level:
            by_county_institution.setdefault(m.institution_code, []).append(m)
    for code, people in by_county_institution.items():
        if len(people) > P.SAME_COUNTY_INSTITUTION_MAX.value:
            reasons.append(Reason(P.SAME_COUNTY_INSTITUTION_MAX.rule,
                                  f"县级医疗卫生机构 {code} 有 {len(people)} 名专家（{_names(people)}），"
                                  f"超过同一县级机构 {P.SAME_COUNTY_INSTITUTION_MAX.value} 名上限"))
    return reasons


def check_roster(roster: Roster, appointment_date: date) -> list[Reason]:
    """Every Y§10, Y§11 and Y§12 violation of a proposed or changed roster."""
    return check_structure(roster) + check_leaders(roster, appointment_date) + check_members(roster)


# --- Y§8 ----------------------------------------------------------------------------------------

def _normalized(text: str) -> str:
    return "".join((text or "").split())


def specialty_key(name: str) -> str:
    """The specialty a name stands for, whatever its spelling: full-width forms folded (NFKC), every
    space removed (full-width ones too), case folded, and the 中心 suffixes dropped, so that
    "　心血管内科 ", "心血管内科质控中心" and "心血管内科医疗质量控制中心" are one specialty (Y§8)."""
    key = _normalized(unicodedata.normalize("NFKC", name or "")).casefold()
    for suffix in P.SPECIALTY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def specialty_taken(specialty: str, existing_specialties: Iterable[str]) -> Optional[str]:
    """The existing specialty that `specialty` duplicates (Y§8), or None."""
    wanted = specialty_key(specialty)
    return next((s for s in existing_specialties if specialty_key(s) == wanted), None)


def check_specialty_unique(specialty: str, existing_specialties: Iterable[str]) -> list[Reason]:
    """Y§8: one center per specialty at this level, the names compared as specialty_key does."""
    taken = specialty_taken(specialty, existing_specialties)
    if taken is None:
        return []
    same = "" if _normalized(taken) == _normalized(specialty) else f"（与已设的“{taken}”为同一专业）"
    return [Reason(P.CENTERS_PER_SPECIALTY.rule,
                   f"专业“{_normalized(specialty)}”已设有本级质控中心{same}，同一专业领域原则上只设 "
                   f"{P.CENTERS_PER_SPECIALTY.value} 个，不能重复申请")]


def check_eligibility(applicant: Applicant, specialty: str, existing_specialties: set[str],
                      today: date) -> list[Reason]:
    """Y§8: one center per specialty at this level; a 三级甲等 host unless a special center's reason is
    recorded; no major quality-safety incident in the 3 years before `today`."""
    reasons: list[Reason] = check_specialty_unique(specialty, existing_specialties)

    level = _normalized(applicant.institution_level)
    level = P.HOST_INSTITUTION_LEVEL_ALIASES.get(level, level)
    if level != P.HOST_INSTITUTION_LEVEL and not applicant.special_center_reason.strip():
        reasons.append(Reason(P.HOST_INSTITUTION_LEVEL_RULE,
                              f"申请单位 {applicant.institution_code} 的等级为“{applicant.institution_level or '未填写'}”，"
                              f"原则上须为{P.HOST_INSTITUTION_LEVEL}综合医院；功能、性质特殊的质控中心挂靠其他机构，"
                              f"须填写特殊情况理由"))

    incidents = _within_years_before(applicant.major_incident_dates, today, P.INCIDENT_FREE_YEARS.value)
    if incidents:
        start = add_years(today, -P.INCIDENT_FREE_YEARS.value)
        dates = "、".join(d.isoformat() for d in incidents)
        reasons.append(Reason(P.INCIDENT_FREE_YEARS.rule,
                              f"申请单位 {applicant.institution_code} 在 {today.isoformat()} 前 "
                              f"{P.INCIDENT_FREE_YEARS.value} 年内（{start.isoformat()} 起）"
                              f"发生过重大医疗质量安全事件：{dates}"))
    return reasons


# --- Y§7 ----------------------------------------------------------------------------------------

def check_expert_committee(committee: ExpertCommittee, today: date) -> list[Reason]:
    """Y§7: at most 25 experts, each with a senior title (副高 or above) and at most 70 years old."""
    reasons: list[Reason] = []
    size = len(committee.experts)
    if size > P.EXPERT_COMMITTEE_MAX.value:
        reasons.append(Reason(P.EXPERT_COMMITTEE_MAX.rule,
                              f"专家委员会共 {size} 人，超过 {P.EXPERT_COMMITTEE_MAX.value} 人上限"))
    for e in committee.experts:
        tier = title_tier(e.title)
        if not _meets(tier, P.EXPERT_MIN_TITLE.tier):
            reasons.append(Reason(P.EXPERT_MIN_TITLE.rule,
                                  f"委员 {e.name} 的职称为{_title_text(e.title, tier)}，"
                                  f"须具有高级技术职务（{P.EXPERT_MIN_TITLE.tier}及以上）"))
        if _over_age(e.birth_date, today, P.EXPERT_MAX_AGE.value):
            reasons.append(Reason(P.EXPERT_MAX_AGE.rule,
                                  f"委员 {e.name}（{e.birth_date.isoformat()} 出生）在 {today.isoformat()} "
                                  f"年龄 {_age_text(e.birth_date, today)}，超过 {P.EXPERT_MAX_AGE.value} 岁上限"))
    return reasons


# --- Y§26 ---------------------------------------------------------------------------------------

def consecutive_terms(terms: Iterable[tuple[date, date]], start: date) -> int:
    """How many terms in an unbroken chain end where a term starting on `start` would begin: a term
    counts when it ends on or after the day before the next one starts (a term cut short by
    removal counts as served). Terms that start on or after `start` are not behind it."""
    chain, edge = 0, start
    for term_start, term_stop in sorted(((a, b) for a, b in terms if a < start), reverse=True):
        if term_stop < edge - timedelta(days=1):
            break
        chain, edge = chain + 1, term_start
    return chain


def check_reappointment(consecutive_terms_served: int) -> list[Reason]:
    """Y§26: a director who has served the maximum of consecutive terms may not start another."""
    if consecutive_terms_served < 0:
        raise ValueError("已连续任职届数不能为负数")
    limit = P.CONSECUTIVE_TERMS_MAX
    if consecutive_terms_served >= limit.value:
        return [Reason(limit.rule,
                       f"已连续任职 {consecutive_terms_served} 届，不能再连任第 {consecutive_terms_served + 1} 届；"
                       f"质控中心主任原则上连任不超过 {limit.value} 届")]
    return []
