"""Gap-free document numbers per organ code per year.

The counter row is bumped with an upsert inside the issuing transaction: if the transaction rolls
back, so does the number, and concurrent issuers queue on the row lock (a unique constraint on the
issued numbers backs this up).
"""
from __future__ import annotations

from sqlmodel import Session, select

from models import DocumentNumber
from qcflow.store.raw import Raw
from states.docnumber import render_document_number


def take_next_number(raw: Raw, case_id: int, organ_code: str, year: int) -> str:
    """Take the next number for the case; returns it as printed, e.g. 青卫质控〔2026〕7号."""
    seq = raw.first("INSERT INTO documentcounter (organ_code, year, last_seq) VALUES (?, ?, 1) "
                    "ON CONFLICT (organ_code, year) DO UPDATE SET last_seq = documentcounter.last_seq + 1 "
                    "RETURNING last_seq", [organ_code, year])[0]
    raw.run("INSERT INTO documentnumber (case_id, organ_code, year, seq) VALUES (?, ?, ?, ?)",
            [case_id, organ_code, year, seq])
    return render_document_number(organ_code, year, seq)


def document_number(session: Session, case_id: int) -> str:
    row = Raw(session).first("SELECT organ_code, year, seq FROM documentnumber WHERE case_id = ?", [case_id])
    return render_document_number(*row) if row else ""


def document_numbers(session: Session, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    rows = session.exec(select(DocumentNumber).where(DocumentNumber.case_id.in_(case_ids))).all()
    return {r.case_id: render_document_number(r.organ_code, r.year, r.seq) for r in rows}
