"""Workflow 3: root-cause review of a death case (H5; 国卫医发〔2018〕8号 core rule 9; RCA²).

reported → screened → (closed_no_review) | assigned → investigating → discussed → analysed →
actions_planned → actions_approved → follow_up → verified → closed; `reopen` goes back to
investigating. Patient identity never enters a case (Y§22): every path stores a keyed hash
(states/death_intake.without_identity), and the title names no record number.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from states.death_intake import title_of as death_title
from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "H5"
DISCUSSION_RULE = "国卫医发〔2018〕8号"
DISCUSSION_DAYS = Limit(7, DISCUSSION_RULE)  # discussion within one week of death
DISCUSSION_WORKING_DAYS_INDICATOR = Limit(5, "2025年监测指标")  # recorded, not enforced

STATES = {
    "reported": "已报告",
    "screened": "已筛查",
    "closed_no_review": "无需评审",
    "assigned": "已分派",
    "investigating": "调查中",
    "discussed": "已讨论",
    "analysed": "已分析",
    "actions_planned": "措施待批",
    "actions_approved": "措施已批",
    "follow_up": "跟踪落实",
    "verified": "已核实",
    "closed": "已结案",
}
FACTOR_CATEGORIES = {
    "patient": "患者因素", "staff": "人员因素", "task": "任务/流程因素", "equipment": "设备因素",
    "environment": "环境因素", "organization": "组织/管理因素", "communication": "沟通因素",
}
STRENGTHS = {
    "stronger": "强（如：物理改造、强制功能、流程/设备简化与标准化、领导实际参与）",
    "intermediate": "中（如：冗余设计、人员/工作量调整、软件改进、核查表、复述确认、SBAR 标准化沟通、模拟培训）",
    "weaker": "弱（如：双人核对、警示、新制度/通知、单纯培训）",
}
DISCUSSION_FIELDS = {
    "date": "讨论日期", "place": "地点", "chair": "主持人（姓名、职称）", "participants": "参加人员及职称",
    "cause_of_death": "死亡原因", "final_diagnosis": "最后诊断（含尸检/病理诊断）", "course": "诊疗及抢救经过",
    "opinions": "各参加人员意见", "summary": "主持人总结",
}
COMMISSION = ("commission_reviewer",)
CENTER_LEADS = ("center_director", "center_deputy", "center_secretary")
REVIEWERS = ("assigned",) + CENTER_LEADS


def validate(data: dict[str, Any]) -> list[Reason]:
    return []  # intake rows are validated on import (states/death_intake.py)


def may_import(is_commission: bool, own_hospital: Optional[str], hospital: str) -> list[Reason]:
    """A hospital reports its own deaths; the commission may import for any hospital."""
    if is_commission or own_hospital == hospital:
        return []
    return [Reason("Y§22", f"只能导入本单位的死亡病例（您的单位：{own_hospital or '未登记'}，文件所属：{hospital}）")]


def assign(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Assignment names the center and reviewers; the discussion falls due a week after death."""
    out = {**data, **changes}
    if not out.get("discussion_due") and out.get("died_on"):
        due = date.fromordinal(date.fromisoformat(str(out["died_on"])).toordinal() + DISCUSSION_DAYS.value)
        out["discussion_due"] = due.isoformat()
    return out


def _not_low_risk(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if case.data.get("low_risk"):
        return Reason(RULE, "低风险组死亡病例必须开展评审，不能以“无需评审”结案")
    return None


@needs_input
def _assignment_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    reasons = []
    centers = case.facts.get("centers", {})
    if str(attempt.changes.get("center", "")) not in centers:
        reasons.append(Reason(RULE, f"请指定负责评审的质控中心代码（可选：{'、'.join(centers) or '无'}）"))
    reviewers = attempt.changes.get("reviewers") or []
    people = case.facts.get("people", {})
    if not reviewers:
        reasons.append(Reason(RULE, "请指定至少一位评审人（邮箱）"))
    for email in reviewers:
        if str(email).lower() not in people:
            reasons.append(Reason(RULE, f"{email} 不在人员名录中"))
    return reasons


@needs_input
def _discussion_complete(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    record = {**case.data.get("discussion", {}), **attempt.changes.get("discussion", {})}
    missing = [label for key, label in DISCUSSION_FIELDS.items() if not str(record.get(key) or "").strip()]
    reasons = [Reason(DISCUSSION_RULE, f"死亡病例讨论记录缺少：{'、'.join(missing)}")] if missing else []
    if record.get("date"):
        try:
            held = date.fromisoformat(str(record["date"]))
            if held < date.fromisoformat(str(case.data.get("died_on"))):
                reasons.append(Reason(DISCUSSION_RULE, "讨论日期早于死亡日期"))
        except ValueError:
            reasons.append(Reason(DISCUSSION_RULE, f"讨论日期“{record['date']}”无效（格式 YYYY-MM-DD）"))
    return reasons


@needs_input
def _autopsy_report_date(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    try:
        reported = date.fromisoformat(str(attempt.changes.get("autopsy_report_on", "")))
    except ValueError:
        return Reason(DISCUSSION_RULE, "请填写尸检报告日期（格式 YYYY-MM-DD）")
    if reported < date.fromisoformat(str(case.data.get("died_on"))):
        return Reason(DISCUSSION_RULE, "尸检报告日期早于死亡日期")
    return None


def record_autopsy(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """An autopsy report calls for a second discussion within a week of the report."""
    reported = date.fromisoformat(str(changes["autopsy_report_on"]))
    due = date.fromordinal(reported.toordinal() + DISCUSSION_DAYS.value)
    return {**data, "autopsy": True, "autopsy_report_on": reported.isoformat(), "rediscussion_due": due.isoformat()}


@needs_input
def _rediscussion_complete(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    record = attempt.changes.get("rediscussion", {})
    missing = [label for key, label in DISCUSSION_FIELDS.items() if not str(record.get(key) or "").strip()]
    return [Reason(DISCUSSION_RULE, f"尸检后再次讨论的记录缺少：{'、'.join(missing)}")] if missing else []


def _autopsy_reported(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """Not an input check: without an autopsy report the step is not offered at all."""
    return None if case.data.get("autopsy_report_on") else Reason(DISCUSSION_RULE, "尚未登记尸检报告，无需再次讨论")


def _rediscussed_if_autopsy(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if case.data.get("autopsy_report_on") and not case.data.get("rediscussion"):
        return Reason(DISCUSSION_RULE, "有尸检报告的病例须在报告后 1 周内再次讨论，登记后才能结案")
    return None


def record_discussion(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    record = {**data.get("discussion", {}), **changes.get("discussion", {})}
    out = {**data, "discussion": record}
    try:
        days = (date.fromisoformat(str(record["date"])) - date.fromisoformat(str(data["died_on"]))).days
        out["discussed_within_days"] = days
        out["discussed_on_time"] = days <= DISCUSSION_DAYS.value
    except (KeyError, ValueError):
        pass
    return out


@needs_input
def _factors_given(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    factors = attempt.changes.get("factors", case.data.get("factors")) or {}
    if not isinstance(factors, dict) or not any(factors.values()):
        return [Reason(RULE, "请至少按一个类别记录导致死亡的因素：" + "、".join(FACTOR_CATEGORIES.values()))]
    unknown = [k for k in factors if k not in FACTOR_CATEGORIES]
    return [Reason(RULE, f"因素类别“{k}”无效，应为：{'、'.join(FACTOR_CATEGORIES)}") for k in unknown]


def record_factors(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    factors = {k: v for k, v in (changes.get("factors") or {}).items() if v}
    return {**data, "factors": factors}


@needs_input
def _actions_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    actions = attempt.changes.get("actions", case.data.get("actions")) or []
    if not isinstance(actions, list) or not actions:
        return [Reason(RULE, "请至少提出一项改进措施（含负责人、完成期限、措施强度）")]
    reasons = []
    people = case.facts.get("people", {})
    for i, action in enumerate(actions, 1):
        if not isinstance(action, dict):
            reasons.append(Reason(RULE, f"第 {i} 项措施格式无效"))
            continue
        if not str(action.get("description") or "").strip():
            reasons.append(Reason(RULE, f"第 {i} 项措施缺少内容"))
        if str(action.get("owner", "")).lower() not in people:
            reasons.append(Reason(RULE, f"第 {i} 项措施的负责人“{action.get('owner', '')}”不在人员名录中"))
        try:
            date.fromisoformat(str(action.get("due")))
        except ValueError:
            reasons.append(Reason(RULE, f"第 {i} 项措施的完成期限无效（格式 YYYY-MM-DD）"))
        if action.get("strength") not in STRENGTHS:
            reasons.append(Reason("RCA²", f"第 {i} 项措施须注明强度：stronger（强）、intermediate（中）或 weaker（弱）"))
    if case.data.get("low_risk") and all(a.get("strength") == "weaker" for a in actions if isinstance(a, dict)):
        reasons.append(Reason("RCA²", "低风险组死亡病例至少须有一项“强”或“中”强度的措施；双人核对、警示、新制度、单纯培训均属“弱”"))
    return reasons


def plan_actions(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    actions = [{**a, "id": i, "owner": str(a.get("owner", "")).lower()} for i, a in enumerate(changes["actions"], 1)]
    due = max((str(a.get("due")) for a in actions), default="")
    return {**data, "actions": actions, "actions_due": due}


@needs_input
def _evidence_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    ids = {a["id"] for a in case.data.get("actions", [])}
    try:
        action_id = int(attempt.changes.get("action", 0))
    except (TypeError, ValueError):
        action_id = 0
    reasons = []
    if action_id not in ids:
        reasons.append(Reason(RULE, f"请指明是第几项措施（1–{len(ids)}）"))
    if not str(attempt.changes.get("evidence") or "").strip():
        reasons.append(Reason(RULE, "请填写落实证据（做了什么、何时、可查的记录）"))
    return reasons


def add_evidence(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    action_id = int(changes["action"])
    actions = [{**a, "evidence": [*a.get("evidence", []), {"by": actor.name, "text": str(changes["evidence"])}]}
               if a["id"] == action_id else a for a in data.get("actions", [])]
    return {**data, "actions": actions}


def _every_action_evidenced(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return [Reason(RULE, f"第 {a['id']} 项措施尚无落实证据") for a in case.data.get("actions", [])
            if not a.get("evidence")]


def _verifier_is_not_an_owner(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    owners = case.facts.get("action_owner_ids", set())
    if actor.person_id in owners:
        return Reason(RULE, f"{actor.name} 是措施负责人，不能核实自己负责的措施；请由其他人核实")
    return None


T = Transition
AFTER_ASSIGNMENT = ("assigned", "investigating", "discussed", "analysed", "actions_planned", "actions_approved",
                    "follow_up", "verified")
WORKFLOW = Workflow(
    kind="death_review",
    label="死亡病例评审",
    states=STATES,
    initial="reported",
    final=("closed_no_review",),
    validate=validate,
    creators=("commission_reviewer",),
    creator_rule="Y§22",
    belongs_to_center=False,
    private=True,  # who reads what: states/privacy.py
    title_of=death_title,
    transitions=[
        T("screen", ("reported",), "screened", "筛查", (), RULE, system=True),
        T("close_no_review", ("screened",), "closed_no_review", "无需评审", COMMISSION, RULE,
          comment_required="“无需评审”须写明理由", guards=(_not_low_risk,)),
        T("assign", ("screened",), "assigned", "分派评审", COMMISSION, RULE, takes_changes=True,
          guards=(_assignment_ok,), apply=assign,
          inputs=(Input("center", "负责评审的质控中心代码"), Input("reviewers", "评审人邮箱（每行一位）", "lines"))),
        T("start_investigation", ("assigned",), "investigating", "开始调查", REVIEWERS, RULE),
        T("record_discussion", ("investigating",), "discussed", "登记死亡病例讨论", REVIEWERS, DISCUSSION_RULE,
          takes_changes=True, apply=record_discussion, guards=(_discussion_complete,),
          inputs=tuple(Input(f"discussion.{k}", label) for k, label in DISCUSSION_FIELDS.items())),
        T("record_analysis", ("discussed",), "analysed", "登记原因分析", REVIEWERS, RULE, takes_changes=True,
          guards=(_factors_given,), apply=record_factors,
          inputs=tuple(Input(f"factors.{k}", f"{label}（每行一条，可空）", "lines") for k, label in FACTOR_CATEGORIES.items())),
        T("plan_actions", ("analysed",), "actions_planned", "提出改进措施", REVIEWERS, RULE, takes_changes=True,
          apply=plan_actions, guards=(_actions_ok,),
          inputs=(Input("actions", "改进措施，每行一项。强度：" + "；".join(STRENGTHS.values()), "table",
                        (("description", "措施内容"), ("owner", "负责人邮箱"), ("due", "完成期限 YYYY-MM-DD"),
                         ("strength", "强度 stronger/intermediate/weaker"))),)),
        T("return_actions", ("actions_planned",), "analysed", "退回措施", COMMISSION, RULE,
          comment_required="退回措施须写明意见"),
        T("approve_actions", ("actions_planned",), "actions_approved", "批准措施", COMMISSION, RULE),
        T("start_follow_up", ("actions_approved",), "follow_up", "开始跟踪", (), RULE, system=True),
        T("add_evidence", ("follow_up",), "", "登记落实证据", REVIEWERS, RULE, takes_changes=True,
          apply=add_evidence, guards=(_evidence_ok,),
          inputs=(Input("action", "措施序号", "number"), Input("evidence", "落实证据"))),
        T("verify", ("follow_up",), "verified", "核实落实", COMMISSION + REVIEWERS, RULE,
          guards=(_every_action_evidenced, _verifier_is_not_an_owner)),
        T("record_autopsy_report", AFTER_ASSIGNMENT, "", "登记尸检报告", REVIEWERS, DISCUSSION_RULE,
          takes_changes=True, apply=record_autopsy, guards=(_autopsy_report_date,),
          inputs=(Input("autopsy_report_on", "尸检报告日期 YYYY-MM-DD"),)),
        T("record_rediscussion", AFTER_ASSIGNMENT, "", "登记尸检后再次讨论", REVIEWERS, DISCUSSION_RULE,
          takes_changes=True, guards=(_autopsy_reported, _rediscussion_complete),
          inputs=tuple(Input(f"rediscussion.{k}", label) for k, label in DISCUSSION_FIELDS.items())),
        T("close", ("verified",), "closed", "结案", COMMISSION, RULE, guards=(_rediscussed_if_autopsy,)),
        T("reopen", ("closed",), "investigating", "重新调查", COMMISSION, RULE, comment_required="重新调查须写明原因"),
    ],
    on_enter={
        "assigned": OnEnter(notify=(Notify("task_review", "assigned", "act"),)),
        "actions_planned": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "actions_approved": OnEnter(auto_trigger="start_follow_up"),
        "follow_up": OnEnter(notify=(Notify("task_review", "assigned", "act"),)),
        "verified": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
    },
    deadlines=(
        DeadlineSpec("discussion", "死亡病例讨论", ("assigned", "investigating"), assignee="assigned",
                     escalate_to="role:commission_reviewer", rule=DISCUSSION_RULE, ladder="death_review",
                     due_field="discussion_due"),
        DeadlineSpec("rediscussion", "尸检后再次讨论", AFTER_ASSIGNMENT, assignee="assigned",
                     escalate_to="role:commission_reviewer", rule=DISCUSSION_RULE, ladder="death_review",
                     due_field="rediscussion_due", requires="autopsy_report_on", done_when="rediscussion"),
        DeadlineSpec("actions", "措施落实", ("actions_approved", "follow_up"), assignee="assigned",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="death_review",
                     due_field="actions_due"),
    ),
)
