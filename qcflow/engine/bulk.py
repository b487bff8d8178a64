"""Opening many cases at once (bulk intake): the same checks and rows as opening them one by one.

Each case is created by `trigger` and then taken through `steps` (system steps, e.g. screening).
The workflow judges every step as it would for one case — once per batch when a step has no
guards (its verdict cannot depend on the case), else per case — and the rows are those the
one-by-one path writes: the case at its final state, version and round, one history row per
step, the deadlines each state opens and closes, and the notices of each state entered, all
inserted in batches. A case whose key exists already is left alone (the import is idempotent).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from qcflow.core.history_chain import GENESIS, event_hash
from qcflow.engine import deadlines, plugins
from qcflow.engine.core import CaseRecord, workflow_for
from qcflow.engine.notify import Notifier
from qcflow.store.raw import Raw
from states.rules import SYSTEM, Actor, CaseView, PastEvent, Refused
from states.workflow import Attempt, Workflow

CHUNK = 500  # rows per INSERT (SQLite's limit on bound parameters)


@dataclass(frozen=True)
class NewCase:
    key: str
    title: str
    data: dict[str, Any]
    center_id: Optional[int] = None
    step_details: dict[str, dict[str, Any]] = field(default_factory=dict)  # trigger -> history details


def open_many(session: Session, kind: str, cases: list[NewCase], actor: Actor, trigger: str,
              steps: tuple[str, ...], now: datetime, details: Optional[dict[str, Any]] = None) -> list[tuple[int, str]]:
    """Create the cases not yet there; returns (id, key) of those created."""
    if not cases:
        return []
    workflow = workflow_for(kind)
    cleaned = [(c, plugins.clean_content(session, kind, c.data)) for c in cases]
    cases = [c if data is c.data else replace(c, data=data) for c, data in cleaned]  # e.g. no clear identity (Y§22)
    path = _path(workflow, steps)
    _check(workflow, cases, actor, steps, path)
    raw = Raw(session)
    final = path[-1]
    rounds = sum(1 for a, b in zip(path, path[1:]) if a != b)
    created = _insert_cases(raw, kind, final, 1 + len(steps), rounds, cases, actor.person_id, now)
    if not created:
        return []
    by_key = {c.key: c for c in cases}
    events, plans = [], []
    for case_id, key in created:
        new = by_key[key]
        events.append((case_id, trigger, "", path[0], actor.person_id, details or {}))
        for step, before, after in zip(steps, path, path[1:]):
            events.append((case_id, step, before, after, None, new.step_details.get(step, {})))
        plans.append((case_id, new))
    _insert_events(raw, _chained(events, now), now)
    _deadlines_and_notices(raw, workflow, path, steps, plans, now)
    return created


def _path(workflow: Workflow, steps: tuple[str, ...]) -> list[str]:
    states = [workflow.initial]
    for step in steps:
        transition = workflow.transitions[step]
        states.append(transition.dest or states[-1])
    return states


def _check(workflow: Workflow, cases: list[NewCase], actor: Actor, steps: tuple[str, ...], path: list[str]) -> None:
    """The workflow's verdict on every step; raises Refused on the first case it refuses."""
    for step, state in zip(steps, path):
        transition = workflow.transitions[step]
        judged = cases if transition.guards else cases[:1]
        for new in judged:
            view = CaseView(kind=workflow.kind, state=state, center_id=new.center_id, created_by_id=actor.person_id,
                            data=new.data, history=(PastEvent("create", actor.person_id, path[0]),))
            reasons = workflow.check(view, SYSTEM, Attempt(step))
            if reasons:
                raise Refused(reasons)


def _insert_cases(raw: Raw, kind: str, state: str, version: int, rounds: int, cases: list[NewCase],
                  actor_id: Optional[int], now: datetime) -> list[tuple[int, str]]:
    created: list[tuple[int, str]] = []
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start:start + CHUNK]
        if raw.postgres:
            # psycopg re-parses every long statement on each execution: one JSON parameter goes through as is
            document = json.dumps([{"title": c.title, "key": c.key, "data": c.data, "center": c.center_id}
                                   for c in chunk], ensure_ascii=False)
            created += raw.rows(_PG_CASES, [kind, state, version, rounds, actor_id, raw.ts(now), raw.ts(now), document])
            continue
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
        params: list[Any] = []
        at = raw.ts(now)
        for c in chunk:
            params += [kind, state, version, rounds, c.title, c.center_id, actor_id, c.key, raw.js(c.data), at, at]
        created += raw.rows('INSERT INTO qc_case (kind, state, version, "round", title, center_id, created_by_id, '
                            f'"key", data, created_at, updated_at) VALUES {values} '
                            'ON CONFLICT ("key") DO NOTHING RETURNING id, "key"', params)
    return [(int(i), k) for i, k in created]


def _chained(events: list[tuple], now: datetime) -> list[tuple]:
    """Each event with its prev_hash and hash, as a step writes them (a case's events come in order)."""
    chained, head, case = [], GENESIS, None
    for cid, t, a, b, actor, d in events:
        if cid != case:
            head, case = GENESIS, cid
        fields = {"case_id": cid, "trigger": t, "from_state": a, "to_state": b, "actor_id": actor, "comment": "",
                  "details": d, "at": now}
        prev, head = head, event_hash(head, fields)
        chained.append((cid, t, a, b, actor, d, prev, head))
    return chained


def _insert_events(raw: Raw, events: list[tuple], now: datetime) -> None:
    if raw.postgres:
        for start in range(0, len(events), CHUNK * 4):
            raw.run(_PG_EVENTS, [raw.ts(now), json.dumps(events[start:start + CHUNK * 4], ensure_ascii=False)])
        return
    at = raw.ts(now)
    raw.many('INSERT INTO caseevent (case_id, "trigger", from_state, to_state, actor_id, comment, details, at, '
             "prev_hash, hash) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
             ((cid, t, a, b, actor, raw.js(d), at, prev, h) for cid, t, a, b, actor, d, prev, h in events))


def _deadlines_and_notices(raw: Raw, workflow: Workflow, path: list[str], steps: tuple[str, ...],
                           plans: list[tuple[int, NewCase]], now: datetime) -> None:
    """What each state on the path opens, closes and announces, as for a case opened alone."""
    opens = any(spec.applies(s, new.data) for spec in workflow.deadlines for s in path for _, new in plans)
    announces = any(workflow.on_enter.get(s) and workflow.on_enter[s].notify for s in path) or \
        any(workflow.transitions[s].notify for s in steps)
    if not opens and not announces:
        return
    for case_id, new in plans:
        state, data = "", {}
        record = CaseRecord(case_id, workflow.kind, path[-1], 1 + len(steps), 0, new.title, new.center_id, None,
                            new.key, new.data, now, now)
        notifier = Notifier(raw, workflow, record, [], now)
        for after in path:
            close, open_ = deadlines.plan(workflow, (state, data), (after, new.data))
            if close or open_:
                notifier.opened(deadlines.apply_plan(raw, case_id, new.data, close, open_, now))
            entered = workflow.on_enter.get(after)
            if entered is not None and after != state:
                notifier.notify(entered.notify)
            state, data = after, new.data
        notifier.flush()


_PG_CASES = """
    INSERT INTO qc_case (kind, state, version, round, title, center_id, created_by_id, key, data, created_at, updated_at)
    SELECT ?, ?, ?, ?, r->>'title', CAST(r->>'center' AS integer), ?, r->>'key', r->'data', ?, ?
    FROM json_array_elements(CAST(? AS json)) AS r
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key"""
_PG_EVENTS = """
    INSERT INTO caseevent (case_id, trigger, from_state, to_state, actor_id, comment, details, at, prev_hash, hash)
    SELECT CAST(e->>0 AS integer), e->>1, e->>2, e->>3, CAST(e->>4 AS integer), '', e->5, ?, e->>6, e->>7
    FROM json_array_elements(CAST(? AS json)) AS e"""
