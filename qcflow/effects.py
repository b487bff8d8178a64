"""Named side effects a workflow's state sets off in the application layer (see OnEnter.effect)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlmodel import Session

from models import Case


def _establish_center(session: Session, case: Case, now: datetime) -> None:
    from qcflow.registry import establish

    establish(session, case, now)


EFFECTS: dict[str, Callable[[Session, Case, datetime], None]] = {
    "establish_center": _establish_center,
}
