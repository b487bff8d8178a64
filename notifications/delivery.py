"""Send what the outbox holds over SMTP: claim a batch, send it over one connection, record each outcome.

A row is claimed by a short transaction that sets `lease_until` with a compare-and-set on that row
(only if it is still pending and its lease is free), so two deliverers running at once never send the
same row. Each outcome is written in its own short transaction, guarded by the lease this run holds.
SMTP problems never raise: every claimed row ends up sent, rescheduled with backoff, given up
(status "failed") or released untouched, and the report says which.

When `smtp_host` is empty, mail goes to the local development sink on 127.0.0.1:`sink_port`
(see notifications.sink).
"""
from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import aiosmtplib
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, select

from models import OutboxMessage
from notifications.compose import compose
from notifications.config import MailSettings as Settings

Clock = Callable[[], datetime]
# Fills in, per row id, the context a mail intent leaves to delivery time (names, numbers).
Enricher = Callable[[Session, list[OutboxMessage]], dict[int, dict]]


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

LEASE_SECONDS = 300  # "a few minutes"; stretched when the SMTP timeout is long (see _lease_seconds)
MAX_ERROR_CHARS = 2000


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"已发送 {self.sent} 封，稍后重试 {self.retried} 封，放弃 {self.gave_up} 封"


def build_message(row: OutboxMessage, settings: Settings, now: datetime) -> EmailMessage:
    """The email for one outbox row: plain text and HTML alternatives, utf-8, stable Message-ID."""
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
    return max(LEASE_SECONDS, 6 * settings.smtp_timeout + 60)


def _send_margin(settings: Settings) -> float:
    """Stop starting new sends this long before the lease runs out (one send: MAIL, RCPT, DATA, RSET)."""
    return 4 * settings.smtp_timeout + 30


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{r.code} {r.message} <{r.recipient}>" for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
        text = f"{type(exc).__name__}: {text}" if not text.startswith(type(exc).__name__) else text
    return text[:MAX_ERROR_CHARS]


# --- database steps (sync; run in a worker thread so the event loop stays free) ---------------------

def _claim(engine: Engine, settings: Settings, now: datetime, lease_until: datetime,
           enrich: Optional[Enricher] = None) -> tuple[list[OutboxMessage], dict[int, dict]]:
    lease_free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    with unit_of_work(engine) as session:
        ids = session.exec(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, lease_free)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(settings.outbox_batch_size)
        ).all()
        claimed = []
        for row_id in ids:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", lease_free)
                .values(lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(row_id)
        if not claimed:
            return [], {}
        rows = list(session.exec(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        ).all())
        return rows, (enrich(session, rows) if enrich else {})


def render_row(row: OutboxMessage, extra: dict) -> None:
    """Render a mail intent into the row's subject and bodies (in memory; stored when sent)."""
    if row.template:
        email = compose(row.template, **{**extra, **row.context})
        row.subject, row.text_body, row.html_body = email.subject, email.text, email.html


def _guarded_update(engine: Engine, row: OutboxMessage, lease_until: datetime, values: dict) -> bool:
    """Write an outcome only while this run still holds the row's lease."""
    with unit_of_work(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.lease_until == lease_until)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class _Run:
    """One delivery run: the claimed rows, the lease they are held under, and the report."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock,
                 lease_until: datetime, rows: list[OutboxMessage]):
        self.engine, self.settings, self.clock = engine, settings, clock
        self.lease_until, self.rows = lease_until, rows
        self.report = DeliveryReport()

    async def sent(self, row: OutboxMessage) -> None:
        recorded = await asyncio.to_thread(
            _guarded_update, self.engine, row, self.lease_until,
            {"status": "sent", "sent_at": self.clock(), "attempts": row.attempts + 1, "lease_until": None,
             "subject": row.subject, "text_body": row.text_body, "html_body": row.html_body},
        )
        self.report.sent += 1
        if not recorded:  # the lease ran out and another deliverer took the row over
            self.report.errors.append(f"{row.to_addr}：已发送，但租约已过期，未能记录，可能重复发送（{row.message_id}）")

    async def failed(self, row: OutboxMessage, error: str, *, name_error: bool = True) -> None:
        attempts = row.attempts + 1
        values: dict = {"attempts": attempts, "last_error": error, "lease_until": None}
        gave_up = attempts >= self.settings.outbox_max_attempts
        if gave_up:
            values["status"] = "failed"
        else:
            delay = self.settings.outbox_backoff_seconds * 2 ** min(attempts - 1, 20)
            values["next_attempt_at"] = self.clock() + timedelta(seconds=delay)
        await asyncio.to_thread(_guarded_update, self.engine, row, self.lease_until, values)
        if gave_up:
            self.report.gave_up += 1
            self.report.errors.append(f"{row.to_addr}：已尝试 {attempts} 次，放弃发送（{row.subject}）：{error}")
        else:
            self.report.retried += 1
            if name_error:
                self.report.errors.append(f"{row.to_addr}：{error}（第 {attempts} 次尝试，稍后重试）")

    async def release(self, rows: list[OutboxMessage]) -> None:
        """Give back rows never tried in this run: no attempt counted, due again at once."""
        for row in rows:
            await asyncio.to_thread(_guarded_update, self.engine, row, self.lease_until, {"lease_until": None})


def _smtp_target(settings: Settings) -> tuple[str, int]:
    if settings.smtp_host:
        return settings.smtp_host, settings.smtp_port
    return "127.0.0.1", settings.sink_port


async def deliver_pending(engine: Engine, settings: Settings, clock: Clock,
                          enrich: Optional[Enricher] = None) -> DeliveryReport:
    """Send one batch of due outbox rows over one SMTP connection. Never raises for SMTP problems."""
    started = time.monotonic()
    claim_at = clock()
    lease = _lease_seconds(settings)
    lease_until = claim_at + timedelta(seconds=lease)
    rows, extras = await asyncio.to_thread(_claim, engine, settings, claim_at, lease_until, enrich)
    run = _Run(engine, settings, clock, lease_until, rows)
    if not rows:
        return run.report

    host, port = _smtp_target(settings)
    smtp = aiosmtplib.SMTP(
        hostname=host, port=port, timeout=settings.smtp_timeout,
        use_tls=settings.smtp_tls == "tls", start_tls=settings.smtp_tls == "starttls",
    )
    try:
        await smtp.connect()
        if settings.smtp_user:
            await smtp.login(settings.smtp_user, settings.smtp_password)
    except Exception as exc:  # server down, refused, TLS or login failure: every row gets an attempt
        error = f"连接邮件服务器 {host}:{port} 失败：{_error_text(exc)}"
        run.report.errors.append(error)
        for row in rows:
            await run.failed(row, error, name_error=False)
        smtp.close()
        return run.report

    try:
        for index, row in enumerate(rows):
            if time.monotonic() - started > lease - _send_margin(settings):
                await run.release(rows[index:])  # the lease is running out: leave the rest to the next run
                break
            try:
                render_row(row, extras.get(row.id, {}))
            except Exception as exc:  # a template fault: this mail cannot be written, the others go on
                await run.failed(row, f"邮件模板“{row.template}”无法生成：{_error_text(exc)}")
                continue
            try:
                message = build_message(row, settings, now=clock())
                refused, _ = await smtp.send_message(message, sender=settings.mail_from,
                                                     recipients=[row.to_addr])
            except (OSError, aiosmtplib.SMTPServerDisconnected) as exc:
                # The connection broke (timeouts are OSErrors too): this row counts an attempt,
                # the ones not yet tried go back untouched.
                await run.failed(row, _error_text(exc))
                await run.release(rows[index + 1:])
                break
            except Exception as exc:  # refused recipient or sender, rejected data, unencodable address
                await run.failed(row, _error_text(exc))
            else:
                if refused:
                    await run.failed(row, "; ".join(f"{r.code} {r.message}" for r in refused.values()))
                else:
                    await run.sent(row)
    finally:
        try:
            await smtp.quit()
        except Exception:
            smtp.close()
    return run.report


def deliver(engine: Engine, settings: Settings, clock: Clock, enrich: Optional[Enricher] = None) -> DeliveryReport:
    """Synchronous wrapper for scripts, the CLI and flows (not callable from inside a running event loop)."""
    return asyncio.run(deliver_pending(engine, settings, clock, enrich))
