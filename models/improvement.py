"""Approved improvement targets (H1): the lines the indicator analysis measures against."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class ImprovementTarget(SQLModel, table=True):
    """One target value of an approved improvement-goal plan; written only when the commission approves it."""

    __table_args__ = (UniqueConstraint("specialty", "year", "indicator_code", name="uq_improvement_target"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    plan_case_id: int = Field(foreign_key="qc_case.id", index=True)
    specialty: str = Field(index=True)
    year: int
    goal_code: str  # the national improvement goal it serves, e.g. NIT-2026-03
    indicator_code: str
    target_value: float
    direction: str  # higher | lower (which way is better)
    approved_at: datetime = Field()
