"""Write matrix: every role × every write path × the four core kinds — allowed exactly where the rules allow.

The expectation is written out here by hand from DOMAIN.md and the README's step list (who takes which
step), never read from the workflow tables or the engine. Paths: the service every entry point calls
(engine.fire / engine.create_case, in-process, each allowed step rolled back so every cell starts from the
same case), the case page's POST and an emailed link's POST over real HTTP, and `qcflow case fire|new` as
a child process.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any, Optional

import httpx
import pytest
import yaml
from sqlmodel import select

from models import Case, Center
from qcflow import engine
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.e2e.conftest import site  # noqa: F401  (the web app on a real port, mailing to a real SMTP server)
from tests.e2e.test_application_story_http import upload_everything
from tests.helpers import DIRECTOR, LEADER, OTHER_SECRETARY, REVIEWER, ROOT, SECRETARY, notice_data

pytestmark = pytest.mark.db

DEPUTY = "deputy@card.qingchuan.example"
EXPERT = "expert2@qcexperts.example"
APPLICANT = "yan.keqin@qch2.qingchuan.example"  # no role: applies to establish a center
EXPERTS = ["expert2@qcexperts.example", "expert3@qcexperts.example", "expert4@qcexperts.example"]
ROLES = {"commission": REVIEWER, "leader": LEADER, "director": DIRECTOR, "secretary": SECRETARY, "deputy": DEPUTY,
         "other_center": OTHER_SECRETARY, "expert": EXPERT, "applicant": APPLICANT}
CENTER = {"director", "secretary"}  # the case's center (CARD) director and secretary

# case → trigger → (the content given with it, the roles that may take it). From the rules:
# documents (Y§18): the center drafts, edits and submits; only the drafter withdraws; the commission's
# reviewers claim, approve and ask for changes; at sign-off only a signing leader signs or returns; the
# table lets a reviewer and a signing leader reject in review and at sign-off alike. Reports (Y§17): the center edits and submits; the commission returns or accepts. Applications
# (Y§9, Y§13): the applicant submits and withdraws; the commission asks for materials, accepts them with
# experts, rejects. Deaths (H5, Y§22): the commission assigns; a low-risk death is never closed without
# review (nobody); the assigned center's people and reviewer run the review.
MATRIX: dict[str, dict[str, tuple[dict[str, Any], set[str]]]] = {
    "doc_draft": {
        "edit": ({"body": "会议议程：一、总结；二、计划。"}, CENTER),
        "submit": ({}, CENTER),
        "withdraw": ({}, {"secretary"}),
    },
    "doc_submitted": {
        "claim": ({}, {"commission"}),
        "approve": ({}, {"commission"}),
        "request_changes": ({}, {"commission"}),
        "reject": ({}, {"commission", "leader"}),  # the table gives reject to both, in review and at sign-off
        "withdraw": ({}, {"secretary"}),
        "sign": ({}, set()),
    },
    "doc_signoff": {
        "sign": ({}, {"leader"}),
        "return_for_review": ({}, {"leader"}),
        "reject": ({}, {"leader", "commission"}),
        "approve": ({}, set()),
    },
    "report_open": {
        "edit": ({"summary": "上半年工作总结（草稿）"}, CENTER),
        "submit": ({"summary": "上半年工作总结"}, CENTER),
        "accept": ({}, set()),
    },
    "report_submitted": {
        "return": ({}, {"commission"}),
        "accept": ({}, {"commission"}),
        "submit": ({"summary": "再次提交"}, set()),
    },
    "app_draft": {
        "submit": ({}, {"applicant"}),
        "withdraw": ({}, {"applicant"}),
        "request_materials": ({}, set()),
    },
    "app_check": {
        "request_materials": ({}, {"commission"}),
        "accept_materials": ({"experts": EXPERTS}, {"commission"}),
        "reject": ({}, {"commission"}),
        "withdraw": ({}, {"applicant"}),
        "review": ({"score": 80, "recommendation": "approve"}, set()),
    },
    "death_screened": {
        "assign": ({"center": "CARD", "reviewers": [DEPUTY]}, {"commission"}),
        "close_no_review": ({}, set()),  # a low-risk death is never closed without review
    },
    "death_assigned": {
        "start_investigation": ({}, {"director", "secretary", "deputy"}),
        "record_autopsy_report": ({"autopsy_report_on": "2026-11-20"}, {"director", "secretary", "deputy"}),
        "approve_actions": ({}, set()),
    },
}
ARTICLE = re.compile(r"Y§\d+|H\d|〔\d{4}〕\d+号")  # every refusal names its rule
KIND = {"doc": "document", "report": "report", "app": "application", "death": "death_review"}
# Who may start a case of each kind (the kinds' creators): a center's director or secretary drafts its own
# documents (the notice is CARD's: not the nursing center's secretary), the commission enters a death by
# form; reports are opened by the calendar only.
CREATORS = {"document": CENTER, "death_review": {"commission"}, "report": set()}
DEATH = {"hospital": "QCH1", "record_no": "BA-9001", "admitted_on": "2026-11-01", "died_on": "2026-11-05",
         "department": "心内科", "diagnosis": "急性心肌梗死", "drg": "FR29", "low_risk": True}


def kind_of(case: str) -> str:
    return KIND[case.split("_")[0]]


def application() -> dict:
    return yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text("utf-8"))


def build_world() -> dict[str, int]:
    ids: dict[str, int] = {}

    def fire(case: str, trigger: str, email: str, **kw: Any) -> None:
        with unit_of_work() as s:
            engine.fire(s, kind_of(case), ids[case], trigger, email=email, **kw)

    with unit_of_work() as s:
        for name in ("doc_draft", "doc_submitted", "doc_signoff"):
            ids[name] = engine.create_case(s, "document", SECRETARY, notice_data()).id
        card = s.exec(select(Center).where(Center.code == "CARD")).one()
        for name, period in (("report_open", "2026H1"), ("report_submitted", "2025H1")):
            ids[name] = engine.open_case(s, "report", card, f"心血管中心{period}工作总结",
                                         {"report_kind": "half_year", "period": period, "due_date": "2026-12-30",
                                          "summary": "", "plan": ""}, key=f"report:CARD:{period}").id
        for name in ("app_draft", "app_check"):
            ids[name] = engine.create_case(s, "application", APPLICANT, application()).id
        for name, record in (("death_screened", "BA-9001"), ("death_assigned", "BA-9002")):
            case = engine.create_case(s, "death_review", REVIEWER, {**DEATH, "record_no": record})
            engine.fire_as_system(s, case, "screen")
            ids[name] = case.id
    fire("doc_submitted", "submit", SECRETARY)
    fire("doc_signoff", "submit", SECRETARY)
    fire("doc_signoff", "approve", REVIEWER)
    fire("report_submitted", "submit", SECRETARY, changes={"summary": "上半年工作总结"})
    upload_everything(ids["app_check"], APPLICANT)  # the Y§9 materials, so the materials can be accepted
    fire("app_check", "submit", APPLICANT)
    fire("death_assigned", "assign", REVIEWER, changes={"center": "CARD", "reviewers": [DEPUTY]})
    return ids


class _Undo(Exception):
    pass


def try_step(kind: str, case_id: int, trigger: str, email: str, changes: dict) -> Optional[str]:
    """None when the step was allowed (and then undone), else the refusal's text."""
    try:
        with unit_of_work() as s:
            engine.fire(s, kind, case_id, trigger, email=email, comment="测试意见", changes=dict(changes))
            raise _Undo()
    except _Undo:
        return None
    except Refused as refused:
        return str(refused)


def snapshot(ids: dict[str, int]) -> dict[int, tuple]:
    with unit_of_work() as s:
        return {c.id: (c.state, c.version, json.dumps(c.data, sort_keys=True, default=str))
                for c in s.exec(select(Case).where(Case.id.in_(list(ids.values()))))}


@pytest.fixture
def world(demo) -> dict[str, int]:
    return build_world()


def test_every_role_may_take_exactly_the_steps_the_rules_give_it(world):
    before = snapshot(world)
    wrong = []
    for case, steps in MATRIX.items():
        for trigger, (changes, allowed) in steps.items():
            for role, email in ROLES.items():
                refusal = try_step(kind_of(case), world[case], trigger, email, changes)
                if (refusal is None) != (role in allowed):
                    wrong.append(f"{case}.{trigger} by {role}: {'allowed' if refusal is None else refusal}")
                elif refusal is not None and not ARTICLE.search(refusal):
                    wrong.append(f"{case}.{trigger} by {role}: refused without an article: {refusal}")
    assert wrong == [], "\n".join(wrong)
    assert snapshot(world) == before  # every cell started from the same cases


def test_every_role_may_start_exactly_the_kinds_the_rules_give_it(demo):
    data = {"document": notice_data(), "death_review": {**DEATH, "record_no": "BA-9100"},
            "report": {"report_kind": "half_year", "summary": "x"}}
    wrong = []
    for kind, allowed in CREATORS.items():
        for role, email in ROLES.items():
            try:
                with unit_of_work() as s:
                    engine.create_case(s, kind, email, dict(data[kind]))
                    raise _Undo()
            except _Undo:
                ok = True
            except Refused:
                ok = False
            if ok != (role in allowed):
                wrong.append(f"new {kind} by {role}: {'allowed' if ok else 'refused'}")
    assert wrong == [], "\n".join(wrong)


# --- the same rules through the CLI (a child process) ---------------------------------------------------

def _cli(*args: str, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ), timeout=60)


def test_the_cli_refuses_and_allows_the_same_cells(world):
    before = snapshot(world)
    doc = str(world["doc_submitted"])
    for email in (SECRETARY, LEADER, OTHER_SECRETARY):
        refused = _cli("case", "fire", "document", doc, "approve", "--as", email)
        assert refused.returncode == 2 and "Y§18" in refused.stderr, (email, refused.stderr)
    assert snapshot(world) == before
    new = _cli("case", "new", "document", "--as", REVIEWER, "--data", "-", stdin=yaml.safe_dump(notice_data()))
    assert new.returncode == 2 and "Traceback" not in new.stderr
    assert _cli("case", "fire", "document", doc, "approve", "--as", REVIEWER).returncode == 0
    made = _cli("case", "new", "document", "--as", SECRETARY, "--data", "-", stdin=yaml.safe_dump(notice_data()))
    assert made.returncode == 0, made.stderr


# --- the same rules through the web: the case page's POST and an emailed link's POST -----------------------

def test_the_case_page_and_link_posts_refuse_and_allow_the_same_cells(site):
    from qcflow.services.mail import deliver_outbox as deliver
    from tests.e2e.formpost import post
    from tests.e2e.test_case_pages_http import decide, sign_in
    from tests.smtp import link_in

    base, mailbox = site
    ids = build_world()
    before = snapshot(ids)
    path = f"/cases/document/{ids['doc_submitted']}"
    for email in (SECRETARY, LEADER, OTHER_SECRETARY):
        person = sign_in(base, mailbox, email)
        answer = decide(person, path, {"decision": "approve"})
        assert answer.status_code in (403, 422), (email, answer.status_code)
    anonymous = httpx.post(f"{base}{path}", data={"decision": "approve", "version": "2"})
    assert anonymous.status_code in (401, 403)
    assert snapshot(ids) == before

    deliver()
    leader_link = link_in(mailbox.to(LEADER, f"公文 #{ids['doc_signoff']}")[0])
    assert post(leader_link, data={"decision": "approve"}).status_code == 422  # not the leader's step
    assert snapshot(ids) == before
    reviewer = sign_in(base, mailbox, REVIEWER)
    assert decide(reviewer, path, {"decision": "approve"}).status_code == 303
    assert post(leader_link, data={"decision": "sign"}).status_code == 200  # redirected to what was done
    with unit_of_work() as s:
        assert s.get(Case, ids["doc_signoff"]).state == "issued"
