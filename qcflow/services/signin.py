"""Sign-in by emailed link: ask for a link, confirm it once, hold a session, end it.

No passwords. The link's token and the session's id are secrets handed to the browser and stored
only as hashes. Whoever asks gets the same answer, known email or not, so the form cannot be used
to learn who is in the directory; requests are counted per email and per client in the database,
so the limit holds across processes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from models import LoginToken, Person, SignInRequest, WebSession
from qcflow.core.clock import fmt_local, utcnow
from qcflow.core.runtime import get_settings
from qcflow.engine.outbox import Recipient, enqueue
from states.rules import Reason, Refused

LINK_LIFETIME = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)  # a session's last_seen_at is written at most this often
RATE_WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 3
MAX_PER_CLIENT = 10

TOKEN_PROBLEMS = {
    "unknown": ("登录链接无效", "这个登录链接不完整或不存在。请重新申请登录链接。"),
    "expired": ("登录链接已过期", f"登录链接的有效期为 {int(LINK_LIFETIME.total_seconds() // 60)} 分钟，已过期。请重新申请登录链接。"),
    "used": ("登录链接已使用", "每个登录链接只能使用一次。如需再次登录，请重新申请登录链接。"),
}


class RateLimited(Refused):
    """Too many sign-in link requests for this email or from this client."""


class TokenRefused(Refused):
    def __init__(self, status: str):
        title, explanation = TOKEN_PROBLEMS[status]
        super().__init__([Reason("", f"{title}：{explanation}")])
        self.status, self.title, self.explanation = status, title, explanation


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _keyed(purpose: str, value: str) -> str:
    """A keyed hash: the rate limit counts requests without storing emails or addresses in clear."""
    return hmac.new(get_settings().secret_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def normalized_email(email: str) -> str:
    return email.strip().lower()


def request_link(session: Session, email: str, client: str, now: Optional[datetime] = None) -> None:
    """Record the request and, for a person in the directory, queue the sign-in mail.

    Refused (the same way for every email) when this email or this client asked too often."""
    now = now or utcnow()
    email = normalized_email(email)
    if not email or "@" not in email or len(email) > 254:
        raise Refused([Reason("", "请填写完整的邮箱地址，例如 name@example.cn")])
    email_key, client_key = _keyed("email", email), _keyed("client", client or "-")
    since = now - RATE_WINDOW
    by_email = _count(session, SignInRequest.email_key == email_key, since)
    by_client = _count(session, SignInRequest.client_key == client_key, since)
    if by_email >= MAX_PER_EMAIL or by_client >= MAX_PER_CLIENT:
        minutes = int(RATE_WINDOW.total_seconds() // 60)
        raise RateLimited([Reason("", f"登录链接申请过于频繁：同一邮箱 {minutes} 分钟内最多 {MAX_PER_EMAIL} 次，"
                                  f"同一网络地址最多 {MAX_PER_CLIENT} 次。请稍后再试，或使用已收到的登录链接。")])
    session.add(SignInRequest(email_key=email_key, client_key=client_key, at=now))
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is not None:
        _send_link(session, person, now)
    session.flush()


def _count(session: Session, condition, since: datetime) -> int:
    return session.exec(select(func.count()).select_from(SignInRequest)
                        .where(condition, SignInRequest.at > since)).one()


def _send_link(session: Session, person: Person, now: datetime) -> None:
    token = secrets.token_urlsafe(32)
    expires = now + LINK_LIFETIME
    session.add(LoginToken(token_hash=_hash(token), person_id=person.id, created_at=now, expires_at=expires))
    base = get_settings().public_base_url.rstrip("/")
    enqueue(session, Recipient(person.email, person.name, person.id), "signin_link",
            {"link": f"{base}/login/{token}", "expires_at": fmt_local(expires),
             "minutes": int(LINK_LIFETIME.total_seconds() // 60)}, None, now)


def token_status(session: Session, token: str, now: Optional[datetime] = None) -> str:
    """ok | unknown | expired | used — for the page the link opens (which changes nothing)."""
    found = session.exec(select(LoginToken).where(LoginToken.token_hash == _hash(token))).first()
    return _status(found, now or utcnow())


def _status(found: Optional[LoginToken], now: datetime) -> str:
    if found is None:
        return "unknown"
    if found.used_at is not None:
        return "used"
    if now > found.expires_at:
        return "expired"
    return "ok"


@dataclass(frozen=True)
class SignedIn:
    session_token: str  # for the cookie; only its hash is stored
    person_id: int
    name: str
    max_age: int  # seconds until the session's absolute end


def confirm(session: Session, token: str, user_agent: str = "", now: Optional[datetime] = None) -> SignedIn:
    """Use the one-time token (once) and open a session for its person."""
    now = now or utcnow()
    found = session.exec(select(LoginToken).where(LoginToken.token_hash == _hash(token)).with_for_update()).first()
    status = _status(found, now)
    if status != "ok":
        raise TokenRefused(status)
    found.used_at = now
    session.add(found)
    person = session.get(Person, found.person_id)
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(secret), person_id=person.id, created_at=now, last_seen_at=now,
                           expires_at=now + SESSION_MAX, user_agent=user_agent[:300]))
    session.flush()
    return SignedIn(secret, person.id, person.name, int(SESSION_MAX.total_seconds()))


def person_of_session(session: Session, secret: str, now: Optional[datetime] = None,
                      touch: bool = True) -> Optional[SimpleNamespace]:
    """The signed-in person (id, name, email, stale), or None when the session is unknown, ended or expired.

    `stale`: last_seen_at is older than TOUCH_EVERY; with `touch` it is written now (a reader may
    pass touch=False and call touch_session in a writing transaction only when stale)."""
    if not secret:
        return None
    now = now or utcnow()
    row = session.exec(select(WebSession, Person).join(Person, Person.id == WebSession.person_id)
                       .where(WebSession.token_hash == _hash(secret))).first()
    if row is None:
        return None
    web, person = row
    if web.ended_at is not None or now > web.expires_at or now > web.last_seen_at + SESSION_IDLE:
        return None
    stale = now - web.last_seen_at >= TOUCH_EVERY
    if touch and stale:
        touch_session(session, secret, now)
    return SimpleNamespace(id=person.id, name=person.name, email=person.email, stale=stale)


def touch_session(session: Session, secret: str, now: Optional[datetime] = None) -> None:
    """Idle expiry counts from the last request: move last_seen_at forward."""
    web = session.exec(select(WebSession).where(WebSession.token_hash == _hash(secret))).first()
    if web is not None:
        web.last_seen_at = now or utcnow()
        session.add(web)
        session.flush()


def end_session(session: Session, secret: str, now: Optional[datetime] = None) -> None:
    if not secret:
        return
    web = session.exec(select(WebSession).where(WebSession.token_hash == _hash(secret))).first()
    if web is not None and web.ended_at is None:
        web.ended_at = now or utcnow()
        session.add(web)
        session.flush()
