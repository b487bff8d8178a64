"""The one place that changes a case.

`fire` runs inside the caller's transaction. It loads what the rules need once (the actor with
their roles, the case with its history, the facts), judges the case as it will be after the step
(content given with the step merged first), and then writes the step's effects in one fixed order:

    state → history → number → deadlines → links → outbox

so every mail can name the number and the due date the step set. The appended rows (history,
deadlines, links, outbox) are inserted in batches, not as ORM objects one by one. If anything
fails, the caller's rollback undoes all of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from models import Case, CaseEvent, Center, Commission, Person, RoleAssignment
from qcflow.core.clock import local_date, utcnow
from qcflow.engine import deadlines, plugins
from qcflow.engine.notify import Notifier
from qcflow.store.numbering import take_next_number
from states.registry import WORKFLOWS
from states.rules import SYSTEM, Actor, CaseView, Conflict, PastEvent, Reason, Refused
from states.workflow import Attempt, Transition, Workflow

EVENTS = CaseEvent.__table__


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


def _unknown_person(email: str) -> Refused:
    return Refused([Reason("", f"人员名录中没有邮箱为 {email} 的人员；请先导入名录（qcflow directory load）")])


def person_by_email(session: Session, email: str) -> Person:
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise _unknown_person(email)
    return person


def actor_of(session: Session, person: Person) -> Actor:
    rows = session.exec(select(RoleAssignment.role, RoleAssignment.center_id)
                        .where(RoleAssignment.person_id == person.id)).all()
    return Actor(person.id, person.name, frozenset((role, center) for role, center in rows))


def actor_by_email(session: Session, email: str) -> Actor:
    """The person and their roles in one query."""
    rows = session.exec(select(Person.id, Person.name, RoleAssignment.role, RoleAssignment.center_id)
                        .outerjoin(RoleAssignment, RoleAssignment.person_id == Person.id)
                        .where(Person.email == email.strip().lower())).all()
    if not rows:
        raise _unknown_person(email)
    return Actor(rows[0][0], rows[0][1], frozenset((role, center) for _, _, role, center in rows if role))


def history_of(session: Session, case_id: int) -> list[PastEvent]:
    rows = session.exec(select(CaseEvent.trigger, CaseEvent.actor_id, CaseEvent.to_state)
                        .where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    return [PastEvent(t, a, s) for t, a, s in rows]


def view_of(session: Session, case: Case, now: Optional[datetime] = None) -> CaseView:
    return _view(session, case, history_of(session, case.id), now or utcnow())


def _view(session: Session, case: Case, history: list[PastEvent], now: datetime,
          proposed: Optional[dict[str, Any]] = None) -> CaseView:
    content = case.data if proposed is None else proposed
    return CaseView(kind=case.kind, state=case.state, center_id=case.center_id, created_by_id=case.created_by_id,
                    data=dict(case.data), history=tuple(history), proposed=proposed,
                    facts=plugins.facts_for(session, case, content, now))


def load_case(session: Session, kind: str, case_id: int, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id, Case.kind == kind)
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise Refused([Reason("", f"没有编号为 {case_id} 的{workflow_for(kind).label}")])
    return case


class _Run:
    """One call into the engine: what it loaded, and the rows it will write in batches."""

    def __init__(self, session: Session, workflow: Workflow, case: Case, history: list[PastEvent], now: datetime):
        self.session, self.workflow, self.case, self.history, self.now = session, workflow, case, history, now
        self.events: list[dict[str, Any]] = []
        self.notifier = Notifier(session, workflow, case, history, now)
        self.result = FireResult(case)

    def record(self, trigger: str, before: str, after: str, actor: Actor, comment: str = "",
               details: Optional[dict[str, Any]] = None) -> None:
        self.events.append({"case_id": self.case.id, "trigger": trigger, "from_state": before, "to_state": after,
                            "actor_id": actor.person_id, "comment": comment, "details": details or {},
                            "at": self.now})
        self.history.append(PastEvent(trigger, actor.person_id, after))

    def flush(self) -> None:
        """Write the batched rows (also before anything that reads them back, e.g. an effect)."""
        if self.events:
            self.session.execute(EVENTS.insert(), self.events)
            self.events = []
        self.notifier.flush()


def fire(session: Session, kind: str, case_id: int, trigger: str, *, email: Optional[str] = None,
         person: Optional[Person] = None, comment: str = "", changes: Optional[dict[str, Any]] = None,
         expected_version: Optional[int] = None, now: Optional[datetime] = None) -> FireResult:
    """Fire `trigger` on the case as the person (or the system when neither is given)."""
    now = now or utcnow()
    workflow = workflow_for(kind)
    if person is not None:
        actor = actor_of(session, person)
    elif email is not None:
        actor = actor_by_email(session, email)
    else:
        actor = SYSTEM
    case = load_case(session, kind, case_id, lock=True)
    if expected_version is not None and case.version != expected_version:
        raise Conflict()
    run = _Run(session, workflow, case, history_of(session, case.id), now)
    _step(run, actor, Attempt(trigger, comment.strip(), dict(changes or {})))
    run.flush()
    return run.result


def _proposed(transition: Optional[Transition], data: dict[str, Any], attempt: Attempt,
              actor: Actor) -> Optional[dict[str, Any]]:
    """The content as it will be after the step, for the rules to judge; None when nothing changes
    or the changes cannot even be applied (the guards then refuse them)."""
    if not attempt.changes or transition is None or not transition.takes_changes:
        return None
    try:
        return transition.apply(data, attempt.changes, actor)
    except Exception:  # noqa: BLE001  (malformed input: the guards name what is wrong with it)
        return None


def _step(run: _Run, actor: Actor, attempt: Attempt) -> None:
    session, workflow, case, now = run.session, run.workflow, run.case, run.now
    transition = workflow.transitions.get(attempt.trigger)
    proposed = _proposed(transition, case.data, attempt, actor)
    before_state, before_data = case.state, case.data
    after = workflow.next_state(_view(session, case, run.history, now, proposed), actor, attempt)  # raises Refused
    data = transition.apply(case.data, attempt.changes, actor) if attempt.changes else case.data
    values: dict[str, Any] = {"state": after, "version": case.version + 1, "updated_at": now,
                              "round": case.round + (after != before_state)}
    if attempt.changes:
        values["data"] = data
        values["title"] = workflow.title_of(data).strip() or case.title
        if "center" in attempt.changes and not workflow.belongs_to_center:  # e.g. a review assigned to a center
            values["center_id"] = session.exec(select(Center.id).where(Center.code == str(data["center"]))).one()
    moved = session.execute(update(Case).where(Case.id == case.id, Case.version == case.version).values(**values)
                            .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise Conflict()
    for name, value in values.items():  # the row now holds these: no refresh
        set_committed_value(case, name, value)
    run.record(attempt.trigger, before_state, after, actor, attempt.comment,
               {"changed": sorted(attempt.changes)} if attempt.changes else None)
    run.result.steps.append((attempt.trigger, before_state, after))

    entered = workflow.on_enter.get(after) if after != before_state else None
    if entered is not None and entered.assign_number:
        run.notifier.number = _assign_number(session, case, now)
    close, open_ = deadlines.plan(workflow, (before_state, before_data), (after, data))
    if close or open_:
        run.notifier.opened(deadlines.apply_plan(session, case.id, data, close, open_, now))
    if entered is not None and entered.effect:
        run.flush()  # the effect may read what this step wrote
        plugins.run_effect(entered.effect, session, case, now)
    run.notifier.notify(transition.notify)
    if entered is not None:
        run.notifier.notify(entered.notify)
        if entered.auto_trigger:
            _step(run, SYSTEM, Attempt(entered.auto_trigger))
    if transition.then and not workflow.check(_view(session, case, run.history, now), SYSTEM,
                                              Attempt(transition.then)):
        _step(run, SYSTEM, Attempt(transition.then))


def create_case(session: Session, kind: str, email: str, data: dict[str, Any],
                now: Optional[datetime] = None) -> Case:
    now = now or utcnow()
    workflow = workflow_for(kind)
    actor = actor_by_email(session, email)
    center_code = str(data.get("center") or "")
    center_id = session.exec(select(Center.id).where(Center.code == center_code)).first()
    if center_id is None and workflow.belongs_to_center:
        raise Refused([Reason("", f"没有代码为“{center_code}”的质控中心；请在数据中填写 center（质控中心代码）")])
    content = {k: v for k, v in data.items() if k != "center"}
    reasons = workflow.check_create(actor, center_id) + workflow.validate_new(content)
    if reasons:
        raise Refused(reasons)
    case = Case(kind=kind, state=workflow.initial, title=workflow.title_of(content).strip() or "（无标题）",
                center_id=center_id, created_by_id=actor.person_id, data=content, created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    _opened(session, workflow, case, actor, "create", now)
    return case


def _opened(session: Session, workflow: Workflow, case: Case, actor: Actor, trigger: str, now: datetime) -> _Run:
    """A new case: its first history row, and what its initial state sets off."""
    run = _Run(session, workflow, case, [], now)
    run.record(trigger, "", case.state, actor)
    close, open_ = deadlines.plan(workflow, ("", {}), (case.state, case.data))
    if open_:
        run.notifier.opened(deadlines.apply_plan(session, case.id, case.data, close, open_, now))
    entered = workflow.on_enter.get(case.state)
    if entered is not None:
        if entered.effect:
            run.flush()
            plugins.run_effect(entered.effect, session, case, now)
        run.notifier.notify(entered.notify)
        if entered.auto_trigger:
            _step(run, SYSTEM, Attempt(entered.auto_trigger))
    run.flush()
    return run


def fire_as_system(session: Session, case: Case, trigger: str, now: Optional[datetime] = None) -> bool:
    """A scheduled step (e.g. marking a report overdue): False when the case is no longer where it applies."""
    now = now or utcnow()
    workflow = workflow_for(case.kind)
    run = _Run(session, workflow, case, history_of(session, case.id), now)
    if workflow.check(_view(session, case, run.history, now), SYSTEM, Attempt(trigger)):
        return False
    _step(run, SYSTEM, Attempt(trigger))
    run.flush()
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
    _opened(session, workflow, case, SYSTEM, "open", now)
    return case


def _assign_number(session: Session, case: Case, now: datetime) -> str:
    organ_code = session.exec(select(Commission.organ_code)).first()
    if organ_code is None:
        raise Refused([Reason("", "名录中没有卫健委的发文机关代字，不能编号；请先导入名录")])
    return take_next_number(session, case.id, organ_code, local_date(now).year)


def choices(session: Session, case: Case, person: Person) -> list[Transition]:
    return workflow_for(case.kind).choices(view_of(session, case), actor_of(session, person))
