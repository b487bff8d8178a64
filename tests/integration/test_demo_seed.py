"""What `serve --demo` seeds to show the newer work: a term ending within Y§26's 3-month notice on the
commission's home page (seeded once, relative to the demo's first day), and a hospital quality office in
the demo directory that an inspection's findings reach by its own link (Y§20)."""
from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import select

from models.registry import Appointment
from qcflow.core.clock import today
from qcflow.run import demo as demo_run
from qcflow.store.db import unit_of_work
from tests.conftest import DEMO_DIRECTORY
from tests.integration.governance_support import site  # noqa: F401

pytestmark = pytest.mark.db


def nurs_terms(on: date) -> list[dict]:
    from qcflow.services.terms import terms_ending

    with unit_of_work() as session:
        return [r for r in terms_ending(session, on) if r["center"] == "NURS" and r["role"] == "director"]


def test_the_first_demo_start_makes_one_term_end_within_the_notice_and_only_once(demo, clock):
    from qcflow.services import directory

    day = today()
    assert nurs_terms(day)[0]["ending_soon"] is False  # the file alone: a fresh 4-year term
    last_day = demo_run.seed_term_ending()
    assert last_day == day + timedelta(days=45)
    [term] = nurs_terms(day)
    assert term["person"] == "邵春和" and term["term_end"] == last_day.isoformat() and term["ending_soon"]
    with unit_of_work() as session:
        before = [(a.id, a.term_start, a.ended_on) for a in session.exec(select(Appointment))]
    clock.advance(days=10)  # a restart ten days later moves nothing, and a reload keeps the term
    assert demo_run.seed_term_ending() is None
    with unit_of_work() as session:
        report = directory.load_file(session, DEMO_DIRECTORY)
    assert report.kept == [] and not report.changed
    with unit_of_work() as session:
        assert [(a.id, a.term_start, a.ended_on) for a in session.exec(select(Appointment))] == before
    assert nurs_terms(today())[0]["days_left"] == 35


def test_the_home_page_shows_the_term_ending(demo, site):  # noqa: F811
    base, _ = site
    demo_run.seed_term_ending()
    page = httpx.get(f"{base}/").text
    assert "邵春和" in page and "还剩 45 天" in page and "青川市护理质量控制中心" in page


def test_inspection_findings_for_the_demo_hospital_go_to_its_quality_office(demo):
    from qcflow.services.inspections import quality_offices, recipients_of
    from qcflow.store.raw import Raw

    with unit_of_work() as session:
        raw = Raw(session)
        assert quality_offices(raw, ["QCH1", "QCH2", "LXH"]) == {
            "QCH2": [{"name": "范质远", "email": "zhikong@qch2.qingchuan.example"}]}
        assert recipients_of(raw, {"institutions": ["QCH2"]})["QCH2"]["offices"][0]["email"] == \
            "zhikong@qch2.qingchuan.example"
