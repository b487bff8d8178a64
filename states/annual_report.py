"""H6, Y§14(三), rubric item 7: the specialty's annual 《医疗服务与质量安全报告》 as a case.

A build renders the draft from the year's indicator analysis (a snapshot of it is kept with the case,
so what the experts review is what gets published). The expert committee reviews it, the commission
approves and publishes it; the published version is stored as rendered and never changes — a later
build opens the next version.
"""
from __future__ import annotations

from typing import Any, Optional

from states import policy
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow

RULE = "H6"
DATA_RULE = "Y§14(三)"
REVIEWERS = ("expert",)
APPROVERS = ("commission_reviewer",)
STATES = {
    "draft": "初稿",
    "reviewed": "专家已评审",
    "approved": "已批准",
    "published": "已发布",
}


def validate(data: dict[str, Any]) -> list[Reason]:
    faults = []
    if not str(data.get("specialty") or "").strip():
        faults.append(Reason(RULE, "年度报告须写明专业"))
    if not isinstance(data.get("year"), int) or not 2000 <= data["year"] <= 2100:
        faults.append(Reason(RULE, f"年度报告的年份须为四位整数（当前：{data.get('year')!r}）"))
    return faults


def _has_data(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    analysis = case.data.get("analysis") or {}
    if not analysis.get("indicators"):
        return Reason(DATA_RULE, "报告没有任何指标数据，不能评审：请先导入指标字典和数值，再重新生成（qcflow report build）")
    return None


def _not_the_reviewer(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if actor.person_id is not None and actor.person_id in case.actors_since("review", since="rebuild"):
        return Reason(RULE, "您已评审本报告；批准须由卫健委审核人另行办理")
    return None


def title_of(data: dict[str, Any]) -> str:
    version = data.get("version") or 1
    return f"{data.get('year')}年度{data.get('specialty')}专业医疗服务与质量安全报告（第 {version} 版）"


T = Transition
WORKFLOW = Workflow(
    kind="annual_report",
    label="年度质量安全报告",
    states=STATES,
    initial="draft",
    final=("published",),
    final_hint="已发布的报告不可更改；数据更正后请重新生成，将形成下一版。",
    validate=validate,
    title_of=title_of,
    creators=(),
    creator_rule=RULE,
    fields={},
    transitions=[
        # The system renders the draft again from the current data (qcflow report build, the flow).
        T("rebuild", ("draft",), "", "重新生成", (), DATA_RULE, system=True, takes_changes=True, complete=False),
        T("review", ("draft",), "reviewed", "评审通过", REVIEWERS, RULE, guards=(_has_data,),
          comment_required="评审须填写专家委员会意见（数据、图表与结论）"),
        T("return", ("reviewed", "approved"), "draft", "退回修改", APPROVERS, RULE,
          comment_required="退回须填写意见"),
        T("approve", ("reviewed",), "approved", "批准", APPROVERS, RULE, guards=(_not_the_reviewer,)),
        T("publish", ("approved",), "published", "发布", APPROVERS, RULE),
    ],
    on_enter={
        "draft": OnEnter(notify=(Notify("annual_report_review", "role:expert", "act"),)),
        "reviewed": OnEnter(notify=(Notify("annual_report_reviewed", "role:commission_reviewer", "act"),)),
        "published": OnEnter(effect="publish_annual_report",
                             notify=(Notify("annual_report_published", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("expert_review", "专家委员会评审", ("draft",), assignee="role:expert",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="annual_report",
                     working_days=policy.ANNUAL_REPORT_EXPERT_REVIEW_WORKING_DAYS.value),
        DeadlineSpec("approval", "批准年度报告", ("reviewed",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="annual_report",
                     working_days=policy.ANNUAL_REPORT_APPROVAL_WORKING_DAYS.value),
        DeadlineSpec("publication", "发布年度报告", ("approved",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="annual_report",
                     working_days=policy.ANNUAL_REPORT_PUBLICATION_WORKING_DAYS.value),
    ),
)
