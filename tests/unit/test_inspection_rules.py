"""The inspection rules as pure functions (Y§14(四), Y§20): the plan must be authorized, findings name an
inspected institution and a known severity, the report falls due a month after the end, and an
institution far off standard is warned or named in a circular by the weights in the policy."""
from __future__ import annotations

from datetime import date

import pytest

from states import inspection_policy as policy
from states.inspection import PLAN, WORKFLOW, add_months
from states.inspection_rectification import WORKFLOW as RECTIFICATION
from states.rules import Actor, CaseView, Refused
from states.workflow import Attempt

CENTER = 7
DIRECTOR = Actor(1, "陆一鸣", frozenset({("center_director", CENTER)}))
OTHER_DIRECTOR = Actor(2, "邵春和", frozenset({("center_director", 8)}))
REVIEWER = Actor(3, "周文清", frozenset({("commission_reviewer", None)}))
OFFICE = Actor(4, "范质远", frozenset({("quality_office", None)}))


def inspection(state: str = "planned", plan_state: str = "authorized", **data) -> CaseView:
    content = {"title": "督导检查", "plan": 5, "institutions": ["QCH1", "QCH2"], "start_on": "2026-09-01", **data}
    plan = {"state": plan_state, "state_label": PLAN.state_label(plan_state), "center_id": CENTER,
            "institutions": ["QCH1", "QCH2"]}
    return CaseView("inspection", state, CENTER, 1, content,
                    facts={"plan": plan, "recipients": {"QCH1": ["x"], "QCH2": ["y"]}, "today": "2026-11-24"})


@pytest.mark.parametrize("plan_state", ["draft", "submitted", "returned"])
def test_an_inspection_cannot_start_before_its_plan_is_authorized(plan_state):
    reasons = WORKFLOW.check(inspection(plan_state=plan_state), DIRECTOR, Attempt("start"))
    assert [r.rule for r in reasons] == ["Y§14(四)", "Y-rubric"]
    assert PLAN.state_label(plan_state) in reasons[0].message and "一票否决" in reasons[1].message


def test_an_authorized_plan_lets_the_center_start():
    assert WORKFLOW.next_state(inspection(), DIRECTOR, Attempt("start")) == "in_progress"


def test_a_missing_plan_and_another_centers_director_are_refused():
    case = inspection()
    missing = CaseView(case.kind, case.state, CENTER, 1, case.data, facts={**case.facts, "plan": None})
    assert "没有编号为 5 的督导检查方案" in str(Refused(WORKFLOW.check(missing, DIRECTOR, Attempt("start"))))
    assert any("没有此权限" in r.message for r in WORKFLOW.check(case, OTHER_DIRECTOR, Attempt("start")))


def test_only_the_commission_authorizes_a_plan_and_a_return_needs_a_comment():
    plan = CaseView("inspection_plan", "submitted", CENTER, 1, {})
    assert any("没有此权限" in r.message for r in PLAN.check(plan, DIRECTOR, Attempt("authorize")))
    assert PLAN.next_state(plan, REVIEWER, Attempt("authorize")) == "authorized"
    assert [r.message for r in PLAN.check(plan, REVIEWER, Attempt("return"))] == ["退回督导检查方案须写明意见，告诉中心改什么"]


def test_findings_name_an_inspected_institution_an_item_a_standard_and_a_known_severity():
    case = inspection("in_progress")
    rows = [{"institution": "LXH", "item": "", "standard": "规范", "severity": "grave"}]
    messages = [r.message for r in WORKFLOW.check(case, DIRECTOR, Attempt("record_findings", changes={"findings": rows}))]
    assert any("LXH" in m and "不在本次检查范围" in m for m in messages)
    assert any("缺少检查项目" in m for m in messages)
    assert any("严重程度须为" in m for m in messages)


def test_the_inspection_cannot_end_in_the_future_or_before_it_began():
    case = inspection("in_progress")
    future = WORKFLOW.check(case, DIRECTOR, Attempt("send_findings", changes={"end_on": "2026-12-01"}))
    early = WORKFLOW.check(case, DIRECTOR, Attempt("send_findings", changes={"end_on": "2026-08-31"}))
    assert any("晚于今天" in r.message for r in future) and any("早于开始日期" in r.message for r in early)


def test_an_institution_nobody_can_be_told_about_stops_the_feedback():
    case = inspection("in_progress")
    unreachable = CaseView(case.kind, case.state, CENTER, 1, case.data, facts={**case.facts, "recipients": {"QCH2": ["y"]}})
    reasons = WORKFLOW.check(unreachable, DIRECTOR, Attempt("send_findings", changes={"end_on": "2026-11-20"}))
    assert [r.rule for r in reasons] == ["Y§20"] and "QCH1" in reasons[0].message


@pytest.mark.parametrize("ended,due", [("2026-09-05", "2026-10-05"), ("2026-01-31", "2026-02-28"),
                                       ("2026-12-15", "2027-01-15"), ("2028-01-31", "2028-02-29")])
def test_the_report_falls_due_one_month_after_the_end(ended, due):
    assert add_months(date.fromisoformat(ended), policy.REPORT_MONTHS.value).isoformat() == due


@pytest.mark.parametrize("severities,level", [
    ([], "none"), (["minor"] * 3, "none"), (["major", "minor"], "warning"), (["severe"], "warning"),
    (["severe", "major"], "notice"), (["minor"] * 9, "notice"),
])
def test_far_off_standard_is_judged_by_the_policy_weights(severities, level):
    assert policy.level_of(severities) == level


def _rectification(**item) -> CaseView:
    items = [{"id": 1, "item": "知情同意", "evidence": [], "verified": None, **item}]
    return CaseView("inspection_rectification", "open", CENTER, 1, {"items": items, "level": "none"},
                    facts={"assigned_ids": {OFFICE.person_id}})


def test_the_institution_adds_evidence_and_only_the_center_verifies():
    case = _rectification()
    assert RECTIFICATION.check(case, OFFICE, Attempt("add_evidence", changes={"item": 1, "evidence": "已整改"})) == []
    evidenced = _rectification(evidence=[{"by": "范质远", "text": "已整改"}])
    assert any("没有此权限" in r.message
               for r in RECTIFICATION.check(evidenced, OFFICE, Attempt("verify", changes={"item": 1, "result": "passed"})))
    assert RECTIFICATION.check(evidenced, DIRECTOR, Attempt("verify", changes={"item": 1, "result": "passed"})) == []


def test_no_verification_without_evidence_and_no_close_with_an_item_open():
    case = _rectification()
    assert any("尚无整改证据" in r.message
               for r in RECTIFICATION.check(case, DIRECTOR, Attempt("verify", changes={"item": 1, "result": "passed"})))
    from states.rules import SYSTEM
    assert any("第 1 项尚未核查为整改到位" in r.message for r in RECTIFICATION.check(case, SYSTEM, Attempt("close")))


def test_an_institution_within_standard_is_not_flagged():
    from states.rules import SYSTEM
    assert RECTIFICATION.check(_rectification(), SYSTEM, Attempt("flag"))[0].message == "该机构的问题未达到预警或通报标准"
