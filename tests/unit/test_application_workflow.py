"""Workflow 2 (质控中心设置申请, Y§7–§13, Y§21) as pure rules: every state against every step, who may
fire it, the guards with the facts the engine would hand over, and the expert quorum.

The expectations are written out here by hand, from DOMAIN.md ("Workflow 2"), and never read from
`WORKFLOW.transitions`: a change to the table in states/application.py must break a test. The
staffing rules themselves are tested in test_staffing.py; here only that the submit guard passes
their findings (and the directory's) through.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import yaml

from states.application import WORKFLOW, quorum, recommendation, record_vote
from states.rules import SYSTEM, Actor, CaseView, Reason, Refused
from states.staffing import Applicant, Member, Roster
from states.workflow import Attempt, Notify
from tests.unit.table import cells, only_reason
from tests.helpers import ROOT

CARD = 10
TODAY = date(2026, 5, 1)
APPOINTED = date(2026, 6, 1)

APPLICANT = Actor(101, "严可钦")  # the director who drafted the application: no role yet
PROPOSED_DEPUTY = Actor(102, "秦方舟")  # on the roster, but not who created the case
REVIEWER = Actor(5, "周文清", frozenset({("commission_reviewer", None)}))
LEADER = Actor(7, "孙正和", frozenset({("signing_leader", None)}))
CARD_DIRECTOR = Actor(1, "陆一鸣", frozenset({("center_director", CARD)}))
EXPERT1 = Actor(11, "白敬之", frozenset({("expert", None)}))  # works at the applicant QCH2
EXPERT2 = Actor(12, "江望舒", frozenset({("expert", None)}))
EXPERT3 = Actor(13, "杭书白", frozenset({("expert", None)}))
EXPERT4 = Actor(14, "宁致远", frozenset({("expert", None)}))

E1, E2, E3, E4 = (f"expert{i}@qcexperts.example" for i in range(1, 5))
POOL = {
    E1: {"person_id": 11, "name": "白敬之", "institution": "QCH2"},
    E2: {"person_id": 12, "name": "江望舒", "institution": "QCH1"},
    E3: {"person_id": 13, "name": "杭书白", "institution": "LXH"},
    E4: {"person_id": 14, "name": "宁致远", "institution": "QCH1"},
}
ASSIGNED = [E2, E3, E4]

STATE_LABELS = {
    "draft": "拟稿",
    "submitted": "已提交",
    "materials_check": "材料审查",
    "materials_requested": "补充材料",
    "expert_review": "专家评审",
    "commission_decision": "卫健委决定",
    "approved": "批准设置",
    "established": "已设置",
    "rejected": "不予设置",
    "withdrawn": "已撤回",
}
FINAL = ("established", "rejected", "withdrawn")
CREATOR_WHO = "申请人本人"
REVIEWER_WHO = "卫健委审核人（医政医管科）"
EXPERT_WHO = "专家委员会委员"

# trigger → (label people see, rule it cites, who may fire it as people read it; "系统" for system steps)
STEPS = {
    "edit": ("修改申请", "Y§9", CREATOR_WHO),
    "attach": ("上传材料", "Y§9", CREATOR_WHO),
    "submit": ("提交申请", "Y§9", CREATOR_WHO),
    "start_check": ("开始材料审查", "Y§9", "系统"),
    "request_materials": ("要求补充材料", "Y§9", REVIEWER_WHO),
    "accept_materials": ("材料齐全，提交专家评审", "Y§13", REVIEWER_WHO),
    "review": ("提交评审意见", "Y§13", EXPERT_WHO),
    "close_review": ("专家评审结束", "Y§13", "系统"),
    "approve": ("批准设置", "Y§13", REVIEWER_WHO),
    "reject": ("不予设置", "Y§13", REVIEWER_WHO),
    "establish": ("设置完成", "Y§21", "系统"),
    "withdraw": ("撤回申请", "Y§9", CREATOR_WHO),
}
SYSTEM_STEPS = ("start_check", "close_review", "establish")

# The whole table, state by state: the steps allowed there and where each leads.
# A step missing from a state's row is refused in that state.
ALLOWED = {
    "draft": {"edit": "draft", "attach": "draft", "submit": "submitted", "withdraw": "withdrawn"},
    "submitted": {"start_check": "materials_check", "withdraw": "withdrawn"},
    "materials_check": {"request_materials": "materials_requested", "accept_materials": "expert_review",
                        "reject": "rejected", "withdraw": "withdrawn"},
    "materials_requested": {"edit": "materials_requested", "attach": "materials_requested", "submit": "submitted",
                            "withdraw": "withdrawn"},
    "expert_review": {"review": "expert_review", "close_review": "commission_decision", "withdraw": "withdrawn"},
    "commission_decision": {"approve": "approved", "reject": "rejected"},
    "approved": {"establish": "established"},
    "established": {},
    "rejected": {},
    "withdrawn": {},
}
SOURCES = {t: tuple(s for s in STATE_LABELS if t in ALLOWED[s]) for t in STEPS}

# People who may never fire the step, whatever the state.
WRONG_ACTORS = {
    **{t: (PROPOSED_DEPUTY, REVIEWER, EXPERT2, CARD_DIRECTOR, SYSTEM) for t in ("edit", "attach", "submit", "withdraw")},
    **{t: (APPLICANT, EXPERT2, LEADER, CARD_DIRECTOR, SYSTEM)
       for t in ("request_materials", "accept_materials", "approve", "reject")},
    "review": (APPLICANT, REVIEWER, LEADER, CARD_DIRECTOR, SYSTEM),
    **{t: (APPLICANT, REVIEWER, EXPERT2, LEADER) for t in SYSTEM_STEPS},
}

META = {"filename": "x.pdf", "sha256": "0" * 64, "size": 10, "content_type": "application/pdf"}
ALL_MATERIALS = {slot: META for slot in ("license", "letter_1", "letter_2", "letter_3", "letter_4", "letter_5",
                                         "letter_6", "commitment")}
SLOT_LABELS = [
    "《医疗机构执业许可证》或其他资质证明复印件",
    "申请书一：申请单位和相应学科基本情况",
    "申请书二：学术地位、人员配备、设施设备、服务能力与水平",
    "申请书三：本单位质控工作开展情况及优势",
    "申请书四：工作计划、预期目标、质控要求、工作程序及规章制度",
    "申请书五：主任资质条件及拟定成员名单",
    "申请书六：办公场所、设备设施、经费等保障情况",
    "办公场所、设备和经费保障承诺书",
]


def member(name: str, role: str, title: str, birth: date, inst: str, *, county: bool = False,
           leader: bool = False) -> Member:
    return Member(name=name, role=role, title=title, birth_date=birth, institution_code=inst,
                  institution_county_level=county, department_head=leader, penalty_dates=(),
                  provincial_society_member=leader)


# The roster of demo/applications/respiratory.yaml as application_facts builds it from the directory.
ROSTER = Roster("呼吸内科", "QCH2", (
    member("严可钦", "director", "主任医师", date(1970, 3, 15), "QCH2", leader=True),
    member("秦方舟", "deputy", "主任医师", date(1972, 8, 9), "QCH2", leader=True),
    member("顾长宁", "deputy", "主任医师", date(1974, 1, 20), "QCH1", leader=True),
    member("鲁思远", "secretary", "副主任医师", date(1985, 5, 5), "QCH2"),
    member("穆清和", "member", "副主任医师", date(1980, 2, 14), "LXH", county=True),
    member("岑若谷", "member", "主任医师", date(1969, 12, 1), "QCH1"),
))


def application_data() -> dict:
    return yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text(encoding="utf-8"))


def facts(**overrides) -> dict:
    """What application_facts hands over for an eligible application with a valid roster."""
    base = {
        "today": TODAY,
        "director": {"name": "严可钦", "terms": []},
        "roster_problems": [],
        "roster": ROSTER,
        "applicant": Applicant("QCH2", "三级甲等", "", ()),
        "existing_specialties": {"心血管内科", "护理"},
        "center_code_taken": False,
        "expert_pool": POOL,
        "assigned_experts": [{"email": e, **POOL[e]} for e in ASSIGNED],
        "review_deadline_passed": False,
    }
    base.update(overrides)
    return base


def vote(actor: Actor, recommendation: str = "approve", score: int = 85) -> dict:
    return {"name": actor.name, "score": score, "recommendation": recommendation}


ALL_VOTES = {str(a.person_id): vote(a) for a in (EXPERT2, EXPERT3, EXPERT4)}


def case_in(state: str, *, created_by: int = APPLICANT.person_id, facts_: dict | None = None, **data) -> CaseView:
    """The respiratory application as it stands in `state`: materials complete from the check on, experts
    assigned from the review on, and all three votes in from the commission's decision on."""
    content = application_data()
    if state not in ("draft", "submitted", "materials_requested", "withdrawn"):
        content["materials"] = dict(ALL_MATERIALS)
    if state in ("expert_review", "commission_decision", "approved", "established"):
        content["experts"] = list(ASSIGNED)
    if state in ("commission_decision", "approved", "established"):
        content["votes"] = dict(ALL_VOTES)
    content.update(data)
    return CaseView(kind="application", state=state, center_id=None, created_by_id=created_by,
                    data=content, facts=facts() if facts_ is None else facts_)


def right_attempt(trigger: str) -> tuple[Actor, Attempt, dict]:
    """Who may take the step, how, and what the case must already hold for it."""
    return {
        "edit": (APPLICANT, Attempt("edit", changes={"center_name": "青川市呼吸内科医疗质量控制中心"}), {}),
        "attach": (APPLICANT, Attempt("attach", changes={"materials": {"license": META}}), {}),
        "submit": (APPLICANT, Attempt("submit"), {}),
        "start_check": (SYSTEM, Attempt("start_check"), {}),
        "request_materials": (REVIEWER, Attempt("request_materials", comment="请补充许可证复印件"), {}),
        "accept_materials": (REVIEWER, Attempt("accept_materials", changes={"experts": [E2, E3, E4]}),
                             {"materials": dict(ALL_MATERIALS)}),
        "review": (EXPERT2, Attempt("review", comment="学科基础好，同意设置",
                                    changes={"score": "88", "recommendation": "approve"}),
                   {"experts": list(ASSIGNED), "votes": {}}),
        "close_review": (SYSTEM, Attempt("close_review"), {"experts": list(ASSIGNED), "votes": dict(ALL_VOTES)}),
        "approve": (REVIEWER, Attempt("approve"), {}),
        "reject": (REVIEWER, Attempt("reject", comment="不符合设置条件"), {}),
        "establish": (SYSTEM, Attempt("establish"), {}),
        "withdraw": (APPLICANT, Attempt("withdraw"), {}),
    }[trigger]


ALL_CELLS, ALLOWED_CELLS, REFUSED_CELLS = cells(STATE_LABELS, STEPS, ALLOWED)


# --- the table --------------------------------------------------------------------------------------


def test_the_table_covers_every_state_and_every_step():
    assert set(WORKFLOW.states) == set(STATE_LABELS)
    assert set(WORKFLOW.transitions) == set(STEPS)
    assert WORKFLOW.initial == "draft"
    assert set(WORKFLOW.final) == set(FINAL)
    assert WORKFLOW.kind == "application" and WORKFLOW.label == "质控中心设置申请"
    assert len(ALL_CELLS) == 120 and len(ALLOWED_CELLS) == 20


@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_every_state_shows_its_chinese_name(state):
    assert WORKFLOW.state_label(state) == STATE_LABELS[state]


@pytest.mark.parametrize("trigger", list(STEPS))
def test_every_step_has_its_label_article_and_kind_of_actor(trigger):
    label, rule, who = STEPS[trigger]
    t = WORKFLOW.transitions[trigger]
    assert (t.label, t.rule, t.system) == (label, rule, trigger in SYSTEM_STEPS)
    assert tuple(sorted(t.sources)) == tuple(sorted(SOURCES[trigger]))


@pytest.mark.parametrize("state,trigger", ALLOWED_CELLS)
def test_the_right_actor_may_take_an_allowed_step_and_it_leads_to_the_expected_state(state, trigger):
    actor, attempt, data = right_attempt(trigger)
    case = case_in(state, **data)
    assert WORKFLOW.check(case, actor, attempt) == []
    assert WORKFLOW.next_state(case, actor, attempt) == ALLOWED[state][trigger]


@pytest.mark.parametrize("state,trigger", REFUSED_CELLS)
def test_a_step_in_the_wrong_state_is_refused_with_the_article_and_the_states_it_needs(state, trigger):
    label, rule, _ = STEPS[trigger]
    actor, attempt, data = right_attempt(trigger)
    case = case_in(state, **data)
    reason = only_reason(WORKFLOW.check(case, actor, attempt))
    assert reason.rule == rule
    if state in FINAL:
        assert reason.message == f"该质控中心设置申请状态为{STATE_LABELS[state]}，不能再“{label}”。"
    else:
        allowed = "、".join(STATE_LABELS[s] for s in SOURCES[trigger])
        assert reason.message == f"“{label}”只能在{allowed}状态下进行，当前为{STATE_LABELS[state]}"
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(case, actor, attempt)
    assert refused.value.reasons == [reason]


@pytest.mark.parametrize(
    "state,trigger,actor",
    [(s, t, a) for s, t in ALLOWED_CELLS for a in WRONG_ACTORS[t]],
    ids=lambda x: x.name if isinstance(x, Actor) else str(x),
)
def test_an_allowed_step_is_refused_to_anyone_who_may_not_take_it(state, trigger, actor):
    label, rule, who = STEPS[trigger]
    _, attempt, data = right_attempt(trigger)
    case = case_in(state, **data)
    reasons = WORKFLOW.check(case, actor, attempt)
    if trigger in SYSTEM_STEPS:
        assert reasons == [Reason(rule, f"“{label}”由系统自动进行，不能手动操作")]
    else:
        role_reasons = [r for r in reasons if "没有此权限" in r.message]
        assert role_reasons == [Reason(rule, f"“{label}”只能由{who}进行，{actor.name}没有此权限")], reasons
    with pytest.raises(Refused):
        WORKFLOW.next_state(case, actor, attempt)


def test_the_creator_is_whoever_created_the_case_not_a_role():
    # The proposed deputy may take the applicant's steps on an application the deputy created.
    case = case_in("draft", created_by=PROPOSED_DEPUTY.person_id)
    assert WORKFLOW.check(case, PROPOSED_DEPUTY, Attempt("submit")) == []
    reason = only_reason(WORKFLOW.check(case, APPLICANT, Attempt("submit")))
    assert reason == Reason("Y§9", "“提交申请”只能由申请人本人进行，严可钦没有此权限")


def test_anyone_in_the_directory_may_start_an_application():
    assert WORKFLOW.check_create(APPLICANT, None) == []
    assert WORKFLOW.check_create(EXPERT1, None) == []


def test_the_title_names_the_proposed_center():
    assert WORKFLOW.title_of(application_data()) == "青川市呼吸内科医疗质量控制中心设置申请"
    assert WORKFLOW.title_of({}) == "质控中心设置申请"


@pytest.mark.parametrize(
    "state,trigger,actor,expected",
    [
        ("materials_check", "request_materials", REVIEWER, Reason("Y§9", "要求补充材料须写明补充什么")),
        ("materials_check", "reject", REVIEWER, Reason("Y§13", "不予设置须写明理由")),
        ("commission_decision", "reject", REVIEWER, Reason("Y§13", "不予设置须写明理由")),
    ],
)
@pytest.mark.parametrize("comment", ["", "  ", "\n\t"])
def test_a_step_that_needs_a_comment_is_refused_without_one(state, trigger, actor, expected, comment):
    assert WORKFLOW.check(case_in(state), actor, Attempt(trigger, comment=comment)) == [expected]
    assert WORKFLOW.check(case_in(state), actor, Attempt(trigger, comment="请补充许可证")) == []


@pytest.mark.parametrize("state,trigger", [("commission_decision", "approve"), ("materials_check", "request_materials"),
                                           ("draft", "withdraw")])
def test_a_step_that_does_not_take_changes_refuses_content_edits(state, trigger):
    actor, attempt, data = right_attempt(trigger)
    attempt = replace(attempt, changes={"center_name": "偷偷改的名称"})
    label, rule, _ = STEPS[trigger]
    assert only_reason(WORKFLOW.check(case_in(state, **data), actor, attempt)) == Reason(rule, f"“{label}”时不能修改内容")


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"center_code": " "}, [Reason("Y§9", "拟设中心代码（center_code）不能为空")]),
        ({"center_name": ""}, [Reason("Y§9", "拟设中心名称（center_name）不能为空")]),
        ({"host": None}, [Reason("Y§9", "申请单位代码（host）不能为空")]),
        ({"category": "其他"}, [Reason("Y§3", "中心类别应为 临床、技术、管理 之一（当前：其他）")]),
        ({"roster": []}, [Reason("Y§9", "须附拟定的中心成员名单（roster），每人含 email 和 role")]),
        ({"roster": [{"email": "a@x.example", "role": "director"}, {"email": "b@x.example"}]},
         [Reason("Y§9", "成员名单第 2 条须含 email 和 role")]),
    ],
)
def test_an_edit_with_bad_content_is_refused_naming_the_field(changes, expected):
    assert WORKFLOW.check(case_in("draft"), APPLICANT, Attempt("edit", changes=changes)) == expected


# --- what happens on entering a state, and the deadlines ----------------------------------------


def test_each_state_notifies_the_right_people_and_sets_off_its_automatic_step():
    expected = {
        "submitted": ((), "start_check", ""),
        "materials_check": ((Notify("task_review", "role:commission_reviewer", "act"),), "", ""),
        "materials_requested": ((Notify("task_revise", "creator", "act"),), "", ""),
        "expert_review": ((Notify("task_expert_review", "pending_experts", "act"),), "", ""),
        "commission_decision": ((Notify("task_review", "role:commission_reviewer", "act"),), "", ""),
        "approved": ((), "establish", ""),
        "established": ((Notify("notice_accepted", "creator", "read"),), "", "establish_center"),
        "rejected": ((Notify("notice_rejected", "creator", "read"),), "", ""),
    }
    got = {state: (e.notify, e.auto_trigger, e.effect) for state, e in WORKFLOW.on_enter.items()}
    assert got == expected


def test_the_expert_review_deadline_reminds_pending_experts_and_closes_the_review_when_overdue():
    specs = {d.step: d for d in WORKFLOW.deadlines}
    assert set(specs) == {"materials_check", "expert_review"}
    review = specs["expert_review"]
    assert (review.states, review.assignee, review.escalate_to, review.on_overdue, review.working_days, review.rule) == (
        ("expert_review",), "pending_experts", "role:commission_reviewer", "close_review", 10, "Y§13")
    check = specs["materials_check"]
    assert (set(check.states), check.assignee, check.escalate_to, check.working_days, check.rule) == (
        {"submitted", "materials_check"}, "role:commission_reviewer", "role:section_head", 5, "Y§9")


# --- submit: eligibility and the roster (Y§8, Y§10–§12) -------------------------------------------


def test_an_eligible_application_with_a_valid_roster_may_be_submitted():
    assert WORKFLOW.check(case_in("draft"), APPLICANT, Attempt("submit")) == []


def test_submit_is_refused_listing_every_eligibility_and_roster_violation_from_the_facts():
    one_deputy = replace(ROSTER, members=tuple(m for m in ROSTER.members if m.name != "顾长宁"))
    f = facts(
        roster_problems=["成员 ghost@qch2.qingchuan.example 不在人员名录中，请先在名录中登记其职称、出生日期和单位"],
        applicant=Applicant("LXH", "二级甲等", "", (date(2025, 1, 10),)),
        existing_specialties={"呼吸内科"},
        center_code_taken=True,
        roster=one_deputy,
    )
    reasons = WORKFLOW.check(case_in("draft", facts_=f), APPLICANT, Attempt("submit"))
    assert reasons == [
        Reason("", "成员 ghost@qch2.qingchuan.example 不在人员名录中，请先在名录中登记其职称、出生日期和单位"),
        Reason("Y§8", "专业“呼吸内科”已设有本级质控中心，同一专业领域原则上只设 1 个，不能重复申请"),
        Reason("Y§8", "申请单位 LXH 的等级为“二级甲等”，原则上须为三级甲等综合医院；功能、性质特殊的质控中心挂靠其他机构，"
                      "须填写特殊情况理由"),
        Reason("Y§8", "申请单位 LXH 在 2026-05-01 前 3 年内（2023-05-01 起）发生过重大医疗质量安全事件：2025-01-10"),
        Reason("Y§8", "中心代码“RESP”已被使用，请换一个"),
        Reason("Y§10", "副主任应为 2–4 名，现有 1 名（秦方舟）"),
    ]
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(case_in("draft", facts_=f), APPLICANT, Attempt("submit"))
    assert "Y§8" in str(refused.value) and "Y§10" in str(refused.value)


def _turning_61_on(day: date) -> Roster:
    old = replace(ROSTER.members[0], birth_date=date(day.year - 61, day.month, day.day))
    return replace(ROSTER, members=(old,) + ROSTER.members[1:])


def test_at_submission_the_roster_is_judged_as_if_appointed_today():
    roster = _turning_61_on(TODAY)
    reasons = WORKFLOW.check(case_in("draft", facts_=facts(roster=roster)), APPLICANT, Attempt("submit"))
    assert reasons == [Reason("Y§11", "主任 严可钦（1965-05-01 出生）在任命日 2026-05-01 年龄 61 岁，超过 60 岁上限")]


@pytest.mark.parametrize("key", ["appointment_date", "appointed_on"])
@pytest.mark.parametrize("how", ["create", "edit", "submit", "stored"])
def test_an_applicant_may_not_set_the_appointment_date(key, how):
    """Y§11: a 64-year-old director passed with `appointment_date: 2021-06-01`; the date is the commission's."""
    refusal = Reason("Y§11", f"申请中不能填写任命日期（{key}）：任命日期为卫健委批准之日（或卫健委批准时确定的"
                             f"不早于批准日的日期），届时按该日期核对 Y§11 的年龄、职称等条件")
    if how == "create":
        assert refusal in WORKFLOW.validate_new({**application_data(), key: "2021-06-01"})
        return
    case = case_in("draft", **({key: "2021-06-01"} if how == "stored" else {}))
    trigger = "edit" if how == "edit" else "submit"
    changes = {key: "2021-06-01"} if how in ("edit", "submit") else {}
    assert refusal in WORKFLOW.check(case, APPLICANT, Attempt(trigger, changes=changes))


def test_at_approval_y11_is_judged_again_on_the_approval_day():
    # Eligible when submitted; the director turns 61 on the day the commission decides.
    roster = _turning_61_on(APPOINTED)
    approval = facts(roster=roster, today=APPOINTED)
    reasons = WORKFLOW.check(case_in("commission_decision", facts_=approval), REVIEWER, Attempt("approve"))
    assert reasons == [Reason("Y§11", "主任 严可钦（1965-06-01 出生）在任命日 2026-06-01 年龄 61 岁，超过 60 岁上限")]
    day_before = facts(roster=roster, today=date(2026, 5, 31))
    assert WORKFLOW.check(case_in("commission_decision", facts_=day_before), REVIEWER, Attempt("approve")) == []


def test_the_commission_may_set_a_later_appointment_date_and_y11_is_judged_on_it():
    roster = _turning_61_on(APPOINTED)
    early = facts(roster=roster, today=date(2026, 5, 20))
    later = Attempt("approve", changes={"appointed_on": "2026-06-01"})
    assert [r.rule for r in WORKFLOW.check(case_in("commission_decision", facts_=early), REVIEWER, later)] == ["Y§11"]
    same_day = Attempt("approve", changes={"appointed_on": ""})  # a blank page field: the approval day
    assert WORKFLOW.check(case_in("commission_decision", facts_=early), REVIEWER, same_day) == []


@pytest.mark.parametrize("given,message", [
    ("2026-04-30", "任命日期 2026-04-30 早于批准日 2026-05-01；任命日期不得早于卫健委批准之日"),
    ("2026-02-30", "任命日期“2026-02-30”无效（格式 YYYY-MM-DD）"),
])
def test_an_appointment_date_before_the_approval_or_invalid_is_refused(given, message):
    attempt = Attempt("approve", changes={"appointed_on": given})
    assert WORKFLOW.check(case_in("commission_decision"), REVIEWER, attempt) == [Reason("Y§11", message)]


def test_the_approval_stores_only_the_commissions_date():
    from states.application import record_appointment_day

    data = application_data()
    assert record_appointment_day(data, {"appointed_on": "2026-06-01"}, REVIEWER)["appointed_on"] == "2026-06-01"
    assert "appointed_on" not in record_appointment_day(data, {"appointed_on": " "}, REVIEWER)


def test_a_director_who_served_two_consecutive_terms_is_refused_at_submission_and_approval():
    """Y§26: at most two consecutive terms, whichever center of the specialty they were served at."""
    two = [(date(2018, 5, 1), date(2022, 5, 1)), (date(2022, 5, 1), date(2026, 5, 1))]
    f = facts(director={"name": "严可钦", "terms": two})
    refusal = Reason("Y§26", "拟任主任 严可钦 已连续任职 2 届，不能再连任第 3 届；质控中心主任原则上连任不超过 2 届")
    assert WORKFLOW.check(case_in("draft", facts_=f), APPLICANT, Attempt("submit")) == [refusal]
    assert WORKFLOW.check(case_in("commission_decision", facts_=f), REVIEWER, Attempt("approve")) == [refusal]
    gap = facts(director={"name": "严可钦", "terms": [(date(2014, 1, 1), date(2018, 1, 1)), two[1]]})
    assert WORKFLOW.check(case_in("draft", facts_=gap), APPLICANT, Attempt("submit")) == []


@pytest.mark.parametrize("state", ["draft", "materials_requested"])
def test_resubmission_checks_the_rules_again(state):
    f = facts(center_code_taken=True)
    assert WORKFLOW.check(case_in(state, facts_=f), APPLICANT, Attempt("submit")) == [
        Reason("Y§8", "中心代码“RESP”已被使用，请换一个")]


def test_an_applicant_outside_the_directory_is_reported_and_not_checked_for_eligibility():
    f = facts(applicant=None, roster=None, roster_problems=["申请单位代码“NOPE”不在名录的 institutions 中"])
    assert WORKFLOW.check(case_in("draft", facts_=f), APPLICANT, Attempt("submit")) == [
        Reason("", "申请单位代码“NOPE”不在名录的 institutions 中")]


# --- accept_materials: every material slot (Y§9), the experts (Y§7, Y§13) -------------------------


def accept(experts, *, materials=None, facts_=None) -> list[Reason]:
    case = case_in("materials_check", materials=dict(ALL_MATERIALS) if materials is None else materials, facts_=facts_)
    changes = {} if experts is None else {"experts": experts}
    return WORKFLOW.check(case, REVIEWER, Attempt("accept_materials", changes=changes))


def test_complete_materials_and_three_independent_experts_pass():
    assert accept([E2, E3, E4]) == []
    assert accept([E2.upper(), E3, E4]) == []  # emails are matched case-insensitively


def test_accept_materials_lists_each_missing_material_slot_by_its_label():
    materials = {"license": META, "letter_3": META}
    missing = [label for label in SLOT_LABELS if label not in (SLOT_LABELS[0], SLOT_LABELS[3])]
    assert accept([E2, E3, E4], materials=materials) == [Reason("Y§9", f"缺少材料：{label}") for label in missing]
    assert accept([E2, E3, E4], materials={}) == [Reason("Y§9", f"缺少材料：{label}") for label in SLOT_LABELS]


@pytest.mark.parametrize(
    "experts,count",
    [([E2, E3], 2), ([E2], 1), ([], 0), ([E2, E2, E3], 2), (None, 0), ("expert2@qcexperts.example", 0)],
    ids=["two", "one", "none", "a-duplicate-counts-once", "not-given", "not-a-list"],
)
def test_fewer_than_three_experts_are_refused(experts, count):
    assert accept(experts) == [Reason("Y§13", f"须从专家委员会中指定至少 3 位评审专家（当前 {count} 位）")]


def test_an_email_outside_the_expert_committee_is_refused():
    assert accept([E2, E3, "yan.keqin@qch2.qingchuan.example"]) == [
        Reason("Y§7", "yan.keqin@qch2.qingchuan.example 不是专家委员会委员，不能担任评审专家")]


def test_an_expert_from_the_applicant_institution_must_be_excluded():
    assert accept([E1, E2, E3]) == [Reason("Y§13", "专家 白敬之 来自申请单位，须回避（利益冲突），请另选专家")]
    # the same expert is fine for an application from another institution
    assert WORKFLOW.check(case_in("materials_check", materials=dict(ALL_MATERIALS), host="QCH9"), REVIEWER,
                          Attempt("accept_materials", changes={"experts": [E1, E3, E4]})) == []


def test_every_fault_of_the_materials_and_the_experts_is_listed_at_once():
    reasons = accept([E1, "nobody@example.org"], materials={slot: META for slot in list(ALL_MATERIALS)[1:]})
    assert reasons == [
        Reason("Y§9", f"缺少材料：{SLOT_LABELS[0]}"),
        Reason("Y§13", "须从专家委员会中指定至少 3 位评审专家（当前 2 位）"),
        Reason("Y§13", "专家 白敬之 来自申请单位，须回避（利益冲突），请另选专家"),
        Reason("Y§7", "nobody@example.org 不是专家委员会委员，不能担任评审专家"),
    ]


def test_one_expert_written_twice_in_different_case_is_still_one_expert():
    assert accept([E2, E2.upper(), E3]) == [Reason("Y§13", "须从专家委员会中指定至少 3 位评审专家（当前 2 位）")]


# --- review: assigned experts, once each, a valid score, a recommendation and a comment (Y§13) -------


def review(actor: Actor = EXPERT2, *, score="85", recommendation_="approve", comment="学科基础扎实，同意设置",
           votes=None, assigned=ASSIGNED) -> list[Reason]:
    f = facts(assigned_experts=[{"email": e, **POOL[e]} for e in assigned])
    case = case_in("expert_review", votes={} if votes is None else votes, facts_=f)
    changes = {"score": score, "recommendation": recommendation_}
    return WORKFLOW.check(case, actor, Attempt("review", comment=comment, changes=changes))


@pytest.mark.parametrize("actor", [EXPERT2, EXPERT3, EXPERT4])
def test_each_assigned_expert_may_review_once(actor):
    assert review(actor) == []


def test_an_expert_who_was_not_assigned_is_refused():
    assert review(EXPERT1) == [Reason("Y§13", "白敬之 不是本申请指定的评审专家")]


def test_a_second_vote_by_the_same_expert_is_refused():
    assert review(EXPERT2, votes={"12": vote(EXPERT2)}) == [Reason("Y§13", "江望舒 已提交过评审意见，不能重复提交")]
    assert review(EXPERT3, votes={"12": vote(EXPERT2)}) == []


@pytest.mark.parametrize("score", ["-1", "101", "", " ", "abc", "85.5", "1e2"])
def test_a_score_outside_0_to_100_or_not_a_whole_number_is_refused(score):
    assert review(score=score) == [Reason("Y§13", "评分须为 0 到 100 的整数")]


@pytest.mark.parametrize("score", ["0", "100", " 60 ", 75])
def test_scores_from_0_to_100_pass(score):
    assert review(score=score) == []


@pytest.mark.parametrize("choice", ["", None, "abstain", "建议同意设置"])
def test_a_missing_or_unknown_recommendation_is_refused(choice):
    assert review(recommendation_=choice) == [Reason("Y§13", "请选择评审建议：建议同意设置 或 建议不同意设置")]


@pytest.mark.parametrize("comment", ["", "   ", "\n"])
def test_a_review_without_a_comment_is_refused(comment):
    assert review(comment=comment) == [Reason("Y§13", "评审意见不能为空")]


def test_every_fault_of_a_review_is_listed_at_once():
    assert review(EXPERT1, score="101", recommendation_="", comment="", votes={"11": vote(EXPERT1)}) == [
        Reason("Y§13", "评审意见不能为空"),
        Reason("Y§13", "白敬之 不是本申请指定的评审专家"),
        Reason("Y§13", "评分须为 0 到 100 的整数"),
        Reason("Y§13", "请选择评审建议：建议同意设置 或 建议不同意设置"),
    ]


def test_a_vote_is_recorded_under_the_expert_with_score_and_recommendation():
    data = {"votes": {"13": vote(EXPERT3, "reject", 40)}, "center_code": "RESP"}
    after = record_vote(data, {"score": " 92 ", "recommendation": "approve"}, EXPERT2)
    assert after == {"center_code": "RESP", "votes": {"13": vote(EXPERT3, "reject", 40),
                                                       "12": {"name": "江望舒", "score": 92, "recommendation": "approve"}}}
    assert data["votes"] == {"13": vote(EXPERT3, "reject", 40)}  # the stored data is not changed in place


def test_the_review_step_tries_to_close_the_review_right_after_each_vote():
    assert WORKFLOW.transitions["review"].then == "close_review"
    assert WORKFLOW.transitions["review"].dest == ""


# --- quorum and recommendation ------------------------------------------------------------------


def test_the_review_is_complete_when_every_assigned_expert_answered():
    assert quorum({"1": {}, "2": {}, "3": {}}, 3, deadline_passed=False) is True
    assert quorum({"1": {}, "2": {}, "3": {}}, 3, deadline_passed=True) is True


def test_before_the_deadline_a_majority_is_not_enough():
    assert quorum({"1": {}, "2": {}}, 3, deadline_passed=False) is False
    assert quorum({}, 3, deadline_passed=False) is False


def test_after_the_deadline_a_majority_is_enough():
    assert quorum({"1": {}, "2": {}}, 3, deadline_passed=True) is True
    assert quorum({"1": {}, "2": {}, "3": {}}, 5, deadline_passed=True) is True


def test_after_the_deadline_exactly_half_is_not_a_majority():
    assert quorum({"1": {}, "2": {}}, 4, deadline_passed=True) is False
    assert quorum({"1": {}}, 2, deadline_passed=True) is False
    assert quorum({"1": {}}, 3, deadline_passed=True) is False


def test_no_assigned_experts_is_never_a_quorum():
    assert quorum({}, 0, deadline_passed=True) is False


@pytest.mark.parametrize(
    "recommendations,expected",
    [
        (["approve", "approve", "reject"], "approve"),
        (["approve", "reject", "reject"], "reject"),
        (["approve", "approve", "approve"], "approve"),
        (["approve", "reject"], "reject"),  # a tie is not a majority for approval
        (["approve"], "approve"),
        ([], "reject"),
    ],
)
def test_the_recommendation_is_the_majority_of_the_votes(recommendations, expected):
    votes = {str(i): {"name": f"专家{i}", "score": 80, "recommendation": r} for i, r in enumerate(recommendations)}
    assert recommendation(votes) == expected


def test_closing_the_review_waits_for_the_quorum_and_says_how_many_answered():
    two = {k: v for k, v in ALL_VOTES.items() if k != "14"}
    case = case_in("expert_review", votes=two)
    assert WORKFLOW.check(case, SYSTEM, Attempt("close_review")) == [
        Reason("Y§13", "专家评审尚未达到法定人数：已评审 2/3 位")]
    late = case_in("expert_review", votes=two, facts_=facts(review_deadline_passed=True))
    assert WORKFLOW.next_state(late, SYSTEM, Attempt("close_review")) == "commission_decision"
    one = {"12": ALL_VOTES["12"]}
    still_short = case_in("expert_review", votes=one, facts_=facts(review_deadline_passed=True))
    assert WORKFLOW.check(still_short, SYSTEM, Attempt("close_review")) == [
        Reason("Y§13", "专家评审尚未达到法定人数：已评审 1/3 位")]


# --- what the task page offers (choices) ---------------------------------------------------------


def triggers(case: CaseView, actor: Actor) -> set[str]:
    return {t.trigger for t in WORKFLOW.choices(case, actor)}


def test_the_reviewer_is_offered_accepting_only_when_every_material_is_there():
    assert triggers(case_in("materials_check", materials={"license": META}), REVIEWER) == {"request_materials", "reject"}
    assert triggers(case_in("materials_check"), REVIEWER) == {"request_materials", "accept_materials", "reject"}


def test_an_assigned_expert_is_offered_the_review_until_voting():
    assert triggers(case_in("expert_review", votes={}), EXPERT2) == {"review"}
    assert triggers(case_in("expert_review", votes={"12": vote(EXPERT2)}), EXPERT2) == set()
    assert triggers(case_in("expert_review", votes={}), EXPERT1) == set()


def test_the_applicant_is_offered_the_drafting_steps_and_submit_only_when_eligible():
    assert triggers(case_in("materials_requested"), APPLICANT) == {"edit", "attach", "submit", "withdraw"}
    assert triggers(case_in("draft", facts_=facts(center_code_taken=True)), APPLICANT) == {"edit", "attach", "withdraw"}
    assert triggers(case_in("draft"), PROPOSED_DEPUTY) == set()
