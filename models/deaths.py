"""Reference data and audit for death-case reviews (H5, Y§22). The cases themselves are `Case` rows."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel




class LowRiskGroup(SQLModel, table=True):
    """A DRG group in a year's low-risk tier (mortality below mean − 1 SD): versioned reference data."""

    year: int = Field(primary_key=True)
    drg_code: str = Field(primary_key=True)
    name: str = ""
    source: str = ""  # the file it was loaded from


class AccessLog(SQLModel, table=True):
    """Every opening of a case's details (Y§22): who, when, through what."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    at: datetime = Field()
    channel: str = ""  # web | cli
