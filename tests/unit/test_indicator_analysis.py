"""The indicator analysis as pure logic: pooled rates, no-data, ranking, flags, Y§22 aggregates, rows, samples."""
from __future__ import annotations

import pytest

from states import indicator_analysis as A
from states.indicator_rows import VALUE_LABELS, parse_value_row

PLACES = {
    "H1": A.Place("H1", "甲医院", "东区", "三级甲等"),
    "H2": A.Place("H2", "乙医院", "东区", "二级甲等"),
    "H3": A.Place("H3", "丙医院", "西区", "二级乙等"),
    "H4": A.Place("H4", "丁医院", "西区", "一级甲等"),
}
PCI = A.Indicator("PCI", "90分钟内PCI比例", "%", "higher", "process", "达标例数", "PCI例数",
                  flag=A.FlagRule(min_denominator=20))
DEATH = A.Indicator("DEATH", "住院死亡率", "%", "lower", "outcome", "死亡例数", "出院例数",
                    flag=A.FlagRule(min_denominator=20, scopes=("institution",)))


def counts(indicator: str, per_institution: dict[str, list[tuple[float, float]]]) -> list[A.Count]:
    return [A.Count(indicator, inst, q, n, d) for inst, quarters in per_institution.items()
            for q, (n, d) in enumerate(quarters, start=1)]


def test_a_zero_denominator_is_no_data_not_zero():
    assert A.rate(0, 0) is None
    assert A.rate(0, 10) == 0.0
    result = A.analyse_indicator(PCI, counts("PCI", {"H1": [(8, 10)], "H4": [(0, 0), (0, 0)]}), PLACES)
    by_code = {r["code"]: r for r in result["by_institution"]}
    assert by_code["H4"]["rate"] is None and by_code["H4"]["rank"] is None
    assert (by_code["H4"]["numerator"], by_code["H4"]["denominator"]) == (0, 0)
    assert {r["level"]: r["rate"] for r in result["by_level"]}["一级"] is None
    assert result["rate"] == 80.0  # the empty hospital does not pull the pooled rate down


def test_the_pooled_rate_is_used_not_the_average_of_rates():
    # A small hospital at 10 % and a big one at 90 %: the average of rates says 50 %, the patients say 82.73 %.
    data = {"H1": [(1, 10)], "H2": [(90, 100)]}
    assert A.average_of_rates([(1, 10), (90, 100)]) == 50.0
    result = A.analyse_indicator(PCI, counts("PCI", data), PLACES)
    assert result["overall_rate"] == pytest.approx(91 / 110 * 100, abs=1e-4)
    assert result["overall_rate"] != A.average_of_rates([(1, 10), (90, 100)])
    east = next(r for r in result["by_city"] if r["city"] == "东区")
    assert (east["numerator"], east["denominator"], east["rate"]) == (91, 110, pytest.approx(82.7273, abs=1e-4))


def test_quarters_are_summed_before_dividing():
    result = A.analyse_indicator(PCI, counts("PCI", {"H1": [(10, 10), (0, 90)]}), PLACES)
    row = result["by_institution"][0]
    assert (row["numerator"], row["denominator"], row["rate"]) == (10, 100, 10.0)
    assert row["quarters"] == {1: 100.0, 2: 0.0}


def test_ranking_follows_the_direction_and_ties_share_a_rank():
    higher = A.analyse_indicator(PCI, counts("PCI", {"H1": [(30, 40)], "H2": [(36, 40)], "H3": [(30, 40)],
                                                     "H4": [(0, 0)]}), PLACES)
    assert [(r["code"], r["rank"]) for r in higher["by_institution"]] == [("H2", 1), ("H1", 2), ("H3", 2), ("H4", None)]
    lower = A.analyse_indicator(DEATH, counts("DEATH", {"H1": [(2, 100)], "H2": [(6, 100)], "H3": [(4, 100)]}), PLACES)
    assert [(r["code"], r["rank"]) for r in lower["by_institution"]] == [("H1", 1), ("H3", 2), ("H2", 3)]


def test_flags_fall_on_who_is_worse_than_the_first_benchmark_with_enough_cases():
    data = counts("PCI", {"H1": [(36, 40)], "H2": [(20, 40)], "H3": [(5, 10)], "H4": [(29, 40)]})
    # target 75 is preferred over the provincial mean 60 (the rule's order: target, province, national)
    result = A.analyse_indicator(PCI, data, PLACES, A.Benchmarks(province=60.0, national=58.0, target=75.0))
    flagged = {(f["scope"], f["subject"]): f for f in result["flags"]}
    # H2 50 % and H4 72.5 % fall short of 75; H3 50 % has only 10 cases (< 20): not flagged; both areas
    # (东区 56/80 = 70 %, 西区 34/50 = 68 %) fall short too
    assert set(flagged) == {("institution", "H2"), ("institution", "H4"), ("city", "东区"), ("city", "西区")}
    assert flagged[("institution", "H2")]["against"] == "target"
    assert flagged[("institution", "H2")]["gap"] == 25.0
    assert "乙医院" in flagged[("institution", "H2")]["message"] and "20/40" in flagged[("institution", "H2")]["message"]
    # without a target the provincial mean is the line: only H2 (50 < 60) and no area
    result = A.analyse_indicator(PCI, data, PLACES, A.Benchmarks(province=60.0))
    assert [(f["scope"], f["subject"], f["against"]) for f in result["flags"]] == [("institution", "H2", "province")]


def test_a_lower_is_better_indicator_flags_the_higher_rates_beyond_the_margin():
    indicator = A.Indicator("DEATH", "住院死亡率", "%", "lower", "outcome", "死亡", "出院",
                            flag=A.FlagRule(min_denominator=20, margin=1.0, scopes=("institution",)))
    data = counts("DEATH", {"H1": [(5, 100)], "H2": [(6, 100)], "H3": [(7, 100)]})
    result = A.analyse_indicator(indicator, data, PLACES, A.Benchmarks(province=5.0))
    assert [f["subject"] for f in result["flags"]] == ["H3"]  # 6 % is within the 1-point margin, 7 % is not


def test_no_benchmark_flags_nobody():
    data = counts("PCI", {"H1": [(1, 100)]})
    assert A.analyse_indicator(PCI, data, PLACES)["flags"] == []


def test_year_on_year_compares_pooled_rates():
    now = counts("PCI", {"H1": [(45, 50)], "H2": [(30, 50)]})
    before = counts("PCI", {"H1": [(40, 50)], "H2": [(20, 50)]})
    result = A.analyse_indicator(PCI, now, PLACES, previous=before)
    assert (result["rate"], result["previous_rate"], result["change"]) == (75.0, 60.0, 15.0)
    assert {r["code"]: r["previous_rate"] for r in result["by_institution"]} == {"H1": 80.0, "H2": 40.0}


def test_level_groups():
    assert [A.level_group(x) for x in ("三级甲等", "二级乙等", "一级", "未定级", "")] == ["三级", "二级", "一级", "其他", "其他"]


def test_aggregates_only_removes_institutions_and_withholds_small_groups():
    data = counts("PCI", {"H1": [(30, 40)], "H2": [(36, 40)], "H3": [(30, 40)], "H4": [(10, 40)]})
    result = A.analyse_indicator(PCI, data, PLACES, A.Benchmarks(province=80.0))
    seen = A.aggregates_only(result, min_group=2)
    assert seen["by_institution"] == [] and seen["flags"] == []
    assert all(not r.get("withheld") for r in seen["by_city"])  # two hospitals per area
    levels = {r["level"]: r for r in seen["by_level"]}
    assert levels["三级"]["withheld"] and levels["三级"]["rate"] is None  # one hospital: it would be H1's figure
    assert levels["二级"]["rate"] == result["by_level"][1]["rate"]
    narrowed = A.analyse_indicator(PCI, counts("PCI", {"H1": [(30, 40)]}), PLACES)
    assert A.aggregates_only(narrowed, min_group=2)["overall_rate"] is None


def test_a_dictionary_names_each_problem():
    clean, problems = A.parse_dictionary({"specialty": "心血管内科", "year": 2026, "indicators": [
        {"code": "A", "name": "甲", "numerator": "n", "denominator": "d", "direction": "up", "category": "process"},
        {"code": "A", "name": "", "numerator": "n", "denominator": "d", "direction": "lower", "category": "outcome",
         "unit": "个", "flag": {"against": ["county"]}},
    ]})
    assert clean is None
    text = "\n".join(str(p) for p in problems)
    assert "第 1 项（A）：方向 direction" in text
    assert "第 2 项（A）：指标代码 A 重复" in text and "指标名称 name 不能为空" in text
    assert "单位 unit" in text and "flag.against" in text


def test_a_values_row_names_its_row_and_column():
    units = {2026: {"PCI": "%"}}
    row, errors = parse_value_row({"institution": "H9", "indicator": "PCI", "year": "2026", "quarter": "Q5",
                                   "numerator": "12", "denominator": "10"}, 7, {"institution": "医院代码"},
                                  frozenset({"H1"}), units)
    assert row is None
    texts = [str(e) for e in errors]
    assert "第 7 行「医院代码」：机构名录中没有代码为 H9 的医疗机构" in texts
    assert any(t.startswith("第 7 行「季度」") for t in texts)
    row, errors = parse_value_row({"institution": "h1", "indicator": "PCI", "period": "2026年第三季度",
                                   "numerator": "1,200", "denominator": "1500"}, 3, {}, frozenset({"H1"}), units)
    assert errors == [] and (row.institution, row.year, row.quarter, row.numerator) == ("H1", 2026, 3, 1200.0)
    _, errors = parse_value_row({"institution": "H1", "indicator": "PCI", "year": "2026", "quarter": "1",
                                 "numerator": "11", "denominator": "10"}, 4, {}, frozenset({"H1"}), units)
    assert [str(e) for e in errors] == [f"第 4 行「{VALUE_LABELS['numerator']}」：分子 11 大于分母 10，比率不能超过 100%"]


def test_a_spot_check_sample_is_reproducible_from_its_seed():
    pool = [f"H{i}" for i in range(50)]
    first = A.draw_sample(pool, 5, seed=20261124)
    assert first == A.draw_sample(list(reversed(pool)), 5, seed=20261124)
    assert len(set(first)) == 5 and set(first) <= set(pool)
    assert first != A.draw_sample(pool, 5, seed=20261125)
    assert A.draw_sample(pool[:3], 5, seed=1) == sorted(pool[:3])


def test_a_discrepancy_beyond_the_tolerance_is_named():
    assert A.discrepancy((90, 100), (91, 100)) is None
    found = A.discrepancy((90, 100), (70, 100))
    assert found and "分子上报 90，核查 70" in found and "率上报 90.00，核查 70.00" in found
