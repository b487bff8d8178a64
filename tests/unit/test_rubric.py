"""The rubric as data and its scoring (Y§24, Y-rubric), as tables; and the assessment workflow's pure guards."""
from __future__ import annotations

import copy

import pytest

from qcflow.core.safeload import load_yaml
from states import assessment as A
from states import rubric as R
from states.rules import Actor, CaseView, PastEvent
from states.workflow import Attempt
from tests.helpers import ROOT
from tests.unit.table import only_reason

DEMO = load_yaml((ROOT / "demo" / "rubric-2026.yaml").read_bytes(), "demo/rubric-2026.yaml")
RUBRIC, _ = R.parse(DEMO)
NO_BONUS = R.Bonus(0, "", "")


def items_summing_to(total: float) -> dict[str, float]:
    """Item scores adding up to `total` (taken from the last items first), each within its maximum."""
    scores = {i.code: i.max_points for i in RUBRIC.items}
    missing = 100 - total
    for item in reversed(RUBRIC.items):
        cut = min(missing, item.max_points)
        scores[item.code] -= cut
        missing -= cut
    assert abs(sum(scores.values()) - total) < 1e-9
    return scores


def test_the_demo_rubric_is_coherent_and_keeps_the_seed_numbers():
    assert RUBRIC is not None and RUBRIC.year == 2026 and RUBRIC.label == "年度考核"
    assert sum(i.max_points for i in RUBRIC.items) == 100 and len(RUBRIC.items) == 7
    assert (RUBRIC.funding.threshold, RUBRIC.funding.step, RUBRIC.funding.cap) == (80_000, 20_000, 3)
    assert [(b.grade, b.min_score) for b in RUBRIC.bands] == [("优秀", 85), ("良好", 75), ("合格", 65), ("不合格", 0)]
    assert [v.code for v in RUBRIC.vetoes] == ["V1", "V2"]


@pytest.mark.parametrize("change,expected", [
    (lambda d: d["items"][0].update(max_points=15), "各考核项目分值之和为 105"),
    (lambda d: d["items"][1].update(code="1"), "考核项目代码“1”重复"),
    (lambda d: d["items"][2].update(max_points=-5), "分值（max_points）应为正数"),
    (lambda d: d.update(bands=[{"grade": "优秀", "min": 85}, {"grade": "良好", "min": 75}, {"grade": "合格", "min": 65},
                                {"grade": "不合格", "min": 10}]), "最低等次（不合格）的下限应为 0"),
    (lambda d: d.update(vetoes=[]), "须列出一票否决项"),
    (lambda d: d["bonus"]["ranking"].update(excellent_single=5), "不能超过上限 3"),
    (lambda d: d.update(label="考评"), "考核名称（label）"),
])
def test_an_incoherent_rubric_is_refused_naming_the_fault(change, expected):
    data = copy.deepcopy(DEMO)
    change(data)
    parsed, faults = R.parse(data)
    assert parsed is None
    assert any(expected in f.message and f.rule == "Y-rubric" for f in faults), faults


def test_the_year_given_must_match_the_file():
    parsed, faults = R.parse(DEMO, 2027)
    assert parsed is None and "与 --year 2027 不一致" in only_reason(faults).message


@pytest.mark.parametrize("total,grade", [
    (100, "优秀"), (85, "优秀"), (84.9, "良好"), (84, "良好"), (75, "良好"), (74.9, "合格"), (74, "合格"),
    (65, "合格"), (64.9, "不合格"), (64, "不合格"), (0, "不合格"),
])
def test_band_edges_are_exactly_85_75_65(total, grade):
    assert R.grade_of(RUBRIC, total, vetoed=False) == grade
    assert R.outcome(RUBRIC, items_summing_to(total), NO_BONUS, NO_BONUS).grade == grade


@pytest.mark.parametrize("amount,proof,points", [
    (None, "", 0), (80_000, "拨款文件", 0), (99_999, "拨款文件", 0), (100_000, "拨款文件", 1), (119_999, "拨款文件", 1),
    (120_000, "拨款文件", 2), (140_000, "拨款文件", 3), (200_000, "拨款文件", 3), (1_000_000, "拨款文件", 3),
    (200_000, "", 0),  # bonus points need documentary proof (需提供具实凭证)
])
def test_funding_bonus_per_20000_above_80000_capped_at_3_and_only_with_proof(amount, proof, points):
    assert R.funding_bonus(RUBRIC, amount, proof).points == points


@pytest.mark.parametrize("rank,points", [("", 0), ("1", 3), ("2", 2), ("3", 1), ("excellent_multi", 2),
                                         ("excellent_single", 3)])
def test_provincial_ranking_bonus(rank, points):
    assert R.ranking_bonus(RUBRIC, rank).points == points


def test_a_bonus_pushes_a_center_across_a_band():
    items = items_summing_to(83)
    assert R.outcome(RUBRIC, items, NO_BONUS, NO_BONUS).grade == "良好"
    pushed = R.outcome(RUBRIC, items, R.funding_bonus(RUBRIC, 120_000, "青一院财〔2026〕12号"), NO_BONUS)
    assert (pushed.score, pushed.bonus, pushed.total, pushed.grade) == (83, 2, 85, "优秀")


def test_both_bonuses_are_each_capped():
    both = R.outcome(RUBRIC, items_summing_to(60), R.funding_bonus(RUBRIC, 500_000, "凭证"), R.ranking_bonus(RUBRIC, "1"))
    assert (both.bonus, both.total, both.grade) == (6, 66, "合格")


def test_a_veto_forces_failing_whatever_the_score():
    vetoed = R.outcome(RUBRIC, items_summing_to(98), R.funding_bonus(RUBRIC, 140_000, "凭证"), NO_BONUS,
                       "V2", "以中心名义为企业推介产品")
    assert (vetoed.total, vetoed.grade, vetoed.vetoed) == (101, "不合格", True)
    assert vetoed.veto_ground == "V2：以中心名义为企业推介产品"


@pytest.mark.parametrize("rows,expected", [
    ([{"item": "1", "score": "11"}], "项目 1（"),  # above the item's maximum of 10
    ([{"item": "1", "score": "-1"}], "超出 0–10 分"),
    ([{"item": "4", "score": "15", "reason": ""}], "扣 5 分，须写明扣分理由"),
    ([{"item": "9", "score": "5"}], "项目“9”不在 2026 年考核细则中"),
    ([{"item": "1", "score": "八"}], "不是数字"),
    ([{"item": "1", "score": "10"}, {"item": "1", "score": "10"}], "项目 1 重复评分"),
])
def test_a_score_sheet_refuses_what_the_rubric_forbids(rows, expected):
    full = [{"item": i.code, "score": str(i.max_points)} for i in RUBRIC.items if i.code not in {r["item"] for r in rows}]
    _, _, faults = R.sheet(RUBRIC, rows + full, "评分")
    assert any(expected in f.message and f.rule == "Y§24" for f in faults), faults


def test_a_score_sheet_must_cover_every_item_and_keeps_the_reasons():
    scores, reasons, faults = R.sheet(RUBRIC, [{"item": "4", "score": "16", "reason": "培训仅 1 次"}], "评分")
    assert "尚有项目未评分：1、2、3、5、6、7" in only_reason(faults).message
    assert scores == {"4": 16} and reasons == {"4": "培训仅 1 次"}


def test_scorers_means_are_rounded_to_one_decimal():
    assert R.combine([{"1": 8, "2": 9}, {"1": 9, "2": 9}, {"1": 9, "2": 10}], RUBRIC) == {"1": 8.7, "2": 9.3}


# --- the workflow's guards ------------------------------------------------------------------------

POOL = {"e1@x": {"person_id": 11, "name": "白敬之", "institution": "QCH2"},
        "e2@x": {"person_id": 12, "name": "江望舒", "institution": "QCH1"}}
EXPERT_2 = Actor(12, "江望舒", frozenset({("expert", None)}))
BASE = {"rubric": DEMO, "host": "QCH1", "host_name": "青川市第一人民医院", "experts": ["e1@x", "e2@x"], "votes": {}}


def view(state: str, history=(), **data) -> CaseView:
    return CaseView("assessment", state, 1, 0, {**BASE, **data}, tuple(history),
                    facts={"expert_pool": POOL, "today": None, "appeal_until": None})


def test_a_scorer_from_the_centers_own_host_is_refused():
    reasons = A.WORKFLOW.check(view("self_assessed"), EXPERT_2, Attempt("score", changes={"scores": [
        {"item": i.code, "score": str(i.max_points)} for i in RUBRIC.items]}))
    reason = only_reason(reasons)
    assert reason.rule == "Y§24"
    assert reason.message == "评分专家 江望舒 来自该中心的挂靠单位（青川市第一人民医院），须回避，不能为本中心评分"


def test_assigning_a_scorer_from_the_host_is_refused():
    commission = Actor(1, "周文清", frozenset({("commission_reviewer", None)}))
    reason = only_reason(A.WORKFLOW.check(view("open"), commission, Attempt("assign_scorers", changes={"experts": ["e2@x"]})))
    assert reason.rule == "Y§24" and "江望舒 来自该中心的挂靠单位" in reason.message


def test_a_veto_needs_its_ground():
    commission = Actor(1, "周文清", frozenset({("commission_reviewer", None)}))
    reasons = A.WORKFLOW.check(view("scored"), commission, Attempt("moderate", changes={"veto": "V1", "veto_ground": ""}))
    assert [(r.rule, r.message) for r in reasons] == [("Y§24", "认定一票否决须写明事实依据（veto_ground）")]


def test_an_appeal_is_allowed_once():
    director = Actor(5, "陆一鸣", frozenset({("center_director", 1)}))
    appealed = [PastEvent("publish", 1, "published"), PastEvent("appeal", 5, "appealed"),
                PastEvent("re_moderate", 1, "re_moderated"), PastEvent("publish", 1, "published")]
    reason = only_reason(A.WORKFLOW.check(view("published", appealed), director, Attempt("appeal", comment="不服")))
    assert (reason.rule, reason.message) == ("Y§24", "考核结果只能申诉一次；本次考核已申诉并复核")


@pytest.mark.parametrize("votes,assigned,deadline_passed,done", [
    (2, 2, False, True), (1, 2, False, False), (1, 2, True, False),  # half is no majority
    (2, 3, True, True), (2, 3, False, False), (0, 0, True, False),
])
def test_scoring_closes_when_every_scorer_scored_or_after_the_deadline_with_a_majority(votes, assigned,
                                                                                       deadline_passed, done):
    assert A.scoring_done({str(i): {} for i in range(votes)}, assigned, deadline_passed) is done
