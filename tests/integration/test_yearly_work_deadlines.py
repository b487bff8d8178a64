"""H1, H2, H6 on a real SQLite file: each step that waits for someone (the commission's approval, the
center's revision, the experts' review, publication) opens a deadline in working days from
states/policy.py, and the sweep reminds on its ladder (states/ladders.py) and escalates once."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from models import Deadline, OutboxMessage
from qcflow import engine
from qcflow.core.clock import local_zone, to_local
from qcflow.services import sweep
from qcflow.store.db import unit_of_work
from states import policy
from states.ladders import LADDERS
from states.registry import WORKFLOWS
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, SECTION_HEAD, rendered
from tests.integration.test_annual_report import EXPERT, SPECIALTY, data  # noqa: F401  (the indicator data fixture)
from tests.integration.test_compendium import _attach, _draft
from tests.integration.test_improvement_plan import GOALS, MEASURES, OPINION

pytestmark = pytest.mark.db

PLAN = {"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=local_zone())


def _fire(kind: str, case_id: int, trigger: str, email: str, **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, kind, case_id, trigger, email=email, **kwargs)


def _open_deadlines(case_id: int) -> dict[str, str]:
    with unit_of_work(read_only=True) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.closed_at.is_(None))).all()
        return {r.step: to_local(r.due_at).date().isoformat() for r in rows}


def _mails_to(email: str, subject: str) -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage)).all())
                if m.to_addr == email and subject in m.subject]


def _sweep(day: str):
    with unit_of_work() as s:
        return sweep.sweep(s, now=at(day))


# The states in which the case waits for someone other than the center drafting it (the draft of a plan
# or a compendium is the center's own; an annual report's draft waits on the expert committee).
WAITING = {"improvement_plan": ({"submitted", "returned"}, "H1"), "compendium": ({"submitted", "returned"}, "H2"),
           "annual_report": ({"draft", "reviewed", "approved"}, "H6")}


@pytest.mark.parametrize("kind", sorted(WAITING))
def test_every_waiting_state_has_a_deadline_on_its_own_ladder_with_the_policy_days(kind):
    workflow = WORKFLOWS[kind]
    waiting, rule = WAITING[kind]
    assert {s for spec in workflow.deadlines for s in spec.states} == waiting
    for spec in workflow.deadlines:
        ladder = LADDERS[spec.ladder]
        assert (ladder.name, ladder.rule, spec.rule) == (kind, rule, rule) and spec.working_days > 0
        assert [r.action for r in ladder.rungs].count("escalate") == 1 and "remind" in [r.action for r in ladder.rungs]


def test_a_submitted_plan_is_due_in_ten_working_days_reminded_then_escalated_once(demo):
    with unit_of_work() as s:
        case_id = engine.create_case(s, "improvement_plan", SECRETARY, {"center": "CARD", "year": 2026},
                                     now=at("2026-11-23")).id
    assert _open_deadlines(case_id) == {}  # the center's own draft waits for no one
    _fire("improvement_plan", case_id, "submit", SECRETARY, changes=PLAN, now=at("2026-11-23"))  # Monday
    assert policy.IMPROVEMENT_PLAN_APPROVAL_WORKING_DAYS.value == 10
    assert _open_deadlines(case_id) == {"approval": "2026-12-07"}  # 10 working days: 24 Nov … 7 Dec

    assert _sweep("2026-12-02").reminded == []  # three working days before: not yet
    assert len(_sweep("2026-12-03").reminded) == 1  # two working days before
    assert _mails_to(REVIEWER, "【办理提醒】")
    assert _sweep("2026-12-03").reminded == []  # a rerun sends nothing twice
    assert _sweep("2026-12-07").reminded and _sweep("2026-12-07").escalated == []  # on the day
    late = _sweep("2026-12-08")
    assert len(late.escalated) == 1 and len(_mails_to(SECTION_HEAD, "【逾期督办】")) == 1
    assert _sweep("2026-12-09").escalated == []

    # Returning it closes the approval and gives the center its revision deadline.
    _fire("improvement_plan", case_id, "return", REVIEWER, comment="请补充心衰目标值的论证", now=at("2026-12-09"))
    assert _open_deadlines(case_id) == {"revision": "2026-12-23"}
    _sweep("2026-12-21")
    assert _mails_to(DIRECTOR, "【办理提醒】") and "改进目标工作方案" in _mails_to(DIRECTOR, "【办理提醒】")[0].subject


def test_a_compendium_under_review_is_reminded_and_its_approval_closes_the_deadline(demo):
    case_id = _draft()
    _attach(case_id)
    _fire("compendium", case_id, "submit", SECRETARY, now=at("2026-11-23"))
    assert _open_deadlines(case_id) == {"review": "2026-12-07"}
    assert len(_sweep("2026-12-03").reminded) == 1 and _mails_to(REVIEWER, "【办理提醒】")
    _fire("compendium", case_id, "approve", REVIEWER, now=at("2026-12-04"))  # published at once
    assert _open_deadlines(case_id) == {}
    assert _sweep("2026-12-08").escalated == [] and _mails_to(SECTION_HEAD, "【逾期督办】") == []


def test_an_annual_report_waits_on_its_experts_then_the_commission_each_with_a_deadline(data):  # noqa: F811
    from qcflow.services import annual_report

    with unit_of_work() as s:
        built = annual_report.build(s, SPECIALTY, 2026, now=at("2026-11-23"))
    assert _open_deadlines(built.case_id) == {"expert_review": "2026-12-07"}
    assert len(_sweep("2026-12-03").reminded) == 1 and _mails_to(EXPERT, "【办理提醒】")
    _fire("annual_report", built.case_id, "review", EXPERT, comment="数据与图表核对无误", now=at("2026-12-04"))
    assert _open_deadlines(built.case_id) == {"approval": "2026-12-11"}  # 5 working days
    _fire("annual_report", built.case_id, "approve", REVIEWER, now=at("2026-12-07"))
    assert _open_deadlines(built.case_id) == {"publication": "2026-12-10"}  # 3 working days
    assert len(_sweep("2026-12-11").escalated) == 1 and _mails_to(SECTION_HEAD, "【逾期督办】")
