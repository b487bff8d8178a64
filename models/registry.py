"""The registry of centers' people after establishment, and files attached to cases."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Field, SQLModel




class Appointment(SQLModel, table=True):
    """A person's post on a center for one term (Y§26: 4 years)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    center_id: int = Field(foreign_key="center.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str  # director / deputy / secretary / member / advisor
    group: str = ""
    group_role: str = ""
    term_start: date
    term_end: date
    consecutive_terms: int = 1
    department_head: bool = False
    provincial_society_member: bool = False
    title_exception: str = ""
    ended_on: Optional[date] = None
    ended_reason: str = ""
    source: str = "registry"  # registry: establishment or a roster change; directory: listed in the directory file


class Attachment(SQLModel, table=True):
    """A file uploaded to a case's material slot; the bytes live in the data dir by checksum."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    slot: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int = Field(foreign_key="person.id")
    uploaded_at: datetime = Field()
