"""The outbox queue as a whole: while the mail server cannot be reached, every message waits and none
loses an attempt. One row (models.MailQueueState) says since when delivery fails, when the queue tries
again (a back-off that doubles per failed round, capped so the mail goes out soon after the server is
back), and whether the commission was told.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Connection, Engine, insert, select, update

from models.outbox import QUEUE_STATE_ID, MailQueueState

TABLE = MailQueueState.__table__
__all__ = ["current", "is_held", "lock_state", "record_outage", "record_recovery", "read_state"]


def _ensure_row(conn: Connection) -> None:
    if conn.scalar(select(TABLE.c.id).where(TABLE.c.id == QUEUE_STATE_ID)) is None:
        conn.execute(insert(TABLE).values(id=QUEUE_STATE_ID, failures=0, last_error=""))


def lock_state(conn: Connection) -> None:
    """Serialise deliverers on the state row for the rest of this transaction (PostgreSQL; on SQLite every
    writing transaction holds the database's write lock already)."""
    _ensure_row(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(select(TABLE.c.id).where(TABLE.c.id == QUEUE_STATE_ID).with_for_update())


def read_state(conn: Connection) -> Optional[dict]:
    row = conn.execute(select(TABLE).where(TABLE.c.id == QUEUE_STATE_ID)).mappings().first()
    return dict(row) if row else None


def current(engine: Engine) -> dict:
    """The queue's state, read without taking a write lock."""
    with engine.connect() as conn:
        conn = conn.execution_options(read_only=True)  # on SQLite a plain BEGIN: no write lock
        return read_state(conn) or {"failing_since": None, "retry_at": None, "failures": 0, "last_error": ""}


def is_held(state: dict, now: datetime) -> bool:
    """The queue is backing off at `now`: the server was unreachable a moment ago."""
    return state["retry_at"] is not None and state["retry_at"] > now


def backoff(failures: int, base_seconds: int, max_seconds: int) -> timedelta:
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** min(max(failures - 1, 0), 20)))


def record_outage(engine: Engine, now: datetime, error: str, base_seconds: int, max_seconds: int) -> dict:
    """One more failed round: the queue waits until `retry_at`. The state after."""
    with engine.begin() as conn:
        lock_state(conn)
        state = read_state(conn)
        failures = state["failures"] + 1
        values = {"failures": failures, "last_error": error, "last_failure_at": now,
                  "failing_since": state["failing_since"] or now,
                  "retry_at": now + backoff(failures, base_seconds, max_seconds)}
        conn.execute(update(TABLE).where(TABLE.c.id == QUEUE_STATE_ID).values(**values))
        return {**state, **values}


def record_recovery(engine: Engine, now: datetime) -> bool:
    """The server answered: the outage ends now. True if one was still open (call it only when the state
    read at the start of the run showed one: a run that finds none writes nothing)."""
    with engine.begin() as conn:
        ended = conn.execute(
            update(TABLE).where(TABLE.c.id == QUEUE_STATE_ID, TABLE.c.failing_since.is_not(None)).values(
                last_outage_started_at=TABLE.c.failing_since, last_outage_ended_at=now,
                last_outage_alerted_at=TABLE.c.alert_raised_at, failing_since=None, retry_at=None,
                failures=0, alert_raised_at=None))
        return ended.rowcount == 1
