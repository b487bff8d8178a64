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
        self.refuse: set[str] = set()  # a transient refusal (4xx) for these recipients
        self.reject: set[str] = set()  # a permanent refusal (5xx) for these
        self.shut_down_on: set[str] = set()  # answer 421 (closing the connection) for these recipients

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.shut_down_on:
            return "421 4.3.2 Service shutting down"
        if address.lower() in self.refuse:
            return "450 4.2.1 Mailbox busy, try again later"
        if address.lower() in self.reject:
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
    assert "450" in refused.last_error
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


def test_server_down_costs_no_attempt_and_the_whole_queue_backs_off(smtp_server, monkeypatch):
    from notifications.queue_state import current
    from qcflow.store.db import get_engine

    _set(monkeypatch, smtp_port=_free_port(), outbox_backoff_seconds=60)  # nobody listens there
    _submitted_document()
    now = utcnow()

    report = _deliver(now=now)

    assert (report.sent, report.retried, report.gave_up, report.released) == (0, 0, 0, 3)
    assert report.errors and "连接" in report.errors[0] and "不计" in report.errors[0]
    assert report.held_until == now + timedelta(seconds=60) and "连接邮件服务器" in report.outage
    for row in _rows().values():
        assert row.status == "pending" and row.attempts == 0 and "连接邮件服务器" in row.last_error
        assert row.next_attempt_at == now  # the row itself is due: the queue waits, not the row
        assert row.lease_until is None
    state = current(get_engine())
    assert state["failing_since"] == now and state["failures"] == 1
    assert state["retry_at"] == now + timedelta(seconds=60)
    again = _deliver(now=now + timedelta(seconds=1))
    assert (again.sent, again.retried, again.released) == (0, 0, 0)  # backoff respected: nothing claimed
    assert again.held_until == now + timedelta(seconds=60)
    assert smtp_server.messages == []


def test_after_max_attempts_a_transient_refusal_is_given_up(smtp_server, monkeypatch):
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
    assert row.status == "failed" and row.attempts == 3 and "450" in row.last_error and row.lease_until is None
    assert row.failed_at == t0 + timedelta(seconds=180)

    smtp_server.refuse = set()
    never = _deliver(now=t0 + timedelta(days=30))
    assert (never.sent, never.retried, never.gave_up) == (0, 0, 0)
    assert smtp_server.to(REVIEWER) == []


def test_logs_in_when_a_user_is_configured(smtp_server, credentials, monkeypatch):
    _submitted_document()
    # this test server offers AUTH without TLS: allowed here only because the test says so
    _set(monkeypatch, smtp_user="qcflow-sender", smtp_password="wrong", smtp_allow_plain_auth="true")
    refused = _deliver()
    # a refused login is not the messages' fault: no attempt counted, the queue waits
    assert (refused.sent, refused.retried, refused.released) == (0, 0, 3) and smtp_server.messages == []
    assert refused.held_until is not None and "535" in refused.outage
    assert all("535" in r.last_error and r.attempts == 0 for r in _rows().values())

    _set(monkeypatch, smtp_user="qcflow-sender", smtp_password="s3cret-密码", smtp_allow_plain_auth="true")
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


# --- the batch over several connections, the lease, faults of one row -------------------------------

def test_a_big_batch_goes_out_over_several_connections_each_row_once(smtp_server, monkeypatch):
    from notifications import delivery

    monkeypatch.setattr(delivery, "ROWS_PER_CONNECTION", 3)  # 12 rows: the most connections, 4
    for _ in range(4):
        _submitted_document()

    report = _deliver()

    assert (report.sent, report.retried, report.gave_up, report.errors) == (12, 0, 0, [])
    assert smtp_server.connections == delivery.CONNECTIONS == 4
    assert len({m["peer"] for m in smtp_server.messages}) == 4
    ids = [m["msg"]["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    with unit_of_work() as s:
        rows = s.exec(select(OutboxMessage)).all()
    assert {(r.status, r.attempts, r.lease_until) for r in rows} == {("sent", 1, None)}
    assert all(r.subject.startswith("【待审核】") and r.text_body and r.html_body for r in rows)  # stored as sent


def test_concurrent_deliverers_with_small_batches_share_the_rows(smtp_server, monkeypatch):
    from notifications.delivery import deliver_pending
    from qcflow.core.runtime import get_settings
    from qcflow.store.db import get_engine

    _set(monkeypatch, outbox_batch_size=2)
    for _ in range(4):
        _submitted_document()

    async def until_empty():
        reports = []
        while (report := await deliver_pending(get_engine(), get_settings(), utcnow, enrich)).sent:
            reports.append(report)
        return reports

    async def four():
        return await asyncio.gather(*(until_empty() for _ in range(4)))

    reports = [r for rs in asyncio.run(four()) for r in rs]

    assert all(r.sent <= 2 and r.retried == 0 and r.errors == [] for r in reports)
    assert sum(r.sent for r in reports) == 12
    ids = [m["msg"]["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    with unit_of_work() as s:
        assert {(r.status, r.attempts) for r in s.exec(select(OutboxMessage))} == {("sent", 1)}


def test_a_template_fault_fails_only_that_row(smtp_server, monkeypatch):
    _set(monkeypatch, outbox_backoff_seconds=60)
    _submitted_document()
    with unit_of_work() as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == REVIEWER2)).one()
        row.template = "no_such_template"
        s.add(row)
    now = utcnow()

    report = _deliver(now=now)

    assert (report.sent, report.retried, report.gave_up) == (2, 1, 0)
    assert len(report.errors) == 1 and REVIEWER2 in report.errors[0] and "no_such_template" in report.errors[0]
    assert {m["rcpt_tos"][0] for m in smtp_server.messages} == COMMISSION_REVIEWERS - {REVIEWER2}
    with unit_of_work() as s:
        broken = s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == REVIEWER2)).one()
    assert broken.status == "pending" and broken.attempts == 1 and "无法生成" in broken.last_error
    assert broken.next_attempt_at == now + timedelta(seconds=60) and broken.lease_until is None


def test_rows_left_when_the_lease_runs_out_go_back_untouched(smtp_server, monkeypatch):
    from notifications import delivery

    _submitted_document()
    monkeypatch.setattr(delivery, "_send_margin", lambda settings, lease: lease + 1)

    report = _deliver()

    assert (report.sent, report.retried, report.gave_up, report.errors) == (0, 0, 0, [])
    assert smtp_server.messages == []
    with unit_of_work() as s:
        rows = s.exec(select(OutboxMessage)).all()
    assert {(r.status, r.attempts, r.lease_until, r.last_error) for r in rows} == {("pending", 0, None, "")}

    monkeypatch.undo()
    again = _deliver()  # due again at once
    assert again.sent == 3 and len(smtp_server.messages) == 3


def test_a_server_closing_the_connection_leaves_the_rows_not_yet_tried_untouched(smtp_server, monkeypatch):
    _set(monkeypatch, outbox_backoff_seconds=60)
    _submitted_document()
    first = min(_rows().values(), key=lambda r: r.id)  # rows go out in id order (one connection here)
    smtp_server.shut_down_on = {first.to_addr}
    now = utcnow()

    report = _deliver(now=now)

    assert (report.sent, report.retried, report.gave_up) == (0, 1, 0) and smtp_server.messages == []
    rows = _rows()
    assert rows[first.to_addr].attempts == 1 and "421" in rows[first.to_addr].last_error
    assert rows[first.to_addr].next_attempt_at == now + timedelta(seconds=60)
    others = [r for a, r in rows.items() if a != first.to_addr]
    assert {(r.status, r.attempts, r.lease_until) for r in others} == {("pending", 0, None)}

    smtp_server.shut_down_on = set()
    later = _deliver(now=now + timedelta(seconds=1))
    assert later.sent == 2 and {m["rcpt_tos"][0] for m in smtp_server.messages} == {r.to_addr for r in others}


def test_a_database_failure_while_recording_is_raised_not_swallowed(smtp_server, monkeypatch):
    from notifications import delivery

    def broken(*args):
        raise RuntimeError("database gone")

    _submitted_document()
    monkeypatch.setattr(delivery, "_record", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        _deliver()
    assert len(smtp_server.messages) <= 3
    monkeypatch.undo()
    with unit_of_work() as s:  # nothing recorded: the rows stay leased until the lease runs out
        assert {(r.status, r.lease_until is not None) for r in s.exec(select(OutboxMessage))} == {("pending", True)}

# --- the wire: notifications.mime writes what the email package would ---------------------------------

def _wire_row(**fields):
    from types import SimpleNamespace

    base = dict(to_name="张三", to_addr="zhang.san@wjw.qingchuan.example", message_id="<qc.42.7@qcflow.example>",
                subject="【待审核】关于 2026 年度质控报告的审核", text_body="您好：\n请审核。\n", html_body="<p>您好</p>\n",
                attachments=[])
    return SimpleNamespace(**{**base, **fields})


WIRE_CASES = {
    "chinese, with a calendar file": _wire_row(attachments=[{
        "filename": "dispatch-meeting.ics", "content_type": "text/calendar", "method": "REQUEST",
        "content": "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:调度会\r\nEND:VCALENDAR\r\n"}]),
    "ascii, quotes and specials": _wire_row(
        to_name='Dr. "Ann" O\'Neil, MD', to_addr="ann@example.org",
        subject="Review requested: " + " ".join(f"word{i}" for i in range(30)),
        text_body="line one\r\n.leading dot\rFrom the start\n" + "x" * 200 + "\n", html_body=""),
    "tricky subject and names": _wire_row(
        to_name="", subject=" =?utf-8?q?not_a_word?=  含\t制表符和表情😀" + "😀" * 30, text_body="",
        attachments=[{"filename": "会议 通知.ics", "content_type": "text/calendar", "content": "A\r\nB\r\n"},
                     {"filename": 'a"b.txt', "content_type": "text/plain", "content": "plain\n"}]),
}


@pytest.mark.parametrize("case", list(WIRE_CASES))
def test_the_wire_bytes_read_back_as_the_email_package_writes_them(case):
    from datetime import datetime, timezone
    from email import message_from_bytes
    from types import SimpleNamespace

    from aiosmtplib.email import flatten_message

    from notifications.delivery import build_message
    from notifications.mime import message_bytes

    row = WIRE_CASES[case]
    settings = SimpleNamespace(mail_from="noreply@qcflow.example", mail_from_name="医疗质控中心管理平台")
    now = datetime(2026, 10, 8, 9, 30, tzinfo=timezone.utc)
    wire = message_bytes(row, settings.mail_from, settings.mail_from_name, now)
    assert wire.isascii() and b"\n" not in wire.replace(b"\r\n", b"")  # 7-bit, CRLF only
    assert max(len(line) for line in wire.split(b"\r\n")) <= 78
    assert wire == message_bytes(row, settings.mail_from, settings.mail_from_name, now)  # boundary fixed too
    ours = message_from_bytes(wire, policy=DEFAULT_POLICY)
    theirs = message_from_bytes(flatten_message(build_message(row, settings, now), utf8=False, cte_type="7bit"),
                                policy=DEFAULT_POLICY)
    assert not ours.defects and not any(part.defects for part in ours.walk())
    for name in ("From", "To"):
        [a], [b] = ours[name].addresses, theirs[name].addresses
        assert (a.display_name, a.addr_spec) == (b.display_name, b.addr_spec)
    assert str(ours["Subject"]) == row.subject  # exactly (the email package loses a literal "=?…?=" and the space)
    if "=?" not in row.subject:
        assert str(theirs["Subject"]) == row.subject
    assert ours["Message-ID"] == theirs["Message-ID"] == row.message_id
    assert ours["Date"].datetime == theirs["Date"].datetime == now
    assert ours["Auto-Submitted"] == "auto-generated" and ours["MIME-Version"] == "1.0"
    assert ours.get_content_type() == theirs.get_content_type()
    for kind in ("plain", "html"):
        a, b = ours.get_body((kind,)), theirs.get_body((kind,))
        assert a.get_content_type() == b.get_content_type() and a.get_content_charset() == "utf-8"
        assert a.get_content().replace("\r\n", "\n") == b.get_content().replace("\r\n", "\n")
    mine, reference = list(ours.iter_attachments()), list(theirs.iter_attachments())
    assert len(mine) == len(reference) == len(row.attachments)
    for a, b, item in zip(mine, reference, row.attachments):
        assert a.get_filename() == b.get_filename() == item["filename"]
        assert a.get_content_type() == b.get_content_type() == item["content_type"]
        assert a.get_param("method") == b.get_param("method") and a.get_content_charset() == "utf-8"
        assert a.get_payload(decode=True) == b.get_payload(decode=True) == item["content"].encode()  # CRLF kept


def test_what_the_wire_writer_leaves_to_the_email_package():
    from datetime import datetime, timezone

    from notifications.mime import Unsupported, message_bytes

    now = datetime(2026, 10, 8, tzinfo=timezone.utc)
    for row in (_wire_row(to_addr="张三@例子.中国"), _wire_row(to_addr="a b@example.org"),
                _wire_row(message_id="no-angle-brackets"), _wire_row(subject="两行\nBcc: evil@example.org"),
                _wire_row(to_name="张三\r\nBcc: evil@example.org"), _wire_row(attachments=[
                    {"filename": "x", "content_type": "text/calendar\r\nX-Evil: 1", "content": ""}])):
        with pytest.raises(Unsupported):
            message_bytes(row, "noreply@qcflow.example", "", now)
    with pytest.raises(Unsupported):
        message_bytes(_wire_row(), "noreply@qcflow.example>, <evil@example.org", "", now)
