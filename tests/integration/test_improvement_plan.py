"""H1: the improvement-goal plan on a real SQLite file — drafted by the center, refused while its
targets are unargued, approved by the commission, which writes the targets part A measures against;
the steps' mails through a real SMTP server."""
from __future__ import annotations

import pytest
from sqlmodel import select

from states.rules import Refused
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY
from tests.smtp import SmtpServer, parts
from tests.live import live_site, mail_to_smtp, deliver_to

GOALS = [
    {"goal_code": "NIT-2026-01", "goal": "提高急性ST段抬高型心肌梗死再灌注治疗率", "indicator_code": "CARD-01",
     "indicator_name": "STEMI 患者再灌注治疗率", "direction": "higher", "baseline_province": "78.4",
     "baseline_national": "81.2", "trend": "2023–2025 年 72.1%→75.9%→78.4%，逐年上升", "target_value": "82",
     "argument": "按近三年年均增幅 3.2 个百分点推算，并参照全国均值", "departments": "心内科、急诊科、导管室"},
    {"goal_code": "NIT-2026-02", "goal": "降低心力衰竭患者住院死亡率", "indicator_code": "CARD-07",
     "indicator_name": "心力衰竭住院死亡率", "direction": "lower", "baseline_province": "2.9",
     "baseline_national": "2.6", "trend": "近三年 3.4%→3.1%→2.9%", "target_value": 2.6,
     "argument": "达到全国均值", "departments": "心内科、重症医学科、医务部"},
]
MEASURES = [
    {"goal_code": "NIT-2026-01", "measure": "建立胸痛中心绕行急诊直达导管室流程", "department": "急诊科",
     "scoring_sheet": "再灌注流程评分表（10 项，满分 100）", "due": "2026-06-30"},
    {"goal_code": "NIT-2026-02", "measure": "心衰患者出院前评估清单嵌入电子病历", "department": "心内科",
     "scoring_sheet": "心衰评估清单执行率评分表", "due": "2026-09-30"},
]
OPINION = "2026 年 1 月 12 日专家委员会 9 名委员论证，同意上述目标值"


def _plan(session, **changes) -> int:
    from qcflow import engine

    return engine.create_case(session, "improvement_plan", SECRETARY, {"center": "CARD", "year": 2026, **changes}).id


def _fire(case_id: int, trigger: str, email: str, **kwargs):
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return engine.fire(session, "improvement_plan", case_id, trigger, email=email, **kwargs)


def _targets():
    from models.improvement import ImprovementTarget
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as session:
        return [(t.specialty, t.year, t.goal_code, t.indicator_code, t.target_value, t.direction)
                for t in session.exec(select(ImprovementTarget).order_by(ImprovementTarget.indicator_code)).all()]


@pytest.fixture
def smtp(demo, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


def _deliver(server: SmtpServer) -> list:
    return deliver_to(server)


def test_approval_writes_each_goals_target_as_the_line_the_analysis_measures_against(smtp):
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        case_id = _plan(session)
    _fire(case_id, "submit", SECRETARY, changes={"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION})
    [asked] = [m for m in _deliver(smtp) if REVIEWER in m["To"]]
    assert asked["Subject"] == f"【待批准】改进目标工作方案 #{case_id} 2026年度改进目标工作方案"
    assert "目标值及其论证" in parts(asked)[0]
    assert _targets() == []  # nothing is a target before the commission approves

    _fire(case_id, "approve", REVIEWER)

    assert _targets() == [("心血管内科", 2026, "NIT-2026-01", "CARD-01", 82.0, "higher"),
                          ("心血管内科", 2026, "NIT-2026-02", "CARD-07", 2.6, "lower")]
    approved = [m for m in _deliver(smtp) if DIRECTOR in m["To"]]
    assert [m["Subject"] for m in approved] == [f"【已批准】改进目标工作方案 #{case_id} 2026年度改进目标工作方案"]
    from qcflow.services.improvement import plan_of

    with unit_of_work(read_only=True) as session:
        plan = plan_of(session, "CARD", 2026)
    assert plan["state"] == "approved" and [t["target_value"] for t in plan["targets"]] == [82.0, 2.6]


def test_a_target_without_its_baseline_or_measures_is_refused_naming_the_goal_and_h1(demo):
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        case_id = _plan(session)
    unargued = [{**GOALS[0], "baseline_national": ""}, GOALS[1]]
    with pytest.raises(Refused) as refused:
        _fire(case_id, "submit", SECRETARY, changes={"goals": unargued, "measures": MEASURES[:1]})
    messages = [str(r) for r in refused.value.reasons]
    assert "改进目标NIT-2026-01的全国基线值须为数值（当前：空）（H1）" in messages
    assert "改进目标NIT-2026-02尚无改进措施（须有评分表和完成时限）（H1）" in messages
    assert any("专家委员会" in m for m in messages)
    with unit_of_work(read_only=True) as session:
        from models import Case

        assert session.get(Case, case_id).state == "draft"  # nothing stored half-written


def test_a_measure_due_outside_the_plan_year_is_refused(demo):
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        case_id = _plan(session)
    late = [MEASURES[0], {**MEASURES[1], "due": "2027-03-31"}]
    with pytest.raises(Refused) as refused:
        _fire(case_id, "submit", SECRETARY, changes={"goals": GOALS, "measures": late, "committee_opinion": OPINION})
    assert [str(r) for r in refused.value.reasons] == ["第 2 项改进措施的完成时限 2027-03-31 不在方案年度 2026 年内（H1）"]


def test_only_one_plan_a_year_is_approved_and_a_returned_plan_needs_a_comment(demo):
    from qcflow.store.db import unit_of_work

    content = {"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION}
    with unit_of_work() as session:
        first, second = _plan(session), _plan(session)
    for case_id in (first, second):
        _fire(case_id, "submit", SECRETARY, changes=content)
    with pytest.raises(Refused, match="退回修改须填写意见"):
        _fire(first, "return", REVIEWER)
    _fire(first, "approve", REVIEWER)
    with pytest.raises(Refused) as refused:
        _fire(second, "approve", REVIEWER)
    assert str(refused.value.reasons[0]) == f"本专业 2026 年度已有批准的改进目标工作方案 #{first}，不能再批准另一份（H1）"
    assert len(_targets()) == 2


def test_the_center_secretary_cannot_approve_its_own_plan(demo):
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        case_id = _plan(session)
    _fire(case_id, "submit", SECRETARY, changes={"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION})
    with pytest.raises(Refused, match="只能由卫健委审核人"):
        _fire(case_id, "approve", SECRETARY)
    assert _targets() == []


@pytest.fixture
def site(demo, monkeypatch):
    """The web app on a real port, with a real SMTP server for the sign-in and task mails."""
    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox


def _rows(items: list[dict], columns: tuple) -> str:
    return "\n".join("|".join(str(item[c]) for c, _label in columns) for item in items)


def test_the_center_submits_from_the_case_page_and_the_commission_approves_there(site):
    from tests.e2e.formpost import hidden_fields
    from tests.e2e.sessions import sign_in
    from qcflow.store.db import unit_of_work
    from states.improvement_plan import GOAL_COLUMNS, MEASURE_COLUMNS

    base, mailbox = site
    with unit_of_work() as session:
        case_id = _plan(session)
    path = f"/cases/improvement_plan/{case_id}"
    secretary = sign_in(base, mailbox, SECRETARY)
    shown = secretary.get(path)
    assert shown.status_code == 200 and 'name="submit.goals"' in shown.text and 'name="submit.measures"' in shown.text
    form = {**hidden_fields(shown.text), "decision": "submit", "submit.committee_opinion": OPINION,
            "submit.goals": _rows(GOALS, GOAL_COLUMNS), "submit.measures": _rows(MEASURES, MEASURE_COLUMNS)}
    done = secretary.post(path, data=form)
    assert done.status_code == 303, done.text[:2000]

    reviewer = sign_in(base, mailbox, REVIEWER)
    page = reviewer.get(path)
    assert "NIT-2026-01" in page.text and "按近三年年均增幅" in page.text and "再灌注流程评分表" in page.text
    approved = reviewer.post(path, data={**hidden_fields(page.text), "decision": "approve"})
    assert approved.status_code == 303
    assert [t[3:5] for t in _targets()] == [("CARD-01", 82.0), ("CARD-07", 2.6)]


def test_plans_show_from_the_shell_names_the_targets_in_force(demo):
    import json
    import os
    import subprocess
    import sys

    from qcflow.store.db import unit_of_work
    from tests.conftest import ROOT

    with unit_of_work() as session:
        case_id = _plan(session)
    _fire(case_id, "submit", SECRETARY, changes={"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION})

    def show(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *extra, "plans", "show", "--center", "CARD", "--year", "2026"],
                              capture_output=True, text=True, env=os.environ.copy(), cwd=ROOT, timeout=120)

    assert "尚未批准：目标值未生效" in show().stdout
    _fire(case_id, "approve", REVIEWER)
    out = json.loads(show("--json").stdout)
    assert out["state"] == "approved" and [t["indicator_code"] for t in out["targets"]] == ["CARD-01", "CARD-07"]
    missing = subprocess.run([sys.executable, "-m", "qcflow", "plans", "show", "--center", "CARD", "--year", "2030"],
                             capture_output=True, text=True, env=os.environ.copy(), cwd=ROOT, timeout=120)
    assert missing.returncode == 2 and "没有 2030 年度的改进目标工作方案" in missing.stderr + missing.stdout
