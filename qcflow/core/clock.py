"""Time: stored as aware UTC, shown and counted in the commission's zone.

Nothing reads the wall clock but `SystemClock`; the composition root (qcflow.bootstrap) decides
which clock the process runs on, and tests run on a `FixedClock`.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from qcflow.core import runtime

__all__ = ["Clock", "SystemClock", "FixedClock", "utcnow", "local_zone", "to_local", "local_date", "today",
           "end_of_local_day", "start_of_local_day", "fmt_local", "as_of_moment"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that stands still until moved: tests, demos, "as of" runs."""

    def __init__(self, moment: datetime):
        self.set(moment)

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._moment = moment.astimezone(timezone.utc)

    def advance(self, **delta: float) -> None:
        self._moment += timedelta(**delta)


def utcnow() -> datetime:
    return runtime.current().clock.now()


def local_zone() -> ZoneInfo:
    return runtime.current().zone


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # only from a database that dropped the offset
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(local_zone())


def local_date(moment: datetime) -> date:
    return to_local(moment).date()


def today() -> date:
    return local_date(utcnow())


def end_of_local_day(day: date) -> datetime:
    """The last second of `day` in the local zone, in UTC."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=local_zone())
    return local.astimezone(timezone.utc)


def start_of_local_day(day: date) -> datetime:
    """Midnight at the start of `day` in the local zone, in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=local_zone()).astimezone(timezone.utc)


def as_of_moment(as_of: str | None) -> datetime | None:
    """09:00 local time on an "as of" day given as YYYY-MM-DD (None: now)."""
    if not as_of:
        return None
    return datetime.combine(date.fromisoformat(as_of), time(9, 0), tzinfo=local_zone())


def fmt_local(moment: datetime | None) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
