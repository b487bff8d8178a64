"""Deliver the outbox with the process's database, settings and clock, and render what waits in it.

A step stores a mail intent (template and context); the names that cost a query to know — the
commission's, the center's, a document number issued earlier — are filled in here, for a whole
delivery batch at once.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session, select

from models import Center, Commission, OutboxMessage
from notifications import delivery
from notifications.compose import Email, compose
from notifications.delivery import DeliveryReport
from qcflow.core.clock import utcnow
from qcflow.core.runtime import get_settings
from qcflow.core.settings import Settings
from qcflow.store.db import get_engine
from qcflow.store.numbering import document_numbers

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
    return delivery.deliver(get_engine(), settings or get_settings(), utcnow, enrich)
