"""我的待办: every step waiting for a person, across all kinds, most urgent first; and the daily digest.

Whose turn it is comes from the engine, never from a rule of our own: a case is listed when the
engine gives the person choices on it now *and* the engine has put the step on them — it sent
them an act link for the case's current round, or an open deadline's assignee (resolved by the
engine's notifier) names them, or it is their own case still in its first state (a draft). The
second condition keeps out what a person *may* do but nobody waits for (withdraw, reopen, an
autopsy report "at any point").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import update
from sqlmodel import Session, select

from models import Case, Deadline, OutboxMessage, Person, PersonSetting, TaskLink
from qcflow import engine
from qcflow.core.clock import fmt_local, local_date, utcnow
from qcflow.engine.core import history_of
from qcflow.engine.notify import Notifier
from qcflow.engine.outbox import DIGESTED, HELD, Recipient, enqueue
from qcflow.core.runtime import get_settings
from qcflow.store.raw import Raw
from states import privacy
from states.registry import WORKFLOWS


@dataclass(frozen=True)
class Task:
    case_id: int
    kind: str
    kind_label: str
    title: str
    state_label: str
    steps: tuple[str, ...]  # the labels of the decisions open to the person
    due_at: Optional[datetime]
    overdue: bool
    why: str  # 通知 | 期限 | 草稿: how the engine put the step on the person

    @property
    def due(self) -> str:
        return fmt_local(self.due_at) if self.due_at else ""

    @property
    def url(self) -> str:
        return f"/cases/{self.kind}/{self.case_id}"


def waiting_for(session: Session, person_id: int, now: Optional[datetime] = None) -> list[Task]:
    """The steps waiting for this person, overdue first, then by due date, then the oldest case."""
    now = now or utcnow()
    person = session.get(Person, person_id)
    if person is None:
        return []
    candidates: dict[int, str] = {}
    for case_id in _open_act_links(session, person_id, now):
        candidates.setdefault(case_id, "通知")
    due: dict[int, datetime] = {}
    raw = Raw(session)
    for deadline, case in session.exec(select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
                                       .where(Deadline.closed_at.is_(None))).all():
        if case.id not in due or deadline.due_at < due[case.id]:
            due[case.id] = deadline.due_at
        if case.id not in candidates and _assignee_of(raw, case, deadline.step, person_id, now):
            candidates[case.id] = "期限"
    for case in session.exec(select(Case).where(Case.created_by_id == person_id)).all():
        if case.state == WORKFLOWS[case.kind].initial:
            candidates.setdefault(case.id, "草稿")
    tasks = []
    cases = {c.id: c for c in session.exec(select(Case).where(Case.id.in_(list(candidates))))} if candidates else {}
    for case_id, why in candidates.items():
        case = cases[case_id]
        workflow = WORKFLOWS[case.kind]
        choices = engine.choices(session, case, person)
        if not choices:
            continue
        due_at = due.get(case_id)
        tasks.append(Task(case.id, case.kind, workflow.label,
                          case.title if privacy.titled_for_its_recipients(case.kind, workflow.private)
                          else f"{workflow.label} #{case.id}",  # Y§22
                          workflow.state_label(case.state), tuple(c.label for c in choices), due_at,
                          due_at is not None and due_at < now, why))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(tasks, key=lambda t: (not t.overdue, t.due_at or far, t.case_id))


def _open_act_links(session: Session, person_id: int, now: datetime) -> set[int]:
    rows = session.exec(select(TaskLink.case_id).join(Case, Case.id == TaskLink.case_id).where(
        TaskLink.person_id == person_id, TaskLink.purpose == "act", TaskLink.used_at.is_(None),
        TaskLink.expires_at > now, TaskLink.case_round == Case.round)).all()
    return set(rows)


def _assignee_of(raw: Raw, case: Case, step: str, person_id: int, now: datetime) -> bool:
    workflow = WORKFLOWS[case.kind]
    spec = next((s for s in workflow.deadlines if s.step == step), None)
    if spec is None:
        return False
    notifier = Notifier(raw, workflow, case, history_of(raw.session, case.id, raw), now)
    return any(r.person_id == person_id for r in notifier.resolve(spec.assignee))


def count_waiting(session: Session, person_id: int) -> int:
    return len(waiting_for(session, person_id))


# --- 每日待办汇总 -------------------------------------------------------------------------------

def digest_enabled(session: Session, person_id: int) -> bool:
    setting = session.get(PersonSetting, person_id)
    return bool(setting and setting.daily_digest)


def set_digest(session: Session, person_id: int, enabled: bool) -> None:
    """Switching the digest off releases the task mails it held: they go out as single mails now."""
    setting = session.get(PersonSetting, person_id) or PersonSetting(person_id=person_id)
    setting.daily_digest = enabled
    session.add(setting)
    session.flush()
    if not enabled:
        now = utcnow()
        table = OutboxMessage.__table__
        session.connection().execute(update(table).where(
            table.c.status == HELD, table.c.to_addr == _email_of(session, person_id)).values(
            status="pending", next_attempt_at=now))


def _email_of(session: Session, person_id: int) -> str:
    person = session.get(Person, person_id)
    return person.email if person else ""


def _held_mails(session: Session, email: str, now: datetime) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).where(
        OutboxMessage.status == HELD, OutboxMessage.to_addr == email, OutboxMessage.created_at <= now)
        .order_by(OutboxMessage.id)).all())


def send_daily_digests(session: Session, now: Optional[datetime] = None) -> int:
    """One 每日待办汇总 mail today to each person who chose it and has something waiting; a second
    call on the same local day sends nothing. Returns the number of mails queued."""
    now = now or utcnow()
    day = local_date(now).isoformat()
    base = get_settings().public_base_url.rstrip("/")
    sent = 0
    for setting, person in session.exec(select(PersonSetting, Person).join(Person, Person.id == PersonSetting.person_id)
                                        .where(PersonSetting.daily_digest.is_(True))).all():
        if setting.digest_sent_on == day:
            continue
        tasks = waiting_for(session, person.id, now)
        setting.digest_sent_on = day
        session.add(setting)
        held = _held_mails(session, person.email, now)
        # The held mails' task links let the person act without signing in, as a single mail would.
        links = {m.case_id: str(m.context.get("link", "")) for m in held if m.case_id is not None}
        for mail in held:  # covered by this digest (or moot: the case moved on); kept, never lost
            mail.status = DIGESTED
            session.add(mail)
        if not tasks:
            continue
        rows = [{"title": t.title, "kind_label": t.kind_label, "state_label": t.state_label,
                 "steps": "、".join(t.steps), "due": t.due, "overdue": t.overdue,
                 "url": links.get(t.case_id) or f"{base}{t.url}"}
                for t in tasks]
        enqueue(session, Recipient(person.email, person.name, person.id), "daily_digest",
                {"day": day, "tasks": rows, "count": len(rows), "link": f"{base}/tasks"}, None, now)
        sent += 1
    session.flush()
    return sent

