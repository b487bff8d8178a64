"""The deadline sweep: remind and escalate what is due, derived from the database.

What is due is found by the next-action index, so a sweep's cost follows what is due, not what is
open, and a sweep after downtime catches up; the dispatch ledger makes each rung go out once.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Session

from qcflow.core.clock import utcnow
from qcflow.engine import ladder
from qcflow.engine.ladder import SweepReport
from qcflow.store.calendar import calendar_for
from states.workdays import WorkCalendar

SWEEP_BATCH = 2000

__all__ = ["SweepReport", "sweep"]


def sweep(session: Session, now: Optional[datetime] = None, calendar: Optional[WorkCalendar] = None) -> SweepReport:
    """Take every rung reached by `now` on every open deadline; batch by batch, in the caller's transaction."""
    now = now or utcnow()
    calendar = calendar or calendar_for(session)
    report = SweepReport()
    while True:
        batch = ladder.due_batch(session, now, SWEEP_BATCH)
        if not batch:
            return report
        ladder.walk(session, batch, now, calendar, report)  # moves each one's next action past `now`
        session.expunge_all()  # keep memory flat over many batches
