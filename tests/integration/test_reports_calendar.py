"""Periodic reports (Y§17) opened by the calendar, swept on their ladder, with mail reaching a real
SMTP server on 127.0.0.1; the admin's calendar file; "what is due, what is late"; and the
open-reports flow run for real on Prefect's test harness.

The clock is set by hand: reports open 2026-06-01 and are due Tue 2026-06-30. The ladder
(periodic_report) reminds 7 and 1 working days before and on the day, and escalates 3 working
days after: Thu 06-18 (06-19..21 are the Dragon Boat holiday), Mon 06-29, Tue 06-30, Fri 07-03.
The demo directory has two active centers, CARD and NURS, each with a director and a secretary;
three people hold commission_reviewer (two reviewers and the section head).
"""
from __future__ import annotations

import re

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from models import CalendarDay, Case, CaseEvent, Center, Deadline, Dispatch, OutboxMessage
from qcflow.services import sweep as deadlines
from qcflow.core.clock import end_of_local_day, local_zone, to_local
from qcflow.store.db import unit_of_work
from qcflow.core.errors import UserError
from tests.helpers import rendered, REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document
from tests.smtp import SmtpServer
from tests.live import mail_to_smtp

pytestmark = pytest.mark.db

CARD_DIRECTOR = "director@card.qingchuan.example"
CARD_SECRETARY = SECRETARY
NURS_SECRETARY = "secretary@nurs.qingchuan.example"
CENTER_PEOPLE = {"CARD": {CARD_DIRECTOR, CARD_SECRETARY}, "NURS": {"director@nurs.qingchuan.example", NURS_SECRETARY}}
EVERY_CENTER_PERSON = CENTER_PEOPLE["CARD"] | CENTER_PEOPLE["NURS"]
COMMISSION_REVIEWERS = {REVIEWER, REVIEWER2, SECTION_HEAD}
CARD_TITLE = "青川市心血管病医疗质量控制中心2026年上半年工作总结"
NURS_TITLE = "青川市护理质量控制中心2026年上半年工作总结"
WORKDAYS_LOG = "states.workdays"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=local_zone())


def days(first: str, last: str):
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        yield day.isoformat()
        day += timedelta(days=1)


def open_half_year(day: str = "2026-06-01", **kwargs) -> dict:
    from qcflow.services.reports import open_reports

    with unit_of_work() as s:
        return open_reports(s, "half_year", now=at(day), **kwargs)


def sweep(day: str) -> deadlines.SweepReport:
    with unit_of_work() as s:
        return deadlines.sweep(s, now=at(day))


def outbox(subject: str = "") -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()) if subject in m.subject]


def reports() -> dict[str, Case]:
    with unit_of_work() as s:
        rows = s.exec(select(Case, Center).join(Center, Center.id == Case.center_id)
                      .where(Case.kind == "report")).all()
    return {center.code: case for case, center in rows}


def report_deadlines() -> dict[str, list[Deadline]]:
    with unit_of_work() as s:
        rows = s.exec(select(Deadline, Center).join(Case, Case.id == Deadline.case_id)
                      .join(Center, Center.id == Case.center_id).where(Case.kind == "report")
                      .order_by(Deadline.id)).all()
    found: dict[str, list[Deadline]] = {}
    for deadline, center in rows:
        found.setdefault(center.code, []).append(deadline)
    return found


def events(case_id: int, trigger: str) -> list[CaseEvent]:
    with unit_of_work() as s:
        return s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.trigger == trigger)
                      .order_by(CaseEvent.id)).all()


def submit_report(case_id: int, email: str, day: str, **changes):
    from qcflow import engine

    with unit_of_work() as s:
        return engine.fire(s, "report", case_id, "submit", email=email, now=at(day),
                           changes=changes or {"summary": "上半年完成质控督查 3 次，培训 2 场。"})


def addresses(messages) -> list[str]:
    return sorted(m.to_addr if isinstance(m, OutboxMessage) else _addr(m["To"]) for m in messages)


def _addr(header: str) -> str:
    return header.rsplit("<", 1)[-1].rstrip(">").strip().lower()


@pytest.fixture
def smtp(demo, monkeypatch):
    """A real SMTP server on 127.0.0.1; outbox delivery points at it."""
    with mail_to_smtp(monkeypatch) as server:
        yield server


def deliver_to(server: SmtpServer) -> list:
    """Deliver what waits in the outbox; the messages the SMTP server received from this run."""
    from qcflow.services.mail import deliver_outbox as deliver

    before = len(server.messages)
    report = deliver()
    assert report.errors == [] and report.gave_up == 0, report.errors
    assert report.sent == len(server.messages) - before
    return server.messages[before:]


# --- opening the reports ----------------------------------------------------------------------------


def test_open_reports_opens_one_case_per_active_center_with_its_deadline_and_mails_the_center(demo):
    result = open_half_year("2026-06-01")
    assert result == {"period": "2026H1", "label": "2026年上半年工作总结", "due": "2026-06-30",
                      "opened": ["CARD", "NURS"], "already_open": [],
                      "summary": "2026年上半年工作总结：新开 2 个中心，已存在 0 个"}
    cases = reports()
    assert set(cases) == {"CARD", "NURS"}
    assert cases["CARD"].title == CARD_TITLE and cases["NURS"].title == NURS_TITLE
    for code, case in cases.items():
        assert case.state == "open" and case.created_by_id is None
        assert case.key == f"report:{code}:2026H1"
        assert case.data["report_kind"] == "half_year" and case.data["period"] == "2026H1"
        assert case.data["due_date"] == "2026-06-30"
        (opened,) = events(case.id, "open")
        assert opened.actor_id is None and opened.to_state == "open"
        assert to_local(opened.at) == at("2026-06-01")
    for code, rows in report_deadlines().items():
        (row,) = rows
        assert row.step == "submission" and row.closed_at is None
        assert to_local(row.due_at).replace(tzinfo=None) == datetime(2026, 6, 30, 23, 59, 59)
        assert to_local(row.opened_at) == at("2026-06-01")
    mails = outbox("【待提交】")
    assert len(outbox()) == len(mails) == 4
    for code, case in cases.items():
        to_center = [m for m in mails if m.case_id == case.id]
        assert {m.to_addr for m in to_center} == CENTER_PEOPLE[code]
        for m in to_center:
            assert m.subject == f"【待提交】工作报告 #{case.id} {case.title}（截止 2026年06月30日）"
            assert "2026年06月30日" in m.text_body and case.title in m.text_body and m.status == "pending"


def test_opening_again_for_the_same_period_does_nothing(demo):
    open_half_year("2026-06-01")
    before = (len(outbox()), {c: k.id for c, k in reports().items()})
    again = open_half_year("2026-06-02")
    assert again["opened"] == [] and again["already_open"] == ["CARD", "NURS"]
    assert again["summary"] == "2026年上半年工作总结：新开 0 个中心，已存在 2 个"
    explicit = open_half_year("2026-06-03", period="2026H1")
    assert explicit["opened"] == [] and explicit["already_open"] == ["CARD", "NURS"]
    assert (len(outbox()), {c: k.id for c, k in reports().items()}) == before
    assert sum(len(rows) for rows in report_deadlines().values()) == 2


def test_an_inactive_center_gets_no_report(demo):
    with unit_of_work() as s:
        nurs = s.exec(select(Center).where(Center.code == "NURS")).one()
        nurs.status = "inactive"
        s.add(nurs)
    assert open_half_year("2026-06-01")["opened"] == ["CARD"]
    assert set(reports()) == {"CARD"}
    assert {m.to_addr for m in outbox()} == CENTER_PEOPLE["CARD"]


def test_the_year_end_reports_are_a_separate_period_due_31_december(demo):
    from qcflow.services.reports import open_reports

    open_half_year("2026-06-01")
    with unit_of_work() as s:
        result = open_reports(s, "year_end", now=at("2026-12-01"))
    assert result["period"] == "2026Y" and result["due"] == "2026-12-31"
    assert result["opened"] == ["CARD", "NURS"]
    with unit_of_work() as s:
        year_end = s.exec(select(Case).where(Case.key == "report:CARD:2026Y")).one()
        row = s.exec(select(Deadline).where(Deadline.case_id == year_end.id)).one()
    assert year_end.title == "青川市心血管病医疗质量控制中心2026年年度工作总结及下年度工作计划"
    assert row.due_at == end_of_local_day(date(2026, 12, 31))


@pytest.mark.parametrize(
    "kind,period,expected",
    [
        ("half_year", "2026Y", "报告期 2026Y 与报告类型 half_year 不符"),
        ("year_end", "2026H1", "报告期 2026H1 与报告类型 year_end 不符"),
        ("half_year", "2026X", "报告期“2026X”无效"),
        ("quarter", None, "报告类型“quarter”无效"),
    ],
)
def test_a_wrong_kind_or_period_is_refused_in_chinese_and_opens_nothing(demo, kind, period, expected):
    from qcflow.services.reports import open_reports

    with unit_of_work() as s:
        with pytest.raises(UserError) as err:
            open_reports(s, kind, period, now=at("2026-06-01"))
    assert expected in str(err.value)
    assert reports() == {} and outbox() == []


# --- the sweep, day by day, through a real SMTP server -------------------------------------------------


def test_a_daily_sweep_through_june_sends_each_reminder_once_on_its_day(smtp):
    open_half_year("2026-06-01")
    opened = deliver_to(smtp)
    assert addresses(opened) == sorted(EVERY_CENTER_PERSON)
    received: dict[str, list] = {}
    for day in days("2026-06-01", "2026-07-08"):
        report = sweep(day)
        assert report.skipped == []  # a daily sweep never falls behind
        mails = deliver_to(smtp)
        if mails:
            received[day] = mails
    assert sorted(received) == ["2026-06-18", "2026-06-29", "2026-06-30", "2026-07-03"]
    for day in ("2026-06-18", "2026-06-29", "2026-06-30"):
        assert addresses(received[day]) == sorted(EVERY_CENTER_PERSON), day
        assert all(m["Subject"].startswith("【办理提醒】") for m in received[day])
        text = received[day][0].get_body(preferencelist=("plain",)).get_content()
        assert "2026年06月30日" in text and "报告报送" in text
    escalations = received["2026-07-03"]
    assert addresses(escalations) == sorted(list(COMMISSION_REVIEWERS) * 2)
    assert {re.sub(r"工作报告 #\d+ ", "", m["Subject"]) for m in escalations} == {f"【逾期督办】{CARD_TITLE}",
                                                                            f"【逾期督办】{NURS_TITLE}"}
    assert all(re.match(r"【逾期督办】工作报告 #\d+ ", m["Subject"]) for m in escalations)  # the case's number
    with unit_of_work() as s:
        ledger = sorted((d.action, d.key.rsplit(":", 1)[-1]) for d in s.exec(select(Dispatch)).all())
    assert ledger == sorted([("remind", "remind-7"), ("remind", "remind-1"), ("remind", "remind-due"),
                             ("escalate", "escalate+3")] * 2)


def test_reports_become_overdue_the_day_after_the_due_day(demo):
    open_half_year("2026-06-01")
    assert sweep("2026-06-30").overdue == []
    assert {c.state for c in reports().values()} == {"open"}
    late = sweep("2026-07-01")
    cases = reports()
    assert sorted(late.overdue) == sorted(c.id for c in cases.values())
    assert {c.state for c in cases.values()} == {"overdue"}
    assert late.escalated == []  # escalation waits for its 3 working days
    for case in cases.values():
        (event,) = events(case.id, "mark_overdue")
        assert event.actor_id is None and (event.from_state, event.to_state) == ("open", "overdue")
    assert sweep("2026-07-02").overdue == []
    # the deadline stays open while the report is overdue: the center can still submit
    assert all(rows[0].closed_at is None for rows in report_deadlines().values())


def test_a_sweep_after_a_week_of_downtime_sends_what_was_missed_exactly_once(smtp):
    open_half_year("2026-06-01")
    deliver_to(smtp)
    for day in days("2026-06-01", "2026-06-19"):
        sweep(day)
    first = deliver_to(smtp)
    assert addresses(first) == sorted(EVERY_CENTER_PERSON)  # remind-7 on 06-18

    # nothing ran from Saturday 06-20 until Monday 07-06
    back = sweep("2026-07-06")
    cases = reports()
    ids = {c.id for c in cases.values()}
    deadline_ids = {rows[0].id for rows in report_deadlines().values()}
    assert sorted(back.reminded) == sorted(deadline_ids)  # one reminder per report...
    assert sorted(back.escalated) == sorted(deadline_ids)  # ...and one escalation
    assert sorted(back.skipped) == sorted(deadline_ids)  # remind-1, superseded by the on-the-day one
    assert set(back.overdue) == ids and len(back.overdue) == 2
    mails = deliver_to(smtp)
    reminders = [m for m in mails if m["Subject"].startswith("【办理提醒】")]
    escalations = [m for m in mails if m["Subject"].startswith("【逾期督办】")]
    assert addresses(reminders) == sorted(EVERY_CENTER_PERSON)
    assert addresses(escalations) == sorted(list(COMMISSION_REVIEWERS) * 2)
    assert len(mails) == len(reminders) + len(escalations)

    for case in cases.values():
        assert case.state == "overdue"
        assert len(events(case.id, "mark_overdue")) == 1
        (escalated,) = events(case.id, "escalate")
        assert escalated.actor_id is None and "报告报送逾期" in escalated.comment and "Y§17" in escalated.comment
    with unit_of_work() as s:
        ledger = sorted((d.action, d.key.rsplit(":", 1)[-1]) for d in s.exec(select(Dispatch)).all())
    assert ledger == sorted([("remind", "remind-7"), ("skip", "remind-1"), ("remind", "remind-due"),
                             ("escalate", "escalate+3")] * 2)

    for day in ("2026-07-06", "2026-07-07", "2026-08-31"):
        again = sweep(day)
        assert (again.reminded, again.escalated, again.skipped, again.overdue) == ([], [], [], []), day
        assert deliver_to(smtp) == []
    assert all(len(events(c.id, "escalate")) == 1 for c in cases.values())


def test_a_submitted_report_closes_its_deadline_and_later_sweeps_leave_it_alone(smtp):
    open_half_year("2026-06-01")
    deliver_to(smtp)
    card = reports()["CARD"]
    result = submit_report(card.id, CARD_SECRETARY, "2026-06-10")
    assert result.case.state == "submitted"
    review = deliver_to(smtp)
    assert addresses(review) == sorted(COMMISSION_REVIEWERS)  # task_review for the commission
    (card_deadline,) = report_deadlines()["CARD"]
    assert to_local(card_deadline.closed_at) == at("2026-06-10")

    nurs_deadline = report_deadlines()["NURS"][0].id
    for day in ("2026-06-18", "2026-06-29", "2026-06-30", "2026-07-01", "2026-07-03", "2026-07-06"):
        report = sweep(day)
        assert set(report.reminded + report.escalated + report.skipped) <= {nurs_deadline}, day
        assert card.id not in report.overdue
        for m in deliver_to(smtp):
            assert NURS_TITLE in m["Subject"], (day, m["Subject"])
    assert reports()["CARD"].state == "submitted" and reports()["NURS"].state == "overdue"
    assert events(card.id, "escalate") == []
    with unit_of_work() as s:
        assert s.exec(select(Dispatch).where(Dispatch.deadline_id == card_deadline.id)).all() == []


def test_a_late_report_submitted_from_overdue_stops_the_escalation(demo):
    open_half_year("2026-06-01")
    sweep("2026-07-01")
    nurs = reports()["NURS"]
    assert nurs.state == "overdue"
    submit_report(nurs.id, NURS_SECRETARY, "2026-07-02")
    report = sweep("2026-07-03")
    nurs_deadline = report_deadlines()["NURS"][0]
    assert nurs_deadline.closed_at is not None and nurs_deadline.id not in report.escalated
    assert len(report.escalated) == 1  # CARD's only
    assert reports()["NURS"].state == "submitted"


def test_a_report_submitted_on_time_and_returned_after_the_due_day_is_not_marked_overdue(demo):
    open_half_year("2026-06-01")
    card = reports()["CARD"]
    submit_report(card.id, CARD_SECRETARY, "2026-06-29")
    from qcflow import engine

    with unit_of_work() as s:
        engine.fire(s, "report", card.id, "return", email=REVIEWER, comment="请补充培训签到表", now=at("2026-07-02"))
    sweep("2026-07-02")
    assert reports()["CARD"].state == "returned"
    assert events(card.id, "mark_overdue") == []


# --- working days: the admin's calendar file --------------------------------------------------------------

NATIONAL_DAY_2027 = """\
# 2027 年国庆节放假安排（测试用，仿国务院通知格式）
year: 2027
holidays:
{holidays}
workdays:
  - {{date: 2027-09-26, name: 国庆节调休}}
  - {{date: 2027-10-09, name: 国庆节调休}}
"""
HOLIDAY_LINES = "\n".join(f"  - {{date: 2027-10-0{i}, name: 国庆节}}" for i in range(1, 8))


def _write(tmp_path: Path, text: str, name: str = "calendar-2027.yaml", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _review_due(submitted_on: str) -> date:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY, now=at(submitted_on))
    with unit_of_work() as s:
        return to_local(s.exec(select(Deadline).where(Deadline.case_id == case_id)).one().due_at).date()


def test_loading_2027_holidays_moves_a_2027_review_deadline_and_ends_the_fallback_warning(demo, tmp_path, caplog):
    from qcflow.store.calendar import load_file

    # Thu 2027-09-30 + 5 working days. Without 2027 data (Mon–Fri): 10-01, 04, 05, 06, 07.
    with caplog.at_level(logging.WARNING, logger=WORKDAYS_LOG):
        assert _review_due("2027-09-30") == date(2027, 10, 7)
    warned = [r.getMessage() for r in caplog.records if r.name == WORKDAYS_LOG]
    assert warned and "2027" in warned[0] and "周一至周五" in warned[0]

    path = _write(tmp_path, NATIONAL_DAY_2027.format(holidays=HOLIDAY_LINES))
    with unit_of_work() as s:
        assert load_file(s, path) == {"year": 2027, "holidays": 7, "workdays": 2}
    with unit_of_work() as s:
        rows = s.exec(select(CalendarDay).order_by(CalendarDay.day)).all()
    assert [(r.day.isoformat(), r.workday) for r in rows][:2] == [("2027-09-26", True), ("2027-10-01", False)]
    assert {r.name for r in rows} == {"国庆节", "国庆节调休"}

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=WORKDAYS_LOG):
        # with the file: 10-01..07 off, Sat 10-09 worked: 10-08, 09, 11, 12, 13
        assert _review_due("2027-09-30") == date(2027, 10, 13)
    assert [r for r in caplog.records if r.name == WORKDAYS_LOG] == []


def test_a_loaded_make_up_sunday_counts_as_a_working_day(demo, tmp_path):
    from qcflow.store.calendar import calendar_for, load_file

    with unit_of_work() as s:
        load_file(s, _write(tmp_path, NATIONAL_DAY_2027.format(holidays=HOLIDAY_LINES)))
    with unit_of_work() as s:
        cal = calendar_for(s)
    assert cal.add_working_days(date(2027, 9, 24), 1) == date(2027, 9, 26)  # Fri → Sun (调休)
    assert cal.is_workday(date(2027, 10, 1)) is False and cal.is_workday(date(2027, 10, 9)) is True
    assert cal.is_workday(date(2027, 10, 8)) is True  # not in the file: Mon–Fri
    assert cal.covered_years == {2027}


def test_loading_a_year_again_replaces_what_was_loaded_for_it(demo, tmp_path):
    from qcflow.store.calendar import load_file

    with unit_of_work() as s:
        load_file(s, _write(tmp_path, NATIONAL_DAY_2027.format(holidays=HOLIDAY_LINES)))
        load_file(s, _write(tmp_path, "year: 2028\nholidays:\n  - {date: 2028-01-03, name: 元旦}\n", "c28.yaml"))
    smaller = "year: 2027\nholidays:\n  - {date: 2027-01-01, name: 元旦}\n"
    with unit_of_work() as s:
        assert load_file(s, _write(tmp_path, smaller, "c2.yaml")) == {"year": 2027, "holidays": 1, "workdays": 0}
    with unit_of_work() as s:
        rows = s.exec(select(CalendarDay).order_by(CalendarDay.day)).all()
    assert [(r.day.isoformat(), r.workday, r.name) for r in rows] == [
        ("2027-01-01", False, "元旦"), ("2028-01-03", False, "元旦")]  # 2028 left alone


def test_a_holiday_range_written_from_to_is_accepted(demo, tmp_path):
    from qcflow.store.calendar import load_file

    text = "year: 2027\nholidays:\n  - {from: 2027-10-01, to: 2027-10-07, name: 国庆节}\n"
    with unit_of_work() as s:
        assert load_file(s, _write(tmp_path, text)) == {"year": 2027, "holidays": 7, "workdays": 0}


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good_rest = "workdays:\n  - {date: 2027-09-26, name: 调休}\n"
    return {
        "missing": (tmp_path / "nope.yaml", "无法读取日历文件"),
        "gbk": (_write(tmp_path, "year: 2027\nholidays:\n  - {date: 2027-10-01, name: 国庆节}\n", "gbk.yaml", "gbk"),
                "不是 UTF-8 编码"),
        "not_yaml": (_write(tmp_path, "year: [2027\nholidays: {", "broken.yaml"), "不是有效的 YAML"),
        "no_year": (_write(tmp_path, "holidays:\n  - {date: 2027-10-01}\n", "noyear.yaml"), "须有 year（年份）"),
        "year_text": (_write(tmp_path, "year: 二〇二七\n", "yeartext.yaml"), "须有 year（年份）"),
        "a_list": (_write(tmp_path, "- 2027-10-01\n", "list.yaml"), "须有 year（年份）"),
        "bare_date": (_write(tmp_path, "year: 2027\nholidays:\n  - 2027-10-01\n", "bare.yaml"),
                      "holidays 第 1 条应写成 {date: YYYY-MM-DD, name: 名称}"),
        "bad_date": (_write(tmp_path, "year: 2027\nholidays:\n  - {date: '2027-13-01'}\n" + good_rest, "bad.yaml"),
                     "holidays 第 1 条日期无效（格式 YYYY-MM-DD）"),
        "second_bad": (_write(tmp_path, "year: 2027\nworkdays:\n  - {date: 2027-09-26}\n  - {date: 国庆后}\n",
                              "bad2.yaml"), "workdays 第 2 条日期无效"),
        "end_before_start": (_write(tmp_path, "year: 2027\nholidays:\n  - {date: 2027-10-07, from: 2027-10-07, "
                                              "to: 2027-10-01}\n", "backwards.yaml"), "结束日期早于开始日期"),
        "other_year": (_write(tmp_path, "year: 2027\nholidays:\n  - {date: 2028-01-01, name: 元旦}\n"
                                        "  - {date: 2026-12-31}\n", "stray.yaml"),
                       "以下日期不在 2027 年：2026-12-31、2028-01-01"),
        "both_ways": (_write(tmp_path, "year: 2027\nholidays:\n  - {date: 2027-10-01}\n" 
                                       "workdays:\n  - {date: 2027-10-01}\n", "both.yaml"),
                      "2027-10-01 既是放假日又是调休上班日"),
    }


BAD_FILES = ["missing", "gbk", "not_yaml", "no_year", "year_text", "a_list", "bare_date", "bad_date", "second_bad",
             "end_before_start", "other_year", "both_ways"]


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_calendar_file_is_refused_in_chinese_and_changes_nothing(demo, tmp_path, name):
    from qcflow.store.calendar import load_file

    with unit_of_work() as s:
        load_file(s, _write(tmp_path, NATIONAL_DAY_2027.format(holidays=HOLIDAY_LINES), "good.yaml"))
    with unit_of_work() as s:
        before = [(r.day, r.workday, r.name) for r in s.exec(select(CalendarDay).order_by(CalendarDay.day)).all()]
    path, expected = _bad_files(tmp_path)[name]
    with unit_of_work() as s:  # the error is caught inside: whatever load_file wrote would be committed
        with pytest.raises(UserError) as err:
            load_file(s, path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)
    with unit_of_work() as s:
        after = [(r.day, r.workday, r.name) for r in s.exec(select(CalendarDay).order_by(CalendarDay.day)).all()]
    assert after == before and len(after) == 9


def test_the_calendar_load_command_reports_what_it_loaded(demo, tmp_path, capsys):
    from qcflow.cli import main

    path = _write(tmp_path, NATIONAL_DAY_2027.format(holidays=HOLIDAY_LINES))
    assert main(["calendar", "load", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "2027 年日历已导入：放假 7 天，调休上班 2 天"
    assert main(["calendar", "load", str(tmp_path / "nope.yaml")]) != 0
    assert "无法读取日历文件" in capsys.readouterr().err


def test_an_impossible_unquoted_date_is_refused_in_chinese(demo, tmp_path, capsys):
    from qcflow.store.calendar import load_file
    from qcflow.cli import main

    path = _write(tmp_path, "year: 2027\nholidays:\n  - {date: 2027-02-30, name: 错日}\n")
    with unit_of_work() as s:
        with pytest.raises(UserError):
            load_file(s, path)
    assert main(["calendar", "load", str(path)]) != 0
    assert "日期" in capsys.readouterr().err


# --- what is due, what is late -----------------------------------------------------------------------


def test_due_rows_list_open_deadlines_with_their_status_per_center_and_for_everyone(demo):
    from qcflow.services.queries import due_rows

    open_half_year("2026-06-01")
    with unit_of_work() as s:
        doc_id = new_document(s)
    fire(doc_id, "submit", SECRETARY, now=at("2026-06-25"))  # review due in 5 working days: Thu 07-02
    cases = reports()

    with unit_of_work() as s:
        before = due_rows(s, date(2026, 6, 20))
        today = due_rows(s, date(2026, 6, 30))
        card = due_rows(s, date(2026, 7, 1), "CARD")
        nurs = due_rows(s, date(2026, 7, 1), "NURS")
        nobody = due_rows(s, date(2026, 7, 1), "NOPE")
    assert [(r["center_code"], r["kind"], r["due"]) for r in before] == [
        ("CARD", "report", "2026-06-30"), ("NURS", "report", "2026-06-30"), ("CARD", "document", "2026-07-02")]
    assert [r["status"] for r in before] == ["还剩 10 天", "还剩 10 天", "还剩 12 天"]
    assert [r["late"] for r in before] == [False, False, False]
    assert [r["status"] for r in today] == ["今天到期", "今天到期", "还剩 2 天"]
    assert [r["days_left"] for r in today] == [0, 0, 2]
    assert [r["late"] for r in today] == [False, False, False]  # due today is not late yet

    assert [(r["kind"], r["status"], r["late"]) for r in card] == [
        ("report", "逾期 1 天", True), ("document", "还剩 1 天", False)]
    first = card[0]
    assert first["case_id"] == cases["CARD"].id and first["title"] == CARD_TITLE
    assert first["kind_label"] == "工作报告" and first["step"] == "报告报送" and first["state_label"] == "待提交"
    assert first["center"] == "青川市心血管病医疗质量控制中心" and first["escalated"] is False
    assert card[1]["step"] == "审核" and card[1]["kind_label"] == "公文"
    assert [(r["case_id"], r["status"]) for r in nurs] == [(cases["NURS"].id, "逾期 1 天")]
    assert nobody == []

    sweep("2026-07-03")  # overdue and escalated; the document's review is late by a day
    with unit_of_work() as s:
        late = due_rows(s, date(2026, 7, 3))
    assert [(r["center_code"], r["status"], r["state_label"], r["escalated"]) for r in late] == [
        ("CARD", "逾期 3 天", "逾期未交", True), ("NURS", "逾期 3 天", "逾期未交", True),
        ("CARD", "逾期 1 天", "已提交", False)]

    submit_report(cases["NURS"].id, NURS_SECRETARY, "2026-07-03")
    with unit_of_work() as s:
        assert [r["center_code"] for r in due_rows(s, date(2026, 7, 3), "NURS")] == []


def test_the_due_command_shows_late_items_for_one_center(demo, capsys):
    from qcflow.cli import main

    open_half_year("2026-06-01")
    assert main(["due", "--center", "CARD", "--as-of", "2026-07-02"]) == 0
    out = capsys.readouterr().out
    assert "2026-06-30" in out and "逾期 2 天" in out and CARD_TITLE in out and NURS_TITLE not in out
    assert "共 1 项，其中逾期 1 项" in out
    assert main(["due", "--late", "--as-of", "2026-06-29"]) == 0
    assert capsys.readouterr().out.strip() == "没有待办期限"


# --- the flow, for real, on Prefect's test harness ------------------------------------------------------




def test_the_open_reports_flow_opens_the_reports_and_the_mail_reaches_smtp(harness, smtp):
    from flows.open_reports import open_reports_flow
    from qcflow.run.flow_runner import run_flow

    result = open_reports_flow(kind="half_year", as_of="2026-06-01")
    assert result["period"] == "2026H1" and result["due"] == "2026-06-30"
    assert result["opened"] == ["CARD", "NURS"] and result["already_open"] == []
    assert result["mail"]["sent"] == 4 and result["mail"]["errors"] == []
    assert addresses(smtp.messages) == sorted(EVERY_CENTER_PERSON)
    assert {re.sub(r"工作报告 #\d+ ", "", m["Subject"]) for m in smtp.messages} == {
        f"【待提交】{CARD_TITLE}（截止 2026年06月30日）", f"【待提交】{NURS_TITLE}（截止 2026年06月30日）"}

    # an admin re-runs it by hand (`qcflow flows run open-half-year-reports --param as_of=...`): nothing new
    again = run_flow("open-half-year-reports", {"as_of": "2026-06-02"}, local=True)
    assert again["opened"] == [] and again["already_open"] == ["CARD", "NURS"] and again["mail"]["sent"] == 0
    assert len(smtp.messages) == 4

    # and sweeps as of the Monday after a week of downtime: one reminder and one escalation per report
    swept = run_flow("sweep-deadlines", {"as_of": "2026-07-06"}, local=True)
    assert (swept["reminded"], swept["escalated"], swept["overdue"]) == (2, 2, 2)
    assert swept["mail"]["sent"] == 4 + 6
    late = smtp.messages[4:]
    assert addresses([m for m in late if "【办理提醒】" in m["Subject"]]) == sorted(EVERY_CENTER_PERSON)
    assert addresses([m for m in late if "【逾期督办】" in m["Subject"]]) == sorted(list(COMMISSION_REVIEWERS) * 2)
    assert run_flow("sweep-deadlines", {"as_of": "2026-07-07"}, local=True)["mail"]["sent"] == 0
    assert len(smtp.messages) == 14
