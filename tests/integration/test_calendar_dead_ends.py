"""The calendar's dead ends (issue 11): reports open even when their scheduled run was missed; a
late report is still submitted from its emailed links (the sweep that marks it 逾期未交 does not
supersede them); one due date everywhere, the deadline row's, which for a report is the Y§17 date."""
from __future__ import annotations

import re
from datetime import date, datetime, time

import httpx
import pytest
from sqlmodel import select

from models import Case, Center, Deadline, OutboxMessage
from qcflow.core.clock import local_zone, to_local
from qcflow.services import sweep as deadlines
from qcflow.store.db import unit_of_work
from tests.helpers import REVIEWER, SECRETARY, reconfigure, rendered
from tests.smtp import free_port
from tests.live import serving

pytestmark = pytest.mark.db


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=local_zone())


def _reports() -> dict[str, Case]:
    with unit_of_work() as s:
        rows = s.exec(select(Case, Center).join(Center, Center.id == Case.center_id).where(Case.kind == "report")).all()
    return {f"{center.code}:{case.data['period']}": case for case, center in rows}


def _links(case_id: int, template: str, to: str) -> list[str]:
    with unit_of_work() as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.template == template,
                                                  OutboxMessage.to_addr == to).order_by(OutboxMessage.id)).all()
        return [m.context["link"] for m in rows]


@pytest.fixture
def site(demo, monkeypatch):
    """The web app on a real port; links in mails point at it."""
    port = free_port()
    monkeypatch.setenv("QCFLOW_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("QCFLOW_DELIVER_AFTER_ACTION", "false")
    reconfigure()
    with serving(port) as base:
        yield base


# --- (a) openers catch up ---------------------------------------------------------------------------


def test_started_after_nine_on_1_december_the_sweep_opens_the_year_end_reports(demo, clock, capsys):
    from qcflow.cli import main

    clock.set(at("2026-12-01", 10))  # the 09:00 open-year-end-reports run never happened
    assert _reports() == {}
    assert main(["deadlines", "sweep"]) == 0
    assert "年度工作总结及下年度工作计划：新开" in capsys.readouterr().out
    opened = _reports()
    assert opened and all(key.endswith(":2026Y") for key in opened)
    with unit_of_work() as s:
        active = {c.code for c in s.exec(select(Center).where(Center.status == "active")).all()}
    assert {key.split(":")[0] for key in opened} == active
    assert main(["deadlines", "sweep"]) == 0  # caught up once: nothing opens twice
    assert _reports().keys() == opened.keys()


def test_the_catch_up_opens_only_periods_between_their_opening_and_due_days(demo):
    from qcflow.services.reports import open_due_reports

    with unit_of_work() as s:
        assert open_due_reports(s, now=at("2026-05-31"))["opened"] == []  # before 1 June: nothing
    with unit_of_work() as s:
        june = open_due_reports(s, now=at("2026-06-15"))
    assert june["periods"] == ["2026H1"] and june["opened"]
    with unit_of_work() as s:
        assert open_due_reports(s, now=at("2026-07-01"))["periods"] == []  # 2026H1 is due: no late opening
    assert {key.split(":")[1] for key in _reports()} == {"2026H1"}


# --- (b) a late report is no dead end ---------------------------------------------------------------


def _hidden(page: str) -> dict[str, str]:
    """The form's hidden fields (the version the page showed, the CSRF token)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def _task(site: str, link: str) -> tuple[int, str]:
    page = httpx.get(link)
    return page.status_code, page.text


def test_a_report_marked_overdue_is_still_submitted_from_its_task_and_reminder_links(site, clock):
    from qcflow.services.reports import open_reports

    clock.set(at("2026-06-25"))  # opened late (links live 14 days: this one is still good after the due day)
    with unit_of_work() as s:
        open_reports(s, "half_year")
    card = _reports()["CARD:2026H1"]
    task_link = _links(card.id, "report_opened", SECRETARY)[0]

    clock.set(at("2026-07-01"))  # the day after the due day: the sweep reminds and marks it overdue
    with unit_of_work() as s:
        report = deadlines.sweep(s)
    assert card.id in report.overdue
    with unit_of_work() as s:
        assert s.get(Case, card.id).state == "overdue"
    reminder_link = _links(card.id, "deadline_reminder", SECRETARY)[-1]

    for link in (task_link, reminder_link):
        status, page = _task(site, link)
        assert status == 200, page
        assert "<title>事项已有新进展" not in page and "逾期未交" in page and 'value="edit"' in page

    # from the reminder: save the summary, then submit it (the page offers 提交报告 once there is content)
    summary = "上半年完成质控督查 3 次，培训 2 场。"
    with httpx.Client(follow_redirects=True) as browser:  # keeps the form's cookie, as a browser does
        page = browser.get(reminder_link).text
        saved = browser.post(reminder_link, data={**_hidden(page), "decision": "edit", "summary": summary})
        assert saved.status_code == 200 and "提交报告" in saved.text, saved.text
        done = browser.post(reminder_link, data={**_hidden(saved.text), "decision": "submit", "summary": summary})
        assert done.status_code == 200, done.text
    with unit_of_work() as s:
        assert s.get(Case, card.id).state == "submitted"
    # the other link of the same step now says the step was taken, as for any handled step
    assert "<title>事项已有新进展" in _task(site, task_link)[1]


# --- (c) one due date everywhere --------------------------------------------------------------------


def _open_deadline(case_id: int) -> Deadline:
    with unit_of_work() as s:
        return s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.closed_at.is_(None))).one()


def test_a_half_year_report_opened_late_is_due_on_its_y17_date_on_the_page_in_the_mail_and_in_due(site, clock):
    from qcflow import engine
    from qcflow.services.queries import due_rows
    from qcflow.services.reports import open_reports

    clock.set(at("2026-12-01", 10))  # 2026H1 opened by hand in December (issue 11: page 06-30, mail 12-08)
    with unit_of_work() as s:
        open_reports(s, "half_year", "2026H1")
    card = _reports()["CARD:2026H1"]
    assert to_local(_open_deadline(card.id).due_at).date() == date(2026, 6, 30)
    with unit_of_work() as s:
        (mail,) = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == card.id,
                                                                 OutboxMessage.to_addr == SECRETARY)).all())
        rows = [r for r in due_rows(s, date(2026, 12, 1), "CARD") if r["case_id"] == card.id]
    assert "截止 2026年06月30日" in mail.subject and "2026年06月30日" in mail.text_body
    assert [r["due"] for r in rows] == ["2026-06-30"] and rows[0]["late"]
    page = httpx.get(mail.context["link"]).text
    assert "截止日期：2026-06-30" in page and "2026-12-08" not in page

    # submitted late, then returned: the reopened deadline gives working days to resubmit, and the
    # page, the mail and /due all show that one row's date
    with unit_of_work() as s:
        engine.fire(s, "report", card.id, "submit", email=SECRETARY, changes={"summary": "上半年完成督查 3 次"})
    with unit_of_work() as s:
        engine.fire(s, "report", card.id, "return", email=REVIEWER, comment="请补充培训情况")
    due = to_local(_open_deadline(card.id).due_at).date()
    assert due == date(2026, 12, 8)  # 5 working days after the return
    with unit_of_work() as s:
        (revise,) = rendered(s, s.exec(select(OutboxMessage).where(
            OutboxMessage.case_id == card.id, OutboxMessage.template == "task_revise",
            OutboxMessage.to_addr == SECRETARY)).all())
        rows = [r for r in due_rows(s, date(2026, 12, 1), "CARD") if r["case_id"] == card.id]
    assert "2026年06月30日" not in revise.text_body + revise.subject  # no stale date in the mail
    assert [r["due"] for r in rows] == ["2026-12-08"]
    page = httpx.get(revise.context["link"]).text
    assert "截止日期：2026-12-08" in page and "截止日期：2026-06-30" not in page
