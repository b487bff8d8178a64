"""The Y§21 deliverable of a new center, as pure rules: it asks for the specialty's QC indicators,
quality standards and norms, and assessment plan — not a work summary and next year's plan."""
from __future__ import annotations

import pytest

from states.report import WORKFLOW
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt

RESP = 30
SECRETARY = Actor(1, "鲁思远", frozenset({("center_secretary", RESP)}))
CONTENT = {"indicators": "1. 社区获得性肺炎入院 4 小时内抗菌药物使用率……", "standards": "《呼吸内科质控标准（2026 版）》……",
           "assessment_plan": "每半年考核一次，满分 100 分……"}


def report(**data) -> CaseView:
    content = {"report_kind": "indicators", "due_date": "2027-02-24", "indicators": "", "standards": "",
               "assessment_plan": "", **data}
    return CaseView(kind="report", state="open", center_id=RESP, created_by_id=0, data=content)


def test_the_task_asks_for_indicators_standards_and_an_assessment_plan():
    fields = WORKFLOW.fields_for(report().data)
    assert list(fields) == ["indicators", "standards", "assessment_plan"]
    assert "质控指标" in fields["indicators"] and "标准" in fields["standards"] and "考核方案" in fields["assessment_plan"]
    assert list(WORKFLOW.fields_for({"report_kind": "year_end"})) == ["summary", "plan"]


def test_an_empty_deliverable_is_refused_naming_each_missing_part_with_y21():
    reasons = WORKFLOW.check(report(), SECRETARY, Attempt("submit", changes={"indicators": CONTENT["indicators"]}))
    assert reasons == [Reason("Y§21", "新设质控中心须报送质控标准及诊疗规范，不能为空"),
                       Reason("Y§21", "新设质控中心须报送质量考核方案，不能为空")]


def test_a_summary_and_plan_do_not_stand_in_for_the_deliverable():
    attempt = Attempt("submit", changes={"summary": "本年度工作总结……", "plan": "下年度工作计划……"})
    assert {r.rule for r in WORKFLOW.check(report(), SECRETARY, attempt)} == {"Y§21"}


def test_the_complete_deliverable_is_submitted():
    assert WORKFLOW.next_state(report(), SECRETARY, Attempt("submit", changes=dict(CONTENT))) == "submitted"
    assert WORKFLOW.next_state(report(**CONTENT), SECRETARY, Attempt("submit")) == "submitted"


@pytest.mark.parametrize("trigger", ["edit", "submit"])
@pytest.mark.parametrize("key,value", [("report_kind", "half_year"), ("due_date", "2030-01-01")])
def test_the_center_may_not_turn_the_task_into_another_kind_or_move_its_due_date(trigger, key, value):
    attempt = Attempt(trigger, changes={**CONTENT, key: value})
    assert Reason("Y§17", f"报告类别和截止日期由系统按规定确定，不能修改（{key}）") in WORKFLOW.check(report(), SECRETARY, attempt)
