"""The `as_of` parameter of the calendar flows, handled like the sweep's: nonsense is refused with a clear
Chinese error (no traceback), a past day or today acts, and a day after today only previews (what would be
opened or sent, with every write rolled back and no mail sent) unless `force`. No rules here."""
from __future__ import annotations

from datetime import date
from typing import Callable, Optional, TypeVar

from sqlmodel import Session

from qcflow.core.clock import local_date, utcnow
from qcflow.services.sweep import parse_as_of
from qcflow.store.db import unit_of_work

T = TypeVar("T")
PREVIEW_NOTE = "预览（{day} 在今天之后，未做任何更改、未发送邮件；确需按该日执行请加 force=true）"


def checked_day(as_of: Optional[str]) -> Optional[date]:
    """The day asked for (None: today), refused in Chinese when it is not a real YYYY-MM-DD in range."""
    return parse_as_of(as_of, local_date(utcnow()))


def is_preview(as_of: Optional[str], force: bool) -> bool:
    day = checked_day(as_of)
    return day is not None and day > local_date(utcnow()) and not force


class _Rollback(Exception):
    pass


def run(work: Callable[[Session], T], preview: bool) -> T:
    """`work` in one transaction, committed; for a preview, rolled back whatever it wrote."""
    if not preview:
        with unit_of_work() as session:
            return work(session)
    result: list[T] = []
    try:
        with unit_of_work() as session:
            result.append(work(session))
            raise _Rollback()
    except _Rollback:
        pass
    return result[0]
