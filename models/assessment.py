"""The annual assessment (Y§24): rubric versions per year, host-unit funding declarations (Y§16), published grades."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_field


class AssessmentRubric(SQLModel, table=True):
    """One loaded version of a year's rubric (the file's content as read); the latest version is in force."""

    __tablename__ = "assessment_rubric"
    __table_args__ = (UniqueConstraint("year", "version", name="uq_assessment_rubric_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    version: int
    city: str = ""
    label: str = "年度考核"
    content: dict[str, Any] = json_field()
    source: str = ""  # the file it was loaded from
    loaded_at: datetime = Field()


class FundingDeclaration(SQLModel, table=True):
    """The host unit's yearly declaration of the center's earmarked funds (Y§16), the proof of the funding bonus."""

    __tablename__ = "funding_declaration"
    __table_args__ = (UniqueConstraint("center_code", "year", name="uq_funding_declaration"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    center_code: str = Field(index=True)
    year: int
    amount: int  # yuan
    leader_name: str  # the host's hospital leader in charge of the center
    leader_title: str = ""
    proof: str = ""  # the voucher: e.g. the allocation document's number or file name
    declared_by_id: int = Field(foreign_key="person.id")
    declared_at: datetime = Field()


class AssessmentResult(SQLModel, table=True):
    """A center's published grade for a year, written at publication (again after a re-moderated appeal)."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("center_code", "year", name="uq_assessment_result"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    center_code: str = Field(index=True)
    year: int = Field(index=True)
    score: float
    bonus: float
    grade: str
    vetoed: bool = False
    veto_ground: str = ""
    case_id: int = Field(foreign_key="qc_case.id")
    published_at: datetime = Field()
