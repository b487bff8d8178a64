"""Y§24–§26 as pure rules: when a removal case is due, what an order must say, and who may act.

The expectations are written out by hand from the seed (第二十四条至第二十六条), never read from the tables.
"""
from __future__ import annotations

from datetime import date

import pytest

from states import rectification as R
from states import removal
from states.removal import OrderFact, removal_grounds
from states.rules import SYSTEM, Actor, CaseView
from states.workflow import Attempt
from states.y25_grounds import GROUNDS
from tests.unit.table import only_reason

CARD = 10
SECRETARY = Actor(1, "林小禾", frozenset({("center_secretary", CARD)}))
DIRECTOR = Actor(2, "陆一鸣", frozenset({("center_director", CARD)}))
OTHER_SECRETARY = Actor(5, "唐雨晴", frozenset({("center_secretary", 20)}))
REVIEWER = Actor(6, "周文清", frozenset({("commission_reviewer", None)}))
HEAD = Actor(7, "钱立衡", frozenset({("section_head", None)}))


def order(case_id: int, year: int, serious: bool = False) -> OrderFact:
    return OrderFact(case_id, year, f"责令整改通知 #{case_id}", serious)


def grounds(found) -> list[tuple[str, int]]:
    return [(f.ground, f.year) for f in found]


# --- Y§26: which records open a removal case ------------------------------------------------------

@pytest.mark.parametrize("orders,grades,expected", [
    pytest.param([order(1, 2026)], {}, [], id="one order: none"),
    pytest.param([order(1, 2026), order(2, 2026)], {}, [("orders", 2026)], id="two orders in one year"),
    pytest.param([order(1, 2026), order(2, 2026), order(3, 2026)], {}, [("orders", 2026)],
                 id="three orders in one year: still one ground"),
    pytest.param([order(1, 2025), order(2, 2026)], {}, [], id="two orders in two years: none"),
    pytest.param([order(1, 2026, serious=True)], {}, [("serious", 2026)], id="a serious case"),
    pytest.param([], {2025: "不合格", 2026: "不合格"}, [("failing", 2026)], id="two failing years"),
    pytest.param([], {2024: "不合格", 2026: "不合格"}, [], id="failing years not consecutive: none"),
    pytest.param([], {2025: "合格", 2026: "不合格"}, [], id="one failing year: none"),
    pytest.param([], {2024: "不合格", 2025: "不合格", 2026: "不合格"}, [("failing", 2025), ("failing", 2026)],
                 id="three failing years: each pair"),
    pytest.param([order(1, 2026, serious=True), order(2, 2026)], {2025: "不合格", 2026: "不合格"},
                 [("serious", 2026), ("orders", 2026), ("failing", 2026)], id="every ground at once"),
])
def test_the_y26_grounds_as_a_table(orders, grades, expected):
    found = removal_grounds(orders, grades)
    assert grounds(found) == expected
    assert all(f.reason.rule == "Y§26" for f in found)


def test_a_finding_carries_the_facts_the_commission_decides_on():
    (finding,) = removal_grounds([order(1, 2026), order(2, 2026)], {2025: "良好", 2026: "合格"})
    assert [o.case_id for o in finding.orders] == [1, 2]
    assert finding.grades == ((2025, "良好"), (2026, "合格"))
    assert "2026年被责令整改 2 次（#1、#2）" in finding.reason.message
    data = removal.case_data(finding, "青川市心血管病医疗质量控制中心", [("陆一鸣", "director@card.example")])
    assert data["ground"] == "orders" and data["year"] == 2026
    assert "2025年 良好" in data["facts"] and "#1 责令整改通知 #1" in data["facts"] and "陆一鸣" in data["facts"]
    assert data["recipients"] == [{"name": "陆一鸣", "email": "director@card.example"}]


def test_one_key_per_ground_and_year_so_a_rerun_opens_none_more():
    first = removal_grounds([order(1, 2026), order(2, 2026)], {})
    again = removal_grounds([order(1, 2026), order(2, 2026), order(3, 2026)], {})
    assert [f.key("CARD") for f in first] == [f.key("CARD") for f in again] == ["removal:CARD:orders:2026"]


# --- Y§25: the grounds and what an order must say ---------------------------------------------------

def test_the_thirteen_grounds_are_the_seeds():
    assert sorted(GROUNDS) == list(range(1, 14))
    assert GROUNDS[8].text == "挂靠单位未按要求及时匹配专项经费"
    assert GROUNDS[11].text == "质控中心所在专业领域发生重大医疗质量安全事件"
    assert {n for n, g in GROUNDS.items() if g.serious} == {11, 13}


def good_order(**overrides) -> dict:
    return {"basis": "Y§25", "grounds": [4], "due_date": "2026-12-31", "requirements": "补报计划任务", **overrides}


@pytest.mark.parametrize("overrides,rule,words", [
    ({"grounds": []}, "Y§25", "须写明第二十五条所列的事由"),
    ({"grounds": [14]}, "Y§25", "以下不是：14"),
    ({"grounds": ["四"]}, "Y§25", "以下不是：四"),
    ({"due_date": "2026-13-01"}, "Y§25", "整改期限须为日期"),
    ({"requirements": " "}, "Y§25", "须写明整改要求"),
    ({"serious": True}, "Y§26", "认定情节严重须写明认定的事实和理由"),
    ({"basis": "Y§99"}, "Y§25", "整改依据须为"),
])
def test_an_order_that_does_not_say_enough_is_refused_with_its_article(overrides, rule, words):
    reason = only_reason(R.validate(good_order(**overrides)))
    assert reason.rule == rule and words in reason.message


def test_a_well_formed_order_passes_and_an_assessment_order_needs_no_y25_ground():
    assert R.validate(good_order()) == []
    assert R.validate(good_order(basis="Y§24", grounds=[])) == []


def test_the_due_date_lies_after_the_day_of_issue():
    today = date(2026, 11, 24)
    assert only_reason(R.check_due(today, today)).message == "整改期限 2026-11-24 须晚于下达之日 2026-11-24"
    assert R.check_due(date(2026, 11, 25), today) == []


def test_seriousness_is_the_commissions_finding_or_a_ground_serious_by_nature():
    assert not R.is_serious(good_order())
    assert R.is_serious(good_order(serious=True, serious_reason="多次违规"))
    assert R.is_serious(good_order(grounds=[4, 11]))


def test_the_notice_quotes_each_ground_and_the_due_date():
    text = R.notice_text(good_order(grounds=[4, 9]), "青川市心血管病医疗质量控制中心")
    assert "第二十五条（四）" in text and GROUNDS[9].text in text and "2026-12-31 前" in text
    assert R.title_for("某中心", good_order(grounds=[4, 9])) == "责令整改通知：某中心（第二十五条（四）、第二十五条（九））"


# --- who may act ------------------------------------------------------------------------------------

def order_case(state: str, **data) -> CaseView:
    return CaseView("rectification", state, CARD, 6, data=good_order(**data))


def test_only_the_centers_director_or_secretary_responds():
    reason = only_reason(R.WORKFLOW.check(order_case("issued"), OTHER_SECRETARY,
                                          Attempt("respond", changes={"response": "已整改"})))
    assert reason.rule == "Y§25" and "只能由质控中心主任或质控中心秘书进行，唐雨晴没有此权限" in reason.message
    assert R.WORKFLOW.next_state(order_case("issued"), SECRETARY,
                                 Attempt("respond", changes={"response": "已整改"})) == "response_submitted"


def test_a_response_must_be_written_and_may_not_rewrite_the_order():
    empty = only_reason(R.WORKFLOW.check(order_case("issued"), DIRECTOR, Attempt("respond")))
    assert empty.rule == "Y§25" and "请填写整改情况报告" in empty.message
    rewrite = R.WORKFLOW.check(order_case("issued"), DIRECTOR,
                               Attempt("respond", changes={"response": "已整改", "due_date": "2027-06-30"}))
    assert only_reason(rewrite).message == "整改通知的事由、要求和期限由卫健委下达，中心不能修改（due_date）"


def test_returning_a_response_needs_a_comment_and_only_the_commission_verifies():
    returned = only_reason(R.WORKFLOW.check(order_case("response_submitted"), REVIEWER, Attempt("return")))
    assert returned.rule == "Y§25" and "写明哪些问题尚未整改到位" in returned.message
    verify = only_reason(R.WORKFLOW.check(order_case("response_submitted"), SECRETARY, Attempt("verify")))
    assert "核实整改到位" in verify.message and "林小禾没有此权限" in verify.message
    assert R.WORKFLOW.next_state(order_case("response_submitted"), HEAD, Attempt("verify")) == "verified"


def test_overdue_is_the_systems_and_an_overdue_order_can_still_be_answered():
    by_hand = only_reason(R.WORKFLOW.check(order_case("issued"), REVIEWER, Attempt("mark_overdue")))
    assert "由系统自动进行" in by_hand.message
    assert R.WORKFLOW.next_state(order_case("issued"), SYSTEM, Attempt("mark_overdue")) == "overdue"
    assert R.WORKFLOW.next_state(order_case("overdue"), SECRETARY,
                                 Attempt("respond", changes={"response": "逾期整改完毕"})) == "response_submitted"


def removal_case(state: str = "proposed") -> CaseView:
    return CaseView("removal", state, CARD, 0, data={"ground": "orders", "year": 2026})


def test_only_the_commission_decides_a_removal_and_says_why():
    by_director = only_reason(removal.WORKFLOW.check(removal_case(), DIRECTOR,
                                                     Attempt("decide_keep", comment="我不同意")))
    assert by_director.rule == "Y§26" and "陆一鸣没有此权限" in by_director.message
    no_reason = only_reason(removal.WORKFLOW.check(removal_case(), HEAD, Attempt("decide_remove")))
    assert no_reason.rule == "Y§26" and "免职决定须写明决定的理由" in no_reason.message
    assert removal.WORKFLOW.next_state(removal_case(), HEAD,
                                       Attempt("decide_remove", comment="主任办公会决定")) == "decided_remove"


def test_a_decision_is_final():
    again = only_reason(removal.WORKFLOW.check(removal_case("decided_keep"), HEAD,
                                               Attempt("decide_remove", comment="改变主意")))
    assert "不能再“决定免职并撤销挂靠资格”" in again.message and "卫健委已作出决定" in again.message


def test_no_one_opens_a_removal_case_by_hand():
    assert only_reason(removal.WORKFLOW.check_create(HEAD, CARD)).rule == "Y§26"


def test_an_order_not_written_by_the_order_service_is_refused():
    reason = only_reason(R.WORKFLOW.validate_new(good_order()))
    assert reason.rule == "Y§25" and "qcflow orders issue" in reason.message
    assert R.WORKFLOW.validate_new(good_order(notice="……", year=2026, issued_on="2026-11-24")) == []


def test_the_notice_a_browser_sends_back_with_crlf_is_not_a_change():
    case = order_case("issued", notice="第一行\n第二行")
    attempt = Attempt("respond", changes={"response": "已整改", "notice": "第一行\r\n第二行\r\n"})
    assert R.WORKFLOW.check(case, SECRETARY, attempt) == []
    stored = R.WORKFLOW.transitions["respond"].apply(case.data, attempt.changes, SECRETARY)
    assert stored["notice"] == "第一行\n第二行" and stored["response"] == "已整改"
