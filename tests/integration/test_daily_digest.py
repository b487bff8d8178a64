"""每日待办汇总: one mail a day to each person who chose it, listing what 我的待办 lists."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import OutboxMessage
from qcflow import engine
from qcflow.services import tasks
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.helpers import LEADER, REVIEWER, REVIEWER2, SECRETARY, fire, new_document, rendered
from tests.smtp import LINK, parts
from tests.live import mail_to_smtp

pytestmark = pytest.mark.db


def _digests(s) -> list[OutboxMessage]:
    return s.exec(select(OutboxMessage).where(OutboxMessage.template == "daily_digest")).all()


def test_one_digest_a_day_for_those_who_chose_it(demo, clock):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    with unit_of_work() as s:
        reviewer, leader = engine.person_by_email(s, REVIEWER), engine.person_by_email(s, LEADER)
        tasks.set_digest(s, reviewer.id, True)
        tasks.set_digest(s, leader.id, True)  # nothing waits for the leader: no mail
        assert tasks.send_daily_digests(s) == 1
    with unit_of_work() as s:
        [mail] = _digests(s)
        email = rendered(s, mail).text_body
        assert mail.to_addr == REVIEWER and "关于召开2026年下半年" in email and f"/cases/document/{case_id}" in email
        assert "审核通过" in email and "共 1 项" in rendered(s, _digests(s)[0]).subject
        assert tasks.send_daily_digests(s) == 0  # the same day: not again
    clock.advance(days=1)
    with unit_of_work() as s:
        tasks.set_digest(s, engine.person_by_email(s, REVIEWER).id, False)
        assert tasks.send_daily_digests(s) == 0  # switched off
        assert len(_digests(s)) == 1


# --- held task mails and the scheduled flow, through a real SMTP server ---------------------------------

@pytest.fixture
def smtp(demo, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


def _addressees(smtp, subject_contains: str = "") -> list[str]:
    return [m["To"].addresses[0].addr_spec for m in smtp.messages if subject_contains in m["Subject"]]


def _statuses(to: str) -> dict[str, str]:
    with unit_of_work() as s:
        return {m.template: m.status for m in s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == to))}


def test_task_mails_wait_for_the_digest_and_the_flow_sends_one_a_day(harness, smtp, clock):
    from flows.daily_digest import daily_digest

    with unit_of_work() as s:
        tasks.set_digest(s, engine.person_by_email(s, REVIEWER).id, True)
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    assert _statuses(REVIEWER) == {"task_review": "held"}  # kept, not sent on its own
    assert _statuses(REVIEWER2) == {"task_review": "pending"}  # who did not choose the digest: as before
    sent = deliver().sent
    assert REVIEWER2 in _addressees(smtp) and REVIEWER not in _addressees(smtp) and sent == len(smtp.messages)

    first = daily_digest()
    assert first["digests"] == 1 and first["mail"]["sent"] == 1
    [digest] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == REVIEWER]
    text, _ = parts(digest)
    assert "【每日待办汇总】" in digest["Subject"] and "审核通过" in text
    assert LINK.search(text), "the held task link lets the reviewer act without signing in"
    assert _statuses(REVIEWER) == {"task_review": "digested", "daily_digest": "sent"}
    assert daily_digest()["digests"] == 0 and len(smtp.messages) == sent + 1  # once a day


def test_notices_are_never_held_and_switching_off_releases_what_was_held(smtp, clock):
    with unit_of_work() as s:
        for email in (REVIEWER, SECRETARY):
            tasks.set_digest(s, engine.person_by_email(s, email).id, True)
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "reject", REVIEWER, comment="不属于本中心职责")
    assert _statuses(SECRETARY) == {"notice_rejected": "pending"}  # a notice goes out at once
    with unit_of_work() as s:
        tasks.set_digest(s, engine.person_by_email(s, REVIEWER).id, False)
    assert _statuses(REVIEWER) == {"task_review": "pending"}
    deliver()
    assert {REVIEWER, REVIEWER2} <= set(_addressees(smtp, "待审核"))
