"""Deliver the outbox with the process's database, settings and clock, and render what waits in it.

A step stores a mail intent (template and context); the names that cost a query to know — the
commission's, the center's, a document number issued earlier — are filled in here, for a whole
delivery batch at once.

When the mail server has been unreachable for QCFLOW_MAIL_ALERT_AFTER_MINUTES, the commission's staff
are told once per outage: a log line at ERROR at once, the alert on /outbox and in `qcflow outbox list`
at once, and a mail (queued like any other: it goes out when the server is back, since mail cannot
announce its own outage).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import update
from sqlmodel import Session, select

from models import Center, Commission, OutboxMessage
from models.outbox import QUEUE_STATE_ID, MailQueueState
from notifications import delivery
from notifications.compose import Email, compose
from notifications.delivery import DeliveryReport
from notifications.queue_state import read_state
from qcflow.core.clock import fmt_local, utcnow
from qcflow.core.runtime import get_settings
from qcflow.core.settings import Settings
from qcflow.engine.outbox import enqueue, holders_of
from qcflow.store.db import get_engine, unit_of_work
from qcflow.store.numbering import document_numbers
from qcflow.store.raw import Raw
from states.outbox_policy import OUTBOX_STAFF_ROLES

log = logging.getLogger(__name__)
ALERT_TEMPLATE = "mail_outage_alert"

DEFAULT_COMMISSION_NAME = "卫生健康委员会"


def enrich(session: Session, rows: list[OutboxMessage]) -> dict[int, dict[str, Any]]:
    """The context each intent lacks, per row id: names and numbers as they are now."""
    intents = [r for r in rows if r.template]
    if not intents:
        return {}
    commission = session.exec(select(Commission.name)).first() or DEFAULT_COMMISSION_NAME
    center_ids = {r.context.get("_center_id") for r in intents} - {None}
    centers = dict(session.exec(select(Center.id, Center.name).where(Center.id.in_(center_ids))).all()) \
        if center_ids else {}
    numbers = document_numbers(session, sorted({r.case_id for r in intents
                                                if r.case_id and "doc_number" not in r.context}))
    return {r.id: {"commission_name": commission, "center_name": centers.get(r.context.get("_center_id"), ""),
                   "doc_number": numbers.get(r.case_id, "")} for r in intents}


def render(session: Session, row: OutboxMessage) -> Email:
    """The mail a row will be (or was) sent as."""
    if not row.template:
        return Email(row.subject, row.text_body, row.html_body)
    return compose(row.template, **{**enrich(session, [row]).get(row.id, {}), **row.context})


def deliver_outbox(settings: Optional[Settings] = None) -> DeliveryReport:
    settings = settings or get_settings()
    report = delivery.deliver(get_engine(), settings, utcnow, enrich)
    if report.held_until is not None:
        raise_alert_if_due(settings)
    return report


def raise_alert_if_due(settings: Settings) -> bool:
    """Tell the commission, once per outage, that mail has failed for the configured time. True if told now."""
    after = settings.mail_alert_after_minutes
    if not after:
        return False
    now = utcnow()
    table = MailQueueState.__table__
    with unit_of_work() as session:
        conn = session.connection()
        won = conn.execute(update(table).where(
            table.c.id == QUEUE_STATE_ID, table.c.failing_since.is_not(None),
            table.c.failing_since <= now - timedelta(minutes=after), table.c.alert_raised_at.is_(None),
        ).values(alert_raised_at=now)).rowcount == 1
        if not won:  # not yet, not failing, or already told (by this or another deliverer)
            return False
        state = read_state(conn)
        staff = holders_of(Raw(session), list(OUTBOX_STAFF_ROLES), None, any_center=False)
        context = {"failing_since": fmt_local(state["failing_since"]), "alert_after": after,
                   "error": state["last_error"], "outbox_url": settings.public_base_url.rstrip("/") + "/outbox"}
        for person in staff:
            enqueue(session, person, ALERT_TEMPLATE, context, None, now)
    log.error("mail: delivery has failed since %s (%s); the commission's staff (%d) are alerted on /outbox "
              "and by mail once the server is back", state["failing_since"].isoformat(), state["last_error"],
              len(staff))
    return True
