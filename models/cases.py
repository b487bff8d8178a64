"""Cases, their history, deadlines, task links and document numbers."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_field


class Case(SQLModel, table=True):
    __tablename__ = "qc_case"
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    state: str = Field(index=True)
    version: int = 1  # compare-and-set on every transition
    round: int = 0  # bumped when the state changes (not on edits, uploads or votes): links follow rounds
    title: str
    center_id: Optional[int] = Field(default=None, foreign_key="center.id")
    created_by_id: Optional[int] = Field(default=None, foreign_key="person.id")  # None: opened by the system
    key: Optional[str] = Field(default=None, unique=True)  # one case per obligation, e.g. report:CARD:2026H1
    data: dict[str, Any] = json_field()
    created_at: datetime = Field()
    updated_at: datetime = Field()


class CaseEvent(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    trigger: str
    from_state: str
    to_state: str
    actor_id: Optional[int] = Field(default=None, foreign_key="person.id")  # None: the system
    comment: str = ""
    details: dict[str, Any] = json_field()
    at: datetime = Field()
    # The case's hash chain (qcflow/core/history_chain.py): the previous event's hash, and this one's over
    # its fields and prev_hash. Written by the engine only; `qcflow audit verify` recomputes them.
    prev_hash: str = ""
    hash: str = ""


class DocumentNumber(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organ_code", "year", "seq", name="uq_document_number"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", unique=True)
    organ_code: str
    year: int
    seq: int


class DocumentCounter(SQLModel, table=True):
    organ_code: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last_seq: int = 0


class Deadline(SQLModel, table=True):
    # The sweep asks which open deadlines have an action due by now: this index answers it without
    # touching the open ones that have none (closed_at alone matches every open row).
    __table_args__ = (Index("ix_deadline_next_action", "closed_at", "next_action_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    step: str  # e.g. review
    opened_at: datetime = Field()
    due_at: datetime = Field(index=True)
    closed_at: Optional[datetime] = Field(default=None, index=True)
    reminded_at: Optional[datetime] = None  # the latest reminder; each rung's send is in the dispatch ledger
    escalated_at: Optional[datetime] = None
    next_action_at: Optional[datetime] = None  # when the ladder's next rung (or the overdue step) is reached


class Dispatch(SQLModel, table=True):
    """The dispatch ledger: one row per reminder or escalation sent (or skipped as superseded).

    The unique key makes a rerun, a retry or two concurrent sweeps send each message once."""

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # e.g. deadline:42:remind-7 or meeting:CARD:training:2026
    deadline_id: Optional[int] = Field(default=None, foreign_key="deadline.id", index=True)
    case_id: Optional[int] = Field(default=None, foreign_key="qc_case.id")
    action: str  # remind | escalate | skip
    at: datetime = Field()


class TaskLink(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    case_id: int = Field(foreign_key="qc_case.id", index=True)
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")  # None: an outside recipient
    email: str
    purpose: str  # act: may decide; read: may only look
    case_version: int  # the version the link was made for
    case_round: int = 0  # a link is superseded once the case's state moves on (a new round)
    created_at: datetime = Field()
    expires_at: datetime
    used_at: Optional[datetime] = None
