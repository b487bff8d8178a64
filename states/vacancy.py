"""A director or deputy who cannot serve (Y§26(三)): the post is recorded as vacant at once (Y§10's
count of directors and deputies tolerates it while the vacancy is open), the host unit re-nominates
within 1 month, the commission approves the nominee after checking Y§11 on the appointment day; a
nominee who does not qualify, or no nomination within the month, sends the choice of host and
director back to the commission (重新组织遴选). Pure rules, no I/O."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from states.dates import iso_day
from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.staffing import Member
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "Y§26"
RENOMINATE_MONTHS = Limit(1, RULE)  # 挂靠单位在一个月内重新推荐
RECORDERS = ("commission_reviewer", "section_head")
NOMINATORS = ("host_leader",)
VACANT_POSTS = {"director": "主任", "deputy": "副主任"}
YES_NO = (("yes", "是"), ("no", "否"))

STATES = {
    "open": "待重新推荐",
    "nominated": "待卫健委审定",
    "filled": "已补任",
    "escalated": "重新遴选",
    "closed": "已重新遴选",
}

FIELDS = {
    "email": "不能履职人员邮箱",
    "post": "空缺职务（director 主任 / deputy 副主任）",
    "reason": "不能履职原因",
    "since": "空缺起始日期（YYYY-MM-DD）",
    "nominee": "推荐人选邮箱",
    "nomination_note": "推荐说明",
    "appointed_on": "任命日期（YYYY-MM-DD，可不填：审定当日）",
}


def vacant_seats(posts: list[str]) -> tuple[Member, ...]:
    """Y§26(三) over Y§10: a post recorded vacant keeps its seat in the count while its vacancy is open
    (filling it goes through the vacancy, so a second director added meanwhile is still refused)."""
    return tuple(Member(name="（空缺）", role=post, title="正高", birth_date=date(1970, 1, 1), institution_code="",
                        institution_county_level=False, department_head=True, penalty_dates=(),
                        provincial_society_member=True) for post in posts)


def validate_new(data: dict[str, Any]) -> list[Reason]:
    reasons = []
    if data.get("post") not in VACANT_POSTS:
        reasons.append(Reason(RULE, "空缺职务（post）应为 director（主任）或 deputy（副主任）"))
    if not str(data.get("email") or "").strip():
        reasons.append(Reason(RULE, "须填写不能履职人员的邮箱（email）"))
    if not str(data.get("reason") or "").strip():
        reasons.append(Reason(RULE, "须写明不能继续履职的原因（reason）"))
    if iso_day(data.get("since")) is None:
        reasons.append(Reason(RULE, "空缺起始日期（since）未填写或无效，应写成 YYYY-MM-DD"))
    return reasons


def validate(data: dict[str, Any]) -> list[Reason]:
    return []


def title_of(data: dict[str, Any]) -> str:
    return f"{VACANT_POSTS.get(str(data.get('post')), '')}空缺（原任 {data.get('name') or data.get('email', '')}）"


def _from_host(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if actor.person_id in case.facts.get("host_leader_ids", ()):
        return None
    return Reason(RULE, f"重新推荐由{case.facts.get('host_name', '挂靠单位')}的分管院领导提出，{actor.name}不是该单位的分管院领导")


@needs_input
def _nominee_named(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if not str(attempt.changes.get("nominee") or "").strip():
        return Reason(RULE, "须填写推荐人选的邮箱（nominee）")
    return None


def _nominee_qualifies(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§11 on the appointment day, as the services judged it (facts: nominee_reasons)."""
    return list(case.facts.get("nominee_reasons", ()))


def _appointed_on_valid(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    value = attempt.changes.get("appointed_on")
    if value in (None, ""):
        return None
    day = iso_day(value)
    today = case.facts.get("today")
    if day is None:
        return Reason(RULE, "任命日期（appointed_on）无效，应写成 YYYY-MM-DD")
    if today is not None and day < today:
        return Reason(RULE, f"任命日期 {day.isoformat()} 早于审定当日 {today.isoformat()}")
    return None


T = Transition
WORKFLOW = Workflow(
    kind="vacancy",
    label="主任（副主任）空缺",
    states=STATES,
    initial="open",
    final=("filled", "closed"),
    final_hint="该空缺已处理完毕。",
    validate=validate,
    validate_new=validate_new,
    creators=RECORDERS,
    creator_rule=RULE,
    fields=FIELDS,
    title_of=title_of,
    transitions=[
        T("nominate", ("open",), "nominated", "重新推荐人选", NOMINATORS, RULE, takes_changes=True,
          guards=(_from_host, _nominee_named),
          inputs=(Input("nominee", "推荐人选邮箱"),
                  Input("department_head", "担任科室（部门）主任或以上职务", "choice", YES_NO),
                  Input("provincial_society_member", "担任（含曾任）省医学会相关专业委员会委员以上职务", "choice", YES_NO),
                  Input("nomination_note", "推荐说明"))),
        T("approve", ("nominated",), "filled", "审定通过并任命", RECORDERS, "Y§11", takes_changes=True,
          guards=(_nominee_qualifies, _appointed_on_valid),
          inputs=(Input("appointed_on", "任命日期（YYYY-MM-DD，可不填）"),)),
        T("reject", ("nominated",), "escalated", "推荐人选不符合条件，重新遴选", RECORDERS, RULE,
          comment_required="须写明推荐人选不符合任职条件或无法承担职责的理由"),
        T("escalate", ("open",), "escalated", "逾期未推荐，重新遴选", (), RULE, system=True),
        T("record_reselection", ("escalated",), "closed", "登记重新遴选结果", RECORDERS, RULE,
          comment_required="须写明重新遴选挂靠单位及主任的结果或安排"),
    ],
    on_enter={
        "open": OnEnter(effect="vacate_post",
                        notify=(Notify("vacancy_opened", "host_leaders", "act"),
                                Notify("vacancy_opened", "center:center_director,center_secretary", "read"))),
        "nominated": OnEnter(notify=(Notify("vacancy_nominated", "role:commission_reviewer", "act"),)),
        "filled": OnEnter(effect="fill_vacancy",
                          notify=(Notify("vacancy_filled", "center:center_director,center_secretary", "read"),
                                  Notify("vacancy_filled", "host_leaders", "read"))),
        "escalated": OnEnter(notify=(Notify("vacancy_escalated", "role:commission_reviewer", "act"),
                                     Notify("vacancy_escalated", "role:section_head", "read"),
                                     Notify("vacancy_escalated", "host_leaders", "read"))),
    },
    deadlines=(
        DeadlineSpec("renominate", "重新推荐主任（副主任）", ("open",), assignee="host_leaders",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="vacancy", due_field="due_date",
                     on_overdue="escalate"),
    ),
)
