"""Review deadlines in working days: opened on submit, closed on decision, reminded and escalated once."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from models import Case, CaseEvent, Deadline, OutboxMessage
from qcflow.services import sweep as deadlines
from qcflow.core.clock import local_zone, to_local
from qcflow.store.db import unit_of_work
from tests.helpers import rendered, REVIEWER, SECRETARY, SECTION_HEAD, fire, new_document

pytestmark = pytest.mark.db


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=local_zone())


def _submitted(on: str) -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY, now=at(on))
    return case_id


def _mails(subject: str) -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage)).all()) if subject in m.subject]


def _sweep(day: str):
    with unit_of_work() as s:
        return deadlines.sweep(s, now=at(day))


def test_review_deadline_counts_working_days_over_national_day(demo):
    case_id = _submitted("2026-09-30")  # 10-01..10-07 are holidays
    with unit_of_work() as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == case_id)).one()
    assert to_local(row.due_at).date().isoformat() == "2026-10-13"  # 5 working days: 8, 9, 10(调休), 12, 13


def test_reminder_then_escalation_each_sent_once(demo):
    case_id = _submitted("2026-11-23")  # Monday; due Monday 11-30
    assert _sweep("2026-11-26").reminded == []  # two working days before: nothing yet
    first = _sweep("2026-11-27")  # one working day before the due day
    assert len(first.reminded) == 1 and first.escalated == []
    reminders = _mails("【办理提醒】")
    assert {m.to_addr for m in reminders} >= {REVIEWER, SECTION_HEAD}
    assert _sweep("2026-11-27").reminded == []  # a rerun sends nothing twice
    assert _sweep("2026-12-01").escalated == []  # one working day late: not yet
    late = _sweep("2026-12-02")
    assert len(late.escalated) == 1
    escalations = _mails("【逾期督办】")
    assert [m.to_addr for m in escalations] == [SECTION_HEAD]
    with unit_of_work() as s:
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.trigger == "escalate")).all()
    assert len(events) == 1 and "Y§18" in events[0].comment
    assert _sweep("2026-12-03").escalated == []


def test_a_sweep_after_downtime_catches_up_exactly_once(demo):
    _submitted("2026-11-02")
    report = _sweep("2026-11-20")  # nothing ran for weeks: both steps are due now
    assert len(report.reminded) == 1 and len(report.escalated) == 1
    assert len(_mails("【办理提醒】")) == 3 and len(_mails("【逾期督办】")) == 1
    again = _sweep("2026-11-21")
    assert again.reminded == [] and again.escalated == []


def test_a_decision_closes_the_deadline_and_silences_the_ladder(demo):
    case_id = _submitted("2026-11-23")
    fire(case_id, "approve", REVIEWER, now=at("2026-11-24"))
    with unit_of_work() as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == case_id)).one()
        assert row.closed_at is not None and s.get(Case, case_id).state == "awaiting_signoff"
    report = _sweep("2026-12-10")
    assert report.reminded == [] and report.escalated == []


def test_a_deadline_in_a_year_without_calendar_data_falls_back_to_weekdays(demo):
    case_id = _submitted("2027-03-01")  # Monday; the calendar library stops at 2026
    with unit_of_work() as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == case_id)).one()
    assert to_local(row.due_at).date().isoformat() == "2027-03-08"
