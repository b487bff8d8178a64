"""Periodic reports (Y§17): a half-year summary, and a year-end summary with next year's plan that
the commission approves before the work starts. Opened by the calendar for every active center."""
from __future__ import annotations

from typing import Any, Optional

from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow

RULE = "Y§17"
# A report returned close to or after its due day still gets this many working days to resubmit.
RESUBMIT_WORKING_DAYS = Limit(5, RULE)
SUBMITTERS = ("center_director", "center_secretary")
REVIEWERS = ("commission_reviewer",)

STATES = {
    "open": "待提交",
    "submitted": "已提交",
    "returned": "退回修改",
    "accepted": "已通过",
    "overdue": "逾期未交",
}


def validate(data: dict[str, Any]) -> list[Reason]:
    reasons = []
    if not str(data.get("summary") or "").strip():
        reasons.append(Reason(RULE, "工作总结不能为空"))
    if data.get("report_kind") == "year_end" and not str(data.get("plan") or "").strip():
        reasons.append(Reason(RULE, "年度总结须同时报送下年度工作计划"))
    return reasons


def _content_complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    faults = validate({**case.data, **attempt.changes})
    if faults and not attempt.changes:
        return Reason(RULE, "报告内容不完整，不能提交：" + "；".join(f.message for f in faults))
    return None


T = Transition
WORKFLOW = Workflow(
    kind="report",
    label="工作报告",
    states=STATES,
    initial="open",
    final=("accepted",),
    final_hint="已通过的报告不可更改。",
    validate=validate,
    creators=(),
    creator_rule=RULE,
    fields={"summary": "工作总结", "plan": "下年度工作计划（年度报告必填）"},
    transitions=[
        T("edit", ("open", "returned", "overdue"), "", "保存草稿", SUBMITTERS, RULE, takes_changes=True,
          complete=False),
        T("submit", ("open", "returned", "overdue"), "submitted", "提交报告", SUBMITTERS, RULE,
          takes_changes=True, guards=(_content_complete,)),
        T("return", ("submitted",), "returned", "退回修改", REVIEWERS, RULE,
          comment_required="退回修改须填写意见，告诉中心改什么"),
        T("accept", ("submitted",), "accepted", "通过", REVIEWERS, RULE),
        # Overdue is recorded and counts toward Y§25(4) "did not finish planned work".
        T("mark_overdue", ("open", "returned"), "overdue", "逾期", (), "Y§25", system=True),
    ],
    on_enter={
        "open": OnEnter(notify=(Notify("report_opened", "center:center_director,center_secretary", "act"),)),
        "submitted": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "returned": OnEnter(notify=(Notify("task_revise", "center:center_director,center_secretary", "act"),)),
        "accepted": OnEnter(notify=(Notify("notice_accepted", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("submission", "报告报送", ("open", "returned", "overdue"),
                     assignee="center:center_director,center_secretary", escalate_to="role:commission_reviewer",
                     rule=RULE, ladder="periodic_report", due_field="due_date", on_overdue="mark_overdue",
                     working_days=RESUBMIT_WORKING_DAYS.value),
    ),
)
