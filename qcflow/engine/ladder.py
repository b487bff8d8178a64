"""The rungs of a deadline's ladder, taken for a batch of deadlines at once.

Each rung is claimed in the dispatch ledger (one insert for the batch; a key another sweep or an
earlier run holds is not claimed again), so a rerun sends nothing twice. Reminders and
escalations become mail intents with links, escalations are written to the case's history, and
each deadline's next action time moves on to its next rung, so the next sweep finds only what is
due. All of it is written in batches.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Sequence

from sqlmodel import Session, select

from models import Case, Deadline, Dispatch
from qcflow.core.clock import local_date, start_of_local_day
from qcflow.engine import history
from qcflow.engine.core import fire_as_system, workflow_for
from qcflow.engine.deadlines import due_label, spec_of
from qcflow.engine.notify import Notifier
from qcflow.engine.outbox import Recipient, write_rows
from qcflow.store.ledger import claim_many
from qcflow.store.links import carry_links, write_links
from qcflow.store.raw import Raw
from states.ladders import LADDERS, next_action_day, steps_due
from states.workdays import WorkCalendar
from states.workflow import DeadlineSpec, Notify


@dataclass
class SweepReport:
    reminded: list[int] = field(default_factory=list)  # deadline ids
    escalated: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # reminders superseded by a later one
    overdue: list[int] = field(default_factory=list)  # case ids marked overdue
    conflicts: list[int] = field(default_factory=list)  # deadline ids left for the next sweep (a concurrent change)
    examined: int = 0

    def merge(self, other: "SweepReport") -> None:
        for name in ("reminded", "escalated", "skipped", "overdue", "conflicts"):
            getattr(self, name).extend(getattr(other, name))
        self.examined += other.examined

    @property
    def sent(self) -> int:
        return len(self.reminded) + len(self.escalated)

    def summary(self) -> str:
        text = (f"检查 {self.examined} 项期限：提醒 {len(self.reminded)} 项，督办 {len(self.escalated)} 项，"
                f"标记逾期 {len(self.overdue)} 项")
        if self.conflicts:
            text += f"；{self.sent} 项已发送，{len(self.conflicts)} 项因并发冲突跳过，将在下次处理"
        return text


class _CachedNotifier(Notifier):
    """A notifier whose role and center look-ups are shared across the batch."""

    def __init__(self, cache: dict, *args):
        super().__init__(*args)
        self._cache = cache

    def resolve(self, to: str) -> list[Recipient]:
        kind = to.partition(":")[0]
        if kind not in ("role", "center"):
            return super().resolve(to)
        key = (to, self.case.center_id if kind == "center" else None)
        if key not in self._cache:
            self._cache[key] = super().resolve(to)
        return self._cache[key]


def walk(session: Session, batch: list[tuple[Deadline, Case]], now: datetime, calendar: WorkCalendar,
         report: SweepReport) -> None:
    """Take every rung reached by `now` for these open deadlines; set each one's next action."""
    today = local_date(now)
    done: dict[int, set[str]] = defaultdict(set)
    for deadline_id, key in session.exec(select(Dispatch.deadline_id, Dispatch.key)
                                         .where(Dispatch.deadline_id.in_([d.id for d, _ in batch]))):
        done[deadline_id].add(key.rsplit(":", 1)[-1])
    specs = {deadline.id: spec_of(workflow_for(case.kind), deadline.step) for deadline, case in batch}
    wanted = []  # (deadline, case, spec, step)
    for deadline, case in batch:
        report.examined += 1
        spec = specs[deadline.id]
        if spec is None:
            continue
        for step in steps_due(LADDERS[spec.ladder], local_date(deadline.due_at), today, calendar, done[deadline.id]):
            wanted.append((deadline, case, spec, step))
    claimed = claim_many(session, [(f"deadline:{d.id}:{st.rung.name}", st.rung.action if st.send else "skip",
                                    d.id, c.id) for d, c, _, st in wanted], now)
    cache: dict = {}
    raw = Raw(session)
    notifiers: list[Notifier] = []
    events: list[dict] = []
    touched: dict[int, dict] = {}  # deadline id -> its reminded/escalated times (the ORM rows stay untouched)
    for deadline, case, spec, step in wanted:
        if f"deadline:{deadline.id}:{step.rung.name}" not in claimed:
            continue
        done[deadline.id].add(step.rung.name)
        marks = touched.setdefault(deadline.id, {"b_id": deadline.id, "b_reminded": deadline.reminded_at,
                                                 "b_escalated": deadline.escalated_at})
        if not step.send:
            report.skipped.append(deadline.id)
            continue
        workflow = workflow_for(case.kind)
        notifier = _CachedNotifier(cache, raw, workflow, case, [], now)
        extra = {"due_date": due_label(deadline.due_at), "step_label": spec.label}
        if step.rung.action == "remind":
            notifier.notify([Notify("deadline_reminder", spec.assignee, "act")], extra)
            marks["b_reminded"] = now
            report.reminded.append(deadline.id)
        else:
            notifier.notify([Notify("deadline_escalation", spec.escalate_to, "read")], extra)
            marks["b_escalated"] = now
            events.append({"case_id": case.id, "trigger": "escalate", "from_state": case.state, "to_state": case.state,
                           "actor_id": None, "comment": f"{spec.label}逾期，已提请督办（{spec.rule}）",
                           "details": {"deadline_id": deadline.id, "due": extra["due_date"]}, "at": now})
            report.escalated.append(deadline.id)
        notifiers.append(notifier)
    links, rows = [], []
    for notifier in notifiers:
        taken = notifier.take()
        links += taken[0]
        rows += taken[1]
    write_links(raw, links)
    write_rows(raw, rows)
    history.append(raw, events)  # chained onto each case's history
    for deadline, case in batch:  # the overdue step, once the due day has passed
        spec = specs[deadline.id]
        if spec is not None and spec.on_overdue and today > local_date(deadline.due_at):
            round_before = case.round
            if fire_as_system(session, case, spec.on_overdue, now):  # refreshes `case` (it is the session's row)
                report.overdue.append(case.id)
                if spec.applies(case.state, case.data):
                    # Still the same step waiting for the same people: their links (the task, the
                    # reminders) stay good; a late report is submitted from them.
                    carry_links(raw, case.id, round_before, case.round)
    _move_on(raw, batch, specs, done, today, calendar)
    raw.many("UPDATE deadline SET reminded_at = ?, escalated_at = ? WHERE id = ?",
             ((raw.ts(m["b_reminded"]), raw.ts(m["b_escalated"]), m["b_id"]) for m in touched.values()))


def _move_on(raw: Raw, batch: list[tuple[Deadline, Case]], specs: dict[int, Optional[DeadlineSpec]],
             done: dict[int, set[str]], today: date, calendar: WorkCalendar) -> None:
    """Every deadline of the batch gets the time of its next rung (None: its ladder is walked)."""
    rows = []
    for deadline, _ in batch:
        spec = specs[deadline.id]
        nxt = next_action_day(LADDERS[spec.ladder], local_date(deadline.due_at), calendar, done[deadline.id], today,
                              bool(spec.on_overdue)) if spec else None
        rows.append((raw.ts(start_of_local_day(nxt)) if nxt else None, deadline.id))
    raw.many("UPDATE deadline SET next_action_at = ? WHERE id = ?", rows)


def due_batch(session: Session, now: datetime, limit: int, exclude: Sequence[int] = (),
              only: Optional[int] = None) -> list[tuple[Deadline, Case]]:
    """Open deadlines whose next action is reached by `now`, found by the (closed_at, next_action_at) index;
    `exclude`: deadline ids this sweep gave up on; `only`: just this deadline, if it is still due."""
    query = (select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
             .where(Deadline.closed_at.is_(None), Deadline.next_action_at <= now))
    if exclude:
        query = query.where(Deadline.id.not_in(list(exclude)))
    if only is not None:
        query = query.where(Deadline.id == only)
    return list(session.exec(query.order_by(Deadline.next_action_at, Deadline.id).limit(limit)).all())
