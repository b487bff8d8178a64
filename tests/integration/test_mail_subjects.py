"""Mail subjects name their case: three 【待审核】 mails in one mailbox are told apart by the case's
number, and an issued document's mails by its 文号 (the engine's `case_ref`)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import OutboxMessage
from qcflow.store.db import unit_of_work
from tests.helpers import LEADER, REVIEWER, SECRETARY, fire, new_document, rendered

pytestmark = pytest.mark.db


def _subjects(to: str, template: str) -> list[str]:
    with unit_of_work() as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == to, OutboxMessage.template == template)
                      .order_by(OutboxMessage.id)).all()
        return [r.subject for r in rendered(s, list(rows))]


def test_three_review_mails_carry_three_case_numbers(demo):
    with unit_of_work() as s:
        ids = [new_document(s) for _ in range(3)]
    for case_id in ids:
        fire(case_id, "submit", SECRETARY)
    subjects = _subjects(REVIEWER, "task_review")
    assert subjects == [f"【待审核】公文 #{i} 关于召开2026年下半年心血管病质控工作会议的通知" for i in ids]


def test_the_issued_notice_is_named_by_its_document_number(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "approve", REVIEWER)
    assert _subjects(LEADER, "task_signoff") == [f"【待签发】公文 #{case_id} 关于召开2026年下半年心血管病质控工作会议的通知"]
    fire(case_id, "sign", LEADER)
    [subject] = _subjects(SECRETARY, "notice_issued")
    assert subject.startswith("【已印发】青卫质控〔2026〕") and "号 关于召开" in subject and "#" not in subject
