"""Deadlines: which open and which close when a case moves, decided from the workflow's specs.

A deadline is open exactly while its spec applies to the case (its state, and its content for
`requires`/`done_when`), so a step knows what to open and close by comparing the case before and
after: no query for what is open. The sweep (qcflow.services.sweep) walks the open ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional


from qcflow.core.clock import end_of_local_day, local_date, start_of_local_day, to_local
from qcflow.store.calendar import calendar_for
from qcflow.store.raw import Raw
from states.ladders import LADDERS, next_action_day
from states.workdays import WorkCalendar
from states.workflow import DeadlineSpec, Workflow



def due_day_for(spec: DeadlineSpec, data: dict[str, Any], opened: date, calendar: WorkCalendar,
                reopened: bool = False) -> date:
    """The working-day limit from opening; with a due date in the case (a report's Y§17 date), that
    date, which the rule sets: a report opened late is due on it all the same. Only a deadline
    reopened (a report returned after its due day) gets at least the working days to resubmit."""
    by_days = calendar.add_working_days(opened, spec.working_days)
    if spec.due_field:
        due = date.fromisoformat(str(data[spec.due_field]))
        return max(due, by_days) if reopened else due
    return by_days


@dataclass
class Opened:
    step: str
    due_at: datetime


def plan(workflow: Workflow, before: tuple[str, dict[str, Any]], after: tuple[str, dict[str, Any]]
         ) -> tuple[list[DeadlineSpec], list[DeadlineSpec]]:
    """(specs to close, specs to open) for a case going from `before` to `after` (state, data)."""
    close, open_ = [], []
    for spec in workflow.deadlines:
        was, now = spec.applies(*before), spec.applies(*after)
        if was and not now:
            close.append(spec)
        elif now and not was:
            open_.append(spec)
    return close, open_


def apply_plan(raw: Raw, case_id: int, data: dict[str, Any], close: list[DeadlineSpec],
               open_: list[DeadlineSpec], now: datetime) -> list[Opened]:
    """Write the plan: one update for what closes, one insert for what opens."""
    if close:
        steps = [s.step for s in close]
        raw.run(f"UPDATE deadline SET closed_at = ? WHERE case_id = ? AND closed_at IS NULL AND step IN ({raw.in_list(steps)})",
                [raw.ts(now), case_id, *steps])
    opened, rows = [], []
    if open_:
        calendar = calendar_for(raw.session)
        today = local_date(now)
        dated = [s.step for s in open_ if s.due_field]
        before = {step for (step,) in raw.rows(
            f"SELECT DISTINCT step FROM deadline WHERE case_id = ? AND step IN ({raw.in_list(dated)})",
            [case_id, *dated])} if dated else set()
        for spec in open_:
            due = due_day_for(spec, data, today, calendar, reopened=spec.step in before)
            opened.append(Opened(spec.step, end_of_local_day(due)))
            first = next_action_day(LADDERS[spec.ladder], due, calendar, set(), None, bool(spec.on_overdue))
            rows.append({"case_id": case_id, "step": spec.step, "opened_at": now, "due_at": end_of_local_day(due),
                         "closed_at": None, "reminded_at": None, "escalated_at": None,
                         "next_action_at": start_of_local_day(first) if first else None})
        raw.insert("deadline", rows, times=("opened_at", "due_at", "closed_at", "reminded_at", "escalated_at",
                                            "next_action_at"))
    return opened


def due_label(moment: Optional[datetime]) -> str:
    return to_local(moment).strftime("%Y年%m月%d日") if moment else ""


def open_due_label(raw: Raw, case_id: int) -> str:
    row = raw.first("SELECT due_at FROM deadline WHERE case_id = ? AND closed_at IS NULL ORDER BY due_at LIMIT 1",
                    [case_id])
    return due_label(Raw.read_ts(row[0])) if row else ""


def spec_of(workflow: Workflow, step: str) -> Optional[DeadlineSpec]:
    return next((s for s in workflow.deadlines if s.step == step), None)
