"""Who is told what: a step writes mail intents (template + context) to the outbox in its transaction.

The mail is rendered when it is delivered (notifications.delivery), from the context fixed here:
the due date a mail names is the one the step set. What may change later and costs a query to
know (the commission's and the center's names, the document number) is filled in at delivery
when the step did not already know it (see qcflow.services.mail.enrich).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlmodel import Session

from qcflow.core.runtime import get_settings
from qcflow.store.raw import Raw

@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    person_id: Optional[int]


def message_domain() -> str:
    return get_settings().mail_from.partition("@")[2] or "qcflow.local"


def outbox_row(to: Recipient, template: str, context: dict[str, Any], case_id: Optional[int], now: datetime,
               domain: str, attachments: Optional[list[dict[str, str]]] = None) -> dict[str, Any]:
    """One outbox row as a plain dict, for a batched insert."""
    return {
        "message_id": f"<{uuid.uuid4().hex}@{domain}>", "case_id": case_id, "to_addr": to.email,
        "to_name": to.name, "template": template, "context": {**context, "recipient_name": to.name},
        "subject": "", "text_body": "", "html_body": "", "attachments": list(attachments or []),
        "status": "pending", "attempts": 0, "last_error": "", "created_at": now, "next_attempt_at": now,
    }


def write_rows(raw: Raw, rows: list[dict[str, Any]]) -> None:
    raw.insert("outboxmessage", rows, times=("created_at", "next_attempt_at"), jsons=("context", "attachments"))


def enqueue(session: Session, to: Recipient, template: str, context: dict[str, Any], case_id: Optional[int],
            now: datetime, attachments: Optional[list[dict[str, str]]] = None) -> None:
    """Queue one email outside a case step (a center's obligation notice). Attachments are text parts:
    {filename, content_type, content[, method]}."""
    write_rows(Raw(session), [outbox_row(to, template, context, case_id, now, message_domain(), attachments)])


def _recipients(rows: list[tuple]) -> list[Recipient]:
    return [Recipient(email, name, pid) for pid, email, name in rows]


def people(raw: Raw, ids: Iterable[Optional[int]]) -> list[Recipient]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return _recipients(raw.rows(f"SELECT id, email, name FROM person WHERE id IN ({raw.in_list(wanted)}) ORDER BY id",
                                wanted))


def people_by_email(raw: Raw, emails: Iterable[Any]) -> list[Recipient]:
    wanted = sorted({str(e).strip().lower() for e in emails})
    if not wanted:
        return []
    return _recipients(raw.rows(f"SELECT id, email, name FROM person WHERE email IN ({raw.in_list(wanted)}) ORDER BY id",
                                wanted))


def holders_of(raw: Raw, roles: list[str], center_id: Optional[int] = None, any_center: bool = True) -> list[Recipient]:
    sql = (f"SELECT DISTINCT p.id, p.email, p.name FROM person p JOIN roleassignment r ON r.person_id = p.id "
           f"WHERE r.role IN ({raw.in_list(roles)})")
    params: list[Any] = list(roles)
    if not any_center:
        if center_id is None:
            sql += " AND r.center_id IS NULL"
        else:
            sql += " AND r.center_id = ?"
            params.append(center_id)
    return _recipients(raw.rows(sql + " ORDER BY p.id", params))


def center_people(session: Session, center_id: Optional[int], roles: Iterable[str]) -> list[Recipient]:
    return holders_of(Raw(session), list(roles), center_id, any_center=False)
