"""Rectification orders (Y§25, Y§24) and dynamic management (Y§26) on a real database with the demo
directory: issuing, refusals that store nothing, the removal cases the rules open (once), the
commission's decision and what it changes in the registry, and an overdue order escalated."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from models import Case, Center, Deadline, OutboxMessage, RoleAssignment
from models.assessment import AssessmentResult
from models.registry import Appointment
from qcflow import engine
from qcflow.core.clock import local_zone, to_local, utcnow
from qcflow.services import consequences, orders
from qcflow.services.applications import application_facts
from qcflow.services import sweep as deadlines
from qcflow.store.db import unit_of_work
from states.rules import Refused
from states.staffing import check_specialty_unique
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, SECTION_HEAD, new_document, rendered

pytestmark = pytest.mark.db


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=local_zone())


def issue(center: str = "CARD", grounds=(4,), due: str = "2026-12-31", email: str = REVIEWER, now=None, **kw):
    with unit_of_work() as s:
        return orders.issue(s, center, list(grounds), due, email, "按计划补做未完成的工作任务", now or utcnow(), **kw)


def cases(kind: str) -> list[Case]:
    with unit_of_work() as s:
        return list(s.exec(select(Case).where(Case.kind == kind).order_by(Case.id)).all())


def mails(subject: str) -> list[OutboxMessage]:
    with unit_of_work() as s:
        return [m for m in rendered(s, s.exec(select(OutboxMessage)).all()) if subject in m.subject]


def publish(center: str, year: int, grade: str) -> list[int]:
    """What part A's publication does: write the grade, then call the consequences."""
    with unit_of_work() as s:
        case_id = new_document(s)  # any case: the result row names the assessment case it came from
        s.add(AssessmentResult(center_code=center, year=year, score=60.0, bonus=0.0, grade=grade, case_id=case_id,
                               published_at=utcnow()))
        s.flush()
        return consequences.after_grade_published(s, center, year, grade, utcnow())


def test_an_order_is_issued_to_the_center_with_its_grounds_and_due_date(demo):
    out = issue(grounds=(4, 9))
    (order,) = cases("rectification")
    assert order.id == out["id"] and order.state == "issued"
    assert order.title == "责令整改通知：青川市心血管病医疗质量控制中心（第二十五条（四）、第二十五条（九））"
    assert "违规刻制印章、违规以质控中心名义印制红头文件" in order.data["notice"]
    assert order.data["year"] == 2026 and out["removals_opened"] == []
    with unit_of_work() as s:
        deadline = s.exec(select(Deadline).where(Deadline.case_id == order.id)).one()
    assert to_local(deadline.due_at).date().isoformat() == "2026-12-31"
    sent = mails("【责令整改】")
    assert {m.to_addr for m in sent} == {DIRECTOR, SECRETARY}
    assert all("2026年12月31日" in m.subject and "/t/" in m.text_body for m in sent)


@pytest.mark.parametrize("kwargs,rule,words", [
    ({"email": SECRETARY}, "Y§25", "新建责令整改须由本中心的卫健委审核人（医政医管科）或医政医管科科长进行"),
    ({"grounds": ()}, "Y§25", "须写明第二十五条所列的事由"),
    ({"grounds": (14,)}, "Y§25", "以下不是：14"),
    ({"due": "2026-11-24"}, "Y§25", "须晚于下达之日 2026-11-24"),
    ({"due": "明年"}, "Y§25", "整改期限须为日期"),
    ({"serious": True}, "Y§26", "认定情节严重须写明认定的事实和理由"),
])
def test_a_refused_order_says_why_and_stores_nothing(demo, kwargs, rule, words):
    with pytest.raises(Refused) as refused:
        issue(**kwargs)
    assert any(r.rule == rule and words in r.message for r in refused.value.reasons), refused.value.reasons
    assert cases("rectification") == [] and mails("【责令整改】") == []


def test_one_order_opens_no_removal_case(demo):
    issue()
    assert cases("removal") == []


def test_two_orders_in_one_year_open_one_removal_case_once(demo):
    first = issue()
    second = issue(grounds=(8,))
    (removal,) = cases("removal")
    assert second["removals_opened"] == [removal.id] and first["removals_opened"] == []
    assert removal.state == "proposed" and removal.key == "removal:CARD:orders:2026"
    assert [o["id"] for o in removal.data["orders"]] == [first["id"], second["id"]]
    assert "同一年度被责令整改 2 次及以上" in removal.data["facts"] and "陆一鸣" in removal.data["facts"]
    assert {m.to_addr for m in mails("【待决定·动态管理】")} >= {SECTION_HEAD, REVIEWER}

    third = issue(grounds=(2,))
    with unit_of_work() as s:
        again = consequences.after_order_issued(s, "CARD", utcnow())
    assert third["removals_opened"] == [] and again == [] and len(cases("removal")) == 1


def test_orders_in_two_different_years_open_none(demo):
    issue(now=at("2025-06-02"), due="2025-07-31")
    issue()
    assert cases("removal") == []


def test_a_serious_ground_opens_a_removal_case(demo):
    out = issue(grounds=(11,))
    (removal,) = cases("removal")
    assert out["serious"] and removal.data["ground"] == "serious" and out["removals_opened"] == [removal.id]


def test_the_commission_may_find_any_ground_serious_with_its_reason(demo):
    issue(grounds=(6,), serious=True, serious_reason="接受企业赞助并推介产品，金额巨大")
    (removal,) = cases("removal")
    assert removal.data["ground"] == "serious" and "情节严重" in removal.data["facts"]


def test_a_failing_grade_opens_an_order_citing_y24_once(demo):
    opened = publish("CARD", 2025, "不合格")
    (order,) = cases("rectification")
    assert opened == [order.id] and order.data["basis"] == "Y§24" and order.data["grounds"] == []
    assert "第二十四条" in order.title and "2025年度考核结果为不合格" in order.data["notice"]
    assert order.data["due_date"] == "2027-01-23"  # 60 days after 2026-11-24
    with unit_of_work() as s:  # published again (a re-moderated appeal): no second order
        assert consequences.after_grade_published(s, "CARD", 2025, "不合格", utcnow()) == []
    assert len(cases("rectification")) == 1 and cases("removal") == []


def test_a_passing_grade_opens_nothing(demo):
    assert publish("CARD", 2026, "合格") == [] and cases("rectification") == []


def test_two_failing_years_open_a_removal_case(demo):
    publish("CARD", 2025, "不合格")
    opened = publish("CARD", 2026, "不合格")
    keys = {c.key: c for c in cases("removal")}
    failing = keys["removal:CARD:failing:2026"]
    assert failing.id in opened
    assert failing.data["grades"] == {"2025": "不合格", "2026": "不合格"}
    # Both failing grades' orders were issued this year (2026): the two-orders ground holds as well.
    assert set(keys) == {"removal:CARD:failing:2026", "removal:CARD:orders:2026"}


def test_nothing_is_removed_until_the_commission_decides_and_then_all_of_it(demo):
    with unit_of_work() as s:  # before: the demo's cardiology center holds its specialty
        facts = application_facts(s, Case(kind="application", state="draft", title="", data={}), {}, utcnow())
    assert check_specialty_unique("心血管内科", facts["existing_specialties"])[0].rule == "Y§8"
    issue()
    issue(grounds=(8,))
    (removal,) = cases("removal")
    with unit_of_work() as s:
        card = s.exec(select(Center).where(Center.code == "CARD")).one()
        assert card.status == "active"
        assert s.exec(select(RoleAssignment).where(RoleAssignment.role == "center_director",
                                                   RoleAssignment.center_id == card.id)).all()
    with unit_of_work() as s:
        engine.fire(s, "removal", removal.id, "decide_remove", email=SECTION_HEAD, comment="2026年第12次主任办公会决定")
    with unit_of_work() as s:
        card = s.exec(select(Center).where(Center.code == "CARD")).one()
        assert card.status == "revoked"
        assert s.exec(select(RoleAssignment).where(RoleAssignment.role == "center_director",
                                                   RoleAssignment.center_id == card.id)).all() == []
        assert s.exec(select(Appointment).where(Appointment.center_id == card.id, Appointment.role == "director",
                                                Appointment.ended_on.is_(None))).all() == []
        assert s.exec(select(RoleAssignment).where(RoleAssignment.role == "center_secretary",
                                                   RoleAssignment.center_id == card.id)).all()
    assert [m.to_addr for m in mails("【动态管理决定】")] == [DIRECTOR, SECRETARY]
    assert [m.to_addr for m in mails("【另行遴选】")] == [SECTION_HEAD]
    # The new selection (Y§8–§13): the specialty is no longer held, so a new host may apply for it.
    with unit_of_work() as s:
        facts = application_facts(s, Case(kind="application", state="draft", title="", data={}),
                                  {"specialty": "心血管内科"}, utcnow())
    assert check_specialty_unique("心血管内科", facts["existing_specialties"]) == []
    with pytest.raises(Refused) as refused:  # a revoked host gets no more orders, and no more removal cases
        issue()
    assert "挂靠资格已撤销" in str(refused.value)


def test_a_directory_reload_does_not_undo_a_removal(demo):
    from qcflow.services import directory
    from tests.conftest import DEMO_DIRECTORY

    issue()
    issue(grounds=(8,))
    (removal,) = cases("removal")
    with unit_of_work() as s:
        engine.fire(s, "removal", removal.id, "decide_remove", email=SECTION_HEAD, comment="主任办公会决定")
    with unit_of_work() as s:  # the same file again, which still lists CARD as active with its director
        directory.load_file(s, DEMO_DIRECTORY)
    with unit_of_work() as s:
        card = s.exec(select(Center).where(Center.code == "CARD")).one()
        assert card.status == "revoked"
        assert s.exec(select(RoleAssignment).where(RoleAssignment.role == "center_director",
                                                   RoleAssignment.center_id == card.id)).all() == []


def test_keeping_the_director_changes_nothing(demo):
    issue()
    issue(grounds=(8,))
    (removal,) = cases("removal")
    with pytest.raises(Refused) as refused:
        with unit_of_work() as s:
            engine.fire(s, "removal", removal.id, "decide_keep", email=DIRECTOR, comment="请求保留")
    assert "Y§26" in str(refused.value) and "陆一鸣没有此权限" in str(refused.value)
    with unit_of_work() as s:
        engine.fire(s, "removal", removal.id, "decide_keep", email=SECTION_HEAD, comment="整改已到位，予以保留")
    with unit_of_work() as s:
        assert s.exec(select(Center).where(Center.code == "CARD")).one().status == "active"
    assert cases("removal")[0].state == "decided_keep"
    issue(grounds=(2,))  # a third order in the same year: decided once, not opened again
    assert len(cases("removal")) == 1


def test_an_unanswered_order_becomes_overdue_and_is_escalated(demo):
    out = issue(due="2026-11-27")  # a Friday
    with unit_of_work() as s:
        deadlines.sweep(s, now=at("2026-11-26"))  # one working day before: a reminder
    assert {m.to_addr for m in mails("【办理提醒】")} >= {DIRECTOR, SECRETARY}
    with unit_of_work() as s:
        late = deadlines.sweep(s, now=at("2026-11-30"))  # the next working day after the due day
    assert late.escalated
    assert cases("rectification")[0].state == "overdue"
    assert [m.to_addr for m in mails("【逾期督办】")] == [SECTION_HEAD]
    with unit_of_work() as s:  # an overdue order can still be answered, and is then verified
        engine.fire(s, "rectification", out["id"], "respond", email=SECRETARY, changes={"response": "已补做全部任务"})
        engine.fire(s, "rectification", out["id"], "verify", email=REVIEWER)
        engine.fire(s, "rectification", out["id"], "close", email=REVIEWER)
    assert cases("rectification")[0].state == "closed"


def test_counts_per_center_and_year(demo):
    issue(now=at("2025-06-02"), due="2025-07-31")
    issue()
    issue(center="NURS", grounds=(11,))
    with unit_of_work() as s:
        listed = orders.list_orders(s, None)
        card_2026 = orders.list_orders(s, None, center="CARD", year=2026)
    assert [(c["center"], c["year"], c["orders"], c["serious"]) for c in listed["counts"]] == [
        ("CARD", 2025, 1, 0), ("CARD", 2026, 1, 0), ("NURS", 2026, 1, 1)]
    assert [o["year"] for o in card_2026["orders"]] == [2026]


# --- the commands, as a child process --------------------------------------------------------------

def run_cli(*args: str, stdin: str | None = None):
    import subprocess
    import sys

    from tests.helpers import ROOT

    return subprocess.run([sys.executable, "-m", "qcflow", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_the_orders_commands_issue_refuse_answer_and_count(demo):
    import json

    done = run_cli("--json", "orders", "issue", "--center", "CARD", "--ground", "4,9", "--due", "2026-12-31",
                   "--as", REVIEWER, "--requirements", "补做计划任务，停用自制印章")
    assert done.returncode == 0, done.stderr
    order_id = json.loads(done.stdout)["id"]

    refused = run_cli("orders", "issue", "--center", "CARD", "--ground", "4", "--due", "2026-12-31",
                      "--as", SECRETARY, "--requirements", "x")
    assert refused.returncode == 2 and "Y§25" in refused.stderr and "林小禾" in refused.stderr
    bad = run_cli("--json", "orders", "issue", "--center", "CARD", "--ground", "四", "--due", "2026-12-31",
                  "--as", REVIEWER, "--requirements", "x")
    assert bad.returncode == 2 and "项号 1–13" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr
    unknown = run_cli("orders", "issue", "--center", "XXXX", "--ground", "4", "--due", "2026-12-31",
                      "--as", REVIEWER, "--requirements", "x")
    assert unknown.returncode == 2 and "没有代码为“XXXX”的质控中心" in unknown.stderr

    answered = run_cli("case", "fire", "rectification", str(order_id), "respond", "--as", SECRETARY,
                       "--data", "-", stdin="response: 已补做全部任务\n")
    assert answered.returncode == 0, answered.stderr

    second = run_cli("orders", "issue", "--center", "CARD", "--ground", "8", "--due", "2026-12-31",
                     "--as", REVIEWER, "--requirements", "按要求匹配专项经费")
    assert second.returncode == 0 and "按第二十六条已提请卫健委决定：动态管理 #" in second.stdout

    listed = json.loads(run_cli("--json", "orders", "list", "--center", "CARD", "--year", "2026").stdout)
    assert listed["counts"] == [{"center": "CARD", "center_name": "青川市心血管病医疗质量控制中心", "year": 2026,
                                 "orders": 2, "serious": 0, "open": 2}]
    assert [o["state"] for o in listed["orders"]] == ["response_submitted", "issued"]
    text = run_cli("orders", "list").stdout
    assert "CARD   2026年  责令整改 2 次" in text
    grounds = json.loads(run_cli("--json", "orders", "grounds").stdout)
    assert len(grounds) == 13 and grounds[10]["serious"] is True
