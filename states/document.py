"""Workflow 1: a document a center drafts and the commission reviews, signs off and issues (Y§18).

Chinese official-document handling: 拟稿 → 审核 → 签发 → 编号登记 → 用印 → 分发.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from states.policy import DOCUMENT_REVIEW_WORKING_DAYS, DOCUMENT_TITLE_MAX_CHARS
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow

RULE = "Y§18"

STATES = {
    "draft": "拟稿",
    "submitted": "已提交",
    "in_review": "审核中",
    "changes_requested": "退回修改",
    "awaiting_signoff": "待签发",
    "approved": "已签发",
    "issued": "已印发",
    "rejected": "不予发文",
    "withdrawn": "已撤回",
}

DOC_KINDS = {
    "meeting_notice": "会议通知",
    "inspection_notice": "督查通知",
    "survey_notice": "调查通知",
    "work_plan": "工作计划",
    "other": "其他",
}

SUBMITTERS = ("center_director", "center_secretary")
REVIEWERS = ("commission_reviewer",)
SIGNERS = ("signing_leader",)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate(data: dict[str, Any]) -> list[Reason]:
    """Every fault in a document's content; empty when it may be submitted."""
    reasons = []
    title = str(data.get("title") or "").strip()
    if not title:
        reasons.append(Reason(RULE, "公文标题不能为空"))
    elif len(title) > DOCUMENT_TITLE_MAX_CHARS.value:
        reasons.append(Reason(DOCUMENT_TITLE_MAX_CHARS.rule,
                              f"公文标题 {len(title)} 字，超过 {DOCUMENT_TITLE_MAX_CHARS.value} 字上限"))
    kind = data.get("doc_kind")
    if kind not in DOC_KINDS:
        options = "、".join(f"{k}（{v}）" for k, v in DOC_KINDS.items())
        reasons.append(Reason(RULE, f"公文种类“{kind or ''}”无效，应为：{options}"))
    if not str(data.get("body") or "").strip():
        reasons.append(Reason(RULE, "公文正文不能为空"))
    recipients = data.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        reasons.append(Reason(RULE, "须列明主送单位或收件人（至少一位，含姓名和邮箱）"))
    else:
        for i, r in enumerate(recipients, 1):
            email = str((r or {}).get("email", "")) if isinstance(r, dict) else ""
            name = str((r or {}).get("name", "")) if isinstance(r, dict) else ""
            if not name.strip() or not _EMAIL.match(email):
                reasons.append(Reason(RULE, f"第 {i} 位收件人须有姓名和有效邮箱（当前：{name or '无姓名'} / {email or '无邮箱'}）"))
    return reasons


def _content_complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    faults = validate({**case.data, **attempt.changes})
    if faults and not attempt.changes:  # with changes, Workflow.check already listed each fault
        return Reason(RULE, "公文内容有误或不完整，不能提交：" + "；".join(f.message for f in faults))
    return None


def _only_the_drafter(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if actor.person_id != case.created_by_id:
        return Reason(RULE, "只有拟稿人本人可以撤回公文")
    return None


def _four_eyes(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    # Any approval of this version of the text counts, not just the latest one.
    if actor.person_id is not None and actor.person_id in case.actors_since("approve", since="submit"):
        return Reason(RULE, "您已审核通过此公文；签发环节须由另一位签发领导办理（审核与签发分离，四眼原则）")
    return None


T = Transition
WORKFLOW = Workflow(
    kind="document",
    label="公文",
    states=STATES,
    initial="draft",
    final=("issued", "rejected", "withdrawn"),
    final_hint="已印发的公文不可更改；如需更正，请另拟新文并注明所替代的文号。",
    validate=validate,
    creators=SUBMITTERS,
    creator_rule=RULE,
    fields={"title": "标题", "body": "正文"},
    transitions=[
        T("edit", ("draft", "changes_requested"), "", "修改", SUBMITTERS, RULE, takes_changes=True),
        T("submit", ("draft", "changes_requested"), "submitted", "提交审核", SUBMITTERS, RULE,
          takes_changes=True, guards=(_content_complete,)),
        T("withdraw", ("draft", "submitted", "in_review", "changes_requested"), "withdrawn", "撤回",
          SUBMITTERS, RULE, guards=(_only_the_drafter,)),
        T("claim", ("submitted",), "in_review", "开始审核", REVIEWERS, RULE),
        T("approve", ("submitted", "in_review"), "awaiting_signoff", "审核通过", REVIEWERS, RULE),
        T("request_changes", ("submitted", "in_review"), "changes_requested", "退回修改", REVIEWERS, RULE,
          comment_required="退回修改须填写修改意见，告诉拟稿人改什么"),
        T("reject", ("submitted", "in_review", "awaiting_signoff"), "rejected", "不予发文",
          REVIEWERS + SIGNERS, RULE, comment_required="不予发文须填写理由"),
        T("return_for_review", ("awaiting_signoff",), "in_review", "退回重审", SIGNERS, RULE,
          comment_required="退回重审须填写意见", guards=(_four_eyes,),
          notify=(Notify("task_review", "actor_of:approve", "act"),)),
        T("sign", ("awaiting_signoff",), "approved", "签发", SIGNERS, RULE, guards=(_four_eyes,)),
        T("issue", ("approved",), "issued", "编号印发", (), "GB/T 9704-2012 §7.2.5", system=True),
    ],
    on_enter={
        "submitted": OnEnter(notify=(Notify("task_review", "role:commission_reviewer", "act"),)),
        "changes_requested": OnEnter(notify=(Notify("task_revise", "creator", "act"),)),
        "awaiting_signoff": OnEnter(notify=(
            Notify("task_signoff", "role:signing_leader", "act", exclude="actor_of:approve"),)),
        "approved": OnEnter(auto_trigger="issue"),
        "issued": OnEnter(assign_number=True, notify=(
            Notify("document_issued", "recipients", "read"),
            Notify("notice_issued", "creator", "read"),
        )),
        "rejected": OnEnter(notify=(Notify("notice_rejected", "creator", "read"),)),
    },
    deadlines=(
        DeadlineSpec("review", "审核", ("submitted", "in_review"), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=DOCUMENT_REVIEW_WORKING_DAYS.rule,
                     ladder="document_review", working_days=DOCUMENT_REVIEW_WORKING_DAYS.value),
    ),
)
