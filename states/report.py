"""Periodic reports (Y§17): a half-year summary, and a year-end summary with next year's plan that
the commission approves before the work starts, opened by the calendar for every active center. The
same workflow carries a new center's first deliverable (Y§21): its specialty's QC indicators,
quality standards and norms, and quality assessment plan, due 3 months after establishment."""
from __future__ import annotations

from typing import Any, Optional

from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "Y§17"
INDICATORS_RULE = "Y§21"
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


# What each kind of report asks for (report_kind in the case's content), with the article asking it.
SUMMARY_FIELDS = {"summary": "工作总结", "plan": "下年度工作计划（年度报告必填）"}
INDICATOR_FIELDS = {
    "indicators": "本专业质控指标（结构、过程、结果指标及其定义、计算方法）",
    "standards": "质控标准及诊疗规范（质量控制标准、技术规范）",
    "assessment_plan": "质量考核方案（考核内容、评分标准、考核方式）",
}
ALL_FIELDS = {**SUMMARY_FIELDS, **INDICATOR_FIELDS}


def fields_of(data: dict[str, Any]) -> dict[str, str]:
    return INDICATOR_FIELDS if data.get("report_kind") == "indicators" else SUMMARY_FIELDS


def _blank(data: dict[str, Any], key: str) -> bool:
    return not str(data.get(key) or "").strip()


def validate(data: dict[str, Any]) -> list[Reason]:
    if data.get("report_kind") == "indicators":
        # Y§21: 新增质控中心成立后，应当在3个月内完成本专业质控指标、标准、质量考核方案的制定、审核和发布。
        return [Reason(INDICATORS_RULE, f"新设质控中心须报送{label.split('（')[0]}，不能为空")
                for key, label in INDICATOR_FIELDS.items() if _blank(data, key)]
    reasons = []
    if not str(data.get("summary") or "").strip():
        reasons.append(Reason(RULE, "工作总结不能为空"))
    if data.get("report_kind") == "year_end" and not str(data.get("plan") or "").strip():
        reasons.append(Reason(RULE, "年度总结须同时报送下年度工作计划"))
    return reasons


@needs_input
def _content_complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """Judged on the content the submit leaves (what was saved plus what is given with it), so an empty
    report is written and submitted in one step; the submit is offered with its fields for that reason."""
    if attempt.changes:
        return None  # the engine judges the merged content by `validate`, naming each missing part
    faults = validate(case.after)
    if faults:
        return Reason(RULE, "报告内容不完整，不能提交：" + "；".join(f.message for f in faults))
    return None


def _kind_and_due_date_fixed(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """What is asked and by when is set when the report opens: a Y§21 deliverable cannot become a summary."""
    fixed = sorted({"report_kind", "due_date"} & set(attempt.changes))
    if fixed:
        return Reason(RULE, f"报告类别和截止日期由系统按规定确定，不能修改（{'、'.join(fixed)}）")
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
    fields=ALL_FIELDS,
    fields_of=fields_of,
    transitions=[
        T("edit", ("open", "returned", "overdue"), "", "保存草稿", SUBMITTERS, RULE, takes_changes=True,
          complete=False, guards=(_kind_and_due_date_fixed,)),
        T("submit", ("open", "returned", "overdue"), "submitted", "提交报告", SUBMITTERS, RULE,
          takes_changes=True, guards=(_kind_and_due_date_fixed, _content_complete)),
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
