"""Monitoring indicators (H3, Y§14): the dictionary per specialty and year (versioned), the values
institutions report per quarter, the provincial and national means, and spot checks of the values."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_field


class IndicatorSet(SQLModel, table=True):
    """One version of a specialty's indicator dictionary for a year; a changed file is a new version."""

    __table_args__ = (UniqueConstraint("specialty", "year", "version", name="uq_indicator_set"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    specialty: str = Field(index=True)
    year: int
    version: int
    checksum: str  # of the dictionary's content: loading the same content again makes no new version
    source: str = ""
    loaded_at: datetime = Field()


class IndicatorDefinition(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("set_id", "code", name="uq_indicator_definition"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="indicatorset.id", index=True)
    position: int = 0
    code: str
    name: str
    numerator: str
    denominator: str
    unit: str = "%"
    direction: str = "higher"  # higher | lower is better
    category: str = "process"  # structure | process | outcome
    national_goal: str = ""
    flag: dict[str, Any] = json_field()  # overrides of the policy's flag rule


class IndicatorValue(SQLModel, table=True):
    """An institution's numerator and denominator of one indicator in one quarter."""

    __table_args__ = (UniqueConstraint("specialty", "year", "quarter", "indicator_code", "institution_code",
                                       name="uq_indicator_value"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    specialty: str
    year: int
    quarter: int
    indicator_code: str
    institution_code: str  # the unique key's index serves every lookup (specialty, year first)
    numerator: float
    denominator: float
    source: str = ""
    imported_by_id: Optional[int] = Field(default=None, foreign_key="person.id")
    imported_at: datetime = Field()


class IndicatorMean(SQLModel, table=True):
    """A provincial or national mean of an indicator for a year, in the indicator's unit."""

    specialty: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    indicator_code: str = Field(primary_key=True)
    scope: str = Field(primary_key=True)  # province | national
    value: float
    source: str = ""


class SpotCheck(SQLModel, table=True):
    """A sample of institutions drawn to verify their reported values (Y§14(3)), with its seed."""

    id: Optional[int] = Field(default=None, primary_key=True)
    specialty: str
    year: int
    seed: int
    size: int
    institutions: list[str] = json_field(list)
    drawn_by_id: int = Field(foreign_key="person.id")
    drawn_at: datetime = Field()


class SpotCheckResult(SQLModel, table=True):
    """One verified figure: what the institution reported, what the check found, and any discrepancy."""

    __table_args__ = (UniqueConstraint("spot_check_id", "institution_code", "indicator_code",
                                       name="uq_spot_check_result"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    spot_check_id: int = Field(foreign_key="spotcheck.id", index=True)
    institution_code: str
    indicator_code: str
    reported_numerator: float
    reported_denominator: float
    verified_numerator: float
    verified_denominator: float
    discrepancy: str = ""  # empty: the values are borne out
    note: str = ""
    checked_by_id: int = Field(foreign_key="person.id")
    checked_at: datetime = Field()
