"""Import of indicator values per institution and quarter, and of provincial and national means (H3, Y§14(3)).

Files are CSV (UTF-8 with or without BOM, else GB18030) or the first sheet of an XLSX, read with the
death import's readers (encoding and CSV structure checked over the whole file first). A file is
imported whole or not at all: a rate computed from a half-imported quarter would mislead, so any
row error refuses the file, and the report names every bad row and column. Importing the same file
again changes nothing (values are keyed by specialty, year, quarter, indicator and institution); a
corrected file updates the values it changes. Rows are written with one executemany per batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from sqlmodel import Session

from qcflow.core.clock import utcnow
from qcflow.core.errors import UserError
from qcflow.engine import actor_by_email
from qcflow.services.deaths_import import _rows_of as rows_of  # the death import's CSV/XLSX readers
from qcflow.services.indicators import center_of_specialty
from qcflow.store.raw import Raw
from states.indicator_analysis import import_refusal
from states.indicator_rows import (
    MEAN_HEADERS, MEAN_LABELS, MEAN_REQUIRED, VALUE_HEADERS, VALUE_LABELS, VALUE_REQUIRED, RowError, ValueRow,
    fast_value_row, map_columns, parse_mean_row, parse_value_row,
)
from states.rules import Refused

HEADER_SEARCH_ROWS = 10
BATCH = 5000
MAX_ERRORS_LISTED = 200


@dataclass
class ValuesReport:
    specialty: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same row twice in the file, with the same numbers
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0
    periods: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    def lines(self) -> list[str]:
        if self.errors:
            out = [f"专业 {self.specialty}：读取 {self.read} 行，其中 {len(self.errors) + self.errors_omitted} 处有误，"
                   f"整个文件未导入（改正后重新导入同一文件即可）："]
            out += [f"  {e}" for e in self.errors]
            if self.errors_omitted:
                out.append(f"  ……另有 {self.errors_omitted} 处错误未列出")
            return out
        return [f"专业 {self.specialty}：读取 {self.read} 行，新增 {self.created} 条，更新 {self.updated} 条，"
                f"未变 {self.unchanged} 条，文件内重复 {self.duplicates} 行"
                + (f"；期间：{'、'.join(self.periods)}" if self.periods else "")]

    def as_dict(self) -> dict[str, Any]:
        return {"specialty": self.specialty, "read": self.read, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "duplicates": self.duplicates, "refused": self.refused,
                "errors": [str(e) for e in self.errors], "errors_omitted": self.errors_omitted,
                "periods": self.periods}


def _keep(report: ValuesReport, errors: list[RowError]) -> None:
    for error in errors:
        if len(report.errors) < MAX_ERRORS_LISTED:
            report.errors.append(error)
        else:
            report.errors_omitted += 1


def _blank(values: list[Any]) -> bool:
    try:
        return not "".join(values).strip()  # a CSV row: all text
    except TypeError:
        pass
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _header(rows: Iterator[tuple[int, list[Any]]], known: dict[str, str], required: tuple[str, ...],
            labels: dict[str, str], path: Path, either: tuple[str, ...] = ()) -> tuple[dict[str, int], dict[str, str]]:
    """The first row (of the first few) naming the required columns: field → index, field → header."""
    first = None
    for row_number, values in rows:
        if _blank(values):
            continue
        first = first or values
        columns = map_columns(values, known)
        if all(r in columns for r in required) and (not either or any(e in columns for e in either)):
            return columns, {name: str(values[i]).strip() for name, i in columns.items()}
        if row_number >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise UserError(f"{path.name} 是空的：没有表头行，也没有数据")
    needed = "、".join(labels[r] for r in required) + (f"，以及{'或'.join(labels[e] for e in either)}" if either else "")
    found = "、".join(str(h).strip() for h in first if h not in (None, "")) or "（无）"
    raise UserError(f"{path.name} 的表头缺少必需的列：应有 {needed}。文件的表头是：{found}")


def _cells(values: list[Any], columns: list[tuple[str, int]]) -> dict[str, Any]:
    n = len(values)
    return {name: (values[i] if i < n else None) for name, i in columns}


# --- values -----------------------------------------------------------------------------------------

def import_values(session: Session, path: Union[str, Path], specialty: str, actor_email: str,
                  now: Optional[datetime] = None, batch: int = BATCH) -> ValuesReport:
    """Import a values file for `specialty` (resolved by the caller) as the person; see the module
    docstring. Writes in the caller's transaction; nothing when a row is refused."""
    now = now or utcnow()
    path = Path(path)
    actor = actor_by_email(session, actor_email)
    center = center_of_specialty(session, specialty)
    reason = import_refusal(actor, center.id if center else None, specialty)
    if reason is not None:
        raise Refused([reason])
    raw = Raw(session)
    institutions = frozenset(code.upper() for (code,) in raw.rows("SELECT code FROM institution"))
    units: dict[int, dict[str, str]] = {}
    for year, code, unit in raw.rows(
            "SELECT s.year, d.code, d.unit FROM indicatordefinition d JOIN indicatorset s ON s.id = d.set_id "
            "WHERE s.specialty = ? AND s.version = (SELECT MAX(version) FROM indicatorset x "
            "WHERE x.specialty = s.specialty AND x.year = s.year)", [specialty]):
        units.setdefault(year, {})[code] = unit
    if not units:
        raise UserError(f"专业“{specialty}”还没有指标字典；请先导入（qcflow indicators dictionary load 文件）")

    report = ValuesReport(specialty)
    good: dict[tuple[int, int, str, str], ValueRow] = {}
    with rows_of(path) as rows:
        columns, labels = _header(rows, VALUE_HEADERS, VALUE_REQUIRED, VALUE_LABELS, path,
                                  either=("quarter", "period"))
        wanted = list(columns.items())
        plain = "period" not in columns and "year" in columns  # the fast path reads year and quarter columns
        at = [columns.get(name, 0) for name in ("institution", "indicator", "year", "quarter", "numerator",
                                                "denominator")]
        width = max(at) + 1
        i_inst, i_ind, i_year, i_quarter, i_num, i_den = at
        for row_number, values in rows:
            if _blank(values):
                continue
            report.read += 1
            value = (fast_value_row(row_number, values[i_inst], values[i_ind], values[i_year], values[i_quarter],
                                    values[i_num], values[i_den], institutions, units)
                     if plain and len(values) >= width else None)
            if value is None:
                value, errors = parse_value_row(_cells(values, wanted), row_number, labels, institutions, units)
                if value is None:
                    _keep(report, errors)
                    continue
            key = value.key
            earlier = good.get(key)
            if earlier is None:
                good[key] = value
            elif (earlier.numerator, earlier.denominator) == (value.numerator, value.denominator):
                report.duplicates += 1
            else:
                _keep(report, [RowError(row_number, labels.get("numerator", "分子"),
                                        f"与第 {earlier.row} 行是同一机构、指标和季度，但数字不同；请只保留正确的一行")])
    if report.errors:
        return report
    _write_values(raw, specialty, list(good.values()), actor.person_id, path.name, now, report, batch)
    report.periods = sorted({f"{y}Q{q}" for y, q, _, _ in good})
    return report


def _write_values(raw: Raw, specialty: str, rows: list[ValueRow], person_id: Optional[int], source: str,
                  now: datetime, report: ValuesReport, batch: int) -> None:
    years = sorted({r.year for r in rows})
    existing: dict[tuple[int, int, str, str], tuple[int, float, float]] = {}
    for year in years:
        for vid, y, q, code, inst, num, den in raw.rows(
                "SELECT id, year, quarter, indicator_code, institution_code, numerator, denominator "
                "FROM indicatorvalue WHERE specialty = ? AND year = ?", [specialty, year]):
            existing[(y, q, code, inst)] = (vid, num, den)
    at = raw.ts(now)
    new, changed = [], []
    for r in rows:
        found = existing.get(r.key)
        if found is None:
            new.append((specialty, r.year, r.quarter, r.indicator, r.institution, r.numerator, r.denominator,
                        source, person_id, at))
        elif (found[1], found[2]) != (r.numerator, r.denominator):
            changed.append((r.numerator, r.denominator, source, person_id, at, found[0]))
        else:
            report.unchanged += 1
    insert = ("INSERT INTO indicatorvalue (specialty, year, quarter, indicator_code, institution_code, numerator, "
              "denominator, source, imported_by_id, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    for start in range(0, len(new), batch):
        raw.many(insert, new[start:start + batch])
    update = ("UPDATE indicatorvalue SET numerator = ?, denominator = ?, source = ?, imported_by_id = ?, "
              "imported_at = ? WHERE id = ?")
    for start in range(0, len(changed), batch):
        raw.many(update, changed[start:start + batch])
    report.created, report.updated = len(new), len(changed)


# --- means ------------------------------------------------------------------------------------------

@dataclass
class MeansReport:
    read: int = 0
    stored: int = 0
    errors: list[RowError] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.errors:
            return [f"读取 {self.read} 行，其中 {len(self.errors)} 处有误，整个文件未导入："] + [f"  {e}" for e in self.errors]
        return [f"读取 {self.read} 行，已保存均值 {self.stored} 项（全省、全国分别计）"]


def import_means(session: Session, path: Union[str, Path], default_specialty: str = "") -> MeansReport:
    """Provincial and national means (in the indicator's unit), replacing those given for the same
    specialty, year, indicator and scope. All or nothing."""
    path = Path(path)
    report = MeansReport()
    found = []
    with rows_of(path) as rows:
        columns, labels = _header(rows, MEAN_HEADERS, MEAN_REQUIRED, MEAN_LABELS, path,
                                  either=("province", "national"))
        wanted = list(columns.items())
        for row_number, values in rows:
            if _blank(values):
                continue
            report.read += 1
            mean, errors = parse_mean_row(_cells(values, wanted), row_number, labels, default_specialty)
            if mean is None:
                report.errors.extend(errors[:MAX_ERRORS_LISTED - len(report.errors)])
            else:
                found.append(mean)
    if report.errors:
        return report
    raw = Raw(session)
    rows_to_write = [(m.specialty, m.year, m.indicator, scope, value, path.name)
                     for m in found for scope, value in (("province", m.province), ("national", m.national))
                     if value is not None]
    sql = ("INSERT INTO indicatormean (specialty, year, indicator_code, scope, value, source) VALUES "
           "(?, ?, ?, ?, ?, ?) ON CONFLICT (specialty, year, indicator_code, scope) DO UPDATE SET "
           "value = excluded.value, source = excluded.source")
    raw.many(sql, rows_to_write)
    report.stored = len(rows_to_write)
    return report
