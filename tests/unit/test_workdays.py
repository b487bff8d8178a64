"""Working days on the Chinese calendar: holidays, 调休 make-up workdays, and years past the library's data.

2026 facts used here (State Council notice for 2026, as shipped in chinese_calendar):
National Day 2026-10-01..07 are holidays; Sunday 2026-09-20 and Saturday 2026-10-10 are
make-up workdays (调休). Labour Day 2026-05-01..05 are holidays; Saturday 2026-05-09 is a
make-up workday.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from states.workdays import WorkCalendar

NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]
MAKE_UP_SUNDAY = date(2026, 9, 20)
MAKE_UP_SATURDAY = date(2026, 10, 10)
LOG_NAME = "states.workdays"


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.mark.parametrize("day", NATIONAL_DAY_2026, ids=str)
def test_every_day_of_the_2026_national_day_week_is_a_holiday(cal, day):
    assert cal.is_workday(day) is False


@pytest.mark.parametrize("day", [MAKE_UP_SUNDAY, MAKE_UP_SATURDAY, date(2026, 5, 9)], ids=str)
def test_a_weekend_make_up_day_is_a_workday(cal, day):
    assert day.weekday() >= 5  # a weekend day by the week...
    assert cal.is_workday(day) is True  # ...worked by 调休


def test_ordinary_2026_weekdays_and_weekends():
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 10, 8)) is True  # Thursday after the holiday
    assert cal.is_workday(date(2026, 10, 11)) is False  # Sunday after the make-up Saturday
    assert cal.is_workday(date(2026, 9, 30)) is True  # Wednesday before
    assert cal.is_workday(date(2026, 9, 19)) is False  # the Saturday before the make-up Sunday


def test_adding_working_days_skips_the_national_day_holiday(cal):
    # Wed 09-30 + 1 → Thu 10-08 (10-01..07 holiday)
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休) → three working days land on the make-up Saturday
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    # the default review period (5 working days) from Tue 09-29: 09-30, 10-08, 10-09, 10-10, 10-12
    assert cal.add_working_days(date(2026, 9, 29), 5) == date(2026, 10, 12)


def test_adding_working_days_from_inside_the_holiday(cal):
    assert cal.add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)


def test_adding_working_days_counts_the_make_up_sunday(cal):
    # Fri 09-18 + 1: Sat 09-19 is off, Sun 09-20 is worked
    assert cal.add_working_days(date(2026, 9, 18), 1) == MAKE_UP_SUNDAY


def test_negative_working_days_go_back_across_the_holiday(cal):
    assert cal.add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_working_days(date(2026, 10, 12), -2) == date(2026, 10, 9)  # 10-10 (调休) is one of them
    assert cal.add_working_days(date(2026, 9, 21), -1) == MAKE_UP_SUNDAY


@pytest.mark.parametrize("start", [date(2026, 10, 8), date(2026, 10, 3), MAKE_UP_SATURDAY, date(2027, 1, 9)], ids=str)
def test_zero_working_days_is_the_start_itself(cal, start):
    assert cal.add_working_days(start, 0) == start


def test_working_days_between_counts_after_start_up_to_and_including_end(cal):
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4  # 08, 09, 10(调休), 12
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 9, 18), date(2026, 9, 21)) == 2  # 20(调休), 21
    assert cal.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0


@pytest.mark.parametrize("days", [1, 3, 5, 10, 22])
def test_working_days_between_undoes_add_working_days(cal, days):
    start = date(2026, 9, 25)  # Mid-Autumn Festival, a holiday
    end = cal.add_working_days(start, days)
    assert cal.working_days_between(start, end) == days
    assert cal.is_workday(end)


def test_a_date_past_the_library_falls_back_to_monday_to_friday_and_warns_once(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        assert cal.is_workday(date(2027, 3, 3)) is True  # Wednesday
        assert cal.is_workday(date(2027, 3, 6)) is False  # Saturday
        assert cal.is_workday(date(2027, 3, 7)) is False  # Sunday
        # 2027-10-01 is a Friday: without holiday data it counts as a workday
        assert cal.is_workday(date(2027, 10, 1)) is True
        assert cal.add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 11)  # Fri → Mon
    warnings = [r for r in caplog.records if r.name == LOG_NAME and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()
    assert "周一至周五" in warnings[0].getMessage()


def test_each_uncovered_year_warns_once_of_its_own(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        cal.is_workday(date(2027, 5, 5))
        cal.is_workday(date(2028, 5, 5))
        cal.is_workday(date(2027, 6, 6))
        cal.is_workday(date(2028, 6, 6))
    messages = [r.getMessage() for r in caplog.records if r.name == LOG_NAME]
    assert len(messages) == 2
    assert "2027" in messages[0] and "2028" in messages[1]


def test_counting_across_new_year_into_an_uncovered_year_does_not_crash(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        # Thu 2026-12-31 + 1 → Fri 2027-01-01 by Mon–Fri (no holiday data for 2027)
        assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
        assert cal.working_days_between(date(2026, 12, 30), date(2027, 1, 4)) == 3  # 12-31, 01-01, 01-04
    assert sum(r.name == LOG_NAME for r in caplog.records) == 1


def test_a_covered_year_does_not_warn(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        cal.add_working_days(date(2026, 1, 5), 200)
    assert [r for r in caplog.records if r.name == LOG_NAME] == []


def test_extra_holidays_loaded_for_an_uncovered_year_take_precedence(caplog):
    national_day_2027 = {date(2027, 10, 1) + timedelta(days=i) for i in range(7)}
    cal = WorkCalendar(extra_holidays=national_day_2027, extra_workdays={date(2027, 9, 26)})
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        assert cal.is_workday(date(2027, 10, 1)) is False  # a Friday, but a loaded holiday
        assert cal.is_workday(date(2027, 9, 26)) is True  # a Sunday, but a loaded make-up day
        # Thu 09-30 + 1 → skips 10-01..07 → Fri 10-08
        assert cal.add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)


def test_extra_holidays_and_workdays_override_the_library():
    cal = WorkCalendar(extra_holidays={date(2026, 10, 8)}, extra_workdays={date(2026, 10, 3)})
    assert cal.is_workday(date(2026, 10, 8)) is False
    assert cal.is_workday(date(2026, 10, 3)) is True
    assert cal.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)  # 10-03, 10-09


def test_a_day_listed_both_ways_counts_as_a_workday():
    day = date(2026, 10, 8)
    assert WorkCalendar(extra_holidays={day}, extra_workdays={day}).is_workday(day) is True


def test_overrides_belong_to_their_own_calendar():
    WorkCalendar(extra_holidays={date(2026, 10, 8)})
    assert WorkCalendar().is_workday(date(2026, 10, 8)) is True
