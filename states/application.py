"""Workflow 2: an application to establish a center (Y§7–§13, Y§21).

draft → submitted → materials_check → (materials_requested → submitted) → expert_review →
commission_decision → approved → established; exits rejected and withdrawn. The staffing rules
(states/staffing.py) run on submission; the directory facts they need come in `CaseView.facts`.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from states import materials
from states import staffing_policy as P
from states.rules import Actor, CaseView, Reason
from states.staffing import check_eligibility, check_reappointment, check_roster, consecutive_terms, specialty_taken
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

STATES = {
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
CATEGORIES = ("临床", "技术", "管理")
RECOMMENDATIONS = {"approve": "建议同意设置", "reject": "建议不同意设置"}
REVIEWERS = ("commission_reviewer",)
# Y§11: the appointment date is the commission's, never the applicant's: the day it approves, or a
# later day it sets with the approval (stored under APPOINTED_ON).
APPLICANT_SET_DATES = ("appointment_date", "appointed_on")
APPOINTED_ON = "appointed_on"


def validate(data: dict[str, Any]) -> list[Reason]:
    reasons = []
    for key, label in (("center_code", "拟设中心代码"), ("center_name", "拟设中心名称"),
                       ("specialty", "专业"), ("host", "申请单位代码")):
        if not str(data.get(key) or "").strip():
            reasons.append(Reason("Y§9", f"{label}（{key}）不能为空"))
    if data.get("category") not in CATEGORIES:
        reasons.append(Reason("Y§3", f"中心类别应为 {'、'.join(CATEGORIES)} 之一（当前：{data.get('category') or '未填'}）"))
    roster = data.get("roster")
    if not isinstance(roster, list) or not roster:
        reasons.append(Reason("Y§9", "须附拟定的中心成员名单（roster），每人含 email 和 role"))
    else:
        for i, entry in enumerate(roster, 1):
            if not isinstance(entry, dict) or not entry.get("email") or not entry.get("role"):
                reasons.append(Reason("Y§9", f"成员名单第 {i} 条须含 email 和 role"))
    return reasons


def _no_applicant_dates(data: dict[str, Any]) -> list[Reason]:
    return [Reason("Y§11", f"申请中不能填写任命日期（{key}）：任命日期为卫健委批准之日（或卫健委批准时确定的"
                           f"不早于批准日的日期），届时按该日期核对 Y§11 的年龄、职称等条件")
            for key in APPLICANT_SET_DATES if key in data]


def validate_new(data: dict[str, Any]) -> list[Reason]:
    return validate(data) + _no_applicant_dates(data)


def _applicant_sets_no_date(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return _no_applicant_dates({**case.data, **attempt.changes})


def _reappointment(case: CaseView, day: date) -> list[Reason]:
    """Y§26: the proposed director may not start a third consecutive term."""
    director = case.facts.get("director")
    if not director:
        return []
    found = check_reappointment(consecutive_terms(director["terms"], day))
    return [Reason(r.rule, f"拟任主任 {director['name']} {r.message}") for r in found]


def _eligible(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """At submission the appointment date is not known yet: the roster is judged as if appointed
    today, and judged again on the real date when the commission approves."""
    f = case.facts
    reasons = [Reason("", p) for p in f.get("roster_problems", [])]
    if f.get("applicant") is not None:
        reasons += check_eligibility(f["applicant"], case.after.get("specialty", ""),
                                     f.get("existing_specialties", set()), f["today"])
    if f.get("center_code_taken"):
        reasons.append(Reason("Y§8", f"中心代码“{case.after.get('center_code')}”已被使用，请换一个"))
    if f.get("roster") is not None:
        reasons += check_roster(f["roster"], f["today"])
    return reasons + _reappointment(case, f["today"])


def appointment_day(given: Any, approval_day: date) -> tuple[Optional[date], list[Reason]]:
    """The appointment date of an approval: the approval day, or the date the commission sets (never
    earlier). Returns (the day, reasons it is refused)."""
    text = str(given or "").strip()
    if not text:
        return approval_day, []
    try:
        day = given if isinstance(given, date) else date.fromisoformat(text)
    except ValueError:
        return None, [Reason("Y§11", f"任命日期“{text}”无效（格式 YYYY-MM-DD）")]
    if day < approval_day:
        return None, [Reason("Y§11", f"任命日期 {day.isoformat()} 早于批准日 {approval_day.isoformat()}；"
                                     f"任命日期不得早于卫健委批准之日")]
    return day, []


@needs_input
def _eligible_on_appointment(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§10–§12 and Y§26 again at the decision, on the appointment date: the directory may have changed
    since submission, and Y§11 (age, title, penalties) is judged on the day of appointment."""
    f = case.facts
    day, reasons = appointment_day(attempt.changes.get(APPOINTED_ON), f["today"])
    if day is None:
        return reasons
    reasons = [Reason("", p) for p in f.get("roster_problems", [])]
    if f.get("roster") is not None:
        reasons += check_roster(f["roster"], day)
    return reasons + _reappointment(case, day)


def _only_the_appointment_date(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """Approval records the appointment date and nothing else: the content is the applicant's."""
    if set(attempt.changes) - {APPOINTED_ON}:
        return Reason("Y§13", "“批准设置”时不能修改内容")
    return None


def record_appointment_day(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    given = str(changes.get(APPOINTED_ON) or "").strip()
    return {**data, APPOINTED_ON: given} if given else dict(data)


def _materials_complete(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return [Reason(materials.RULE, f"缺少材料：{label}") for label in materials.missing(case.data.get("materials", {}))]


@needs_input
def _experts_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    experts = attempt.changes.get("experts", case.data.get("experts", []))
    experts = sorted({str(e).strip().lower() for e in experts}) if isinstance(experts, list) else experts
    pool = case.facts.get("expert_pool", {})
    host = case.data.get("host")
    reasons = []
    if not isinstance(experts, list) or len(set(experts)) < P.EXPERTS_PER_REVIEW.value:
        count = len(set(experts)) if isinstance(experts, list) else 0
        reasons.append(Reason(P.EXPERTS_PER_REVIEW.rule,
                              f"须从专家委员会中指定至少 {P.EXPERTS_PER_REVIEW.value} 位评审专家（当前 {count} 位）"))
        experts = experts if isinstance(experts, list) else []
    for email in experts:
        expert = pool.get(str(email).lower())
        if expert is None:
            reasons.append(Reason("Y§7", f"{email} 不是专家委员会委员，不能担任评审专家"))
        elif expert["institution"] == host:
            reasons.append(Reason("Y§13", f"专家 {expert['name']} 来自申请单位，须回避（利益冲突），请另选专家"))
    return reasons


def _assigned_and_pending(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    assigned = {e["person_id"] for e in case.facts.get("assigned_experts", [])}
    if actor.person_id not in assigned:
        return Reason("Y§13", f"{actor.name} 不是本申请指定的评审专家")
    if str(actor.person_id) in case.data.get("votes", {}):
        return Reason("Y§13", f"{actor.name} 已提交过评审意见，不能重复提交")
    return None


@needs_input
def _vote_valid(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    reasons = []
    try:
        score = int(str(attempt.changes.get("score", "")).strip())
        if not 0 <= score <= 100:
            raise ValueError
    except ValueError:
        reasons.append(Reason("Y§13", "评分须为 0 到 100 的整数"))
    if attempt.changes.get("recommendation") not in RECOMMENDATIONS:
        reasons.append(Reason("Y§13", "请选择评审建议：建议同意设置 或 建议不同意设置"))
    return reasons


def record_vote(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    # Runs before the guards see the vote: keep a malformed score as given, _vote_valid refuses it.
    raw = str(changes.get("score", "")).strip()
    votes = dict(data.get("votes", {}))
    votes[str(actor.person_id)] = {"name": actor.name, "score": int(raw) if raw.lstrip("-").isdigit() else raw,
                                   "recommendation": changes.get("recommendation", "")}
    return {**data, "votes": votes}


def quorum(votes: dict[str, Any], assigned: int, deadline_passed: bool) -> bool:
    """All assigned experts answered; or, after the review deadline, a majority of them (Y§13)."""
    return assigned > 0 and (len(votes) >= assigned or (deadline_passed and len(votes) * 2 > assigned))


def recommendation(votes: dict[str, Any]) -> str:
    approve = sum(v["recommendation"] == "approve" for v in votes.values())
    return "approve" if approve * 2 > len(votes) else "reject"


def _quorum_reached(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    votes = case.data.get("votes", {})
    assigned = len(case.data.get("experts", []))
    if quorum(votes, assigned, case.facts.get("review_deadline_passed", False)):
        return None
    return Reason("Y§13", f"专家评审尚未达到法定人数：已评审 {len(votes)}/{assigned} 位")


def _still_unique(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§8 again at the decision: another application may have been approved meanwhile."""
    reasons = []
    taken = specialty_taken(case.data.get("specialty", ""), case.facts.get("existing_specialties", set()))
    if taken is not None:
        reasons.append(Reason(P.CENTERS_PER_SPECIALTY.rule,
                              f"专业“{case.data.get('specialty')}”已设有本级质控中心（“{taken}”，可能刚批准了另一份申请），"
                              f"不能再批准"))
    if case.facts.get("center_code_taken"):
        reasons.append(Reason("Y§8", f"中心代码“{case.data.get('center_code')}”已被使用"))
    return reasons


def assign_experts(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    experts = changes.get("experts")
    if isinstance(experts, list):
        changes = {**changes, "experts": sorted({str(e).strip().lower() for e in experts})}
    return {**data, **changes}


def merge_materials(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {**data, "materials": {**data.get("materials", {}), **changes.get("materials", {})}}


T = Transition
DRAFTING = ("draft", "materials_requested")
WORKFLOW = Workflow(
    kind="application",
    label="质控中心设置申请",
    states=STATES,
    initial="draft",
    final=("established", "rejected", "withdrawn"),
    validate=validate,
    validate_new=validate_new,
    creators=("anyone",),
    creator_rule="Y§9",
    fields={},
    belongs_to_center=False,
    title_of=lambda data: f"{data.get('center_name') or '质控中心'}设置申请",
    transitions=[
        T("edit", DRAFTING, "", "修改申请", ("creator",), "Y§9", takes_changes=True,
          guards=(_applicant_sets_no_date,)),
        T("attach", DRAFTING, "", "上传材料", ("creator",), "Y§9", takes_changes=True, apply=merge_materials),
        T("submit", DRAFTING, "submitted", "提交申请", ("creator",), "Y§9", takes_changes=True,
          guards=(_applicant_sets_no_date, _eligible)),
        T("start_check", ("submitted",), "materials_check", "开始材料审查", (), "Y§9", system=True),
        T("request_materials", ("materials_check",), "materials_requested", "要求补充材料", REVIEWERS, "Y§9",
          comment_required="要求补充材料须写明补充什么"),
        T("accept_materials", ("materials_check",), "expert_review", "材料齐全，提交专家评审", REVIEWERS, "Y§13",
          takes_changes=True, guards=(_materials_complete, _experts_ok), apply=assign_experts,
          inputs=(Input("experts", "评审专家邮箱（每行一位，至少 3 位，申请单位的专家须回避）", "lines"),)),
        T("review", ("expert_review",), "", "提交评审意见", ("expert",), "Y§13", takes_changes=True,
          apply=record_vote, comment_required="评审意见不能为空", guards=(_assigned_and_pending, _vote_valid),
          then="close_review",
          inputs=(Input("score", "评分（0–100）", "number"),
                  Input("recommendation", "评审建议", "choice", tuple(RECOMMENDATIONS.items())))),
        T("close_review", ("expert_review",), "commission_decision", "专家评审结束", (), "Y§13", system=True,
          guards=(_quorum_reached,)),
        T("approve", ("commission_decision",), "approved", "批准设置", REVIEWERS, "Y§13", takes_changes=True,
          guards=(_only_the_appointment_date, _still_unique, _eligible_on_appointment), apply=record_appointment_day,
          inputs=(Input(APPOINTED_ON, "任命日期（YYYY-MM-DD，留空为批准当日；不得早于批准日）"),)),
        T("reject", ("materials_check", "commission_decision"), "rejected", "不予设置", REVIEWERS, "Y§13",
          comment_required="不予设置须写明理由"),
        T("establish", ("approved",), "established", "设置完成", (), "Y§21", system=True),
        T("withdraw", ("draft", "submitted", "materials_check", "materials_requested", "expert_review"),
          "withdrawn", "撤回申请", ("creator",), "Y§9"),
    ],
    on_enter={
        "submitted": OnEnter(auto_trigger="start_check"),
        "materials_check": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "materials_requested": OnEnter(notify=(Notify("task_revise", "creator", "act"),)),
        "expert_review": OnEnter(notify=(Notify("task_expert_review", "pending_experts", "act"),)),
        "commission_decision": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "approved": OnEnter(auto_trigger="establish"),
        "established": OnEnter(effect="establish_center",
                               notify=(Notify("notice_accepted", "creator", "read"),)),
        "rejected": OnEnter(notify=(Notify("notice_rejected", "creator", "read"),)),
    },
    deadlines=(
        DeadlineSpec("materials_check", "材料审查", ("submitted", "materials_check"),
                     assignee="role:commission_reviewer", escalate_to="role:section_head",
                     rule=P.MATERIALS_CHECK_WORKING_DAYS.rule, ladder="document_review",
                     working_days=P.MATERIALS_CHECK_WORKING_DAYS.value),
        DeadlineSpec("expert_review", "专家评审", ("expert_review",), assignee="pending_experts",
                     escalate_to="role:commission_reviewer", rule=P.EXPERT_REVIEW_WORKING_DAYS.rule,
                     ladder="expert_review", working_days=P.EXPERT_REVIEW_WORKING_DAYS.value,
                     on_overdue="close_review"),
    ),
)
