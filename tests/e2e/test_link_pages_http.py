"""The emailed task-link pages over real HTTP: scanner-safe GET, redirect after POST, CSRF, version,
floods, and messages that say what happened."""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from models import AccessLog, Case, LinkOpening
from qcflow import engine
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import hidden_fields, post
from tests.e2e.sessions import sign_in
from tests.helpers import REVIEWER, SECRETARY, fire, new_document
from tests.integration.test_death_review import COMMISSION, DEATH, DIRECTOR
from tests.smtp import link_in

pytestmark = pytest.mark.db


def _state(case_id: int) -> tuple[str, int]:
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        return case.state, case.version


def _review_link(mailbox) -> tuple[int, str]:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    deliver()
    return case_id, link_in(mailbox.to(REVIEWER, "【待审核】")[0])


def test_a_scanner_get_records_the_link_opened_and_changes_nothing(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    before = _state(case_id)
    for _ in range(3):
        assert httpx.get(link, headers={"User-Agent": "SafeLinks-Scanner/2.0"}).status_code == 200
    assert _state(case_id) == before
    with unit_of_work() as s:
        openings = s.exec(select(LinkOpening).where(LinkOpening.case_id == case_id)).all()
        assert [o.user_agent for o in openings] == ["SafeLinks-Scanner/2.0"] * 3
        assert s.exec(select(AccessLog)).all() == []


def test_a_private_case_is_read_when_the_person_acts_or_views_signed_in(site):
    base, mailbox = site
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1", **DEATH})
        engine.fire_as_system(s, case, "screen")
        engine.fire(s, "death_review", case.id, "assign", email=COMMISSION,
                    changes={"center": "CARD", "reviewers": [DIRECTOR]})
        case_id = case.id
    deliver()
    link = link_in(mailbox.to(DIRECTOR, f"死亡病例评审 #{case_id}")[0])
    assert httpx.get(link, headers={"User-Agent": "Scanner"}).status_code == 200

    def reads() -> list[int]:
        with unit_of_work() as s:
            return [a.person_id for a in s.exec(select(AccessLog).where(AccessLog.case_id == case_id))]

    assert reads() == []
    director = sign_in(base, mailbox, DIRECTOR)
    assert director.get(link).status_code == 200
    with unit_of_work() as s:
        director_id = engine.person_by_email(s, DIRECTOR).id
    assert reads() == [director_id]
    other = sign_in(base, mailbox, SECRETARY)  # signed in as someone else: the link is not theirs, not a read by them
    assert other.get(link).status_code == 200 and reads() == [director_id]


def test_after_a_post_the_page_redirects_and_a_refresh_shows_what_was_done(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    client = httpx.Client()
    answer = post(link, {"decision": "request_changes", "comment": "请补充会议议程"}, client=client, follow=False)
    base, path = link.split("/t/")
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/t/{path}?done=")
    result = client.get(base + answer.headers["location"])
    for shown in (result, client.get(str(result.url))):  # and once more, as a refresh
        assert shown.status_code == 200 and "已办理：退回修改" in shown.text and "退回修改</strong>" in shown.text
        assert "事项已被他人处理" not in shown.text and "请继续在下方办理" not in shown.text and "已提交：" not in shown.text
    assert _state(case_id)[0] == "changes_requested"
    forged_done = client.get(f"{link}?done=1")  # the creation event is not the reviewer's: no result page
    assert forged_done.status_code == 409 and "链接已使用" in forged_done.text


def test_a_missing_or_non_numeric_version_is_refused_in_chinese(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    before = _state(case_id)
    for version in ("abc", "", "-1"):
        refused = post(link, {"decision": "approve"}, version=version)
        assert refused.status_code == 422 and "版本号" in refused.text and "未做任何更改" in refused.text
    client = httpx.Client()
    fields = hidden_fields(client.get(link).text)
    no_version = client.post(link, data={"csrf": fields["csrf"], "decision": "approve"})
    assert no_version.status_code == 422 and "版本号" in no_version.text
    assert _state(case_id) == before


def test_a_post_without_its_csrf_token_acts_not(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    before = _state(case_id)
    page = httpx.get(link)
    bare = httpx.post(link, data={"decision": "approve", "version": str(before[1])})
    assert bare.status_code == 403 and "安全校验码" in bare.text
    stolen = httpx.post(link, data={"decision": "approve", "version": str(before[1]),
                                    "csrf": hidden_fields(page.text)["csrf"]})  # without the cookie it was made for
    assert stolen.status_code == 403
    assert _state(case_id) == before


def test_a_flood_of_fields_gets_a_clear_page(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    flood = httpx.post(link, content="&".join(f"f{i}=x" for i in range(5000)),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert flood.status_code == 413 and "提交的内容过多" in flood.text and "页面不存在" not in flood.text
    assert _state(case_id)[0] == "submitted"


def test_the_comment_placeholder_says_what_this_step_needs(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    review = httpx.get(link).text
    assert 'placeholder="退回修改须填写修改意见，告诉拟稿人改什么；不予发文须填写理由"' in review
    assert "退回、不予发文时必须填写" not in review
    post(link, {"decision": "request_changes", "comment": "请补充议程"})
    deliver()
    revise = httpx.get(link_in(mailbox.to(SECRETARY, "【退回修改】")[0])).text
    assert 'placeholder="选填"' in revise


def test_a_step_that_leaves_more_to_do_says_so_and_keeps_the_form(site):
    _, mailbox = site
    case_id, link = _review_link(mailbox)
    claimed = post(link, {"decision": "claim"})
    assert claimed.status_code == 200 and "已办理：开始审核" in claimed.text and "您还可以继续办理" in claimed.text
    assert 'value="approve"' in claimed.text and _state(case_id)[0] == "in_review"


def test_an_experts_link_shows_the_roster_by_name_title_and_institution(site):
    from tests.e2e.test_application_story_http import EXPERTS, _in_expert_review

    _, mailbox = site
    _, links = _in_expert_review(mailbox)
    shown = httpx.get(links[EXPERTS[0]]).text
    assert "严可钦" in shown and "主任医师" in shown and "青川市中心医院" in shown  # the director, as people know him
    assert "鲁思远" in shown and "副主任医师" in shown
    assert "yan.keqin@qch2.qingchuan.example" not in shown and "lu.siyuan@qch2" not in shown


def test_a_death_link_shows_the_link_persons_view_and_records_no_read(site):
    _, mailbox = site
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1", **DEATH})
        engine.fire_as_system(s, case, "screen")
        engine.fire(s, "death_review", case.id, "assign", email=COMMISSION,
                    changes={"center": "CARD", "reviewers": [DIRECTOR]})
        case_id, patient_key = case.id, DEATH["patient_key"]
    deliver()
    link = link_in(mailbox.to(DIRECTOR, f"死亡病例评审 #{case_id}")[0])
    shown = httpx.get(link, headers={"User-Agent": "Scanner"}).text
    assert DEATH["diagnosis"] in shown  # the facts the reviewer needs, through the read service
    assert patient_key not in shown  # a reviewer sees all but the patient key (Y§22)
    with unit_of_work() as s:
        assert s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all() == []
