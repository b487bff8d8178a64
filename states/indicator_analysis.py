"""Monitoring indicators analysed by city, institution level and institution (H3, Y§14(3)). Pure: no I/O.

A rate is always pooled: the summed numerators over the summed denominators of the institutions
(and quarters) in a group, times the indicator's scale. An average of the institutions' rates would
let a hospital with 10 cases weigh as much as one with 1,000. A zero denominator is "no data" (None),
never 0 %.

The rule that flags who falls short (H3: "带着数据" targeted guidance) is policy data: `FLAG_RULE`,
which an indicator of the dictionary may override (`flag:` in its YAML).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Optional

from states.policy import Limit
from states.rules import Actor, Reason

RULE = "H3"
SPOT_CHECK_RULE = "Y§14(3)"

DIRECTIONS = {"higher": "越高越好", "lower": "越低越好"}
CATEGORIES = {"structure": "结构指标", "process": "过程指标", "outcome": "结果指标"}
SCOPES = {"institution": "医疗机构", "city": "地区"}
BENCHMARKS = {"target": "改进目标值", "province": "全省均值", "national": "全国均值"}
# How a unit scales numerator/denominator into the rate people read.
UNIT_SCALES = {"%": 100.0, "‰": 1000.0, "‱": 10000.0, "": 1.0}
LEVEL_GROUPS = ("三级", "二级", "一级")
OTHER_LEVEL = "其他"
QUARTERS = (1, 2, 3, 4)

# Aggregates shown to readers who may not see institutions (Y§22): a group of fewer institutions than
# this would let anyone read one hospital's figures off its city or level row, so it is withheld.
MIN_GROUP_FOR_AGGREGATES = Limit(3, "Y§22")
# A discrepancy found by a spot check: the verified rate differs from the reported one by more than
# this many percent of the reported (or either count differs by more than this share).
SPOT_CHECK_TOLERANCE_PERCENT = Limit(5, SPOT_CHECK_RULE)
SPOT_CHECK_DEFAULT_SIZE = Limit(5, SPOT_CHECK_RULE)


@dataclass(frozen=True)
class FlagRule:
    """Who is flagged: a rate worse than the first benchmark available (in `against` order) by more
    than `margin` (in the indicator's unit), with at least `min_denominator` cases behind it."""

    against: tuple[str, ...] = ("target", "province", "national")
    min_denominator: int = 30
    margin: float = 0.0
    scopes: tuple[str, ...] = ("institution", "city")
    rule: str = RULE


FLAG_RULE = FlagRule()


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    unit: str = "%"
    direction: str = "higher"  # higher | lower (is better)
    category: str = "process"  # structure | process | outcome
    numerator: str = ""
    denominator: str = ""
    national_goal: str = ""
    flag: FlagRule = FLAG_RULE

    @property
    def scale(self) -> float:
        return UNIT_SCALES.get(self.unit, 1.0)


@dataclass(frozen=True)
class Count:
    """One reported value: an institution's numerator and denominator of an indicator in a quarter."""

    indicator: str
    institution: str
    quarter: int
    numerator: float
    denominator: float


@dataclass(frozen=True)
class Place:
    """An institution as the analysis groups it."""

    code: str
    name: str
    city: str
    level: str


# --- rates ------------------------------------------------------------------------------------------

def rate(numerator: float, denominator: float, scale: float = 100.0) -> Optional[float]:
    """The rate in the indicator's unit; None (no data) when the denominator is zero."""
    if not denominator:
        return None
    return round(numerator / denominator * scale, 4)


def pooled(counts: Iterable[tuple[float, float]], scale: float = 100.0) -> dict[str, Any]:
    """Summed numerator and denominator of a group, and their rate."""
    num = den = 0.0
    for n, d in counts:
        num += n
        den += d
    return {"numerator": _number(num), "denominator": _number(den), "rate": rate(num, den, scale)}


def average_of_rates(counts: Iterable[tuple[float, float]], scale: float = 100.0) -> Optional[float]:
    """The unweighted mean of the members' rates: shown nowhere, kept so a test can show why it is wrong."""
    rates = [r for r in (rate(n, d, scale) for n, d in counts) if r is not None]
    return round(sum(rates) / len(rates), 4) if rates else None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


def level_group(level: str) -> str:
    """三级甲等 → 三级; anything without a known grade → 其他."""
    text = (level or "").strip()
    return next((g for g in LEVEL_GROUPS if text.startswith(g)), OTHER_LEVEL)


def better(a: Optional[float], b: Optional[float], direction: str) -> bool:
    """Whether rate a is strictly better than rate b."""
    if a is None or b is None:
        return False
    return a > b if direction == "higher" else a < b


def shortfall(value: Optional[float], benchmark: Optional[float], direction: str) -> Optional[float]:
    """How far `value` falls short of `benchmark` in the indicator's unit (positive: worse), None when unknown."""
    if value is None or benchmark is None:
        return None
    return round((benchmark - value) if direction == "higher" else (value - benchmark), 4)


def rank(rows: list[dict[str, Any]], direction: str) -> None:
    """Give each row with a rate its rank, best first (ties share a rank); rows without data get None."""
    ordered = sorted((r for r in rows if r["rate"] is not None),
                     key=lambda r: -r["rate"] if direction == "higher" else r["rate"])
    previous, position = None, 0
    for i, row in enumerate(ordered, start=1):
        if row["rate"] != previous:
            position, previous = i, row["rate"]
        row["rank"] = position
    for row in rows:
        row.setdefault("rank", None)


# --- the analysis -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Benchmarks:
    province: Optional[float] = None
    national: Optional[float] = None
    target: Optional[float] = None

    def first(self, against: tuple[str, ...]) -> tuple[Optional[str], Optional[float]]:
        for name in against:
            value = getattr(self, name, None)
            if value is not None:
                return name, value
        return None, None


def analyse_indicator(indicator: Indicator, counts: list[Count], places: Mapping[str, Place],
                      benchmarks: Benchmarks = Benchmarks(), previous: Optional[list[Count]] = None,
                      quarters: Optional[tuple[int, ...]] = None) -> dict[str, Any]:
    """One indicator over a year: overall, by city, by level, by institution, ranked, against the
    benchmarks and the previous year, with the flags of FlagRule."""
    scale, direction = indicator.scale, indicator.direction
    chosen = [c for c in counts if c.indicator == indicator.code and (not quarters or c.quarter in quarters)]
    before = [c for c in previous or [] if c.indicator == indicator.code and (not quarters or c.quarter in quarters)]

    def group(key) -> dict[str, list[Count]]:
        out: dict[str, list[Count]] = {}
        for c in chosen:
            if c.institution in places:
                out.setdefault(key(places[c.institution]), []).append(c)
        return out

    def pooled_of(items: list[Count]) -> dict[str, Any]:
        return pooled(((c.numerator, c.denominator) for c in items), scale)

    previous_by_institution = {code: pooled(((c.numerator, c.denominator) for c in items), scale)["rate"]
                               for code, items in _by(before, lambda c: c.institution).items()}
    previous_by_city = {city: pooled(((c.numerator, c.denominator) for c in items), scale)["rate"]
                        for city, items in _by([c for c in before if c.institution in places],
                                               lambda c: places[c.institution].city).items()}
    institutions = []
    for code, items in sorted(group(lambda p: p.code).items()):
        place = places[code]
        row = {"code": code, "name": place.name, "city": place.city, "level": place.level,
               "level_group": level_group(place.level), **pooled_of(items),
               "quarters": {q: rate(sum(c.numerator for c in items if c.quarter == q),
                                    sum(c.denominator for c in items if c.quarter == q), scale)
                            for q in sorted({c.quarter for c in items})},
               "previous_rate": previous_by_institution.get(code)}
        institutions.append(row)
    cities = [{"city": city, "institutions": len({c.institution for c in items}), **pooled_of(items),
               "previous_rate": previous_by_city.get(city)}
              for city, items in sorted(group(lambda p: p.city).items())]
    levels = [{"level": lvl, "institutions": len({c.institution for c in items}), **pooled_of(items)}
              for lvl, items in sorted(group(lambda p: level_group(p.level)).items(), key=lambda kv: _level_order(kv[0]))]
    for rows in (institutions, cities, levels):
        rank(rows, direction)
    institutions.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    overall = pooled_of([c for c in chosen if c.institution in places])
    previous_overall = pooled(((c.numerator, c.denominator) for c in before if c.institution in places), scale)["rate"]
    result = {
        "code": indicator.code, "name": indicator.name, "unit": indicator.unit, "direction": direction,
        "direction_label": DIRECTIONS.get(direction, direction), "category": indicator.category,
        "category_label": CATEGORIES.get(indicator.category, indicator.category),
        "numerator_definition": indicator.numerator, "denominator_definition": indicator.denominator,
        "national_goal": indicator.national_goal,
        **overall, "overall_rate": overall["rate"],
        "province_mean": benchmarks.province, "national_mean": benchmarks.national, "target": benchmarks.target,
        "previous_rate": previous_overall,
        "change": None if overall["rate"] is None or previous_overall is None
        else round(overall["rate"] - previous_overall, 4),
        "by_city": cities, "by_level": levels, "by_institution": institutions,
    }
    result["flags"] = flags_for(indicator, result, benchmarks)
    return result


def _by(items: list[Count], key) -> dict[str, list[Count]]:
    out: dict[str, list[Count]] = {}
    for c in items:
        out.setdefault(key(c), []).append(c)
    return out


def _level_order(name: str) -> int:
    return LEVEL_GROUPS.index(name) if name in LEVEL_GROUPS else len(LEVEL_GROUPS)


def flags_for(indicator: Indicator, result: dict[str, Any], benchmarks: Benchmarks) -> list[dict[str, Any]]:
    """Who falls short under the indicator's rule: each flag carries the numbers its guidance task shows."""
    rule = indicator.flag
    against, benchmark = benchmarks.first(rule.against)
    if benchmark is None:
        return []
    out = []
    subjects = []
    if "institution" in rule.scopes:
        subjects += [("institution", r["code"], r["name"], r) for r in result["by_institution"]]
    if "city" in rule.scopes:
        subjects += [("city", r["city"], r["city"], r) for r in result["by_city"]]
    for scope, code, name, row in subjects:
        gap = shortfall(row["rate"], benchmark, indicator.direction)
        if gap is None or row["denominator"] < rule.min_denominator or gap <= rule.margin:
            continue
        unit = indicator.unit
        out.append({
            "scope": scope, "scope_label": SCOPES[scope], "subject": code, "subject_name": name,
            "numerator": row["numerator"], "denominator": row["denominator"], "rate": row["rate"],
            "rank": row.get("rank"), "against": against, "against_label": BENCHMARKS[against],
            "benchmark": benchmark, "gap": gap, "rule": rule.rule,
            "message": (f"{name}{indicator.name}为 {fmt_rate(row['rate'], unit)}（{row['numerator']}/{row['denominator']}），"
                        f"{DIRECTIONS.get(indicator.direction, '')}，未达{BENCHMARKS[against]} {fmt_rate(benchmark, unit)}，"
                        f"相差 {fmt_gap(gap, unit)}"),
        })
    return out


def fmt_gap(value: float, unit: str = "%") -> str:
    """A difference of two rates: percentage points for a percentage."""
    return f"{value:.2f} 个百分点" if unit == "%" else f"{value:.2f}{unit}"


def fmt_rate(value: Optional[float], unit: str = "%") -> str:
    if value is None:
        return "无数据"
    return f"{value:.2f}{unit}"


def analyse(indicators: list[Indicator], counts: list[Count], places: Mapping[str, Place],
            benchmarks: Mapping[str, Benchmarks], previous: Optional[list[Count]] = None,
            quarters: Optional[tuple[int, ...]] = None) -> list[dict[str, Any]]:
    return [analyse_indicator(i, counts, places, benchmarks.get(i.code, Benchmarks()), previous, quarters)
            for i in indicators]


# --- who sees what (Y§22) ---------------------------------------------------------------------------

def aggregates_only(result: dict[str, Any], min_group: int = MIN_GROUP_FOR_AGGREGATES.value) -> dict[str, Any]:
    """The analysis as a reader who may not see institutions gets it: no institution rows, no flags,
    and city or level groups of fewer than `min_group` institutions withheld."""
    def keep(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r if r["institutions"] >= min_group else {**_withheld(r), "withheld": True} for r in rows]
    out = {**result, "by_institution": [], "flags": [], "by_city": keep(result["by_city"]),
           "by_level": keep(result["by_level"]), "institutions": len(result["by_institution"])}
    if out["institutions"] < min_group:  # a filter down to one or two hospitals would show them
        out.update({"numerator": None, "denominator": None, "rate": None, "overall_rate": None,
                    "previous_rate": None, "change": None, "withheld": True})
    return out


def _withheld(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "numerator": None, "denominator": None, "rate": None, "rank": None, "previous_rate": None}


# --- who may write ---------------------------------------------------------------------------------

COMMISSION_ROLES = ("commission_reviewer", "section_head")
CENTER_STAFF = ("center_director", "center_deputy", "center_secretary")


def import_refusal(actor: Actor, center_id: Optional[int], specialty: str) -> Optional[Reason]:
    """Y§14(3): the specialty's center collects its data; the commission may import for any specialty."""
    if any(actor.holds(role) for role in COMMISSION_ROLES):
        return None
    if center_id is not None and any(actor.holds(role, center_id) for role in CENTER_STAFF):
        return None
    whose = "本专业质控中心的主任、副主任、秘书" if center_id is not None else "卫健委医政医管科（该专业尚无质控中心）"
    return Reason(SPOT_CHECK_RULE, f"{actor.name} 不能导入或核查“{specialty}”的指标数据：须由{whose}或卫健委医政医管科进行")


# --- the dictionary file --------------------------------------------------------------------------

@dataclass
class DictionaryProblem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}：{self.message}"


def parse_dictionary(raw: Any) -> tuple[Optional[dict[str, Any]], list[DictionaryProblem]]:
    """Check a dictionary file's content: {specialty, year, indicators: [{code, name, numerator,
    denominator, unit, direction, category, national_goal, flag?}]}. Returns (clean, problems)."""
    problems: list[DictionaryProblem] = []
    if not isinstance(raw, dict):
        return None, [DictionaryProblem("文件", "应为含 specialty、year、indicators 的对应表")]
    specialty = str(raw.get("specialty") or "").strip()
    if not specialty:
        problems.append(DictionaryProblem("specialty", "须填写专业（与质控中心的专业一致，例如 心血管内科）"))
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        problems.append(DictionaryProblem("year", f"年份应为四位整数，例如 2026（文件中为 {year!r}）"))
    items = raw.get("indicators")
    if not isinstance(items, list) or not items:
        problems.append(DictionaryProblem("indicators", "须列出至少一项指标"))
        items = []
    seen: set[str] = set()
    clean = []
    for n, item in enumerate(items, start=1):
        where = f"indicators 第 {n} 项"
        if not isinstance(item, dict):
            problems.append(DictionaryProblem(where, "应为含 code、name 等字段的对应表"))
            continue
        code = str(item.get("code") or "").strip()
        where = f"{where}（{code or '无代码'}）"
        if not code:
            problems.append(DictionaryProblem(where, "指标代码 code 不能为空"))
        elif code in seen:
            problems.append(DictionaryProblem(where, f"指标代码 {code} 重复"))
        seen.add(code)
        for key, label in (("name", "指标名称"), ("numerator", "分子定义"), ("denominator", "分母定义")):
            if not str(item.get(key) or "").strip():
                problems.append(DictionaryProblem(where, f"{label} {key} 不能为空"))
        unit = str(item.get("unit", "%") if item.get("unit") is not None else "")
        if unit not in UNIT_SCALES:
            problems.append(DictionaryProblem(where, f"单位 unit 应为 {'、'.join(repr(u) for u in UNIT_SCALES)} 之一"))
        direction = str(item.get("direction") or "")
        if direction not in DIRECTIONS:
            problems.append(DictionaryProblem(where, "方向 direction 应为 higher（越高越好）或 lower（越低越好）"))
        category = str(item.get("category") or "")
        if category not in CATEGORIES:
            problems.append(DictionaryProblem(where, "类别 category 应为 structure（结构）、process（过程）或 outcome（结果）"))
        flag, flag_problems = _flag_rule(item.get("flag"), where)
        problems += flag_problems
        clean.append({"code": code, "name": str(item.get("name") or "").strip(),
                      "numerator": str(item.get("numerator") or "").strip(),
                      "denominator": str(item.get("denominator") or "").strip(), "unit": unit,
                      "direction": direction, "category": category,
                      "national_goal": str(item.get("national_goal") or "").strip(), "flag": flag})
    if problems:
        return None, problems
    return {"specialty": specialty, "year": year, "indicators": clean}, []


def _flag_rule(raw: Any, where: str) -> tuple[dict[str, Any], list[DictionaryProblem]]:
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [DictionaryProblem(where, "flag 应为对应表，例如 {against: [province], min_denominator: 20}")]
    problems, out = [], {}
    unknown = set(raw) - {"against", "min_denominator", "margin", "scopes"}
    if unknown:
        problems.append(DictionaryProblem(where, f"flag 中有未知的项：{'、'.join(sorted(map(str, unknown)))}"))
    if "against" in raw:
        against = raw["against"] if isinstance(raw["against"], list) else [raw["against"]]
        if not against or any(a not in BENCHMARKS for a in against):
            problems.append(DictionaryProblem(where, "flag.against 应为 target、province、national 中的一项或几项"))
        out["against"] = [str(a) for a in against]
    if "scopes" in raw:
        scopes = raw["scopes"] if isinstance(raw["scopes"], list) else [raw["scopes"]]
        if not scopes or any(s not in SCOPES for s in scopes):
            problems.append(DictionaryProblem(where, "flag.scopes 应为 institution、city 中的一项或两项"))
        out["scopes"] = [str(s) for s in scopes]
    for key, label in (("min_denominator", "最小分母"), ("margin", "容差")):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                problems.append(DictionaryProblem(where, f"flag.{key}（{label}）应为不小于 0 的数"))
            else:
                out[key] = value
    return out, problems


def flag_rule_of(stored: Mapping[str, Any]) -> FlagRule:
    """The policy rule with an indicator's overrides from its dictionary entry."""
    changes: dict[str, Any] = {}
    for key in ("against", "scopes"):
        if stored.get(key):
            changes[key] = tuple(stored[key])
    for key in ("min_denominator", "margin"):
        if key in stored:
            changes[key] = stored[key]
    return replace(FLAG_RULE, **changes)


# --- spot checks ----------------------------------------------------------------------------------

def draw_sample(institutions: list[str], size: int, seed: int) -> list[str]:
    """A reproducible sample: the same institutions, size and seed draw the same sample anywhere."""
    import random

    pool = sorted(set(institutions))
    chooser = random.Random(f"qcflow-spot-check:{seed}")
    return sorted(chooser.sample(pool, min(size, len(pool))))


def discrepancy(reported: tuple[float, float], verified: tuple[float, float], scale: float = 100.0,
                tolerance_percent: float = SPOT_CHECK_TOLERANCE_PERCENT.value) -> Optional[str]:
    """Why the verified counts do not bear out the reported ones (None when they do, within the tolerance)."""
    problems = []
    for label, r, v in (("分子", reported[0], verified[0]), ("分母", reported[1], verified[1])):
        if abs(r - v) > max(abs(r), 1) * tolerance_percent / 100:
            problems.append(f"{label}上报 {_number(r)}，核查 {_number(v)}")
    r_rate, v_rate = rate(*reported, scale), rate(*verified, scale)
    if r_rate is not None and v_rate is not None and r_rate and abs(r_rate - v_rate) > abs(r_rate) * tolerance_percent / 100:
        problems.append(f"率上报 {r_rate:.2f}，核查 {v_rate:.2f}")
    return "；".join(problems) + f"（超过 {tolerance_percent}% 的容差）" if problems else None


@dataclass
class Dictionary:
    """A loaded dictionary version, as the analysis needs it."""

    specialty: str
    year: int
    version: int
    indicators: list[Indicator] = field(default_factory=list)
