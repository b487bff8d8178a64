"""One row of an indicator values file or a means file, checked (H3, Y§14(3)). Pure: no I/O.

Values: one row per institution, indicator and quarter: 机构代码, 指标代码, 年份, 季度 (or 期间 such as
2026Q1), 分子, 分母. Means: 指标代码, 年份, 全省均值, 全国均值 (either may be blank). Every problem names
its row (as the spreadsheet shows it) and its column.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, NamedTuple, Optional

from states.indicator_analysis import UNIT_SCALES

RULE = "Y§14(3)"

# header as files write it (normalized) → field
VALUE_HEADERS = {
    "机构代码": "institution", "医院代码": "institution", "机构编码": "institution", "institution": "institution",
    "指标代码": "indicator", "指标编码": "indicator", "indicator": "indicator",
    "年份": "year", "年度": "year", "year": "year",
    "季度": "quarter", "quarter": "quarter",
    "期间": "period", "统计期间": "period", "period": "period",
    "分子": "numerator", "numerator": "numerator",
    "分母": "denominator", "denominator": "denominator",
}
VALUE_LABELS = {"institution": "机构代码", "indicator": "指标代码", "year": "年份", "quarter": "季度",
                "period": "期间", "numerator": "分子", "denominator": "分母"}
VALUE_REQUIRED = ("institution", "indicator", "numerator", "denominator")

MEAN_HEADERS = {
    "专业": "specialty", "specialty": "specialty",
    "指标代码": "indicator", "指标编码": "indicator", "indicator": "indicator",
    "年份": "year", "年度": "year", "year": "year",
    "全省均值": "province", "省均值": "province", "province": "province",
    "全国均值": "national", "national": "national",
}
MEAN_LABELS = {"specialty": "专业", "indicator": "指标代码", "year": "年份", "province": "全省均值",
               "national": "全国均值"}
MEAN_REQUIRED = ("indicator", "year")

_QUARTER_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_PERIOD = re.compile(r"^(\d{4})\s*(?:年)?\s*(?:q|第)?\s*([1-4一二三四])\s*(?:季度)?$", re.IGNORECASE)
_QUARTER = re.compile(r"^(?:q|第)?\s*([1-4一二三四])\s*(?:季度)?$", re.IGNORECASE)
MAX_COUNT = 10**9


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # the column's label as the file writes it
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行「{self.column}」：{self.message}"


class ValueRow(NamedTuple):  # a tuple: 60,000 of them are made per import
    row: int
    institution: str
    indicator: str
    year: int
    quarter: int
    numerator: float
    denominator: float

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.year, self.quarter, self.indicator, self.institution)


def normalize_header(header: Any) -> str:
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    return re.sub(r"\s+", "", text).strip("*").casefold()


def map_columns(headers: list[Any], known: Mapping[str, str]) -> dict[str, int]:
    """field → column index (the first column naming it)."""
    columns: dict[str, int] = {}
    for i, header in enumerate(headers):
        name = known.get(normalize_header(header))
        if name and name not in columns:
            columns[name] = i
    return columns


def _text(value: Any) -> str:
    if type(value) is str:
        text = value.strip()
        if text.isascii():  # most cells: NFKC changes nothing in ASCII
            return text
        return unicodedata.normalize("NFKC", text).strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_count(value: Any) -> Optional[float]:
    """A count as written in a cell (1,234 / 12.0 / ５); None when it is not a finite number ≥ 0."""
    if type(value) is str:
        try:
            number = float(value)  # the usual cell, "12" or " 12.0 "; others take the long way below
        except ValueError:
            number = None
        if number is not None and 0 <= number <= MAX_COUNT:
            return number
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _text(value).replace(",", "").replace("，", "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    if not math.isfinite(number) or number < 0 or number > MAX_COUNT:
        return None
    return number


@lru_cache(maxsize=256)
def _year_of(text: str) -> Optional[int]:
    text = text.removesuffix("年")
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else None


@lru_cache(maxsize=256)
def _quarter_of(text: str) -> Optional[int]:
    match = _QUARTER.match(text)
    return _QUARTER_WORDS[match.group(1)] if match else None


def parse_year(value: Any) -> Optional[int]:
    return _year_of(_text(value))


def parse_quarter(value: Any) -> Optional[int]:
    return _quarter_of(_text(value))


def parse_period(value: Any) -> Optional[tuple[int, int]]:
    match = _PERIOD.match(_text(value))
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return int(match.group(1)), _QUARTER_WORDS[match.group(2)]


def fast_value_row(row: int, institution: Any, indicator: Any, year: Any, quarter: Any, numerator: Any,
                   denominator: Any, institutions: frozenset[str], units: Mapping[int, Mapping[str, str]]
                   ) -> Optional[ValueRow]:
    """The usual row, plain ASCII text that passes every check, accepted in a few steps; None sends the
    row to `parse_value_row`, which checks it in full and words each problem."""
    try:
        if not (institution.isascii() and indicator.isascii()):
            return None
        institution, indicator = institution.strip().upper(), indicator.strip()
        year_, quarter_ = _year_of(year.strip()), _quarter_of(quarter.strip())
        num, den = float(numerator), float(denominator)
    except (AttributeError, TypeError, ValueError):
        return None
    if institution not in institutions or year_ is None or quarter_ is None:
        return None
    unit = units.get(year_, {}).get(indicator)
    if unit is None or not (0 <= num <= MAX_COUNT and 0 <= den <= MAX_COUNT):
        return None
    if (den == 0 and num > 0) or (num > den and UNIT_SCALES.get(unit, 1.0) > 1):
        return None
    return ValueRow(row, institution, indicator, year_, quarter_, num, den)


def parse_value_row(cells: Mapping[str, Any], row: int, labels: Mapping[str, str],
                    institutions: frozenset[str], units: Mapping[int, Mapping[str, str]],
                    default_year: Optional[int] = None) -> tuple[Optional[ValueRow], list[RowError]]:
    """A values row checked against the directory's institutions and the year's dictionary (`units`:
    year → indicator code → unit). Returns the row, or every problem with it."""
    def label(name: str) -> str:
        return labels.get(name) or VALUE_LABELS[name]

    errors: list[RowError] = []
    institution = _text(cells.get("institution")).upper()
    if not institution:
        errors.append(RowError(row, label("institution"), "不能为空"))
    elif institution not in institutions:
        errors.append(RowError(row, label("institution"), f"机构名录中没有代码为 {institution} 的医疗机构"))
    year = quarter = None
    if "period" in cells and _text(cells.get("period")):
        found = parse_period(cells["period"])
        if found is None:
            errors.append(RowError(row, label("period"), f"“{_text(cells['period'])}”不是季度，应写作 2026Q1 或 2026年第一季度"))
        else:
            year, quarter = found
    else:
        if "year" in cells:
            year = parse_year(cells.get("year"))
            if year is None:
                errors.append(RowError(row, label("year"), f"“{_text(cells.get('year'))}”不是四位年份"))
        elif default_year is not None:
            year = default_year
        else:
            errors.append(RowError(row, label("year"), "缺少年份（可加“年份”列，或“期间”列写作 2026Q1）"))
        quarter = parse_quarter(cells.get("quarter"))
        if quarter is None:
            errors.append(RowError(row, label("quarter"), f"“{_text(cells.get('quarter'))}”不是季度，应为 1–4 或 Q1–Q4"))
    indicator = _text(cells.get("indicator"))
    unit = None
    if not indicator:
        errors.append(RowError(row, label("indicator"), "不能为空"))
    elif year is not None:
        if year not in units:
            errors.append(RowError(row, label("year"), f"{year} 年的指标字典尚未导入（qcflow indicators dictionary load）"))
        elif indicator not in units[year]:
            known = "、".join(sorted(units[year])[:10])
            errors.append(RowError(row, label("indicator"), f"{year} 年的指标字典中没有指标 {indicator}（已有：{known}）"))
        else:
            unit = units[year][indicator]
    numerator = parse_count(cells.get("numerator"))
    denominator = parse_count(cells.get("denominator"))
    for name, value in (("numerator", numerator), ("denominator", denominator)):
        if value is None:
            errors.append(RowError(row, label(name), f"“{_text(cells.get(name))}”不是不小于 0 的数"))
    if numerator is not None and denominator is not None:
        if denominator == 0 and numerator > 0:
            errors.append(RowError(row, label("denominator"), "分母为 0 时分子也应为 0（无数据请填 0/0 或不填此行）"))
        elif unit is not None and UNIT_SCALES.get(unit, 1.0) > 1 and numerator > denominator:
            errors.append(RowError(row, label("numerator"),
                                   f"分子 {_text(cells.get('numerator'))} 大于分母 {_text(cells.get('denominator'))}，比率不能超过 100%"))
    if errors:
        return None, errors
    assert year is not None and quarter is not None and numerator is not None and denominator is not None
    return ValueRow(row, institution, indicator, year, quarter, numerator, denominator), []


@dataclass(frozen=True)
class MeanRow:
    row: int
    specialty: str
    indicator: str
    year: int
    province: Optional[float]
    national: Optional[float]


def parse_mean(value: Any) -> tuple[Optional[float], bool]:
    """(the mean, whether the cell is usable): a blank cell is usable and means "not given"."""
    text = _text(value)
    if not text:
        return None, True
    try:
        number = float(text.rstrip("%‰"))
    except ValueError:
        return None, False
    return (number, True) if math.isfinite(number) and number >= 0 else (None, False)


def parse_mean_row(cells: Mapping[str, Any], row: int, labels: Mapping[str, str],
                   default_specialty: str = "") -> tuple[Optional[MeanRow], list[RowError]]:
    def label(name: str) -> str:
        return labels.get(name) or MEAN_LABELS[name]

    errors: list[RowError] = []
    specialty = _text(cells.get("specialty")) or default_specialty
    if not specialty:
        errors.append(RowError(row, label("specialty"), "不能为空（或用 --specialty 指定）"))
    indicator = _text(cells.get("indicator"))
    if not indicator:
        errors.append(RowError(row, label("indicator"), "不能为空"))
    year = parse_year(cells.get("year"))
    if year is None:
        errors.append(RowError(row, label("year"), f"“{_text(cells.get('year'))}”不是四位年份"))
    values = {}
    for name in ("province", "national"):
        values[name], usable = parse_mean(cells.get(name))
        if not usable:
            errors.append(RowError(row, label(name), f"“{_text(cells.get(name))}”不是不小于 0 的数"))
    if not errors and values["province"] is None and values["national"] is None:
        errors.append(RowError(row, label("province"), "全省均值和全国均值至少填写一项"))
    if errors:
        return None, errors
    assert year is not None
    return MeanRow(row, specialty, indicator, year, values["province"], values["national"]), []
