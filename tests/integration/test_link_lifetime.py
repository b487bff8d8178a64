"""A task link lives at least until its step's deadline: a half-year report opened on 1 June and due on
30 June stays submittable from its 【待提交】 link all month and late too, with the default 14-day
QCFLOW_LINK_TTL_DAYS; a link with no deadline keeps the plain time to live."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import Deadline, OutboxMessage
from qcflow import engine
from qcflow.core.runtime import get_settings
from qcflow.services.reports import open_reports
from qcflow.store.db import unit_of_work
from qcflow.store.links import check_link
from tests.helpers import LEADER, REVIEWER, SECRETARY, fire, new_document

pytestmark = pytest.mark.db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _token(to: str, template: str) -> str:
    with unit_of_work() as s:
        mail = s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == to, OutboxMessage.template == template)
                      .order_by(OutboxMessage.id.desc())).first()
        return mail.context["link"].rsplit("/t/", 1)[1]


def _status(token: str, day: datetime) -> str:
    with unit_of_work() as s:
        return check_link(s, token, now=day).status


def test_a_report_link_opened_on_1_june_is_good_until_after_30_june(demo, clock):
    assert get_settings().link_ttl_days == 14
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))
    with unit_of_work() as s:
        assert open_reports(s, "half_year", "2026H1")["opened"]
    token = _token(SECRETARY, "report_opened")
    assert _status(token, datetime(2026, 6, 29, 17, 0, tzinfo=SHANGHAI)) == "ok"  # 28 days after it was sent
    assert _status(token, datetime(2026, 7, 3, 9, 0, tzinfo=SHANGHAI)) == "ok"  # late: still submittable
    assert _status(token, datetime(2026, 8, 30, 9, 0, tzinfo=SHANGHAI)) == "expired"

    clock.set(datetime(2026, 6, 29, 17, 0, tzinfo=SHANGHAI))
    with unit_of_work() as s:
        check = check_link(s, token)
        engine.fire(s, "report", check.case.id, "submit", person_id=check.link.person_id,
                    changes={"summary": "上半年工作总结……"})
    assert _status(token, datetime(2026, 6, 29, 18, 0, tzinfo=SHANGHAI)) == "superseded"  # acted on: moved on


def test_a_review_link_outlives_its_deadline_and_one_without_keeps_the_plain_time_to_live(demo, clock):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    token = _token(REVIEWER, "task_review")
    with unit_of_work() as s:
        review = check_link(s, token).link
        [due] = s.exec(select(Deadline.due_at).where(Deadline.case_id == case_id)).all()  # 5 working days
        assert review.expires_at == due + timedelta(days=14)  # its deadline and the time to live after it
    fire(case_id, "approve", REVIEWER)
    token = _token(LEADER, "task_signoff")
    with unit_of_work() as s:
        signoff = check_link(s, token).link  # sign-off (待签发) has no deadline
        assert signoff.expires_at - signoff.created_at == timedelta(days=14)
