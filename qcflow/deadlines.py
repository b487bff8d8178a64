"""Deadlines: opened and closed as cases move; a sweep reminds and escalates from the database.

The sweep derives what is due from the rows themselves, not from when it last ran, so a sweep
after downtime catches up; `reminded_at`/`escalated_at` make each message go out once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from models import Case, CaseEvent, Deadline
from qcflow.clock import end_of_local_day, local_date, to_local, utcnow
from states.policy import ESCALATE_WORKING_DAYS_AFTER, REMIND_WORKING_DAYS_BEFORE
from states.workdays import DEFAULT_CALENDAR, WorkCalendar
from states.workflow import Notify, Workflow


def sync(session: Session, workflow: Workflow, case: Case, now: datetime,
         calendar: WorkCalendar = DEFAULT_CALENDAR) -> None:
    for spec in workflow.deadlines:
        open_row = session.exec(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.step == spec.step, Deadline.closed_at.is_(None))).first()
        if case.state in spec.states and open_row is None:
            due_day = calendar.add_working_days(local_date(now), spec.working_days)
            session.add(Deadline(case_id=case.id, step=spec.step, opened_at=now, due_at=end_of_local_day(due_day)))
        elif case.state not in spec.states and open_row is not None:
            open_row.closed_at = now
            session.add(open_row)
    session.flush()


def open_due_label(session: Session, case: Case) -> str:
    row = session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.closed_at.is_(None))
                       .order_by(Deadline.due_at)).first()
    return to_local(row.due_at).strftime("%Y年%m月%d日") if row else ""


@dataclass
class SweepReport:
    reminded: list[int] = field(default_factory=list)  # deadline ids
    escalated: list[int] = field(default_factory=list)


def sweep(session: Session, now: Optional[datetime] = None, calendar: WorkCalendar = DEFAULT_CALENDAR) -> SweepReport:
    """Remind and escalate every open deadline that has reached its point on the ladder."""
    from qcflow.engine import workflow_for
    from qcflow.outbox import notify_all

    now = now or utcnow()
    today = local_date(now)
    report = SweepReport()
    rows = session.exec(select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
                        .where(Deadline.closed_at.is_(None)).order_by(Deadline.id)).all()
    for deadline, case in rows:
        workflow = workflow_for(case.kind)
        spec = next((s for s in workflow.deadlines if s.step == deadline.step), None)
        if spec is None:
            continue
        due_day = local_date(deadline.due_at)
        extra = {"due_date": due_day.strftime("%Y年%m月%d日"), "step_label": spec.label}
        remind_from = calendar.add_working_days(due_day, -REMIND_WORKING_DAYS_BEFORE.value)
        escalate_from = calendar.add_working_days(due_day, ESCALATE_WORKING_DAYS_AFTER.value)
        if deadline.reminded_at is None and today >= remind_from:
            notify_all(session, workflow, case, [Notify("deadline_reminder", spec.assignee, "act")], extra)
            deadline.reminded_at = now
            report.reminded.append(deadline.id)
        if deadline.escalated_at is None and today >= escalate_from:
            notify_all(session, workflow, case, [Notify("deadline_escalation", spec.escalate_to, "read")], extra)
            deadline.escalated_at = now
            session.add(CaseEvent(case_id=case.id, trigger="escalate", from_state=case.state,
                                  to_state=case.state, comment=f"{spec.label}逾期，已提请督办（{spec.rule}）",
                                  details={"deadline_id": deadline.id, "due": extra["due_date"]}, at=now))
            report.escalated.append(deadline.id)
        session.add(deadline)
    session.flush()
    return report
