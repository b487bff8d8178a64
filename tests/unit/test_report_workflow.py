"""Periodic reports (Y§17) as pure rules: every state against every step, who may fire it, and why not.

The expectations are written out here by hand, from DOMAIN.md ("Recurring obligations"), and never
read from `WORKFLOW.transitions`: a change to the table in states/report.py must break a test.
"""
from __future__ import annotations

import pytest

from states.report import WORKFLOW
from states.rules import SYSTEM, Actor, CaseView, Reason, Refused
from states.workflow import Attempt
from tests.unit.table import cells, only_reason

CARD, NURS = 10, 20

SECRETARY = Actor(1, "林小禾", frozenset({("center_secretary", CARD)}))
DIRECTOR = Actor(2, "陆一鸣", frozenset({("center_director", CARD)}))
DEPUTY = Actor(3, "方建国", frozenset({("center_deputy", CARD)}))
MEMBER = Actor(4, "成员甲", frozenset({("center_member", CARD)}))
OTHER_SECRETARY = Actor(5, "唐雨晴", frozenset({("center_secretary", NURS)}))
REVIEWER = Actor(6, "周文清", frozenset({("commission_reviewer", None)}))
HEAD = Actor(7, "钱立衡", frozenset({("section_head", None)}))
LEADER = Actor(8, "孙正和", frozenset({("signing_leader", None)}))
NOBODY = Actor(9, "路人甲", frozenset())

STATE_LABELS = {
    "open": "待提交",
    "submitted": "已提交",
    "returned": "退回修改",
    "accepted": "已通过",
    "overdue": "逾期未交",
}
FINAL_HINT = "已通过的报告不可更改。"
CENTER_WHO = "质控中心主任或质控中心秘书"
REVIEWER_WHO = "卫健委审核人（医政医管科）"

# trigger → (label people see, rule it cites, who may fire it as people read it)
STEPS = {
    "edit": ("保存草稿", "Y§17", CENTER_WHO),
    "submit": ("提交报告", "Y§17", CENTER_WHO),
    "return": ("退回修改", "Y§17", REVIEWER_WHO),
    "accept": ("通过", "Y§17", REVIEWER_WHO),
    "mark_overdue": ("逾期", "Y§25", "系统"),
}

# The whole table, state by state: the steps allowed there and where each leads.
ALLOWED = {
    "open": {"edit": "open", "submit": "submitted", "mark_overdue": "overdue"},
    "submitted": {"return": "returned", "accept": "accepted"},
    "returned": {"edit": "returned", "submit": "submitted", "mark_overdue": "overdue"},
    "accepted": {},
    "overdue": {"edit": "overdue", "submit": "submitted"},
}
SOURCES = {
    "edit": ("open", "returned", "overdue"),
    "submit": ("open", "returned", "overdue"),
    "return": ("submitted",),
    "accept": ("submitted",),
    "mark_overdue": ("open", "returned"),
}
RIGHT_ACTOR = {"edit": SECRETARY, "submit": SECRETARY, "return": REVIEWER, "accept": REVIEWER,
               "mark_overdue": SYSTEM}
WRONG_ACTORS = {
    "edit": (OTHER_SECRETARY, DEPUTY, MEMBER, REVIEWER, HEAD, LEADER, NOBODY, SYSTEM),
    "submit": (OTHER_SECRETARY, DEPUTY, MEMBER, REVIEWER, HEAD, LEADER, NOBODY, SYSTEM),
    "return": (SECRETARY, DIRECTOR, OTHER_SECRETARY, HEAD, LEADER, NOBODY, SYSTEM),
    "accept": (SECRETARY, DIRECTOR, OTHER_SECRETARY, HEAD, LEADER, NOBODY, SYSTEM),
    "mark_overdue": (SECRETARY, DIRECTOR, REVIEWER, HEAD, LEADER, NOBODY),
}

SUMMARY = "上半年完成心血管病质控督查 3 次，培训 2 场。"
PLAN = "2027 年计划：督查 4 次，培训 3 场，发布年度质控报告。"


def report(state: str, kind: str = "half_year", **data) -> CaseView:
    content = {"report_kind": kind, "period": "2026H1" if kind == "half_year" else "2026Y",
               "due_date": "2026-06-30" if kind == "half_year" else "2026-12-31",
               "summary": SUMMARY, "plan": PLAN if kind == "year_end" else ""}
    content.update(data)
    return CaseView(kind="report", state=state, center_id=CARD, created_by_id=None, data=content)


def attempt_of(trigger: str, **kwargs) -> Attempt:
    kwargs.setdefault("comment", "请补充培训签到表")
    return Attempt(trigger, **kwargs)


ALL_CELLS, ALLOWED_CELLS, REFUSED_CELLS = cells(STATE_LABELS, STEPS, ALLOWED)


def test_the_table_covers_every_state_and_every_step():
    assert set(WORKFLOW.states) == set(STATE_LABELS)
    assert set(WORKFLOW.transitions) == set(STEPS)
    assert WORKFLOW.initial == "open"
    assert WORKFLOW.final == ("accepted",)
    assert WORKFLOW.kind == "report" and WORKFLOW.label == "工作报告"
    assert len(ALL_CELLS) == 25 and len(ALLOWED_CELLS) == 10
    assert SOURCES == {t: tuple(s for s in STATE_LABELS if t in ALLOWED[s]) for t in STEPS}


@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_every_state_shows_its_chinese_name(state):
    assert WORKFLOW.state_label(state) == STATE_LABELS[state]


@pytest.mark.parametrize("state,trigger", ALLOWED_CELLS)
def test_the_right_actor_may_take_an_allowed_step_and_it_leads_to_the_expected_state(state, trigger):
    actor = RIGHT_ACTOR[trigger]
    assert WORKFLOW.check(report(state), actor, attempt_of(trigger)) == []
    assert WORKFLOW.next_state(report(state), actor, attempt_of(trigger)) == ALLOWED[state][trigger]


@pytest.mark.parametrize("state,trigger", REFUSED_CELLS)
def test_a_step_in_the_wrong_state_is_refused_with_the_article_and_the_states_it_needs(state, trigger):
    label, rule, _ = STEPS[trigger]
    reason = only_reason(WORKFLOW.check(report(state), RIGHT_ACTOR[trigger], attempt_of(trigger)))
    assert reason.rule == rule
    if state == "accepted":
        assert reason.message == f"该工作报告状态为已通过，不能再“{label}”。{FINAL_HINT}"
    else:
        allowed = "、".join(STATE_LABELS[s] for s in SOURCES[trigger])
        assert reason.message == f"“{label}”只能在{allowed}状态下进行，当前为{STATE_LABELS[state]}"
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(report(state), RIGHT_ACTOR[trigger], attempt_of(trigger))
    assert refused.value.reasons == [reason]


@pytest.mark.parametrize(
    "state,trigger,actor",
    [(s, t, a) for s, t in ALLOWED_CELLS for a in WRONG_ACTORS[t]],
    ids=lambda x: x.name if isinstance(x, Actor) else str(x),
)
def test_an_allowed_step_is_refused_to_anyone_without_the_role(state, trigger, actor):
    label, rule, who = STEPS[trigger]
    reasons = WORKFLOW.check(report(state), actor, attempt_of(trigger))
    if trigger == "mark_overdue":
        assert reasons == [Reason("Y§25", "“逾期”由系统自动进行，不能手动操作")]
    else:
        assert reasons == [Reason(rule, f"“{label}”只能由{who}进行，{actor.name}没有此权限")]
    with pytest.raises(Refused):
        WORKFLOW.next_state(report(state), actor, attempt_of(trigger))


@pytest.mark.parametrize("state", ["open", "returned", "overdue"])
def test_the_director_of_the_center_may_submit_too(state):
    assert WORKFLOW.next_state(report(state), DIRECTOR, Attempt("submit")) == "submitted"


# --- content: the summary, and the plan for a year-end report ----------------------------------------


@pytest.mark.parametrize("state", ["open", "returned", "overdue"])
@pytest.mark.parametrize("summary", ["", "   ", "\n\t", None])
def test_submitting_a_stored_report_with_an_empty_summary_is_refused(state, summary):
    reason = only_reason(WORKFLOW.check(report(state, summary=summary), SECRETARY, Attempt("submit")))
    assert reason == Reason("Y§17", "报告内容不完整，不能提交：工作总结不能为空")
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(report(state, summary=summary), SECRETARY, Attempt("submit"))
    assert "工作总结不能为空" in str(refused.value) and "Y§17" in str(refused.value)


@pytest.mark.parametrize("summary", ["", "  "])
def test_submitting_with_an_empty_summary_typed_in_is_refused(summary):
    reason = only_reason(WORKFLOW.check(report("open"), SECRETARY, Attempt("submit", changes={"summary": summary})))
    assert reason == Reason("Y§17", "工作总结不能为空")


def test_submitting_with_the_summary_typed_in_fills_an_empty_report():
    case = report("open", summary="")
    assert WORKFLOW.next_state(case, SECRETARY, Attempt("submit", changes={"summary": SUMMARY})) == "submitted"


def test_a_half_year_report_needs_no_plan():
    assert WORKFLOW.check(report("open", plan=""), SECRETARY, Attempt("submit")) == []


@pytest.mark.parametrize("plan", ["", "  ", None])
def test_a_year_end_report_without_next_years_plan_is_refused(plan):
    case = report("open", kind="year_end", plan=plan)
    reason = only_reason(WORKFLOW.check(case, SECRETARY, Attempt("submit")))
    assert reason == Reason("Y§17", "报告内容不完整，不能提交：年度总结须同时报送下年度工作计划")
    typed = only_reason(WORKFLOW.check(case, SECRETARY, Attempt("submit", changes={"summary": SUMMARY})))
    assert typed == Reason("Y§17", "年度总结须同时报送下年度工作计划")
    assert WORKFLOW.next_state(case, SECRETARY, Attempt("submit", changes={"plan": PLAN})) == "submitted"


def test_a_year_end_report_missing_both_lists_both_faults():
    case = report("returned", kind="year_end", summary="", plan="")
    reason = only_reason(WORKFLOW.check(case, DIRECTOR, Attempt("submit")))
    assert reason.message == "报告内容不完整，不能提交：工作总结不能为空；年度总结须同时报送下年度工作计划"
    typed = WORKFLOW.check(case, DIRECTOR, Attempt("submit", changes={"summary": "", "plan": ""}))
    assert typed == [Reason("Y§17", "工作总结不能为空"), Reason("Y§17", "年度总结须同时报送下年度工作计划")]


def test_the_year_end_report_is_complete_with_summary_and_plan():
    assert WORKFLOW.validate({"report_kind": "year_end", "summary": SUMMARY, "plan": PLAN}) == []
    assert WORKFLOW.validate({"report_kind": "half_year", "summary": SUMMARY}) == []


def test_saving_a_draft_keeps_the_state_and_takes_changes():
    attempt = Attempt("edit", changes={"summary": "草稿：上半年工作小结"})
    for state in ("open", "returned", "overdue"):
        assert WORKFLOW.next_state(report(state), SECRETARY, attempt) == state


def test_a_year_end_draft_may_be_saved_before_the_plan_is_written():
    case = report("open", kind="year_end", summary="", plan="")
    attempt = Attempt("edit", changes={"summary": "草稿：年度工作总结（计划待补）"})
    assert WORKFLOW.check(case, SECRETARY, attempt) == []


@pytest.mark.parametrize("trigger", ["return", "accept"])
def test_a_reviewer_step_does_not_take_content_changes(trigger):
    label = STEPS[trigger][0]
    attempt = attempt_of(trigger, changes={"summary": "审核人改写的总结"})
    assert WORKFLOW.check(report("submitted"), REVIEWER, attempt) == [Reason("Y§17", f"“{label}”时不能修改内容")]


# --- returning, accepting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("comment", ["", "   ", "\n\t"])
def test_returning_a_report_needs_a_comment(comment):
    reason = only_reason(WORKFLOW.check(report("submitted"), REVIEWER, Attempt("return", comment=comment)))
    assert reason == Reason("Y§17", "退回修改须填写意见，告诉中心改什么")
    with pytest.raises(Refused):
        WORKFLOW.next_state(report("submitted"), REVIEWER, Attempt("return", comment=comment))
    assert WORKFLOW.next_state(report("submitted"), REVIEWER,
                               Attempt("return", comment="请补充培训签到表")) == "returned"


def test_accepting_needs_no_comment():
    assert WORKFLOW.next_state(report("submitted"), REVIEWER, Attempt("accept")) == "accepted"


def test_a_returned_report_may_be_resubmitted_and_accepted():
    assert WORKFLOW.next_state(report("returned"), SECRETARY, Attempt("submit")) == "submitted"
    assert WORKFLOW.next_state(report("submitted"), REVIEWER, Attempt("accept")) == "accepted"


# --- overdue ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["open", "returned"])
def test_the_system_marks_an_open_or_returned_report_overdue(state):
    assert WORKFLOW.next_state(report(state), SYSTEM, Attempt("mark_overdue")) == "overdue"


@pytest.mark.parametrize("state", ["open", "returned"])
@pytest.mark.parametrize("actor", [SECRETARY, DIRECTOR, REVIEWER, HEAD, NOBODY], ids=lambda a: a.name)
def test_no_person_may_mark_a_report_overdue(state, actor):
    assert WORKFLOW.check(report(state), actor, Attempt("mark_overdue")) == [
        Reason("Y§25", "“逾期”由系统自动进行，不能手动操作")]


@pytest.mark.parametrize("state", ["submitted", "accepted", "overdue"])
def test_the_system_cannot_mark_overdue_a_report_that_is_submitted_accepted_or_already_overdue(state):
    reason = only_reason(WORKFLOW.check(report(state), SYSTEM, Attempt("mark_overdue")))
    assert reason.rule == "Y§25"
    assert "“逾期”" in reason.message and f"{STATE_LABELS[state]}" in reason.message


def test_a_late_report_may_still_be_submitted_from_overdue():
    case = report("overdue", summary="")
    assert WORKFLOW.next_state(case, SECRETARY, Attempt("submit", changes={"summary": SUMMARY})) == "submitted"
    assert WORKFLOW.next_state(report("overdue"), DIRECTOR, Attempt("submit")) == "submitted"


@pytest.mark.parametrize("trigger", ["submit", "edit", "accept", "return"])
def test_the_system_cannot_take_a_persons_step(trigger):
    state = "submitted" if trigger in ("accept", "return") else "open"
    label, _, who = STEPS[trigger]
    assert WORKFLOW.check(report(state), SYSTEM, attempt_of(trigger)) == [
        Reason("Y§17", f"“{label}”只能由{who}进行，系统没有此权限")]


# --- choices, unknown steps, creating -----------------------------------------------------------------


@pytest.mark.parametrize(
    "state,actor,expected",
    [
        ("open", SECRETARY, {"edit", "submit"}),
        ("open", DIRECTOR, {"edit", "submit"}),
        ("open", OTHER_SECRETARY, set()),
        ("open", REVIEWER, set()),
        ("open", SYSTEM, set()),  # mark_overdue is automatic, never offered
        ("submitted", REVIEWER, {"return", "accept"}),
        ("submitted", SECRETARY, set()),
        ("returned", SECRETARY, {"edit", "submit"}),
        ("returned", REVIEWER, set()),
        ("overdue", DIRECTOR, {"edit", "submit"}),
        ("accepted", SECRETARY, set()),
        ("accepted", REVIEWER, set()),
    ],
    ids=lambda x: x.name if isinstance(x, Actor) else str(x),
)
def test_choices_offer_the_steps_this_actor_may_take_now(state, actor, expected):
    assert {t.trigger for t in WORKFLOW.choices(report(state), actor)} == expected


def test_submit_is_offered_on_an_empty_report_so_it_is_written_and_submitted_in_one_step():
    empty = report("open", summary="")
    assert {t.trigger for t in WORKFLOW.choices(empty, SECRETARY)} == {"edit", "submit"}
    assert WORKFLOW.transitions["submit"].takes_changes  # the page shows the fields with it
    assert WORKFLOW.next_state(empty, SECRETARY, Attempt("submit", changes={"summary": SUMMARY})) == "submitted"
    with pytest.raises(Refused, match="工作总结不能为空"):  # still never submitted empty
        WORKFLOW.next_state(empty, SECRETARY, Attempt("submit"))


@pytest.mark.parametrize("trigger", ["approve", "reopen", "Submit"])
def test_an_unknown_step_is_refused_listing_the_steps_people_can_take(trigger):
    reason = only_reason(WORKFLOW.check(report("open"), SECRETARY, Attempt(trigger)))
    assert reason.rule == ""
    assert f"工作报告没有名为“{trigger}”的操作" in reason.message
    for name, (label, _, _) in STEPS.items():
        assert (f"{name}（{label}）" in reason.message) == (name != "mark_overdue")


def test_no_decision_at_all_asks_to_choose_one():
    assert WORKFLOW.check(report("open"), SECRETARY, Attempt("")) == [Reason("", "请选择一项决定")]


@pytest.mark.parametrize("actor", [SECRETARY, DIRECTOR, REVIEWER, NOBODY], ids=lambda a: a.name)
def test_reports_are_opened_by_the_calendar_not_created_by_people(actor):
    reason = only_reason(WORKFLOW.check_create(actor, CARD))
    assert reason.rule == "Y§17" and f"{actor.name}没有此权限" in reason.message


def test_the_submission_deadline_runs_while_the_center_holds_the_report():
    (spec,) = WORKFLOW.deadlines
    assert spec.step == "submission" and spec.label == "报告报送"
    assert spec.states == ("open", "returned", "overdue")
    assert spec.ladder == "periodic_report" and spec.due_field == "due_date"
    assert spec.on_overdue == "mark_overdue" and spec.rule == "Y§17"
    assert spec.assignee == "center:center_director,center_secretary"
    assert spec.escalate_to == "role:commission_reviewer"
