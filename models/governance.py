"""What the monthly dispatch meeting covered (H4), beside the meeting record itself (models.meetings)."""
from __future__ import annotations

from typing import Any

from sqlmodel import Field, SQLModel

from models.base import json_field


class DispatchAgenda(SQLModel, table=True):
    """The topics of one dispatch meeting: [{topic, note}] (states.meetings.DISPATCH_TOPICS)."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    topics: list[Any] = json_field(list)
