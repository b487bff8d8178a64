"""The one place that changes a case.

`fire` runs inside the caller's transaction: it checks the actor and the workflow's rules, moves
the state, appends the history, assigns numbers, opens and closes deadlines and writes the emails
to the outbox. If anything fails, the caller's rollback undoes all of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Case, CaseEvent, Center, Commission, Person, RoleAssignment
from qcflow.engine import deadlines, plugins
from qcflow.engine.plugins import facts_for
from qcflow.core.clock import local_date, utcnow
from qcflow.store.numbering import take_next_number
from qcflow.engine.outbox import notify_all
from states.registry import WORKFLOWS
from states.rules import SYSTEM, Actor, CaseView, Conflict, PastEvent, Reason, Refused
from states.workflow import Attempt, Transition, Workflow


@dataclass
class FireResult:
    case: Case
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (trigger, from, to)


def workflow_for(kind: str) -> Workflow:
    try:
        return WORKFLOWS[kind]
    except KeyError:
        known = "、".join(f"{k}（{w.label}）" for k, w in WORKFLOWS.items())
        raise Refused([Reason("", f"没有“{kind}”这类事项；可用：{known}")]) from None


def person_by_email(session: Session, email: str) -> Person:
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise Refused([Reason("", f"人员名录中没有邮箱为 {email} 的人员；请先导入名录（qcflow directory load）")])
    return person


def actor_of(session: Session, person: Person) -> Actor:
    rows = session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id)).all()
    return Actor(person.id, person.name, frozenset((r.role, r.center_id) for r in rows))


def view_of(session: Session, case: Case, now: Optional[datetime] = None) -> CaseView:
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    return CaseView(
        kind=case.kind, state=case.state, center_id=case.center_id, created_by_id=case.created_by_id,
        data=dict(case.data), history=tuple(PastEvent(e.trigger, e.actor_id, e.to_state) for e in events),
        facts=facts_for(session, case, now or utcnow()),
    )


def load_case(session: Session, kind: str, case_id: int, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id, Case.kind == kind)
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise Refused([Reason("", f"没有编号为 {case_id} 的{workflow_for(kind).label}")])
    return case


def create_case(session: Session, kind: str, email: str, data: dict[str, Any],
                now: Optional[datetime] = None) -> Case:
    now = now or utcnow()
    workflow = workflow_for(kind)
    person = person_by_email(session, email)
    center_code = str(data.get("center") or "")
    center = session.exec(select(Center).where(Center.code == center_code)).first()
    if center is None and workflow.belongs_to_center:
        raise Refused([Reason("", f"没有代码为“{center_code}”的质控中心；请在数据中填写 center（质控中心代码）")])
    content = {k: v for k, v in data.items() if k != "center"}
    center_id = center.id if center else None
    reasons = workflow.check_create(actor_of(session, person), center_id) + workflow.validate_new(content)
    if reasons:
        raise Refused(reasons)
    case = Case(kind=kind, state=workflow.initial, title=workflow.title_of(content).strip() or "（无标题）",
                center_id=center_id, created_by_id=person.id, data=content, created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    session.add(CaseEvent(case_id=case.id, trigger="create", from_state="", to_state=case.state,
                          actor_id=person.id, at=now))
    session.flush()
    return case


def fire(session: Session, kind: str, case_id: int, trigger: str, *, email: Optional[str] = None,
         person: Optional[Person] = None, comment: str = "", changes: Optional[dict[str, Any]] = None,
         expected_version: Optional[int] = None, now: Optional[datetime] = None) -> FireResult:
    """Fire `trigger` on the case as the person (or the system when neither is given)."""
    now = now or utcnow()
    workflow = workflow_for(kind)
    if person is None and email is not None:
        person = person_by_email(session, email)
    actor = actor_of(session, person) if person is not None else SYSTEM
    case = load_case(session, kind, case_id, lock=True)
    if expected_version is not None and case.version != expected_version:
        raise Conflict()
    result = FireResult(case)
    _step(session, workflow, case, actor, Attempt(trigger, comment.strip(), dict(changes or {})), now, result)
    return result


def _step(session: Session, workflow: Workflow, case: Case, actor: Actor, attempt: Attempt,
          now: datetime, result: FireResult) -> None:
    before = case.state
    after = workflow.next_state(view_of(session, case, now), actor, attempt)  # raises Refused
    transition = workflow.transitions[attempt.trigger]
    data = transition.apply(case.data, attempt.changes, actor) if attempt.changes else dict(case.data)
    title = workflow.title_of(data).strip() or case.title
    values = {"state": after, "data": data, "title": title, "version": case.version + 1, "updated_at": now,
              "round": case.round + (after != before)}
    if "center" in attempt.changes and not workflow.belongs_to_center:  # e.g. a review assigned to a center
        values["center_id"] = session.exec(select(Center.id).where(Center.code == str(data["center"]))).one()
    moved = session.execute(
        update(Case).where(Case.id == case.id, Case.version == case.version).values(**values)
    )
    if moved.rowcount != 1:
        raise Conflict()
    session.refresh(case)
    session.add(CaseEvent(case_id=case.id, trigger=attempt.trigger, from_state=before, to_state=after,
                          actor_id=actor.person_id, comment=attempt.comment,
                          details={"changed": sorted(attempt.changes)} if attempt.changes else {}, at=now))
    session.flush()
    result.steps.append((attempt.trigger, before, after))
    notify_all(session, workflow, case, transition.notify)
    if after != before:
        _entered(session, workflow, case, now, result)
    elif attempt.changes:
        deadlines.sync(session, workflow, case, now)  # content can open or close a deadline too
    if transition.then and not workflow.check(view_of(session, case, now), SYSTEM, Attempt(transition.then)):
        _step(session, workflow, case, SYSTEM, Attempt(transition.then), now, result)


def _entered(session: Session, workflow: Workflow, case: Case, now: datetime, result: FireResult) -> None:
    """What entering the case's current state sets off: deadlines, number, emails, an automatic step."""
    deadlines.sync(session, workflow, case, now)
    effects = workflow.on_enter.get(case.state)
    if effects is None:
        return
    if effects.assign_number:
        _assign_number(session, case, now)
    if effects.effect:
        plugins.run_effect(effects.effect, session, case, now)
    notify_all(session, workflow, case, effects.notify)
    if effects.auto_trigger:
        _step(session, workflow, case, SYSTEM, Attempt(effects.auto_trigger), now, result)


def fire_as_system(session: Session, case: Case, trigger: str, now: Optional[datetime] = None) -> bool:
    """A scheduled step (e.g. marking a report overdue): False when the case is no longer where it applies."""
    workflow = workflow_for(case.kind)
    if workflow.check(view_of(session, case, now), SYSTEM, Attempt(trigger)):
        return False
    _step(session, workflow, case, SYSTEM, Attempt(trigger), now or utcnow(), FireResult(case))
    return True


def open_case(session: Session, kind: str, center: Center, title: str, data: dict[str, Any], key: str,
              now: Optional[datetime] = None) -> Optional[Case]:
    """Open a case for an obligation, as the system. None if the obligation's case already exists."""
    now = now or utcnow()
    workflow = workflow_for(kind)
    if session.exec(select(Case.id).where(Case.key == key)).first() is not None:
        return None
    try:
        with session.begin_nested():  # a concurrent opener may take the key first
            case = Case(kind=kind, state=workflow.initial, title=title, center_id=center.id, key=key,
                        data=data, created_at=now, updated_at=now)
            session.add(case)
            session.flush()
    except IntegrityError:
        return None
    session.add(CaseEvent(case_id=case.id, trigger="open", from_state="", to_state=case.state, at=now))
    session.flush()
    _entered(session, workflow, case, now, FireResult(case))
    return case


def _assign_number(session: Session, case: Case, now: datetime) -> None:
    commission = session.exec(select(Commission)).first()
    if commission is None:
        raise Refused([Reason("", "名录中没有卫健委的发文机关代字，不能编号；请先导入名录")])
    take_next_number(session, case.id, commission.organ_code, local_date(now).year)


def choices(session: Session, case: Case, person: Person) -> list[Transition]:
    return workflow_for(case.kind).choices(view_of(session, case), actor_of(session, person))
