"""Meetings and trainings (Y§19) and the monthly dispatch meeting (H4) against a real database and a real
SMTP server on 127.0.0.1: recording with permissions, reminders and invitations sent once each."""
from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlmodel import func, select

from models import CalendarDay, Center, Dispatch, Meeting, OutboxMessage
from qcflow.core.clock import utcnow
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services import meetings
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import rendered, DIRECTOR, OTHER_SECRETARY, SECRETARY
from tests.smtp import SmtpServer, parts
from tests.live import mail_to_smtp

pytestmark = pytest.mark.db

DEPUTY = "deputy@card.qingchuan.example"
NURS_DIRECTOR = "director@nurs.qingchuan.example"
CARD_NAME = "青川市心血管病医疗质量控制中心"
NURS_NAME = "青川市护理质量控制中心"


def meeting(**overrides) -> dict:
    data = {
        "kind": "member_meeting",
        "held_on": date(2026, 12, 5),
        "title": "2026年下半年心血管病质控中心成员工作会议",
        "attendees": [{"name": "陆一鸣", "title": "主任医师", "institution": "青川市第一人民医院"},
                      {"name": "方建国", "title": "主任医师"}],
        "minutes": "总结下半年质控工作，部署2027年任务。",
        "files": ["签到表.pdf", "会议纪要.docx"],
    }
    data.update(overrides)
    return data


def record(email: str = SECRETARY, center: str = "CARD", today: date = date(2026, 12, 10), **overrides):
    with unit_of_work() as s:
        return meetings.record_meeting(s, center, email, meeting(**overrides), today=today)


def remind(day: str) -> list[str]:
    with unit_of_work() as s:
        return meetings.remind_missing(s, date.fromisoformat(day))


def invite(day: str) -> list[str]:
    with unit_of_work() as s:
        return meetings.send_dispatch_invitations(s, date.fromisoformat(day))


def count(model) -> int:
    with unit_of_work() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def smtp(demo, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


def delivered(smtp: SmtpServer, expected: int) -> list:
    report = deliver()
    assert report.errors == [] and report.sent == expected
    return smtp.messages


# --- recording ----------------------------------------------------------------------------------------

def test_the_secretary_records_a_meeting_and_it_is_listed(demo):
    row = record()
    assert row.id is not None and row.held_on == date(2026, 12, 5)
    with unit_of_work() as s:
        listed = meetings.list_meetings(s, "CARD", 2026)
        assert meetings.list_meetings(s, "NURS") == [] and meetings.list_meetings(s, year=2025) == []
        assert [m["id"] for m in meetings.list_meetings(s)] == [row.id]
    [item] = listed
    assert item["kind_label"] == "成员工作会议" and item["held_on"] == "2026-12-05"
    assert item["center"] == "CARD" and item["recorded_by_email"] == SECRETARY
    assert [a["name"] for a in item["attendees"]] == ["陆一鸣", "方建国"]
    assert item["files"] == ["签到表.pdf", "会议纪要.docx"] and "2027" in item["minutes"]


def test_the_director_and_a_deputy_may_record_too(demo):
    record(DIRECTOR, kind="training", title="质控培训")
    record(DEPUTY, kind="dispatch", title="12月调度会",  # H4: its topics and both levels (tests/integration/test_dispatch_held.py)
           topics=[{"topic": "improvement_goals", "note": "进度通报"}, {"topic": "adverse_events", "note": "溯源通报"}],
           attendees=[{"name": "陆一鸣", "level": "same"}, {"name": "省中心代表", "level": "upper"},
                      {"name": "临溪县代表", "level": "lower"}])
    with unit_of_work() as s:
        assert [m["kind"] for m in meetings.list_meetings(s, "CARD")] == ["training", "dispatch"]


def test_another_centers_secretary_is_refused_and_nothing_is_written(demo):
    with pytest.raises(Refused) as refused:
        record(OTHER_SECRETARY, center="CARD")
    assert refused.value.reasons[0].rule == "Y§19"
    assert "唐雨晴" in str(refused.value) and CARD_NAME in str(refused.value)
    assert count(Meeting) == 0


def test_bad_data_is_refused_with_every_reason_and_nothing_is_written(demo):
    with pytest.raises(Refused) as refused:
        record(held_on=date(2026, 12, 11), attendees=[])
    assert len(refused.value.reasons) == 2
    assert count(Meeting) == 0


@pytest.mark.parametrize("email,center,word", [("nobody@example.org", "CARD", "nobody@example.org"),
                                               (SECRETARY, "XXXX", "XXXX")])
def test_an_unknown_person_or_center_is_refused(demo, email, center, word):
    with pytest.raises(Refused, match=word):
        record(email, center=center)
    assert count(Meeting) == 0


def test_listing_an_unknown_center_is_refused(demo):
    with unit_of_work() as s, pytest.raises(Refused, match="XXXX"):
        meetings.list_meetings(s, "XXXX")


# --- reminders (Y§19) ---------------------------------------------------------------------------------

EXPECTED_KEYS = ["meeting:CARD:member_meeting:2026H2", "meeting:CARD:training:2026",
                 "meeting:NURS:member_meeting:2026H2", "meeting:NURS:training:2026"]


def test_on_10_december_both_centers_are_reminded_once_through_smtp(smtp):
    assert remind("2026-12-10") == EXPECTED_KEYS
    # Each center's director and secretary; two obligations each.
    messages = delivered(smtp, 8)
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(
        [DIRECTOR, DIRECTOR, SECRETARY, SECRETARY, NURS_DIRECTOR, NURS_DIRECTOR, OTHER_SECRETARY, OTHER_SECRETARY])
    to_card = smtp.to(SECRETARY, "成员工作会议")
    assert len(to_card) == 1 and CARD_NAME in to_card[0]["Subject"] and "【会议提醒】" in to_card[0]["Subject"]
    text, html = parts(to_card[0])
    assert "2026年下半年" in text and "2026年12月31日" in text and "Y§19" in text and "林小禾" in text
    assert "2026年12月31日" in html
    assert len(smtp.to(OTHER_SECRETARY, "2026年培训")) == 1

    assert remind("2026-12-10") == [] and remind("2026-12-31") == []  # a rerun, and a later run, send nothing
    assert deliver().sent == 0 and len(smtp.messages) == 8
    with unit_of_work() as s:
        assert sorted(s.exec(select(Dispatch.key)).all()) == EXPECTED_KEYS


def test_recorded_meetings_silence_their_reminders(demo):
    record(held_on=date(2026, 7, 20))  # CARD member meeting in 2026H2
    record(kind="training", held_on=date(2026, 3, 2), title="心血管病质控培训")
    assert remind("2026-12-10") == ["meeting:NURS:member_meeting:2026H2", "meeting:NURS:training:2026"]


def test_only_the_period_and_window_of_each_obligation_count(demo):
    assert remind("2026-09-30") == []  # Q3: no training reminder yet; not a half-year's last month
    assert remind("2026-10-15") == ["meeting:CARD:training:2026", "meeting:NURS:training:2026"]
    record(held_on=date(2026, 6, 20), today=date(2026, 10, 15))  # last half-year's meeting: does not count now
    assert remind("2026-12-01") == ["meeting:CARD:member_meeting:2026H2", "meeting:NURS:member_meeting:2026H2"]


def test_a_new_half_year_reminds_again(demo):
    record(held_on=date(2026, 12, 5))
    record(kind="training", held_on=date(2026, 11, 5), title="质控培训")
    assert [k for k in remind("2026-12-20") if "CARD" in k] == []
    assert [k for k in remind("2027-06-10") if "CARD" in k] == ["meeting:CARD:member_meeting:2027H1"]
    assert [k for k in remind("2027-10-08") if "CARD" in k] == ["meeting:CARD:training:2027"]


def test_an_inactive_center_is_not_reminded(demo):
    with unit_of_work() as s:
        nurs = s.exec(select(Center).where(Center.code == "NURS")).one()
        nurs.status = "revoked"
        s.add(nurs)
    assert remind("2026-12-10") == EXPECTED_KEYS[:2]


def test_reminders_carry_no_case_details_and_name_their_recipient(demo):
    remind("2026-06-15")
    with unit_of_work() as s:
        rows = rendered(s, s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())
    assert [r.to_addr for r in rows] == [DIRECTOR, SECRETARY, NURS_DIRECTOR, OTHER_SECRETARY]
    assert all(r.case_id is None and r.attachments == [] for r in rows)
    assert rows[0].text_body.startswith("陆一鸣，您好") and "2026年6月30日" in rows[0].text_body


# --- dispatch meeting invitations (H4) ----------------------------------------------------------------

def calendar_of(message) -> tuple:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part, part.get_content()


def test_the_dispatch_invitation_arrives_with_a_calendar_file_once_a_month(smtp):
    assert invite("2026-09-15") == ["dispatch:CARD:2026-10", "dispatch:NURS:2026-10"]
    messages = delivered(smtp, 2)
    # Each center's director.
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted([DIRECTOR, NURS_DIRECTOR])
    [mail] = smtp.to(DIRECTOR)
    assert "【会议邀请】" in mail["Subject"] and "2026年10月" in mail["Subject"]
    text, _ = parts(mail)
    assert "2026年10月8日（星期四）09:30—10:30" in text  # 10-05 falls in the National Day holiday
    part, ics = calendar_of(mail)
    assert part.get_filename() == "dispatch-meeting.ics" and part.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in ics and "BEGIN:VTIMEZONE" in ics and "TZID:Asia/Shanghai" in ics
    assert "DTSTART;TZID=Asia/Shanghai:20261008T093000" in ics
    assert "mailto:director@card.qingchuan.example" in ics.replace("\r\n ", "")
    assert "UID:dispatch-CARD-2026-10@" in ics
    raw = part.get_payload(decode=True)  # this server speaks 8BITMIME: the file arrives as written, CRLF
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.count(b"\n") == raw.count(b"\r\n")

    assert invite("2026-09-15") == [] and invite("2026-09-28") == []  # same month: nothing new
    assert deliver().sent == 0 and len(smtp.messages) == 2
    assert invite("2026-10-15") == ["dispatch:CARD:2026-11", "dispatch:NURS:2026-11"]


def test_the_calendar_file_keeps_crlf_for_a_server_without_8bitmime(demo):
    from aiosmtplib.email import flatten_message

    from notifications.delivery import build_message
    from qcflow.core.runtime import get_settings

    invite("2026-09-15")
    with unit_of_work() as s:
        row = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == DIRECTOR)).one())
    wire = flatten_message(build_message(row, get_settings(), utcnow()), utf8=False, cte_type="7bit")  # what aiosmtplib sends
    part, _ = calendar_of(message_from_bytes(wire, policy=policy.default))
    raw = part.get_payload(decode=True)
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.count(b"\n") == raw.count(b"\r\n")


def test_holidays_an_admin_loaded_move_the_meeting(demo):
    with unit_of_work() as s:
        s.add(CalendarDay(day=date(2027, 1, 5), workday=False, name="测试假日"))
    assert invite("2026-12-10") == ["dispatch:CARD:2027-01", "dispatch:NURS:2027-01"]
    with unit_of_work() as s:
        row = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == DIRECTOR)).one())
    assert "DTSTART;TZID=Asia/Shanghai:20270106T093000" in row.attachments[0]["content"]
    assert row.attachments[0]["content_type"] == "text/calendar"


# --- the flows, through Prefect's test harness -------------------------------------------------------



def test_the_flows_remind_and_invite_through_smtp_and_a_rerun_sends_nothing(harness, smtp):
    from flows.check_meetings import check_meetings
    from flows.dispatch_meeting import dispatch_meeting_invite

    first = check_meetings(as_of="2026-12-10", force=True)  # a later day, acted on
    assert first["reminded"] == EXPECTED_KEYS and first["mail"]["sent"] == 8
    invited = dispatch_meeting_invite(as_of="2026-12-10", force=True)
    assert invited["invited"] == ["dispatch:CARD:2027-01", "dispatch:NURS:2027-01"] and invited["mail"]["sent"] == 2
    assert len(smtp.messages) == 10
    assert check_meetings(as_of="2026-12-11", force=True)["mail"]["sent"] == 0
    assert dispatch_meeting_invite(as_of="2026-12-11", force=True)["invited"] == []
    assert len(smtp.messages) == 10
