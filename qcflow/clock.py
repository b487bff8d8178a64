"""Time: stored as aware UTC, shown and counted in the commission's zone."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from models.base import utcnow

__all__ = ["utcnow", "local_zone", "to_local", "local_date", "end_of_local_day", "fmt_local", "as_of_moment"]


def local_zone() -> ZoneInfo:
    from qcflow.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # only from a database that dropped the offset
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(local_zone())


def local_date(moment: datetime) -> date:
    return to_local(moment).date()


def end_of_local_day(day: date) -> datetime:
    """The last second of `day` in the local zone, in UTC."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=local_zone())
    return local.astimezone(timezone.utc)


def as_of_moment(as_of: str | None) -> datetime | None:
    """09:00 local time on an "as of" day given as YYYY-MM-DD (None: now)."""
    if not as_of:
        return None
    return datetime.combine(date.fromisoformat(as_of), time(9, 0), tzinfo=local_zone())


def fmt_local(moment: datetime | None) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
