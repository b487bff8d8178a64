"""Case pages over real HTTP (/cases/{kind}/{id}): every kind renders in Chinese with its history,
diff and diagram; decisions are taken from the page by the signed-in person (CSRF-checked, 303
back to the page); private cases are refused to those who may not see them."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import httpx
import pytest
from sqlmodel import select

from models import AccessLog, Case
from qcflow import engine
from qcflow.services.applications import attach_file
from qcflow.services.reports import open_reports
from qcflow.store.db import unit_of_work
from states.registry import WORKFLOWS
from tests.e2e.formpost import hidden_fields
from tests.e2e.test_application_story_http import APPLICANT, application
from tests.helpers import DIRECTOR, LEADER, OTHER_SECRETARY, REVIEWER, SECRETARY, fire, new_document
from tests.integration.test_death_review import COMMISSION, DEATH, DEPUTY

pytestmark = pytest.mark.db

SIGN_IN_LINK = re.compile(r"https?://\S+/login/[A-Za-z0-9_.\-]+")
PDF = b"%PDF-1.4\n% demo material\n"


class _Text(HTMLParser):
    """The words a reader sees: text outside tags, <style> and <svg> markup left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return unescape(" ".join(parser.parts))


def raw_codes(kind: str) -> set[str]:
    """Every state and trigger name of the workflow, and the steps outside the table."""
    workflow = WORKFLOWS[kind]
    return set(workflow.states) | set(workflow.transitions) | {"create", "open", "report", "escalate"}


def leaked_codes(kind: str, html: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z_]+", visible(html)))
    return words & raw_codes(kind)


def sign_in(base: str, mailbox, email: str) -> httpx.Client:
    """Sign in as a person would: ask for a link, open it from the mail received, press 登录."""
    client = httpx.Client(base_url=base)
    form = hidden_fields(client.get("/login").text)
    client.post("/login", data={**form, "email": email})
    mail = mailbox.to(email, "【登录链接】")[-1]
    link = SIGN_IN_LINK.search(mail.get_body(preferencelist=("plain",)).get_content()).group(0)
    confirm = client.get(link)
    done = client.post(link, data=hidden_fields(confirm.text))
    assert done.status_code == 303, done.text
    return client


def decide(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    shown = client.get(path)
    return client.post(path, data={**hidden_fields(shown.text), **data})


def state_of(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def _submitted_document() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    return case_id


# --- every kind ---------------------------------------------------------------------------------


def test_each_kind_renders_with_chinese_history_and_its_diagram(site):
    base, mailbox = site
    doc = _submitted_document()
    with unit_of_work() as s:
        app_id = engine.create_case(s, "application", APPLICANT, application()).id
        death = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1 BA-0001", **DEATH})
        engine.fire_as_system(s, death, "screen")
        open_reports(s, "year_end")  # the calendar's opener: one report per active center
        report_id = s.exec(select(Case.id).where(Case.kind == "report")).first()

    reviewer = sign_in(base, mailbox, REVIEWER)
    for kind, case_id in (("document", doc), ("application", app_id), ("death_review", death.id),
                          ("report", report_id)):
        page = reviewer.get(f"/cases/{kind}/{case_id}")
        assert page.status_code == 200, (kind, page.text[:300])
        text = visible(page.text)
        assert WORKFLOWS[kind].label in text and "办理记录" in text and "流程图" in text
        assert not leaked_codes(kind, page.text), (kind, leaked_codes(kind, page.text))
        # The diagram: every state of the workflow as a box, the current one lit and marked.
        svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)
        boxes = re.findall(r'data-state="([a-z_]+)"', svg)
        assert set(boxes) == set(WORKFLOWS[kind].states)
        current = re.findall(r'class="box current[^"]*" data-state="([a-z_]+)"', svg)
        assert current == [state_of(case_id)] and 'aria-current="step"' in svg


def test_an_application_shows_names_titles_and_institutions_not_codes(site):
    base, mailbox = site
    with unit_of_work() as s:
        app_id = engine.create_case(s, "application", APPLICANT, application()).id
        attach_file(s, app_id, "license", PDF, "执业许可证.pdf", APPLICANT)
    page = sign_in(base, mailbox, REVIEWER).get(f"/cases/application/{app_id}")
    text = visible(page.text)
    assert "副主任" in text and "主任医师" in text
    assert not re.search(r"\b(director|deputy|secretary|member)\b", text)
    assert "@" not in text  # names, not emails
    assert "QCH2" not in text and "青川市中心医院" in text, text[text.find("QCH2") - 200:text.find("QCH2") + 50]
    link = f"/cases/application/{app_id}/materials/license"
    assert link in page.text


def test_materials_download_only_for_those_allowed(site):
    base, mailbox = site
    with unit_of_work() as s:
        app_id = engine.create_case(s, "application", APPLICANT, application()).id
        attach_file(s, app_id, "license", PDF, "执业许可证.pdf", APPLICANT)
    link = f"/cases/application/{app_id}/materials/license"
    anonymous = httpx.get(base + link)
    assert anonymous.status_code == 401 and PDF not in anonymous.content and "Y§22" in anonymous.text
    outsider = sign_in(base, mailbox, OTHER_SECRETARY).get(link)
    assert outsider.status_code == 403 and PDF not in outsider.content
    got = sign_in(base, mailbox, REVIEWER).get(link)
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    missing = sign_in(base, mailbox, APPLICANT).get(f"/cases/application/{app_id}/materials/commitment")
    assert missing.status_code == 404 and "尚未上传" in missing.text


# --- deciding from the page ---------------------------------------------------------------------


def test_a_reviewer_decides_from_the_case_page_and_the_secretary_sees_the_diff(site):
    base, mailbox = site
    case_id = _submitted_document()
    path = f"/cases/document/{case_id}"
    reviewer = sign_in(base, mailbox, REVIEWER)

    page = reviewer.get(path)
    assert "您现在可以办理" in page.text and 'value="request_changes"' in page.text
    refused = decide(reviewer, path, {"decision": "request_changes", "comment": ""})
    assert refused.status_code == 422 and "Y§18" in refused.text and state_of(case_id) == "submitted"
    assert 'href="/glossary#Y18"' in refused.text  # the article code is explained and linked

    done = decide(reviewer, path, {"decision": "request_changes", "comment": "请补充会议议程"})
    assert done.status_code == 303 and done.headers["location"].startswith(path)
    assert state_of(case_id) == "changes_requested"
    after = reviewer.get(done.headers["location"])
    assert "已办理：退回修改" in visible(after.text)
    assert "您现在可以办理" not in after.text  # nothing left for the reviewer

    secretary = sign_in(base, mailbox, SECRETARY)
    edit = secretary.get(path)
    assert "请补充会议议程" in edit.text and 'name="body"' in edit.text
    title = "关于召开2026年下半年心血管病质控工作会议的通知"
    resubmitted = decide(secretary, path, {"decision": "submit", "title": title, "comment": "已补充议程",
                                           "body": "会议议程：一、工作总结；二、工作计划。"})
    assert resubmitted.status_code == 303 and state_of(case_id) == "submitted"
    page = secretary.get(path)
    assert "修改了：正文" in visible(page.text)
    assert re.search(r"<ins>[^<]*议程[^<]*</ins>", page.text) and "<del>" in page.text
    assert not leaked_codes("document", page.text)

    # The reviewer sees what changed since her own request for changes.
    back = reviewer.get(path).text
    since = back[back.index("自您上次办理以来的修改"):back.index("</section>", back.index("自您上次办理以来的修改"))]
    assert "<ins>" in since and "议程" in since

    # A second POST of the same form (an old version) is a conflict, not a second decision.
    stale = secretary.post(path, data={**hidden_fields(edit.text), "decision": "withdraw"})
    assert stale.status_code == 409 and state_of(case_id) == "submitted"


def test_a_decision_needs_a_signed_in_person_and_this_browsers_csrf_token(site):
    base, mailbox = site
    case_id = _submitted_document()
    path = f"/cases/document/{case_id}"
    anonymous = httpx.Client(base_url=base)
    shown = anonymous.get(path)
    assert "请先" in visible(shown.text) and 'value="approve"' not in shown.text
    token = hidden_fields(anonymous.get("/login").text)  # a valid CSRF pair, but nobody signed in
    refused = anonymous.post(path, data={**token, "decision": "approve", "version": "2"})
    assert refused.status_code == 401 and state_of(case_id) == "submitted"

    reviewer = sign_in(base, mailbox, REVIEWER)
    forged = reviewer.post(path, data={"decision": "approve", "csrf": "forged", "version": "2"})
    assert forged.status_code == 403 and state_of(case_id) == "submitted"


def test_people_who_may_not_decide_are_told_why_with_the_engines_reasons(site):
    base, mailbox = site
    case_id = _submitted_document()
    fire(case_id, "approve", REVIEWER)
    page = sign_in(base, mailbox, REVIEWER).get(f"/cases/document/{case_id}")
    text = visible(page.text)
    # The approver sees sign-off is a leader's step (and for a leader: not the approver, four eyes).
    assert "暂不能由您办理" in text and "签发" in text and "没有此权限" in text
    leader_page = sign_in(base, mailbox, LEADER).get(f"/cases/document/{case_id}")
    assert 'value="sign"' in leader_page.text


# --- private cases (Y§22) -----------------------------------------------------------------------


def _death_case() -> int:
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1 BA-0001", **DEATH})
        engine.fire_as_system(s, case, "screen")
        engine.fire(s, "death_review", case.id, "assign", email=COMMISSION,
                    changes={"center": "CARD", "reviewers": [DIRECTOR, DEPUTY]})
        return case.id


def test_a_private_case_is_refused_to_outsiders_and_shows_nothing_anonymously(site):
    base, mailbox = site
    case_id = _death_case()
    path = f"/cases/death_review/{case_id}"
    anonymous = httpx.get(base + path)
    assert anonymous.status_code == 401 and "Y§22" in anonymous.text
    for secret in ("BA-0001", "急性心肌梗死", "心内科", "FR29", DEATH["patient_key"]):
        assert secret not in anonymous.text
    outsider = sign_in(base, mailbox, OTHER_SECRETARY).get(path)
    assert outsider.status_code == 403 and "急性心肌梗死" not in outsider.text and "BA-0001" not in outsider.text
    with unit_of_work() as s:
        assert s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all() == []


def test_a_death_reviewer_sees_the_facts_without_the_patients_identity(site):
    base, mailbox = site
    case_id = _death_case()
    path = f"/cases/death_review/{case_id}"
    director = sign_in(base, mailbox, DIRECTOR)
    page = director.get(path)
    assert page.status_code == 200
    text = visible(page.text)
    for fact in ("2026-11-05", "2026-11-01", "急性心肌梗死", "心内科", "FR29", "低风险组死亡", "讨论期限"):
        assert fact in text, fact
    assert DEATH["patient_key"] not in page.text
    assert not leaked_codes("death_review", page.text)
    # The second-discussion form appears only once an autopsy report is recorded.
    assert 'value="record_rediscussion"' not in page.text and "尚未登记尸检报告" in text
    assert 'value="start_investigation"' in page.text
    with unit_of_work() as s:
        logged = s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all()
        assert [(a.channel, a.person_id is not None) for a in logged] == [("web", True)]

    assert decide(director, path, {"decision": "record_autopsy_report",
                                   "record_autopsy_report.autopsy_report_on": "2026-11-20"}).status_code == 303
    assert 'value="record_rediscussion"' in director.get(path).text


def test_an_unknown_case_or_kind_is_a_clear_404(site):
    base, _ = site
    assert httpx.get(f"{base}/cases/document/9999").status_code == 404
    missing_kind = httpx.get(f"{base}/cases/nothing/1")
    assert missing_kind.status_code == 404 and "没有“nothing”这类事项" in missing_kind.text


def test_the_reporting_hospital_sees_what_it_reported_but_not_the_review(site):
    base, mailbox = site
    case_id = _death_case()
    with unit_of_work() as s:
        engine.fire(s, "death_review", case_id, "start_investigation", email=DIRECTOR, comment="评审组内部意见")
    hospital = sign_in(base, mailbox, "deputy@nurs.qingchuan.example")  # works at QCH1, the reporting hospital
    page = hospital.get(f"/cases/death_review/{case_id}")
    assert page.status_code == 200
    text = visible(page.text)
    assert "急性心肌梗死" in text and "调查中" in text
    assert "评审组内部意见" not in text and "陆一鸣" not in text and DEATH["patient_key"] not in page.text
