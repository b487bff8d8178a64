"""Write and read matrix of the kinds added with assessment, orders, inspections, terms, vacancies, handover,
indicators, improvement plans, the compendium and the annual report: every role of the demo directory ×
every step of each case waiting in a state — allowed exactly where the rules allow (trust issue 12, item 4).

The expected cells are written out here by hand from DOMAIN.md and the README's step lists (who takes which
step), never read from the workflow tables or the engine. Each kind gets its own database (the demo
directory plus the two host units' leaders), its cases built through the kind's own services; every allowed
step is rolled back, so every cell starts from the same case. A few cells go again through the CLI (a child
process) and the case page's POST over real HTTP; the private kind (guidance, Y§22) is read on the service,
`case show` and the web page; so are the private inspection kinds (Y§22, Y§20): the service, lists, mails and pages.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest
from sqlmodel import select

from models import Case
from qcflow import engine
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import DIRECTOR, LEADER, OTHER_SECRETARY, REVIEWER, ROOT, SECRETARY, SECTION_HEAD
from tests.integration.governance_support import HOST1_LEADER, HOST2_LEADER, NOMINEE, directory_file, load

pytestmark = pytest.mark.db

DEPUTY = "deputy@card.qingchuan.example"
NURS_DIRECTOR = "director@nurs.qingchuan.example"
EXPERT = "expert1@qcexperts.example"  # works at QCH2: a scorer the campaign assigns to CARD (host QCH1)
HOST_EXPERT = "expert2@qcexperts.example"  # works at QCH1, CARD's host: never CARD's scorer (回避)
OFFICE = "zhikong@qch2.qingchuan.example"  # QCH2's quality office (a hospital person)
ROLES = {"commission": REVIEWER, "section_head": SECTION_HEAD, "leader": LEADER, "director": DIRECTOR,
         "secretary": SECRETARY, "deputy": DEPUTY, "nurs_director": NURS_DIRECTOR, "nurs_secretary": OTHER_SECRETARY,
         "expert": EXPERT, "host_expert": HOST_EXPERT, "hospital": OFFICE, "host1": HOST1_LEADER,
         "host2": HOST2_LEADER}
COMMISSION = {"commission", "section_head"}  # 医政医管科 (the section head is also a reviewer in the demo)
CARD = {"director", "secretary"}  # the case's center's director and secretary (CARD unless said)
CARD_STAFF = CARD | {"deputy"}
NURS = {"nurs_director", "nurs_secretary"}
ARTICLE = re.compile(r"Y§\d+|H\d")  # every refusal names its rule
COMMENT = "测试意见"


# --- building one world per kind, through the kinds' own services ----------------------------------------

def _fire(kind: str, case_id: int, trigger: str, email: Optional[str], **kw: Any) -> None:
    with unit_of_work() as s:
        engine.fire(s, kind, case_id, trigger, email=email, **kw)


def _directory(tmp_path: Path, **kw: Any) -> None:
    load(directory_file(tmp_path, **kw))


def build_orders(tmp_path: Path) -> dict[str, int]:
    from qcflow.services import orders

    _directory(tmp_path)
    ids = {}
    for name, ground in (("order_issued", 4), ("order_responded", 8), ("order_verified", 2)):
        with unit_of_work() as s:
            ids[name] = orders.issue(s, "CARD", [ground], "2026-12-31", REVIEWER, "按计划补做未完成的工作任务", utcnow())["id"]
    for name in ("order_responded", "order_verified"):
        _fire("rectification", ids[name], "respond", SECRETARY, changes={"response": "已补做全部任务"})
    _fire("rectification", ids["order_verified"], "verify", REVIEWER)
    with unit_of_work() as s:  # two orders in one year: Y§26 opened the removal case for the commission
        ids["removal_proposed"] = s.exec(select(Case).where(Case.kind == "removal")).one().id
    return ids


def build_term(tmp_path: Path) -> dict[str, int]:
    from qcflow.services.terms import open_term_notices

    _directory(tmp_path, card_term_start="2023-01-10")  # the term ends 2027-01-10: within the 3 months' notice
    with unit_of_work() as s:
        open_term_notices(s)
    with unit_of_work() as s:
        return {"term_pending": s.exec(select(Case).where(Case.kind == "term")).one().id}


NOMINATION = {"department_head": "yes", "provincial_society_member": "yes"}


def build_vacancy(tmp_path: Path) -> dict[str, int]:
    _directory(tmp_path)
    ids = {}
    for name, center, email in (("vacancy_open", "CARD", "deputy2@card.qingchuan.example"),
                                ("vacancy_nominated", "NURS", "deputy2@nurs.qingchuan.example"),
                                ("vacancy_escalated", "NURS", "deputy@nurs.qingchuan.example")):
        with unit_of_work() as s:
            ids[name] = engine.create_case(s, "vacancy", REVIEWER, {"center": center, "email": email, "post": "deputy",
                                                                    "reason": "调离本市，不能继续履职",
                                                                    "since": "2026-11-24"}).id
    _fire("vacancy", ids["vacancy_nominated"], "nominate", HOST2_LEADER,
          changes={"nominee": "qin.fangzhou@qch2.qingchuan.example", **NOMINATION})
    _fire("vacancy", ids["vacancy_escalated"], "nominate", HOST2_LEADER,
          changes={"nominee": "yan.keqin@qch2.qingchuan.example", **NOMINATION})
    _fire("vacancy", ids["vacancy_escalated"], "reject", REVIEWER, comment="人选不符合要求，重新遴选")
    return ids


HANDOVER_ITEMS = {"files": "2019—2026 年质控档案 36 盒，已扫描为电子版", "systems": "质控信息平台管理员账号",
                  "permissions": "省质控平台本市管理权限", "quality_data": "2019—2026 年质控数据库备份"}


def build_handover(tmp_path: Path) -> dict[str, int]:
    from qcflow.services.handover import change_host

    _directory(tmp_path)
    ids = {}
    for name, code, new_host in (("handover_listing", "CARD", "QCH2"), ("handover_confirming", "NURS", "QCH1")):
        with unit_of_work() as s:
            ids[name] = change_host(s, code, REVIEWER, {"new_host": new_host, "announced_on": "2026-11-24",
                                                        "basis": "卫健委 2026 年第 12 次主任办公会决定"}, utcnow())["case_id"]
    _fire("handover", ids["handover_confirming"], "submit_list", HOST2_LEADER, changes=dict(HANDOVER_ITEMS))
    return ids


def build_assessment(tmp_path: Path) -> dict[str, int]:
    from qcflow.services import assessment
    from tests.integration.test_assessment import RUBRIC, sheet

    _directory(tmp_path)
    for year in (2024, 2025, 2026):
        with unit_of_work() as s:
            rubric = RUBRIC.read_bytes().replace(b"year: 2026", f"year: {year}".encode())
            assessment.load_rubric(s, rubric, str(RUBRIC), year)
        with unit_of_work() as s:
            assessment.open_assessments(s, year, False)
    with unit_of_work() as s:
        key = {c.key: c for c in s.exec(select(Case).where(Case.kind == "assessment"))}
        ids = {"nurs_open": key["assessment:NURS:2026"].id, "card_self_assessed": key["assessment:CARD:2026"].id,
               "card_published": key["assessment:CARD:2025"].id, "nurs_scored": key["assessment:NURS:2025"].id,
               "card_moderated": key["assessment:CARD:2024"].id, "nurs_appealed": key["assessment:NURS:2024"].id}
        experts = {name: list(s.get(Case, case_id).data["experts"]) for name, case_id in ids.items()}
    assert EXPERT in experts["card_self_assessed"] and HOST_EXPERT not in experts["card_self_assessed"]
    summary = {"self_summary": "全年召开成员会议 2 次、培训 1 次，完成年报。", "self_scores": sheet()}
    for name in ("card_self_assessed", "card_published", "nurs_scored", "card_moderated", "nurs_appealed"):
        _fire("assessment", ids[name], "self_assess", DIRECTOR if name.startswith("card") else NURS_DIRECTOR,
              changes=dict(summary))
    for name in ("card_published", "nurs_scored", "card_moderated", "nurs_appealed"):
        for expert in experts[name]:
            _fire("assessment", ids[name], "score", expert, changes={"scores": sheet()})
    for name in ("card_published", "card_moderated", "nurs_appealed"):
        _fire("assessment", ids[name], "moderate", REVIEWER, changes=dict(MODERATION))
    for name in ("card_published", "nurs_appealed"):
        _fire("assessment", ids[name], "publish", REVIEWER)
    _fire("assessment", ids["nurs_appealed"], "appeal", OTHER_SECRETARY, comment="第4项会议记录漏计，申请复核")
    return ids


MODERATION = {"provincial_rank": "", "veto": "", "veto_ground": ""}


def build_inspections(tmp_path: Path) -> dict[str, int]:
    from qcflow.services import inspections
    from tests.integration.test_inspections import FINDINGS, at, inspection_data, plan_data

    _directory(tmp_path)
    ids = {}
    with unit_of_work() as s:
        ids["plan_draft"] = inspections.plan(s, SECRETARY, plan_data(), submit=False)["id"]
    with unit_of_work() as s:
        ids["plan_submitted"] = inspections.plan(s, SECRETARY, plan_data(title="2026年度第二批督导检查方案"))["id"]
    with unit_of_work() as s:
        plan_id = inspections.plan(s, SECRETARY, plan_data(title="2026年度督导检查方案（已授权）"), now=at("2026-08-20"))["id"]
    _fire("inspection_plan", plan_id, "authorize", REVIEWER, now=at("2026-08-20"))
    with unit_of_work() as s:  # opened under the authorized plan, not started yet
        ids["inspection_planned"] = engine.create_case(s, "inspection", DIRECTOR, inspection_data(plan_id),
                                                       now=at("2026-08-25")).id
    for name in ("inspection_in_progress", "inspection_findings_sent", "inspection_report_submitted"):
        with unit_of_work() as s:
            ids[name] = inspections.start(s, DIRECTOR, inspection_data(plan_id, title=f"督导检查 {name}"),
                                          now=at("2026-09-01"))["id"]
    for name in ("inspection_findings_sent", "inspection_report_submitted"):
        with unit_of_work() as s:
            inspections.findings(s, DIRECTOR, ids[name], FINDINGS, end_on="2026-09-05", now=at("2026-09-05", 17))
    _fire("inspection", ids["inspection_report_submitted"], "submit_report", SECRETARY,
          changes={"report": "检查概况、发现的问题、反馈与整改情况（略）"})
    with unit_of_work() as s:
        lists = {r["institution"]: r["id"] for r in inspections.rectifications_of(s, ids["inspection_findings_sent"])}
    ids["rectification_evidenced"] = lists["QCH2"]  # QCH2's quality office is named in the directory
    _fire("inspection_rectification", lists["QCH2"], "add_evidence", OFFICE,
          changes={"item": 1, "evidence": "已补签知情同意书并修订模板"})
    ids["rectification_poor"] = lists["QCH1"]
    _fire("inspection_rectification", lists["QCH1"], "report_poor", DIRECTOR, comment="逾期未整改，报告卫健委")
    return ids


def build_improvement(tmp_path: Path) -> dict[str, int]:
    _directory(tmp_path)
    ids = {}
    for name in ("plan_draft", "plan_submitted", "plan_returned"):
        with unit_of_work() as s:
            ids[name] = engine.create_case(s, "improvement_plan", SECRETARY, {"center": "CARD", "year": 2026}).id
    for name in ("plan_submitted", "plan_returned"):
        _fire("improvement_plan", ids[name], "submit", SECRETARY, changes=_plan_content())
    _fire("improvement_plan", ids["plan_returned"], "return", REVIEWER, comment="目标值论证不足")
    return ids


def _plan_content() -> dict:
    from tests.integration.test_improvement_plan import GOALS, MEASURES, OPINION

    return {"committee_opinion": OPINION, "goals": GOALS, "measures": MEASURES}


def build_compendium(tmp_path: Path) -> dict[str, int]:
    from qcflow.services import compendium
    from tests.integration.test_compendium import COMMON, PDF, SPECIAL

    _directory(tmp_path)
    ids = {}
    for name in ("compendium_draft", "compendium_submitted"):
        with unit_of_work() as s:
            ids[name] = engine.create_case(s, "compendium", SECRETARY, {"center": "CARD", "title": f"应知应会 {name}",
                                                                        "common": COMMON, "special": SPECIAL}).id
        with unit_of_work() as s:
            compendium.attach(s, ids[name], SECRETARY, "医疗质量管理办法.pdf", PDF)
    _fire("compendium", ids["compendium_submitted"], "submit", SECRETARY)
    return ids


def _indicator_data() -> None:
    from qcflow.services import directory
    from qcflow.services.indicator_import import import_means, import_values
    from qcflow.services.indicators import load_dictionary

    folder = ROOT / "demo" / "indicators"
    with unit_of_work() as s:
        directory.load_file(s, folder / "institutions.yaml")
    with unit_of_work() as s:
        for year in (2025, 2026):
            load_dictionary(s, folder / f"dictionary_{year}.yaml")
            import_values(s, folder / f"values_{year}.csv", "心血管内科", SECRETARY)
        import_means(s, folder / "means.csv")


def build_annual_report(tmp_path: Path) -> dict[str, int]:
    from qcflow.services import annual_report

    _directory(tmp_path)
    _indicator_data()
    ids = {}
    for name, year in (("report_draft", 2026), ("report_reviewed", 2025)):
        with unit_of_work() as s:
            ids[name] = annual_report.build(s, "心血管内科", year).case_id
    _fire("annual_report", ids["report_reviewed"], "review", EXPERT, comment="数据核对无误，同意报送")
    return ids


def build_annual_report_approved(tmp_path: Path) -> dict[str, int]:
    ids = build_annual_report(tmp_path)
    _fire("annual_report", ids["report_reviewed"], "approve", REVIEWER)
    return {"report_approved": ids["report_reviewed"]}


def build_guidance(tmp_path: Path) -> dict[str, int]:
    from qcflow.services.indicators import open_guidance

    _directory(tmp_path)
    _indicator_data()
    with unit_of_work() as s:
        opened = open_guidance(s, "心血管内科", 2026)["opened"]
    assert len(opened) >= 2, opened
    ids = {"guidance_open": opened[0]["case_id"], "guidance_guided": opened[1]["case_id"]}
    _fire("guidance", ids["guidance_guided"], "record_guidance", SECRETARY,
          changes={"guidance": "11月26日赴院现场指导，反馈延误环节"})
    return ids


# case → trigger → (the content given with it, the roles that may take it). From the rules:
# Y§25 orders: the center answers (director, secretary); the commission returns, verifies, closes.
# Y§26 removal, terms: the commission decides. Y§26(三) vacancies: the host's leader re-nominates, the
# commission approves or rejects, and records the re-selection. Y§27 handover: the old host's leader lists and
# confirms, the new host's leader confirms or disputes. Y§24 assessment: the center self-assesses and appeals,
# an assigned scorer (not from the host) scores, the commission assigns, moderates and publishes. Y§14(四),
# Y§20 inspections: the center drafts and runs them (a deputy may record findings), the commission authorizes
# the plan and accepts the report; the inspected institution evidences, the center verifies or reports poor
# rectification. H1, H2: the center drafts, the commission returns or approves. H6: the expert committee
# reviews, the commission approves and publishes. H3: the specialty's center guides, it or the commission closes.
Matrix = dict[str, dict[str, tuple[dict[str, Any], set[str]]]]
RESPONSE = {"response": "已补做全部任务"}

MATRICES: dict[str, tuple[str, Callable[[Path], dict[str, int]], Matrix]] = {
    "orders": ("", build_orders, {
        "order_issued": {"respond": (RESPONSE, CARD), "verify": ({}, set()), "close": ({}, set())},
        "order_responded": {"return": ({}, COMMISSION), "verify": ({}, COMMISSION), "respond": (RESPONSE, set())},
        "order_verified": {"close": ({}, COMMISSION), "return": ({}, set())},
        "removal_proposed": {"decide_remove": ({}, COMMISSION), "decide_keep": ({}, COMMISSION)},
    }),
    "term": ("term", build_term, {
        "term_pending": {"reappoint": ({}, COMMISSION), "reselect": ({}, COMMISSION)},
    }),
    "vacancy": ("vacancy", build_vacancy, {
        "vacancy_open": {"nominate": ({"nominee": NOMINEE, **NOMINATION}, {"host1"}), "approve": ({}, set()),
                         "record_reselection": ({}, set())},
        "vacancy_nominated": {"approve": ({}, COMMISSION), "reject": ({}, COMMISSION),
                              "nominate": ({"nominee": NOMINEE, **NOMINATION}, set())},
        "vacancy_escalated": {"record_reselection": ({}, COMMISSION), "approve": ({}, set())},
    }),
    "handover": ("handover", build_handover, {
        "handover_listing": {"submit_list": (HANDOVER_ITEMS, {"host1"}), "confirm_old": ({}, set())},
        # NURS moves from QCH2 (old host, 韦思远) to QCH1 (new host, 严守正)
        "handover_confirming": {"confirm_old": ({}, {"host2"}), "confirm_new": ({}, {"host1"}),
                                "dispute": ({}, {"host1"}), "submit_list": (HANDOVER_ITEMS, set())},
    }),
    "assessment": ("assessment", build_assessment, {
        "nurs_open": {"self_assess": ({"self_summary": "全年工作总结", "self_scores": "SHEET"}, NURS),
                      "assign_scorers": ({"experts": [HOST_EXPERT, "expert3@qcexperts.example"]}, COMMISSION),
                      "score": ({"scores": "SHEET"}, set())},
        "card_self_assessed": {"score": ({"scores": "SHEET"}, {"expert"}),
                               "assign_scorers": ({"experts": [EXPERT, "expert3@qcexperts.example"]}, COMMISSION),
                               "self_assess": ({"self_summary": "再次自评", "self_scores": "SHEET"}, set())},
        "nurs_scored": {"moderate": (MODERATION, COMMISSION), "publish": ({}, set())},
        "card_moderated": {"publish": ({}, COMMISSION), "appeal": ({}, set())},
        "card_published": {"appeal": ({}, CARD), "publish": ({}, set())},
        "nurs_appealed": {"re_moderate": (MODERATION, COMMISSION), "appeal": ({}, set())},
    }),
    "inspections": ("", build_inspections, {
        "plan_draft": {"edit": ({"scope": "胸痛中心建设"}, CARD), "submit": ({}, CARD), "authorize": ({}, set())},
        "plan_submitted": {"authorize": ({}, COMMISSION), "return": ({}, COMMISSION), "submit": ({}, set())},
        "inspection_planned": {"start": ({}, CARD), "edit": ({"title": "2026年心血管专业督导检查（修订）"}, CARD),
                               "record_findings": ({"findings": "FINDINGS"}, set())},
        "inspection_in_progress": {"record_findings": ({"findings": "FINDINGS"}, CARD_STAFF),
                                   "send_findings": ({"end_on": "2026-11-20"}, CARD), "accept": ({}, set())},
        "inspection_findings_sent": {"submit_report": ({"report": "检查报告正文"}, CARD), "accept": ({}, set())},
        "inspection_report_submitted": {"accept": ({}, COMMISSION), "return_report": ({}, COMMISSION),
                                        "submit_report": ({"report": "再次报送"}, set())},
        "rectification_evidenced": {
            "add_evidence": ({"item": 1, "evidence": "补充抽查记录"}, CARD_STAFF | {"hospital"}),
            "verify": ({"item": 1, "result": "passed", "note": "抽查 20 份合格"}, CARD_STAFF),
            "report_poor": ({}, CARD_STAFF)},
        "rectification_poor": {"add_evidence": ({"item": 1, "evidence": "已优化导管室启动流程"}, CARD_STAFF),
                               "report_poor": ({}, set())},
    }),
    "improvement_plan": ("improvement_plan", build_improvement, {
        "plan_draft": {"edit": ({"committee_opinion": "专家委员会论证意见"}, CARD), "submit": ("PLAN", CARD),
                       "approve": ({}, set())},
        "plan_submitted": {"return": ({}, {"commission", "section_head"}), "approve": ({}, COMMISSION),
                           "submit": ("PLAN", set())},
        "plan_returned": {"edit": ({"committee_opinion": "补充论证"}, CARD), "submit": ("PLAN", CARD),
                          "return": ({}, set())},
    }),
    "compendium": ("compendium", build_compendium, {
        "compendium_draft": {"edit": ({"title": "心血管内科专业应知应会（修订）"}, CARD), "submit": ({}, CARD),
                             "approve": ({}, set())},
        "compendium_submitted": {"return": ({}, COMMISSION), "approve": ({}, COMMISSION), "submit": ({}, set())},
    }),
    "annual_report": ("annual_report", build_annual_report, {
        "report_draft": {"review": ({}, {"expert", "host_expert"}), "approve": ({}, set()), "publish": ({}, set())},
        "report_reviewed": {"approve": ({}, COMMISSION), "return": ({}, COMMISSION), "review": ({}, set())},
    }),
    "annual_report_approved": ("annual_report", build_annual_report_approved, {
        "report_approved": {"publish": ({}, COMMISSION), "return": ({}, COMMISSION), "approve": ({}, set()),
                            "review": ({}, set())},
    }),
    "guidance": ("guidance", build_guidance, {
        "guidance_open": {"edit": ({"guidance": "指导记录草稿"}, CARD_STAFF),
                          "record_guidance": ({"guidance": "现场指导记录"}, CARD_STAFF), "close": ({}, set())},
        "guidance_guided": {"close": ({"follow_up": "12月复查：流程已落实"}, CARD_STAFF | COMMISSION),
                            "reopen": ({}, COMMISSION), "record_guidance": ({"guidance": "再次指导"}, set())},
    }),
}
CASE_KIND = {"order": "rectification", "removal": "removal", "plan": "inspection_plan", "inspection": "inspection",
             "rectification": "inspection_rectification"}


def kind_of(group: str, case: str) -> str:
    own = MATRICES[group][0]
    return own or CASE_KIND[case.split("_")[0]]


def content(changes: Any) -> dict:
    """The content given with a step: a few placeholders stand for the kinds' own complete content."""
    from tests.integration.test_assessment import sheet
    from tests.integration.test_inspections import FINDINGS

    if changes == "PLAN":
        return _plan_content()
    out = {}
    for key, value in changes.items():
        out[key] = sheet() if value == "SHEET" else list(FINDINGS) if value == "FINDINGS" else value
    return out


class _Undo(Exception):
    pass


def try_step(kind: str, case_id: int, trigger: str, email: str, changes: dict) -> Optional[str]:
    """None when the step was allowed (and then undone), else the refusal's text."""
    try:
        with unit_of_work() as s:
            engine.fire(s, kind, case_id, trigger, email=email, comment=COMMENT, changes=dict(changes))
            raise _Undo()
    except _Undo:
        return None
    except Refused as refused:
        return str(refused)


def snapshot(ids: dict[str, int]) -> dict[int, tuple]:
    with unit_of_work() as s:
        return {c.id: (c.state, c.version, json.dumps(c.data, sort_keys=True, default=str))
                for c in s.exec(select(Case).where(Case.id.in_(list(ids.values()))))}


def wrong_cells(group: str, ids: dict[str, int]) -> list[str]:
    wrong = []
    for case, steps in MATRICES[group][2].items():
        for trigger, (changes, allowed) in steps.items():
            for role, email in ROLES.items():
                refusal = try_step(kind_of(group, case), ids[case], trigger, email, content(changes))
                if (refusal is None) != (role in allowed):
                    wrong.append(f"{case}.{trigger} by {role}: {'allowed' if refusal is None else refusal}")
                elif refusal is not None and not ARTICLE.search(refusal):
                    wrong.append(f"{case}.{trigger} by {role}: refused without an article: {refusal}")
    return wrong


def test_the_matrix_takes_every_step_of_every_new_kind_and_its_private_kinds_are_read_below():
    """A step or a private kind added later without its cells fails here (the expected cells stay by hand)."""
    from states.registry import WORKFLOWS

    taken: dict[str, set[str]] = {}
    for group, (_, _, matrix) in MATRICES.items():
        for case, steps in matrix.items():
            taken.setdefault(kind_of(group, case), set()).update(steps)
    core = {"document", "report", "application", "death_review"}  # test_write_matrix.py, test_privacy_matrix.py
    assert set(WORKFLOWS) - core == set(taken)
    for kind, steps in taken.items():
        assert {t.trigger for t in WORKFLOWS[kind].transitions.values() if not t.system} == steps, kind
    private = {k for k, w in WORKFLOWS.items() if w.private} - core
    assert private == {"guidance", "inspection", "inspection_rectification"}


@pytest.mark.parametrize("group", list(MATRICES))
def test_every_role_may_take_exactly_the_steps_the_rules_give_it(engine, tmp_path, group):
    ids = MATRICES[group][1](tmp_path)
    before = snapshot(ids)
    wrong = wrong_cells(group, ids)
    assert wrong == [], "\n".join(wrong)
    assert snapshot(ids) == before  # every cell started from the same cases


# --- the same rules through the CLI (a child process) ---------------------------------------------------

def _cli(*args: str, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ), timeout=60)


def test_the_cli_refuses_and_allows_the_same_cells(engine, tmp_path):
    ids = build_orders(tmp_path)
    before = snapshot(ids)
    removal, order = str(ids["removal_proposed"]), str(ids["order_issued"])
    refused = [
        _cli("case", "fire", "removal", removal, "decide_keep", "--as", DIRECTOR, "--comment", "请求保留"),  # Y§26
        _cli("case", "fire", "removal", removal, "decide_remove", "--as", LEADER, "--comment", "免去"),
        _cli("case", "fire", "rectification", order, "respond", "--as", HOST1_LEADER, "--data", "-",
             stdin=json.dumps(RESPONSE)),  # Y§25: the center answers, not its host
        _cli("case", "fire", "rectification", order, "verify", "--as", REVIEWER),  # nothing to verify yet
    ]
    for run, rule in zip(refused, ("Y§26", "Y§26", "Y§25", "Y§25")):
        assert run.returncode == 2 and rule in run.stderr and "Traceback" not in run.stderr, (run.args, run.stderr)
    for who in ([], ["--as", "nobody@nowhere.example"]):  # nobody said who, or nobody the directory knows
        run = _cli("case", "fire", "removal", removal, "decide_keep", *who, "--comment", "保留")
        assert run.returncode == 2 and "Traceback" not in run.stderr, (who, run.stderr)
    assert snapshot(ids) == before
    answered = _cli("case", "fire", "rectification", order, "respond", "--as", SECRETARY, "--data", "-",
                    stdin=json.dumps(RESPONSE))
    kept = _cli("case", "fire", "removal", removal, "decide_keep", "--as", SECTION_HEAD, "--comment", "整改已到位")
    assert answered.returncode == 0 and kept.returncode == 0, (answered.stderr, kept.stderr)
    with unit_of_work() as s:
        assert (s.get(Case, ids["order_issued"]).state, s.get(Case, ids["removal_proposed"]).state) == \
            ("response_submitted", "decided_keep")


def test_the_cli_lets_only_the_host_s_leader_nominate(engine, tmp_path):
    ids = build_vacancy(tmp_path)
    case = str(ids["vacancy_open"])  # CARD, hosted by QCH1
    nomination = json.dumps({"nominee": NOMINEE, **NOMINATION})
    for email in (HOST2_LEADER, DIRECTOR, REVIEWER):
        run = _cli("case", "fire", "vacancy", case, "nominate", "--as", email, "--data", "-", stdin=nomination)
        assert run.returncode == 2 and "Y§26" in run.stderr, (email, run.stderr)
    run = _cli("case", "fire", "vacancy", case, "nominate", "--as", HOST1_LEADER, "--data", "-", stdin=nomination)
    assert run.returncode == 0, run.stderr
    with unit_of_work() as s:
        assert s.get(Case, ids["vacancy_open"]).state == "nominated"


# --- the same rules through the web: the case page's POST ---------------------------------------------------

@pytest.fixture
def live(engine, monkeypatch):
    from tests.live import live_site

    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox


def test_the_case_page_post_refuses_and_allows_the_same_cells(live, tmp_path):
    from tests.e2e.sessions import sign_in
    from tests.e2e.test_case_pages_http import decide

    base, mailbox = live
    ids = build_orders(tmp_path)
    before = snapshot(ids)
    removal = f"/cases/removal/{ids['removal_proposed']}"
    order = f"/cases/rectification/{ids['order_issued']}"
    people = {email: sign_in(base, mailbox, email) for email in (DIRECTOR, HOST1_LEADER, EXPERT, SECRETARY, SECTION_HEAD)}
    for email in (DIRECTOR, HOST1_LEADER, EXPERT):
        answer = decide(people[email], removal, {"decision": "decide_keep", "comment": "请求保留"})
        assert answer.status_code in (403, 422), (email, answer.status_code)
    for email in (HOST1_LEADER, SECTION_HEAD):
        answer = decide(people[email], order, {"decision": "respond", "response": "已补做全部任务"})
        assert answer.status_code in (403, 422), (email, answer.status_code)
    for path, decision in ((removal, "decide_keep"), (order, "respond")):
        anonymous = httpx.post(f"{base}{path}", data={"decision": decision, "comment": "x", "version": "1"})
        assert anonymous.status_code in (401, 403), (path, anonymous.status_code)
    assert snapshot(ids) == before
    assert decide(people[SECRETARY], order, {"decision": "respond", "response": "已补做全部任务"}).status_code == 303
    assert decide(people[SECTION_HEAD], removal, {"decision": "decide_keep", "comment": "整改已到位"}).status_code == 303
    with unit_of_work() as s:
        assert (s.get(Case, ids["order_issued"]).state, s.get(Case, ids["removal_proposed"]).state) == \
            ("response_submitted", "decided_keep")


# --- reads of the private kind (guidance, Y§22): the service, `case show`, the web page -------------------

# The specialty's center (its director, deputy, secretary) and the commission's section see a guidance task
# with its named institution's figures; nobody else — not another center, an expert, a signing leader, a host
# unit's leader or a hospital's quality office — and nobody anonymous.
GUIDANCE_READERS = {"commission": "full", "section_head": "full", "director": "review", "secretary": "review",
                    "deputy": "review"}
READERS = {**ROLES, "anonymous": None}


def _person_id(email: Optional[str]) -> Optional[int]:
    if email is None:
        return None
    with unit_of_work() as s:
        return engine.person_by_email(s, email).id


def _title(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).title


@pytest.fixture
def guidance(engine, tmp_path):
    return build_guidance(tmp_path)


def test_the_read_service_and_lists_show_a_guidance_task_only_to_whom_the_rules_allow(guidance):
    from qcflow.services import access

    case_id, wrong = guidance["guidance_open"], []
    title = _title(case_id)
    for role, email in READERS.items():
        want, pid = GUIDANCE_READERS.get(role, "none"), _person_id(email)
        with unit_of_work() as s:
            row = engine.load_case(s, "guidance", case_id)
            reason = access.may_read(s, row, pid)
            try:
                got = access.readable_detail(s, row, pid, "test")["access"]
            except Refused as refused:
                got = "none" if "Y§22" in str(refused) else str(refused)
            listed = {r["id"]: r["title"] for r in access.visible_rows(s, "guidance", pid)}
        if got != want or (reason is None) != (want != "none"):
            wrong.append(f"{role}: {got} ({reason})")
        if (listed[case_id] == title) != (want != "none") or (want == "none" and listed[case_id] != f"专项指导 #{case_id}"):
            wrong.append(f"{role}: listed as {listed[case_id]}")
    assert wrong == [], "\n".join(wrong)


def test_case_show_refuses_a_guidance_task_to_whom_the_rules_do_not_allow(guidance, capsys):
    from qcflow.cli import main

    case_id = guidance["guidance_open"]
    title = _title(case_id)
    for role, email in READERS.items():
        who = ["--as", email] if email else []
        code = main(["--json", "case", "show", "guidance", str(case_id), *who])
        shown = capsys.readouterr().out
        if role in GUIDANCE_READERS:
            assert code == 0 and json.loads(shown)["access"] == GUIDANCE_READERS[role], (role, shown)
        else:
            assert code == 2 and "Y§22" in shown and title not in shown, (role, shown)
        code = main(["--json", "case", "list", "guidance", *who])
        out = capsys.readouterr().out
        if email is None:  # a private kind's list asks who is reading (Y§22), as for death reviews
            assert code == 2 and "--as" in out and title not in out, out
            continue
        listed = {r["id"]: r["title"] for r in json.loads(out)}
        assert code == 0 and (listed[case_id] == title) == (role in GUIDANCE_READERS), (role, listed)
    child = _cli("case", "show", "guidance", str(case_id), "--as", OFFICE)  # the hospital named in the task
    assert child.returncode == 2 and "Y§22" in child.stderr and title not in child.stdout + child.stderr


def test_the_guidance_page_and_the_public_pages_show_it_only_to_whom_the_rules_allow(live, tmp_path):
    from tests.e2e.sessions import sign_in

    base, mailbox = live
    ids = build_guidance(tmp_path)
    case_id = ids["guidance_open"]
    title, path = _title(case_id), f"/cases/guidance/{case_id}"
    anonymous = httpx.get(f"{base}{path}")
    assert anonymous.status_code in (401, 403) and title not in anonymous.text
    for email, allowed in ((SECRETARY, True), (REVIEWER, True), (OTHER_SECRETARY, False), (OFFICE, False),
                           (EXPERT, False)):
        page = sign_in(base, mailbox, email).get(path)
        assert (page.status_code == 200 and title in page.text) == allowed, (email, page.status_code)
        assert allowed or (page.status_code == 403 and "Y§22" in page.text), (email, page.status_code)
    public = "".join(httpx.get(f"{base}{p}").text for p in ("/", "/due", "/search", "/search?kind=guidance"))
    assert all(_title(i) not in public for i in ids.values())


# --- an inspected institution's rectification list: named institutions' QC findings (Y§22, Y§20) ------------

# The rules (Y§22, Y§20, Y§14(四)): the commission's section and the signing leaders see an inspection and every
# rectification list whole; the inspecting center's people (CARD) see them as reviewers; an inspected institution's
# people — as a death's reporting hospital's people — see their own institution's list whole, never another's,
# and never the inspection itself, which holds every institution's findings and a report about all of them.
# QCH1: CARD's director and secretary, the host expert, the host leader 严守正. QCH2: the quality office, the
# nursing center's director and secretary, the expert, the host leader 韦思远 (and CARD's deputy, a CARD reader).
COMMISSION_READ = {"commission": "full", "section_head": "full", "leader": "full"}
CENTER_READ = {"director": "review", "secretary": "review", "deputy": "review"}
INSPECTION_READERS = {
    "inspection_findings_sent": {**COMMISSION_READ, **CENTER_READ},
    "rectification_poor": {**COMMISSION_READ, **CENTER_READ, "host_expert": "institution", "host1": "institution"},
    "rectification_evidenced": {**COMMISSION_READ, **CENTER_READ, "hospital": "institution",
                                "nurs_director": "institution", "nurs_secretary": "institution",
                                "expert": "institution", "host2": "institution"},
}
INSPECTION_LABELS = {"inspection": "督导检查", "inspection_rectification": "督促整改清单"}
CONTACT = "yiwu@qch1.qingchuan.example"  # QCH1's contact named in the inspection, not in the directory


@pytest.fixture
def inspected(engine, tmp_path):
    return build_inspections(tmp_path)


def test_the_read_service_and_lists_show_inspections_only_to_whom_the_rules_allow(inspected):
    from qcflow.services import access

    wrong = []
    for case, readers in INSPECTION_READERS.items():
        kind, case_id = kind_of("inspections", case), inspected[case]
        title = _title(case_id)
        for role, email in READERS.items():
            want, pid = readers.get(role, "none"), _person_id(email)
            with unit_of_work() as s:
                row = engine.load_case(s, kind, case_id)
                reason = access.may_read(s, row, pid)
                try:
                    got = access.readable_detail(s, row, pid, "test")["access"]
                except Refused as refused:
                    got = "none" if "Y§22" in str(refused) else str(refused)
                listed = {r["id"]: r["title"] for r in access.visible_rows(s, kind, pid)}
            if got != want or (reason is None) != (want != "none"):
                wrong.append(f"{case} {role}: {got} ({reason})")
            hidden = f"{INSPECTION_LABELS[kind]} #{case_id}"
            if listed[case_id] != (title if want != "none" else hidden):
                wrong.append(f"{case} {role}: listed as {listed[case_id]}")
    assert wrong == [], "\n".join(wrong)


def test_an_inspected_institution_reads_only_its_own_findings(inspected):
    from qcflow.services import access

    items, office = {}, _person_id(OFFICE)
    with unit_of_work() as s:
        for case in ("rectification_evidenced", "rectification_poor"):
            row = engine.load_case(s, "inspection_rectification", inspected[case])
            try:
                detail = access.readable_detail(s, row, office, "test")
                items[case] = [i["item"] for i in detail["data"]["items"]]
            except Refused as refused:
                items[case] = str(refused)
        inspection = engine.load_case(s, "inspection", inspected["inspection_findings_sent"])
        with pytest.raises(Refused, match="督促整改清单"):  # the refusal says where its findings are
            access.readable_detail(s, inspection, office, "test")
        # QCH1's contact, outside the directory, reads QCH1's list by the link mailed to them, not QCH2's
        poor = engine.load_case(s, "inspection_rectification", inspected["rectification_poor"])
        evidenced = engine.load_case(s, "inspection_rectification", inspected["rectification_evidenced"])
        by_link = access.readable_detail(s, poor, None, "web", link_email=CONTACT)
        with pytest.raises(Refused, match="Y§22"):
            access.readable_detail(s, evidenced, None, "web", link_email=CONTACT)
        with pytest.raises(Refused, match="Y§22"):
            access.readable_detail(s, inspection, None, "web", link_email=CONTACT)
    assert items["rectification_evidenced"] == ["溶栓知情同意书"]
    from models import AccessLog

    with unit_of_work() as s:  # the office's opening of its own list is on the access log (Y§22); refusals are not
        logged = [(r.case_id, r.channel) for r in s.exec(select(AccessLog).where(AccessLog.person_id == office))]
    assert logged == [(inspected["rectification_evidenced"], "test")]
    assert "Y§22" in items["rectification_poor"] and "STEMI" not in items["rectification_poor"]
    assert by_link["access"] == "institution" and [i["item"] for i in by_link["data"]["items"]] == \
        ["STEMI 患者 D2W 时间", "胸痛病历质控"]


def test_every_mail_of_an_inspection_goes_to_someone_who_may_read_it_and_carries_the_title(inspected):
    from models import OutboxMessage, Person
    from qcflow.services import access
    from tests.helpers import rendered

    checked, wrong = 0, []
    with unit_of_work() as s:
        mails = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id.is_not(None))).all())
        for mail in mails:
            case = s.get(Case, mail.case_id)
            if case.kind not in INSPECTION_LABELS:
                continue
            checked += 1
            person = s.exec(select(Person).where(Person.email == mail.to_addr)).first()
            try:
                access.readable_detail(s, case, person.id if person else None, "test", record=False,
                                       link_email=mail.to_addr)
            except Refused:
                wrong.append(f"{mail.to_addr} may not read {case.kind} #{case.id}: {mail.subject}")
            if case.title not in mail.subject + mail.text_body:
                wrong.append(f"{mail.to_addr}: no title in {mail.subject}")
    assert checked >= 8 and wrong == [], "\n".join(wrong)
    from qcflow.services.tasks import waiting_for

    with unit_of_work() as s:  # the office has a step on its own list, so it may read it: its task names it
        waiting = {t.case_id: t.title for t in waiting_for(s, _person_id_in(s, OFFICE))}
    evidenced = inspected["rectification_evidenced"]
    assert waiting.get(evidenced) == _title(evidenced) and "青川市中心医院" in waiting[evidenced]


def _person_id_in(session, email: str) -> int:
    return engine.person_by_email(session, email).id


def test_an_institution_s_rectification_list_is_shown_only_to_whom_y22_allows(live, tmp_path):
    from qcflow.services import access

    base, _ = live
    ids = build_inspections(tmp_path)
    qch1_list = ids["rectification_poor"]  # QCH1's findings (STEMI D2W, severe)
    title = _title(qch1_list)
    anonymous = httpx.get(f"{base}/cases/inspection_rectification/{qch1_list}")
    office, secretary = _person_id(OFFICE), _person_id(SECRETARY)
    with unit_of_work() as s:
        row = engine.load_case(s, "inspection_rectification", qch1_list)
        other_hospital = access.may_read(s, row, office)  # QCH2's quality office
        center = access.may_read(s, row, secretary)
        listed = {r["id"]: r["title"] for r in access.visible_rows(s, "inspection_rectification", None)}
    assert center is None
    assert anonymous.status_code in (401, 403) and "STEMI" not in anonymous.text
    assert other_hospital is not None and other_hospital.rule == "Y§22"
    assert listed[qch1_list] != title


def test_the_inspection_page_shows_the_findings_only_to_the_center_and_the_commission(live, tmp_path):
    """Each institution reads its own findings on its own list's page; the inspection's page, which holds every
    institution's findings, opens only to the inspecting center and the commission (and its signing leaders)."""
    from tests.e2e.sessions import sign_in

    base, mailbox = live
    ids = build_inspections(tmp_path)
    inspection = f"/cases/inspection/{ids['inspection_findings_sent']}"
    qch1, qch2 = (f"/cases/inspection_rectification/{ids[k]}"
                  for k in ("rectification_poor", "rectification_evidenced"))
    both = ("STEMI 患者 D2W 时间", "溶栓知情同意书")
    anonymous = httpx.get(f"{base}{inspection}")
    assert anonymous.status_code in (401, 403) and not any(f in anonymous.text for f in both)
    for email in (DIRECTOR, REVIEWER, LEADER):
        page = sign_in(base, mailbox, email).get(inspection)
        assert page.status_code == 200 and all(f in page.text for f in both), (email, page.status_code)
    office = sign_in(base, mailbox, OFFICE)  # QCH2's quality office
    refused = office.get(inspection)
    assert refused.status_code == 403 and "Y§22" in refused.text and not any(f in refused.text for f in both)
    own = office.get(qch2)
    assert own.status_code == 200 and "溶栓知情同意书" in own.text and "STEMI" not in own.text
    other = office.get(qch1)
    assert other.status_code == 403 and "Y§22" in other.text and "STEMI" not in other.text
    host1 = sign_in(base, mailbox, HOST1_LEADER).get(qch1)  # QCH1's own people read QCH1's list
    assert host1.status_code == 200 and "STEMI" in host1.text and "溶栓" not in host1.text
    public = "".join(httpx.get(f"{base}{p}").text for p in (
        "/", "/due", "/search", "/search?kind=inspection_rectification", "/search?kind=inspection"))
    titles = [_title(ids[k]) for k in ("rectification_poor", "rectification_evidenced", "inspection_findings_sent")]
    assert not any(t in public for t in titles) and "青川市第一人民医院督促整改清单" not in public
