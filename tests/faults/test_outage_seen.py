"""An SMTP outage of hours, longer than the whole retry ladder, as the commission sees it: /outbox and
`qcflow outbox list` say the mail server has failed since when and why, and that nothing is lost;
once the server is back, every mail goes exactly once and the warning is gone.
(tests/integration/test_delivery_outage.py proves the queue itself; this is the part people see.)"""
from __future__ import annotations

import pytest

from tests.e2e.test_case_pages_http import sign_in
from tests.faults.support import record, size
from tests.helpers import REVIEWER
from tests.integration.test_delivery_outage import Server, _cli, _documents, _message_ids, _rows, _set

pytestmark = pytest.mark.db


def test_an_outage_of_hours_is_shown_to_the_commission_and_then_every_mail_goes_once(site, clock, monkeypatch):
    from qcflow.services.mail import deliver_outbox

    base, mailbox = site
    reviewer = sign_in(base, mailbox, REVIEWER)  # signed in before the outage
    hours = size(3, 12)
    server = Server().start()
    try:
        _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=server.port, mail_alert_after_minutes=30,
             outbox_outage_max_backoff_seconds=600)
        signed_in_mail = {r.message_id for r in _rows()}
        _documents(size(3, 40))
        queued = {r.message_id for r in _rows()} - signed_in_mail
        server.stop()
        started = clock.now()
        for minute in range(hours * 60):  # deliver-outbox runs every minute
            deliver_outbox()
            if minute % 60 == 59:  # the clerk looks at the outbox every hour (sessions end after 8 idle hours)
                assert "邮件服务器自" in reviewer.get("/outbox").text
            clock.advance(minutes=1)
        outage_minutes = int((clock.now() - started).total_seconds() // 60)

        page = reviewer.get("/outbox")
        assert page.status_code == 200
        assert "邮件服务器自" in page.text and "不计尝试次数" in page.text and "/t/" not in page.text
        listed = _cli("outbox", "list")
        assert listed.returncode == 0, listed.stderr
        assert "连接邮件服务器" in listed.stdout
        assert all(r.status == "pending" and r.attempts == 0 for r in _rows() if r.message_id in queued)  # waiting

        server.start()
        clock.advance(minutes=10)
        while deliver_outbox().sent:
            pass
        rows = _rows()
        received = _message_ids(server.recorder)
        alerts = {r.message_id for r in rows if r.template == "mail_outage_alert"}
        lost = (queued | alerts) - set(received)
        duplicated = len(received) - len(set(received))
        assert not lost and duplicated == 0 and {r.status for r in rows} == {"sent"}
        assert alerts  # the commission was told, by mail too, once the server was back
        after = reviewer.get("/outbox").text
        assert "邮件服务器自" not in after
        record("outage_seen", outage_minutes=outage_minutes, mails=len(queued | alerts), lost=len(lost),
               duplicated=duplicated)
    finally:
        server.stop()
