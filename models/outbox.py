"""Emails waiting to be sent, written in the same transaction as the change that caused them; and the
state of the queue as a whole (is the mail server reachable, since when not, was anyone told)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from models.base import json_field

QUEUE_STATE_ID = 1  # the queue's state is one row


class OutboxMessage(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)  # stable across retries, so receivers can de-duplicate
    case_id: Optional[int] = Field(default=None, foreign_key="qc_case.id", index=True)
    to_addr: str
    to_name: str = ""
    template: str = ""  # the mail intent: rendered at delivery from `context` (empty: already rendered)
    context: dict[str, Any] = json_field()
    subject: str = ""
    text_body: str = ""
    html_body: str = ""
    attachments: list[Any] = json_field(list)  # [{filename, content_type, content}] text attachments, e.g. .ics
    status: str = Field(default="pending", index=True)  # pending / sent / failed
    attempts: int = 0  # attempts of this message; a mail server that cannot be reached counts none
    last_error: str = ""
    next_attempt_at: datetime = Field()
    lease_until: Optional[datetime] = None
    created_at: datetime = Field()
    sent_at: Optional[datetime] = Field(default=None, index=True)  # the sending quota counts sent mail by time
    failed_at: Optional[datetime] = None  # given up (a permanent refusal, or the last attempt)
    sender_domain: str = ""  # the domain it was sent from: quotas are per sending domain


class MailQueueState(SQLModel, table=True):
    """While the mail server cannot be reached, the whole queue waits (`retry_at`) and no message loses an
    attempt; `failing_since` says for how long, `alert_raised_at` that the commission was told."""

    id: int = Field(default=QUEUE_STATE_ID, primary_key=True)
    failing_since: Optional[datetime] = None
    retry_at: Optional[datetime] = None
    failures: int = 0  # failed connection rounds in this outage (the back-off doubles with each)
    last_error: str = ""
    last_failure_at: Optional[datetime] = None
    alert_raised_at: Optional[datetime] = None
    last_outage_started_at: Optional[datetime] = None
    last_outage_ended_at: Optional[datetime] = None
    last_outage_alerted_at: Optional[datetime] = None
