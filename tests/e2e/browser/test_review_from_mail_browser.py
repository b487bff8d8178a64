"""In a real browser: a reviewer opens the 【待审核】 link received by the SMTP server and decides."""
from __future__ import annotations

import pytest

from models import Case
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.browser.conftest import off_loop, overflows_horizontally
from tests.helpers import REVIEWER, SECRETARY, fire, new_document
from tests.smtp import link_in

pytestmark = pytest.mark.db


def _state(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def test_a_reviewer_requests_changes_from_the_emailed_link(site, browser_page, shoot):
    base, mailbox = site
    with unit_of_work() as s:
        case_id = new_document(s)
    off_loop(fire, case_id, "submit", SECRETARY)
    off_loop(deliver)
    link = link_in(mailbox.to(REVIEWER, "【待审核】")[0])

    page = browser_page
    page.goto(link)
    assert "关于召开2026年下半年" in page.content()
    shoot(page, "task-review")
    page.set_viewport_size({"width": 390, "height": 844})
    assert not overflows_horizontally(page), "the task page is wider than a phone at 390 px"
    page.set_viewport_size({"width": 1280, "height": 900})
    assert _state(case_id) == "submitted"  # opening the page changed nothing

    page.get_by_label("退回修改").first.check()
    page.locator("textarea[name=comment]").fill("请补充会议议程")
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert "退回修改" in page.content()
    assert _state(case_id) == "changes_requested"
    shoot(page, "task-done")
