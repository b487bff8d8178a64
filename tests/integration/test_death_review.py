"""A low-risk death reviewed to closed through the engine: the rules of each step, and who may read it."""
from __future__ import annotations

from tests.helpers import rendered

import pytest
from sqlmodel import select

from models import AccessLog, Case, OutboxMessage
from qcflow import engine
from qcflow.store.db import unit_of_work
from qcflow.services.deaths import open_detail, summary
from states.rules import Refused

pytestmark = pytest.mark.db
COMMISSION = "reviewer@wjw.qingchuan.example"
DIRECTOR = "director@card.qingchuan.example"
DEPUTY = "deputy@card.qingchuan.example"
OUTSIDER = "secretary@nurs.qingchuan.example"

DEATH = {"hospital": "QCH1", "record_no": "BA-0001", "admitted_on": "2026-11-01", "died_on": "2026-11-05",
         "department": "心内科", "diagnosis": "急性心肌梗死", "drg": "FR29", "autopsy": False,
         "adverse_grade": "", "patient_key": "k" * 64, "low_risk": True, "low_risk_source": "drg:2026",
         "discussion_due": "2026-11-12", "reported_via": "form"}
DISCUSSION = {"date": "2026-11-10", "place": "心内科示教室", "chair": "陆一鸣 主任医师",
              "participants": "方建国 主任医师；林小禾 主治医师", "cause_of_death": "心源性休克",
              "final_diagnosis": "急性广泛前壁心肌梗死（无尸检）", "course": "入院后行急诊介入……",
              "opinions": "方建国：……；林小禾：……", "summary": "再灌注时间延迟是主要问题"}


def step(case_id: int, trigger: str, email: str, **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, "death_review", case_id, trigger, email=email, **kwargs).case


def refused(case_id: int, trigger: str, email: str, **kwargs) -> str:
    with pytest.raises(Refused) as err:
        step(case_id, trigger, email, **kwargs)
    return str(err.value)


@pytest.fixture
def case_id(demo) -> int:
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {"title": "死亡病例 QCH1", **DEATH})
        assert engine.fire_as_system(s, case, "screen")
        return case.id


def test_a_low_risk_death_is_reviewed_to_closed(case_id):
    assert "低风险组死亡病例必须开展评审" in refused(case_id, "close_no_review", COMMISSION, comment="无需")
    assert "请指定负责评审的质控中心" in refused(case_id, "assign", COMMISSION, changes={"reviewers": [DIRECTOR]})
    case = step(case_id, "assign", COMMISSION, changes={"center": "CARD", "reviewers": [DIRECTOR, DEPUTY]})
    assert case.center_id is not None
    with unit_of_work() as s:
        mails = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all())
    assert {m.to_addr for m in mails} == {DIRECTOR, DEPUTY}
    assert all("BA-0001" not in m.subject + m.text_body and "急性心肌梗死" not in m.text_body for m in mails)

    step(case_id, "start_investigation", DIRECTOR)
    text = refused(case_id, "record_discussion", DIRECTOR, changes={"discussion": {"date": "2026-11-10"}})
    assert "死亡病例讨论记录缺少" in text and "主持人总结" in text
    case = step(case_id, "record_discussion", DIRECTOR, changes={"discussion": DISCUSSION})
    assert case.data["discussed_within_days"] == 5 and case.data["discussed_on_time"] is True

    step(case_id, "record_analysis", DIRECTOR, changes={"factors": {"task": ["急诊 PCI 启动流程多次交接"]}})
    weak = [{"description": "再次培训", "owner": DEPUTY, "due": "2026-12-31", "strength": "weaker"}]
    assert "至少须有一项“强”或“中”强度的措施" in refused(case_id, "plan_actions", DIRECTOR, changes={"actions": weak})
    strong = weak + [{"description": "胸痛患者一键启动导管室", "owner": DEPUTY, "due": "2026-12-31",
                      "strength": "stronger"}]
    step(case_id, "plan_actions", DIRECTOR, changes={"actions": strong})
    assert step(case_id, "approve_actions", COMMISSION).state == "follow_up"

    assert "尚无落实证据" in refused(case_id, "verify", COMMISSION)
    for action in (1, 2):
        step(case_id, "add_evidence", DEPUTY, changes={"action": action, "evidence": "已上线，见操作记录"})
    assert "不能核实自己负责的措施" in refused(case_id, "verify", DEPUTY)
    step(case_id, "verify", DIRECTOR)
    assert step(case_id, "close", COMMISSION).state == "closed"
    with unit_of_work() as s:
        picture = summary(s)
    card = next(r for r in picture["centers"] if "心血管" in r["name"])
    assert (card["reported"], card["low_risk"], card["reviewed"], card["discussed_on_time"]) == (1, 1, 1, 1)
    # died Thursday 11-05, discussed Tuesday 11-10: 6, 9 and 10 November are 3 working days
    assert card["discussed_within_5_working_days"] == 1


def test_only_reviewers_the_center_and_the_commission_read_details_and_each_opening_is_logged(case_id):
    step(case_id, "assign", COMMISSION, changes={"center": "CARD", "reviewers": [DIRECTOR]})
    with unit_of_work() as s:
        with pytest.raises(Refused) as err:
            open_detail(s, case_id, OUTSIDER, "cli")
    assert "Y§22" in str(err.value)
    for email in (DIRECTOR, COMMISSION, DEPUTY):  # reviewer, commission, a member of the case's center
        with unit_of_work() as s:
            assert open_detail(s, case_id, email, "cli")["data"]["record_no"] == "BA-0001"
    with unit_of_work() as s:
        assert len(s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all()) == 3


def test_a_death_that_is_not_low_risk_may_be_closed_without_review_with_a_reason(demo):
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION, {**DEATH, "low_risk": False, "title": "x"})
        engine.fire_as_system(s, case, "screen")
        case_id = case.id
    assert "须写明理由" in refused(case_id, "close_no_review", COMMISSION)
    assert step(case_id, "close_no_review", COMMISSION, comment="预期死亡（晚期肿瘤）").state == "closed_no_review"
    with unit_of_work() as s:
        assert s.get(Case, case_id).state == "closed_no_review"


def test_an_autopsy_report_opens_a_second_discussion_due_a_week_later(case_id):
    from models import Deadline
    from qcflow.core.clock import to_local

    step(case_id, "assign", COMMISSION, changes={"center": "CARD", "reviewers": [DIRECTOR]})
    step(case_id, "start_investigation", DIRECTOR)
    assert "尸检报告日期" in refused(case_id, "record_autopsy_report", DIRECTOR, changes={"autopsy_report_on": "x"})
    step(case_id, "record_autopsy_report", DIRECTOR, changes={"autopsy_report_on": "2026-11-20"})
    with unit_of_work() as s:
        rows = {d.step: d for d in s.exec(select(Deadline).where(Deadline.case_id == case_id)).all()}
    assert to_local(rows["rediscussion"].due_at).date().isoformat() == "2026-11-27"
    assert rows["rediscussion"].closed_at is None
    assert "记录缺少" in refused(case_id, "record_rediscussion", DIRECTOR, changes={"rediscussion": {"date": "2026-11-25"}})
    step(case_id, "record_rediscussion", DIRECTOR, changes={"rediscussion": {**DISCUSSION, "date": "2026-11-25"}})
    with unit_of_work() as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.step == "rediscussion")).one()
    assert row.closed_at is not None


def test_no_clear_patient_identity_is_stored_through_the_form_or_a_step_and_the_title_has_no_record_number(demo):
    """Y§22: `case new` and a step's changes store the same keyed hash as the import, never the name or ID."""
    from qcflow.services.deaths_import import report_one
    from sqlalchemy import text

    identity = {"patient_name": "测试患者乙", "id_number": "999999198001010022"}
    with unit_of_work() as s:
        case = engine.create_case(s, "death_review", COMMISSION,
                                  {**DEATH, "patient_key": "", "title": "死亡病例 QCH1 BA-0001", **identity})
        engine.fire_as_system(s, case, "screen")
        case_id = case.id
    try:  # a step's changes are pseudonymized first; the step may then refuse the field (nothing stored)
        step(case_id, "assign", COMMISSION, changes={"center": "CARD", "reviewers": [DIRECTOR], "姓名": "测试患者丙"})
    except Refused:
        pass
    report_one(None, {"record_no": "BA-0002", "died_on": "2026-11-06", "患者姓名": "测试患者乙",
                      "身份证号": "999999198001010022"}, "QCH1", COMMISSION)
    with unit_of_work() as s:
        stored = s.get(Case, case_id)
        imported = s.exec(select(Case).where(Case.id != case_id, Case.kind == "death_review")).one()
        raw = " ".join(str(r) for r in s.execute(text("SELECT title, data FROM qc_case")).all())
    assert stored.data["patient_key"] == imported.data["patient_key"] != ""  # the same patient, the same key
    assert not {"patient_name", "id_number", "姓名"} & set(stored.data)
    assert "测试患者" not in raw and "999999198001010022" not in raw
    assert stored.title == "死亡病例 QCH1 2026-11-05" and "BA-0001" not in stored.title


def test_a_patient_key_typed_by_hand_is_refused(demo):
    with unit_of_work() as s:
        with pytest.raises(Refused) as err:
            engine.create_case(s, "death_review", COMMISSION, {**DEATH, "patient_key": "测试患者丁"})
    assert "Y§22" in str(err.value) and "patient_key" in str(err.value)
