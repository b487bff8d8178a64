"""Rectification orders (责令整改, Y§25; 限期整改 after a 不合格 grade, Y§24): the commission issues an
order citing one or more of the 13 grounds with a due date, the center answers with its rectification
report from the emailed link, the commission verifies it (or returns it) and closes the order.
An order not answered by its due date becomes overdue and is escalated on its ladder.

Every issued order counts toward Y§26 ("同一年度被责令整改 2 次及以上"); the `order_issued` effect
evaluates the removal rules (states/removal.py) each time one is issued.
(An inspection's per-institution rectification list is another thing: states/inspection_rectification.py.)
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Optional

from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow, needs_input
from states.y25_grounds import ASSESSMENT_RULE, GROUNDS, RULE, SERIOUS_RULE, ground_label

ISSUERS = ("commission_reviewer", "section_head")
RESPONDERS = ("center_director", "center_secretary")
# A returned response gets at least this many working days to be redone, even past the due date.
REDO_WORKING_DAYS = Limit(5, RULE)
# Y§24 says "限期整改" without a number: the time a 不合格 grade's order gives, in calendar days.
ASSESSMENT_DUE_DAYS = Limit(60, ASSESSMENT_RULE)
BASES = (RULE, ASSESSMENT_RULE)

STATES = {
    "issued": "已下达",
    "response_submitted": "整改报告已提交",
    "returned": "退回重新整改",
    "overdue": "逾期未整改",
    "verified": "整改已核实",
    "closed": "已结案",
}

FIELDS = {"notice": "整改通知（事由、依据、要求和期限）", "response": "整改情况报告"}


def grounds_of(data: dict[str, Any]) -> list[int]:
    raw = data.get("grounds") or []
    return [g for g in raw if isinstance(g, int) and not isinstance(g, bool)] if isinstance(raw, list) else []


def is_serious(data: dict[str, Any]) -> bool:
    """Y§26: the commission found it serious (情节严重), or a ground is serious by its nature."""
    return bool(data.get("serious")) or any(GROUNDS[g].serious for g in grounds_of(data) if g in GROUNDS)


def validate(data: dict[str, Any]) -> list[Reason]:
    reasons: list[Reason] = []
    basis = data.get("basis") or RULE
    if basis not in BASES:
        reasons.append(Reason(RULE, f"整改依据须为 {RULE} 或 {ASSESSMENT_RULE}（当前：{basis}）"))
    raw = data.get("grounds") or []
    if not isinstance(raw, list):
        raw = [raw]
    bad = [str(g) for g in raw if not (isinstance(g, int) and not isinstance(g, bool) and g in GROUNDS)]
    if bad:
        reasons.append(Reason(RULE, f"整改事由须为第二十五条所列第 1–13 项，以下不是：{'、'.join(bad)}"))
    if not raw and basis == RULE:
        reasons.append(Reason(RULE, "责令整改须写明第二十五条所列的事由（第 1–13 项，至少一项）"))
    due = str(data.get("due_date") or "")
    try:
        date.fromisoformat(due)
    except ValueError:
        reasons.append(Reason(RULE, f"整改期限须为日期（YYYY-MM-DD），当前：{due or '未填'}"))
    if not str(data.get("requirements") or "").strip():
        reasons.append(Reason(RULE, "责令整改须写明整改要求，告诉中心改什么"))
    if data.get("serious") and not str(data.get("serious_reason") or "").strip():
        reasons.append(Reason(SERIOUS_RULE, "认定情节严重须写明认定的事实和理由"))
    return reasons


def validate_new(data: dict[str, Any]) -> list[Reason]:
    """A new order carries what issuing writes into it (the seed's words of each ground, the year it counts
    for, Y§26): the order service writes them; content without them was not issued through it."""
    missing = [k for k in ("notice", "year", "issued_on") if not data.get(k)]
    if missing:
        return [Reason(RULE, "责令整改通知请用“qcflow orders issue”下达（系统据此写明事由原文、下达年度和期限）")]
    return validate(data)


def check_due(due: date, today: date) -> list[Reason]:
    """限期整改: the time limit lies ahead of the day the order is issued."""
    if due <= today:
        return [Reason(RULE, f"整改期限 {due.isoformat()} 须晚于下达之日 {today.isoformat()}")]
    return []


def assessment_due(issued: date) -> date:
    return issued + timedelta(days=ASSESSMENT_DUE_DAYS.value)


def notice_text(data: dict[str, Any], center_name: str) -> str:
    """The order as the center reads it: grounds with the seed's words, requirements, due date."""
    lines = [f"{center_name}："]
    if data.get("basis") == ASSESSMENT_RULE:
        lines.append(f"你中心{data.get('assessment_year', '')}年度考核结果为不合格。依据第二十四条，责令限期整改。")
    for g in (g for g in grounds_of(data) if g in GROUNDS):
        lines.append(f"依据{ground_label(g)}：{GROUNDS[g].text}。")
    if is_serious(data):
        lines.append(f"经认定情节严重（第二十六条）：{data.get('serious_reason') or '所列事由本身属严重情形'}")
    lines.append(f"整改要求：{data.get('requirements', '')}")
    lines.append(f"请于 {data.get('due_date', '')} 前报送整改情况报告。")
    return "\n".join(lines)


def title_for(center_name: str, data: dict[str, Any]) -> str:
    cited = "、".join(f"第二十五条{GROUNDS[g].ordinal}" for g in grounds_of(data) if g in GROUNDS)
    basis = "第二十四条（考核不合格）" if data.get("basis") == ASSESSMENT_RULE else ""
    return f"责令整改通知：{center_name}（{'、'.join(x for x in (basis, cited) if x)}）"


def _same(sent: Any, stored: Any) -> bool:
    """A page sends back the notice it showed, with the browser's CRLF line ends: not a change."""
    if isinstance(sent, str) and isinstance(stored, str):
        return sent.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()
    return sent == stored


def _only_the_response(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    fixed = sorted(k for k in set(attempt.changes) - {"response"} if not _same(attempt.changes[k], case.data.get(k)))
    if fixed:
        return Reason(RULE, f"整改通知的事由、要求和期限由卫健委下达，中心不能修改（{'、'.join(fixed)}）")
    return None


def _take_the_response(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {**data, "response": changes.get("response", data.get("response", ""))}


@needs_input
def _response_written(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if not str(attempt.changes.get("response", case.after.get("response")) or "").strip():
        return Reason(RULE, "请填写整改情况报告（整改了什么、如何整改、取得的效果），再提交")
    return None


T = Transition
WORKFLOW = Workflow(
    kind="rectification",
    label="责令整改",
    states=STATES,
    initial="issued",
    final=("closed",),
    final_hint="已结案的整改不可更改。",
    validate=validate,
    validate_new=validate_new,
    creators=ISSUERS,
    creator_rule=RULE,
    fields=FIELDS,
    transitions=[
        T("respond", ("issued", "returned", "overdue"), "response_submitted", "提交整改报告", RESPONDERS, RULE,
          takes_changes=True, guards=(_only_the_response, _response_written), apply=_take_the_response),
        T("return", ("response_submitted",), "returned", "退回重新整改", ISSUERS, RULE,
          comment_required="退回整改须填写意见，写明哪些问题尚未整改到位"),
        T("verify", ("response_submitted",), "verified", "核实整改到位", ISSUERS, RULE),
        T("close", ("verified",), "closed", "结案", ISSUERS, RULE),
        T("mark_overdue", ("issued", "returned"), "overdue", "逾期", (), RULE, system=True),
    ],
    on_enter={
        "issued": OnEnter(notify=(Notify("order_issued", "center:center_director,center_secretary", "act"),),
                          effect="order_issued"),
        "response_submitted": OnEnter(notify=(Notify("order_response", "role:commission_reviewer", "act"),)),
        "returned": OnEnter(notify=(Notify("order_returned", "center:center_director,center_secretary", "act"),)),
        "verified": OnEnter(notify=(Notify("order_verified", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("rectification", "整改期限", ("issued", "returned", "overdue"),
                     assignee="center:center_director,center_secretary", escalate_to="role:section_head",
                     rule=RULE, ladder="rectification", due_field="due_date", on_overdue="mark_overdue",
                     working_days=REDO_WORKING_DAYS.value),
    ),
)
