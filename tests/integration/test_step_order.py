"""What one step writes, in the engine's fixed order: the mail a step sends names what the step set,
and a step costs a bounded number of statements (it fails when the count grows past the target)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from models import Deadline, OutboxMessage
from qcflow.core.clock import to_local
from qcflow.store.db import unit_of_work
from tests.helpers import LEADER, REVIEWER, SECRETARY, fire, new_document, rendered

pytestmark = pytest.mark.db

APPROVE_STATEMENTS = 10  # issue 8's target for a document `approve` through the engine, BEGIN included


def _approved_document() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "approve", REVIEWER)
    return case_id


def test_the_mail_of_a_return_for_review_names_the_new_due_date(demo):
    case_id = _approved_document()
    fire(case_id, "return_for_review", LEADER, comment="请核对会议日期")
    with unit_of_work() as s:
        due = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.closed_at.is_(None))).one()
        mail = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                              OutboxMessage.to_addr == REVIEWER)
                                  .order_by(OutboxMessage.id.desc())).first())  # the approver hears of the return
    expected = to_local(due.due_at).strftime("%Y年%m月%d日")
    assert "请在  前" not in mail.text_body
    assert expected in mail.text_body, mail.text_body


def _statements(fn) -> list[str]:
    seen: list[str] = []
    with unit_of_work() as s:
        connection = s.info["connection"]
        if connection.dialect.name != "sqlite":
            pytest.skip("statement tracing uses sqlite3's trace callback")
        raw = connection.connection.driver_connection
        raw.set_trace_callback(seen.append)
        try:
            fn(s)
        finally:
            raw.set_trace_callback(None)
    # executemany shows each row: one call per run of identical statements
    calls = []
    for sql in seen:
        shape = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
        if not (calls and calls[-1] == shape and shape.startswith("INSERT")):
            calls.append(shape)
    return calls


def test_an_approve_costs_at_most_ten_statements(demo):
    from qcflow import engine

    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    calls = _statements(lambda s: engine.fire(s, "document", case_id, "approve", email=REVIEWER))
    # the BEGIN IMMEDIATE of the unit of work is issued before tracing starts: count it too
    assert len(calls) + 1 <= APPROVE_STATEMENTS, "\n".join(calls)
    assert not any(c.startswith("SELECT") and "caseevent" in c for c in calls[3:]), "history read twice"
