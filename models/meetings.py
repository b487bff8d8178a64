"""Meetings and trainings a center records (Y§19, H4)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from models.base import json_field


class Meeting(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    center_id: int = Field(foreign_key="center.id", index=True)
    kind: str  # member_meeting | training | dispatch
    held_on: date = Field(index=True)
    title: str
    attendees: list[Any] = json_field(list)
    minutes: str = ""
    files: list[Any] = json_field(list)
    recorded_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field()
