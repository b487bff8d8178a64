"""The workspace walked in a real browser, as the people who use it, with no command line:

sign in from the emailed link the SMTP server received; a secretary drafts a document from 新建 and
submits it; the reviewer finds it in 我的待办 and asks for changes; the secretary sees what was asked,
resubmits, the diff shows; the reviewer approves and the leader signs (the number is assigned). Then a
new center's secretary submits its first Y§21 report, a late report is submitted after its due day
(the fixed clock moved), a hospital uploads its death file, the reviewer reads the case facts without
the patient's identity, and an applicant starts an application and uploads its materials. Each main
page is saved at desktop and 390 px width and must not overflow a phone.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import Case
from qcflow.run.demo import walk_applications
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services.reports import open_reports
from qcflow.services.sweep import sweep
from qcflow.store.db import unit_of_work
from tests.e2e.browser.conftest import DESKTOP, PHONE, off_loop, overflows_horizontally
from tests.e2e.sessions import login_link, sign_in
from tests.e2e.test_application_story_http import APPLICANT
from tests.helpers import DIRECTOR, LEADER, REVIEWER, ROOT, SECRETARY

pytestmark = pytest.mark.db

NEW_SECRETARY = "lu.siyuan@qch2.qingchuan.example"  # RESP's secretary, appointed by establishment
TITLE = "关于召开2026年度心血管病质控工作会议的通知"
SAMPLE = ROOT / "demo" / "deaths" / "sample_deaths.csv"
PDF = b"%PDF-1.4\n% fictional material\n"


def fits_a_phone(page, shoot, name: str) -> None:
    """Screenshot at both widths; at 390 px nothing may stick out sideways."""
    page.set_viewport_size(PHONE)
    assert not overflows_horizontally(page), f"{name} ({page.url}) is wider than a phone at 390 px"
    shoot(page, name)
    page.set_viewport_size(DESKTOP)


def as_person(chromium, base: str, mailbox, email: str):
    """A browser of its own for one person, signed in by the link emailed to them."""
    client = off_loop(sign_in, base, mailbox, email)
    context = chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    host = urlsplit(base).hostname
    context.add_cookies([{"name": c.name, "value": c.value, "domain": host, "path": "/"} for c in client.cookies.jar])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def decide(page, label: str, comment: str = "", **fields: str) -> None:
    details = page.locator("details.decision").filter(has=page.locator("summary", has_text=label)).first
    if details.get_attribute("open") is None:  # the only decision on offer is shown open
        details.locator("summary").click()
    form = details.locator("form")
    for name, value in fields.items():
        form.locator(f"[name='{name}']").fill(value)
    if comment:
        form.locator("textarea[name=comment]").fill(comment)
    form.get_by_role("button", name=label).click()
    page.wait_for_load_state()
    assert f"已办理：{label}" in page.content(), page.content()[-3000:]


def state_of(kind: str, case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def open_from_tasks(page, base: str, text: str) -> int:
    page.goto(f"{base}/tasks")
    page.get_by_role("link", name=text).first.click()
    page.wait_for_load_state()
    return int(page.url.rsplit("/", 1)[1].split("?")[0])


def test_a_document_from_sign_in_to_sign_off(site, browser_page, chromium, shoot):
    base, mailbox = site
    page = browser_page

    # Sign in from the emailed link: the link opens a 登录 button; pressing it signs in.
    page.goto(f"{base}/login")
    fits_a_phone(page, shoot, "login")
    page.fill("#email", SECRETARY)
    page.get_by_role("button", name="发送登录链接").click()
    page.wait_for_load_state()
    link = login_link(mailbox, SECRETARY)
    page.goto(link)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/tasks")
    assert "我的待办" in page.content() and "退出" in page.content()

    # 新建 → 公文: refused beside the fields first (nothing stored), then saved as a draft.
    page.get_by_role("link", name="新建", exact=True).click()
    assert "公文（发文审核）" in page.content() and "质控中心人员调整" in page.content()
    fits_a_phone(page, shoot, "new-index")
    page.get_by_role("link", name="公文（发文审核）").click()
    page.fill("#f-recipients", "只写了名字")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.locator("#e-title").inner_text().startswith("公文标题不能为空")
    assert page.locator("#f-title[aria-invalid=true]").count() == 1
    fits_a_phone(page, shoot, "new-document-errors")
    with unit_of_work() as s:
        assert s.exec(select(Case).where(Case.kind == "document")).all() == []
    page.select_option("#f-doc_kind", "meeting_notice")
    page.fill("#f-title", TITLE)
    page.fill("#f-body", "定于2026年12月10日召开年度工作会议。")
    page.fill("#f-recipients", "青川市第一人民医院医务科 | yiwu@qch1.qingchuan.example")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"{base}/cases/document/*")
    case_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("svg.flow .box.current").count() == 1 and "拟稿" in page.content()
    decide(page, "提交审核")
    assert state_of("document", case_id) == "submitted"

    # The reviewer finds it in 我的待办 and asks for changes.
    reviewer = as_person(chromium, base, mailbox, REVIEWER)
    reviewer.goto(f"{base}/tasks")
    assert TITLE in reviewer.content()
    fits_a_phone(reviewer, shoot, "tasks")
    assert open_from_tasks(reviewer, base, TITLE) == case_id
    decide(reviewer, "退回修改", comment="请写明会议地点和议程")
    assert state_of("document", case_id) == "changes_requested"

    # The secretary sees what was asked, changes the text and resubmits; the diff shows the change.
    assert open_from_tasks(page, base, TITLE) == case_id
    assert "请写明会议地点和议程" in page.content()
    decide(page, "提交审核", body="定于2026年12月10日召开年度工作会议。\n地点：市卫健委三楼会议室。\n议程：年度总结。")
    assert page.locator("table.diff ins, table.diff tr.insert").count() > 0
    fits_a_phone(page, shoot, "case-document-diff")

    # The reviewer approves from 我的待办; the leader signs; the document is numbered and issued.
    open_from_tasks(reviewer, base, TITLE)
    decide(reviewer, "审核通过")
    leader = as_person(chromium, base, mailbox, LEADER)
    open_from_tasks(leader, base, TITLE)
    decide(leader, "签发")
    assert state_of("document", case_id) == "issued"
    assert "青卫质控〔2026〕1号" in leader.content()
    fits_a_phone(leader, shoot, "case-document-issued")

    reviewer.goto(f"{base}/")
    fits_a_phone(reviewer, shoot, "overview")
    reviewer.goto(f"{base}/centers")
    fits_a_phone(reviewer, shoot, "registry")
    reviewer.goto(f"{base}/new/roster")
    fits_a_phone(reviewer, shoot, "new-roster")


def test_reports_deaths_and_an_application_from_the_web(site, browser_page, chromium, shoot, clock):
    base, mailbox = site

    # An applicant starts an application and uploads two materials with it, the rest on the materials page.
    applicant = as_person(chromium, base, mailbox, APPLICANT)
    applicant.goto(f"{base}/new/application")
    fits_a_phone(applicant, shoot, "new-application")
    applicant.fill("#f-center_code", "ENDO")
    applicant.fill("#f-center_name", "青川市内分泌科医疗质量控制中心")
    applicant.fill("#f-specialty", "内分泌科")
    applicant.select_option("#f-host", "QCH2")
    applicant.select_option("#f-category", "临床")
    applicant.fill("#f-roster", f"{APPLICANT} | 主任 | 是 | 是\nlu.siyuan@qch2.qingchuan.example | 秘书 | 否 | 否")
    applicant.set_input_files("#m-license", files=[{"name": "执业许可证.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    applicant.set_input_files("#m-commitment", files=[{"name": "承诺书.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    applicant.get_by_role("button", name="保存").click()
    applicant.wait_for_url(f"{base}/cases/application/*")
    application_id = int(applicant.url.rsplit("/", 1)[1])
    assert "执业许可证.pdf" in applicant.content() and "承诺书.pdf" in applicant.content()
    applicant.get_by_role("link", name="上传或替换申请材料").click()  # from the case page
    applicant.wait_for_url(f"{base}/new/application/{application_id}/materials")
    applicant.set_input_files("#m-letter_1", files=[{"name": "申请书一.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    fits_a_phone(applicant, shoot, "new-application-materials")
    applicant.get_by_role("button", name="上传", exact=True).click()
    applicant.wait_for_url(f"{base}/cases/application/{application_id}?done=attach")
    with unit_of_work() as s:
        assert set(s.get(Case, application_id).data["materials"]) == {"license", "commitment", "letter_1"}

    # A new center (RESP, established through its whole application) submits its first Y§21 report.
    off_loop(walk_applications)
    secretary = as_person(chromium, base, mailbox, NEW_SECRETARY)
    report_id = open_from_tasks(secretary, base, "质控指标、标准及考核方案")
    assert "本专业质控指标" in secretary.content()
    # The case page offers 提交报告 once the content is complete: saved as a draft first.
    decide(secretary, "保存草稿", indicators="结构指标：……；过程指标：……；结果指标：……",
           standards="呼吸内科质控标准（试行）", assessment_plan="按季度考核，百分制。")
    decide(secretary, "提交报告")
    assert state_of("report", report_id) == "submitted"

    # A late report: the year-end report is due 31 December; on 5 January it is overdue and still submitted.
    def year_end_overdue() -> int:
        with unit_of_work() as s:
            open_reports(s, "year_end", "2026Y")
        clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        with unit_of_work() as s:
            sweep(s)
        deliver()
        with unit_of_work() as s:
            case = s.exec(select(Case).where(Case.key == "report:CARD:2026Y")).one()
            assert case.state == "overdue"
            return case.id

    late_id = off_loop(year_end_overdue)
    card = as_person(chromium, base, mailbox, SECRETARY)  # signed in after the clock moved
    assert open_from_tasks(card, base, "年度工作总结") == late_id
    assert "逾期" in card.content()
    decide(card, "保存草稿", summary="2026年完成督查4次、培训2次。", plan="2027年开展专项督查。")
    decide(card, "提交报告")
    assert state_of("report", late_id) == "submitted"

    # A hospital uploads its death file; the summary comes back; the raw file is kept nowhere.
    hospital = as_person(chromium, base, mailbox, DIRECTOR)  # 青川市第一人民医院 (QCH1)
    hospital.goto(f"{base}/new/death")
    fits_a_phone(hospital, shoot, "new-death")
    hospital.goto(f"{base}/new/meeting")
    fits_a_phone(hospital, shoot, "new-meeting")
    hospital.goto(f"{base}/new/death_file")
    fits_a_phone(hospital, shoot, "new-death-file")
    hospital.set_input_files("#f-file", str(SAMPLE))
    hospital.get_by_role("button", name="导入").click()
    hospital.wait_for_load_state()
    assert "导入结果" in hospital.content() and "新建病例" in hospital.content()
    fits_a_phone(hospital, shoot, "death-import-result")
    with unit_of_work() as s:
        deaths = s.exec(select(Case).where(Case.kind == "death_review").order_by(Case.id)).all()
    assert deaths and all("patient_name" not in d.data for d in deaths)

    # The reviewer reads the case facts the review needs, without the patient's identity.
    reviewer = as_person(chromium, base, mailbox, REVIEWER)
    reviewer.goto(f"{base}/cases/death_review/{deaths[0].id}")
    text = reviewer.content()
    assert deaths[0].data["diagnosis"] in text and deaths[0].data["department"] in text
    assert "测试患者" not in text and "999999" not in text
    assert reviewer.locator("svg.flow .box.current").count() == 1
    fits_a_phone(reviewer, shoot, "case-death-review")
