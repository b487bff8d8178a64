"""Sending quotas per sending domain: a commission mailbox often may send only so many mails an hour
or a day. Windows are rolling (the last 60 minutes, the last 24 hours): what a provider counts most
strictly. Mail over the quota is not failed: it waits, and `when_free` says when the next may go.
Mail claimed by a deliverer right now counts as sent (it is on its way).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Connection, func, select

from models.outbox import OutboxMessage

TABLE = OutboxMessage.__table__
WINDOWS = (("hour", timedelta(hours=1)), ("day", timedelta(days=1)))
__all__ = ["Allowance", "allowance", "domain_of"]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Allowance:
    left: Optional[int]  # how many may go now (None: no quota configured)
    when_free: Optional[datetime]  # when the next may go, if none may now
    used: dict  # window name -> (sent or on its way, cap) for the windows with a cap


def _in_flight(conn: Connection, now: datetime) -> int:
    return conn.scalar(select(func.count()).select_from(TABLE).where(
        TABLE.c.status == "pending", TABLE.c.lease_until.is_not(None), TABLE.c.lease_until > now)) or 0


def _frees_at(conn: Connection, domain: str, since: datetime, length: timedelta, over: int) -> Optional[datetime]:
    """When the window has room again: the `over`-th oldest mail in it leaves the window."""
    oldest = conn.scalar(select(TABLE.c.sent_at).where(
        TABLE.c.status == "sent", TABLE.c.sender_domain == domain, TABLE.c.sent_at > since)
        .order_by(TABLE.c.sent_at).offset(max(over - 1, 0)).limit(1))
    return oldest + length if oldest is not None else None


def allowance(conn: Connection, domain: str, now: datetime, per_hour: int, per_day: int) -> Allowance:
    """How many mails `domain` may send at `now` under the caps (0: no cap), in this transaction."""
    caps = {"hour": per_hour, "day": per_day}
    if not any(caps.values()):
        return Allowance(None, None, {})
    flying = _in_flight(conn, now)
    left, when_free, used = None, None, {}
    for name, length in WINDOWS:
        cap = caps[name]
        if not cap:
            continue
        since = now - length
        sent = conn.scalar(select(func.count()).select_from(TABLE).where(
            TABLE.c.status == "sent", TABLE.c.sender_domain == domain, TABLE.c.sent_at > since)) or 0
        used[name] = (sent + flying, cap)
        room = max(cap - sent - flying, 0)
        left = room if left is None else min(left, room)
        if room == 0:
            # the window frees once enough of its mails leave it (mail on its way counts once sent)
            frees = _frees_at(conn, domain, since, length, sent + flying - cap + 1) or now + length
            when_free = frees if when_free is None else max(when_free, frees)
    return Allowance(left, when_free if left == 0 else None, used)
