"""Workflow 2 end to end: an application to establish a center, over real HTTP, with every email
received by a real SMTP server on 127.0.0.1 and every decision taken from the emailed link.

submit (materials missing) → the reviewer asks for materials → the applicant uploads them and
resubmits → the reviewer picks experts (the one from the applicant's hospital is refused, Y§13) →
three experts review from their links → the commission approves → the center is active in the
registry with its people and terms, and its indicators are due in 3 months (Y§21).
"""
from __future__ import annotations

import calendar
import logging
import re
import time
from datetime import date, timedelta
from typing import Optional

import httpx
import pytest
import yaml
from sqlmodel import select

from models import Case, CaseEvent, Center, Deadline, OutboxMessage, Person, RoleAssignment, TaskLink
from qcflow.services.mail import deliver_outbox as deliver
from qcflow import engine
from qcflow.services.applications import attach_file
from qcflow.core.clock import as_of_moment, local_date, utcnow
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import rendered, REVIEWER, ROOT
from tests.e2e.formpost import post
from tests.smtp import SmtpServer, link_in, parts

pytestmark = pytest.mark.db

APPLICANT = "yan.keqin@qch2.qingchuan.example"
SECRETARY = "lu.siyuan@qch2.qingchuan.example"  # the proposed center secretary
E1, E2, E3, E4 = (f"expert{i}@qcexperts.example" for i in range(1, 5))  # E1 白敬之 works at QCH2, the applicant
EXPERTS = (E2, E3, E4)
TITLE = "青川市呼吸内科医疗质量控制中心设置申请"
REF = "质控中心设置申请 #"  # mail subjects name the case: 【待审核】质控中心设置申请 #12 …
SLOTS = ("license", "letter_1", "letter_2", "letter_3", "letter_4", "letter_5", "letter_6", "commitment")
CONFLICT = "专家 白敬之 来自申请单位，须回避（利益冲突），请另选专家（Y§13）"




# --- helpers ------------------------------------------------------------------------------------


def application(name: str = "respiratory.yaml", **overrides) -> dict:
    data = yaml.safe_load((ROOT / "demo" / "applications" / name).read_text(encoding="utf-8"))
    data.update(overrides)
    return data


def snapshot(case_id: int) -> tuple[str, int, dict]:
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        return case.state, case.version, dict(case.data)


def state_of(case_id: int) -> str:
    return snapshot(case_id)[0]


def outbox_count() -> int:
    with unit_of_work() as s:
        return len(s.exec(select(OutboxMessage.id)).all())


def mails(mailbox: SmtpServer, to: str, subject: str, count: int = 1, timeout: float = 10.0) -> list:
    """The messages to `to` whose subject has `subject`, waiting until there are at least `count`."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mailbox.messages if to in m["To"] and subject in m["Subject"]]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, (to, subject, [m["Subject"] for m in mailbox.messages if to in m["To"]])
            return found
        time.sleep(0.05)


def page_title(response: httpx.Response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.text)
    return f"{response.status_code} {found.group(1) if found else response.text[:200]}"


def pdf(slot: str) -> bytes:
    return b"%PDF-1.7\n% " + slot.encode() + b" \xe6\x9d\x90\xe6\x96\x99\n%%EOF\n"


def create(email: str = APPLICANT, **overrides) -> int:
    with unit_of_work() as s:
        return engine.create_case(s, "application", email, application(**overrides)).id


def fire(case_id: int, trigger: str, email: Optional[str], **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, "application", case_id, trigger, email=email, **kwargs)


def upload_everything(case_id: int, email: str = APPLICANT) -> None:
    for slot in SLOTS:
        with unit_of_work() as s:
            attach_file(s, case_id, slot, pdf(slot), f"{slot}.pdf", email)


def person_id(email: str) -> int:
    with unit_of_work() as s:
        return s.exec(select(Person.id).where(Person.email == email)).one()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reviews(case_id: int, *experts: str) -> None:
    for i, expert in enumerate(experts):
        fire(case_id, "review", expert, comment=f"专家{i + 1}：学科基础扎实，同意设置",
             changes={"score": str(80 + i), "recommendation": "approve"})


def to_commission_decision(center_code: str = "RESP", **overrides) -> int:
    """Through the engine: an application with every material, reviewed by three experts."""
    case_id = create(center_code=center_code, **overrides)
    upload_everything(case_id)
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "accept_materials", REVIEWER, changes={"experts": list(EXPERTS)})
    reviews(case_id, *EXPERTS)
    assert state_of(case_id) == "commission_decision"
    return case_id


# --- the story ----------------------------------------------------------------------------------

ALL_FROM_LINKS = "every-step-from-its-emailed-link"
WORKED_AROUND = "applicant-resubmit-and-two-experts-through-the-engine"


@pytest.mark.parametrize("route", [ALL_FROM_LINKS, WORKED_AROUND])
def test_the_whole_application_from_submission_to_an_active_center(site, route):
    base, mailbox = site
    from_links = route == ALL_FROM_LINKS
    today = local_date(utcnow())

    # The director drafts the application and submits it without any material.
    case_id = create()
    assert [s for _, _, s in fire(case_id, "submit", APPLICANT).steps] == ["submitted", "materials_check"]
    deliver()

    # The commission reviewer is asked to check it; opening the link changes nothing.
    review_mail = mails(mailbox, REVIEWER, "【待审核】")[0]
    assert review_mail["Subject"] == f"【待审核】{REF}{case_id} {TITLE}"
    link = link_in(review_mail)
    assert link.startswith(base) and link in parts(review_mail)[1]
    before, sent = snapshot(case_id), outbox_count()
    page = httpx.get(link)
    assert page.status_code == 200 and TITLE in page.text and "<strong>缺</strong>" in page.text
    assert "要求补充材料" in page.text and "不予设置" in page.text
    assert "材料齐全，提交专家评审" not in page.text  # not offered while materials are missing
    assert snapshot(case_id) == before and outbox_count() == sent

    # Asking for materials needs a comment; with one, the applicant is sent back to work.
    refused = post(link, data={"decision": "request_materials", "comment": " "})
    assert refused.status_code == 422 and "要求补充材料须写明补充什么（Y§9）" in refused.text
    assert snapshot(case_id) == before
    asked = post(link, data={"decision": "request_materials", "comment": "请补充许可证复印件、申请书和承诺书"})
    assert asked.status_code == 200 and "要求补充材料" in asked.text
    assert state_of(case_id) == "materials_requested"

    revise_mail = mails(mailbox, APPLICANT, "【退回修改】")[0]
    assert revise_mail["Subject"] == f"【退回修改】{REF}{case_id} {TITLE}"
    revise_link = link_in(revise_mail)
    revise_page = httpx.get(revise_link)
    assert revise_page.status_code == 200 and "请补充许可证复印件、申请书和承诺书" in revise_page.text
    assert "提交申请" in revise_page.text

    # All eight materials of Y§9 are uploaded, then the application goes in again.
    upload_everything(case_id)
    materials = snapshot(case_id)[2]["materials"]
    assert sorted(materials) == sorted(SLOTS)
    assert all(materials[s]["content_type"] == "application/pdf" for s in SLOTS)
    if from_links:
        again = post(revise_link, data={"decision": "submit", "comment": "材料已补齐"})
        assert again.status_code == 200, page_title(again)
    else:
        fire(case_id, "submit", APPLICANT, comment="材料已补齐")
        deliver()
    assert state_of(case_id) == "materials_check"

    # The reviewer's second task: now accepting is offered, with the expert list to fill in.
    link = link_in(mails(mailbox, REVIEWER, "【待审核】", 2)[1])
    page = httpx.get(link)
    assert page.status_code == 200 and "材料齐全，提交专家评审" in page.text
    assert 'name="accept_materials.experts"' in page.text and "<strong>缺</strong>" not in page.text

    # Picking the expert from the applicant's own hospital is refused and changes nothing at all.
    before, sent, received = snapshot(case_id), outbox_count(), len(mailbox.messages)
    conflict = post(link, data={"decision": "accept_materials",
                                      "accept_materials.experts": f"{E1}\n{E2}\n{E3}"})
    assert conflict.status_code == 422 and CONFLICT in conflict.text
    assert "未保存任何更改" in conflict.text
    time.sleep(0.3)
    assert snapshot(case_id) == before and outbox_count() == sent and len(mailbox.messages) == received
    assert not mails(mailbox, E1, "【专家评审】", 0, timeout=0)

    # Three independent experts (one per line, as a browser sends a textarea).
    chosen = post(link, data={"decision": "accept_materials",
                                    "accept_materials.experts": f"{E2}\r\n\r\n{E3}\r\n{E4.upper()}\r\n"})
    assert chosen.status_code == 200 and "专家评审" in chosen.text
    state, _, data = snapshot(case_id)
    assert state == "expert_review" and [e.lower() for e in data["experts"]] == list(EXPERTS)

    expert_links = {}
    for expert in EXPERTS:
        message = mails(mailbox, expert, "【专家评审】")[0]
        assert message["Subject"] == f"【专家评审】{REF}{case_id} {TITLE}"
        expert_links[expert] = link_in(message)
    assert not [m for m in mailbox.messages if E1 in m["To"]]

    # The first expert opens the form and scores the application.
    form = httpx.get(expert_links[E2])
    assert form.status_code == 200 and "提交评审意见" in form.text
    assert 'name="review.score"' in form.text and 'name="review.recommendation"' in form.text
    voted = post(expert_links[E2], data={"decision": "review", "review.score": "88",
                                               "review.recommendation": "approve", "comment": "学科基础扎实，同意设置"})
    assert voted.status_code == 200 and "江望舒" in voted.text
    votes = snapshot(case_id)[2]["votes"]
    assert votes == {str(person_id(E2)): {"name": "江望舒", "score": 88, "recommendation": "approve"}}
    assert state_of(case_id) == "expert_review"

    # A second POST on the used link is refused and the vote stays as it was.
    twice = post(expert_links[E2], data={"decision": "review", "review.score": "10",
                                               "review.recommendation": "reject", "comment": "改主意了"})
    assert twice.status_code == 409 and "链接已使用" in twice.text
    assert snapshot(case_id)[2]["votes"] == votes

    for expert, score, choice in ((E3, "76", "approve"), (E4, "64", "reject")):
        if from_links:
            done = post(expert_links[expert], data={"decision": "review", "review.score": score,
                                                          "review.recommendation": choice,
                                                          "comment": "评审意见见附件"})
            assert done.status_code == 200, (expert, page_title(done))
        else:
            fire(case_id, "review", expert, comment="评审意见见附件",
                 changes={"score": score, "recommendation": choice})
    if not from_links:
        deliver()

    # The third vote closes the review by itself; the commission is asked to decide.
    state, _, data = snapshot(case_id)
    assert state == "commission_decision"
    assert {v["name"]: (v["score"], v["recommendation"]) for v in data["votes"].values()} == {
        "江望舒": (88, "approve"), "杭书白": (76, "approve"), "宁致远": (64, "reject")}
    decision_link = link_in(mails(mailbox, REVIEWER, "【待审核】", 3)[2])
    decision_page = httpx.get(decision_link)
    assert decision_page.status_code == 200 and "批准设置" in decision_page.text and "宁致远" in decision_page.text

    approved = post(decision_link, data={"decision": "approve", "comment": "同意设置"})
    assert approved.status_code == 200 and "批准设置、设置完成" in approved.text
    assert state_of(case_id) == "established"

    with unit_of_work() as s:
        history = [e.trigger for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                             .order_by(CaseEvent.id)).all()]
    assert history == (["create", "submit", "start_check", "request_materials"] + ["attach"] * 8
                       + ["submit", "start_check", "accept_materials", "review", "review", "review",
                          "close_review", "approve", "establish"])

    # The registry: RESP is active, its six people appointed for a 4-year term (Y§26).
    from qcflow.services.registry import center_detail

    with unit_of_work() as s:
        detail = center_detail(s, "RESP")
        center = s.exec(select(Center).where(Center.code == "RESP")).one()
        roles = {(p.email, r.role) for r, p in s.exec(
            select(RoleAssignment, Person).join(Person, Person.id == RoleAssignment.person_id)
            .where(RoleAssignment.center_id == center.id)).all()}
        report = s.exec(select(Case).where(Case.key == "indicators:RESP")).one()
        report_deadline = s.exec(select(Deadline).where(Deadline.case_id == report.id)).one()
    assert (detail["status"], detail["name"], detail["specialty"], detail["host"]) == (
        "active", "青川市呼吸内科医疗质量控制中心", "呼吸内科", "青川市中心医院")
    assert [(p["role"], p["name"]) for p in detail["people"]] == [
        ("director", "严可钦"), ("deputy", "秦方舟"), ("deputy", "顾长宁"), ("secretary", "鲁思远"),
        ("member", "岑若谷"), ("member", "穆清和")]
    four_years = add_months(today, 48)
    assert {(p["term_start"], p["term_end"], p["term"]) for p in detail["people"]} == {
        (today.isoformat(), four_years.isoformat(), 1)}
    assert roles == {
        (APPLICANT, "center_director"), ("qin.fangzhou@qch2.qingchuan.example", "center_deputy"),
        ("gu.changning@qch1.qingchuan.example", "center_deputy"), (SECRETARY, "center_secretary"),
        ("mu.qinghe@lxh.qingchuan.example", "center_member"), ("cen.ruogu@qch1.qingchuan.example", "center_member")}

    # Its indicators, standards and assessment plan are due in 3 months (Y§21).
    due = add_months(today, 3)
    assert (report.kind, report.state, report.center_id, report.data["report_kind"]) == (
        "report", "open", center.id, "indicators")
    assert report.data["due_date"] == due.isoformat()
    assert report_deadline.closed_at is None and local_date(report_deadline.due_at) == due
    assert "质控指标" in report.title

    # The applicant hears of the approval; director and secretary get the report task and can act on it.
    assert mails(mailbox, APPLICANT, "【已通过】")[0]["Subject"] == f"【已通过】{REF}{case_id} {TITLE}"
    due_label = due.strftime("%Y年%m月%d日")
    for who in (APPLICANT, SECRETARY):
        opened = mails(mailbox, who, "【待提交】")[0]
        assert due_label in opened["Subject"] and "质控指标" in opened["Subject"]
    report_page = httpx.get(link_in(mails(mailbox, APPLICANT, "【待提交】")[0]))
    assert report_page.status_code == 200 and "您的决定" in report_page.text and "保存草稿" in report_page.text


def test_the_failing_demo_application_is_refused_at_submit_with_every_violation_and_its_article(demo):
    applicant = "qiu.bailu@lxh.qingchuan.example"
    case_id = create(applicant, **application("cardiology_county.yaml"))
    before, sent = snapshot(case_id), outbox_count()

    with pytest.raises(Refused) as refused:
        fire(case_id, "submit", applicant)
    found = [(r.rule, r.message) for r in refused.value.reasons]
    expected = [
        ("Y§8", "专业“心血管内科”已设有本级质控中心，同一专业领域原则上只设 1 个，不能重复申请"),
        ("Y§8", "申请单位 LXH 的等级为“二级甲等”，原则上须为三级甲等综合医院"),
        ("Y§10", "副主任应为 2–4 名，现有 1 名（米嘉禾）"),
        ("Y§10", "秘书应为 1 名，现有 0 名"),
        ("Y§11", "主任 秋白露 的职称为副主任医师（副高），须为正高级职称"),
        ("Y§11", "主任 秋白露 未担任科室（部门）主任或以上领导职务"),
        ("Y§11", "主任 秋白露（1962-09-30 出生）在任命日 "),
        ("Y§11", "主任 秋白露 未担任（含曾经担任）省医学会相关专业委员会委员以上职务"),
        ("Y§11", "副主任 米嘉禾 的职称为主治医师（中级），须为正高级职称"),
        ("Y§11", "副主任 米嘉禾 未担任科室（部门）主任或以上领导职务"),
        ("Y§11", "副主任 米嘉禾 未担任（含曾经担任）省医学会相关专业委员会委员以上职务"),
        ("Y§12", "成员 沈念慈 的职称为主治医师（中级），须为副高及以上；特殊专业放宽为中级职称须记录放宽理由"),
        ("Y§12", "县级医疗卫生机构 LXH 有 4 名专家（秋白露、米嘉禾、沈念慈、石磊），超过同一县级机构 1 名上限"),
    ]
    assert len(found) == len(expected), found
    for (rule, message), (want_rule, want_start) in zip(found, expected):
        assert rule == want_rule and message.startswith(want_start), (rule, message)
    age = next(m for _, m in found if "出生）在任命日" in m)
    assert "超过 60 岁上限" in age
    assert {"Y§8", "Y§10", "Y§11", "Y§12"} <= {rule for rule, _ in found}
    assert all(f"（{rule}）" in str(refused.value) for rule in ("Y§8", "Y§10", "Y§11", "Y§12"))
    assert snapshot(case_id) == before and outbox_count() == sent


# --- the same steps, one link problem at a time ---------------------------------------------------


def _submitted_and_sent_back(mailbox) -> tuple[int, str]:
    case_id = create()
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "request_materials", REVIEWER, comment="请补充全部材料")
    deliver()
    return case_id, link_in(mails(mailbox, APPLICANT, "【退回修改】")[0])


def _in_expert_review(mailbox) -> tuple[int, dict[str, str]]:
    case_id = create()
    upload_everything(case_id)
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "accept_materials", REVIEWER, changes={"experts": list(EXPERTS)})
    deliver()
    return case_id, {e: link_in(mails(mailbox, e, "【专家评审】")[0]) for e in EXPERTS}


def test_the_applicant_can_resubmit_from_the_emailed_link_after_uploading(site):
    _, mailbox = site
    case_id, link = _submitted_and_sent_back(mailbox)
    upload_everything(case_id)
    assert httpx.get(link).status_code == 200
    assert post(link, data={"decision": "submit"}).status_code == 200
    assert state_of(case_id) == "materials_check"


def test_the_applicants_link_resubmits_when_nothing_else_changed(site):
    _, mailbox = site
    case_id, link = _submitted_and_sent_back(mailbox)
    resubmitted = post(link, data={"decision": "submit"})
    assert resubmitted.status_code == 200 and state_of(case_id) == "materials_check"


def test_every_expert_can_review_from_their_own_link_whoever_votes_first(site):
    _, mailbox = site
    case_id, links = _in_expert_review(mailbox)
    for expert in EXPERTS:
        answer = post(links[expert], data={"decision": "review", "review.score": "80",
                                                 "review.recommendation": "approve", "comment": "同意"})
        assert answer.status_code == 200, (expert, page_title(answer))
    assert state_of(case_id) == "commission_decision"


def test_a_refused_review_says_why_and_keeps_the_experts_link(site):
    _, mailbox = site
    case_id, links = _in_expert_review(mailbox)
    before = snapshot(case_id)
    for form, reason in (
        ({"review.score": "101", "review.recommendation": "approve", "comment": "同意"}, "评分须为 0 到 100 的整数（Y§13）"),
        ({"review.score": "80", "comment": "同意"}, "请选择评审建议：建议同意设置 或 建议不同意设置（Y§13）"),
        ({"review.score": "80", "review.recommendation": "approve", "comment": ""}, "评审意见不能为空（Y§13）"),
    ):
        page = post(links[E3], data={"decision": "review", **form})
        assert page.status_code == 422 and reason in page.text, page_title(page)
        assert snapshot(case_id) == before
    ok = post(links[E3], data={"decision": "review", "review.score": "80", "review.recommendation": "approve",
                                     "comment": "同意"})
    assert ok.status_code == 200 and str(person_id(E3)) in snapshot(case_id)[2]["votes"]


def test_a_score_that_is_not_a_number_is_refused_with_the_reason(site, monkeypatch):
    _, mailbox = site
    # While the bug stands the server logs a traceback; Python 3.11.7 formats it with ast.parse, which
    # races pytest's own ast use in this thread (SystemError: AST constructor recursion depth mismatch).
    monkeypatch.setattr(logging.getLogger("uvicorn.error"), "disabled", True)
    case_id, links = _in_expert_review(mailbox)
    page = post(links[E2], data={"decision": "review", "review.score": "abc",
                                       "review.recommendation": "approve", "comment": "同意"})
    assert page.status_code == 422 and "评分须为 0 到 100 的整数" in page.text
    assert "votes" not in snapshot(case_id)[2]


# --- through the engine: the quorum after the deadline, and approval of rivals ----------------------


def test_after_the_review_deadline_a_majority_closes_the_review(demo):
    from qcflow.services import sweep as deadlines

    case_id = create()
    upload_everything(case_id)
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "accept_materials", REVIEWER, changes={"experts": list(EXPERTS)})
    reviews(case_id, E2)
    with unit_of_work() as s:
        due = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.step == "expert_review")).one().due_at
    after = as_of_moment((local_date(due) + timedelta(days=7)).isoformat())  # past the escalation rung too

    # one vote of three: not a majority, even late; the commission hears of it
    with unit_of_work() as s:
        deadlines.sweep(s, now=after)
    assert state_of(case_id) == "expert_review"
    with unit_of_work() as s:
        escalated = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                       OutboxMessage.to_addr == REVIEWER)).all())
    assert [m.subject for m in escalated if "【逾期督办】" in m.subject] == [f"【逾期督办】{REF}{case_id} {TITLE}"]

    reviews(case_id, E3)  # two of three: before the deadline this is not enough...
    assert state_of(case_id) == "expert_review"
    with unit_of_work() as s:
        report = deadlines.sweep(s, now=after + timedelta(days=1))
    assert case_id in report.overdue  # ...after it, the majority closes the review
    assert state_of(case_id) == "commission_decision"
    assert len(snapshot(case_id)[2]["votes"]) == 2


def _drive(case_id: int, steps) -> Optional[Refused]:
    for trigger, who, kwargs in steps:
        try:
            fire(case_id, trigger, who, **kwargs)
        except Refused as refused:
            return refused
    return None


def test_a_second_center_for_the_same_specialty_is_never_established(demo):
    first = to_commission_decision("RESP")
    second = create(center_code="RESP2", center_name="青川市呼吸内科医疗质量控制中心（二）")
    upload_everything(second)
    refused = _drive(second, [("submit", APPLICANT, {}),
                              ("accept_materials", REVIEWER, {"changes": {"experts": list(EXPERTS)}})])
    if refused is None:
        reviews(second, *EXPERTS)
    fire(first, "approve", REVIEWER)
    if refused is None:
        refused = _drive(second, [("approve", REVIEWER, {})])
    with unit_of_work() as s:
        centers = s.exec(select(Center.code).where(Center.specialty == "呼吸内科", Center.status == "active")).all()
    assert centers == ["RESP"]
    assert refused is not None and "Y§8" in str(refused) and "呼吸内科" in str(refused)
    assert state_of(second) != "established"


def test_approving_a_second_application_for_a_taken_center_code_is_refused_with_a_reason(demo):
    first = to_commission_decision("RESP")
    second = create(center_code="RESP")
    upload_everything(second)
    refused = _drive(second, [("submit", APPLICANT, {}),
                              ("accept_materials", REVIEWER, {"changes": {"experts": list(EXPERTS)}})])
    if refused is None:
        reviews(second, *EXPERTS)
    fire(first, "approve", REVIEWER)
    if refused is None:
        refused = _drive(second, [("approve", REVIEWER, {})])
    assert refused is not None and "RESP" in str(refused)
    assert state_of(second) != "established"
    with unit_of_work() as s:
        assert len(s.exec(select(Center).where(Center.code == "RESP")).all()) == 1


def test_a_used_link_is_not_reused_for_the_next_step(site):
    """The reviewer's materials-check link cannot decide the commission's decision later."""
    _, mailbox = site
    case_id = create()
    upload_everything(case_id)
    fire(case_id, "submit", APPLICANT)
    deliver()
    first = link_in(mails(mailbox, REVIEWER, "【待审核】")[0])
    accepted = post(first, data={"decision": "accept_materials", "accept_materials.experts": "\n".join(EXPERTS)})
    assert accepted.status_code == 200
    reviews(case_id, *EXPERTS)
    assert state_of(case_id) == "commission_decision"
    assert post(first, data={"decision": "approve"}).status_code == 409
    assert state_of(case_id) == "commission_decision"
    with unit_of_work() as s:
        assert s.exec(select(TaskLink).where(TaskLink.case_id == case_id, TaskLink.used_at.is_not(None))).all()
