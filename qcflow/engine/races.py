"""A refusal that is really a lost race: the step was open when the person looked, and someone else
took the case on since. The person gets "已被他人处理" (CLI exit 3), as with a stale version.

Without an expected version the engine only sees that the step does not fit the current state;
the history tells whether another person moved the case out of a state where it did fit. Moving
it on oneself (running the same command twice) stays a plain refusal.
"""
from __future__ import annotations

from typing import Optional, Union

from qcflow.core.clock import fmt_local
from qcflow.engine.core import actor_by_email, workflow_for
from qcflow.store.raw import Raw
from states.rules import Conflict, Refused


def lost_race(session, kind: str, case_id: int, trigger: str, email: Optional[str],
              refused: Refused) -> Union[Conflict, Refused]:
    """Conflict when `refused` only says the state moved on and another person moved it; else `refused`."""
    workflow = workflow_for(kind)
    transition = workflow.transitions.get(trigger)
    if transition is None or not transition.sources:
        return refused
    raw = Raw(session)
    row = raw.first("SELECT state, center_id FROM qc_case WHERE id = ? AND kind = ?", [case_id, kind])
    if row is None or row[0] in transition.sources:
        return refused  # the state fits: refused for another reason (role, comment, content)
    if email and not _might_take(session, raw, transition, email, row[1]):
        return refused  # never this person's step, whatever the state
    sources = list(transition.sources)
    left = raw.first(
        'SELECT e.actor_id, p.email, p.name, e."trigger", e.at FROM caseevent e LEFT JOIN person p ON p.id = e.actor_id '
        f"WHERE e.case_id = ? AND e.from_state IN ({raw.in_list(sources)}) AND e.to_state <> e.from_state "
        "ORDER BY e.id DESC LIMIT 1", [case_id, *sources])
    if left is None:
        return refused  # never where this step applies: a wrong step, not a race
    _, mover_email, mover_name, moved_by, at = left
    if email and mover_email and mover_email.lower() == email.strip().lower():
        return refused  # this person's own earlier step
    label = workflow.transitions[moved_by].label if moved_by in workflow.transitions else moved_by
    when = fmt_local(Raw.read_ts(at))
    return Conflict(f"该事项已被他人处理：{mover_name or '系统'}已于 {when}“{label}”，当前为"
                    f"{workflow.state_label(row[0])}，不能再“{transition.label}”；请查看最新状态")


def _might_take(session, raw: Raw, transition, email: str, center_id: Optional[int]) -> bool:
    """Whether the person holds a role the step is for (creator/assignee steps: assumed yes)."""
    if transition.system:
        return False
    if {"creator", "assigned"} & set(transition.who):
        return True
    try:
        actor = actor_by_email(session, email, raw)
    except Refused:
        return False
    return any(actor.holds(role, center_id) for role in transition.who)
