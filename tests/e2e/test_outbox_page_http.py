"""/outbox over real HTTP: only the commission's staff see it; it lists failed and waiting mail with the
server's reason and the mail server's back-off, and never a task link."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from models import OutboxMessage
from tests.e2e.test_case_pages_http import sign_in
from tests.helpers import REVIEWER, REVIEWER2, SECRETARY, fire, new_document

pytestmark = pytest.mark.db


def test_the_outbox_page_is_for_commission_staff_and_shows_no_task_link(site, clock):
    from notifications.queue_state import record_outage
    from qcflow.store.db import get_engine, unit_of_work

    base, mailbox = site
    assert httpx.get(f"{base}/outbox").status_code == 303  # not signed in: to the sign-in page
    secretary = sign_in(base, mailbox, SECRETARY)
    reviewer = sign_in(base, mailbox, REVIEWER)

    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)  # three review mails, not yet delivered
    with unit_of_work() as s:
        s.connection().execute(update(OutboxMessage.__table__).where(OutboxMessage.to_addr == REVIEWER2).values(
            status="failed", attempts=1, last_error="550 5.1.1 Mailbox unavailable", failed_at=clock.now()))
    record_outage(get_engine(), clock.now(), "连接邮件服务器 127.0.0.1:1 失败：ConnectionRefusedError", 60, 600)

    refused = secretary.get("/outbox")
    assert refused.status_code == 403 and "无权查看发件箱" in refused.text

    shown = reviewer.get("/outbox")
    assert shown.status_code == 200
    text = shown.text
    assert "发件箱" in text and "待发送" in text and "发送失败" in text
    assert REVIEWER2 in text and "550 5.1.1 Mailbox unavailable" in text and "【待审核】" in text
    assert "邮件服务器自" in text and "ConnectionRefusedError" in text and "不计尝试次数" in text
    assert "/t/" not in text  # task links are credentials: never shown

    only_failed = reviewer.get("/outbox", params={"failed": "true"}).text
    assert REVIEWER2 in only_failed and only_failed.count("【待审核】") == 1
