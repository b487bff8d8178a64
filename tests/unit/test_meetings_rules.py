"""Meeting rules (Y§19, H4) with a clock the test sets: what may be recorded, by whom, what is missing when,
and when next month's dispatch meeting falls."""
from __future__ import annotations

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from states.meetings import (
    DISPATCH_MEETING, MEMBER_MEETING_REMIND_LAST_MONTHS, TRAINING_REMIND_LAST_MONTHS, clean_meeting, half_year_of,
    may_record, missing_obligations, next_dispatch_meeting, validate_meeting,
)
from states.rules import Actor
from states.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 10)
CARD, NURS = 1, 2


def meeting(**overrides) -> dict:
    data = {
        "kind": "member_meeting",
        "held_on": "2026-12-01",
        "title": "2026年下半年心血管病质控中心成员工作会议",
        "attendees": [{"name": "陆一鸣", "title": "主任医师", "institution": "青川市第一人民医院"}, {"name": "林小禾"}],
        "minutes": "总结全年质控工作，部署明年任务。",
        "files": ["签到表.pdf"],
    }
    data.update(overrides)
    return data


def messages(reasons) -> str:
    return "；".join(str(r) for r in reasons)


# --- validate_meeting -------------------------------------------------------------------------------

def test_a_complete_meeting_is_valid_and_cleaned():
    clean, reasons = clean_meeting(meeting(held_on=date(2026, 12, 1), title="  会议  "), TODAY)
    assert reasons == []
    assert clean["held_on"] == date(2026, 12, 1) and clean["title"] == "会议"
    assert clean["attendees"][1] == {"name": "林小禾"}


def test_minutes_and_files_are_optional():
    data = meeting()
    del data["minutes"], data["files"]
    clean, reasons = clean_meeting(data, TODAY)
    assert reasons == [] and clean["minutes"] == "" and clean["files"] == []


@pytest.mark.parametrize("kind,rule", [("member_meeting", "Y§19"), ("training", "Y§19"), ("dispatch", "H4")])
def test_each_kind_cites_its_article(kind, rule):
    reasons = validate_meeting(meeting(kind=kind, title=""), TODAY)
    assert reasons and {r.rule for r in reasons} == {rule}  # a dispatch meeting also lacks its H4 topics


def test_an_unknown_kind_is_refused_naming_the_kinds():
    reasons = validate_meeting(meeting(kind="party"), TODAY)
    assert len(reasons) == 1 and "party" in reasons[0].message
    assert "成员工作会议" in reasons[0].message and "调度会议" in reasons[0].message


def test_a_meeting_in_the_future_is_refused_and_today_is_fine():
    assert validate_meeting(meeting(held_on="2026-12-10"), TODAY) == []
    reasons = validate_meeting(meeting(held_on="2026-12-11"), TODAY)
    assert len(reasons) == 1 and "2026-12-11" in reasons[0].message and reasons[0].rule == "Y§19"


@pytest.mark.parametrize("held_on", [None, "", "2026-13-01", "12/01/2026", 20261201])
def test_a_missing_or_invalid_date_is_refused(held_on):
    reasons = validate_meeting(meeting(held_on=held_on), TODAY)
    assert len(reasons) == 1 and "held_on" in reasons[0].message


@pytest.mark.parametrize("attendees", [None, [], "陆一鸣", [{"title": "主任医师"}], [{"name": "  "}], ["陆一鸣"]])
def test_attendees_must_be_a_non_empty_list_of_named_people(attendees):
    reasons = validate_meeting(meeting(attendees=attendees), TODAY)
    assert len(reasons) == 1 and ("参会人员" in reasons[0].message)


def test_an_attendee_with_a_misspelt_field_is_refused():
    reasons = validate_meeting(meeting(attendees=[{"name": "陆一鸣", "titel": "主任医师"}]), TODAY)
    assert len(reasons) == 1 and "titel" in reasons[0].message


@pytest.mark.parametrize("field,value", [("title", ""), ("title", None), ("title", "长" * 101), ("minutes", 3),
                                         ("files", "a.pdf"), ("files", ["a.pdf", ""])])
def test_bad_title_minutes_or_files_are_refused(field, value):
    assert len(validate_meeting(meeting(**{field: value}), TODAY)) == 1


def test_every_problem_is_reported_at_once():
    reasons = validate_meeting({"kind": "training", "held_on": "2027-01-01", "title": "", "attendees": [],
                                "agenda": "x"}, TODAY)
    assert len(reasons) == 4
    assert "agenda" in messages(reasons)


def test_data_that_is_not_a_mapping_is_refused():
    assert len(validate_meeting(["kind", "training"], TODAY)) == 1


# --- may_record -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["center_director", "center_deputy", "center_secretary"])
def test_the_centers_director_deputy_or_secretary_may_record(role):
    assert may_record(Actor(1, "林小禾", frozenset({(role, CARD)})), CARD) == []


@pytest.mark.parametrize("roles", [
    {("center_secretary", NURS)},  # another center's secretary
    {("center_member", CARD)},  # a member of the center, not its office
    {("commission_reviewer", None)},
    set(),
])
def test_anyone_else_may_not_record(roles):
    reasons = may_record(Actor(9, "唐雨晴", frozenset(roles)), CARD, "青川市心血管病医疗质量控制中心")
    assert len(reasons) == 1 and reasons[0].rule == "Y§19"
    assert "唐雨晴" in reasons[0].message and "青川市心血管病医疗质量控制中心" in reasons[0].message


# --- periods and missing obligations ----------------------------------------------------------------

@pytest.mark.parametrize("day,code,start,end", [
    (date(2026, 1, 1), "2026H1", date(2026, 1, 1), date(2026, 6, 30)),
    (date(2026, 6, 30), "2026H1", date(2026, 1, 1), date(2026, 6, 30)),
    (date(2026, 7, 1), "2026H2", date(2026, 7, 1), date(2026, 12, 31)),
    (date(2026, 12, 31), "2026H2", date(2026, 7, 1), date(2026, 12, 31)),
])
def test_half_year_of(day, code, start, end):
    period = half_year_of(day)
    assert (period.code, period.start, period.end) == (code, start, end)


def keys(obligations) -> list[str]:
    return [o.key for o in obligations]


def test_the_windows_are_policy_data_with_their_article():
    assert (MEMBER_MEETING_REMIND_LAST_MONTHS.value, MEMBER_MEETING_REMIND_LAST_MONTHS.rule) == (1, "Y§19")
    assert (TRAINING_REMIND_LAST_MONTHS.value, TRAINING_REMIND_LAST_MONTHS.rule) == (3, "Y§19")


def test_on_30_june_a_center_with_no_member_meeting_is_reminded_but_not_for_training():
    found = missing_obligations([("training", date(2026, 3, 1))], date(2026, 6, 30))
    assert keys(found) == ["member_meeting:2026H1"]
    assert found[0].period_end == date(2026, 6, 30) and found[0].label == "2026年上半年成员工作会议"
    assert found[0].rule == "Y§19"


def test_on_1_june_the_half_years_last_month_has_begun_and_on_31_may_not_yet():
    assert keys(missing_obligations([], date(2026, 6, 1))) == ["member_meeting:2026H1"]
    assert missing_obligations([], date(2026, 5, 31)) == []


def test_on_31_december_both_are_missing_when_nothing_was_held():
    found = missing_obligations([], date(2026, 12, 31))
    assert keys(found) == ["member_meeting:2026H2", "training:2026"]
    assert all(o.period_end == date(2026, 12, 31) for o in found)


def test_a_meeting_in_the_other_half_year_does_not_count():
    held = [("member_meeting", date(2026, 6, 15)), ("member_meeting", date(2025, 12, 20))]
    assert keys(missing_obligations(held, date(2026, 12, 31))) == ["member_meeting:2026H2", "training:2026"]


def test_meetings_held_in_the_period_meet_the_obligations():
    held = [("member_meeting", date(2026, 7, 1)), ("training", date(2026, 1, 2))]
    assert missing_obligations(held, date(2026, 12, 31)) == []


def test_a_dispatch_meeting_is_not_a_member_meeting():
    assert keys(missing_obligations([("dispatch", date(2026, 12, 7))], date(2026, 12, 10)))[0] == "member_meeting:2026H2"


def test_training_is_reminded_in_the_fourth_quarter_only():
    assert missing_obligations([], date(2026, 9, 30)) == []  # Q3, and not the half-year's last month
    assert keys(missing_obligations([], date(2026, 10, 1))) == ["training:2026"]
    assert keys(missing_obligations([("member_meeting", date(2026, 8, 1))], date(2026, 11, 15))) == ["training:2026"]


def test_a_training_held_last_year_does_not_count_this_year():
    assert keys(missing_obligations([("training", date(2025, 12, 31))], date(2026, 10, 8))) == ["training:2026"]


# --- next_dispatch_meeting (H4) ---------------------------------------------------------------------

def at(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=SHANGHAI)


def test_the_day_and_time_are_policy_data():
    assert (DISPATCH_MEETING.day, DISPATCH_MEETING.at, DISPATCH_MEETING.rule) == (5, time(9, 30), "H4")
    assert DISPATCH_MEETING.timezone == "Asia/Shanghai"


def test_the_meeting_is_on_the_5th_of_next_month_at_0930_shanghai():
    start = next_dispatch_meeting(date(2026, 11, 5), WorkCalendar())  # 2026-12-05 is a Saturday
    assert start == at(date(2026, 12, 7))
    assert start.utcoffset().total_seconds() == 8 * 3600
    assert next_dispatch_meeting(date(2026, 7, 20), WorkCalendar()) == at(date(2026, 8, 5))  # a Wednesday


def test_a_run_on_the_5th_itself_invites_to_next_months_meeting():
    assert next_dispatch_meeting(date(2026, 8, 5), WorkCalendar()).date() == date(2026, 9, 7)  # 9-05 is a Saturday


def test_national_day_week_moves_the_meeting_to_the_first_working_day_after_it():
    # 2026-10-01..10-07 are holidays; the 5th falls inside them.
    assert next_dispatch_meeting(date(2026, 9, 15), WorkCalendar()) == at(date(2026, 10, 8))


def test_an_adjusted_workday_counts_and_an_admin_holiday_moves_it():
    calendar = WorkCalendar(extra_workdays={date(2026, 12, 5)})  # a Saturday made a workday (调休)
    assert next_dispatch_meeting(date(2026, 11, 20), calendar) == at(date(2026, 12, 5))
    calendar = WorkCalendar(extra_holidays={date(2026, 8, 5), date(2026, 8, 6)})
    assert next_dispatch_meeting(date(2026, 7, 1), calendar) == at(date(2026, 8, 7))


def test_december_invites_to_january_of_next_year():
    assert next_dispatch_meeting(date(2026, 12, 31), WorkCalendar()) == at(date(2027, 1, 5))


def test_a_year_without_calendar_data_falls_back_to_weekdays_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="states.workdays"):
        start = next_dispatch_meeting(date(2027, 5, 20), WorkCalendar())  # 2027-06-05 is a Saturday
    assert start == at(date(2027, 6, 7))
    assert any("2027" in r.getMessage() for r in caplog.records)


def test_a_loaded_2027_holiday_week_is_respected():
    labour_day = {date(2027, 5, d) for d in range(1, 6)}
    assert next_dispatch_meeting(date(2027, 4, 20), WorkCalendar()) == at(date(2027, 5, 5))
    calendar = WorkCalendar(extra_holidays=labour_day, covered_years={2027})
    assert next_dispatch_meeting(date(2027, 4, 20), calendar) == at(date(2027, 5, 6))
