"""Send what the outbox holds over SMTP: claim a batch, send it over a few connections, record the outcomes.

A batch is claimed by one statement: an UPDATE that sets `lease_until` on the due rows whose lease is
free, returning them (on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED; on SQLite writers take
the database's write lock up front), so two deliverers running at once never send the same row.
The batch is sent over up to `CONNECTIONS` SMTP connections at once (one per `ROWS_PER_CONNECTION`
rows claimed: a small batch uses one), each taking the next row from a shared queue. Each message is
written straight as MIME bytes (notifications.mime; the email package only for what that cannot
write). Outcomes are recorded in batches (see `_Run`): one transaction, one executemany per kind of
outcome, each row's UPDATE guarded by the lease this run holds.
SMTP problems never raise: every claimed row ends up sent, rescheduled with backoff, given up
(status "failed") or released untouched, and the report says which.

What a failure costs depends on whose it is (see `_Verdict`):
- the server cannot be reached (refused, timeout, TLS or handshake failure, a 4xx or 5xx greeting or
  EHLO, login refused, the sender refused for every mail): no message's fault. No attempt is counted;
  the claimed rows go back and the whole queue backs off (notifications.queue_state) until the
  server answers again, however long that takes;
- a 4xx for one message (greylisting, a full mailbox): an attempt, retried with a doubling backoff,
  given up after `outbox_max_attempts`;
- a 5xx for one message (no such mailbox, rejected content): failed at once, the server's reason kept.
A deliverer holds its rows under a short lease (`outbox_lease_seconds`), renewed while it works: the
rows of a deliverer that was killed are free again one lease later.
Per-domain quotas (notifications.quota) limit how many rows a run claims; the rest waits.

When `smtp_host` is empty, mail goes to the local development sink on 127.0.0.1:`sink_port`
(see notifications.sink).
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Callable, Iterator, Optional

import aiosmtplib
from sqlalchemy import Engine, bindparam, or_, select as core_select, update
from sqlmodel import Session

from models import OutboxMessage
from notifications import queue_state
from notifications.compose import compose
from notifications.config import MailSettings as Settings
from notifications.mime import Unsupported, message_bytes
from notifications.quota import Allowance, allowance, domain_of

Clock = Callable[[], datetime]
# Fills in, per row id, the context a mail intent leaves to delivery time (names, numbers).
Enricher = Callable[[Session, list[OutboxMessage]], dict[int, dict]]

log = logging.getLogger(__name__)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

__all__ = ["DeliveryReport", "build_message", "deliver", "deliver_pending"]

MAX_ERROR_CHARS = 2000
CONNECTIONS = 4  # most SMTP connections one run keeps open at once
ROWS_PER_CONNECTION = 25  # one connection more for each this many rows claimed
RECORD_ROWS = 25  # refusals and retries are written in one transaction once this many wait (or at the end)
RECORD_SECONDS = 1.0  # … or once the oldest has waited this long; a sent mail is written at once

TABLE = OutboxMessage.__table__


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)
    held_until: Optional[datetime] = None  # the server could not be reached: the queue waits until then
    outage: str = ""  # why
    quota_until: Optional[datetime] = None  # the sending quota is used up: the next mail may go then
    released: int = 0  # claimed but not tried (no attempt counted): due again at once

    def summary(self) -> str:
        text = f"已发送 {self.sent} 封，稍后重试 {self.retried} 封，放弃 {self.gave_up} 封"
        if self.held_until is not None:
            text += f"；邮件服务器暂不可用，全部待发邮件暂停，不计尝试次数（{self.outage}）"
        if self.quota_until is not None:
            text += "；已达发送配额，其余邮件等待配额"
        return text


def build_message(row: OutboxMessage, settings: Settings, now: datetime) -> EmailMessage:
    """The email for one outbox row: plain text and HTML alternatives, utf-8, stable Message-ID.

    The email package's version of what `notifications.mime.message_bytes` writes directly;
    delivery uses it only for the messages that one cannot write (see `_send`)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=settings.mail_from_name, addr_spec=settings.mail_from)
    msg["To"] = Address(display_name=row.to_name, addr_spec=row.to_addr)
    msg["Subject"] = row.subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(row.text_body, charset="utf-8")
    msg.add_alternative(row.html_body, subtype="html", charset="utf-8")
    for item in row.attachments or []:  # text attachments, e.g. a calendar invitation
        # As bytes: a str part may be re-encoded with bare LF line ends, which breaks an .ics (RFC 5545).
        params = {"charset": "utf-8", **({"method": item["method"]} if item.get("method") else {})}
        maintype, _, subtype = item["content_type"].partition("/")
        msg.add_attachment(item["content"].encode("utf-8"), maintype=maintype, subtype=subtype,
                           filename=item["filename"], params=params)
    return msg


def _lease_seconds(settings: Settings) -> float:
    return float(settings.outbox_lease_seconds)


def _send_margin(settings: Settings, lease: float) -> float:
    """Stop starting new sends this long before the lease runs out (one send: MAIL, RCPT, DATA, RSET).
    The lease is renewed every third of it while the run is alive, so only a run whose renewal failed
    gets near this margin."""
    return min(4 * settings.smtp_timeout + 30, lease / 2)


def _connection_count(rows: int) -> int:
    return max(1, min(CONNECTIONS, math.ceil(rows / ROWS_PER_CONNECTION)))


class QueueFailure(Exception):
    """Not this message's fault: the server or our account refuses everything (see the module docstring)."""


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, QueueFailure):
        text = str(exc)
    elif isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{r.code} {r.message} <{r.recipient}>" for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
        text = f"{type(exc).__name__}: {text}" if not text.startswith(type(exc).__name__) else text
    return text[:MAX_ERROR_CHARS]


PERMANENT_SENDER_CODES = {552, 555}  # MAIL FROM refused for this message's size or parameters


def _verdict(exc: BaseException) -> str:
    """Whose failure an exception from sending one message is: "queue", "permanent" or "transient"."""
    if isinstance(exc, QueueFailure):
        return "queue"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return "permanent" if codes and all(500 <= c < 600 for c in codes) else "transient"
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        if 500 <= exc.code < 600:
            # the same sender goes on every mail: refused for every one, unless it is about this one's size
            return "permanent" if exc.code in PERMANENT_SENDER_CODES else "queue"
        return "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if 500 <= exc.code < 600 else "transient"
    if isinstance(exc, aiosmtplib.SMTPNotSupported):  # e.g. SMTPUTF8 for a non-ASCII address: never here
        return "permanent"
    return "transient"


# --- database steps (sync; run in a worker thread so the event loop stays free) ---------------------

def _claim(engine: Engine, settings: Settings, now: datetime, lease_until: datetime,
           enrich: Optional[Enricher] = None) -> tuple[list[OutboxMessage], dict[int, dict], Allowance]:
    """Lease up to a batch of due rows in one statement (no more than the sending quota leaves); the rows,
    what `enrich` adds to them, and the quota's allowance."""
    lease_free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    with unit_of_work(engine) as session:
        limit = settings.outbox_batch_size
        room = Allowance(None, None, {})
        if settings.outbox_quota_per_hour or settings.outbox_quota_per_day:
            conn = session.connection()
            queue_state.lock_state(conn)  # two deliverers never both spend the same room
            room = allowance(conn, domain_of(settings.mail_from), now,
                             settings.outbox_quota_per_hour, settings.outbox_quota_per_day)
            if room.left is not None:
                limit = min(limit, room.left)
            if limit <= 0:
                return [], {}, room
        due = (
            core_select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, lease_free)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            # Rows another deliverer is claiming right now are skipped. In a CTE, computed once: as a
            # subquery PostgreSQL may run it again for each row and, skipping the rows this very
            # statement has locked, pick more than the batch.
            due = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        else:
            due = due.cte("due")
        rows = list(session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(core_select(due.c.id)), OutboxMessage.status == "pending", lease_free)
            .values(lease_until=lease_until)
            .returning(OutboxMessage),
            execution_options={"synchronize_session": False},
        ).all())
        if not rows:
            return [], {}, room
        rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        return rows, (enrich(session, rows) if enrich else {}), room


def render_row(row: OutboxMessage, extra: dict) -> None:
    """Render a mail intent into the row's subject and bodies (in memory; stored when sent)."""
    if row.template:
        email = compose(row.template, **{**extra, **row.context})
        row.subject, row.text_body, row.html_body = email.subject, email.text, email.html


def _held(conn, ids: list[int], lease_until: datetime) -> set[int]:
    held_query = core_select(TABLE.c.id).where(TABLE.c.id.in_(ids), TABLE.c.lease_until == lease_until)
    if conn.dialect.name == "postgresql":
        held_query = held_query.with_for_update()  # nobody can take one over between this and the UPDATE
    return set(conn.scalars(held_query))


def _record(engine: Engine, lease_until: datetime, outcomes: list[tuple[int, dict]]) -> set[int]:
    """Write outcomes (row id, column values) in one transaction, each only while this run still holds
    that row's lease; the ids whose lease was lost (nothing written for them)."""
    ids = [row_id for row_id, _ in outcomes]
    groups: dict[tuple[str, ...], list[dict]] = {}
    with engine.begin() as conn:  # on SQLite: BEGIN IMMEDIATE, the write lock from the start
        held = _held(conn, ids, lease_until)
        for row_id, values in outcomes:
            if row_id in held:
                groups.setdefault(tuple(sorted(values)), []).append({"_id": row_id, "_lease": lease_until, **values})
        for params in groups.values():  # one executemany per shape of outcome (sent, retry, gave up, released)
            conn.execute(
                update(TABLE).where(TABLE.c.id == bindparam("_id"), TABLE.c.lease_until == bindparam("_lease")),
                params,
            )
    return set(ids) - held


def _renew(engine: Engine, ids: list[int], old: datetime, new: datetime) -> None:
    """Extend this run's lease on the rows it still holds (a row another run took over stays theirs)."""
    with engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.lease_until == old).values(lease_until=new))


class _Run:
    """One delivery run: the claimed rows, the lease they are held under (renewed while the run lives),
    the report, and the writer that records outcomes: one transaction at a time, each covering every
    outcome queued meanwhile, started once RECORD_ROWS wait, RECORD_SECONDS after the oldest came in,
    or when the run ends."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock,
                 lease_until: datetime, rows: list[OutboxMessage], lease: float):
        self.engine, self.settings, self.clock = engine, settings, clock
        self.lease_until, self.rows, self.lease = lease_until, rows, lease
        self.held_until_mono = time.monotonic() + lease  # the lease, on the monotonic clock
        self.report = DeliveryReport()
        self.domain = domain_of(settings.mail_from)
        self._queued: list[tuple[OutboxMessage, dict, bool]] = []  # (row, values, sent)
        self._unwritten = {row.id for row in rows}  # rows this run must keep leased
        self._db = asyncio.Lock()  # a renewal and a write never overlap: both name the current lease
        self._writer: Optional[asyncio.Task] = None
        self._draining = False  # the run is over: write everything now
        self.broken: Optional[BaseException] = None  # the database failed: stop sending, raise at the end
        self.halted: str = ""  # the server refuses every mail (QueueFailure): stop sending

    def _enqueue(self, row: OutboxMessage, values: dict, sent: bool = False) -> None:
        self._queued.append((row, values, sent))
        if sent or len(self._queued) >= RECORD_ROWS:
            # A mail the server accepted is recorded at once (group commit: one transaction takes every
            # outcome queued meanwhile): a deliverer killed now resends only what was in flight.
            self._start_writer()
        elif len(self._queued) == 1:  # written by RECORD_SECONDS at the latest, however slow the server
            asyncio.get_running_loop().call_later(RECORD_SECONDS, self._start_writer)

    def _start_writer(self) -> None:
        if self._queued and (self._writer is None or self._writer.done()):
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._queued and self.broken is None:
            chunk, self._queued = self._queued, []
            try:
                async with self._db:
                    lost = await asyncio.to_thread(_record, self.engine, self.lease_until,
                                                   [(row.id, values) for row, values, _ in chunk])
            except BaseException as exc:
                self.broken = exc
                raise
            self._unwritten.difference_update(row.id for row, _, _ in chunk)
            for row, _, sent in chunk:
                if sent and row.id in lost:  # the lease ran out and another deliverer took the row over
                    self.report.errors.append(
                        f"{row.to_addr}：已发送，但租约已过期，未能记录，可能重复发送（{row.message_id}）")
            if (len(self._queued) < RECORD_ROWS and not self._draining
                    and not any(sent for _, _, sent in self._queued)):
                return  # the rest (refusals, retries) waits for more (or for its timer)

    async def keep_lease(self) -> None:
        """Renew the lease every third of it, for as long as the run has rows to write."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                async with self._db:
                    ids = sorted(self._unwritten)
                    new = self.clock() + timedelta(seconds=self.lease)
                    if ids and new > self.lease_until:
                        await asyncio.to_thread(_renew, self.engine, ids, self.lease_until, new)
                        self.lease_until = new
                    self.held_until_mono = time.monotonic() + self.lease
            except Exception as exc:  # the senders stop before the old lease runs out
                log.warning("mail: lease not renewed: %s", exc)

    def may_start_a_send(self) -> bool:
        return time.monotonic() < self.held_until_mono - _send_margin(self.settings, self.lease)

    async def flush(self) -> None:
        """Wait until every outcome is written; raise what the database raised, if it did."""
        self._draining = True
        self._start_writer()
        while (writer := self._writer) is not None:
            await asyncio.gather(writer, return_exceptions=True)
            if self.broken is not None:
                raise self.broken
            if writer is self._writer:  # no newer writer was started meanwhile: all written
                return

    def sent(self, row: OutboxMessage) -> None:
        self._enqueue(row, {"status": "sent", "sent_at": self.clock(), "attempts": row.attempts + 1,
                            "lease_until": None, "subject": row.subject, "text_body": row.text_body,
                            "html_body": row.html_body, "sender_domain": self.domain},
                      sent=True)
        self.report.sent += 1

    def refused(self, row: OutboxMessage, error: str) -> None:
        """A permanent refusal: failed now, with the server's reason."""
        attempts = row.attempts + 1
        self._enqueue(row, {"attempts": attempts, "last_error": error, "lease_until": None,
                            "status": "failed", "failed_at": self.clock()})
        self.report.gave_up += 1
        self.report.errors.append(f"{row.to_addr}：服务器永久拒绝，不再重试（{row.subject}）：{error}")

    def failed(self, row: OutboxMessage, error: str) -> None:
        """A transient failure of this message: retried later, given up after the last attempt."""
        attempts = row.attempts + 1
        values: dict = {"attempts": attempts, "last_error": error, "lease_until": None}
        gave_up = attempts >= self.settings.outbox_max_attempts
        if gave_up:
            values.update(status="failed", failed_at=self.clock())
        else:
            delay = self.settings.outbox_backoff_seconds * 2 ** min(attempts - 1, 20)
            values["next_attempt_at"] = self.clock() + timedelta(seconds=delay)
        self._enqueue(row, values)
        if gave_up:
            self.report.gave_up += 1
            self.report.errors.append(f"{row.to_addr}：已尝试 {attempts} 次，放弃发送（{row.subject}）：{error}")
        else:
            self.report.retried += 1
            self.report.errors.append(f"{row.to_addr}：{error}（第 {attempts} 次尝试，稍后重试）")

    def release(self, rows, error: str = "") -> None:
        """Give back rows not tried in this run: no attempt counted, due again at once (or when the queue's
        back-off ends); `error` says why they wait."""
        for row in rows:
            self._enqueue(row, {"lease_until": None, **({"last_error": error} if error else {})})
            self.report.released += 1


def _smtp_target(settings: Settings) -> tuple[str, int]:
    if settings.smtp_host:
        return settings.smtp_host, settings.smtp_port
    return "127.0.0.1", settings.sink_port


def _tls_options(settings: Settings) -> dict:
    """aiosmtplib's options for QCFLOW_SMTP_TLS: auto upgrades whenever the server offers STARTTLS."""
    mode = settings.smtp_tls
    options = {"use_tls": mode == "tls", "start_tls": {"starttls": True, "auto": None}.get(mode, False)}
    if settings.smtp_ca_file:
        options["cert_bundle"] = settings.smtp_ca_file
    return options


async def _connect(settings: Settings, host: str, port: int) -> aiosmtplib.SMTP:
    smtp = aiosmtplib.SMTP(hostname=host, port=port, timeout=settings.smtp_timeout, **_tls_options(settings))
    try:
        await smtp.connect()
        if settings.smtp_user:
            if smtp.get_transport_info("sslcontext") is None and not settings.smtp_allow_plain_auth:
                raise QueueFailure("连接未加密（服务器未提供 STARTTLS），拒绝以明文发送 SMTP 密码；"
                                   "请在邮件服务器上启用 STARTTLS，或设置 QCFLOW_SMTP_TLS=tls，"
                                   "确需明文登录时设置 QCFLOW_SMTP_ALLOW_PLAIN_AUTH=true")
            await smtp.login(settings.smtp_user, settings.smtp_password)
        if smtp.is_ehlo_or_helo_needed:  # the extensions (SIZE) are known before the first message
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
    except BaseException:
        smtp.close()
        raise
    return smtp


async def _transaction(smtp: aiosmtplib.SMTP, sender: str, recipient: str, wire: bytes) -> None:
    """MAIL, RCPT, DATA for one message to one recipient, as `SMTP.sendmail` does it (same errors, RSET
    after a refusal), minus its address parsing: both addresses were checked by notifications.mime."""
    mail = [b"MAIL", b"FROM:<" + sender.encode("ascii") + b">"]
    if smtp.supports_extension("size"):  # RFC 1870: refused up front if too big
        mail.append(b"SIZE=%d" % len(wire))
    try:
        response = await smtp.execute_command(*mail)
        if response.code != 250:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
        response = await smtp.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
        if response.code not in (250, 251):
            raise aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)])
        await smtp.data(wire)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        try:
            await smtp.rset()
        except (ConnectionError, aiosmtplib.SMTPResponseException):
            pass  # disconnected on the reset, or a bad status: the first error is the one to report
        raise


async def _send(smtp: aiosmtplib.SMTP, row: OutboxMessage, settings: Settings, now: datetime) -> None:
    """Send one rendered row; raises what the server refused."""
    try:
        wire = message_bytes(row, settings.mail_from, settings.mail_from_name, now)
    except Unsupported:  # e.g. a non-ASCII address (SMTPUTF8): the email package and aiosmtplib handle it
        refused, _ = await smtp.send_message(build_message(row, settings, now), sender=settings.mail_from,
                                             recipients=[row.to_addr])
        if refused:
            raise aiosmtplib.SMTPRecipientsRefused(list(refused.values()))
        return
    await _transaction(smtp, settings.mail_from, row.to_addr, wire)


async def _sender(smtp: aiosmtplib.SMTP, queue: deque, run: _Run, extras: dict[int, dict]) -> None:
    """Send rows from the shared queue over one connection until the queue is empty, the connection
    breaks (or the server closes it, e.g. after a 421), the lease is about to run out, the server
    refuses every mail or the database fails."""
    settings, clock = run.settings, run.clock
    while queue and run.broken is None and not run.halted and smtp.is_connected:
        if not run.may_start_a_send():
            return  # the lease is running out: what is left goes back to the next run
        row = queue.popleft()
        try:
            render_row(row, extras.get(row.id, {}))
        except Exception as exc:  # a template fault: this mail cannot be written, the others go on
            run.failed(row, f"邮件模板“{row.template}”无法生成：{_error_text(exc)}")
            continue
        try:
            await _send(smtp, row, settings, clock())
        except (OSError, aiosmtplib.SMTPServerDisconnected) as exc:
            # The connection broke (timeouts are OSErrors too): this row counts an attempt, this
            # connection sends no more; the other connections go on with the rows not yet tried.
            run.failed(row, _error_text(exc))
            return
        except Exception as exc:  # refused recipient or sender, rejected data, unencodable address
            verdict = _verdict(exc)
            if verdict == "queue":
                run.halted = f"邮件服务器拒绝发件人 {settings.mail_from}：{_error_text(exc)}"
                queue.appendleft(row)  # not this message's fault: back with the others, no attempt
                return
            (run.refused if verdict == "permanent" else run.failed)(row, _error_text(exc))
        else:
            run.sent(row)


async def _close(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except Exception:
        smtp.close()


async def _queue_failure(run: _Run, rows, error: str, now: datetime) -> DeliveryReport:
    """The server cannot be reached or refuses every mail: the rows go back untried and the queue backs off."""
    run.release(rows, f"未发送（不计尝试次数）：{error}")
    await run.flush()
    settings = run.settings
    state = await asyncio.to_thread(queue_state.record_outage, run.engine, now, error,
                                    settings.outbox_backoff_seconds, settings.outbox_outage_max_backoff_seconds)
    run.report.held_until, run.report.outage = state["retry_at"], error
    run.report.errors.append(f"{error}；全部待发邮件暂停发送，{state['retry_at']:%Y-%m-%d %H:%M:%S} UTC 后重试，"
                             f"不计各邮件的尝试次数")
    log.warning("mail: %s (queue backs off until %s)", error, state["retry_at"].isoformat())
    return run.report


async def deliver_pending(engine: Engine, settings: Settings, clock: Clock,
                          enrich: Optional[Enricher] = None) -> DeliveryReport:
    """Send one batch of due outbox rows over a few SMTP connections. Never raises for SMTP problems."""
    claim_at = clock()
    state = await asyncio.to_thread(queue_state.current, engine)
    if queue_state.is_held(state, claim_at):  # the server was unreachable a moment ago: no mail is tried
        return DeliveryReport(held_until=state["retry_at"], outage=state["last_error"])
    lease = _lease_seconds(settings)
    lease_until = claim_at + timedelta(seconds=lease)
    rows, extras, room = await asyncio.to_thread(_claim, engine, settings, claim_at, lease_until, enrich)
    run = _Run(engine, settings, clock, lease_until, rows, lease)
    if room.left == 0:
        run.report.quota_until = room.when_free
    if not rows:
        return run.report

    keeper = asyncio.get_running_loop().create_task(run.keep_lease())
    try:
        return await _deliver_claimed(run, rows, extras, state)
    finally:
        keeper.cancel()


async def _deliver_claimed(run: _Run, rows: list[OutboxMessage], extras: dict, state: dict) -> DeliveryReport:
    settings = run.settings
    host, port = _smtp_target(settings)
    attempts = await asyncio.gather(*(_connect(settings, host, port) for _ in range(_connection_count(len(rows)))),
                                    return_exceptions=True)
    for exc in attempts:
        if isinstance(exc, BaseException) and not isinstance(exc, Exception):
            for smtp in attempts:
                if isinstance(smtp, aiosmtplib.SMTP):
                    smtp.close()
            raise exc  # cancelled, interrupted: not an SMTP problem
    connections = [smtp for smtp in attempts if isinstance(smtp, aiosmtplib.SMTP)]
    if not connections:  # down, refused, timeout, TLS or login failure: no message's fault
        error = f"连接邮件服务器 {host}:{port} 失败：{_error_text(attempts[0])}"
        return await _queue_failure(run, rows, error, run.clock())
    if len(connections) < len(attempts):  # the server takes fewer connections at once: go on with these
        log.info("mail: %d of %d connections to %s:%d opened", len(connections), len(attempts), host, port)
    if state["failing_since"] is not None:
        if await asyncio.to_thread(queue_state.record_recovery, run.engine, run.clock()):
            log.warning("mail: the mail server %s:%d answers again; delivery resumes", host, port)

    queue = deque(rows)
    try:
        await asyncio.gather(*(_sender(smtp, queue, run, extras) for smtp in connections))
        if run.halted:
            left = list(queue)
            queue.clear()
            return await _queue_failure(run, left, run.halted, run.clock())
        run.release(queue)  # not tried: the lease is running out, or every connection broke
        queue.clear()
    finally:
        await asyncio.gather(*(_close(smtp) for smtp in connections))
        await run.flush()
    return run.report


def deliver(engine: Engine, settings: Settings, clock: Clock, enrich: Optional[Enricher] = None) -> DeliveryReport:
    """Synchronous wrapper for scripts, the CLI and flows (not callable from inside a running event loop)."""
    return asyncio.run(deliver_pending(engine, settings, clock, enrich))
