"""Turn a workflow's notifications into outbox rows, in the caller's transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlmodel import Session, select

from models import Case, CaseEvent, Center, Commission, DocumentNumber, OutboxMessage, Person, RoleAssignment
from notifications.compose import compose
from qcflow.core.clock import utcnow
from qcflow.store.links import make_link
from qcflow.core.runtime import get_settings
from states.docnumber import render_document_number
from states.workflow import Notify, Workflow


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    person_id: Optional[int]


def resolve(session: Session, case: Case, to: str) -> list[Recipient]:
    """Who `to` names for this case (see states.workflow.Notify)."""
    def people(ids: Iterable[Optional[int]]) -> list[Recipient]:
        ids = sorted({i for i in ids if i is not None})
        rows = session.exec(select(Person).where(Person.id.in_(ids))).all() if ids else []
        return [Recipient(p.email, p.name, p.id) for p in sorted(rows, key=lambda p: p.id)]

    kind, _, arg = to.partition(":")
    if kind == "creator":
        return people([case.created_by_id])
    if kind == "role":
        return people(r.person_id for r in session.exec(select(RoleAssignment).where(RoleAssignment.role == arg)))
    if kind == "center":
        return center_people(session, case.center_id, arg.split(","))
    if kind == "actor_of":
        event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == arg)
                             .order_by(CaseEvent.id.desc())).first()
        return people([event.actor_id] if event else [])
    if kind == "assigned":
        emails = [str(e).lower() for e in case.data.get("reviewers", [])]
        rows = session.exec(select(Person).where(Person.email.in_(emails))).all() if emails else []
        return [Recipient(p.email, p.name, p.id) for p in sorted(rows, key=lambda p: p.id)]
    if kind == "pending_experts":
        votes = case.data.get("votes", {})
        emails = [str(e).lower() for e in case.data.get("experts", [])]
        rows = session.exec(select(Person).where(Person.email.in_(emails))).all() if emails else []
        return [Recipient(p.email, p.name, p.id) for p in rows if str(p.id) not in votes]
    if kind == "recipients":
        return [Recipient(str(r["email"]).lower(), str(r["name"]), None) for r in case.data.get("recipients", [])]
    raise ValueError(f"unknown recipient spec {to!r}")


def center_people(session: Session, center_id: Optional[int], roles: Iterable[str]) -> list[Recipient]:
    rows = session.exec(select(RoleAssignment).where(RoleAssignment.role.in_(list(roles)),
                                                     RoleAssignment.center_id == center_id)).all()
    ids = sorted({r.person_id for r in rows})
    people = session.exec(select(Person).where(Person.id.in_(ids))).all() if ids else []
    return [Recipient(p.email, p.name, p.id) for p in sorted(people, key=lambda p: p.id)]


def document_number(session: Session, case: Case) -> str:
    row = session.exec(select(DocumentNumber).where(DocumentNumber.case_id == case.id)).first()
    return render_document_number(row.organ_code, row.year, row.seq) if row else ""


def base_context(session: Session, workflow: Workflow, case: Case) -> dict[str, Any]:
    commission = session.exec(select(Commission)).first()
    center = session.get(Center, case.center_id) if case.center_id else None
    return {
        "commission_name": commission.name if commission else "卫生健康委员会",
        # Y§22: a private case is named by its number only; the details stay behind the link.
        "case_title": f"{workflow.label} #{case.id}" if workflow.private else case.title,
        "kind_label": workflow.label,
        "center_name": center.name if center else "",
        "state_label": workflow.state_label(case.state),
        "doc_number": document_number(session, case),
        "due_date": "",
        "step_label": "",
    }


def enqueue(session: Session, to: Recipient, template: str, context: dict[str, Any],
            case_id: Optional[int], attachments: Optional[list[dict[str, str]]] = None) -> OutboxMessage:
    """Queue one email. Attachments are text parts: {filename, content_type, content[, method]}."""
    # Mail goes out in real time even when a sweep runs "as of" another day.
    now = utcnow()
    email = compose(template, recipient_name=to.name, **context)
    domain = get_settings().mail_from.partition("@")[2] or "qcflow.local"
    row = OutboxMessage(
        message_id=f"<{uuid.uuid4().hex}@{domain}>", case_id=case_id, to_addr=to.email, to_name=to.name,
        subject=email.subject, text_body=email.text, html_body=email.html, created_at=now, next_attempt_at=now,
        attachments=list(attachments or []),
    )
    session.add(row)
    return row


def notify_all(session: Session, workflow: Workflow, case: Case, notices: Iterable[Notify],
               extra: Optional[dict[str, Any]] = None) -> int:
    notices = list(notices)
    if not notices:
        return 0
    context = {**base_context(session, workflow, case), **(extra or {})}
    if not context["due_date"]:
        from qcflow.engine.deadlines import open_due_label
        context["due_date"] = open_due_label(session, case)
    count = 0
    for notice in notices:
        excluded = {p.email for p in resolve(session, case, notice.exclude)} if notice.exclude else set()
        for person in resolve(session, case, notice.to):
            if person.email in excluded:
                continue
            link = make_link(session, case, person.email, person.person_id, notice.purpose)
            enqueue(session, person, notice.template, {**context, "link": link}, case.id)
            count += 1
    session.flush()
    return count
