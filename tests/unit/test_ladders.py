"""Reminder ladders with a clock we set, and the reporting periods of Y§17. Pure: no database.

Calendar facts used here (chinese_calendar's data for 2026, checked by hand against the State
Council notice): Dragon Boat Festival 2026-06-19..21 (Fri–Sun) are holidays; Mid-Autumn
2026-09-25 (Fri) is a holiday; National Day 2026-10-01..07 are holidays; Sunday 2026-09-20 and
Saturday 2026-10-10 are make-up workdays (调休). The library has no data for 2027: Monday–Friday.

The periodic_report ladder (states/ladders.py): remind 7 and 1 working days before, on the day,
escalate 3 working days after.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from states.ladders import LADDERS, Ladder, Rung, Step, steps_due
from states.periods import REPORT_KINDS, Period, parse_period, period_for
from states.workdays import WorkCalendar

REPORT = LADDERS["periodic_report"]
ALL_RUNGS = ("remind-7", "remind-1", "remind-due", "escalate+3")
LOG_NAME = "states.workdays"


def d(text: str) -> date:
    return date.fromisoformat(text)


def steps(due: str, today: str, done=(), cal: WorkCalendar | None = None) -> list[tuple[str, bool]]:
    found = steps_due(REPORT, d(due), d(today), cal or WorkCalendar(), set(done))
    return [(s.rung.name, s.send) for s in found]


def first_day_reached(due: str, rung: str, cal: WorkCalendar | None = None, start: str | None = None) -> date:
    """Walk a clock day by day (as a daily sweep would) until `rung` is reached."""
    cal = cal or WorkCalendar()
    day = d(start) if start else d(due) - timedelta(days=40)
    for _ in range(120):
        if rung in {s.rung.name for s in steps_due(REPORT, d(due), day, cal, set())}:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{rung} never reached")


# --- the ladders as configured ------------------------------------------------------------------


def test_the_periodic_report_ladder_is_remind_7_1_on_the_day_and_escalate_3_after():
    assert REPORT.rule == "Y§17" and REPORT.label == "工作总结报送"
    assert REPORT.rungs == (
        Rung("remind-7", -7, "remind"),
        Rung("remind-1", -1, "remind"),
        Rung("remind-due", 0, "remind"),
        Rung("escalate+3", 3, "escalate"),
    )
    assert REPORT.lookahead_working_days == 7


def test_the_document_review_ladder_is_remind_1_before_and_escalate_2_after():
    ladder = LADDERS["document_review"]
    assert ladder.rule == "Y§18"
    assert ladder.rungs == (Rung("remind-1", -1, "remind"), Rung("escalate+2", 2, "escalate"))
    assert ladder.lookahead_working_days == 1


def test_a_ladder_with_only_escalations_looks_ahead_zero_days():
    assert Ladder("x", "x", "", (Rung("escalate+1", 1, "escalate"),)).lookahead_working_days == 0


# --- 30 June 2026 (a Tuesday), step by step ---------------------------------------------------------


def test_the_half_year_due_day_is_a_tuesday():
    assert d("2026-06-30").weekday() == 1


@pytest.mark.parametrize(
    "today,expected",
    [
        ("2026-06-01", []),
        ("2026-06-17", []),  # 8 working days before: nothing yet
        # 7 working days before Tue 06-30: 29, 26, 25, 24, 23, 22, and — 19..21 being the
        # Dragon Boat holiday — Thu 06-18, not Mon 06-19 as Monday–Friday would say
        ("2026-06-18", [("remind-7", True)]),
        ("2026-06-19", [("remind-7", True)]),  # a holiday: the same rung, if no one sent it yet
        ("2026-06-26", [("remind-7", True)]),
        ("2026-06-29", [("remind-7", False), ("remind-1", True)]),
        ("2026-06-30", [("remind-7", False), ("remind-1", False), ("remind-due", True)]),
        ("2026-07-02", [("remind-7", False), ("remind-1", False), ("remind-due", True)]),
        # 3 working days after: Wed 07-01, Thu 07-02, Fri 07-03
        ("2026-07-03", [("remind-7", False), ("remind-1", False), ("remind-due", True), ("escalate+3", True)]),
    ],
)
def test_what_is_due_for_30_june_on_a_given_day_with_nothing_sent_yet(today, expected):
    assert steps("2026-06-30", today) == expected


def test_a_daily_sweep_reaches_each_rung_of_30_june_on_the_right_day():
    assert first_day_reached("2026-06-30", "remind-7") == d("2026-06-18")
    assert first_day_reached("2026-06-30", "remind-1") == d("2026-06-29")
    assert first_day_reached("2026-06-30", "remind-due") == d("2026-06-30")
    assert first_day_reached("2026-06-30", "escalate+3") == d("2026-07-03")


def test_a_daily_sweep_with_a_ledger_sends_each_rung_once_on_its_day():
    """Simulate the sweep: what it sends each day goes into `done`; everything goes out exactly once."""
    cal, done, sent = WorkCalendar(), set(), []
    day = d("2026-06-01")
    while day <= d("2026-07-31"):
        for step in steps_due(REPORT, d("2026-06-30"), day, cal, done):
            assert step.send, (day, step)  # nothing ever piles up when the sweep runs daily
            sent.append((step.rung.name, day))
            done.add(step.rung.name)
        day += timedelta(days=1)
    assert sent == [("remind-7", d("2026-06-18")), ("remind-1", d("2026-06-29")),
                    ("remind-due", d("2026-06-30")), ("escalate+3", d("2026-07-03"))]


@pytest.mark.parametrize("today", ["2026-06-18", "2026-06-29", "2026-06-30", "2026-07-03", "2026-12-31"])
def test_a_rerun_with_the_rungs_already_in_the_ledger_yields_nothing(today):
    first = steps_due(REPORT, d("2026-06-30"), d(today), WorkCalendar(), set())
    assert first
    done = {s.rung.name for s in first}  # sent and skipped both land in the ledger
    assert steps("2026-06-30", today, done) == []


def test_a_rung_in_the_ledger_is_not_offered_again_but_later_ones_are():
    assert steps("2026-06-30", "2026-06-29", {"remind-7"}) == [("remind-1", True)]
    assert steps("2026-06-30", "2026-07-03", {"remind-7", "remind-1", "remind-due"}) == [("escalate+3", True)]


# --- downtime ---------------------------------------------------------------------------------------


def test_after_downtime_only_the_latest_reminder_is_sent_the_earlier_are_skipped_and_the_escalation_is_sent():
    result = steps_due(REPORT, d("2026-06-30"), d("2026-09-01"), WorkCalendar(), set())
    assert [(s.rung.name, s.send) for s in result] == [
        ("remind-7", False), ("remind-1", False), ("remind-due", True), ("escalate+3", True)]
    assert [s.rung.action for s in result if s.send] == ["remind", "escalate"]


def test_downtime_after_the_first_reminder_sends_one_more_reminder_and_the_escalation():
    # the sweep last ran 06-19 (remind-7 sent), then nothing until 07-06
    assert steps("2026-06-30", "2026-07-06", {"remind-7"}) == [
        ("remind-1", False), ("remind-due", True), ("escalate+3", True)]


def test_downtime_ending_before_the_escalation_sends_only_the_latest_reminder():
    assert steps("2026-06-30", "2026-07-02") == [("remind-7", False), ("remind-1", False), ("remind-due", True)]


def test_two_escalations_reached_together_are_both_sent():
    ladder = Ladder("t", "测试", "", (Rung("remind-1", -1, "remind"), Rung("escalate+1", 1, "escalate"),
                                        Rung("escalate+5", 5, "escalate")))
    result = steps_due(ladder, d("2026-06-30"), d("2026-08-03"), WorkCalendar(), set())
    assert [(s.rung.name, s.send) for s in result] == [("remind-1", True), ("escalate+1", True), ("escalate+5", True)]
    assert all(isinstance(s, Step) for s in result)


# --- 31 December 2026 (a Thursday; the escalation falls in 2027, which the library lacks) ----------


def test_the_year_end_due_day_and_its_reminders():
    assert d("2026-12-31").weekday() == 3
    assert first_day_reached("2026-12-31", "remind-7") == d("2026-12-22")  # 30, 29, 28, 25, 24, 23, 22
    assert first_day_reached("2026-12-31", "remind-1") == d("2026-12-30")
    assert first_day_reached("2026-12-31", "remind-due") == d("2026-12-31")
    assert steps("2026-12-31", "2026-12-21") == []


def test_the_year_end_escalation_counts_2027_monday_to_friday_and_warns(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        # Fri 2027-01-01 counts as a workday without 2027 data: 01-01, 01-04, 01-05
        assert steps("2026-12-31", "2027-01-04", {"remind-7", "remind-1", "remind-due"}, cal) == []
        assert steps("2026-12-31", "2027-01-05", {"remind-7", "remind-1", "remind-due"}, cal) == [("escalate+3", True)]
    warnings = [r.getMessage() for r in caplog.records if r.name == LOG_NAME and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2027" in warnings[0]


def test_loading_new_year_2027_as_a_holiday_moves_the_year_end_escalation():
    new_year = {d("2027-01-01"), d("2027-01-02"), d("2027-01-03")}
    cal = WorkCalendar(extra_holidays=new_year, covered_years={2027})
    assert first_day_reached("2026-12-31", "escalate+3", cal) == d("2027-01-06")  # 01-04, 01-05, 01-06
    assert first_day_reached("2026-12-31", "escalate+3") == d("2027-01-05")  # without the file


# --- a holiday week (National Day 2026-10-01..07, 调休 on Sun 09-20 and Sat 10-10) ------------------


def test_a_due_day_inside_the_holiday_week():
    # due Mon 10-05, a holiday. 1 before: Wed 09-30. 7 before: 30, 29, 28, (27 Sun, 26 Sat, 25 Mid-Autumn)
    # 24, 23, 22, 21. 3 after: Thu 10-08, Fri 10-09, Sat 10-10 (调休)
    assert first_day_reached("2026-10-05", "remind-7") == d("2026-09-21")
    assert first_day_reached("2026-10-05", "remind-1") == d("2026-09-30")
    assert first_day_reached("2026-10-05", "remind-due") == d("2026-10-05")
    assert first_day_reached("2026-10-05", "escalate+3") == d("2026-10-10")
    assert steps("2026-10-05", "2026-10-09", {"remind-7", "remind-1", "remind-due"}) == []


def test_a_due_day_right_after_the_holiday_week():
    # due Mon 10-12. 1 before: Sat 10-10 (调休), not Fri 10-09. 7 before: 10, 09, 08, 09-30, 29, 28, 24.
    # 3 after: 13, 14, 15
    assert first_day_reached("2026-10-12", "remind-1") == d("2026-10-10")
    assert first_day_reached("2026-10-12", "remind-7") == d("2026-09-24")
    assert first_day_reached("2026-10-12", "escalate+3") == d("2026-10-15")
    assert steps("2026-10-12", "2026-10-09", {"remind-7"}) == []


def test_a_due_day_just_before_the_holiday_week_counts_the_make_up_days():
    # due Wed 09-30. 7 before: 29, 28, 24, 23, 22, 21, Sun 09-20 (调休). 3 after: 10-08, 10-09, Sat 10-10 (调休)
    assert first_day_reached("2026-09-30", "remind-7") == d("2026-09-20")
    assert first_day_reached("2026-09-30", "escalate+3") == d("2026-10-10")
    assert steps("2026-09-30", "2026-10-09", {"remind-7", "remind-1", "remind-due"}) == []


def test_a_sweep_on_the_first_day_back_after_the_holiday_sends_the_on_the_day_reminder_only():
    # due 10-05 (inside the holiday), nobody swept during the holiday; Thu 10-08 is the first workday
    assert steps("2026-10-05", "2026-10-08", {"remind-7", "remind-1"}) == [("remind-due", True)]


# --- a year without calendar data -------------------------------------------------------------------


def test_a_due_day_in_2027_falls_back_to_monday_to_friday(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        # due Wed 2027-06-30: 7 before is Mon 06-21 (29, 28, 25, 24, 23, 22, 21); 3 after Mon 07-05
        assert first_day_reached("2027-06-30", "remind-7", cal) == d("2027-06-21")
        assert first_day_reached("2027-06-30", "remind-1", cal) == d("2027-06-29")
        assert first_day_reached("2027-06-30", "escalate+3", cal) == d("2027-07-05")
    warnings = [r.getMessage() for r in caplog.records if r.name == LOG_NAME]
    assert len(warnings) == 1 and "2027" in warnings[0] and "周一至周五" in warnings[0]


def test_holidays_loaded_for_2027_shift_the_ladder_and_silence_the_warning(caplog):
    # an admin loads a (fictional) two-day closure Thu 06-24..Fri 06-25 and a make-up Saturday 07-03
    cal = WorkCalendar(extra_holidays={d("2027-06-24"), d("2027-06-25")}, extra_workdays={d("2027-07-03")},
                       covered_years={2027})
    with caplog.at_level(logging.WARNING, logger=LOG_NAME):
        # 7 before Wed 06-30: 29, 28, 23, 22, 21, 18, 17 → Thu 06-17 (instead of Mon 06-21)
        assert first_day_reached("2027-06-30", "remind-7", cal) == d("2027-06-17")
        assert steps("2027-06-30", "2027-06-21", (), cal) == [("remind-7", True)]
        # 3 after: Thu 07-01, Fri 07-02, Sat 07-03 (make-up) → Sat 07-03 (instead of Mon 07-05)
        assert first_day_reached("2027-06-30", "escalate+3", cal) == d("2027-07-03")
    assert [r for r in caplog.records if r.name == LOG_NAME] == []
    assert steps("2027-06-30", "2027-06-18") == []  # the plain calendar still says not yet


# --- reporting periods (Y§17) ---------------------------------------------------------------------------


def test_parse_a_half_year_period():
    period = parse_period("2026H1")
    assert period == Period("half_year", 2026)
    assert period.code == "2026H1"
    assert period.due == d("2026-06-30")
    assert period.label == "2026年上半年工作总结"


def test_parse_a_year_end_period():
    period = parse_period("2026Y")
    assert period == Period("year_end", 2026)
    assert period.code == "2026Y"
    assert period.due == d("2026-12-31")
    assert period.label == "2026年年度工作总结及下年度工作计划"


@pytest.mark.parametrize("code,expected", [("2026h1", Period("half_year", 2026)), (" 2027y ", Period("year_end", 2027)),
                                           ("2030H1", Period("half_year", 2030))])
def test_period_codes_are_read_leniently(code, expected):
    assert parse_period(code) == expected


@pytest.mark.parametrize("code", ["2026H2", "2026", "26H1", "H1", "", "2026Q1", "2026-H1", "2026 H1", "20261H1",
                                  "二〇二六H1", "2026YY"])
def test_a_bad_period_code_is_refused_in_chinese_with_an_example(code):
    with pytest.raises(ValueError) as err:
        parse_period(code)
    message = str(err.value)
    assert f"报告期“{code}”无效" in message
    assert "2026H1（上半年）" in message and "2026Y（年度）" in message


def test_period_for_a_day_takes_the_days_year():
    assert period_for("half_year", d("2026-03-05")) == Period("half_year", 2026)
    assert period_for("year_end", d("2027-12-01")).due == d("2027-12-31")


@pytest.mark.parametrize("kind", ["quarter", "", "HALF_YEAR"])
def test_period_for_an_unknown_kind_is_refused_in_chinese(kind):
    with pytest.raises(ValueError) as err:
        period_for(kind, d("2026-06-01"))
    assert f"报告类型“{kind}”无效" in str(err.value)
    assert "half_year" in str(err.value) and "year_end" in str(err.value)


def test_both_report_kinds_cite_y17():
    assert {k: v[3] for k, v in REPORT_KINDS.items()} == {"half_year": "Y§17", "year_end": "Y§17"}
