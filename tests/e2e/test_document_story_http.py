"""The foundation story over real HTTP, with emails received by a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from models import Case, TaskLink
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.core.clock import local_date, utcnow
from qcflow.store.db import unit_of_work
from tests.helpers import LEADER, REVIEWER, REVIEWER2, SECRETARY, fire, new_document
from tests.e2e.formpost import post
from tests.smtp import link_in, parts

pytestmark = pytest.mark.db




def _state(case_id: int) -> tuple[str, int]:
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        return case.state, case.version


def _submitted_document() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    deliver()
    return case_id


def test_the_whole_story_from_the_emailed_links(site):
    base, mailbox = site
    case_id = _submitted_document()

    review_mail = mailbox.to(REVIEWER, "【待审核】")[0]
    text, html = parts(review_mail)
    link = link_in(review_mail)
    assert link.startswith(base) and link in html
    assert review_mail["Message-ID"]

    # Opening the link (as a mail scanner would) changes nothing.
    before = _state(case_id)
    page = httpx.get(link)
    assert page.status_code == 200 and "关于召开2026年下半年" in page.text and "退回修改" in page.text
    assert _state(case_id) == before

    # A refused decision says why and stores nothing; the link stays usable.
    refused = post(link, data={"decision": "request_changes", "comment": ""})
    assert refused.status_code == 422 and "修改意见" in refused.text and "Y§18" in refused.text
    assert _state(case_id) == before

    done = post(link, data={"decision": "request_changes", "comment": "请补充会议议程"})
    assert done.status_code == 200 and _state(case_id)[0] == "changes_requested"
    again = post(link, data={"decision": "approve"})
    assert again.status_code == 409 and "链接已使用" in again.text
    assert _state(case_id)[0] == "changes_requested"

    # The other reviewer's link from the first round is now superseded.
    stale = link_in(mailbox.to(REVIEWER2, "【待审核】")[0])
    assert httpx.get(stale).status_code == 409

    revise_link = link_in(mailbox.to(SECRETARY, "【退回修改】")[0])
    edit_page = httpx.get(revise_link)
    assert "请补充会议议程" in edit_page.text and 'name="body"' in edit_page.text
    resubmitted = post(revise_link, data={"decision": "submit", "comment": "已补充议程",
                                                "title": "关于召开2026年下半年心血管病质控工作会议的通知",
                                                "body": "会议议程：一、工作总结；二、工作计划。"})
    assert resubmitted.status_code == 200 and _state(case_id)[0] == "submitted"

    deadline = time.monotonic() + 10
    while len(mailbox.to(REVIEWER, "【待审核】")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    second_round = mailbox.to(REVIEWER, "【待审核】")[1]
    approved = post(link_in(second_round), data={"decision": "approve"})
    assert approved.status_code == 200 and _state(case_id)[0] == "awaiting_signoff"

    sign_link = link_in(mailbox.to(LEADER, "【待签发】")[0])
    signed = post(sign_link, data={"decision": "sign"})
    year = local_date(utcnow()).year
    number = f"青卫质控〔{year}〕1号"
    assert signed.status_code == 200 and number in signed.text
    assert _state(case_id)[0] == "issued"

    issued = mailbox.to("yiwu@qch2.qingchuan.example", number)
    assert len(issued) == 1
    read_link = link_in(issued[0])
    reading = httpx.get(read_link)
    assert reading.status_code == 200 and "会议议程：一、工作总结" in reading.text and "您的决定" not in reading.text
    assert post(read_link, data={"decision": "approve"}).status_code == 403
    text, _ = parts(issued[0])
    assert "会议议程" not in text  # the email carries title, number and link only


def test_forged_unknown_and_expired_links_get_a_clear_page(site):
    base, mailbox = site
    _submitted_document()
    link = link_in(mailbox.to(REVIEWER, "【待审核】")[0])

    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    forged = httpx.get(tampered)
    assert forged.status_code == 400 and "链接无效" in forged.text and "Traceback" not in forged.text
    assert httpx.get(f"{base}/t/not-a-token").status_code == 400
    assert post(f"{base}/t/1.abc.def", data={"decision": "approve"}).status_code == 400

    with unit_of_work() as s:
        for row in s.exec(select(TaskLink)).all():
            row.expires_at = utcnow() - timedelta(minutes=1)
            s.add(row)
    expired = post(link, data={"decision": "approve"})
    assert expired.status_code == 410 and "链接已过期" in expired.text


def test_a_step_that_leaves_the_person_more_to_do_keeps_their_link(site):
    base, mailbox = site
    case_id = _submitted_document()
    link = link_in(mailbox.to(REVIEWER, "【待审核】")[0])
    claimed = post(link, data={"decision": "claim"})
    assert claimed.status_code == 200 and "已办理：开始审核" in claimed.text and "审核通过" in claimed.text
    assert _state(case_id)[0] == "in_review"
    assert post(link, data={"decision": "request_changes", "comment": "请补充议程"}).status_code == 200

    revise = link_in(mailbox.to(SECRETARY, "【退回修改】")[0])
    saved = post(revise, data={"decision": "edit", "body": "先保存的正文"})
    assert saved.status_code == 200 and "先保存的正文" in saved.text
    assert post(revise, data={"decision": "submit"}).status_code == 200
    with unit_of_work() as s:
        case = s.get(Case, case_id)
    assert (case.state, case.data["body"]) == ("submitted", "先保存的正文")


def test_no_decision_and_unknown_pages_answer_in_chinese(site):
    base, mailbox = site
    _submitted_document()
    link = link_in(mailbox.to(REVIEWER, "【待审核】")[0])
    nothing = post(link, data={"comment": "x"})
    assert nothing.status_code == 422 and "请选择一项决定" in nothing.text
    missing = httpx.get(f"{base}/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    wrong_method = httpx.put(link)
    assert wrong_method.status_code == 405 and "不支持此操作" in wrong_method.text


def test_the_due_page_lists_open_deadlines_per_center(site):
    base, _ = site
    case_id = _submitted_document()
    everyone = httpx.get(f"{base}/due")
    assert everyone.status_code == 200 and f"公文 #{case_id}" in everyone.text and "审核" in everyone.text
    other = httpx.get(f"{base}/due", params={"center": "NURS"})
    assert f"公文 #{case_id}" not in other.text and "没有待办期限" in other.text
    late = httpx.get(f"{base}/due", params={"late": "true"})
    assert f"公文 #{case_id}" not in late.text  # due in five working days, not late
