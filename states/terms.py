"""The end of a term (Y§26(一)(二)): every appointment runs 4 years; 3 months before a term ends the
commission is told, with the term's yearly assessment grades, and decides whether to reappoint the
center's people for another term or to re-select its host and director. A director who has served
two consecutive terms may not be reappointed for a third (Y§26(一)). Pure rules, no I/O."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.staffing import check_reappointment
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow

RULE = "Y§26"
TERM_NOTICE_MONTHS = Limit(3, RULE)  # the commission hears of a term's end this long before it
DECIDERS = ("commission_reviewer", "section_head")
NO_GRADES = "暂无考核结果"

STATES = {
    "pending": "待决定",
    "reappointed": "已续聘",
    "reselection": "重新遴选",
}

FIELDS = {
    "people_text": "聘期届满人员",
    "grades_text": "聘期内年度考核结果",
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day where it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def notice_opens(term_end: date) -> date:
    """The day the commission is told of a term ending on `term_end`."""
    return add_months(term_end, -TERM_NOTICE_MONTHS.value)


def ending_soon(term_end: date, today: date) -> bool:
    """The term ends within the notice period and has not ended yet."""
    return notice_opens(term_end) <= today <= term_end


def next_term_start(term_end: date) -> date:
    return term_end + timedelta(days=1)


def grades_text(grades: list[dict[str, Any]]) -> str:
    """The term's yearly results as one line per year, or 暂无考核结果."""
    if not grades:
        return NO_GRADES
    return "\n".join(f"{g['year']}年：{g['grade']}" + (f"（{g['score']} 分）" if g.get("score") not in (None, "") else "")
                     for g in sorted(grades, key=lambda g: g["year"]))


def people_text(people: list[dict[str, Any]]) -> str:
    return "\n".join(f"{p['role_label']} {p['name']}：{p['term_start']} 至 {p['term_end']}（第 {p['term']} 届）"
                     for p in people)


def validate(data: dict[str, Any]) -> list[Reason]:
    return []


def _third_term(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§26(一): the director in post may be reappointed only while under the consecutive-term limit."""
    director = case.facts.get("director")
    if not director:
        return []
    name, served = director
    return [Reason(r.rule, f"主任 {name} {r.message}，请改为重新遴选") for r in check_reappointment(served)]


def _leaders_qualify(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    """Y§11 on the first day of the next term: a reappointment is an appointment."""
    return [Reason(r.rule, f"续聘：{r.message}") for r in case.facts.get("leader_reasons", ())]


T = Transition
WORKFLOW = Workflow(
    kind="term",
    label="聘期届满",
    states=STATES,
    initial="pending",
    final=("reappointed", "reselection"),
    final_hint="聘期届满事项已有决定。",
    validate=validate,
    creators=(),
    creator_rule=RULE,
    fields=FIELDS,
    transitions=[
        T("reappoint", ("pending",), "reappointed", "续聘下一届", DECIDERS, RULE, guards=(_third_term, _leaders_qualify)),
        T("reselect", ("pending",), "reselection", "重新遴选挂靠单位和主任", DECIDERS, RULE,
          comment_required="决定重新遴选须写明依据（如聘期内年度考核结果）"),
    ],
    on_enter={
        "pending": OnEnter(notify=(Notify("term_notice", "role:commission_reviewer", "act"),)),
        "reappointed": OnEnter(effect="reappoint_term",
                               notify=(Notify("term_decided", "center:center_director,center_secretary", "read"),)),
        "reselection": OnEnter(notify=(Notify("term_decided", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("decision", "聘期届满决定", ("pending",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="term_end", due_field="term_end"),
    ),
)
