"""A report is written and submitted in one click from its case page: 提交报告 is offered on an empty
report with its fields, and the content given with it is what the rules judge (Y§17)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import Case, Center
from qcflow.services.reports import open_reports
from qcflow.store.db import unit_of_work
from tests.e2e.test_case_pages_http import decide, sign_in, state_of, visible
from tests.helpers import SECRETARY

pytestmark = pytest.mark.db


def _card_year_end_report() -> int:
    with unit_of_work() as s:
        open_reports(s, "year_end")
        card = s.exec(select(Center.id).where(Center.code == "CARD")).one()
        return s.exec(select(Case.id).where(Case.kind == "report", Case.center_id == card)).one()


def test_an_empty_report_is_submitted_in_one_click_with_its_content(site):
    base, mailbox = site
    case_id = _card_year_end_report()
    path = f"/cases/report/{case_id}"
    secretary = sign_in(base, mailbox, SECRETARY)
    shown = secretary.get(path).text
    submit_form = shown[shown.index('value="submit"'):]
    submit_form = submit_form[:submit_form.index("</form>")]
    assert 'name="summary"' in submit_form and 'name="plan"' in submit_form  # the fields come with the submit

    refused = decide(secretary, path, {"decision": "submit", "summary": "全年工作总结……", "plan": ""})
    assert refused.status_code == 422 and "下年度工作计划" in visible(refused.text) and state_of(case_id) == "open"

    answer = decide(secretary, path, {"decision": "submit", "summary": "全年工作总结……", "plan": "明年计划……"})
    assert answer.status_code == 303 and state_of(case_id) == "submitted"
    with unit_of_work() as s:
        data = s.get(Case, case_id).data
        assert data["summary"] == "全年工作总结……" and data["plan"] == "明年计划……"
