"""Gap-free document numbers per organ code per year.

The counter row is bumped with an upsert inside the issuing transaction: if the transaction rolls
back, so does the number, and concurrent issuers queue on the row lock (a unique constraint on the
issued numbers backs this up).
"""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import DocumentCounter, DocumentNumber


def take_next_number(session: Session, case_id: int, organ_code: str, year: int) -> DocumentNumber:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DocumentCounter).values(organ_code=organ_code, year=year, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["organ_code", "year"], set_={"last_seq": DocumentCounter.last_seq + 1}
    ).returning(DocumentCounter.last_seq)
    seq = session.execute(stmt).scalar_one()
    number = DocumentNumber(case_id=case_id, organ_code=organ_code, year=year, seq=seq)
    session.add(number)
    session.flush()
    return number
