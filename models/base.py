"""Shared column helpers. Times are timezone-aware UTC; display converts to the commission's zone."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))
