"""A rectification list per inspected institution (督促整改清单, Y§14(四), Y§20).

open → closed once the center has verified every item; → poor (整改不力) when the center reports it
or the due date passes with items unverified, which is reported to the commission (Y§14(四)).
The institution's quality office adds evidence from the emailed link; the center verifies.
"""
from __future__ import annotations

from typing import Any, Optional

from states.inspection_policy import RULE
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

CENTER_STAFF = ("center_director", "center_deputy", "center_secretary")
INSTITUTION = ("assigned",)  # the institution's quality office, as the directory lists it (facts: assigned_ids)
STATES = {"open": "整改中", "poor": "整改不力", "closed": "整改完成"}
RESULTS = {"passed": "整改到位", "failed": "整改不到位"}


def title_of(data: dict[str, Any]) -> str:
    return f"{data.get('institution_name') or data.get('institution', '')}督促整改清单（{data.get('inspection_title', '')}）"


def validate(data: dict[str, Any]) -> list[Reason]:
    return []  # opened by the system from an inspection's findings (states/inspection.py)


def _item(case: CaseView, attempt: Attempt) -> Optional[dict[str, Any]]:
    try:
        wanted = int(attempt.changes.get("item", 0))
    except (TypeError, ValueError):
        return None
    return next((i for i in case.data.get("items", []) if i["id"] == wanted), None)


def _no_item(case: CaseView) -> Reason:
    return Reason(RULE, f"请指明整改清单中的第几项（1–{len(case.data.get('items', []))}）")


@needs_input
def _evidence_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    item = _item(case, attempt)
    reasons = [] if item else [_no_item(case)]
    if item and (item.get("verified") or {}).get("result") == "passed":
        reasons.append(Reason(RULE, f"第 {item['id']} 项已核查为整改到位，无需再提交证据"))
    if not str(attempt.changes.get("evidence") or "").strip():
        reasons.append(Reason(RULE, "请填写整改证据：做了什么、何时完成、可查的记录"))
    return reasons


def add_evidence(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    wanted = int(changes["item"])
    items = [{**i, "evidence": [*i.get("evidence", []), {"by": actor.name, "text": str(changes["evidence"]).strip()}]}
             if i["id"] == wanted else i for i in data.get("items", [])]
    return {**data, "items": items}


@needs_input
def _verification_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    item = _item(case, attempt)
    if item is None:
        return [_no_item(case)]
    result = attempt.changes.get("result")
    if result not in RESULTS:
        return [Reason(RULE, "核查结论须为 passed（整改到位）或 failed（整改不到位）")]
    if (item.get("verified") or {}).get("result") == "passed":
        return [Reason(RULE, f"第 {item['id']} 项已核查为整改到位")]
    if result == "passed" and not item.get("evidence"):
        return [Reason(RULE, f"第 {item['id']} 项尚无整改证据，不能核查为整改到位")]
    if result == "failed" and not str(attempt.changes.get("note") or "").strip():
        return [Reason(RULE, "核查为整改不到位时须写明原因（note）")]
    return []


def verify(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    wanted = int(changes["item"])
    record = {"result": changes["result"], "by": actor.name, "note": str(changes.get("note") or "").strip()}
    items = [{**i, "verified": record} if i["id"] == wanted else i for i in data.get("items", [])]
    return {**data, "items": items}


def _all_verified(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    left = [str(i["id"]) for i in case.data.get("items", []) if (i.get("verified") or {}).get("result") != "passed"]
    return [Reason(RULE, f"第 {'、'.join(left)} 项尚未核查为整改到位")] if left else []


def _far_off_standard(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if case.data.get("level", "none") == "none":
        return Reason(RULE, "该机构的问题未达到预警或通报标准")
    return None


T = Transition
ITEM = Input("item", "整改项序号", "number")
WORKFLOW = Workflow(
    kind="inspection_rectification",
    label="督促整改清单",
    states=STATES,
    initial="open",
    final=("closed",),
    final_hint="整改已全部核查到位。",
    validate=validate,
    creators=(),
    creator_rule=RULE,
    fields={},
    title_of=title_of,
    private=True,  # Y§22: a named institution's findings; who reads what: states/privacy.py
    transitions=[
        T("add_evidence", ("open", "poor"), "", "提交整改证据", INSTITUTION + CENTER_STAFF, RULE, takes_changes=True,
          apply=add_evidence, guards=(_evidence_ok,), inputs=(ITEM, Input("evidence", "整改证据"))),
        T("verify", ("open", "poor"), "", "核查整改", CENTER_STAFF, RULE, takes_changes=True, apply=verify,
          guards=(_verification_ok,), then="close",
          inputs=(ITEM, Input("result", "核查结论", "choice", tuple(RESULTS.items())), Input("note", "核查意见"))),
        T("report_poor", ("open",), "poor", "报告整改不力", CENTER_STAFF, RULE,
          comment_required="报告整改不力须写明情况，供市卫生健康委处理"),
        T("mark_poor", ("open",), "poor", "逾期未整改", (), RULE, system=True),
        T("flag", ("open",), "", "预警/通报", (), RULE, system=True, guards=(_far_off_standard,),
          notify=(Notify("inspection_alert", "role:commission_reviewer", "read"),
                  Notify("inspection_alert", "recipients", "read"))),
        T("close", ("open", "poor"), "closed", "整改完成", (), RULE, system=True, guards=(_all_verified,)),
    ],
    on_enter={
        "open": OnEnter(notify=(Notify("inspection_findings", "assigned", "act"),
                                Notify("inspection_findings", "recipients", "read", exclude="assigned"))),
        "poor": OnEnter(notify=(Notify("inspection_poor_rectification", "role:commission_reviewer", "read"),)),
    },
    deadlines=(
        DeadlineSpec("rectification", "整改落实", ("open",), assignee="recipients",
                     escalate_to="center:center_director,center_secretary", rule=RULE, ladder="inspection_rectification",
                     due_field="due_date", on_overdue="mark_poor"),
    ),
)
