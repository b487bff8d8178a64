"""What the commission's staff did to the platform itself (not to a case): who, when, what, on which rows."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from models.base import json_field


class AdminAction(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    action: str = Field(index=True)  # e.g. outbox_requeue
    person_id: int = Field(foreign_key="person.id", index=True)
    at: datetime = Field()
    details: dict[str, Any] = json_field()  # e.g. {"ids": [3, 4], "all_failed": false}
