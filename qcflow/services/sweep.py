"""The deadline sweep: remind and escalate what is due, derived from the database.

What is due is found by the next-action index, so a sweep's cost follows what is due, not what is
open, and a sweep after downtime catches up; the dispatch ledger makes each rung go out once.

A sweep never fails as a whole: each batch runs in a savepoint, and a batch that meets a
concurrent change (a report edited meanwhile, a lock held too long, a lost version check) is redone
deadline by deadline, each in its own savepoint, retried once; a deadline that still conflicts is
left for the next sweep and reported, the others go out.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from qcflow.core.clock import as_of_moment, local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.engine import ladder
from qcflow.engine.ladder import SweepReport
from qcflow.store.calendar import calendar_for
from qcflow.store.raw import Raw
from states.rules import Conflict
from states.workdays import WorkCalendar

SWEEP_BATCH = 2000
# PostgreSQL: how long one deadline waits for a row someone else holds before it is retried or skipped.
LOCK_WAIT_SECONDS = 5.0
PREVIEW_YEARS_AHEAD = 5  # an "as of" date further ahead than this is a typing error, not a preview

__all__ = ["SweepReport", "sweep", "parse_as_of", "Outcome", "run_as_of"]


def _conflict_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (Conflict, StaleDataError, DBAPIError, sqlite3.Error)
    try:
        import psycopg  # only where PostgreSQL is used; plain statements raise the driver's own errors

        errors += (psycopg.Error,)
    except ImportError:  # pragma: no cover
        pass
    return errors


class _Savepoint:
    """A savepoint on the transaction's own connection (the engine's plain statements run there too)."""

    def __init__(self, session: Session, name: str):
        self.session, self.name = session, name
        self.raw = Raw(session)

    def __enter__(self) -> "_Savepoint":
        self.raw.run(f"SAVEPOINT {self.name}")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.raw.run(f"RELEASE SAVEPOINT {self.name}")
        else:
            self.raw.run(f"ROLLBACK TO SAVEPOINT {self.name}")
            self.raw.run(f"RELEASE SAVEPOINT {self.name}")
            self.session.expunge_all()  # rows the rolled-back work refreshed are stale now
        return False


def sweep(session: Session, now: Optional[datetime] = None, calendar: Optional[WorkCalendar] = None) -> SweepReport:
    """Take every rung reached by `now` on every open deadline, in the caller's transaction."""
    now = now or utcnow()
    calendar = calendar or calendar_for(session)
    report = SweepReport()
    conflicts = _conflict_errors()
    raw = Raw(session)
    if raw.postgres:
        raw.run(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'")
    while True:
        batch = ladder.due_batch(session, now, SWEEP_BATCH, exclude=report.conflicts)
        if not batch:
            return report
        part = SweepReport()
        try:
            with _Savepoint(session, "sweep_batch"):
                ladder.walk(session, batch, now, calendar, part)  # moves each one's next action past `now`
            report.merge(part)
        except conflicts:
            for deadline_id in [deadline.id for deadline, _ in batch]:
                _one(session, deadline_id, now, calendar, report, conflicts)
        session.expunge_all()  # keep memory flat over many batches


def _one(session: Session, deadline_id: int, now: datetime, calendar: WorkCalendar, report: SweepReport,
         conflicts: tuple[type[BaseException], ...]) -> None:
    """One deadline in its own savepoint, tried twice; then left for the next sweep."""
    for _attempt in range(2):
        part = SweepReport()
        try:
            with _Savepoint(session, "sweep_one"):
                found = ladder.due_batch(session, now, 1, only=deadline_id)  # as it is now, after the conflict
                if found:
                    ladder.walk(session, found, now, calendar, part)
            report.merge(part)
            return
        except conflicts:
            continue
    report.conflicts.append(deadline_id)


# --- "as of" runs: a preview for a future day, a catch-up for a past one ---------------------------


def parse_as_of(value: Optional[str], today: date) -> Optional[date]:
    """The day of an `--as-of`/`as_of` given as YYYY-MM-DD (None: not given); nonsense is refused in Chinese."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"日期“{text}”无效：应为实际存在的日期，格式 YYYY-MM-DD（例如 2026-12-08）") from None
    if len(text) != 10:
        raise UserError(f"日期“{text}”无效：格式应为 YYYY-MM-DD（例如 2026-12-08）")
    latest = today.replace(year=today.year + PREVIEW_YEARS_AHEAD) if not (today.month == 2 and today.day == 29) \
        else today + timedelta(days=365 * PREVIEW_YEARS_AHEAD)
    if day > latest or day.year < 2000:
        raise UserError(f"日期“{text}”超出可处理的范围（2000-01-01 至 {latest.isoformat()}）；请检查年份")
    return day


@dataclass
class Outcome:
    """What an "as of" sweep did, or for a preview, what it would have done (then rolled back)."""

    report: SweepReport
    preview: bool = False
    as_of: Optional[date] = None
    would_send: list[dict[str, Any]] = field(default_factory=list)  # a preview's mails: to, template, case

    def summary(self) -> str:
        if not self.preview:
            return self.report.summary()
        head = (f"预览（{self.as_of.isoformat()} 在今天之后，未做任何更改、未发送邮件；确需按该日执行请加 --force）："
                f"将提醒 {len(self.report.reminded)} 项，督办 {len(self.report.escalated)} 项，"
                f"标记逾期 {len(self.report.overdue)} 项，发出 {len(self.would_send)} 封邮件")
        lines = [f"  ✉ {m['to']}  {m['label']}  #{m['case_id']}" for m in self.would_send]
        return "\n".join([head, *lines])


def acts(as_of: Optional[str], force: bool = False) -> bool:
    """False when an "as of" run is only a preview (a future day without `force`)."""
    day = parse_as_of(as_of, local_date(utcnow()))
    return day is None or day <= local_date(utcnow()) or force


class _Rollback(Exception):
    pass


_LABELS = {"deadline_reminder": "办理提醒", "deadline_escalation": "逾期督办"}


def run_as_of(unit_of_work, as_of: Optional[str], force: bool = False) -> Outcome:
    """The sweep as the CLI and the flow run it. No date, today or a past day: a sweep now (what is
    due by then is due now: it catches up). A future day: a preview that changes nothing, unless
    `force` (then the sweep acts as if it were 09:00 that day)."""
    today = local_date(utcnow())
    day = parse_as_of(as_of, today)
    if day is None or day <= today:
        with unit_of_work() as session:
            return Outcome(sweep(session), as_of=day)
    moment = as_of_moment(day.isoformat())
    if force:
        with unit_of_work() as session:
            return Outcome(sweep(session, now=moment), as_of=day)
    outcome = Outcome(SweepReport(), preview=True, as_of=day)
    try:
        with unit_of_work() as session:
            raw = Raw(session)
            last = raw.first("SELECT COALESCE(MAX(id), 0) FROM outboxmessage")[0]
            outcome.report = sweep(session, now=moment)
            outcome.would_send = [{"to": to, "template": template, "label": _LABELS.get(template, template),
                                   "case_id": case_id}
                                  for to, template, case_id in raw.rows(
                                      "SELECT to_addr, template, case_id FROM outboxmessage WHERE id > ? ORDER BY id",
                                      [last])]
            raise _Rollback()  # a preview keeps nothing: not the mails, not the ledger, not the overdue marks
    except _Rollback:
        pass
    return outcome
