"""Delivery under faults, against a real aiosmtpd server and a real SQLite file: an SMTP outage longer
than the whole retry ladder, permanent and transient refusals, a deliverer SIGKILLed mid-delivery,
the sending quota, requeueing failed mail from the CLI, the outage alert, STARTTLS."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from models import OutboxMessage
from models.admin_audit import AdminAction
from qcflow import engine
from tests.helpers import REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document, reconfigure
from tests.integration.test_delivery import CountingController, Credentials, Recorder, _free_port

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
COMMISSION_STAFF = {REVIEWER, REVIEWER2, SECTION_HEAD}  # commission roles in the demo directory
CHILD_SECRET = "outage-test-secret-" + "x" * 32


def _set(monkeypatch, **env) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"QCFLOW_{name.upper()}", str(value))
    reconfigure()


class Server:
    """A real SMTP server on a fixed port that can be stopped and started again (the outage)."""

    def __init__(self, recorder: Recorder | None = None, **controller_options):
        self.recorder = recorder or Recorder()
        self.port = _free_port()
        self.options = controller_options
        self.controller = None

    def start(self) -> "Server":
        self.controller = CountingController(self.recorder, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        self.recorder.connections = 0  # start() opens one probe connection of its own
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server(demo, monkeypatch):
    srv = Server().start()
    _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=srv.port)
    yield srv
    srv.stop()


def _documents(n: int) -> None:
    from qcflow.store.db import unit_of_work

    for _ in range(n):
        with unit_of_work() as s:
            case_id = new_document(s)
        fire(case_id, "submit", SECRETARY)


def _rows() -> list[OutboxMessage]:
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def _deliver():
    from qcflow.services.mail import deliver_outbox

    return deliver_outbox()


def _state() -> dict:
    from notifications.queue_state import current
    from qcflow.store.db import get_engine

    return current(get_engine())


def _message_ids(recorder: Recorder) -> list[str]:
    return [m["msg"]["Message-ID"] for m in recorder.messages]


# --- an outage longer than the whole retry ladder ---------------------------------------------------

def test_an_outage_longer_than_the_retry_ladder_loses_nothing_and_sends_each_mail_once(server, clock, monkeypatch):
    _set(monkeypatch, outbox_max_attempts=5, outbox_backoff_seconds=60, outbox_outage_max_backoff_seconds=600,
         mail_alert_after_minutes=30)
    _documents(4)
    queued = {r.message_id for r in _rows()}
    assert len(queued) == 12
    server.stop()  # the outage starts before the first delivery

    # six hours of the deliver-outbox flow's schedule (every minute), the old ladder lasted ~15 minutes
    tried, held = 0, 0
    for _ in range(6 * 60):
        report = _deliver()
        assert report.sent == report.retried == report.gave_up == 0
        tried += report.released > 0
        held += report.held_until is not None and report.released == 0
        clock.advance(minutes=1)
    assert all(r.status == "pending" and r.attempts == 0 for r in _rows())
    # the queue backed off: 60 s doubling up to 10 min, so about 40 connection rounds in 6 hours, not 360
    assert 30 <= tried <= 45 and tried + held == 360
    state = _state()
    assert state["failing_since"] is not None and state["failures"] == tried
    assert state["alert_raised_at"] is not None  # told once, after 30 minutes (see the alert test)
    alerts = [r for r in _rows() if r.template == "mail_outage_alert"]
    assert {r.to_addr for r in alerts} == COMMISSION_STAFF and len(alerts) == 3

    server.start()  # the server is back
    clock.advance(minutes=10)  # at most one back-off step later
    report = _deliver()
    assert (report.sent, report.retried, report.gave_up) == (15, 0, 0)
    assert _deliver().sent == 0

    ids = _message_ids(server.recorder)
    assert sorted(ids) == sorted(queued | {r.message_id for r in alerts})  # every mail, each exactly once
    assert all(r.status == "sent" and r.attempts == 1 for r in _rows())
    state = _state()
    assert state["failing_since"] is None and state["retry_at"] is None and state["failures"] == 0
    assert state["last_outage_started_at"] is not None and state["last_outage_alerted_at"] is not None


def test_the_commission_is_alerted_once_after_the_configured_time(server, clock, monkeypatch):
    from qcflow.services.outbox_admin import queue_status
    from qcflow.store.db import unit_of_work
    from qcflow.core.runtime import get_settings

    _set(monkeypatch, mail_alert_after_minutes=20, outbox_backoff_seconds=60, outbox_outage_max_backoff_seconds=120)
    _documents(1)
    server.stop()
    started = clock.now()
    for minute in range(60):
        _deliver()
        alerts = [r for r in _rows() if r.template == "mail_outage_alert"]
        if clock.now() - started < timedelta(minutes=20):
            assert alerts == [] and _state()["alert_raised_at"] is None, minute
        clock.advance(minutes=1)
    state = _state()
    alerts = [r for r in _rows() if r.template == "mail_outage_alert"]
    assert len(alerts) == 3 and {r.to_addr for r in alerts} == COMMISSION_STAFF  # once per person, not per run
    assert timedelta(minutes=20) <= state["alert_raised_at"] - started <= timedelta(minutes=22)
    with unit_of_work(read_only=True) as s:
        status = queue_status(s, get_settings())
    assert status["server_unreachable"] and status["alert_raised_at"] and "连接邮件服务器" in status["last_error"]


# --- one message's refusal: permanent or transient -------------------------------------------------

def test_a_permanent_550_fails_at_once_with_the_servers_reason(server, clock):
    _documents(1)
    server.recorder.reject = {REVIEWER2}

    report = _deliver()

    assert (report.sent, report.retried, report.gave_up) == (2, 0, 1)
    assert any("永久拒绝" in e and REVIEWER2 in e for e in report.errors)
    [row] = [r for r in _rows() if r.to_addr == REVIEWER2]
    assert row.status == "failed" and row.attempts == 1 and row.failed_at == clock.now()
    assert "550 5.1.1 Mailbox unavailable" in row.last_error
    clock.advance(days=1)
    server.recorder.reject = set()
    assert _deliver().sent == 0  # failed is failed: only a requeue sends it again


def test_a_450_is_retried_and_then_sent(server, clock):
    _documents(1)
    server.recorder.refuse = {REVIEWER2}
    first = _deliver()
    assert (first.sent, first.retried, first.gave_up) == (2, 1, 0)
    [row] = [r for r in _rows() if r.to_addr == REVIEWER2]
    assert row.status == "pending" and row.attempts == 1 and "450" in row.last_error
    server.recorder.refuse = set()
    clock.advance(seconds=61)
    assert _deliver().sent == 1
    assert len(server.recorder.to(REVIEWER2)) == 1


def test_a_sender_refused_for_every_mail_backs_off_the_queue_without_attempts(server, clock, monkeypatch):
    class RefuseSender(Recorder):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            return "553 5.7.1 Sender address rejected: not owned by user"

    _documents(1)
    server.stop()
    refusing = Server(RefuseSender()).start()
    _set(monkeypatch, smtp_port=refusing.port)
    try:
        report = _deliver()
    finally:
        refusing.stop()
    assert (report.sent, report.retried, report.gave_up) == (0, 0, 0) and report.held_until is not None
    assert "553" in report.outage and "拒绝发件人" in report.outage
    assert all(r.status == "pending" and r.attempts == 0 for r in _rows())


# --- a deliverer SIGKILLed mid-delivery -------------------------------------------------------------

class HoldsTheThird(Recorder):
    """Accepts two messages, then keeps the third's DATA waiting (no 250) until released."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if len(self.messages) == 2 and not self.release.is_set():
            self.waiting.set()
            while not self.release.is_set():  # cancelled by aiosmtpd when the client's connection dies
                await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCFLOW_")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("QCFLOW_")})
    env.update(QCFLOW_SECRET_KEY=CHILD_SECRET, QCFLOW_SMTP_TIMEOUT="60", PYTHONPATH=str(ROOT))
    return env


def test_a_deliverer_killed_mid_delivery_loses_and_duplicates_nothing(demo, clock, monkeypatch):
    from qcflow.core.clock import utcnow

    holder = Server(HoldsTheThird()).start()
    try:
        _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=holder.port, secret_key=CHILD_SECRET)
        _documents(1)
        child = subprocess.Popen([sys.executable, "-m", "qcflow", "outbox", "deliver"], env=_child_env(),
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert holder.recorder.waiting.wait(30), child.communicate(timeout=5)
            deadline = time.monotonic() + 10  # the two accepted are recorded within RECORD_SECONDS
            while sum(r.status == "sent" for r in _rows()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
        holder.recorder.release.set()
        rows = _rows()
        assert sorted(r.status for r in rows) == ["pending", "sent", "sent"]
        [held] = [r for r in rows if r.status == "pending"]
        assert held.lease_until == utcnow() + timedelta(seconds=60)  # the default lease
        assert len(holder.recorder.messages) == 2  # the third was never acknowledged

        assert _deliver().sent == 0  # still leased by the dead deliverer
        clock.advance(seconds=61)  # the lease has run out: the next run takes the row over
        report = _deliver()
        assert (report.sent, report.retried, report.gave_up) == (1, 0, 0)
        ids = _message_ids(holder.recorder)
        assert len(ids) == 3 and len(set(ids)) == 3 and set(ids) == {r.message_id for r in rows}
        assert {(r.status, r.attempts) for r in _rows()} == {("sent", 1)}
    finally:
        holder.stop()


# --- the sending quota --------------------------------------------------------------------------------

def test_the_quota_holds_back_the_excess_which_waits_and_then_goes(server, clock, monkeypatch):
    from qcflow.core.runtime import get_settings
    from qcflow.services.outbox_admin import mail_rows, queue_status
    from qcflow.store.db import unit_of_work

    _set(monkeypatch, outbox_quota_per_hour=2, outbox_quota_per_day=5)
    _documents(3)  # 9 mails
    t0 = clock.now()

    first = _deliver()
    assert (first.sent, first.retried, first.gave_up) == (2, 0, 0)
    assert _deliver().quota_until == t0 + timedelta(hours=1)
    with unit_of_work(read_only=True) as s:
        status = queue_status(s, get_settings())
        listed = mail_rows(s, get_settings())
    assert status["quota"]["left"] == 0 and status["quota"]["waiting"] == 7
    assert status["quota"]["used"]["hour"] == {"used": 2, "cap": 2}
    assert len(listed) == 7 and all("等待发送配额" in r["waiting_for"] for r in listed)
    assert all(r.attempts == 0 for r in _rows() if r.status == "pending")  # waiting is not failing

    clock.advance(minutes=59)
    assert _deliver().sent == 0
    clock.advance(minutes=2)
    assert _deliver().sent == 2
    clock.advance(hours=1, minutes=1)
    assert _deliver().sent == 1  # the day's cap (5) leaves one
    clock.advance(hours=1, minutes=1)
    assert _deliver().sent == 0
    clock.advance(hours=22)
    sent = sum(_deliver().sent for _ in range(3))
    assert sent == 2 and len(server.recorder.messages) == 7
    assert sum(r.status == "pending" for r in _rows()) == 2 and not any(r.status == "failed" for r in _rows())


# --- failed mail, listed and requeued from the CLI ------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], env=_child_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_failed_mail_is_listed_and_requeued_from_the_cli(server, clock, monkeypatch):
    _set(monkeypatch, secret_key=CHILD_SECRET)
    _documents(2)
    server.recorder.reject = {REVIEWER2, SECTION_HEAD}
    assert _deliver().gave_up == 4

    listed = _cli("outbox", "list", "--failed")
    assert listed.returncode == 0, listed.stderr
    assert "发送失败 4 封" in listed.stdout and "550 5.1.1" in listed.stdout and "/t/" not in listed.stdout
    data = json.loads(_cli("--json", "outbox", "list", "--failed").stdout)
    failed = data["mails"]
    assert {m["to"] for m in failed} == {REVIEWER2, SECTION_HEAD} and len(failed) == 4
    assert all(m["status"] == "failed" and m["attempts"] == 1 and "550" in m["last_error"] for m in failed)
    assert all(m["subject"].startswith("【待审核】") for m in failed)

    sent_id = next(r.id for r in _rows() if r.status == "sent")
    secretary = _cli("outbox", "requeue", "--id", str(failed[0]["id"]), "--as", SECRETARY)
    assert secretary.returncode == 2 and "卫健委工作人员" in secretary.stderr and "Y§22" in secretary.stderr
    assert "Traceback" not in secretary.stderr
    refused = _cli("outbox", "requeue", "--id", str(sent_id), "--id", "999999", "--as", REVIEWER)
    assert refused.returncode == 2 and "已发送" in refused.stderr and "999999" in refused.stderr
    assert sum(r.status == "failed" for r in _rows()) == 4  # nothing changed

    server.recorder.reject = set()
    one = _cli("outbox", "requeue", "--id", str(failed[0]["id"]), "--as", REVIEWER)
    assert one.returncode == 0 and "已重新排队 1 封" in one.stdout
    assert _deliver().sent == 1
    rest = _cli("--json", "outbox", "requeue", "--all-failed", "--as", SECTION_HEAD)
    assert rest.returncode == 0 and len(json.loads(rest.stdout)["requeued"]) == 3
    assert _deliver().sent == 3
    assert {r.status for r in _rows()} == {"sent"}
    ids = _message_ids(server.recorder)
    assert len(ids) == len(set(ids)) == 6
    assert json.loads(_cli("--json", "outbox", "list").stdout)["mails"] == []
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:  # who requeued what, in the audit
        audit = [(a.person_id, a.details["ids"]) for a in s.exec(select(AdminAction).order_by(AdminAction.id))]
        reviewer, head = (engine.person_by_email(s, e).id for e in (REVIEWER, SECTION_HEAD))
    assert audit == [(reviewer, [failed[0]["id"]]), (head, sorted(m["id"] for m in failed[1:]))]


# --- STARTTLS ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)  # fixed: valid whatever the wall clock says
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=365 * 30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TlsRecorder(Recorder):
    """Remembers whether each message came over TLS."""

    async def handle_DATA(self, server, session, envelope):
        result = await super().handle_DATA(server, session, envelope)
        self.messages[-1]["tls"] = session.ssl is not None
        return result


def _tls_server(certificate, credentials, **options) -> Server:
    cert_file, key_file = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Server(TlsRecorder(), tls_context=context, authenticator=credentials, auth_require_tls=True,
                  **options).start()


def test_starttls_is_used_when_offered_and_the_login_goes_encrypted(demo, certificate, monkeypatch):
    credentials = Credentials("qcflow-sender", "s3cret-密码")
    srv = _tls_server(certificate, credentials)
    try:
        _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=srv.port, smtp_ca_file=certificate[0],
             smtp_user="qcflow-sender", smtp_password="s3cret-密码")  # QCFLOW_SMTP_TLS left at its default
        _documents(1)
        report = _deliver()
    finally:
        srv.stop()
    assert (report.sent, report.held_until) == (3, None)
    assert [m["tls"] for m in srv.recorder.messages] == [True] * 3
    assert credentials.attempts and credentials.attempts[-1][2]


def test_an_untrusted_certificate_is_a_server_failure_never_a_fallback_to_plain(demo, certificate, monkeypatch):
    srv = _tls_server(certificate, Credentials("u", "p"))
    try:
        _set(monkeypatch, smtp_host="127.0.0.1", smtp_port=srv.port)  # auto, no CA file: the cert is not trusted
        _documents(1)
        report = _deliver()
    finally:
        srv.stop()
    assert report.sent == 0 and report.held_until is not None and "CERTIFICATE" in report.outage.upper()
    assert srv.recorder.messages == [] and all(r.attempts == 0 for r in _rows())


def test_the_password_never_goes_in_clear(server, credentials, monkeypatch):
    # the plain test server offers AUTH without STARTTLS
    server.stop()
    plain = Server(authenticator=credentials, auth_require_tls=False).start()
    try:
        _set(monkeypatch, smtp_port=plain.port, smtp_user="qcflow-sender", smtp_password="s3cret-密码")
        _documents(1)
        report = _deliver()
    finally:
        plain.stop()
    assert credentials.attempts == [] and plain.recorder.messages == []
    assert report.held_until is not None and "明文" in report.outage
    assert all(r.attempts == 0 and "明文" in r.last_error for r in _rows())


def test_starttls_required_but_not_offered_is_a_server_failure(server, monkeypatch):
    _set(monkeypatch, smtp_tls="starttls")
    _documents(1)
    report = _deliver()
    assert report.sent == 0 and report.held_until is not None and server.recorder.messages == []
    assert all(r.attempts == 0 for r in _rows())


@pytest.fixture
def credentials() -> Credentials:
    return Credentials("qcflow-sender", "s3cret-密码")
