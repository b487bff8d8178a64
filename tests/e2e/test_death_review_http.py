"""A low-risk death reviewed to closed from the emailed links, with mails received by a real SMTP server."""
from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import select

from models import AccessLog, Case, LinkOpening
from qcflow.services.mail import deliver_outbox as deliver
from qcflow import engine
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.integration.test_death_review import COMMISSION, DEATH, DEPUTY, DIRECTOR, DISCUSSION
from tests.e2e.formpost import post
from tests.smtp import link_in, parts

pytestmark = pytest.mark.db


def _nth(mailbox, to: str, subject: str, n: int, timeout: float = 10.0):
    """The n-th mail (1-based) to `to`, waiting for it: page actions deliver in the background."""
    deadline = time.monotonic() + timeout
    while len(found := mailbox.to(to, subject, timeout=0)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) >= n, [m["Subject"] for m in found]
    return found[n - 1]


def _state(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def test_a_low_risk_death_is_reviewed_to_closed_from_the_emailed_links(site):
    base, mailbox = site
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1", **DEATH})
        engine.fire_as_system(s, case, "screen")
        case_id = case.id
    with pytest.raises(Refused) as refused:
        with unit_of_work() as s:
            engine.fire(s, "death_review", case_id, "close_no_review", email=COMMISSION, comment="不需要")
    assert "低风险组死亡病例必须开展评审" in str(refused.value)
    with unit_of_work() as s:
        engine.fire(s, "death_review", case_id, "assign", email=COMMISSION,
                    changes={"center": "CARD", "reviewers": [DIRECTOR, DEPUTY]})
    deliver()

    mail = mailbox.to(DIRECTOR, f"死亡病例评审 #{case_id}")[0]
    text, html = parts(mail)
    assert "BA-0001" not in text + html and "急性心肌梗死" not in text + html  # Y§22: a number and a link
    link = link_in(mail)
    page = httpx.get(link)
    assert page.status_code == 200 and "开始调查" in page.text
    with unit_of_work() as s:  # a GET may be a mail scanner: recorded as the link opened, not as a read (Y§22)
        assert len(s.exec(select(LinkOpening).where(LinkOpening.case_id == case_id)).all()) == 1
        assert s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all() == []

    assert post(link, data={"decision": "start_investigation"}).status_code == 200
    with unit_of_work() as s:  # acting is a read by the person
        assert [a.person_id for a in s.exec(select(AccessLog).where(AccessLog.case_id == case_id))] == \
            [engine.person_by_email(s, DIRECTOR).id]
    discussion = {f"record_discussion.discussion.{k}": v for k, v in DISCUSSION.items()}
    missing = post(link, data={"decision": "record_discussion", **{**discussion,
                                                                       "record_discussion.discussion.summary": ""}})
    assert missing.status_code == 422 and "主持人总结" in missing.text
    assert post(link, data={"decision": "record_discussion", **discussion}).status_code == 200
    assert post(link, data={"decision": "record_analysis",
                                  "record_analysis.factors.task": "急诊介入启动流程多次交接"}).status_code == 200
    weak = f"再次培训 | {DEPUTY} | 2026-12-31 | weaker"
    only_weak = post(link, data={"decision": "plan_actions", "plan_actions.actions": weak})
    assert only_weak.status_code == 422 and "强”或“中”强度" in only_weak.text
    actions = weak + f"\n胸痛患者一键启动导管室 | {DEPUTY} | 2026-12-31 | stronger"
    assert post(link, data={"decision": "plan_actions", "plan_actions.actions": actions}).status_code == 200
    assert _state(case_id) == "actions_planned"

    approve = link_in(_nth(mailbox, COMMISSION, f"死亡病例评审 #{case_id}", 1))
    assert post(approve, data={"decision": "approve_actions"}).status_code == 200
    assert _state(case_id) == "follow_up"

    owner = link_in(_nth(mailbox, DEPUTY, f"死亡病例评审 #{case_id}", 2))
    for action in ("1", "2"):
        done = post(owner, data={"decision": "add_evidence", "add_evidence.action": action,
                                       "add_evidence.evidence": "已落实，见科室记录"})
        assert done.status_code == 200
    own = post(owner, data={"decision": "verify"})
    assert own.status_code == 422 and "不能核实自己负责的措施" in own.text
    director = link_in(_nth(mailbox, DIRECTOR, f"死亡病例评审 #{case_id}", 2))
    assert post(director, data={"decision": "verify"}).status_code == 200
    close = link_in(_nth(mailbox, COMMISSION, f"死亡病例评审 #{case_id}", 2))
    assert post(close, data={"decision": "close"}).status_code == 200
    assert _state(case_id) == "closed"


def test_the_summary_page_shows_counts_only(site):
    base, _ = site
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1", **DEATH})
        engine.fire_as_system(s, case, "screen")
    page = httpx.get(f"{base}/deaths")
    assert page.status_code == 200 and "青川市第一人民医院" in page.text and "BA-0001" not in page.text
