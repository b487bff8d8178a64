"""每日待办汇总: one mail a day to each person who chose it, listing what 我的待办 lists."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import OutboxMessage
from qcflow import engine
from qcflow.services import tasks
from qcflow.store.db import unit_of_work
from tests.helpers import LEADER, REVIEWER, SECRETARY, fire, new_document, rendered

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
