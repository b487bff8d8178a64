"""Outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1), with rows written by the real app path."""
from __future__ import annotations

import asyncio
import re
import socket
import threading
from datetime import timedelta
from email.parser import BytesParser
from email.policy import default as DEFAULT_POLICY

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import select

from models import OutboxMessage
from qcflow.core.clock import utcnow
from qcflow.services.mail import enrich
from qcflow.store.db import unit_of_work
from tests.helpers import rendered, reconfigure, REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document

pytestmark = pytest.mark.db

COMMISSION_REVIEWERS = {REVIEWER, REVIEWER2, SECTION_HEAD}
LINK = re.compile(r"https?://[^\s\"<>]+/t/[A-Za-z0-9._\-]+")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """aiosmtpd handler: keeps every message, counts connections, refuses chosen recipients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.connections = 0  # TCP connections accepted (see CountingController)
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        with self.lock:
            self.messages.append({
                "peer": session.peer, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "raw": raw, "msg": BytesParser(policy=DEFAULT_POLICY).parsebytes(raw),
            })
        return "250 OK"

    def to(self, addr: str) -> list:
        return [m["msg"] for m in self.messages if m["rcpt_tos"] == [addr]]


class CountingController(Controller):
    """aiosmtpd builds one SMTP protocol object per accepted connection: count them."""

    def factory(self):
        with self.handler.lock:
            self.handler.connections += 1
        return super().factory()


class Credentials:
    """aiosmtpd authenticator accepting one login; remembers every attempt."""

    def __init__(self, login: str, password: str):
        self.login, self.password = login, password
        self.attempts: list[tuple[str, str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode(), auth_data.password.decode()) == (self.login, self.password)
        self.attempts.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def credentials() -> Credentials:
    return Credentials("qcflow-sender", "s3cret-密码")


@pytest.fixture
def smtp_server(demo, monkeypatch, credentials):
    """A real SMTP server (AUTH offered in plain text, for the test only); settings point the deliverer at it."""
    from qcflow.core.runtime import get_settings

    recorder = Recorder()
    port = _free_port()
    controller = CountingController(recorder, hostname="127.0.0.1", port=port,
                                    authenticator=credentials, auth_require_tls=False)
    controller.start()
    recorder.connections = 0  # start() opens one probe connection of its own
    monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QCFLOW_SMTP_PORT", str(port))
    reconfigure()
    yield recorder
    controller.stop()
    reconfigure()


def _set(monkeypatch, **env):
    from qcflow.core.runtime import get_settings

    for name, value in env.items():
        monkeypatch.setenv(f"QCFLOW_{name.upper()}", str(value))
    reconfigure()


def _submitted_document() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    return case_id


def _rows() -> dict[str, OutboxMessage]:
    with unit_of_work() as s:
        rows = rendered(s, s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())
    return {r.to_addr: r for r in rows}


def _deliver(now=None, settings=None):
    from notifications.delivery import deliver
    from qcflow.core.runtime import get_settings
    from qcflow.store.db import get_engine

    return deliver(get_engine(), settings or get_settings(), (lambda: now) if now else utcnow, enrich)


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_the_summary_is_chinese():
    from notifications.delivery import DeliveryReport

    assert DeliveryReport(3, 1, 0, []).summary() == "已发送 3 封，稍后重试 1 封，放弃 0 封"


def test_a_batch_goes_out_over_one_connection_with_proper_headers_and_both_parts(smtp_server):
    from qcflow.core.runtime import get_settings

    _submitted_document()
    rows = _rows()
    assert set(rows) == COMMISSION_REVIEWERS

    report = _deliver()

    assert (report.sent, report.retried, report.gave_up, report.errors) == (3, 0, 0, [])
    assert report.summary() == "已发送 3 封，稍后重试 0 封，放弃 0 封"
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1
    assert len({m["peer"] for m in smtp_server.messages}) == 1
    settings = get_settings()
    for addr, row in rows.items():
        [received] = [m for m in smtp_server.messages if m["rcpt_tos"] == [addr]]
        msg = received["msg"]
        assert received["mail_from"] == settings.mail_from
        # headers travel as RFC 2047 encoded words, decode back to the Chinese text
        header_block = received["raw"].split(b"\r\n\r\n", 1)[0]
        assert header_block.isascii() and b"=?utf-8?" in header_block.lower()
        assert msg["From"].addresses[0].display_name == settings.mail_from_name == "医疗质控中心管理平台"
        assert msg["From"].addresses[0].addr_spec == settings.mail_from
        assert msg["To"].addresses[0].addr_spec == addr
        assert msg["To"].addresses[0].display_name == row.to_name and _has_chinese(row.to_name)
        assert str(msg["Subject"]) == row.subject and row.subject.startswith("【待审核】")
        assert msg["Message-ID"] == row.message_id
        assert msg["Date"].datetime is not None and msg["Date"].datetime.tzinfo is not None
        assert msg.get_content_type() == "multipart/alternative"
        text, html = msg.get_body(("plain",)), msg.get_body(("html",))
        assert text is not None and html is not None
        assert text.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
        link = LINK.search(row.text_body).group(0)
        assert link in text.get_content() and link in html.get_content()
        assert _has_chinese(text.get_content())

    after = _rows()
    for row in after.values():
        assert row.status == "sent" and row.attempts == 1
        assert row.sent_at is not None and row.lease_until is None


def test_a_second_deliver_sends_nothing(smtp_server):
    _submitted_document()
    first = _deliver()
    second = _deliver()
    assert first.sent == 3
    assert (second.sent, second.retried, second.gave_up) == (0, 0, 0)
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1  # nothing due: no connection at all


def test_a_refused_recipient_is_retried_later_with_backoff(smtp_server, monkeypatch):
    _set(monkeypatch, outbox_backoff_seconds=60)
    _submitted_document()
    smtp_server.refuse = {REVIEWER2}
    now = utcnow()

    report = _deliver(now=now)

    assert (report.sent, report.retried, report.gave_up) == (2, 1, 0)
    assert len(report.errors) == 1 and REVIEWER2 in report.errors[0]
    assert smtp_server.connections == 1
    assert {m["rcpt_tos"][0] for m in smtp_server.messages} == COMMISSION_REVIEWERS - {REVIEWER2}
    rows = _rows()
    refused = rows[REVIEWER2]
    assert refused.status == "pending" and refused.attempts == 1
    assert "550" in refused.last_error
    assert refused.next_attempt_at == now + timedelta(seconds=60)
    assert refused.lease_until is None and refused.sent_at is None
    assert all(rows[a].status == "sent" for a in COMMISSION_REVIEWERS - {REVIEWER2})

    not_yet = _deliver(now=now + timedelta(seconds=30))
    assert (not_yet.sent, not_yet.retried) == (0, 0)

    smtp_server.refuse = set()
    later = _deliver(now=now + timedelta(seconds=61))
    assert (later.sent, later.retried) == (1, 0)
    [msg] = smtp_server.to(REVIEWER2)
    assert msg["Message-ID"] == refused.message_id  # stable across retries
    row = _rows()[REVIEWER2]
    assert row.status == "sent" and row.attempts == 2


def test_server_down_records_an_attempt_on_every_row(smtp_server, monkeypatch):
    _set(monkeypatch, smtp_port=_free_port(), outbox_backoff_seconds=60)  # nobody listens there
    _submitted_document()
    now = utcnow()

    report = _deliver(now=now)

    assert (report.sent, report.retried, report.gave_up) == (0, 3, 0)
    assert report.errors and "连接" in report.errors[0]
    for row in _rows().values():
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        assert row.next_attempt_at == now + timedelta(seconds=60)
        assert row.lease_until is None
    again = _deliver(now=now + timedelta(seconds=1))
    assert (again.sent, again.retried) == (0, 0)  # backoff respected
    assert smtp_server.messages == []


def test_after_max_attempts_a_row_is_given_up(smtp_server, monkeypatch):
    _set(monkeypatch, outbox_max_attempts=3, outbox_backoff_seconds=60)
    _submitted_document()
    smtp_server.refuse = {REVIEWER}
    t0 = utcnow()

    first = _deliver(now=t0)
    assert (first.sent, first.retried, first.gave_up) == (2, 1, 0)
    second = _deliver(now=t0 + timedelta(seconds=60))
    assert (second.sent, second.retried, second.gave_up) == (0, 1, 0)
    row = _rows()[REVIEWER]
    assert row.attempts == 2 and row.next_attempt_at == t0 + timedelta(seconds=60 + 120)  # doubled

    third = _deliver(now=t0 + timedelta(seconds=180))
    assert (third.sent, third.retried, third.gave_up) == (0, 0, 1)
    assert any(REVIEWER in e for e in third.errors)
    assert third.summary() == "已发送 0 封，稍后重试 0 封，放弃 1 封"
    row = _rows()[REVIEWER]
    assert row.status == "failed" and row.attempts == 3 and "550" in row.last_error and row.lease_until is None

    smtp_server.refuse = set()
    never = _deliver(now=t0 + timedelta(days=30))
    assert (never.sent, never.retried, never.gave_up) == (0, 0, 0)
    assert smtp_server.to(REVIEWER) == []


def test_logs_in_when_a_user_is_configured(smtp_server, credentials, monkeypatch):
    _submitted_document()
    _set(monkeypatch, smtp_user="qcflow-sender", smtp_password="wrong")
    refused = _deliver()
    assert (refused.sent, refused.retried) == (0, 3) and smtp_server.messages == []
    assert all("535" in r.last_error for r in _rows().values())

    _set(monkeypatch, smtp_user="qcflow-sender", smtp_password="s3cret-密码")
    report = _deliver(now=utcnow() + timedelta(hours=1))
    assert report.sent == 3 and len(smtp_server.messages) == 3
    outcomes = [ok for _, _, ok in credentials.attempts]  # aiosmtplib tries each offered mechanism
    assert outcomes[-1] and not any(outcomes[:-1])
    assert {login for _, login, _ in credentials.attempts} == {"qcflow-sender"}
    assert smtp_server.connections == 2  # one refused login, then one batch


def test_no_login_without_a_user(smtp_server, credentials):
    _submitted_document()
    assert _deliver().sent == 3
    assert credentials.attempts == []


def test_a_row_leased_by_another_deliverer_is_left_alone_until_the_lease_ends(smtp_server):
    _submitted_document()
    now = utcnow()
    with unit_of_work() as s:
        row = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == REVIEWER)).one())
        row.lease_until = now + timedelta(minutes=5)
        s.add(row)

    report = _deliver(now=now)
    assert report.sent == 2 and smtp_server.to(REVIEWER) == []
    assert _rows()[REVIEWER].status == "pending"

    expired = _deliver(now=now + timedelta(minutes=6))
    assert expired.sent == 1 and len(smtp_server.to(REVIEWER)) == 1


def test_concurrent_deliverers_never_send_the_same_row(smtp_server):
    from notifications.delivery import deliver_pending
    from qcflow.core.runtime import get_settings
    from qcflow.store.db import get_engine

    for _ in range(4):
        _submitted_document()
    with unit_of_work() as s:
        total = len(s.exec(select(OutboxMessage)).all())
    assert total == 12

    async def both():
        return await asyncio.gather(*(deliver_pending(get_engine(), get_settings(), utcnow, enrich) for _ in range(4)))

    reports = asyncio.run(both())

    assert sum(r.sent for r in reports) == 12 and all(r.retried == 0 for r in reports)
    ids = [m["msg"]["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    with unit_of_work() as s:
        assert {r.status for r in s.exec(select(OutboxMessage))} == {"sent"}


def test_the_maildir_sink_round_trip(demo, monkeypatch, tmp_path):
    """With no SMTP host configured, mail goes to the local sink on sink_port, filed in a Maildir."""
    from notifications.sink import MaildirSink, list_messages, read_message

    _set(monkeypatch, sink_port=_free_port(), outbox_batch_size=1)
    maildir = tmp_path / "mailbox"
    assert list_messages(maildir) == [] and read_message(maildir, "nope") is None
    _submitted_document()
    rows = _rows()
    t0 = utcnow()

    from qcflow.core.runtime import get_settings

    with MaildirSink(maildir, port=get_settings().sink_port) as sink:
        reports = [_deliver(now=t0 + timedelta(hours=h)) for h in range(3)]  # one per batch, an hour apart
    assert sink.host == "127.0.0.1" and [r.sent for r in reports] == [1, 1, 1]

    listed = list_messages(maildir)
    assert len(listed) == 3
    by_id = {}
    for item in listed:
        message = read_message(maildir, item["key"])
        assert message is not None
        by_id[message["message_id"]] = (item, message)
    assert set(by_id) == {r.message_id for r in rows.values()}
    # newest first: rows go out in id order, an hour apart
    sent_order = [r.message_id for r in sorted(rows.values(), key=lambda r: r.id)]
    assert [read_message(maildir, i["key"])["message_id"] for i in listed] == sent_order[::-1]
    assert listed[0]["date"] > listed[1]["date"] > listed[2]["date"]
    for row in rows.values():
        item, message = by_id[row.message_id]
        assert item["subject"] == message["subject"] == row.subject and _has_chinese(row.subject)
        assert row.to_addr in item["to"] and row.to_name in message["to"]
        assert "医疗质控中心管理平台" in message["from"]
        link = LINK.search(row.text_body).group(0)
        assert link in message["text"] and link in message["html"]
        assert "<html" in message["html"].lower() and "<html" not in message["text"].lower()
    assert read_message(maildir, "no-such-key") is None
