"""The working-day calendar: the library's data plus the days an admin loaded (`qcflow calendar load`)."""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models import CalendarDay
from qcflow.core import runtime
from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from states.workdays import WorkCalendar


CALENDAR_TTL_SECONDS = 300  # a calendar loaded by another process is seen within this time


def calendar_for(session: Session) -> WorkCalendar:
    """The process's working-day calendar (it remembers its answers), rebuilt after a load or the TTL."""
    cached = runtime.current().resources.get("work_calendar")
    if cached is not None and time.monotonic() - cached[0] < CALENDAR_TTL_SECONDS:
        return cached[1]
    calendar = _load(session)
    runtime.current().resources["work_calendar"] = (time.monotonic(), calendar)
    return calendar


def forget_calendar() -> None:
    runtime.current().resources.pop("work_calendar", None)


def _load(session: Session) -> WorkCalendar:
    rows = session.exec(select(CalendarDay)).all()
    return WorkCalendar(
        extra_holidays={r.day for r in rows if not r.workday},
        extra_workdays={r.day for r in rows if r.workday},
        covered_years={r.day.year for r in rows},
    )


def _days(entries: Any, field: str, source: str) -> list[tuple[date, str]]:
    out: list[tuple[date, str]] = []
    if entries is not None and not isinstance(entries, list):
        raise UserError(f"{source}：{field} 应为列表，每条写成 {{date: YYYY-MM-DD, name: 名称}}")
    for i, entry in enumerate(entries or [], 1):
        if not isinstance(entry, dict) or not ("date" in entry or ("from" in entry and "to" in entry)):
            raise UserError(f"{source}：{field} 第 {i} 条应写成 {{date: YYYY-MM-DD, name: 名称}}，或 {{from:, to:, name:}}")
        try:
            start = date.fromisoformat(str(entry["from"] if "from" in entry else entry["date"]))
            end = date.fromisoformat(str(entry["to"] if "to" in entry else entry["date"]))
        except ValueError:
            raise UserError(f"{source}：{field} 第 {i} 条日期无效（格式 YYYY-MM-DD）") from None
        if end < start:
            raise UserError(f"{source}：{field} 第 {i} 条结束日期早于开始日期")
        if (end - start).days > 366:
            raise UserError(f"{source}：{field} 第 {i} 条跨度超过一年；一个日历文件只写一年的日期")
        day = start
        while day <= end:
            out.append((day, str(entry.get("name", ""))))
            day = date.fromordinal(day.toordinal() + 1)
    return out


def load_file(session: Session, path: Path) -> dict[str, int]:
    """Load a year's holidays and adjusted workdays; replaces what was loaded for that year."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取日历文件 {path}：{exc.strerror}") from None
    raw = load_yaml(content, f"日历文件 {path}")
    year = raw.get("year") if isinstance(raw, dict) else None
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2200:
        raise UserError(f"日历文件 {path} 须有 year（年份）、holidays（放假日）、workdays（调休上班日）")
    holidays = _days(raw.get("holidays"), "holidays", str(path))
    workdays = _days(raw.get("workdays"), "workdays", str(path))
    stray = sorted({d.isoformat() for d, _ in holidays + workdays if d.year != year})
    if stray:
        raise UserError(f"日历文件 {path}：以下日期不在 {year} 年：{'、'.join(stray)}")
    both = sorted({d for d, _ in holidays} & {d for d, _ in workdays})
    if both:
        raise UserError(f"日历文件 {path}：{'、'.join(d.isoformat() for d in both)} 既是放假日又是调休上班日")
    for row in session.exec(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                      CalendarDay.day <= date(year, 12, 31))).all():
        session.delete(row)
    session.flush()
    for day, name in holidays:
        session.add(CalendarDay(day=day, workday=False, name=name))
    for day, name in workdays:
        session.add(CalendarDay(day=day, workday=True, name=name))
    session.flush()
    forget_calendar()
    return {"year": year, "holidays": len(holidays), "workdays": len(workdays)}
