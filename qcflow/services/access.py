"""The one read service (Y§22): what a person may see of a case, for every kind and every entry point.

The policy is states/privacy.py; this module loads what it needs (the person's roles and
institution, the case), applies it, and writes the access log: every opening of a private case's
details is recorded, by whom and through what channel. Pages and commands read cases only through
`readable_detail`, `visible_rows`, `count_rows` and `visible_due`.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from sqlalchemy import text
from sqlmodel import Session

from models import AccessLog
from qcflow import engine
from qcflow.core.clock import fmt_local, utcnow
from qcflow.services.queries import case_detail, due_rows, numbered
from qcflow.store.numbering import document_numbers
from qcflow.store.raw import Raw
from states import privacy
from states.privacy import ANONYMOUS, Reader, Subject
from states.registry import WORKFLOWS
from states.rules import Actor, Reason, Refused


# --- who is asking -------------------------------------------------------------------------------

def reader_of(session: Session, person_id: Optional[int]) -> Reader:
    """The person with their roles and institution (one statement); anonymous for None or an unknown id."""
    if person_id is None:
        return ANONYMOUS
    rows = Raw(session).rows(
        "SELECT p.id, p.name, p.email, i.code, r.role, r.center_id FROM person p "
        "LEFT JOIN institution i ON i.id = p.institution_id "
        "LEFT JOIN roleassignment r ON r.person_id = p.id WHERE p.id = ?", [person_id])
    if not rows:
        return ANONYMOUS
    pid, name, email, institution = rows[0][:4]
    roles = frozenset((role, center) for *_, role, center in rows if role)
    return Reader(Actor(pid, name, roles), email or "", institution or "")


def identify(session: Session, kind: str, email: Optional[str]) -> Optional[int]:
    """The person a command reads as (`--as`). A private kind is never read anonymously: refused (Y§22)."""
    workflow = engine.workflow_for(kind)
    if not email:
        if workflow.private:
            raise Refused([Reason(privacy.RULE, f"{workflow.label}属于受保护的质控数据，查看须用 --as 指明您的邮箱，"
                                                f"系统按您的身份决定可见内容并记录查阅")])
        return None
    return engine.person_by_email(session, email).id


def _subject(case: Any) -> Subject:
    workflow = engine.workflow_for(case.kind)
    return privacy.subject(case.id, case.kind, workflow.label, workflow.private, case.center_id, case.data or {})


# --- one case ------------------------------------------------------------------------------------

def may_read(session: Session, case: Any, person_id: Optional[int]) -> Optional[Reason]:
    """None when the person may open the case (perhaps in part); else the Y§22 reason why not."""
    return privacy.refusal(_subject(case), reader_of(session, person_id))


def readable_detail(session: Session, case: Any, person_id: Optional[int], channel: str,
                    record: bool = True, link_email: str = "") -> dict[str, Any]:
    """The case detail (see queries.case_detail) with what this person may not see removed, and
    `access` saying how much they see. Refused (Y§22) when they may not open it at all. The opening
    of a private case is written to the access log in the caller's transaction; `record=False` for a
    view that is not the person's read (a GET of their emailed link: a mail scanner opens it too).
    `link_email`: the address a signed link was mailed to, for a holder the directory does not list."""
    subject, reader = _subject(case), reader_of(session, person_id)
    if reader.actor is None and link_email:
        reader = Reader(email=link_email.strip().lower())
    reason = privacy.refusal(subject, reader)
    if reason is not None:
        raise Refused([reason])
    access = privacy.level(subject, reader)
    detail = case_detail(session, case)
    if subject.private:
        if record and reader.actor is not None and reader.actor.person_id is not None:
            log_access(session, case.id, reader.actor.person_id, channel)
        detail["data"] = privacy.visible_data(detail["data"], access)
        if not privacy.shows_history_details(access):
            detail["history"] = [{**e, "actor": "", "comment": ""} for e in detail["history"]]
    detail["access"] = access
    return detail


def log_access(session: Session, case_id: int, person_id: int, channel: str) -> None:
    session.add(AccessLog(case_id=case_id, person_id=person_id, channel=channel, at=utcnow()))
    session.flush()


# --- lists ---------------------------------------------------------------------------------------

def visible_rows(session: Session, kind: str, person_id: Optional[int], state: Optional[str] = None,
                 limit: Optional[int] = None, offset: int = 0, query: Optional[str] = None) -> list[dict[str, Any]]:
    """The kind's cases, oldest first, as this person may see them: a private case's title only
    where they may open it, else its kind and number. `query` matches what they see, never a
    hidden title (else a search would tell who has a death at which hospital)."""
    workflow = engine.workflow_for(kind)
    reader = reader_of(session, person_id)
    rows = _rows(session, kind, reader, state, query)
    rows = rows[max(offset, 0):] if limit is None else rows[max(offset, 0):max(offset, 0) + max(limit, 0)]
    numbers = document_numbers(session, [r[0] for r in rows]) if numbered(workflow) else {}
    return [{"id": case_id, "title": title, "state": state_, "state_label": workflow.state_label(state_),
             "number": numbers.get(case_id, ""), "updated_at": fmt_local(Raw.read_ts(updated))}
            for case_id, title, state_, updated in rows]


def count_rows(session: Session, kind: str, person_id: Optional[int], state: Optional[str] = None,
               query: Optional[str] = None, **_ignored: Any) -> int:
    """How many rows `visible_rows` gives with the same filters (for pagination)."""
    engine.workflow_for(kind)
    return len(_rows(session, kind, reader_of(session, person_id), state, query))


def _rows(session: Session, kind: str, reader: Reader, state: Optional[str],
          query: Optional[str]) -> list[tuple[int, str, str, Any]]:
    workflow = engine.workflow_for(kind)
    blanket = privacy.blanket_level(workflow.private, reader, kind)
    per_case = blanket is None  # only then is each case's center, hospital and reviewers needed
    columns = "id, title, state, updated_at" + (", center_id, data" if per_case else "")
    sql, params = f"SELECT {columns} FROM qc_case WHERE kind = :kind", {"kind": kind}
    if state:
        sql, params = sql + " AND state = :state", {**params, "state": state}
    needle = (query or "").strip().casefold()
    out = []
    # Through SQLAlchemy, not Raw: a list is often the first command run, and a missing schema must
    # reach the CLI as the "run qcflow init" error, not as a driver traceback.
    for row in session.execute(text(sql + " ORDER BY id"), params).all():
        case_id, title, state_, updated = row[:4]
        if blanket == privacy.NONE:
            title = f"{workflow.label} #{case_id}"
        elif per_case:
            subject = privacy.subject(case_id, kind, workflow.label, True, row[4], Raw.read_js(row[5]) or {})
            title = privacy.list_title(subject, reader, title)
        if needle and needle not in title.casefold():
            continue
        out.append((case_id, title, state_, updated))
    return out


def visible_due(session: Session, today: date, person_id: Optional[int],
                center_code: Optional[str] = None) -> list[dict[str, Any]]:
    """What is due and what is late, with a private case's title only for those who may open it."""
    reader = reader_of(session, person_id)
    return due_rows(session, today, center_code,
                    reveals=lambda case: privacy.refusal(_subject(case), reader) is None)
