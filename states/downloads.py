"""Who may open an application's material files (Y§9 materials, Y§22: used only by those who work on
them): the applicant, the commission's section and the signing leaders, and the experts assigned
to review it. Pure."""
from __future__ import annotations

from typing import Optional

from states.rules import Actor, CaseView, Reason

RULE = "Y§22"
COMMISSION_ROLES = ("commission_reviewer", "section_head", "signing_leader")


def may_download(case: CaseView, actor: Optional[Actor]) -> Optional[Reason]:
    """None when the person may open the case's material files; else why not."""
    if actor is None or actor.person_id is None:
        return Reason(RULE, "申请材料仅供申请人、卫健委医政医管科和指定的评审专家查阅，请先登录")
    if actor.person_id == case.created_by_id or any(actor.holds(r) for r in COMMISSION_ROLES):
        return None
    if actor.person_id in {e.get("person_id") for e in case.facts.get("assigned_experts", [])}:
        return None
    return Reason(RULE, f"{actor.name} 不是本申请的申请人、卫健委医政医管科人员或指定的评审专家，不能下载申请材料")
