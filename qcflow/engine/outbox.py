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
    digest: Optional[bool] = None  # chose 每日待办汇总 (None: not looked up; write_rows looks it up)


def message_domain() -> str:
    return get_settings().mail_from.partition("@")[2] or "qcflow.local"


HELD = "held"  # a task mail kept for the person's 每日待办汇总 (never sent on its own)
DIGESTED = "digested"  # a held task mail the digest has covered
_HOLD_FOR = "_hold_for"  # row key (not a column): the person whose digest choice may hold this mail


def outbox_row(to: Recipient, template: str, context: dict[str, Any], case_id: Optional[int], now: datetime,
               domain: str, attachments: Optional[list[dict[str, str]]] = None, task: bool = False) -> dict[str, Any]:
    """One outbox row as a plain dict, for a batched insert. `task`: a mail asking the person to act,
    held instead of sent when the person chose the daily digest (decided in write_rows)."""
    row = {
        "message_id": f"<{uuid.uuid4().hex}@{domain}>", "case_id": case_id, "to_addr": to.email,
        "to_name": to.name, "template": template, "context": {**context, "recipient_name": to.name},
        "subject": "", "text_body": "", "html_body": "", "attachments": list(attachments or []),
        "status": "pending", "attempts": 0, "last_error": "", "created_at": now, "next_attempt_at": now,
    }
    if task and to.digest:
        row["status"] = HELD
    elif task and to.digest is None and to.person_id is not None:
        row[_HOLD_FOR] = to.person_id
    return row


def write_rows(raw: Raw, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; task mails to people who chose the daily digest are stored `held`, so the
    digest covers them and nothing is lost. The recipient look-ups below read the choice with the person;
    for anyone resolved otherwise it is read here, one query for the whole batch."""
    marks = [r.pop(_HOLD_FOR, None) for r in rows]
    wanted = sorted({m for m in marks if m is not None})
    if wanted:
        digest = {pid for (pid,) in raw.rows(
            f"SELECT person_id FROM personsetting WHERE daily_digest = ? AND person_id IN ({raw.in_list(wanted)})",
            [True, *wanted])}
        for row, mark in zip(rows, marks):
            if mark in digest:
                row["status"] = HELD
    raw.insert("outboxmessage", rows, times=("created_at", "next_attempt_at"), jsons=("context", "attachments"))


def enqueue(session: Session, to: Recipient, template: str, context: dict[str, Any], case_id: Optional[int],
            now: datetime, attachments: Optional[list[dict[str, str]]] = None) -> None:
    """Queue one email outside a case step (a center's obligation notice). Attachments are text parts:
    {filename, content_type, content[, method]}."""
    write_rows(Raw(session), [outbox_row(to, template, context, case_id, now, message_domain(), attachments)])


# Each recipient query reads the person's digest choice with them: no query of its own per step.
_DIGEST_COLUMN = "COALESCE(s.daily_digest, FALSE)"
_DIGEST_JOIN = "LEFT JOIN personsetting s ON s.person_id = p.id"


def _recipients(rows: list[tuple]) -> list[Recipient]:
    return [Recipient(email, name, pid, bool(digest)) for pid, email, name, digest in rows]


def people(raw: Raw, ids: Iterable[Optional[int]]) -> list[Recipient]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return _recipients(raw.rows(f"SELECT p.id, p.email, p.name, {_DIGEST_COLUMN} FROM person p {_DIGEST_JOIN} "
                                f"WHERE p.id IN ({raw.in_list(wanted)}) ORDER BY p.id", wanted))


def people_by_email(raw: Raw, emails: Iterable[Any]) -> list[Recipient]:
    wanted = sorted({str(e).strip().lower() for e in emails})
    if not wanted:
        return []
    return _recipients(raw.rows(f"SELECT p.id, p.email, p.name, {_DIGEST_COLUMN} FROM person p {_DIGEST_JOIN} "
                                f"WHERE p.email IN ({raw.in_list(wanted)}) ORDER BY p.id", wanted))


def holders_of(raw: Raw, roles: list[str], center_id: Optional[int] = None, any_center: bool = True) -> list[Recipient]:
    sql = (f"SELECT DISTINCT p.id, p.email, p.name, {_DIGEST_COLUMN} FROM person p "
           f"JOIN roleassignment r ON r.person_id = p.id {_DIGEST_JOIN} WHERE r.role IN ({raw.in_list(roles)})")
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
