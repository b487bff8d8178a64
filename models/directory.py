"""The directory: who is who, where, and in what role."""
from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Commission(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    organ_code: str  # 发文机关代字, e.g. 青卫质控


class Institution(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True)
    name: str
    level: str  # e.g. 三级甲等
    county: str = ""


class Person(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True)
    name: str
    title: str = ""  # professional title, e.g. 主任医师
    birth_date: Optional[date] = None
    institution_id: Optional[int] = Field(default=None, foreign_key="institution.id")


class Center(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True)
    name: str
    specialty: str
    category: str  # 临床 / 技术 / 管理
    host_institution_id: int = Field(foreign_key="institution.id")
    status: str = "active"


class RoleAssignment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "role", "center_id", name="uq_role_assignment"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str
    center_id: Optional[int] = Field(default=None, foreign_key="center.id")


class CalendarDay(SQLModel, table=True):
    """A holiday or an adjusted workday (调休) an admin loaded for a year the calendar library lacks."""

    day: date = Field(primary_key=True)
    workday: bool
    name: str = ""
