"""The dispatch ledger: claim a key before sending, so each reminder goes out once.

The insert runs in a savepoint: if another sweep (or an earlier run) holds the key, the unique
constraint refuses it and only the savepoint rolls back.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Dispatch
from qcflow.core.clock import utcnow


def claim(session: Session, key: str, action: str, deadline_id: Optional[int] = None,
          case_id: Optional[int] = None) -> bool:
    """True if this call took `key`; False if it was taken before."""
    if session.exec(select(Dispatch.id).where(Dispatch.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Dispatch(key=key, action=action, deadline_id=deadline_id, case_id=case_id, at=utcnow()))
    except IntegrityError:
        return False
    return True
