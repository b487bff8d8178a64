"""Emailed task links: signed, bound to one case and one person, expiring, stored only as a hash.

Opening a link (GET) never acts: mail scanners open every link in a message. Only the POST from
the page acts, once, and only while the case is still at the version the link was made for.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlmodel import Session, select

from models import Case, TaskLink
from qcflow.core.clock import utcnow
from qcflow.core.runtime import get_settings
from qcflow.store.raw import Raw


def _sign(payload: str, key: bytes) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkSigner:
    """Makes link tokens and their rows; built once per step from the runtime's settings."""

    secret: bytes
    base_url: str
    ttl: timedelta

    @classmethod
    def from_settings(cls) -> "LinkSigner":
        settings = get_settings()
        return cls(settings.secret_key.encode(), settings.public_base_url.rstrip("/"),
                   timedelta(days=settings.link_ttl_days))

    def new(self, case_id: int, case_version: int, case_round: int, email: str, person_id: Optional[int],
            purpose: str, now: datetime) -> tuple[str, dict]:
        """(url, row) of a new link for this person and case; the row is written with `write_links`."""
        payload = f"{case_id}.{secrets.token_urlsafe(18)}"
        token = f"{payload}.{_sign(payload, self.secret)}"
        row = {"token_hash": _hash(token), "case_id": case_id, "person_id": person_id, "email": email,
               "purpose": purpose, "case_version": case_version, "case_round": case_round, "created_at": now,
               "expires_at": now + self.ttl, "used_at": None}
        return f"{self.base_url}/t/{token}", row


UNTIL_DUE = "_until_due"  # link row key (not a column): look up the case's open deadline when written


def last_until(row: dict, due_at: datetime) -> None:
    """A task link lives at least until its step's deadline, and its time to live after that: a report
    opened on 1 June and due on 30 June stays submittable from its 【待提交】 link, late too, whatever
    QCFLOW_LINK_TTL_DAYS is."""
    row["expires_at"] = max(row["expires_at"], due_at + (row["expires_at"] - row["created_at"]))


def write_links(raw: Raw, rows: list[dict]) -> None:
    """Insert link rows; those marked UNTIL_DUE (a deadline opened by an earlier step may apply) get their
    case's open deadline in one query for the whole batch (a step writes its deadlines before its links)."""
    marked = [r.pop(UNTIL_DUE, False) for r in rows]
    cases = sorted({r["case_id"] for r, m in zip(rows, marked) if m})
    if cases:
        due = {case_id: Raw.read_ts(at) for case_id, at in raw.rows(
            f"SELECT case_id, max(due_at) FROM deadline WHERE closed_at IS NULL AND case_id IN ({raw.in_list(cases)}) "
            f"GROUP BY case_id", cases)}
        for row, mark in zip(rows, marked):
            if mark and due.get(row["case_id"]) is not None:
                last_until(row, due[row["case_id"]])
    raw.insert("tasklink", rows, times=("created_at", "expires_at", "used_at"))


def carry_links(raw: Raw, case_id: int, from_round: int, to_round: int) -> int:
    """Unused task links of `from_round` stay good in `to_round`: a system step (e.g. 逾期) moved the
    state, but the step they are for still waits for the same people."""
    if from_round == to_round:
        return 0
    return raw.run("UPDATE tasklink SET case_round = ? WHERE case_id = ? AND case_round = ? AND used_at IS NULL "
                   "AND purpose = 'act'", [to_round, case_id, from_round])


@dataclass
class LinkCheck:
    status: str  # ok | forged | unknown | expired | used | superseded
    link: Optional[TaskLink] = None
    case: Optional[Case] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


LINK_PROBLEMS = {
    "forged": ("链接无效", "这个链接不完整或已被改动。请从原邮件中重新打开，或直接复制邮件中的完整链接。"),
    "unknown": ("链接无效", "系统中没有这个链接。请从最新的通知邮件中打开，或联系医政医管科。"),
    "expired": ("链接已过期", "这个链接已超过有效期。如事项仍需您处理，请联系医政医管科重新发送通知。"),
    "used": ("链接已使用", "您已通过这个链接提交过决定，每个链接只能提交一次。处理结果见下方记录。"),
    "superseded": ("事项已有新进展", "这个链接对应的步骤已被处理（可能是他人处理或事项已更新）。如仍需您处理，您会收到新的通知邮件。"),
}


def check_link(session: Session, token: str, now: Optional[datetime] = None, lock: bool = False) -> LinkCheck:
    now = now or utcnow()
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return LinkCheck("forged")
    if not hmac.compare_digest(parts[2], _sign(f"{parts[0]}.{parts[1]}", get_settings().secret_key.encode())):
        return LinkCheck("forged")
    query = select(TaskLink, Case).join(Case, Case.id == TaskLink.case_id).where(TaskLink.token_hash == _hash(token))
    found = session.exec(query.with_for_update(of=Case) if lock else query).first()  # the link and its case at once
    if found is None:
        return LinkCheck("unknown")
    link, case = found
    if link.used_at is not None:
        return LinkCheck("used", link, case)
    if now > link.expires_at:
        return LinkCheck("expired", link, case)
    # Edits, uploads and other experts' votes keep the state: the link stays good until it moves on.
    if link.purpose == "act" and case.round != link.case_round:
        return LinkCheck("superseded", link, case)
    return LinkCheck("ok", link, case)
