"""Inspections (Y§14(四), Y§20): a center's annual inspection plan, authorized by the commission
before any inspection starts, and the inspection itself.

plan:        draft → submitted → authorized | returned (→ submitted again)
inspection:  planned → in_progress → findings_sent → report_submitted → accepted
             (report_returned → report_submitted again; report_overdue once the month has passed)

Feeding the findings back opens one rectification list per inspected institution
(states/rectification.py). The written report is due 1 month after the inspection ends (Y§20).
"""
from __future__ import annotations

import calendar as _months
from datetime import date
from typing import Any, Optional

from states.inspection_policy import AUTHORIZATION_WORKING_DAYS, REPORT_MONTHS, REPORT_RULE, RULE, SEVERITIES
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

VETO_RULE = "Y-rubric"  # 一票否决 (2): unauthorized inspection
CENTER_LEADS = ("center_director", "center_secretary")
CENTER_STAFF = ("center_director", "center_deputy", "center_secretary")
COMMISSION = ("commission_reviewer",)
CENTER_PEOPLE = "center:center_director,center_secretary"

PLAN_STATES = {"draft": "拟定中", "submitted": "待授权", "returned": "退回修改", "authorized": "已授权"}
PLAN_FIELDS = {"title": "方案名称", "scope": "检查内容、标准与方式"}
STATES = {
    "planned": "待开始",
    "in_progress": "检查中",
    "findings_sent": "已反馈·待报送报告",
    "report_submitted": "报告已报送",
    "report_returned": "报告退回修改",
    "report_overdue": "报告逾期",
    "accepted": "报告已通过",
}
FINDING_COLUMNS = (("institution", "受检机构代码"), ("item", "检查项目"), ("standard", "依据的标准"),
                   ("severity", "严重程度 " + "/".join(SEVERITIES)), ("requirement", "整改要求"),
                   ("due", "整改期限 YYYY-MM-DD（可空，按严重程度默认）"))


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (31 Jan → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _months.monthrange(year, month)[1]))


def _blank(value: Any) -> bool:
    return not str(value or "").strip()


def _codes(value: Any) -> list[str]:
    return [str(c).strip().upper() for c in value if str(c).strip()] if isinstance(value, list) else []


# --- the plan ------------------------------------------------------------------------------------

def validate_plan(data: dict[str, Any]) -> list[Reason]:
    reasons = [Reason(RULE, f"督导检查方案须填写{label}") for key, label in PLAN_FIELDS.items() if _blank(data.get(key))]
    try:
        year = int(str(data.get("year", "")))
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        reasons.append(Reason(RULE, "须填写方案年度 year（如 2026）"))
    if not _codes(data.get("institutions")):
        reasons.append(Reason(RULE, "须列出拟检查的医疗机构代码 institutions（名录中的机构代码）"))
    return reasons


@needs_input
def _plan_institutions_known(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    known = case.facts.get("institutions", {})
    return [Reason(RULE, f"受检机构“{code}”不在名录中；可选：{'、'.join(known) or '无'}")
            for code in _codes(case.after.get("institutions")) if code not in known]


@needs_input
def _plan_complete(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return validate_plan(case.after)


def _upper_codes(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    out = {**data, **changes}
    if "institutions" in changes:
        out["institutions"] = _codes(changes["institutions"])
    return out


T = Transition
PLAN_INPUTS = (Input("title", "方案名称"), Input("year", "年度", "number"), Input("scope", "检查内容、标准与方式"),
               Input("institutions", "受检机构代码（每行一个）", "lines"))
PLAN = Workflow(
    kind="inspection_plan",
    label="督导检查方案",
    states=PLAN_STATES,
    initial="draft",
    final=("authorized",),
    final_hint="已授权的方案不可更改；如需调整，请另拟方案报批。",
    validate=validate_plan,
    creators=CENTER_LEADS,
    creator_rule=RULE,
    fields={},  # every field is a step's input; the page shows them (web/templates/inspection_plan_content.html)
    transitions=[
        T("edit", ("draft", "returned"), "", "保存草稿", CENTER_LEADS, RULE, takes_changes=True, complete=False,
          apply=_upper_codes, inputs=PLAN_INPUTS),
        T("submit", ("draft", "returned"), "submitted", "报请授权", CENTER_LEADS, RULE, takes_changes=True,
          apply=_upper_codes, inputs=PLAN_INPUTS, guards=(_plan_complete, _plan_institutions_known)),
        T("authorize", ("submitted",), "authorized", "授权开展", COMMISSION, RULE),
        T("return", ("submitted",), "returned", "退回修改", COMMISSION, RULE,
          comment_required="退回督导检查方案须写明意见，告诉中心改什么"),
    ],
    on_enter={
        "submitted": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "returned": OnEnter(notify=(Notify("task_revise", CENTER_PEOPLE, "act"),)),
        "authorized": OnEnter(notify=(Notify("inspection_authorized", CENTER_PEOPLE, "read"),)),
    },
    deadlines=(
        DeadlineSpec("authorization", "督导检查方案授权", ("submitted",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="document_review",
                     working_days=AUTHORIZATION_WORKING_DAYS.value),
    ),
)


# --- the inspection ------------------------------------------------------------------------------

def validate(data: dict[str, Any]) -> list[Reason]:
    reasons = []
    if _blank(data.get("title")):
        reasons.append(Reason(RULE, "须填写检查名称 title"))
    if not str(data.get("plan") or "").strip().isdigit():
        reasons.append(Reason(RULE, "须注明依据的督导检查方案编号 plan（经市卫生健康委授权的方案）"))
    if not _codes(data.get("institutions")):
        reasons.append(Reason(RULE, "须列出受检机构代码 institutions"))
    try:
        date.fromisoformat(str(data.get("start_on")))
    except ValueError:
        reasons.append(Reason(RULE, "须填写检查开始日期 start_on（YYYY-MM-DD）"))
    return reasons


def _plan_authorized(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§14(四): inspect only once the commission has authorized the plan; otherwise 一票否决 (2)."""
    plan = case.facts.get("plan")
    number = case.data.get("plan")
    consequence = Reason(VETO_RULE, "未经授权以质控中心名义开展督导检查，属年度考核一票否决情形")
    if plan is None:
        return [Reason(RULE, f"没有编号为 {number} 的督导检查方案；须先报市卫生健康委授权"), consequence]
    if plan["center_id"] != case.center_id:
        return [Reason(RULE, f"督导检查方案 #{number} 不是本中心的方案，不能据此开展检查"), consequence]
    if plan["state"] != "authorized":
        return [Reason(RULE, f"督导检查方案 #{number} 尚未经市卫生健康委授权（当前：{plan['state_label']}），"
                             "不能开展检查"), consequence]
    started = str(case.after.get("start_on") or "")[:4]
    if plan.get("year") and started and started != str(plan["year"]):
        return [Reason(RULE, f"督导检查方案 #{number} 是 {plan['year']} 年度的方案，不能用于 {started} 年开始的检查"),
                consequence]
    outside = [c for c in _codes(case.after.get("institutions")) if c not in plan["institutions"]]
    if outside:
        return [Reason(RULE, f"受检机构 {'、'.join(outside)} 不在已授权方案 #{number} 的范围内"), consequence]
    return []


def _still_within_plan(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Once started, an inspection may name contacts, but never reach beyond its authorized plan."""
    return _plan_authorized(case, actor, attempt) if case.state != "planned" else []


@needs_input
def _findings_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    findings = attempt.changes.get("findings")
    if not isinstance(findings, list) or not findings:
        return [Reason(REPORT_RULE, "请至少登记一条检查发现（受检机构、检查项目、依据的标准、严重程度）")]
    inspected = _codes(case.data.get("institutions"))
    reasons = []
    for i, row in enumerate(findings, 1):
        if not isinstance(row, dict):
            reasons.append(Reason(REPORT_RULE, f"第 {i} 条发现格式无效"))
            continue
        code = str(row.get("institution") or "").strip().upper()
        if code not in inspected:
            reasons.append(Reason(REPORT_RULE, f"第 {i} 条发现的受检机构“{code}”不在本次检查范围（{'、'.join(inspected)}）"))
        for key, label in (("item", "检查项目"), ("standard", "依据的标准")):
            if _blank(row.get(key)):
                reasons.append(Reason(REPORT_RULE, f"第 {i} 条发现缺少{label}"))
        if row.get("severity") not in SEVERITIES:
            options = "、".join(f"{s.code}（{s.label}）" for s in SEVERITIES.values())
            reasons.append(Reason(RULE, f"第 {i} 条发现的严重程度须为 {options}"))
    return reasons


def record_findings(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    start = len(data.get("findings", []))
    added = [{"id": start + i, "institution": str(r["institution"]).strip().upper(), "item": str(r["item"]).strip(),
              "standard": str(r["standard"]).strip(), "severity": r["severity"],
              "severity_label": SEVERITIES[r["severity"]].label,
              "requirement": str(r.get("requirement") or "").strip(), "due": str(r.get("due") or "").strip()}
             for i, r in enumerate(changes["findings"], 1)]
    return {**data, "findings": [*data.get("findings", []), *added]}


@needs_input
def _ended_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    try:
        ended = date.fromisoformat(str(attempt.changes.get("end_on")))
    except ValueError:
        return [Reason(REPORT_RULE, "请填写检查结束日期 end_on（YYYY-MM-DD）：报告在结束后 1 个月内报送")]
    reasons = []
    if ended < date.fromisoformat(str(case.data["start_on"])):
        reasons.append(Reason(REPORT_RULE, f"检查结束日期 {ended} 早于开始日期 {case.data['start_on']}"))
    today = case.facts.get("today")
    if today and ended > date.fromisoformat(today):
        reasons.append(Reason(REPORT_RULE, f"检查结束日期 {ended} 晚于今天，检查尚未结束"))
    return reasons


def _every_institution_reachable(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Findings go to each institution's quality office (or the contact listed for it)."""
    reach = case.facts.get("recipients", {})
    return [Reason(REPORT_RULE, f"受检机构 {code} 在名录中没有质控办人员（quality_office），检查中也未填写联系人；"
                                "请在 contacts 中填写该机构的联系人姓名和邮箱，以便反馈问题")
            for code in _codes(case.data.get("institutions")) if not reach.get(code)]


def finish(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    ended = date.fromisoformat(str(changes["end_on"]))
    return {**data, "end_on": ended.isoformat(), "report_due": add_months(ended, REPORT_MONTHS.value).isoformat()}


@needs_input
def _report_written(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if _blank(case.after.get("report")):
        return Reason(REPORT_RULE, "督导检查报告不能为空：写明检查概况、发现的问题、反馈与整改情况")
    return None


REPORT_OPEN = ("findings_sent", "report_returned", "report_overdue")
WORKFLOW = Workflow(
    kind="inspection",
    label="督导检查",
    states=STATES,
    initial="planned",
    final=("accepted",),
    final_hint="报告已通过，检查已办结；整改跟踪在各机构的督促整改清单中进行。",
    validate=validate,
    creators=CENTER_LEADS,
    creator_rule=RULE,
    fields={},  # as for the plan: inputs only (web/templates/inspection_content.html)
    private=True,  # Y§22: every inspected institution's findings; who reads what: states/privacy.py
    transitions=[
        T("edit", ("planned", "in_progress"), "", "修改检查安排", CENTER_LEADS, RULE, takes_changes=True,
          complete=False, apply=_upper_codes, guards=(_still_within_plan,),
          inputs=(Input("title", "检查名称"), Input("institutions", "受检机构代码（每行一个）", "lines"),
                  Input("start_on", "开始日期 YYYY-MM-DD"),
                  Input("contacts", "受检机构联系人（名录中无质控办人员时）", "table",
                        (("institution", "机构代码"), ("name", "姓名"), ("email", "邮箱"))))),
        T("start", ("planned",), "in_progress", "开始检查", CENTER_LEADS, RULE, guards=(_plan_authorized,)),
        T("record_findings", ("in_progress",), "", "登记检查发现", CENTER_STAFF, REPORT_RULE, takes_changes=True,
          apply=record_findings, guards=(_findings_ok,),
          inputs=(Input("findings", "检查发现，每行一条", "table", FINDING_COLUMNS),)),
        T("send_findings", ("in_progress",), "findings_sent", "结束检查并反馈问题", CENTER_LEADS, REPORT_RULE,
          takes_changes=True, apply=finish, guards=(_ended_ok, _every_institution_reachable),
          inputs=(Input("end_on", "检查结束日期 YYYY-MM-DD"),)),
        T("submit_report", REPORT_OPEN, "report_submitted", "报送督导检查报告", CENTER_LEADS, REPORT_RULE,
          takes_changes=True, guards=(_report_written,), inputs=(Input("report", "督导检查报告"),)),
        T("return_report", ("report_submitted",), "report_returned", "退回报告", COMMISSION, REPORT_RULE,
          comment_required="退回报告须写明意见"),
        T("accept", ("report_submitted",), "accepted", "报告通过", COMMISSION, REPORT_RULE),
        T("mark_overdue", ("findings_sent", "report_returned"), "report_overdue", "报告逾期", (), REPORT_RULE,
          system=True),
    ],
    on_enter={
        "findings_sent": OnEnter(effect="inspection_feedback",
                                 notify=(Notify("inspection_report_due", CENTER_PEOPLE, "act"),)),
        "report_submitted": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "report_returned": OnEnter(notify=(Notify("task_revise", CENTER_PEOPLE, "act"),)),
        "accepted": OnEnter(notify=(Notify("notice_accepted", CENTER_PEOPLE, "read"),)),
    },
    deadlines=(
        DeadlineSpec("report", "督导检查报告报送", REPORT_OPEN, assignee=CENTER_PEOPLE,
                     escalate_to="role:commission_reviewer", rule=REPORT_RULE, ladder="inspection_report",
                     due_field="report_due", on_overdue="mark_overdue", working_days=5),
    ),
)
