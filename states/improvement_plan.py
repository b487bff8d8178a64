"""H1: the year's improvement-goal work plan of one specialty (改进目标工作方案).

The center, with its expert committee, turns each national improvement goal of the year into a
concrete target value argued from the provincial and national data and their trend, names the
departments of institutions responsible, and lists measures with their scoring sheets and due dates.
The commission approves it; the approved targets become the lines the indicator analysis measures
against (written to ImprovementTarget by the service's effect).
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any, Optional

from states import policy
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "H1"
AUTHORS = ("center_director", "center_secretary")
APPROVERS = ("commission_reviewer",)
DIRECTIONS = {"higher": "越高越好", "lower": "越低越好"}

STATES = {
    "draft": "拟稿",
    "submitted": "已报送",
    "returned": "退回修改",
    "approved": "已批准",
}

GOAL_COLUMNS = (
    ("goal_code", "改进目标编号"), ("goal", "国家改进目标"), ("indicator_code", "指标代码"),
    ("indicator_name", "指标名称"), ("direction", "方向 higher/lower"), ("baseline_province", "本省（市）基线值"),
    ("baseline_national", "全国基线值"), ("trend", "近年变化趋势"), ("target_value", "目标值"),
    ("argument", "目标值论证"), ("departments", "医疗机构责任部门"),
)
MEASURE_COLUMNS = (
    ("goal_code", "改进目标编号"), ("measure", "改进措施"), ("department", "责任部门"),
    ("scoring_sheet", "评分表"), ("due", "完成时限 YYYY-MM-DD"),
)
# The year is set when the plan is created: a step takes only these.
INPUTS = (
    Input("committee_opinion", "专家委员会论证意见（论证时间、参加委员、结论）"),
    Input("goals", "改进目标，每行一项", "table", GOAL_COLUMNS),
    Input("measures", "改进措施，每行一项", "table", MEASURE_COLUMNS),
)


def number(value: Any) -> Optional[float]:
    """A finite number written as a number or as text ("12.5", "12.5%"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value or "").strip().rstrip("%").strip()
    try:
        found = float(text)
    except ValueError:
        return None
    return found if math.isfinite(found) else None


def _text(row: dict[str, Any], key: str) -> str:
    return str(row.get(key) if row.get(key) is not None else "").strip()


def _year(data: dict[str, Any]) -> Optional[int]:
    try:
        year = int(str(data.get("year") or "").strip())
    except ValueError:
        return None
    return year if 2000 <= year <= 2100 else None


def _goal_faults(i: int, goal: Any) -> list[Reason]:
    if not isinstance(goal, dict):
        return [Reason(RULE, f"第 {i} 项改进目标应写明编号、指标、基线、目标值和责任部门")]
    name = _text(goal, "goal_code") or f"第 {i} 项"
    faults = [Reason(RULE, f"改进目标{name}缺少{label}")
              for key, label in (("goal_code", "改进目标编号"), ("goal", "国家改进目标"), ("indicator_code", "指标代码"),
                                 ("trend", "近年变化趋势"), ("argument", "目标值论证"), ("departments", "医疗机构责任部门"))
              if not _text(goal, key)]
    if _text(goal, "direction") not in DIRECTIONS:
        faults.append(Reason(RULE, f"改进目标{name}的方向“{_text(goal, 'direction')}”无效，应为 higher（越高越好）或 lower（越低越好）"))
    for key, label in (("baseline_province", "本省（市）基线值"), ("baseline_national", "全国基线值"),
                       ("target_value", "目标值")):
        if number(goal.get(key)) is None:
            faults.append(Reason(RULE, f"改进目标{name}的{label}须为数值（当前：{_text(goal, key) or '空'}）"))
    return faults


def _measure_faults(i: int, measure: Any, goal_codes: set[str], year: Optional[int]) -> list[Reason]:
    if not isinstance(measure, dict):
        return [Reason(RULE, f"第 {i} 项改进措施应写明所属目标、措施、责任部门、评分表和完成时限")]
    faults = [Reason(RULE, f"第 {i} 项改进措施缺少{label}")
              for key, label in (("measure", "措施内容"), ("department", "责任部门"), ("scoring_sheet", "评分表"))
              if not _text(measure, key)]
    code = _text(measure, "goal_code")
    if code not in goal_codes:
        faults.append(Reason(RULE, f"第 {i} 项改进措施所属的改进目标“{code}”不在本方案的目标中"))
    try:
        due = date.fromisoformat(_text(measure, "due"))
    except ValueError:
        faults.append(Reason(RULE, f"第 {i} 项改进措施的完成时限须为日期 YYYY-MM-DD（当前：{_text(measure, 'due') or '空'}）"))
    else:
        if year is not None and due.year != year:
            faults.append(Reason(RULE, f"第 {i} 项改进措施的完成时限 {due.isoformat()} 不在方案年度 {year} 年内"))
    return faults


def validate(data: dict[str, Any]) -> list[Reason]:
    """Every fault of a plan's content; empty when it may be submitted."""
    year = _year(data)
    faults = [] if year is not None else [Reason(RULE, f"方案年度须为 2000–2100 之间的年份（当前：{data.get('year') or '空'}）")]
    if not str(data.get("committee_opinion") or "").strip():
        faults.append(Reason(RULE, "须写明专家委员会的论证意见：改进目标工作方案由中心组织本专业专家委员会论证制定"))
    goals = data.get("goals") if isinstance(data.get("goals"), list) else []
    if not goals:
        faults.append(Reason(RULE, "方案须至少列出一项本年度国家改进目标及其目标值"))
    for i, goal in enumerate(goals, 1):
        faults.extend(_goal_faults(i, goal))
    codes = [_text(g, "goal_code") for g in goals if isinstance(g, dict)]
    indicators = [_text(g, "indicator_code") for g in goals if isinstance(g, dict)]
    for label, values in (("改进目标编号", codes), ("指标代码", indicators)):
        repeated = sorted({v for v in values if v and values.count(v) > 1})
        if repeated:
            faults.append(Reason(RULE, f"{label}重复：{'、'.join(repeated)}（每个指标只设一个目标值）"))
    measures = data.get("measures") if isinstance(data.get("measures"), list) else []
    for i, measure in enumerate(measures, 1):
        faults.extend(_measure_faults(i, measure, set(codes), year))
    covered = {_text(m, "goal_code") for m in measures if isinstance(m, dict)}
    for code in codes:
        if code and code not in covered:
            faults.append(Reason(RULE, f"改进目标{code}尚无改进措施（须有评分表和完成时限）"))
    return faults


def validate_new(data: dict[str, Any]) -> list[Reason]:
    """A draft needs only its year: the rest is written before submission."""
    return [] if _year(data) is not None else [Reason(RULE, f"方案年度须为 2000–2100 之间的年份（当前：{data.get('year') or '空'}）")]


@needs_input  # the page offers the step: the content is typed in with it
def _complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    faults = validate(keep_blank_inputs_out(case.data, attempt.changes, actor))
    if faults and not attempt.changes:
        return Reason(RULE, "方案内容不完整，不能报送：" + "；".join(f.message for f in faults))
    return None


def keep_blank_inputs_out(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A form leaves the tables it does not show filled in empty: an empty input changes nothing."""
    return {**data, **{k: v for k, v in changes.items() if v not in ("", [], None)}}


def _one_approved_plan_a_year(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    other = case.facts.get("approved_plan_same_year")
    if other:
        return Reason(RULE, f"本专业 {case.data.get('year')} 年度已有批准的改进目标工作方案 #{other}，不能再批准另一份")
    return None


def title_of(data: dict[str, Any]) -> str:
    return str(data.get("title") or "").strip() or f"{data.get('year') or ''}年度改进目标工作方案"


T = Transition
WORKFLOW = Workflow(
    kind="improvement_plan",
    label="改进目标工作方案",
    states=STATES,
    initial="draft",
    final=("approved",),
    final_hint="已批准的方案不可更改；其目标值已作为指标分析的目标线。",
    validate=validate,
    validate_new=validate_new,
    title_of=title_of,
    creators=AUTHORS,
    creator_rule=RULE,
    fields={},  # the content is entered through the steps' inputs (a table per goal and per measure)
    transitions=[
        T("edit", ("draft", "returned"), "", "保存草稿", AUTHORS, RULE, takes_changes=True, complete=False,
          inputs=INPUTS, apply=keep_blank_inputs_out),
        T("submit", ("draft", "returned"), "submitted", "报送卫健委", AUTHORS, RULE, takes_changes=True,
          inputs=INPUTS, apply=keep_blank_inputs_out, guards=(_complete,)),
        T("return", ("submitted",), "returned", "退回修改", APPROVERS, RULE,
          comment_required="退回修改须填写意见，告诉中心改什么"),
        T("approve", ("submitted",), "approved", "批准", APPROVERS, RULE, guards=(_one_approved_plan_a_year,)),
    ],
    on_enter={
        "submitted": OnEnter(notify=(Notify("plan_submitted", "role:commission_reviewer", "act"),)),
        "returned": OnEnter(notify=(Notify("task_revise", "center:center_director,center_secretary", "act"),)),
        "approved": OnEnter(effect="write_improvement_targets",
                            notify=(Notify("plan_approved", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("approval", "审批改进目标工作方案", ("submitted",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="improvement_plan",
                     working_days=policy.IMPROVEMENT_PLAN_APPROVAL_WORKING_DAYS.value),
        DeadlineSpec("revision", "修改后重新报送", ("returned",), assignee="center:center_director,center_secretary",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="improvement_plan",
                     working_days=policy.IMPROVEMENT_PLAN_REVISION_WORKING_DAYS.value),
    ),
)
