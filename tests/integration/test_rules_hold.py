"""Rules nobody can bypass (issue 12) and roles with one owner (issue 11), on a real database: each test
is a way around a rule that used to work, tried through the service every entry point calls."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import select

from models import Case, Center, Institution, Person, RoleAssignment
from models.registry import Appointment
from qcflow import engine
from qcflow.core.clock import local_date, utcnow
from qcflow.run.demo import walk_applications
from qcflow.services import directory
from qcflow.services.applications import attach_file
from qcflow.services.deaths_import import report_one
from qcflow.services.directory import DirectoryError
from qcflow.services.registry import center_detail, change_roster
from qcflow.store.db import unit_of_work
from states.materials import SLOTS
from states.rules import Refused
from tests.conftest import DEMO_DIRECTORY, TEST_NOW
from tests.helpers import REVIEWER, ROOT, SECRETARY

pytestmark = pytest.mark.db

APPLICANT = "yan.keqin@qch2.qingchuan.example"
RESP_SECRETARY = "lu.siyuan@qch2.qingchuan.example"
EXPERTS = ("expert2@qcexperts.example", "expert3@qcexperts.example", "expert4@qcexperts.example")
PDF = b"%PDF-1.4 test material\n"
TODAY = TEST_NOW.date()


def application(**overrides) -> dict:
    data = yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text(encoding="utf-8"))
    return {**data, **overrides}


def fire(case_id: int, trigger: str, email, kind: str = "application", **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, kind, case_id, trigger, email=email, **kwargs)


def create(**overrides) -> int:
    with unit_of_work() as s:
        return engine.create_case(s, "application", APPLICANT, application(**overrides)).id


def to_decision(case_id: int) -> None:
    """Materials, submission, three experts: the application waits for the commission's decision."""
    with unit_of_work() as s:
        for slot in SLOTS:
            attach_file(s, case_id, slot, PDF, f"{slot}.pdf", APPLICANT)
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "accept_materials", REVIEWER, changes={"experts": list(EXPERTS)})
    for expert in EXPERTS:
        fire(case_id, "review", expert, comment="同意设置", changes={"score": "90", "recommendation": "approve"})
    assert state(case_id) == "commission_decision"


def state(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def set_birth_date(email: str, born: date) -> None:
    with unit_of_work() as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        person.birth_date = born
        s.add(person)


def refusal(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return str(refused.value)


# --- Y§11: the appointment date is the commission's --------------------------------------------------


def test_an_applicant_supplied_appointment_date_is_refused_on_every_path(demo):
    """A 64-year-old director refused at submission passed with `appointment_date: 2021-06-01`."""
    set_birth_date(APPLICANT, date(1962, 9, 30))
    with unit_of_work() as s:
        before = len(s.exec(select(Case)).all())
    text_ = refusal(lambda: create(appointment_date="2021-06-01"))
    assert "申请中不能填写任命日期（appointment_date）" in text_ and "Y§11" in text_
    case_id = create()
    for trigger in ("edit", "submit"):
        assert "Y§11" in refusal(lambda: fire(case_id, trigger, APPLICANT, changes={"appointment_date": "2021-06-01"}))
    over_age = refusal(lambda: fire(case_id, "submit", APPLICANT))
    assert f"在任命日 {TODAY.isoformat()} 年龄 64 岁" in over_age and "超过 60 岁上限（Y§11）" in over_age
    assert state(case_id) == "draft"
    with unit_of_work() as s:
        assert len(s.exec(select(Case)).all()) == before + 1
        assert "appointment_date" not in s.get(Case, case_id).data


def test_y11_is_judged_again_on_the_day_the_commission_approves(demo, clock):
    birthday = TODAY + timedelta(days=10)  # the director turns 61 ten days after submission
    set_birth_date(APPLICANT, birthday.replace(year=birthday.year - 61))
    case_id = create()
    to_decision(case_id)  # eligible at submission: 60 years old today
    clock.advance(days=10)
    refused = refusal(lambda: fire(case_id, "approve", REVIEWER))
    assert f"主任 严可钦（{birthday.replace(year=birthday.year - 61).isoformat()} 出生）在任命日 {birthday.isoformat()} " \
           f"年龄 61 岁，超过 60 岁上限（Y§11）" in refused
    assert state(case_id) == "commission_decision"
    with unit_of_work() as s:
        assert s.exec(select(Center).where(Center.code == "RESP")).first() is None


def test_a_later_appointment_date_set_by_the_commission_is_judged_and_becomes_the_term_start(demo):
    birthday = TODAY + timedelta(days=10)
    set_birth_date(APPLICANT, birthday.replace(year=birthday.year - 61))
    case_id = create()
    to_decision(case_id)
    assert "Y§11" in refusal(lambda: fire(case_id, "approve", REVIEWER,
                                          changes={"appointed_on": birthday.isoformat()}))
    earlier = (TODAY - timedelta(days=1)).isoformat()
    assert "早于批准日" in refusal(lambda: fire(case_id, "approve", REVIEWER, changes={"appointed_on": earlier}))
    chosen = TODAY + timedelta(days=5)
    fire(case_id, "approve", REVIEWER, changes={"appointed_on": chosen.isoformat()})
    assert state(case_id) == "established"
    with unit_of_work() as s:
        people = center_detail(s, "RESP")["people"]
    assert {p["term_start"] for p in people} == {chosen.isoformat()}


# --- Y§10–§12 on the directory file ----------------------------------------------------------------


def _noncompliant_demo(tmp_path: Path) -> Path:
    """The demo directory as it used to be: CARD with one deputy and a 中级 secretary without an exception."""
    text_ = DEMO_DIRECTORY.read_text(encoding="utf-8")
    second_deputy = text_[text_.index("  - email: deputy2@card.qingchuan.example"):text_.index("  # the nursing center")]
    bad = text_.replace(second_deputy, "").replace("name: 林小禾\n    title: 副主任医师", "name: 林小禾\n    title: 主治医师")
    path = tmp_path / "directory.yaml"
    path.write_text(bad, encoding="utf-8")
    return path


def test_a_directory_whose_center_breaks_y10_to_y12_is_refused_with_every_reason_and_writes_nothing(engine, tmp_path):
    path = _noncompliant_demo(tmp_path)
    card_line = next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                     if line.strip() == "- code: CARD")
    with unit_of_work() as s:
        with pytest.raises(DirectoryError) as err:
            directory.load_file(s, path)
    problems = err.value.problems
    assert f"第 {card_line} 行 centers（CARD）：副主任应为 2–4 名，现有 1 名（方建国）（Y§10）" in problems
    assert any(p.startswith(f"第 {card_line} 行 centers（CARD）：秘书 林小禾 的职称为主治医师（中级）") and "Y§12" in p
               for p in problems), problems
    assert len(problems) == 2, problems
    with unit_of_work() as s:
        assert s.exec(select(Person)).all() == [] and s.exec(select(Center)).all() == []


def test_the_demo_directory_is_compliant(engine):
    with unit_of_work() as s:
        assert directory.load_file(s, DEMO_DIRECTORY).changed


def test_a_director_in_a_third_consecutive_term_is_refused_by_the_directory(engine, tmp_path):
    text_ = DEMO_DIRECTORY.read_text(encoding="utf-8").replace(
        "roles: [center_director@CARD]", "roles: [center_director@CARD]\n    director_term: 3")
    path = tmp_path / "directory.yaml"
    path.write_text(text_, encoding="utf-8")
    with unit_of_work() as s:
        with pytest.raises(DirectoryError) as err:
            directory.load_file(s, path)
    assert any("CARD" in p and "陆一鸣" in p and "不能再连任第 3 届" in p and "Y§26" in p for p in err.value.problems)


# --- Y§12: a blank county ----------------------------------------------------------------------------


def test_a_blank_county_is_refused_by_the_directory_with_the_field_and_article(engine, tmp_path):
    text_ = DEMO_DIRECTORY.read_text(encoding="utf-8").replace("    county: 临溪县\n", "    county: ''\n")
    path = tmp_path / "directory.yaml"
    path.write_text(text_, encoding="utf-8")
    with unit_of_work() as s:
        with pytest.raises(DirectoryError) as err:
            directory.load_file(s, path)
    (problem,) = err.value.problems
    assert "LXH" in problem and "county" in problem and "须填写所属县" in problem and "Y§12" in problem


def test_a_blank_county_already_stored_is_not_taken_as_municipal(demo):
    """Two experts of an institution with a blank county passed the one-per-county-institution limit."""
    with unit_of_work() as s:
        s.exec(text("UPDATE institution SET county = '' WHERE code = 'LXH'"))
    roster = application()["roster"] + [{"email": "shi.lei@lxh.qingchuan.example", "role": "member"}]
    case_id = create(roster=roster)
    refused = refusal(lambda: fire(case_id, "submit", APPLICANT))
    assert "穆清和、石磊 所在单位 LXH 未登记所属县（county）" in refused and "Y§12" in refused


# --- Y§8: one center per specialty, the names normalised -------------------------------------------


@pytest.mark.parametrize("spelling", ["　呼吸内科 ", "呼吸内科中心", "呼吸内科质控中心", "呼吸内科\t"])
def test_a_second_center_for_a_specialty_spelt_differently_is_refused_at_submission(demo, spelling):
    walk_applications()  # RESP (呼吸内科) is established
    case_id = create(center_code="RESP2", specialty=spelling)
    refused = refusal(lambda: fire(case_id, "submit", APPLICANT))
    assert "已设有本级质控中心" in refused and "Y§8" in refused


def test_the_approval_recheck_of_y8_normalises_the_name(demo):
    case_id = create(center_code="RESP2", center_name="青川市呼吸质控中心", specialty=" 呼吸内科质控中心")
    to_decision(case_id)  # no respiratory center yet when it was submitted
    walk_applications()  # meanwhile RESP (呼吸内科) is approved and established
    refused = refusal(lambda: fire(case_id, "approve", REVIEWER))
    assert "已设有本级质控中心（“呼吸内科”" in refused and "Y§8" in refused
    assert state(case_id) == "commission_decision"


def test_the_directory_refuses_a_center_whose_specialty_is_already_taken(demo, tmp_path):
    walk_applications()
    text_ = DEMO_DIRECTORY.read_text(encoding="utf-8").replace("specialty: 护理", "specialty: 呼吸内科中心")
    path = tmp_path / "directory.yaml"
    path.write_text(text_, encoding="utf-8")
    with unit_of_work() as s:
        with pytest.raises(DirectoryError) as err:
            directory.load_file(s, path)
    assert any("NURS" in p and "Y§8" in p for p in err.value.problems)


# --- Y§26: the two-term limit on every reappointment -------------------------------------------------


def _two_earlier_terms(email: str, last_end: date) -> None:
    """The person directed a (since dissolved) respiratory center for two consecutive terms."""
    with unit_of_work() as s:
        host = s.exec(select(Institution).where(Institution.code == "QCH1")).one()
        old = Center(code="RESPOLD", name="青川市呼吸疾病质控中心（旧）", specialty="呼吸内科医疗质量控制中心",
                     category="临床", host_institution_id=host.id, status="dissolved")
        s.add(old)
        s.flush()
        person = s.exec(select(Person).where(Person.email == email)).one()
        first_start = last_end.replace(year=last_end.year - 8)
        middle = last_end.replace(year=last_end.year - 4)
        for start, end in ((first_start, middle), (middle, last_end)):
            s.add(Appointment(center_id=old.id, person_id=person.id, role="director", term_start=start, term_end=end,
                              ended_on=end, ended_reason="届满"))


def test_establishing_a_center_whose_director_held_two_consecutive_terms_is_refused(demo):
    _two_earlier_terms(APPLICANT, TODAY)
    case_id = create()
    refused = refusal(lambda: fire(case_id, "submit", APPLICANT))
    assert "拟任主任 严可钦 已连续任职 2 届，不能再连任第 3 届" in refused and "Y§26" in refused


def test_one_earlier_term_is_counted_on_the_new_appointment(demo):
    with unit_of_work() as s:
        yan = s.exec(select(Person).where(Person.email == APPLICANT)).one()
        host = s.exec(select(Institution).where(Institution.code == "QCH1")).one()
        old = Center(code="RESPOLD", name="旧中心", specialty="呼吸内科", category="临床", host_institution_id=host.id,
                     status="dissolved")
        s.add(old)
        s.flush()
        s.add(Appointment(center_id=old.id, person_id=yan.id, role="director", term_start=date(2022, 11, 24),
                          term_end=TODAY, ended_on=TODAY, ended_reason="届满"))
    walk_applications()
    with unit_of_work() as s:
        people = {p["email"]: p["term"] for p in center_detail(s, "RESP")["people"]}
    assert people[APPLICANT] == 2 and people[RESP_SECRETARY] == 1


def test_a_roster_change_reappointing_a_director_for_a_third_term_is_refused(demo, clock):
    _two_earlier_terms(APPLICANT, TODAY - timedelta(days=1))  # RESP's term continues the chain: the third
    with unit_of_work() as s:
        s.exec(text("UPDATE center SET specialty = '呼吸病学' WHERE code = 'RESPOLD'"))  # not the same specialty yet
    walk_applications()
    with unit_of_work() as s:
        s.exec(text("UPDATE center SET specialty = '呼吸内科' WHERE code = 'RESPOLD'"))
    clock.advance(days=1)
    change = {"remove": [APPLICANT], "add": [{"email": APPLICANT, "role": "director", "department_head": True,
                                              "provincial_society_member": True}], "reason": "换届，原主任连任"}
    with unit_of_work() as s:
        before = len(s.exec(select(Appointment)).all())
    with pytest.raises(Refused) as refused:
        with unit_of_work() as s:
            change_roster(s, "RESP", REVIEWER, change, utcnow())
    assert "主任 严可钦 已连续任职 3 届" in str(refused.value) and "Y§26" in str(refused.value)
    with unit_of_work() as s:
        assert len(s.exec(select(Appointment)).all()) == before


# --- roles have one owner (issue 11) --------------------------------------------------------------


def _roles() -> set[tuple[int, str, object]]:
    with unit_of_work() as s:
        return {(r.person_id, r.role, r.center_id) for r in s.exec(select(RoleAssignment)).all()}


def test_a_directory_reload_keeps_the_roles_establishment_granted_and_the_secretary_can_act(demo):
    walk_applications()
    granted = _roles()
    with unit_of_work() as s:
        report = directory.load_file(s, DEMO_DIRECTORY)  # what `serve --demo` does on every start
    assert report.changed is False and _roles() == granted
    with unit_of_work() as s:
        task = s.exec(select(Case).where(Case.key == "indicators:RESP")).one()
    content = {"indicators": "社区获得性肺炎等 12 项指标", "standards": "《青川市呼吸内科质控标准》",
               "assessment_plan": "年度考核，百分制"}
    fire(task.id, "edit", RESP_SECRETARY, kind="report", changes={"indicators": content["indicators"]})
    result = fire(task.id, "submit", RESP_SECRETARY, kind="report", changes=content)
    assert result.case.state == "submitted"


def test_a_reload_that_drops_a_commission_role_still_removes_it_but_a_roster_change_owns_its_own(demo, tmp_path):
    walk_applications()
    text_ = DEMO_DIRECTORY.read_text(encoding="utf-8").replace("roles: [section_head, commission_reviewer]",
                                                               "roles: [commission_reviewer]")
    path = tmp_path / "directory.yaml"
    path.write_text(text_, encoding="utf-8")
    with unit_of_work() as s:
        directory.load_file(s, path)
        head = s.exec(select(Person).where(Person.email == "head@wjw.qingchuan.example")).one()
        assert {r.role for r in s.exec(select(RoleAssignment).where(RoleAssignment.person_id == head.id))} == {
            "commission_reviewer"}
    with unit_of_work() as s:
        change_roster(s, "RESP", REVIEWER, {"remove": ["mu.qinghe@lxh.qingchuan.example"], "reason": "本人申请退出"},
                      utcnow())
        mu = s.exec(select(Person).where(Person.email == "mu.qinghe@lxh.qingchuan.example")).one()
        assert s.exec(select(RoleAssignment).where(RoleAssignment.person_id == mu.id)).all() == []


# --- Y§22: a hospital imports only its own deaths, on every path --------------------------------------


def test_a_hospital_may_not_report_one_death_for_another_hospital(demo):
    values = {"病案号": "2026009999", "患者姓名": "测试甲", "身份证号": "", "入院日期": "2026-11-01",
              "死亡日期": "2026-11-10", "科室": "心内科", "主要诊断": "急性心肌梗死"}
    with unit_of_work() as s:
        before = len(s.exec(select(Case)).all())
    refused = refusal(lambda: report_one(engine_of(), values, "QCH2", SECRETARY, today=local_date(utcnow())))
    assert "只能导入本单位的死亡病例" in refused and "Y§22" in refused
    with unit_of_work() as s:
        assert len(s.exec(select(Case)).all()) == before


def engine_of():
    from qcflow.store.db import get_engine

    return get_engine()
