"""Emails waiting to be sent, written in the same transaction as the change that caused them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from models.base import json_field


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
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime = Field()
    lease_until: Optional[datetime] = None
    created_at: datetime = Field()
    sent_at: Optional[datetime] = None
