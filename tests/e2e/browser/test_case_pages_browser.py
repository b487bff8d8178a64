"""In a real browser at 390×844: the case page (history stacked as cards, the diff, the diagram),
the overview, search, registry and glossary fit a phone; a decision is taken from the case page."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from models import Case
from qcflow import engine
from qcflow.store.db import unit_of_work
from tests.e2e.browser.conftest import PHONE, off_loop, overflows_horizontally
from tests.e2e.test_case_pages_http import sign_in
from tests.helpers import REVIEWER, SECRETARY, fire, new_document
from tests.integration.test_death_review import COMMISSION, DEATH

pytestmark = pytest.mark.db


def _signed_in_browser(page, base: str, mailbox, email: str) -> None:
    """The session cookie of a sign-in by emailed link, handed to the browser."""
    client = off_loop(sign_in, base, mailbox, email)
    host = urlsplit(base).hostname
    page.context.add_cookies([{"name": c.name, "value": c.value, "domain": host, "path": "/"}
                              for c in client.cookies.jar])


def _document_with_two_rounds() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "request_changes", REVIEWER, comment="请补充会议议程，并注明会议地点（Y§18）")
    fire(case_id, "submit", SECRETARY, changes={"body": "会议议程：一、工作总结；二、工作计划。\n地点：学术报告厅。"})
    return case_id


def test_the_case_page_fits_a_phone_and_the_reviewer_decides_there(site, browser_page, shoot):
    base, mailbox = site
    case_id = off_loop(_document_with_two_rounds)
    page = browser_page
    _signed_in_browser(page, base, mailbox, REVIEWER)
    page.goto(f"{base}/cases/document/{case_id}")
    assert page.locator("svg.flow .box.current").count() == 1
    shoot(page, "case-document")

    page.set_viewport_size(PHONE)
    assert not overflows_horizontally(page), "the case page is wider than a phone at 390 px"
    # History rows are stacked as cards: each cell is as wide as the card, not a one-character column.
    widths = page.eval_on_selector_all("table.history > tbody > tr > td", "cells => cells.map(c => c.getBoundingClientRect().width)")
    assert widths and min(widths) > 250, widths
    diagram = page.locator("svg.flow").bounding_box()
    assert diagram["width"] <= PHONE["width"]

    page.locator("details.decision summary", has_text="审核通过").click()
    page.locator("details.decision[open] button", has_text="审核通过").click()
    page.wait_for_load_state()
    assert "已办理：审核通过" in page.content()
    with unit_of_work() as s:
        assert s.get(Case, case_id).state == "awaiting_signoff"
    shoot(page, "case-document-done")


def test_the_overview_search_registry_and_glossary_fit_a_phone(site, browser_page, shoot):
    base, mailbox = site

    def cases() -> None:
        with unit_of_work() as s:
            for i in range(3):
                new_document(s, title=f"关于第{i + 1}次心血管病质控工作会议的通知")
            case = engine.create_case(s, "death_review", COMMISSION, DEATH)
            engine.fire_as_system(s, case, "screen")

    off_loop(cases)
    page = browser_page
    _signed_in_browser(page, base, mailbox, REVIEWER)
    for path, name in (("/", "overview"), ("/search?kind=document", "search"), ("/centers", "registry"),
                       ("/centers/CARD", "center"), ("/glossary", "glossary"), ("/due", "due"),
                       ("/cases/death_review/4", "case-death")):
        page.set_viewport_size(PHONE)
        page.goto(base + path)
        assert not overflows_horizontally(page), f"{path} is wider than a phone at 390 px"
        shoot(page, name)
