"""The engine on a real database: one transaction per step, history, outbox, numbers, refusals."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import Case, CaseEvent, DocumentNumber, OutboxMessage, TaskLink
from qcflow.store.db import unit_of_work
from states.rules import Conflict, Refused
from tests.helpers import rendered, LEADER, REVIEWER, SECRETARY, SECTION_HEAD, fire, new_document

pytestmark = pytest.mark.db


def _count(model) -> int:
    with unit_of_work() as s:
        return len(s.exec(select(model)).all())


def test_the_story_issues_a_numbered_document_with_full_history(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "request_changes", REVIEWER, comment="请补充会议议程")
    fire(case_id, "submit", SECRETARY, changes={"body": "补充议程后的正文"})
    fire(case_id, "approve", REVIEWER)
    result = fire(case_id, "sign", LEADER)
    assert result.steps == [("sign", "awaiting_signoff", "approved"), ("issue", "approved", "issued")]
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        number = s.exec(select(DocumentNumber)).one()
    assert case.state == "issued" and case.data["body"] == "补充议程后的正文"
    assert [(e.trigger, e.from_state, e.to_state) for e in events] == [
        ("create", "", "draft"), ("submit", "draft", "submitted"),
        ("request_changes", "submitted", "changes_requested"), ("submit", "changes_requested", "submitted"),
        ("approve", "submitted", "awaiting_signoff"), ("sign", "awaiting_signoff", "approved"),
        ("issue", "approved", "issued"),
    ]
    assert events[2].comment == "请补充会议议程" and events[-1].actor_id is None
    assert (number.organ_code, number.seq) == ("青卫质控", 1)


def test_a_refused_step_writes_nothing(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    before = (_count(CaseEvent), _count(OutboxMessage), _count(TaskLink))
    with pytest.raises(Refused) as refused:
        fire(case_id, "request_changes", REVIEWER, comment="  ")
    assert "修改意见" in str(refused.value) and "Y§18" in str(refused.value)
    assert (_count(CaseEvent), _count(OutboxMessage), _count(TaskLink)) == before
    with unit_of_work() as s:
        assert s.get(Case, case_id).state == "submitted"


def test_four_eyes_refuses_the_approver_as_signer(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "approve", SECTION_HEAD)
    with pytest.raises(Refused) as refused:
        fire(case_id, "sign", SECTION_HEAD)
    assert "签发领导" in str(refused.value)


def test_a_stale_version_is_a_conflict(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    with unit_of_work() as s:
        version = s.get(Case, case_id).version
    fire(case_id, "approve", REVIEWER, expected_version=version)
    with pytest.raises(Conflict) as conflict:
        fire(case_id, "reject", REVIEWER, comment="重复", expected_version=version)
    assert "已被他人处理" in str(conflict.value)


def test_emails_go_to_the_outbox_with_a_link_and_no_body_text(demo):
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    with unit_of_work() as s:
        mails = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == REVIEWER)).all())
    assert len(mails) == 1
    assert "/t/" in mails[0].text_body and "/t/" in mails[0].html_body
    assert "学术报告厅" not in mails[0].text_body  # the document body stays behind the link


def _outbox_to(email: str, subject: str) -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == email)).all())
                if subject in m.subject]


def test_the_approver_who_is_also_a_leader_gets_no_signoff_mail_and_a_return_goes_back_to_the_approver(demo):
    from models import Person, RoleAssignment

    with unit_of_work() as s:
        head = s.exec(select(Person).where(Person.email == SECTION_HEAD)).one()
        s.add(RoleAssignment(person_id=head.id, role="signing_leader"))
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "approve", SECTION_HEAD)
    assert _outbox_to(SECTION_HEAD, "【待签发】") == [] and len(_outbox_to(LEADER, "【待签发】")) == 1
    with pytest.raises(Refused):
        fire(case_id, "return_for_review", SECTION_HEAD, comment="自己退回")
    fire(case_id, "return_for_review", LEADER, comment="请核对会议时间")
    assert len(_outbox_to(SECTION_HEAD, "【待审核】")) == 2  # the first round and the return
    assert len(_outbox_to(REVIEWER, "【待审核】")) == 1  # only the first round


def test_a_new_document_with_bad_content_is_refused_and_not_stored(demo):
    with pytest.raises(Refused) as refused:
        with unit_of_work() as s:
            new_document(s, title="", doc_kind="bogus")
    assert "公文标题不能为空" in str(refused.value) and "公文种类“bogus”无效" in str(refused.value)
    assert _count(Case) == 0
