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

from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from models import Case, Person, RoleAssignment
from qcflow.core.clock import local_date, utcnow
from qcflow.core.history_chain import GENESIS, chain
from qcflow.engine import deadlines, plugins
from qcflow.engine.notify import Notifier
from qcflow.store.numbering import take_next_number
from qcflow.store.raw import Raw
from states.registry import WORKFLOWS
from states.rules import SYSTEM, Actor, CaseView, Conflict, PastEvent, Reason, Refused
from states.validation import check_content, check_undeclared, fields_for
from states.workflow import Attempt, Transition, Workflow



@dataclass
class FireResult:
    case: Any  # the case as the step left it (a CaseRecord, or the caller's ORM Case brought up to date)
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (trigger, from, to)
    actor: Actor = SYSTEM
    history: list[PastEvent] = field(default_factory=list)


CASE_COLUMNS = ("id", "kind", "state", "version", "round", "title", "center_id", "created_by_id", "key", "data",
                "created_at", "updated_at")


@dataclass
class CaseRecord:
    """A case as the engine loaded it with a plain statement (the ORM's Case has the same fields)."""

    id: int
    kind: str
    state: str
    version: int
    round: int
    title: str
    center_id: Optional[int]
    created_by_id: Optional[int]
    key: Optional[str]
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _record(raw: Raw, row: tuple) -> CaseRecord:
    values = dict(zip(CASE_COLUMNS, row))
    values["data"] = Raw.read_js(values["data"])
    values["created_at"], values["updated_at"] = Raw.read_ts(values["created_at"]), Raw.read_ts(values["updated_at"])
    return CaseRecord(**values)


def _load_record(raw: Raw, kind: str, case_id: int) -> CaseRecord:
    sql = f"SELECT {', '.join(_q(c) for c in CASE_COLUMNS)} FROM qc_case WHERE id = ? AND kind = ?"
    row = raw.first(sql + (" FOR UPDATE" if raw.postgres else ""), [case_id, kind])
    if row is None:
        raise Refused([Reason("", f"没有编号为 {case_id} 的{workflow_for(kind).label}")])
    return _record(raw, row)


def _q(column: str) -> str:
    return f'"{column}"' if column in ("key", "round", "trigger") else column


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


def actor_by_email(session: Session, email: str, raw: Optional[Raw] = None) -> Actor:
    """The person and their roles in one query."""
    found = _actor_where(raw or Raw(session), "p.email = ?", email.strip().lower())
    if found is None:
        raise _unknown_person(email)
    return found


def _actor_where(raw: Raw, condition: str, value: Any) -> Optional[Actor]:
    rows = raw.rows("SELECT p.id, p.name, r.role, r.center_id FROM person p "
                    f"LEFT JOIN roleassignment r ON r.person_id = p.id WHERE {condition}", [value])
    if not rows:
        return None
    return Actor(rows[0][0], rows[0][1], frozenset((role, center) for _, _, role, center in rows if role))


def history_of(session: Session, case_id: int, raw: Optional[Raw] = None) -> list[PastEvent]:
    rows = (raw or Raw(session)).rows('SELECT "trigger", actor_id, to_state FROM caseevent WHERE case_id = ? ORDER BY id',
                                      [case_id])
    return [PastEvent(t, a, s) for t, a, s in rows]


def _history_and_head(raw: Raw, case_id: int) -> tuple[list[PastEvent], str]:
    """The history the rules read, and the hash its next event chains onto, in the one read a step makes."""
    rows = raw.rows('SELECT "trigger", actor_id, to_state, hash FROM caseevent WHERE case_id = ? ORDER BY id',
                    [case_id])
    return [PastEvent(t, a, s) for t, a, s, _ in rows], (rows[-1][3] if rows else GENESIS)


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

    def __init__(self, session: Session, raw: Raw, workflow: Workflow, case: Any, history: list[PastEvent],
                 now: datetime, head: str = GENESIS):
        self.session, self.raw, self.workflow, self.case, self.history, self.now = \
            session, raw, workflow, case, history, now
        self.head = head  # the hash of the case's latest event: each new one chains onto it
        self.events: list[dict[str, Any]] = []
        self.notifier = Notifier(raw, workflow, case, history, now)
        self.result = FireResult(case)

    def record(self, trigger: str, before: str, after: str, actor: Actor, comment: str = "",
               details: Optional[dict[str, Any]] = None) -> None:
        event = {"case_id": self.case.id, "trigger": trigger, "from_state": before, "to_state": after,
                 "actor_id": actor.person_id, "comment": comment, "details": details or {}, "at": self.now}
        self.head = chain(self.head, [event])
        self.events.append(event)
        self.history.append(PastEvent(trigger, actor.person_id, after))

    def flush(self) -> None:
        """Write the batched rows (also before anything that reads them back, e.g. an effect)."""
        self.raw.insert("caseevent", self.events, times=("at",), jsons=("details",))
        self.events = []
        self.notifier.flush()
        _refresh_orm_copy(self.session, self.case)


def fire(session: Session, kind: str, case_id: int, trigger: str, *, email: Optional[str] = None,
         person: Optional[Person] = None, person_id: Optional[int] = None, comment: str = "",
         changes: Optional[dict[str, Any]] = None, expected_version: Optional[int] = None,
         now: Optional[datetime] = None) -> FireResult:
    """Fire `trigger` on the case as the person (given as a row, an id or an email; the system when none)."""
    now = now or utcnow()
    workflow = workflow_for(kind)
    raw = Raw(session)
    if person is not None:
        actor = actor_of(session, person)
    elif person_id is not None:
        actor = _actor_where(raw, "p.id = ?", person_id) or SYSTEM
        if actor is SYSTEM:
            raise Refused([Reason("", "人员名录中已没有此链接的收件人；请联系医政医管科")])
    elif email is not None:
        actor = actor_by_email(session, email, raw)
    else:
        actor = SYSTEM
    case = _load_record(raw, kind, case_id)
    if expected_version is not None and case.version != expected_version:
        raise Conflict()
    if changes and not isinstance(changes, dict):
        step = workflow.transitions.get(trigger)
        raise Refused(check_content(changes, {}, step.rule if step else workflow.creator_rule))
    history, head = _history_and_head(raw, case.id)
    run = _Run(session, raw, workflow, case, history, now, head)
    run.result.actor, run.result.history = actor, run.history
    _step(run, actor, Attempt(trigger, str(comment or "").strip(), dict(changes or {})))
    run.flush()
    return run.result


def choices_after(session: Session, result: FireResult) -> list[Transition]:
    """The steps open to the same person once their step is done, from what the step already holds."""
    case = result.case
    return workflow_for(case.kind).choices(_view(session, case, result.history, utcnow()), result.actor)


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


def _check_input(workflow: Workflow, transition: Optional[Transition], attempt: Attempt) -> None:
    """Content given with a step is the declared kind of data before any rule or `apply` reads it
    (states/validation.py), so a form and a `--data` file get the same refusal, naming the field."""
    if attempt.changes and transition is not None and transition.takes_changes:
        faults = (check_content(attempt.changes, fields_for(workflow, transition), transition.rule)
                  or check_undeclared(attempt.changes, transition))
        if faults:
            raise Refused(faults)


def _step(run: _Run, actor: Actor, attempt: Attempt) -> None:
    session, workflow, case, now = run.session, run.workflow, run.case, run.now
    if attempt.changes:
        attempt = Attempt(attempt.trigger, attempt.comment, plugins.clean_content(session, case.kind, attempt.changes))
    transition = workflow.transitions.get(attempt.trigger)
    _check_input(workflow, transition, attempt)
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
            values["center_id"] = run.raw.first("SELECT id FROM center WHERE code = ?", [str(data["center"])])[0]
    raw = run.raw
    stored = {k: raw.ts(v) if k == "updated_at" else raw.js(v) if k == "data" else v for k, v in values.items()}
    moved = raw.run(f"UPDATE qc_case SET {', '.join(f'{_q(k)} = ?' for k in stored)} WHERE id = ? AND version = ?",
                    [*stored.values(), case.id, case.version])
    if moved != 1:
        raise Conflict()
    for name, value in values.items():  # the row now holds these: no refresh
        setattr(case, name, value)
    # The old text of each changed text field: the case page shows what changed between rounds.
    run.record(attempt.trigger, before_state, after, actor, attempt.comment,
               {"changed": sorted(attempt.changes), "before": {k: before_data.get(k) for k in attempt.changes
                                                               if isinstance(data.get(k), str)}}
               if attempt.changes else None)
    run.result.steps.append((attempt.trigger, before_state, after))

    entered = workflow.on_enter.get(after) if after != before_state else None
    if entered is not None and entered.assign_number:
        run.notifier.number = _assign_number(run.raw, case, now)
    close, open_ = deadlines.plan(workflow, (before_state, before_data), (after, data))
    if close or open_:
        run.notifier.opened(deadlines.apply_plan(run.raw, case.id, data, close, open_, now))
    if entered is not None and entered.effect:
        run.flush()  # the effect may read what this step wrote
        plugins.run_effect(entered.effect, session, _orm_case(session, case), now)
    run.notifier.notify(transition.notify)
    if entered is not None:
        run.notifier.notify(entered.notify)
        if entered.auto_trigger:
            _step(run, SYSTEM, Attempt(entered.auto_trigger))
    if transition.then and not workflow.check(_view(session, case, run.history, now), SYSTEM,
                                              Attempt(transition.then)):
        _step(run, SYSTEM, Attempt(transition.then))


def create_case(session: Session, kind: str, email: str, data: dict[str, Any],
                now: Optional[datetime] = None) -> CaseRecord:
    now = now or utcnow()
    workflow = workflow_for(kind)
    raw = Raw(session)
    actor = actor_by_email(session, email, raw)
    faults = check_content(data, fields_for(workflow), workflow.creator_rule)
    if faults:
        raise Refused(faults)
    center_code = str(data.get("center") or "")
    found = raw.first("SELECT id FROM center WHERE code = ?", [center_code]) if center_code else None
    center_id = found[0] if found else None
    if center_id is None and workflow.belongs_to_center:
        raise Refused([Reason("", f"没有代码为“{center_code}”的质控中心；请在数据中填写 center（质控中心代码）")])
    content = plugins.clean_content(session, kind, {k: v for k, v in data.items() if k != "center"})
    reasons = workflow.check_create(actor, center_id) + workflow.validate_new(content)
    if reasons:
        raise Refused(reasons)
    case = _insert_case(raw, kind, workflow.initial, workflow.title_of(content).strip() or "（无标题）", center_id,
                        actor.person_id, None, content, now)
    _opened(session, raw, workflow, case, actor, "create", now)
    return case


def _insert_case(raw: Raw, kind: str, state: str, title: str, center_id: Optional[int], created_by_id: Optional[int],
                 key: Optional[str], data: dict[str, Any], now: datetime) -> Optional[CaseRecord]:
    """Insert a case; None when its key is taken (an obligation's case exists already)."""
    conflict = ' ON CONFLICT ("key") DO NOTHING' if key is not None else ""
    row = raw.first('INSERT INTO qc_case (kind, state, version, "round", title, center_id, created_by_id, "key", data, '
                    f"created_at, updated_at) VALUES (?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?){conflict} RETURNING id",
                    [kind, state, title, center_id, created_by_id, key, raw.js(data), raw.ts(now), raw.ts(now)])
    if row is None:
        return None
    return CaseRecord(row[0], kind, state, 1, 0, title, center_id, created_by_id, key, data, now, now)


def _opened(session: Session, raw: Raw, workflow: Workflow, case: CaseRecord, actor: Actor, trigger: str,
            now: datetime) -> _Run:
    """A new case: its first history row, and what its initial state sets off."""
    run = _Run(session, raw, workflow, case, [], now)
    run.record(trigger, "", case.state, actor)
    close, open_ = deadlines.plan(workflow, ("", {}), (case.state, case.data))
    if open_:
        run.notifier.opened(deadlines.apply_plan(raw, case.id, case.data, close, open_, now))
    entered = workflow.on_enter.get(case.state)
    if entered is not None:
        if entered.effect:
            run.flush()
            plugins.run_effect(entered.effect, session, _orm_case(session, case), now)
        run.notifier.notify(entered.notify)
        if entered.auto_trigger:
            _step(run, SYSTEM, Attempt(entered.auto_trigger))
    run.flush()
    return run


def fire_as_system(session: Session, case: Any, trigger: str, now: Optional[datetime] = None) -> bool:
    """A scheduled step (e.g. marking a report overdue): False when the case is no longer where it applies."""
    now = now or utcnow()
    workflow = workflow_for(case.kind)
    raw = Raw(session)
    record = _load_record(raw, case.kind, case.id)
    history, head = _history_and_head(raw, case.id)
    run = _Run(session, raw, workflow, record, history, now, head)
    if workflow.check(_view(session, record, run.history, now), SYSTEM, Attempt(trigger)):
        return False
    _step(run, SYSTEM, Attempt(trigger))
    run.flush()
    return True


def open_case(session: Session, kind: str, center: Any, title: str, data: dict[str, Any], key: str,
              now: Optional[datetime] = None) -> Optional[CaseRecord]:
    """Open a case for an obligation, as the system. None if the obligation's case already exists."""
    now = now or utcnow()
    workflow = workflow_for(kind)
    raw = Raw(session)
    case = _insert_case(raw, kind, workflow.initial, title, center.id, None, key, data, now)
    if case is None:
        return None
    _opened(session, raw, workflow, case, SYSTEM, "open", now)
    return case


def _assign_number(raw: Raw, case: Any, now: datetime) -> str:
    found = raw.first("SELECT organ_code FROM commission LIMIT 1")
    if found is None:
        raise Refused([Reason("", "名录中没有卫健委的发文机关代字，不能编号；请先导入名录")])
    return take_next_number(raw, case.id, found[0], local_date(now).year)


def _orm_case(session: Session, case: Any) -> Case:
    """The ORM row of a case, for a plug-in that works through the ORM."""
    if isinstance(case, Case):
        return case
    orm = session.get(Case, case.id)
    _refresh_orm_copy(session, case)
    return orm


def _refresh_orm_copy(session: Session, case: Any) -> None:
    """A Case the caller's Session holds gets what the engine wrote (no re-read)."""
    orm = session.identity_map.get(identity_key(Case, case.id))
    if orm is None or orm is case:
        return
    for name in ("state", "version", "round", "title", "center_id", "data", "updated_at"):
        set_committed_value(orm, name, getattr(case, name))


def choices(session: Session, case: Any, person: Person) -> list[Transition]:
    raw = Raw(session)
    actor = _actor_where(raw, "p.id = ?", person.id) or Actor(person.id, person.name)
    return workflow_for(case.kind).choices(_view(session, case, history_of(session, case.id, raw), utcnow()), actor)
