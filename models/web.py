"""Web sign-in: one-time login links, sessions, rate-limit records, task-link openings, person settings.

Secrets (login tokens, session ids) are stored only as hashes; who asked for a sign-in link is
stored as a keyed hash of the email and the client address, so the rate limit needs no clear data.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class LoginToken(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field()
    expires_at: datetime = Field()
    used_at: Optional[datetime] = None


class SignInRequest(SQLModel, table=True):
    """One request for a sign-in link, known or unknown email alike (the rate limit counts both)."""

    __table_args__ = (Index("ix_signinrequest_email_at", "email_key", "at"),
                      Index("ix_signinrequest_client_at", "client_key", "at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    email_key: str
    client_key: str
    at: datetime = Field()


class WebSession(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field()
    last_seen_at: datetime = Field()
    expires_at: datetime = Field()  # the absolute limit; idle expiry is counted from last_seen_at
    ended_at: Optional[datetime] = None
    user_agent: str = ""


class LinkOpening(SQLModel, table=True):
    """A GET of an emailed task link: mail scanners open every link, so this is not a read by the person."""

    id: Optional[int] = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="tasklink.id", index=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    at: datetime = Field()
    user_agent: str = ""


class PersonSetting(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    daily_digest: bool = False  # 每日待办汇总: one mail a day instead of one per step
    digest_sent_on: Optional[str] = None  # the local day (YYYY-MM-DD) of the last digest sent
