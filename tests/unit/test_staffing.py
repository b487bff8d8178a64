"""Eligibility and staffing rules of Workflow 2 (Y§7–§12, Y§26): a valid roster passes every check;
for every limit, the smallest change that breaks it is refused with the article and the people or
numbers involved. All names are fictional."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from states import staffing_policy as P
from states.policy import Limit
from states.rules import Reason
from states.staffing import (
    Applicant,
    ExpertCommittee,
    Member,
    Roster,
    check_eligibility,
    check_expert_committee,
    check_leaders,
    check_members,
    check_reappointment,
    check_roster,
    check_structure,
    consecutive_terms,
    county_level,
    specialty_key,
    specialty_taken,
    term_end,
    title_tier,
)

HOST = "H001"
APPOINTED = date(2026, 5, 1)
TODAY = date(2026, 5, 1)


def person(name: str, role: str = "member", title: str = "副主任医师", *, birth: date = date(1975, 6, 1),
           inst: str = "M100", county: bool = False, head: bool = False, penalties: tuple[date, ...] = (),
           society: bool = False, exception: str = "", group: str = "", group_role: str = "") -> Member:
    return Member(name=name, role=role, title=title, birth_date=birth, institution_code=inst,
                  institution_county_level=county, department_head=head, penalty_dates=penalties,
                  provincial_society_member=society, title_exception=exception, group=group,
                  group_role=group_role)


def leader(name: str, role: str, *, inst: str = HOST, birth: date = date(1970, 3, 15), **kw) -> Member:
    kw.setdefault("title", "主任医师")
    return person(name, role, inst=inst, birth=birth, head=True, society=True, **kw)


DIRECTOR = leader("周明远", "director")
DEPUTY_HOST = leader("吴海宁", "deputy", birth=date(1972, 7, 1))
DEPUTY_OTHER = leader("郑书恒", "deputy", inst="M002", birth=date(1968, 11, 20), group="心脏介入", group_role="leader")
SECRETARY = person("钱雨桐", "secretary", inst=HOST, birth=date(1985, 2, 10))
COUNTY_A = person("孙嘉禾", inst="C101", county=True, group="心脏介入", group_role="deputy_leader")
COUNTY_B = person("冯若溪", title="主任医师", inst="C102", county=True)
MUNICIPAL_A = person("褚文博", title="副主任护师", inst="M002", group="心脏介入", group_role="member")
MUNICIPAL_B = person("卫子衿", title="副主任药师", inst="M003")
ADVISOR = person("蒋伯安", "advisor", title="主任医师", inst=HOST, birth=date(1950, 1, 8))

VALID = Roster(
    center_specialty="心血管内科",
    host_institution_code=HOST,
    members=(DIRECTOR, DEPUTY_HOST, DEPUTY_OTHER, SECRETARY, COUNTY_A, COUNTY_B, MUNICIPAL_A, MUNICIPAL_B, ADVISOR),
)


def with_members(*members: Member, roster: Roster = VALID, **changes) -> Roster:
    return replace(roster, members=tuple(members), **changes)


def plus(*extra: Member, roster: Roster = VALID, **changes) -> Roster:
    return replace(roster, members=roster.members + tuple(extra), **changes)


def without(*names: str, roster: Roster = VALID) -> Roster:
    return replace(roster, members=tuple(m for m in roster.members if m.name not in names))


def swap(name: str, roster: Roster = VALID, **changes) -> Roster:
    return replace(roster, members=tuple(replace(m, **changes) if m.name == name else m for m in roster.members))


def fillers(count: int, prefix: str = "成员") -> tuple[Member, ...]:
    """Valid extra members, each from its own municipal institution."""
    return tuple(person(f"{prefix}{i:02d}", inst=f"M2{i:02d}") for i in range(1, count + 1))


def R(rule: str, message: str) -> Reason:
    return Reason(rule, message)


# --- the valid roster --------------------------------------------------------------------------

def test_a_valid_roster_passes_every_check():
    assert check_structure(VALID) == []
    assert check_leaders(VALID, APPOINTED) == []
    assert check_members(VALID) == []
    assert check_roster(VALID, APPOINTED) == []


# --- Y§10 structure ----------------------------------------------------------------------------

def test_a_roster_without_a_director_is_refused():
    assert check_structure(without("周明远")) == [R("Y§10", "主任应为 1 名，现有 0 名")]


def test_two_directors_are_refused_and_named():
    second = leader("秦望舒", "director", inst="M004")
    assert check_structure(plus(second)) == [R("Y§10", "主任应为 1 名，现有 2 名（周明远、秦望舒）")]


def test_one_deputy_is_too_few():
    assert check_structure(without("吴海宁")) == [R("Y§10", "副主任应为 2–4 名，现有 1 名（郑书恒）")]


def test_four_deputies_pass_and_five_are_too_many():
    extra = [leader(n, "deputy", inst=f"M30{i}") for i, n in enumerate(("许清和", "何静姝", "吕拾光"), 1)]
    assert check_structure(plus(*extra[:2])) == []
    assert check_structure(plus(*extra)) == [
        R("Y§10", "副主任应为 2–4 名，现有 5 名（吴海宁、郑书恒、许清和、何静姝、吕拾光）")]


def test_two_deputies_from_the_host_unit_are_refused_and_named():
    roster = swap("郑书恒", institution_code=HOST)
    assert check_structure(roster) == [R("Y§10", "副主任 2 人中挂靠单位 2 人（吴海宁、郑书恒），超过 1 人上限")]


def test_a_roster_without_a_secretary_is_refused():
    assert check_structure(without("钱雨桐")) == [R("Y§10", "秘书应为 1 名，现有 0 名")]


def test_two_secretaries_are_refused_and_named():
    second = person("施晓岚", "secretary", inst="M005")
    assert check_structure(plus(second)) == [R("Y§10", "秘书应为 1 名，现有 2 名（钱雨桐、施晓岚）")]


def test_no_advisor_passes_and_two_advisors_are_refused():
    assert check_structure(without("蒋伯安")) == []
    second = person("张远帆", "advisor", title="主任医师", inst="M006")
    assert check_structure(plus(second)) == [R("Y§10", "顾问最多 1 名，现有 2 名（蒋伯安、张远帆）")]


def test_an_unknown_role_is_refused():
    roster = plus(person("曹以宁", "observer", inst="M007"))
    assert check_structure(roster) == [
        R("Y§10", "曹以宁 的职务“observer”无效，应为：主任、副主任、秘书、成员、顾问")]


def test_eighteen_members_pass_without_justification():
    roster = plus(*fillers(10))  # 8 counted + 10; the advisor is not counted
    assert check_structure(roster) == []


def test_nineteen_members_without_justification_are_refused():
    roster = plus(*fillers(11))
    assert check_structure(roster) == [
        R("Y§10", "成员总数（含主任、副主任和秘书，不含顾问）19 人，超过 18 人上限；确需增至 20 人以内，须填写特殊情况说明")]


def test_nineteen_and_twenty_members_with_justification_pass():
    why = "本专业覆盖 12 个县市区，需增加县级代表"
    assert check_structure(plus(*fillers(11), size_justification=why)) == []
    assert check_structure(plus(*fillers(12), size_justification=why)) == []


def test_a_blank_justification_is_no_justification():
    assert check_structure(plus(*fillers(11), size_justification="   ")) != []


def test_twenty_one_members_are_refused_even_with_justification():
    expected = [R("Y§10", "成员总数（含主任、副主任和秘书，不含顾问）21 人，超过 20 人的最高上限，有特殊情况说明也不得超过")]
    assert check_structure(plus(*fillers(13), size_justification="县级代表")) == expected
    assert check_structure(plus(*fillers(13))) == expected


def test_the_advisor_does_not_count_toward_the_size():
    roster = plus(*fillers(10))  # 18 counted, plus the advisor: 19 names on the list
    assert len(roster.members) == 19
    assert check_structure(roster) == []


def test_four_host_unit_people_pass_and_five_are_refused():
    first, second = person("陶知远", inst=HOST), person("姜一苇", inst=HOST)
    assert check_structure(plus(first)) == []  # director, deputy, secretary, 陶知远; the advisor is not counted
    assert check_structure(plus(first, second)) == [
        R("Y§10", "挂靠单位人员（不含顾问）5 人（周明远、吴海宁、钱雨桐、陶知远、姜一苇），超过 4 人上限")]


# --- Y§10 sub-specialty groups -----------------------------------------------------------------

def test_a_group_without_a_leader_is_refused():
    roster = swap("郑书恒", group="", group_role="")
    assert check_structure(roster) == [R("Y§10", "亚专业质控小组“心脏介入”组长应为 1 人，现有 0 人")]


def test_a_group_with_two_leaders_is_refused():
    roster = swap("褚文博", group_role="leader")
    assert check_structure(roster) == [R("Y§10", "亚专业质控小组“心脏介入”组长应为 1 人，现有 2 人（郑书恒、褚文博）")]


def test_a_group_without_a_deputy_leader_is_refused():
    roster = swap("孙嘉禾", group_role="member")
    assert check_structure(roster) == [R("Y§10", "亚专业质控小组“心脏介入”副组长应为 1–2 人，现有 0 人")]


def test_two_deputy_leaders_pass_and_three_are_refused():
    two = swap("褚文博", group_role="deputy_leader")
    assert check_structure(two) == []
    three = swap("卫子衿", roster=two, group="心脏介入", group_role="deputy_leader")
    assert check_structure(three) == [
        R("Y§10", "亚专业质控小组“心脏介入”副组长应为 1–2 人，现有 3 人（孙嘉禾、褚文博、卫子衿）")]


def test_a_group_of_ten_passes_and_eleven_is_refused():
    extra = tuple(replace(m, group="心脏介入", group_role="member") for m in fillers(8, "组员"))
    ten = plus(*extra[:7])  # leader, deputy leader, 褚文博 and 7 more
    assert check_structure(ten) == []
    eleven = plus(*extra)
    assert check_structure(eleven) == [R("Y§10", "亚专业质控小组“心脏介入”共 11 人，超过 10 人上限")]


def test_each_group_is_checked_on_its_own():
    roster = swap("冯若溪", group="心电生理", group_role="leader")
    assert check_structure(roster) == [R("Y§10", "亚专业质控小组“心电生理”副组长应为 1–2 人，现有 0 人")]


def test_a_group_role_without_a_group_and_an_unknown_group_role_are_refused():
    roster = swap("卫子衿", group_role="leader")
    assert check_structure(roster) == [R("Y§10", "卫子衿 填写了小组职务“组长”，但未填写所属亚专业质控小组")]
    roster = swap("褚文博", group_role="chair")
    assert check_structure(roster) == [
        R("Y§10", "褚文博 属于亚专业质控小组“心脏介入”，但小组职务“chair”无效，应为：组长、副组长、组员")]


# --- Y§11 director and deputies ----------------------------------------------------------------

def test_a_director_without_a_full_senior_title_is_refused():
    roster = swap("周明远", title="副主任医师")
    assert check_leaders(roster, APPOINTED) == [R("Y§11", "主任 周明远 的职称为副主任医师（副高），须为正高级职称")]


def test_a_deputy_with_a_title_outside_the_catalogue_is_refused():
    roster = swap("郑书恒", title="首席专家")
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "副主任 郑书恒 的职称为“首席专家”（不在职称目录中，无法认定级别），须为正高级职称")]


@pytest.mark.parametrize("title", ["主任护师", "主任药师", "主任技师", "研究员", "教授", " 主任医师 "])
def test_other_full_senior_titles_pass(title):
    assert check_leaders(swap("周明远", title=title), APPOINTED) == []


def test_a_leader_who_is_not_a_department_head_is_refused():
    roster = swap("吴海宁", department_head=False)
    assert check_leaders(roster, APPOINTED) == [R("Y§11", "副主任 吴海宁 未担任科室（部门）主任或以上领导职务")]


def test_a_leader_without_provincial_society_membership_is_refused():
    roster = swap("周明远", provincial_society_member=False)
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "主任 周明远 未担任（含曾经担任）省医学会相关专业委员会委员以上职务或其他相关学术团体相应职务")]


def test_sixty_until_the_day_before_the_sixty_first_birthday_passes():
    # 周岁: completed years; "不超过60岁" includes 60 (民法典 §1259)
    assert check_leaders(swap("周明远", birth_date=date(1966, 5, 1)), APPOINTED) == []
    assert check_leaders(swap("周明远", birth_date=date(1965, 5, 2)), APPOINTED) == []


def test_the_sixty_first_birthday_on_the_appointment_day_is_refused():
    roster = swap("周明远", birth_date=date(1965, 5, 1))
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "主任 周明远（1965-05-01 出生）在任命日 2026-05-01 年龄 61 岁，超过 60 岁上限")]


def test_a_deputy_turning_sixty_one_is_refused_with_the_age():
    roster = swap("郑书恒", birth_date=date(1965, 5, 1))
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "副主任 郑书恒（1965-05-01 出生）在任命日 2026-05-01 年龄 61 岁，超过 60 岁上限")]


def test_the_age_is_counted_on_the_appointment_date_not_today():
    roster = swap("周明远", birth_date=date(1965, 5, 1))
    assert check_leaders(roster, date(2026, 4, 30)) == []


def test_a_leader_born_on_29_february_turns_sixty_one_on_28_february_of_a_common_year():
    roster = swap("周明远", birth_date=date(1964, 2, 29))
    assert check_leaders(roster, date(2025, 2, 27)) == []
    assert check_leaders(roster, date(2025, 2, 28)) == [
        R("Y§11", "主任 周明远（1964-02-29 出生）在任命日 2025-02-28 年龄 61 岁，超过 60 岁上限")]


def test_a_penalty_three_years_and_one_day_before_passes():
    roster = swap("周明远", penalty_dates=(date(2023, 4, 30),))
    assert check_leaders(roster, APPOINTED) == []


def test_a_penalty_within_three_years_is_refused_with_its_dates():
    roster = swap("吴海宁", penalty_dates=(date(2025, 1, 10), date(2020, 1, 1), date(2023, 5, 1)))
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "副主任 吴海宁 在任命日 2026-05-01 前 3 年内（2023-05-01 起）受过处罚：2023-05-01、2025-01-10")]


def test_a_penalty_after_the_appointment_date_is_not_an_appointment_condition():
    roster = swap("周明远", penalty_dates=(date(2026, 6, 1),))
    assert check_leaders(roster, APPOINTED) == []


def test_secretary_members_and_advisor_are_not_held_to_the_leaders_conditions():
    roster = swap("钱雨桐", birth_date=date(1950, 1, 1), penalty_dates=(date(2026, 1, 1),))
    roster = swap("蒋伯安", roster=roster, title="主治医师")
    assert check_leaders(roster, APPOINTED) == []


def test_every_failing_condition_of_one_leader_is_listed():
    roster = swap("郑书恒", title="主治医师", department_head=False, birth_date=date(1960, 1, 1),
                  penalty_dates=(date(2024, 2, 2),), provincial_society_member=False)
    assert check_leaders(roster, APPOINTED) == [
        R("Y§11", "副主任 郑书恒 的职称为主治医师（中级），须为正高级职称"),
        R("Y§11", "副主任 郑书恒 未担任科室（部门）主任或以上领导职务"),
        R("Y§11", "副主任 郑书恒（1960-01-01 出生）在任命日 2026-05-01 年龄 66 岁零 120 天，超过 60 岁上限"),
        R("Y§11", "副主任 郑书恒 在任命日 2026-05-01 前 3 年内（2023-05-01 起）受过处罚：2024-02-02"),
        R("Y§11", "副主任 郑书恒 未担任（含曾经担任）省医学会相关专业委员会委员以上职务或其他相关学术团体相应职务"),
    ]


# --- Y§12 members ------------------------------------------------------------------------------

def test_an_intermediate_member_without_a_recorded_exception_is_refused():
    roster = swap("卫子衿", title="主管药师")
    assert check_members(roster) == [
        R("Y§12", "成员 卫子衿 的职称为主管药师（中级），须为副高及以上；特殊专业放宽为中级职称须记录放宽理由")]


def test_an_intermediate_member_with_a_recorded_exception_passes():
    roster = swap("卫子衿", title="主管药师", title_exception="临床药学专业副高人员不足，经挂靠单位推荐放宽")
    assert check_members(roster) == []


def test_a_blank_exception_is_no_exception():
    assert check_members(swap("卫子衿", title="主管药师", title_exception="  ")) != []


def test_the_secretary_is_a_member_and_needs_the_title_too():
    roster = swap("钱雨桐", title="主治医师")
    assert check_members(roster) == [
        R("Y§12", "秘书 钱雨桐 的职称为主治医师（中级），须为副高及以上；特殊专业放宽为中级职称须记录放宽理由")]


def test_a_junior_title_is_refused_even_with_an_exception():
    roster = swap("卫子衿", title="住院医师", title_exception="特殊专业")
    assert check_members(roster) == [
        R("Y§12", "成员 卫子衿 的职称为住院医师（初级），须为副高及以上（特殊专业最低放宽为中级职称）")]


def test_a_member_title_outside_the_catalogue_is_refused():
    roster = swap("卫子衿", title="高级顾问")
    assert check_members(roster) == [
        R("Y§12", "成员 卫子衿 的职称为“高级顾问”（不在职称目录中，无法认定级别），须为副高及以上（特殊专业最低放宽为中级职称）")]


def test_the_advisor_is_not_a_member_for_the_title_rule():
    assert check_members(swap("蒋伯安", title="主治医师")) == []


def test_two_experts_from_the_same_county_level_institution_are_refused():
    roster = swap("冯若溪", institution_code="C101")
    assert check_members(roster) == [
        R("Y§12", "县级医疗卫生机构 C101 有 2 名专家（孙嘉禾、冯若溪），超过同一县级机构 1 名上限")]


def test_two_experts_from_the_same_municipal_institution_pass():
    assert [m.institution_code for m in VALID.members].count("M002") == 2
    assert check_members(swap("卫子衿", institution_code="M002")) == []  # three from M002


def test_the_advisor_does_not_count_toward_the_county_limit():
    roster = swap("蒋伯安", institution_code="C101", institution_county_level=True)
    assert check_members(roster) == []


# --- several at once ---------------------------------------------------------------------------

def test_several_violations_are_all_listed_with_their_articles():
    third_deputy = leader("陆遥川", "deputy", inst=HOST)
    roster = swap("周明远", birth_date=date(1962, 1, 1))
    roster = swap("卫子衿", roster=roster, title="主治医师")
    roster = swap("冯若溪", roster=roster, institution_code="C101")
    roster = plus(third_deputy, roster=roster)
    assert check_roster(roster, APPOINTED) == [
        R("Y§10", "副主任 3 人中挂靠单位 2 人（吴海宁、陆遥川），超过 1 人上限"),
        R("Y§11", "主任 周明远（1962-01-01 出生）在任命日 2026-05-01 年龄 64 岁零 120 天，超过 60 岁上限"),
        R("Y§12", "成员 卫子衿 的职称为主治医师（中级），须为副高及以上；特殊专业放宽为中级职称须记录放宽理由"),
        R("Y§12", "县级医疗卫生机构 C101 有 2 名专家（孙嘉禾、冯若溪），超过同一县级机构 1 名上限"),
    ]


def test_the_limits_come_from_the_policy(monkeypatch):
    monkeypatch.setattr(P, "MEMBERS_MAX", Limit(7, "Y§10"))
    assert check_structure(VALID) == [
        R("Y§10", "成员总数（含主任、副主任和秘书，不含顾问）8 人，超过 7 人上限；确需增至 20 人以内，须填写特殊情况说明")]


# --- Y§8 eligibility ---------------------------------------------------------------------------

APPLICANT = Applicant(institution_code=HOST, institution_level="三级甲等", special_center_reason="",
                      major_incident_dates=())
EXISTING = {"呼吸内科", "麻醉", "护理管理"}


def test_an_eligible_applicant_passes():
    assert check_eligibility(APPLICANT, "心血管内科", EXISTING, TODAY) == []


def test_a_second_center_for_an_existing_specialty_is_refused():
    assert check_eligibility(APPLICANT, " 麻醉 ", EXISTING, TODAY) == [
        R("Y§8", "专业“麻醉”已设有本级质控中心，同一专业领域原则上只设 1 个，不能重复申请")]


def test_a_host_below_grade_3a_without_a_reason_is_refused():
    applicant = replace(APPLICANT, institution_level="三级乙等")
    assert check_eligibility(applicant, "心血管内科", EXISTING, TODAY) == [
        R("Y§8", "申请单位 H001 的等级为“三级乙等”，原则上须为三级甲等综合医院；功能、性质特殊的质控中心挂靠其他机构，须填写特殊情况理由")]


def test_a_special_center_with_a_recorded_reason_may_be_hosted_elsewhere():
    applicant = replace(APPLICANT, institution_level="三级乙等", special_center_reason="全市唯一的职业病防治专科机构")
    assert check_eligibility(applicant, "职业病", EXISTING, TODAY) == []


def test_the_short_form_of_grade_3a_is_accepted():
    assert check_eligibility(replace(APPLICANT, institution_level="三甲"), "心血管内科", EXISTING, TODAY) == []


def test_a_major_incident_three_years_and_one_day_ago_passes_and_within_three_years_is_refused():
    old = replace(APPLICANT, major_incident_dates=(date(2023, 4, 30),))
    assert check_eligibility(old, "心血管内科", EXISTING, TODAY) == []
    recent = replace(APPLICANT, major_incident_dates=(date(2023, 4, 30), date(2024, 8, 8)))
    assert check_eligibility(recent, "心血管内科", EXISTING, TODAY) == [
        R("Y§8", "申请单位 H001 在 2026-05-01 前 3 年内（2023-05-01 起）发生过重大医疗质量安全事件：2024-08-08")]


def test_every_eligibility_fault_is_listed():
    applicant = replace(APPLICANT, institution_code="H009", institution_level="二级甲等",
                        major_incident_dates=(date(2026, 3, 1),))
    assert [r.rule for r in check_eligibility(applicant, "麻醉", EXISTING, TODAY)] == ["Y§8", "Y§8", "Y§8"]


# --- Y§7 expert committee ----------------------------------------------------------------------

def experts(count: int) -> tuple[Member, ...]:
    return tuple(person(f"委员{i:02d}", "member", title="主任医师", inst=f"M4{i:02d}", birth=date(1962, 9, 9))
                 for i in range(1, count + 1))


def test_a_committee_of_twenty_five_passes_and_twenty_six_is_refused():
    assert check_expert_committee(ExpertCommittee(experts(25)), TODAY) == []
    assert check_expert_committee(ExpertCommittee(experts(26)), TODAY) == [
        R("Y§7", "专家委员会共 26 人，超过 25 人上限")]


def test_an_expert_needs_a_senior_title():
    committee = ExpertCommittee(experts(2) + (person("严若谷", title="副主任技师"),
                                              person("华知秋", title="主管护师")))
    assert check_expert_committee(committee, TODAY) == [
        R("Y§7", "委员 华知秋 的职称为主管护师（中级），须具有高级技术职务（副高及以上）")]


def test_an_expert_is_at_most_seventy():
    at_limit = person("金守拙", title="主任医师", birth=date(1955, 5, 2))  # 70 years and 364 days
    over = person("魏长庚", title="主任医师", birth=date(1955, 5, 1))  # 71 today
    assert check_expert_committee(ExpertCommittee((at_limit,)), TODAY) == []
    assert check_expert_committee(ExpertCommittee((at_limit, over)), TODAY) == [
        R("Y§7", "委员 魏长庚（1955-05-01 出生）在 2026-05-01 年龄 71 岁，超过 70 岁上限")]


def test_an_expert_born_on_29_february_turns_seventy_one_on_28_february_of_a_common_year():
    expert = person("柏怀瑾", title="主任医师", birth=date(1956, 2, 29))
    assert check_expert_committee(ExpertCommittee((expert,)), date(2027, 2, 27)) == []
    assert check_expert_committee(ExpertCommittee((expert,)), date(2027, 2, 28)) == [
        R("Y§7", "委员 柏怀瑾（1956-02-29 出生）在 2027-02-28 年龄 71 岁，超过 70 岁上限")]


# --- Y§26 terms --------------------------------------------------------------------------------

@pytest.mark.parametrize("served", [0, 1])
def test_a_first_or_second_consecutive_term_is_allowed(served):
    assert check_reappointment(served) == []


@pytest.mark.parametrize("served", [2, 3])
def test_a_third_consecutive_term_is_refused(served):
    assert check_reappointment(served) == [
        R("Y§26", f"已连续任职 {served} 届，不能再连任第 {served + 1} 届；质控中心主任原则上连任不超过 2 届")]


def test_a_negative_term_count_is_an_error():
    with pytest.raises(ValueError):
        check_reappointment(-1)


@pytest.mark.parametrize("start,end", [
    (date(2026, 5, 1), date(2030, 5, 1)),
    (date(2024, 2, 29), date(2028, 2, 29)),
    (date(2096, 2, 29), date(2100, 2, 28)),  # 2100 is not a leap year
    (date(2026, 12, 31), date(2030, 12, 31)),
])
def test_a_term_lasts_four_years(start, end):
    assert term_end(start) == end


# --- the policy data ---------------------------------------------------------------------------

@pytest.mark.parametrize("limit,value,rule", [
    (P.EXPERT_COMMITTEE_MAX, 25, "Y§7"), (P.EXPERT_MAX_AGE, 70, "Y§7"),
    (P.INCIDENT_FREE_YEARS, 3, "Y§8"),
    (P.DIRECTORS, 1, "Y§10"), (P.DEPUTIES_MIN, 2, "Y§10"), (P.DEPUTIES_MAX, 4, "Y§10"),
    (P.DEPUTIES_FROM_HOST_MAX, 1, "Y§10"), (P.SECRETARIES, 1, "Y§10"), (P.ADVISORS_MAX, 1, "Y§10"),
    (P.MEMBERS_MAX, 18, "Y§10"), (P.MEMBERS_MAX_JUSTIFIED, 20, "Y§10"), (P.HOST_PEOPLE_MAX, 4, "Y§10"),
    (P.GROUP_LEADERS, 1, "Y§10"), (P.GROUP_DEPUTY_LEADERS_MIN, 1, "Y§10"),
    (P.GROUP_DEPUTY_LEADERS_MAX, 2, "Y§10"), (P.GROUP_SIZE_MAX, 10, "Y§10"),
    (P.LEADER_MAX_AGE, 60, "Y§11"), (P.LEADER_PENALTY_FREE_YEARS, 3, "Y§11"),
    (P.SAME_COUNTY_INSTITUTION_MAX, 1, "Y§12"),
    (P.TERM_YEARS, 4, "Y§26"), (P.CONSECUTIVE_TERMS_MAX, 2, "Y§26"),
])
def test_the_policy_holds_the_numbers_of_the_articles(limit, value, rule):
    assert limit == Limit(value, rule)


@pytest.mark.parametrize("title,tier", [
    ("主任医师", "正高"), ("主任护师", "正高"), ("主任药师", "正高"), ("主任技师", "正高"), ("研究员", "正高"),
    ("教授", "正高"), ("副主任医师", "副高"), ("副主任护师", "副高"), ("副主任药师", "副高"),
    ("副主任技师", "副高"), ("副研究员", "副高"), ("副教授", "副高"), ("主治医师", "中级"),
    ("主管护师", "中级"), ("主管药师", "中级"), ("主管技师", "中级"), ("住院医师", "初级"), ("首席专家", None),
])
def test_titles_map_to_their_tier(title, tier):
    assert title_tier(title) == tier


def test_no_title_sits_in_two_tiers():
    seen: dict[str, str] = {}
    for tier, titles in P.TITLE_TIERS.items():
        for title in titles:
            assert title not in seen, f"{title} 同时在 {seen[title]} 和 {tier}"
            seen[title] = tier
    assert set(P.TITLE_TIERS) == set(P.TIER_RANK)


# --- Y§12: an institution whose county is not recorded -------------------------------------------


@pytest.mark.parametrize("county,expected", [("临溪县", True), ("青川市本级", False), ("  市本级 ", False),
                                             ("", None), ("　", None), (None, None)])
def test_a_county_is_county_level_municipal_or_unknown(county, expected):
    assert county_level(county) is expected


def test_a_blank_county_is_refused_not_taken_as_municipal():
    """Two experts of one institution with a blank county passed the Y§12 limit: it failed open."""
    a = person("孙嘉禾", inst="C900", county=None)
    b = person("冯若溪", inst="C900", county=None)
    reasons = check_members(plus(a, b))
    assert reasons == [R("Y§12", "孙嘉禾、冯若溪 所在单位 C900 未登记所属县（county），无法核对同一县级机构专家不超过 1 名"
                                 "的限制；请在名录中填写 county（县级机构填县名，市级机构填“市本级”）")]


# --- Y§8: one center per specialty, however the name is written -------------------------------------


@pytest.mark.parametrize("spelling", ["心血管内科", " 心血管内科 ", "　心血管内科", "心血管　内科", "心血管内科中心",
                                      "心血管内科质控中心", "心血管内科医疗质量控制中心", "心血管内科专业",
                                      "心血管内科\t"])
def test_spellings_of_one_specialty_are_the_same_specialty(spelling):
    assert specialty_key(spelling) == specialty_key("心血管内科")
    reasons = check_eligibility(Applicant("H001", "三级甲等", "", ()), spelling, {"心血管内科"}, TODAY)
    assert [r.rule for r in reasons] == ["Y§8"]


def test_full_width_and_case_are_folded_and_other_specialties_stay_apart():
    assert specialty_key("ＩＣＵ") == specialty_key("icu") == specialty_key("Icu中心")
    assert specialty_taken("呼吸内科", {"心血管内科", "护理"}) is None
    assert specialty_taken("中心", {"中心"}) == "中心"  # a name that is only a suffix is kept whole
    assert specialty_key("心血管内科") != specialty_key("心血管外科")


# --- Y§26: consecutive terms ------------------------------------------------------------------------


def test_consecutive_terms_count_an_unbroken_chain_back_from_the_new_start():
    first, second = (date(2018, 5, 1), date(2022, 5, 1)), (date(2022, 5, 1), date(2026, 5, 1))
    assert consecutive_terms([], date(2026, 5, 1)) == 0
    assert consecutive_terms([second], date(2026, 5, 1)) == 1
    assert consecutive_terms([first, second], date(2026, 5, 1)) == 2
    assert consecutive_terms([first, second], date(2026, 5, 2)) == 2  # the day after the last term ends
    assert consecutive_terms([first, second], date(2026, 5, 3)) == 0  # a gap breaks the chain
    assert consecutive_terms([(date(2014, 1, 1), date(2018, 1, 1)), second], date(2026, 5, 1)) == 1
    assert consecutive_terms([(date(2026, 6, 1), date(2030, 6, 1))], date(2026, 5, 1)) == 0  # not behind it
    assert check_reappointment(consecutive_terms([first, second], date(2026, 5, 1)))[0].rule == "Y§26"
