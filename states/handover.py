"""Handover after a host change (Y§27): once the commission announces the new host, the old host seals
the center's paper and electronic files and hands over, within 1 month, the electronic copies, the QC
network and information systems, the management permissions and the data; both hosts confirm the
list. When the handover closes, the old host's people leave the center's posts and lose their
access. Pure rules, no I/O."""
from __future__ import annotations

from typing import Any, Optional

from states.dates import iso_day
from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "Y§27"
HANDOVER_MONTHS = Limit(1, RULE)  # 发布变更结果后 1 个月内妥善完成交接
DECIDERS = ("commission_reviewer", "section_head")
HOSTS = ("host_leader",)

STATES = {
    "listing": "待原挂靠单位列清单",
    "confirming": "待双方确认",
    "closed": "交接完成",
}

# What Y§27 names to hand over: each must be listed, even as "无".
ITEMS = {
    "files": "质控工作资料（纸质资料已封存并转为电子版，电子版副本）",
    "systems": "质控管理网络与信息化平台",
    "permissions": "管理权限",
    "quality_data": "质控数据",
}
FIELDS = {
    "new_host": "新挂靠单位代码",
    "announced_on": "卫健委发布变更结果日期（YYYY-MM-DD）",
    "basis": "变更依据（卫健委决定）",
    **ITEMS,
}


def validate_new(data: dict[str, Any]) -> list[Reason]:
    reasons = []
    if not str(data.get("new_host") or "").strip():
        reasons.append(Reason(RULE, "须填写新挂靠单位代码（new_host）"))
    if iso_day(data.get("announced_on")) is None:
        reasons.append(Reason(RULE, "变更结果发布日期（announced_on）未填写或无效，应写成 YYYY-MM-DD"))
    if not str(data.get("basis") or "").strip():
        reasons.append(Reason(RULE, "须写明挂靠单位变更的决定依据（basis）"))
    return reasons


def validate(data: dict[str, Any]) -> list[Reason]:
    return []


def list_complete(data: dict[str, Any]) -> list[Reason]:
    return [Reason(RULE, f"移交清单缺少“{label}”；没有的请写“无”") for key, label in ITEMS.items()
            if not str(data.get(key) or "").strip()]


def title_of(data: dict[str, Any]) -> str:
    return f"挂靠单位变更交接（{data.get('old_host_name', '')} → {data.get('new_host_name', '')}）"


def _host(side: str):
    def guard(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
        if actor.person_id in case.facts.get(f"{side}_leader_ids", ()):
            return None
        name = case.data.get(f"{side}_host_name", "")
        return Reason(RULE, f"此步骤由{'原' if side == 'old' else '新'}挂靠单位（{name}）的分管院领导办理，"
                            f"{actor.name}不是该单位的分管院领导")
    return guard


@needs_input
def _list_given(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return list_complete({**case.data, **attempt.changes})


def _not_confirmed_yet(side: str):
    def guard(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
        if case.actors_since(f"confirm_{side}", "submit_list"):
            return Reason(RULE, f"{'原' if side == 'old' else '新'}挂靠单位已确认本清单")
        return None
    return guard


def _both_confirmed(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if case.actors_since("confirm_old", "submit_list") and case.actors_since("confirm_new", "submit_list"):
        return None
    return Reason(RULE, "移交清单须经原、新挂靠单位双方确认")


T = Transition
WORKFLOW = Workflow(
    kind="handover",
    label="挂靠单位变更交接",
    states=STATES,
    initial="listing",
    final=("closed",),
    final_hint="交接已完成。",
    validate=validate,
    validate_new=validate_new,
    creators=(),  # opened by the host change (qcflow.services.handover.change_host), never by hand
    creator_rule=RULE,
    fields=FIELDS,
    title_of=title_of,
    transitions=[
        T("submit_list", ("listing",), "confirming", "提交移交清单", HOSTS, RULE, takes_changes=True,
          guards=(_host("old"), _list_given),
          inputs=tuple(Input(key, label) for key, label in ITEMS.items())),
        T("confirm_old", ("confirming",), "", "原挂靠单位确认已移交", HOSTS, RULE,
          guards=(_host("old"), _not_confirmed_yet("old")), then="close"),
        T("confirm_new", ("confirming",), "", "新挂靠单位确认已接收", HOSTS, RULE,
          guards=(_host("new"), _not_confirmed_yet("new")), then="close"),
        T("dispute", ("confirming",), "listing", "清单有误，退回原挂靠单位", HOSTS, RULE, guards=(_host("new"),),
          comment_required="须写明清单缺少或有误的内容"),
        T("close", ("confirming",), "closed", "交接完成", (), RULE, system=True, guards=(_both_confirmed,)),
    ],
    on_enter={
        "listing": OnEnter(notify=(Notify("handover_opened", "host_leaders:old_host", "act"),
                                   Notify("handover_opened", "host_leaders:new_host", "read"))),
        "confirming": OnEnter(notify=(Notify("handover_confirm", "host_leaders:old_host", "act"),
                                      Notify("handover_confirm", "host_leaders:new_host", "act"))),
        "closed": OnEnter(effect="end_old_host_access",
                          notify=(Notify("handover_closed", "role:commission_reviewer", "read"),
                                  Notify("handover_closed", "host_leaders:old_host", "read"),
                                  Notify("handover_closed", "host_leaders:new_host", "read"))),
    },
    deadlines=(
        DeadlineSpec("handover", "挂靠单位变更交接", ("listing", "confirming"), assignee="host_leaders:old_host",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="handover", due_field="due_date"),
    ),
)
