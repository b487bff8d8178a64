"""The annual assessment (Y§24) against a real database: the rubric's versions, the campaign over the demo
centers, evidence from qcflow's own records, scoring with 回避, moderation, publication, the ranking and
a center's history, the appeal window; and the `qcflow assessment` commands as a child process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlmodel import select

from models import Case, OutboxMessage
from models.assessment import AssessmentResult, AssessmentRubric
from qcflow import engine
from qcflow.core.errors import UserError
from qcflow.services import assessment, meetings
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import DIRECTOR, REVIEWER, REVIEWER2, ROOT, SECRETARY

pytestmark = pytest.mark.db

RUBRIC = ROOT / "demo" / "rubric-2026.yaml"
E1, E2, E3, E4 = (f"expert{i}@qcexperts.example" for i in range(1, 5))  # E2 and E4 work at QCH1 (CARD's host)
NURS_DIRECTOR = "director@nurs.qingchuan.example"
ITEMS = {"1": 10, "2": 10, "3": 20, "4": 20, "5": 10, "6": 10, "7": 20}


def sheet(**deductions: tuple[float, str]) -> list[dict]:
    """Full marks, except the items given as item=(score, reason)."""
    rows = []
    for code, top in ITEMS.items():
        score, reason = deductions.get(f"i{code}", (top, ""))
        rows.append({"item": code, "score": str(score), "reason": reason})
    return rows


def load_demo_rubric(year: int = 2026, content: bytes | None = None) -> dict:
    with unit_of_work() as s:
        return assessment.load_rubric(s, content or RUBRIC.read_bytes(), str(RUBRIC), year)


def open_campaign(year: int = 2026, force: bool = False) -> dict:
    with unit_of_work() as s:
        return assessment.open_assessments(s, year, force)


def case_of(code: str, year: int = 2026) -> Case:
    with unit_of_work() as s:
        case = s.exec(select(Case).where(Case.key == f"assessment:{code}:{year}")).one()
        s.expunge(case)
        return case


def fire(case_id: int, trigger: str, email: str | None, **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, "assessment", case_id, trigger, email=email, **kwargs)


def self_assess(case_id: int, email: str = DIRECTOR) -> None:
    fire(case_id, "self_assess", email, changes={"self_summary": "全年召开成员会议 2 次、培训 1 次，完成年报。",
                                                  "self_scores": sheet()})


def to_scored(code: str, deductions: dict | None = None) -> int:
    case = case_of(code)
    self_assess(case.id, DIRECTOR if code == "CARD" else NURS_DIRECTOR)
    for expert in case.data["experts"]:
        fire(case.id, "score", expert, changes={"scores": sheet(**(deductions or {}))})
    assert case_of(code).state == "scored"
    return case.id


def publish(case_id: int, **moderation) -> None:
    fire(case_id, "moderate", REVIEWER, changes={"provincial_rank": "", "veto": "", "veto_ground": "", **moderation})
    fire(case_id, "publish", REVIEWER2)


@pytest.fixture
def campaign(demo):
    load_demo_rubric()
    return open_campaign()


# --- the rubric as versioned data -------------------------------------------------------------------

def test_the_rubric_is_stored_as_versions_and_the_same_file_again_adds_none(demo):
    first = load_demo_rubric()
    again = load_demo_rubric()
    changed = load_demo_rubric(content=RUBRIC.read_bytes().replace(b"city: \xe9\x9d\x92\xe5\xb7\x9d\xe5\xb8\x82",
                                                                    "city: 临川市".encode()))
    assert (first["version"], first["changed"]) == (1, True)
    assert (again["version"], again["changed"]) == (1, False)
    assert (changed["version"], changed["changed"]) == (2, True)
    with unit_of_work() as s:
        assert assessment.current_rubric(s, 2026).city == "临川市"


def test_an_incoherent_rubric_is_refused_whole_and_nothing_is_stored(demo):
    broken = RUBRIC.read_bytes().replace(b"max_points: 10\n    evidence: \xe6\x8c\x82", b"max_points: 15\n    evidence: \xe6\x8c\x82")
    with pytest.raises(Refused) as refused:
        load_demo_rubric(content=broken)
    assert any(r.rule == "Y-rubric" and "各考核项目分值之和为 105" in r.message for r in refused.value.reasons)
    with unit_of_work() as s:
        assert s.exec(select(AssessmentRubric)).all() == []


def test_a_published_years_rubric_is_immutable(campaign):
    publish(to_scored("NURS"))
    with pytest.raises(Refused) as refused:
        load_demo_rubric(content=RUBRIC.read_bytes() + b"\n# corrected\n")
    assert [(r.rule, r.message) for r in refused.value.reasons] == [("Y§24", "2026 年考核结果已发布，该年度考核细则不能再修改")]


# --- the campaign ---------------------------------------------------------------------------------------

def test_the_campaign_needs_the_years_rubric(demo):
    with pytest.raises(UserError, match="尚未导入 2027 年考核细则"):
        open_campaign(2027)


def test_the_campaign_opens_one_per_active_center_with_scorers_not_from_its_host_and_a_rerun_opens_none(campaign):
    assert campaign["opened"] == ["CARD", "NURS"] and campaign["short_of_scorers"] == []
    rerun = open_campaign()
    assert rerun["opened"] == [] and rerun["already_open"] == ["CARD", "NURS"]
    card, nurs = case_of("CARD"), case_of("NURS")
    assert card.state == nurs.state == "open" and card.title == "青川市心血管病医疗质量控制中心2026年度考核"
    assert len(card.data["experts"]) == len(nurs.data["experts"]) == 2
    assert not {E2, E4} & set(card.data["experts"])  # both work at QCH1, CARD's host
    assert E1 not in nurs.data["experts"]  # works at QCH2, NURS's host
    with unit_of_work() as s:
        mails = s.exec(select(OutboxMessage)).all()
        to_card = {(m.to_addr, m.template) for m in mails if m.case_id == card.id}
    assert {(DIRECTOR, "assessment_self"), (SECRETARY, "assessment_self")} <= to_card
    assert {(e, "assessment_assigned") for e in card.data["experts"]} <= to_card
    assert len([m for m in mails if m.case_id in (card.id, nurs.id)]) == len(to_card) + len(
        {(m.to_addr, m.template) for m in mails if m.case_id == nurs.id})  # one mail each, a rerun sent none


def test_a_provincial_commission_runs_the_same_workflow_as_a_shu_zhi_ping_jia(demo):
    load_demo_rubric(content=RUBRIC.read_bytes().replace("label: 年度考核".encode(), "label: 述职评价".encode()))
    open_campaign()
    card = case_of("CARD")
    assert card.title == "青川市心血管病医疗质量控制中心2026年度述职评价" and card.data["kind_label"] == "述职评价"


def test_evidence_is_prefilled_from_qcflows_records_with_links(demo):
    with unit_of_work() as s:
        recorded = meetings.record_meeting(s, "CARD", SECRETARY, {
            "kind": "training", "held_on": "2026-10-15", "title": "胸痛中心质控培训",
            "attendees": [{"name": "陆一鸣"}, {"name": "方建国"}], "minutes": "培训指南"})
        meeting_id = recorded.id
        assessment.declare_funding(s, "CARD", 2026, DIRECTOR, {"amount": 120000, "leader_name": "程远山",
                                                               "leader_title": "副院长", "proof": "青一院财〔2026〕12号"})
    load_demo_rubric()
    open_campaign()
    evidence = {e["source"]: e for e in case_of("CARD").data["evidence"]}
    training = evidence["成员工作会议和培训（Y§19）"]
    assert training["item"] == "4" and training["count"] == 1
    assert training["entries"][0]["url"] == f"/new/meeting/{meeting_id}"
    assert training["entries"][0]["label"] == "培训：胸痛中心质控培训"
    funding = evidence["挂靠单位经费申报（Y§16）"]["entries"][0]
    assert funding["label"] == "挂靠单位专项经费 120,000 元" and "程远山（副院长）" in funding["note"]
    assert funding["url"] == "/assessment/2026#funding-CARD"
    assert case_of("CARD").data["funding"]["amount"] == 120000
    assert evidence["半年及年度工作总结（Y§17）"]["count"] == 0


def test_a_forced_rerun_gathers_the_evidence_again(campaign):
    with unit_of_work() as s:
        meetings.record_meeting(s, "NURS", NURS_DIRECTOR, {"kind": "member_meeting", "held_on": "2026-11-02",
                                                           "title": "护理质控成员会议", "attendees": [{"name": "邵春和"}]})
    assert {e["source"]: e["count"] for e in case_of("NURS").data["evidence"]}["成员工作会议和培训（Y§19）"] == 0
    result = open_campaign(force=True)
    assert result["opened"] == [] and result["refreshed"] == ["CARD", "NURS"]
    assert {e["source"]: e["count"] for e in case_of("NURS").data["evidence"]}["成员工作会议和培训（Y§19）"] == 1


def test_a_funding_declaration_needs_its_leader_and_is_only_the_centers_or_the_commissions(demo):
    with unit_of_work() as s:
        with pytest.raises(Refused) as refused:
            assessment.declare_funding(s, "CARD", 2026, NURS_DIRECTOR, {"amount": 90000, "leader_name": "程远山"})
        assert refused.value.reasons[0].rule == "Y§16" and "没有此权限" in refused.value.reasons[0].message
        with pytest.raises(Refused) as refused:
            assessment.declare_funding(s, "CARD", 2026, DIRECTOR, {"amount": "九万"})
        assert [r.message for r in refused.value.reasons] == [
            "专项经费金额（amount）应为整数元（当前：九万）", "须写明挂靠单位分管质控中心工作的院领导姓名（leader_name）"]


# --- scoring, moderation, publication -----------------------------------------------------------------

def test_scoring_refuses_a_scorer_not_assigned_or_scoring_twice_and_deductions_without_reasons(campaign):
    card = case_of("CARD")
    self_assess(card.id)
    first, second = card.data["experts"]
    with pytest.raises(Refused) as refused:
        fire(card.id, "score", first, changes={"scores": sheet(i4=(15, ""))})
    assert [(r.rule, r.message) for r in refused.value.reasons] == [
        ("Y§24", "评分项目 4（每年召开 1 次以上成员工作会议、举办 1 次以上培训（按次数、效果、参与人数赋分））扣 5 分，须写明扣分理由")]
    with pytest.raises(Refused) as refused:
        fire(card.id, "score", E2, changes={"scores": sheet()})
    assert [(r.rule, r.message) for r in refused.value.reasons] == [("Y§24", "江望舒 不是本中心考核指定的评分专家")]
    fire(card.id, "score", first, changes={"scores": sheet(i4=(15, "全年仅 1 次培训"))})
    with pytest.raises(Refused) as refused:
        fire(card.id, "score", first, changes={"scores": sheet()})
    assert "已提交过评分，不能重复提交" in refused.value.reasons[0].message
    assert case_of("CARD").state == "self_assessed"
    fire(card.id, "score", second, changes={"scores": sheet(i4=(16, "培训参与人数少"))})
    assert case_of("CARD").state == "scored"


def test_assigning_a_scorer_from_the_host_is_refused_with_its_article(campaign):
    card = case_of("CARD")
    with pytest.raises(Refused) as refused:
        fire(card.id, "assign_scorers", REVIEWER, changes={"experts": [E1, E4]})
    assert [(r.rule, r.message) for r in refused.value.reasons] == [
        ("Y§24", "评分专家 宁致远 来自该中心的挂靠单位（青川市第一人民医院），须回避，不能为本中心评分")]
    fire(card.id, "assign_scorers", REVIEWER, changes={"experts": [E1, E3]})
    assert case_of("CARD").data["experts"] == [E1, E3]


def test_publication_writes_the_grade_the_ranking_and_the_history(campaign):
    with unit_of_work() as s:
        assessment.declare_funding(s, "CARD", 2026, DIRECTOR, {"amount": 120000, "leader_name": "程远山",
                                                               "proof": "青一院财〔2026〕12号"})
    open_campaign(force=True)  # the declaration reaches the open case's evidence
    card = to_scored("CARD", {"i4": (15, "培训 1 次"), "i7": (18, "年报数据分析不足")})  # 93
    publish(card, provincial_rank="2")  # + 2 funding + 2 ranking
    nurs = to_scored("NURS", {"i3": (10, "未开展监测"), "i4": (10, "未召开成员会议"), "i7": (10, "年报缺失")})  # 70
    publish(nurs)
    with unit_of_work() as s:
        rows = {r.center_code: r for r in s.exec(select(AssessmentResult)).all()}
        ranking = assessment.ranking(s, 2026)
        history = assessment.history(s, "CARD")
    assert (rows["CARD"].score, rows["CARD"].bonus, rows["CARD"].grade) == (93, 4, "优秀")
    assert (rows["NURS"].score, rows["NURS"].bonus, rows["NURS"].grade) == (70, 0, "合格")
    assert [(r["rank"], r["center_code"], r["total"]) for r in ranking] == [(1, "CARD", 97), (2, "NURS", 70)]
    assert history == [{"year": 2026, "score": 93, "bonus": 4, "total": 97, "grade": "优秀", "vetoed": False,
                        "veto_ground": "", "case_id": card}]


def test_a_veto_with_a_high_score_is_published_as_failing_and_opens_its_consequences(campaign):
    case_id = to_scored("CARD")
    publish(case_id, veto="V2", veto_ground="以中心名义为企业推介产品（2026-08 通报）")
    with unit_of_work() as s:
        row = s.exec(select(AssessmentResult).where(AssessmentResult.center_code == "CARD")).one()
        orders = s.exec(select(Case).where(Case.kind == "rectification")).all()
    assert (row.score, row.grade, row.vetoed) == (100, "不合格", True)
    assert row.veto_ground == "V2：以中心名义为企业推介产品（2026-08 通报）"
    assert len(orders) == 1  # Y§24: a 不合格 grade opens a rectification order (qcflow.services.consequences)


def test_an_appeal_within_the_window_is_re_moderated_and_republished(campaign, clock):
    case_id = to_scored("NURS", {"i4": (12, "仅 1 次会议"), "i7": (12, "年报质量一般")})  # 84
    publish(case_id)
    fire(case_id, "appeal", NURS_DIRECTOR, comment="第二次成员会议已于 12 月召开，纪要见附件")
    assert case_of("NURS").state == "appealed"
    with pytest.raises(Refused) as refused:
        fire(case_id, "re_moderate", REVIEWER, changes={"adjustments": [{"item": "4", "score": "14", "reason": ""}]},
             comment="复核")
    assert [(r.rule, r.message) for r in refused.value.reasons] == [("Y§24", "审定调整项目 4 须写明调整理由")]
    fire(case_id, "re_moderate", REVIEWER, changes={"adjustments": [{"item": "4", "score": "14", "reason": "补充会议纪要属实"}]},
         comment="申诉部分成立，第 4 项调整为 14 分")
    fire(case_id, "publish", REVIEWER)
    with unit_of_work() as s:
        row = s.exec(select(AssessmentResult).where(AssessmentResult.center_code == "NURS")).one()
    assert (row.score, row.grade) == (86, "优秀") and case_of("NURS").state == "published"
    with pytest.raises(Refused) as refused:
        fire(case_id, "appeal", NURS_DIRECTOR, comment="再次申诉")
    assert refused.value.reasons[0].message == "考核结果只能申诉一次；本次考核已申诉并复核"


def test_an_appeal_after_five_working_days_is_refused(campaign, clock):
    case_id = to_scored("NURS")
    publish(case_id)  # Tuesday 2026-11-24: the window runs to Tuesday 2026-12-01
    clock.advance(days=8)  # Wednesday 2026-12-02
    with pytest.raises(Refused) as refused:
        fire(case_id, "appeal", NURS_DIRECTOR, comment="对第 7 项评分有异议")
    assert [(r.rule, r.message) for r in refused.value.reasons] == [
        ("Y§24", "申诉须在考核结果发布后 5 个工作日内提出（截至 2026-12-01），现已超过期限")]


# --- the commands, as a user runs them --------------------------------------------------------------------

def qcflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)


def test_the_commands_load_open_rank_and_refuse_a_broken_rubric(demo, tmp_path):
    broken = tmp_path / "rubric.yaml"
    broken.write_bytes(RUBRIC.read_bytes().replace(b"min: 65", b"min: 60").replace("不合格, min: 0".encode(),
                                                                                     "不合格, min: 5".encode()))
    refused = qcflow("assessment", "rubric", "load", str(broken), "--year", "2026")
    assert refused.returncode == 2 and "最低等次（不合格）的下限应为 0" in refused.stderr and "Y-rubric" in refused.stderr
    loaded = qcflow("assessment", "rubric", "load", str(RUBRIC), "--year", "2026")
    assert loaded.returncode == 0 and "第 1 版" in loaded.stdout
    declaration = tmp_path / "funding.yaml"
    declaration.write_text("amount: 100000\nleader_name: 程远山\nleader_title: 副院长\n", encoding="utf-8")
    declared = qcflow("assessment", "funding", "declare", "--center", "CARD", "--year", "2026", "--as", DIRECTOR,
                      "--data", str(declaration))
    assert declared.returncode == 0 and "（未提供凭证：不计经费加分）" in declared.stdout
    other = qcflow("assessment", "funding", "declare", "--center", "CARD", "--year", "2026", "--as", NURS_DIRECTOR,
                   "--data", str(declaration))
    assert other.returncode == 2 and "Y§16" in other.stderr
    opened = qcflow("assessment", "open", "--year", "2026", "--json")
    assert opened.returncode == 0 and json.loads(opened.stdout)["opened"] == ["CARD", "NURS"]
    publish(to_scored("CARD"))
    ranked = qcflow("assessment", "ranking", "--year", "2026", "--json")
    assert [(r["center_code"], r["grade"]) for r in json.loads(ranked.stdout)] == [("CARD", "优秀")]
    history = qcflow("assessment", "history", "CARD")
    assert history.returncode == 0 and history.stdout.strip() == "2026  100  优秀"


def test_the_campaign_flow_takes_year_and_force_and_mails_the_scorers_through_smtp(harness, demo, monkeypatch):
    from flows.assessment_campaign import assessment_campaign
    from tests.helpers import reconfigure
    from tests.smtp import SmtpServer

    load_demo_rubric()
    with SmtpServer() as smtp:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(smtp.port))
        reconfigure()
        first = assessment_campaign(year=2026)  # a real flow run on Prefect's test harness
        again = assessment_campaign(year=2026, force=True)
        assert first["opened"] == ["CARD", "NURS"] and first["mail"]["sent"] == len(smtp.messages) > 0
        assert again["opened"] == [] and again["refreshed"] == ["CARD", "NURS"] and again["mail"]["sent"] == 0
        scorers = case_of("CARD").data["experts"] + case_of("NURS").data["experts"]
        for expert in scorers:
            assert smtp.to(expert, "【年度考核·评分专家】")
        assert smtp.to(DIRECTOR, f"【年度考核·待自评】年度考核 #{case_of('CARD').id} 青川市心血管病医疗质量控制中心2026年度考核")


def test_the_self_assessment_is_reminded_and_escalated_on_the_assessment_ladder(campaign):
    from models import Deadline
    from qcflow.core.clock import local_zone, to_local
    from qcflow.services import sweep
    from tests.helpers import rendered

    def on(day: str) -> datetime:
        return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=local_zone())

    card = case_of("CARD")
    with unit_of_work() as s:
        due = s.exec(select(Deadline).where(Deadline.case_id == card.id, Deadline.step == "self_assessment")).one().due_at
    assert to_local(due).date() == date(2026, 12, 8)  # opened Tuesday 11-24: 10 working days
    with unit_of_work() as s:
        assert sweep.sweep(s, now=on("2026-12-03")).reminded == []
        assert len(sweep.sweep(s, now=on("2026-12-04")).reminded) == 2  # 2 working days before, both centers
        assert sweep.sweep(s, now=on("2026-12-08")).escalated == []
        assert len(sweep.sweep(s, now=on("2026-12-09")).escalated) == 2
        mails = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == card.id)).all())
    reminded = {m.to_addr for m in mails if "【办理提醒】" in m.subject}
    escalated = {m.to_addr for m in mails if "【逾期督办】" in m.subject}
    assert reminded == {DIRECTOR, SECRETARY} and REVIEWER in escalated
