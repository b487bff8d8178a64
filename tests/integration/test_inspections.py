"""Inspections (Y§14(四), Y§20) on a real database: only an authorized plan lets an inspection start,
findings reach each institution's quality office (or its listed contact) as a rectification list, the
center verifies the evidence, and the written report is due 1 month after the end on a ladder whose
reminders follow the Chinese working-day calendar."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from models import Case, CaseEvent, Deadline, OutboxMessage
from qcflow import engine
from qcflow.core.clock import local_zone, to_local
from qcflow.services import inspections
from qcflow.services import sweep as deadlines
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, SECTION_HEAD, rendered

pytestmark = pytest.mark.db

OFFICE = "zhikong@qch2.qingchuan.example"  # QCH2's quality office, listed in the directory
CONTACT = "yiwu@qch1.qingchuan.example"  # QCH1 has none in the directory: the contact the inspection names
DEPUTY = "deputy@card.qingchuan.example"
QUALITY_OFFICE_DIRECTORY = """
commission: {name: 青川市卫生健康委员会, organ_code: 青卫质控}
institutions:
  - {code: QCH2, name: 青川市中心医院, level: 三级甲等, county: 青川市本级}
people:
  - {email: zhikong@qch2.qingchuan.example, name: 范质远, title: 科长, institution: QCH2, roles: [quality_office]}
"""


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=local_zone())


@pytest.fixture
def offices(demo, tmp_path: Path):
    from qcflow.services import directory

    path = tmp_path / "quality_office.yaml"
    path.write_text(QUALITY_OFFICE_DIRECTORY, encoding="utf-8")
    with unit_of_work() as session:
        directory.load_file(session, path)
    return demo


def plan_data(**overrides) -> dict:
    data = {"center": "CARD", "title": "2026年度心血管专业医疗质量督导检查方案", "year": 2026,
            "scope": "胸痛中心建设与急性心梗救治流程（依据国家心血管病质控指标）", "institutions": ["QCH1", "QCH2"]}
    data.update(overrides)
    return data


def inspection_data(plan_id: int, **overrides) -> dict:
    data = {"center": "CARD", "title": "2026年心血管专业督导检查", "plan": plan_id, "institutions": ["QCH1", "QCH2"],
            "start_on": "2026-09-01", "contacts": [{"institution": "QCH1", "name": "吴医务", "email": CONTACT}]}
    data.update(overrides)
    return data


def authorized_plan(on: str = "2026-08-20") -> int:
    with unit_of_work() as s:
        plan_id = inspections.plan(s, SECRETARY, plan_data(), now=at(on))["id"]
    with unit_of_work() as s:
        engine.fire(s, "inspection_plan", plan_id, "authorize", email=REVIEWER, now=at(on))
    return plan_id


FINDINGS = [
    {"institution": "QCH1", "item": "STEMI 患者 D2W 时间", "standard": "国家心血管病质控指标 D2W≤90 分钟", "severity": "severe",
     "requirement": "优化导管室启动流程"},
    {"institution": "QCH1", "item": "胸痛病历质控", "standard": "胸痛中心认证标准", "severity": "major"},
    {"institution": "QCH2", "item": "溶栓知情同意书", "standard": "病历书写规范", "severity": "minor", "due": "2026-10-30"},
]


def ended_inspection(end_on: str = "2026-09-05") -> int:
    plan_id = authorized_plan()
    with unit_of_work() as s:
        inspection_id = inspections.start(s, DIRECTOR, inspection_data(plan_id), now=at("2026-09-01"))["id"]
    with unit_of_work() as s:
        inspections.findings(s, DIRECTOR, inspection_id, FINDINGS, end_on=end_on, now=at(end_on, 17))
    return inspection_id


def _mails(subject: str) -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage)).all()) if subject in m.subject]


def _sweep(day: str):
    with unit_of_work() as s:
        return deadlines.sweep(s, now=at(day, 9))


def _state(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def test_an_inspection_under_an_unauthorized_plan_is_refused_and_nothing_is_stored(offices):
    with unit_of_work() as s:
        plan_id = inspections.plan(s, SECRETARY, plan_data(), now=at("2026-08-20"))["id"]  # submitted, not authorized
    with pytest.raises(Refused) as refused, unit_of_work() as s:
        inspections.start(s, DIRECTOR, inspection_data(plan_id), now=at("2026-09-01"))
    rules = {r.rule for r in refused.value.reasons}
    assert rules == {"Y§14(四)", "Y-rubric"}
    assert "尚未经市卫生健康委授权（当前：待授权）" in str(refused.value)
    with unit_of_work() as s:
        assert s.exec(select(Case).where(Case.kind == "inspection")).all() == []


def test_an_inspection_of_an_institution_outside_the_authorized_plan_is_refused(offices):
    plan_id = authorized_plan()
    with pytest.raises(Refused, match="LXH 不在已授权方案"), unit_of_work() as s:
        inspections.start(s, DIRECTOR, inspection_data(plan_id, institutions=["QCH1", "LXH"]), now=at("2026-09-01"))


def test_another_centers_plan_does_not_authorize(offices):
    plan_id = authorized_plan()
    with pytest.raises(Refused, match="不是本中心的方案"), unit_of_work() as s:
        inspections.start(s, "director@nurs.qingchuan.example", inspection_data(plan_id, center="NURS"),
                          now=at("2026-09-01"))


def test_the_plan_is_authorized_only_by_the_commission(offices):
    with unit_of_work() as s:
        plan_id = inspections.plan(s, SECRETARY, plan_data(), now=at("2026-08-20"))["id"]
    with pytest.raises(Refused, match="只能由卫健委审核人"), unit_of_work() as s:
        engine.fire(s, "inspection_plan", plan_id, "authorize", email=DIRECTOR)
    assert {m.to_addr for m in _mails("【待审核】")} >= {REVIEWER}


def test_findings_reach_each_institution_as_its_own_rectification_list(offices):
    inspection_id = ended_inspection()
    with unit_of_work() as s:
        lists = inspections.rectifications_of(s, inspection_id)
        summary = inspections.summary(s, "inspection", inspection_id)
    assert summary["state"] == "findings_sent" and summary["report_due"] == "2026-10-05"
    by_code = {r["institution"]: r for r in lists}
    assert by_code["QCH1"]["items"] == 2 and by_code["QCH2"]["items"] == 1
    # severe + major weigh 9: named in a circular; one minor finding: no warning (states/inspection_policy.py)
    assert by_code["QCH1"]["level"] == "notice" and by_code["QCH2"]["level"] == "none"
    findings_mails = _mails("【督导检查反馈·请整改】")
    assert sorted(m.to_addr for m in findings_mails) == sorted([CONTACT, OFFICE])
    qch1 = next(m for m in findings_mails if m.to_addr == CONTACT)
    assert "青川市第一人民医院督促整改清单" in qch1.subject and "/t/" in qch1.text_body
    assert "STEMI" not in qch1.text_body  # mails carry the link, not the findings
    alerts = _mails("【督导检查预警/通报】")
    assert {m.to_addr for m in alerts} >= {REVIEWER, CONTACT}
    assert all("青川市第一人民医院" in m.subject for m in alerts)
    assert [m.to_addr for m in _mails("【待报送督导检查报告】")] == [DIRECTOR, SECRETARY]


def test_feedback_is_refused_for_an_institution_nobody_can_be_told_about(offices):
    plan_id = authorized_plan()
    with unit_of_work() as s:
        inspection_id = inspections.start(s, DIRECTOR, inspection_data(plan_id, contacts=[]), now=at("2026-09-01"))["id"]
    with pytest.raises(Refused, match="受检机构 QCH1 在名录中没有质控办人员"), unit_of_work() as s:
        inspections.findings(s, DIRECTOR, inspection_id, FINDINGS, end_on="2026-09-05", now=at("2026-09-05"))
    assert _state(inspection_id) == "in_progress"  # the findings were not kept either: one transaction


def test_a_finding_with_an_unknown_severity_is_refused_naming_the_row(offices):
    plan_id = authorized_plan()
    with unit_of_work() as s:
        inspection_id = inspections.start(s, DIRECTOR, inspection_data(plan_id), now=at("2026-09-01"))["id"]
    bad = [{**FINDINGS[0], "severity": "huge"}]
    with pytest.raises(Refused, match="第 1 条发现的严重程度须为"), unit_of_work() as s:
        inspections.findings(s, DIRECTOR, inspection_id, bad, now=at("2026-09-02"))


def _list_for(inspection_id: int, code: str) -> int:
    with unit_of_work() as s:
        return next(r["id"] for r in inspections.rectifications_of(s, inspection_id) if r["institution"] == code)


def test_a_rectification_is_evidenced_by_the_institution_verified_by_the_center_and_closed(offices):
    list_id = _list_for(ended_inspection(), "QCH2")
    kind = "inspection_rectification"
    with pytest.raises(Refused, match="尚无整改证据"), unit_of_work() as s:
        engine.fire(s, kind, list_id, "verify", email=DEPUTY, changes={"item": 1, "result": "passed"})
    with unit_of_work() as s:  # the quality office acts from its own link: the directory names it
        engine.fire(s, kind, list_id, "add_evidence", email=OFFICE,
                    changes={"item": 1, "evidence": "已补签知情同意书并修订模板，见 10 月病历抽查记录"})
    with pytest.raises(Refused, match="只能由"), unit_of_work() as s:  # the institution cannot verify itself
        engine.fire(s, kind, list_id, "verify", email=OFFICE, changes={"item": 1, "result": "passed"})
    with pytest.raises(Refused, match="须写明原因"), unit_of_work() as s:
        engine.fire(s, kind, list_id, "verify", email=DEPUTY, changes={"item": 1, "result": "failed"})
    with unit_of_work() as s:
        engine.fire(s, kind, list_id, "verify", email=DEPUTY, changes={"item": 1, "result": "passed", "note": "抽查 20 份合格"})
    assert _state(list_id) == "closed"
    with unit_of_work() as s:
        item = s.get(Case, list_id).data["items"][0]
        triggers = [e.trigger for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == list_id).order_by(CaseEvent.id))]
    assert item["verified"]["result"] == "passed" and item["evidence"][0]["by"] == "范质远"
    assert triggers[-2:] == ["verify", "close"]


def test_an_institution_that_does_not_rectify_in_time_is_reported_to_the_commission(offices):
    list_id = _list_for(ended_inspection(), "QCH2")  # its one item is due 2026-10-30
    _sweep("2026-10-30")
    assert _state(list_id) == "open"
    _sweep("2026-10-31")
    assert _state(list_id) == "poor"
    poor = [m for m in _mails("【整改不力报告】") if "青川市中心医院督促整改清单" in m.subject]
    assert REVIEWER in {m.to_addr for m in poor}
    with unit_of_work() as s:
        event = s.exec(select(CaseEvent).where(CaseEvent.case_id == list_id, CaseEvent.trigger == "mark_poor")).one()
    assert event.actor_id is None  # the system, once the due day had passed


def test_the_report_ladder_reminds_on_working_days_escalates_and_marks_overdue(offices):
    inspection_id = ended_inspection("2026-09-05")  # due 2026-10-05, inside the National Day holiday
    with unit_of_work() as s:
        report = s.exec(select(Deadline).where(Deadline.case_id == inspection_id, Deadline.step == "report")).one()
        assert to_local(report.due_at).date().isoformat() == "2026-10-05"
    ours = report.id

    def reminded(day: str) -> bool:
        return ours in _sweep(day).reminded

    assert not reminded("2026-09-16")
    assert reminded("2026-09-17")  # 10 working days before, counting Sunday 09-20 (调休 workday)
    assert not reminded("2026-09-25")
    assert reminded("2026-09-28")  # 3 working days before: 09-28, 09-29, 09-30 (10-01..10-07 holidays)
    assert reminded("2026-10-05")  # on the due day
    assert _state(inspection_id) == "findings_sent"
    assert ours not in _sweep("2026-10-06").escalated and _state(inspection_id) == "report_overdue"
    assert ours not in _sweep("2026-10-07").escalated  # still the holiday
    assert ours in _sweep("2026-10-08").escalated  # the first working day after the due day
    escalations = [m for m in _mails("【逾期督办】") if "心血管专业督导检查" in m.subject and "整改清单" not in m.subject]
    assert {m.to_addr for m in escalations} == {REVIEWER, "reviewer2@wjw.qingchuan.example", SECTION_HEAD}
    reminders = [m for m in _mails("【办理提醒】") if "整改清单" not in m.subject]
    assert {m.to_addr for m in reminders} == {DIRECTOR, SECRETARY} and len(reminders) == 6  # 3 rungs × 2
    with unit_of_work() as s:  # late, but still to be sent in: the report is accepted after all
        engine.fire(s, "inspection", inspection_id, "submit_report", email=SECRETARY,
                    changes={"report": "检查概况、问题、反馈与整改情况……"}, now=at("2026-10-09"))
        engine.fire(s, "inspection", inspection_id, "accept", email=REVIEWER, now=at("2026-10-09"))
    assert _state(inspection_id) == "accepted"
    with unit_of_work() as s:
        assert s.get(Deadline, ours).closed_at is not None


def test_an_empty_report_is_refused_with_its_article(offices):
    inspection_id = ended_inspection()
    with pytest.raises(Refused, match="Y§20"), unit_of_work() as s:
        engine.fire(s, "inspection", inspection_id, "submit_report", email=SECRETARY, changes={"report": "  "})


def test_a_contact_added_during_the_inspection_lets_the_feedback_go_but_the_plan_still_bounds_it(offices):
    plan_id = authorized_plan()
    with unit_of_work() as s:
        inspection_id = inspections.start(s, DIRECTOR, inspection_data(plan_id, contacts=[]), now=at("2026-09-01"))["id"]
    with pytest.raises(Refused, match="LXH 不在已授权方案"), unit_of_work() as s:
        engine.fire(s, "inspection", inspection_id, "edit", email=DIRECTOR, changes={"institutions": ["QCH1", "LXH"]})
    with unit_of_work() as s:
        engine.fire(s, "inspection", inspection_id, "edit", email=DIRECTOR,
                    changes={"contacts": [{"institution": "QCH1", "name": "吴医务", "email": CONTACT}]})
        inspections.findings(s, DIRECTOR, inspection_id, FINDINGS, end_on="2026-09-05", now=at("2026-09-05"))
    assert _state(inspection_id) == "findings_sent"
    assert CONTACT in {m.to_addr for m in _mails("【督导检查反馈·请整改】")}


def test_last_years_plan_does_not_authorize_this_years_inspection(offices):
    plan_id = authorized_plan()
    with pytest.raises(Refused, match="是 2026 年度的方案，不能用于 2027 年"), unit_of_work() as s:
        inspections.start(s, DIRECTOR, inspection_data(plan_id, start_on="2027-01-05"), now=at("2026-09-01"))


def test_the_center_reports_poor_rectification_to_the_commission_with_its_reasons(offices):
    list_id = _list_for(ended_inspection(), "QCH1")
    with pytest.raises(Refused, match="须写明情况"), unit_of_work() as s:
        engine.fire(s, "inspection_rectification", list_id, "report_poor", email=DIRECTOR)
    with unit_of_work() as s:
        engine.fire(s, "inspection_rectification", list_id, "report_poor", email=DIRECTOR,
                    comment="复查时 D2W 仍超过 120 分钟，未落实导管室启动流程")
    assert _state(list_id) == "poor"
    poor = [m for m in _mails("【整改不力报告】") if "青川市第一人民医院" in m.subject]
    assert {m.to_addr for m in poor} >= {REVIEWER}
    with unit_of_work() as s:  # the institution may still send evidence and the center still verify it
        engine.fire(s, "inspection_rectification", list_id, "add_evidence", email=DIRECTOR,
                    changes={"item": 1, "evidence": "导管室 24 小时值班表及 11 月 D2W 统计"})
    assert _state(list_id) == "poor"


def test_the_inspection_and_its_follow_up_are_evidence_for_the_assessment(offices):
    from models import Center
    from qcflow.services.evidence import collect

    inspection_id = ended_inspection()
    with unit_of_work() as s:
        center = s.exec(select(Center).where(Center.code == "CARD")).one()
        found = [e for e in collect(s, center, 2026) if e["item"] == "5" and "督导检查" in e["source"]]
    assert len(found) == 1 and found[0]["count"] == 1
    entry = found[0]["entries"][0]
    assert entry["url"] == f"/cases/inspection/{inspection_id}"
    assert entry["label"] == f"督导检查 #{inspection_id}"  # Y§22: the assessment's readers get the number only
    assert "受检 2 家" in entry["note"] and "整改 0/3 项核查到位" in entry["note"] and "预警/通报 1 家" in entry["note"]
