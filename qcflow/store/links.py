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


def _sign(payload: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link(session: Session, case: Case, email: str, person_id: Optional[int], purpose: str,
              now: Optional[datetime] = None) -> str:
    """Store a new link for this person and case; return its URL."""
    now = now or utcnow()
    settings = get_settings()
    payload = f"{case.id}.{secrets.token_urlsafe(18)}"
    token = f"{payload}.{_sign(payload)}"
    session.add(TaskLink(
        token_hash=_hash(token), case_id=case.id, person_id=person_id, email=email, purpose=purpose,
        case_version=case.version, case_round=case.round, created_at=now, expires_at=now + timedelta(days=settings.link_ttl_days),
    ))
    return f"{settings.public_base_url.rstrip('/')}/t/{token}"


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
    if not hmac.compare_digest(parts[2], _sign(f"{parts[0]}.{parts[1]}")):
        return LinkCheck("forged")
    link = session.exec(select(TaskLink).where(TaskLink.token_hash == _hash(token))).first()
    if link is None:
        return LinkCheck("unknown")
    query = select(Case).where(Case.id == link.case_id)
    case = session.exec(query.with_for_update() if lock else query).one()
    if link.used_at is not None:
        return LinkCheck("used", link, case)
    if now > link.expires_at:
        return LinkCheck("expired", link, case)
    # Edits, uploads and other experts' votes keep the state: the link stays good until it moves on.
    if link.purpose == "act" and case.round != link.case_round:
        return LinkCheck("superseded", link, case)
    return LinkCheck("ok", link, case)
