"""Deadlines: opened and closed as cases move; a sweep walks each one's ladder from the database.

The sweep derives what is due from the rows themselves, not from when it last ran, so a sweep
after downtime catches up; the dispatch ledger makes each rung go out once.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from sqlmodel import Session, select

from models import Case, CaseEvent, Deadline, Dispatch
from qcflow.store.calendar import calendar_for
from qcflow.core.clock import end_of_local_day, local_date, to_local, utcnow
from qcflow.store.ledger import claim
from states.ladders import LADDERS, steps_due
from states.workdays import WorkCalendar
from states.workflow import DeadlineSpec, Notify, Workflow

SWEEP_BATCH = 2000


def due_day_for(spec: DeadlineSpec, case: Case, opened: date, calendar: WorkCalendar) -> date:
    """The working-day limit from opening; with a due date in the case, that date, but never less
    than the working days (a report returned after its due day gets time to resubmit)."""
    by_days = calendar.add_working_days(opened, spec.working_days)
    if spec.due_field:
        return max(date.fromisoformat(str(case.data[spec.due_field])), by_days)
    return by_days


def sync(session: Session, workflow: Workflow, case: Case, now: datetime,
         calendar: Optional[WorkCalendar] = None) -> None:
    """Open the deadlines of the state the case is in; close those of the states it left."""
    for spec in workflow.deadlines:
        open_row = session.exec(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.step == spec.step, Deadline.closed_at.is_(None))).first()
        applies = spec.applies(case.state, case.data)
        if applies and open_row is None:
            calendar = calendar or calendar_for(session)
            due = due_day_for(spec, case, local_date(now), calendar)
            session.add(Deadline(case_id=case.id, step=spec.step, opened_at=now, due_at=end_of_local_day(due)))
        elif not applies and open_row is not None:
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
    skipped: list[int] = field(default_factory=list)  # reminders superseded by a later one
    overdue: list[int] = field(default_factory=list)  # case ids marked overdue
    examined: int = 0


def _horizon(now: datetime) -> datetime:
    # Working days never stretch more than ~2.2x into calendar days (long holidays included).
    longest = max(l.lookahead_working_days for l in LADDERS.values())
    return end_of_local_day(local_date(now) + timedelta(days=longest * 3 + 10))


def sweep(session: Session, now: Optional[datetime] = None, calendar: Optional[WorkCalendar] = None) -> SweepReport:
    """Walk every open deadline whose ladder may have a rung reached by `now`."""
    from qcflow.engine import fire_as_system, workflow_for

    now = now or utcnow()
    today = local_date(now)
    calendar = calendar or calendar_for(session)
    report = SweepReport()
    ids = session.exec(select(Deadline.id).where(Deadline.closed_at.is_(None), Deadline.due_at <= _horizon(now))
                       .order_by(Deadline.id)).all()
    for start in range(0, len(ids), SWEEP_BATCH):  # batches keep memory flat over many deadlines
        batch = session.exec(select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
                             .where(Deadline.id.in_(ids[start:start + SWEEP_BATCH])).order_by(Deadline.id)).all()
        done: dict[int, set[str]] = defaultdict(set)
        for deadline_id, key in session.exec(select(Dispatch.deadline_id, Dispatch.key)
                                             .where(Dispatch.deadline_id.in_([d.id for d, _ in batch]))):
            done[deadline_id].add(key.rsplit(":", 1)[-1])
        for deadline, case in batch:
            report.examined += 1
            workflow = workflow_for(case.kind)
            spec = _spec(workflow, deadline.step)
            if spec is None:
                continue
            _walk(session, deadline, case, workflow, spec, today, now, calendar, done[deadline.id], report)
            if spec.on_overdue and today > local_date(deadline.due_at):
                if fire_as_system(session, case, spec.on_overdue, now):
                    report.overdue.append(case.id)
        session.flush()  # the identity map holds clean rows weakly: a finished batch can be freed
    return report


def _spec(workflow: Workflow, step: str) -> Optional[DeadlineSpec]:
    return next((s for s in workflow.deadlines if s.step == step), None)


def _walk(session: Session, deadline: Deadline, case: Case, workflow: Workflow, spec: DeadlineSpec, today: date,
          now: datetime, calendar: WorkCalendar, done: set[str], report: SweepReport) -> None:
    from qcflow.engine.outbox import notify_all

    ladder = LADDERS[spec.ladder]
    due_day = local_date(deadline.due_at)
    extra = {"due_date": due_day.strftime("%Y年%m月%d日"), "step_label": spec.label}
    for step in steps_due(ladder, due_day, today, calendar, done):
        action = step.rung.action if step.send else "skip"
        if not claim(session, f"deadline:{deadline.id}:{step.rung.name}", action, deadline.id, case.id):
            continue
        if not step.send:
            report.skipped.append(deadline.id)
        elif step.rung.action == "remind":
            notify_all(session, workflow, case, [Notify("deadline_reminder", spec.assignee, "act")], extra)
            deadline.reminded_at = now
            report.reminded.append(deadline.id)
        else:
            notify_all(session, workflow, case, [Notify("deadline_escalation", spec.escalate_to, "read")], extra)
            deadline.escalated_at = now
            session.add(CaseEvent(case_id=case.id, trigger="escalate", from_state=case.state,
                                  to_state=case.state, comment=f"{spec.label}逾期，已提请督办（{spec.rule}）",
                                  details={"deadline_id": deadline.id, "due": extra["due_date"]}, at=now))
            report.escalated.append(deadline.id)
        session.add(deadline)
