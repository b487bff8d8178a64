"""Working days on the Chinese calendar (holidays and 调休 make-up workdays).

`chinese_calendar` knows only the years it was built for; past them we count Monday–Friday and
warn once per year, and holidays an admin loaded for that year take precedence.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    def __init__(self, extra_holidays: set[date] | None = None, extra_workdays: set[date] | None = None,
                 covered_years: set[int] | None = None):
        self.extra_holidays = set(extra_holidays or ())
        self.extra_workdays = set(extra_workdays or ())
        self.covered_years = set(covered_years or ())  # years an admin loaded: no warning for them
        self._warned: set[int] = set()
        self._known: dict[date, bool] = {}  # the library scans its tables on every call: remember answers

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned and day.year not in self.covered_years:
                self._warned.add(day.year)
                log.warning("节假日数据未覆盖 %s 年，按周一至周五计算工作日；可导入该年节假日文件", day.year)
            return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (negative: before). Zero: start itself."""
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


DEFAULT_CALENDAR = WorkCalendar()
