"""Published annual quality reports (H6): the exact bytes and numbers as published, never changed."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_field


class AnnualReportVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("specialty", "year", "version", name="uq_annual_report_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", unique=True)
    specialty: str = Field(index=True)
    year: int
    version: int
    title: str
    analysis: dict[str, Any] = json_field()  # the input it was rendered from: rebuilding it gives the same bytes
    html: str = Field(sa_column=Column(Text, nullable=False))
    html_sha256: str
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf_sha256: str
    published_at: datetime = Field()
