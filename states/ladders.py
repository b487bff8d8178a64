"""Reminder and escalation ladders, one per obligation: the one place their days are set.

Offsets are working days relative to the due day: negative before, 0 on the day, positive after.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from states.workdays import WorkCalendar


@dataclass(frozen=True)
class Rung:
    name: str
    offset: int
    action: str  # remind | escalate


@dataclass(frozen=True)
class Ladder:
    name: str
    label: str
    rule: str
    rungs: tuple[Rung, ...]

    @property
    def lookahead_working_days(self) -> int:
        return max([-r.offset for r in self.rungs] + [0])


def remind(days_before: int) -> Rung:
    return Rung(f"remind-{days_before}" if days_before else "remind-due", -days_before, "remind")


def escalate(days_after: int) -> Rung:
    return Rung(f"escalate+{days_after}", days_after, "escalate")


LADDERS: dict[str, Ladder] = {
    ladder.name: ladder for ladder in (
        Ladder("document_review", "公文审核", "Y§18", (remind(1), escalate(2))),
        Ladder("periodic_report", "工作总结报送", "Y§17", (remind(7), remind(1), remind(0), escalate(3))),
        Ladder("expert_review", "专家评审", "Y§13", (remind(2), remind(0), escalate(1))),
        Ladder("death_review", "死亡病例评审", "H5", (remind(1), remind(0), escalate(2))),
        Ladder("rectification", "责令整改", "Y§25", (remind(5), remind(1), remind(0), escalate(1))),
        Ladder("assessment", "年度考核", "Y§24", (remind(2), remind(0), escalate(1))),
        Ladder("term_end", "聘期届满决定", "Y§26", (remind(20), remind(5), escalate(1))),
        Ladder("vacancy", "主任（副主任）空缺重新推荐", "Y§26", (remind(5), remind(1), escalate(1))),
        Ladder("handover", "挂靠单位变更交接", "Y§27", (remind(5), remind(1), remind(0), escalate(1))),
        Ladder("inspection_report", "督导检查报告报送", "Y§20", (remind(10), remind(3), remind(0), escalate(1))),
        Ladder("inspection_rectification", "督导检查整改落实", "Y§14(四)", (remind(5), remind(0), escalate(1))),
        # Yearly H1/H2/H6 work: one reminder two working days ahead, one on the day, the section head after 1.
        Ladder("improvement_plan", "改进目标工作方案审批", "H1", (remind(2), remind(0), escalate(1))),
        Ladder("compendium", "应知应会审核", "H2", (remind(2), remind(0), escalate(1))),
        Ladder("annual_report", "年度质量安全报告评审与发布", "H6", (remind(2), remind(0), escalate(1))),
    )
}


@dataclass(frozen=True)
class Step:
    rung: Rung
    send: bool  # False: a reminder superseded by a later one reached at the same time


def steps_due(ladder: Ladder, due_day: date, today: date, calendar: WorkCalendar, done: set[str]) -> list[Step]:
    """The rungs reached by `today` and not yet in `done` (the ledger).

    After downtime several reminders may be reached at once: only the latest is sent, the earlier
    ones are recorded as skipped. Escalations are always sent.
    """
    reached = [r for r in ladder.rungs
               if r.name not in done and today >= calendar.add_working_days(due_day, r.offset)]
    reminders = [r for r in reached if r.action == "remind"]
    latest = max(reminders, key=lambda r: r.offset) if reminders else None
    return [Step(r, r.action == "escalate" or r is latest) for r in reached]


def next_action_day(ladder: Ladder, due_day: date, calendar: WorkCalendar, done: set[str],
                    after: Optional[date], overdue_step: bool) -> Optional[date]:
    """The first day after `after` (None: any day) on which a rung not in `done` is reached, or,
    for an obligation with an overdue step, the day after the due day and every day after it (the
    step may become possible later, e.g. when a late vote makes a majority). None: nothing is left."""
    days = [calendar.add_working_days(due_day, r.offset) for r in ladder.rungs if r.name not in done]
    if overdue_step:
        first_overdue = due_day + timedelta(days=1)
        days.append(first_overdue if after is None else max(first_overdue, after + timedelta(days=1)))
    ahead = [d for d in days if after is None or d > after]
    return min(ahead) if ahead else None
