"""The dispatch ledger: claim a key before sending, so each reminder goes out once.

The insert runs in a savepoint: if another sweep (or an earlier run) holds the key, the unique
constraint refuses it and only the savepoint rolls back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Dispatch
from qcflow.store.raw import Raw

CLAIM_CHUNK = 1000  # rows per statement, well within SQLite's limit on bound parameters


def claim_many(session: Session, claims: list[tuple[str, str, Optional[int], Optional[int]]],
               now: datetime) -> set[str]:
    """Claim (key, action, deadline_id, case_id) rows in one statement per chunk; returns the keys this
    call took (a key held already, by an earlier run or a concurrent sweep, is not taken again)."""
    raw = Raw(session)
    at = raw.ts(now)
    taken: set[str] = set()
    for start in range(0, len(claims), CLAIM_CHUNK):
        chunk = claims[start:start + CLAIM_CHUNK]
        params = [v for key, action, deadline_id, case_id in chunk for v in (key, action, deadline_id, case_id, at)]
        values = ", ".join("(?, ?, ?, ?, ?)" for _ in chunk)
        taken.update(k for (k,) in raw.rows(f'INSERT INTO dispatch ("key", action, deadline_id, case_id, at) VALUES {values} '
                                            'ON CONFLICT ("key") DO NOTHING RETURNING "key"', params))
    return taken


def claim(session: Session, key: str, action: str, now: datetime, deadline_id: Optional[int] = None,
          case_id: Optional[int] = None) -> bool:
    """True if this call took `key`; False if it was taken before."""
    if session.exec(select(Dispatch.id).where(Dispatch.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Dispatch(key=key, action=action, deadline_id=deadline_id, case_id=case_id, at=now))
    except IntegrityError:
        return False
    return True
