"""The case page's "已办理" after a POST is checked against the history: it names what this person did
in the event the redirect names, never what a URL claims."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from models import CaseEvent
from qcflow import engine
from qcflow.store.db import unit_of_work
from tests.e2e.test_case_pages_http import _submitted_document, decide, sign_in, visible
from tests.helpers import REVIEWER, SECRETARY

pytestmark = pytest.mark.db


def test_done_names_the_persons_own_event_and_a_forged_done_shows_nothing(site):
    base, mailbox = site
    case_id = _submitted_document()
    path = f"/cases/document/{case_id}"
    reviewer = sign_in(base, mailbox, REVIEWER)
    answer = decide(reviewer, path, {"decision": "request_changes", "comment": "请补充会议议程"})
    assert answer.status_code == 303
    event = re.search(r"\?done=(\d+)$", answer.headers["location"]).group(1)
    with unit_of_work() as s:
        mine = s.get(CaseEvent, int(event))
        assert mine.case_id == case_id and mine.actor_id == engine.person_by_email(s, REVIEWER).id
        submitted = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                   CaseEvent.trigger == "submit")).one().id
    assert "已办理：退回修改" in visible(reviewer.get(answer.headers["location"]).text)
    # A URL that claims a step: a trigger name, someone else's event, another case's event.
    for claim in ("approve", "reject,approve", str(submitted), f"{event}0"):
        assert "已办理" not in visible(reviewer.get(f"{path}?done={claim}").text), claim
    secretary = sign_in(base, mailbox, SECRETARY)
    assert "已办理" not in visible(secretary.get(f"{path}?done={event}").text)  # the reviewer's, not hers
