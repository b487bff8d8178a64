"""Read models: what a case looks like to a page or the CLI. Reads only.

Who may see which of it is decided in qcflow.services.access: pages and commands read through it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any, Callable, Optional

from sqlmodel import Session, select

from models import Case, Center, Deadline, Person
from qcflow.core.clock import fmt_local, local_date
from qcflow.services.audit import EVENT_COLUMNS, first_break
from qcflow.store.numbering import document_number
from qcflow.store.raw import Raw
from states.registry import WORKFLOWS


def _names(session: Session, ids: set[Optional[int]]) -> dict[Optional[int], str]:
    ids = {i for i in ids if i is not None}
    rows = session.exec(select(Person).where(Person.id.in_(ids))).all() if ids else []
    return {None: "系统", **{p.id: p.name for p in rows}}


@dataclass(frozen=True)
class _Event:
    trigger: str
    from_state: str
    to_state: str
    actor_id: Optional[int]
    comment: str
    at: Any
    name: Optional[str]


@dataclass(frozen=True)
class _Deadline:
    step: str
    due_at: Any
    closed_at: Any
    reminded_at: Any
    escalated_at: Any


def case_detail(session: Session, case: Any) -> dict[str, Any]:
    workflow = WORKFLOWS[case.kind]
    raw = Raw(session)  # a page view: plain statements, the ORM's per-query cost is most of a page's time
    rows = raw.rows(f"SELECT {EVENT_COLUMNS}, p.name FROM caseevent e "  # the columns the hash chain check reads
                    "LEFT JOIN person p ON p.id = e.actor_id WHERE e.case_id = ? ORDER BY e.id", [case.id])
    events = [_Event(trigger, from_state, to_state, actor_id, comment, Raw.read_ts(at), name) for
              _, _, trigger, from_state, to_state, actor_id, comment, _, at, _, _, name in rows]
    names = {None: "系统", **{e.actor_id: e.name for e in events if e.actor_id is not None}}
    if case.created_by_id not in names:
        names.update(_names(session, {case.created_by_id}))
    found = raw.first("SELECT name FROM center WHERE id = ?", [case.center_id]) if case.center_id else None
    center = SimpleNamespace(name=found[0]) if found else None
    deadlines = [_Deadline(step, Raw.read_ts(due), Raw.read_ts(closed), Raw.read_ts(reminded), Raw.read_ts(escalated))
                 for step, due, closed, reminded, escalated in raw.rows(
                     "SELECT step, due_at, closed_at, reminded_at, escalated_at FROM deadline WHERE case_id = ? "
                     "ORDER BY id", [case.id])]
    labels = {t.trigger: t.label for t in workflow.transitions.values()}
    labels.update({"create": "新建", "escalate": "逾期督办"})
    broken = first_break(case.kind, rows)  # the history's hash chain (qcflow/services/audit.py)
    return {
        "id": case.id,
        "kind": case.kind,
        "kind_label": workflow.label,
        "title": case.title,
        "state": case.state,
        "state_label": workflow.state_label(case.state),
        "version": case.version,
        "center": center.name if center else "",
        "created_by": names.get(case.created_by_id, ""),
        "created_at": fmt_local(case.created_at),
        "number": document_number(session, case.id) if numbered(workflow) else "",
        "data": case.data,
        "fields": workflow.fields_for(case.data),
        "history": [
            {
                "at": fmt_local(e.at), "actor": names.get(e.actor_id, ""), "trigger": e.trigger,
                "action": labels.get(e.trigger, e.trigger),
                "from": workflow.state_label(e.from_state) if e.from_state else "",
                "to": workflow.state_label(e.to_state), "comment": e.comment,
            }
            for e in events
        ],
        "history_intact": broken is None,
        "history_warning": broken.warning() if broken else "",
        "deadlines": [
            {"step": d.step, "label": _step_label(workflow, d.step), "due": fmt_local(d.due_at), "open": d.closed_at is None,
             "reminded": d.reminded_at is not None, "escalated": d.escalated_at is not None}
            for d in deadlines
        ],
    }


def numbered(workflow) -> bool:
    return any(effects.assign_number for effects in workflow.on_enter.values())


def _step_label(workflow, step: str) -> str:
    return next((s.label for s in workflow.deadlines if s.step == step), step)


def due_rows(session: Session, today: date, center_code: Optional[str] = None,
             reveals: Optional[Callable[[Case], bool]] = None) -> list[dict[str, Any]]:
    """Open deadlines, soonest first: what is due and what is late, per center or for everyone.

    A private kind's title (Y§22) is shown only where `reveals(case)` says so; otherwise, and
    without `reveals`, only the kind and the number (qcflow.services.access decides per person)."""
    query = (select(Deadline, Case, Center).join(Case, Case.id == Deadline.case_id)
             .join(Center, Center.id == Case.center_id, isouter=True)
             .where(Deadline.closed_at.is_(None)).order_by(Deadline.due_at, Deadline.id))
    if center_code:
        query = query.where(Center.code == center_code)
    rows = []
    for deadline, case, center in session.exec(query).all():
        workflow = WORKFLOWS[case.kind]
        due = local_date(deadline.due_at)
        days = (due - today).days
        shown = not workflow.private or (reveals is not None and reveals(case))
        rows.append({
            "case_id": case.id, "kind": case.kind, "kind_label": workflow.label,
            "title": case.title if shown else f"{workflow.label} #{case.id}",
            "center": center.name if center else "", "center_code": center.code if center else "",
            "step": _step_label(workflow, deadline.step), "state_label": workflow.state_label(case.state),
            "due": due.isoformat(), "days_left": days, "late": days < 0,
            "status": f"逾期 {-days} 天" if days < 0 else ("今天到期" if days == 0 else f"还剩 {days} 天"),
            "escalated": deadline.escalated_at is not None,
        })
    return rows


def person_by_id(session: Session, person_id: int) -> Optional[SimpleNamespace]:
    """A person's id, name and email, for a page (one plain statement)."""
    row = Raw(session).first("SELECT id, name, email FROM person WHERE id = ?", [person_id])
    return SimpleNamespace(id=row[0], name=row[1], email=row[2]) if row else None
