"""A rectification order (Y§25) and a removal case (Y§26) taken from the emailed links over real HTTP,
the mails received by a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from models import Case, Center
from qcflow.core.clock import utcnow
from qcflow.services import orders
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import post
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, SECTION_HEAD
from tests.smtp import link_in, parts

pytestmark = pytest.mark.db


def _issue(grounds: list[int]) -> int:
    with unit_of_work() as s:
        out = orders.issue(s, "CARD", grounds, "2026-12-31", REVIEWER, "逐项整改并报送佐证材料", utcnow())
    deliver()
    return out["id"]


def _case(case_id: int) -> Case:
    with unit_of_work() as s:
        return s.get(Case, case_id)


def test_the_center_answers_and_the_commission_returns_then_verifies_from_the_links(site):
    base, mailbox = site
    order_id = _issue([4, 9])

    issued = mailbox.to(SECRETARY, "【责令整改】")[0]
    text, _ = parts(issued)
    assert "违规刻制印章" not in text  # the mail carries the title and the link; the grounds are on the page
    link = link_in(issued)
    page = httpx.get(link)
    assert page.status_code == 200 and "违规刻制印章、违规以质控中心名义印制红头文件" in page.text
    assert "提交整改报告" in page.text and _case(order_id).state == "issued"  # opening decides nothing

    empty = post(link, data={"decision": "respond", "response": ""})
    assert empty.status_code == 422 and "请填写整改情况报告" in empty.text and "Y§25" in empty.text
    assert _case(order_id).state == "issued"
    # As a browser sends the form: the notice's textarea comes back too, its lines ended by CRLF.
    shown_notice = _case(order_id).data["notice"].replace("\n", "\r\n")
    answered = post(link, data={"decision": "respond", "notice": shown_notice,
                                "response": "已补做年度计划任务，停用自制印章"})
    assert answered.status_code == 200 and _case(order_id).state == "response_submitted"

    verify_link = link_in(mailbox.to(REVIEWER, "【待核实】")[0])
    no_comment = post(verify_link, data={"decision": "return", "comment": ""})
    assert no_comment.status_code == 422 and "写明哪些问题尚未整改到位" in no_comment.text
    returned = post(verify_link, data={"decision": "return", "comment": "印章销毁证明未附"})
    assert returned.status_code == 200 and _case(order_id).state == "returned"

    redo_link = link_in(mailbox.to(SECRETARY, "【退回重新整改】")[0])
    redo_page = httpx.get(redo_link)
    assert "印章销毁证明未附" in redo_page.text
    redone = post(redo_link, data={"decision": "respond", "response": "已补附印章销毁证明"})
    assert redone.status_code == 200 and _case(order_id).state == "response_submitted"

    second = mailbox.to(REVIEWER, "【待核实】")
    while len(second) < 2:
        second = mailbox.to(REVIEWER, "【待核实】")
    verified = post(link_in(second[1]), data={"decision": "verify"})
    assert verified.status_code == 200 and _case(order_id).state == "verified"
    notice = mailbox.to(DIRECTOR, "【整改已核实】")[0]
    reading = httpx.get(link_in(notice))
    assert reading.status_code == 200 and "已补附印章销毁证明" in reading.text


def test_a_removal_is_decided_from_the_emailed_link_and_nothing_before(site):
    base, mailbox = site
    _issue([4])
    _issue([8])
    deliver()
    proposal = mailbox.to(SECTION_HEAD, "【待决定·动态管理】")[0]
    link = link_in(proposal)
    page = httpx.get(link)
    assert page.status_code == 200 and "同一年度被责令整改 2 次及以上" in page.text and "陆一鸣" in page.text
    with unit_of_work() as s:
        assert s.exec(select(Center).where(Center.code == "CARD")).one().status == "active"

    refused = post(link, data={"decision": "decide_remove", "comment": ""})
    assert refused.status_code == 422 and "免职决定须写明决定的理由" in refused.text and "Y§26" in refused.text
    decided = post(link, data={"decision": "decide_remove", "comment": "经2026年第12次主任办公会研究决定"})
    assert decided.status_code == 200
    with unit_of_work() as s:
        assert s.exec(select(Center).where(Center.code == "CARD")).one().status == "revoked"
    told = mailbox.to(DIRECTOR, "【动态管理决定】")
    assert told and "撤销挂靠单位资格" in parts(told[0])[0]
    assert mailbox.to(SECTION_HEAD, "【另行遴选】")


def test_the_orders_page_counts_per_center_and_year(site):
    base, _ = site
    _issue([4])
    _issue([11])
    page = httpx.get(f"{base}/orders")
    assert page.status_code == 200
    assert "2 次（已达 2 次）" in page.text and "（十一）本专业发生重大医疗质量安全事件（情节严重）" in page.text
    assert "动态管理：青川市心血管病医疗质量控制中心" in page.text
    assert httpx.get(f"{base}/orders?center=XXXX").status_code == 404


def test_the_commission_issues_an_order_from_the_web_form_and_a_center_may_not(site):
    from tests.e2e.sessions import sign_in

    base, mailbox = site
    secretary = sign_in(base, mailbox, SECRETARY)
    refused = post(f"{base}/orders/new", {"center": "CARD", "grounds": "4", "due_date": "2026-12-31",
                                          "requirements": "自查"}, client=secretary)
    assert refused.status_code == 422 and "Y§25" in refused.text and "林小禾没有此权限" in refused.text

    reviewer = sign_in(base, mailbox, REVIEWER)
    form = reviewer.get("/orders/new")
    assert form.status_code == 200 and "挂靠单位未按要求及时匹配专项经费" in form.text
    bad = post(f"{base}/orders/new", {"center": "CARD", "grounds": "4", "due_date": "2026-11-20",
                                      "requirements": "补做计划任务"}, client=reviewer)
    assert bad.status_code == 422 and "须晚于下达之日 2026-11-24" in bad.text
    done = post(f"{base}/orders/new", {"center": "CARD", "grounds": "4,8", "due_date": "2026-12-31",
                                       "requirements": "补做计划任务，匹配专项经费"}, client=reviewer)
    assert done.status_code == 200 and "/cases/rectification/" in str(done.url)
    assert "挂靠单位未按要求及时匹配专项经费" in done.text
    with unit_of_work() as s:
        (order,) = s.exec(select(Case).where(Case.kind == "rectification")).all()
    assert order.data["grounds"] == [4, 8] and order.created_by_id is not None
    assert mailbox.to(SECRETARY, "【责令整改】")
