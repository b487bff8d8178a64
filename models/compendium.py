"""Published versions of a specialty's must-know compendium (H2) and who studied them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_field


class CompendiumVersion(SQLModel, table=True):
    """Written once on publication and never changed (the database refuses updates and deletes)."""

    __table_args__ = (UniqueConstraint("specialty", "version", name="uq_compendium_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", unique=True)
    specialty: str = Field(index=True)
    version: int
    title: str
    common: list[Any] = json_field(list)  # [{title, source, file}] 共性内容
    special: list[Any] = json_field(list)  # [{title, source, file}] 个性内容
    sha256: str  # of the published text: a reader can check the download is the published one
    published_at: datetime = Field()


class CompendiumFile(SQLModel, table=True):
    """A file of a published version, stored with it (the download serves these bytes)."""

    __table_args__ = (UniqueConstraint("version_id", "name", name="uq_compendium_file"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="compendiumversion.id", index=True)
    name: str
    content_type: str
    sha256: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CompendiumStudy(SQLModel, table=True):
    """A person's record that they studied a version (counted for the assessment evidence, H2)."""

    __table_args__ = (UniqueConstraint("version_id", "person_id", name="uq_compendium_study"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="compendiumversion.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    institution_id: Optional[int] = Field(default=None, foreign_key="institution.id")
    studied_at: datetime = Field()
