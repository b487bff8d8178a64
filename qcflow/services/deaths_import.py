"""Bulk intake of death cases from a hospital's export (Workflow 3, H5), and the low-risk DRG lists.

`import_file` streams a CSV (UTF-8 with or without BOM, else GB18030) or the first sheet of an XLSX
file, row by row, and writes the valid rows in batches, one committed transaction each, with
`INSERT ... ON CONFLICT (key) DO NOTHING`: the case key is hospital + record number + death date,
so the same case twice (in one file, or in a file imported again) is one case, and a crash mid-file
leaves whole batches that a rerun completes. A refused row writes nothing and is reported with its
row number and column. Cases start in `screened`, with the `report` and `screen` events.

A file that cannot be read to its end is refused before anything is written: the encoding and the CSV
structure are checked over the whole file first (a CSV that breaks at row 1,502 writes no row). If the
reading still stops midway (an XLSX part damaged deep in the zip, the database gone), `PartialImport`
says "已导入 N 行，第 K 行起未导入" and why (CLI exit code 4); a rerun of the same file completes it.

Patient name, ID number and birth date (Y§22) only feed the keyed hash (`patient_key`); they are
never stored, never put in a title and never quoted in an error.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, select

from models import Institution, LowRiskGroup, Person
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from qcflow.engine import actor_by_email
from qcflow.engine.bulk import NewCase, open_many
from qcflow.core.runtime import get_settings
from qcflow.store.db import get_engine
from states.death_review import may_import
from states.rules import Actor, Refused
from states.death_intake import (
    DEFAULT_HEADERS, FIELD_LABELS, KIND, REQUIRED_FIELDS, DeathRecord, RowError, case_key, case_title,
    check_mapping, map_headers, new_case_data, normalize_drg, normalize_header, parse_row, pseudonymize,
    resolve_mapping, screen,
)

SessionSource = Union[Engine, Callable[[], Session], None]
Progress = Callable[[int], None]
HEADER_SEARCH_ROWS = 10  # exports often put a title line or two above the header row
_CHUNK = 1 << 20


@dataclass
class ImportReport:
    """What an import did. read = created + duplicates + refused (blank rows are not counted)."""

    hospital: str
    read: int = 0
    created: int = 0
    duplicates: int = 0  # already a case: earlier in this file, or imported before
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)  # columns not read (unknown, or a second copy)
    duplicates_in_file: int = 0  # of `duplicates`: the same case earlier in this file
    duplicate_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, the earlier row it repeats)
    low_risk: int = 0  # of `created`
    warnings: list[str] = field(default_factory=list)
    errors_omitted: int = 0  # errors beyond `max_errors`, counted but not listed

    @property
    def already_imported(self) -> int:
        return self.duplicates - self.duplicates_in_file

    def lines(self) -> list[str]:
        """The report as a clerk reads it (Chinese), for the CLI and the page."""
        out = [f"医院 {self.hospital}：读取 {self.read} 行，新建病例 {self.created} 例（其中低风险 {self.low_risk} 例），"
               f"重复 {self.duplicates} 行（文件内重复 {self.duplicates_in_file}，此前已导入 {self.already_imported}），"
               f"拒收 {self.refused} 行"]
        if self.unknown_headers:
            out.append(f"以下列未识别或重复，已忽略：{'、'.join(self.unknown_headers)}"
                       f"（如需读取，请用 --mapping 指定列名对应关系）")
        out.extend(self.warnings)
        if self.errors:
            out.append("拒收的行（改正后可重新导入同一文件，已导入的病例不会重复）：")
            out.extend(f"  {e}" for e in self.errors)
        if self.errors_omitted:
            out.append(f"  ……另有 {self.errors_omitted} 条错误未列出")
        for row, first in self.duplicate_rows:
            out.append(f"  第 {row} 行与第 {first} 行是同一病例（医院、病案号、死亡日期相同），已跳过，以先出现的一行为准")
        return out


# --- public entry points ---------------------------------------------------------------------------

def import_file(session_factory_or_engine: SessionSource, path: Union[str, Path], hospital_code: str,
                actor_email: str, mapping_path: Union[str, Path, None] = None, progress: Optional[Progress] = None,
                batch_size: int = 1000, *, today: Optional[date] = None, secret: Optional[bytes] = None,
                now: Optional[datetime] = None, max_errors: int = 10_000) -> ImportReport:
    """Import a hospital's death cases from a CSV or XLSX file; see the module docstring.

    Raises UserError, with nothing written, when the file, the mapping, the hospital or the person is
    not usable. `progress` is called after each committed batch with the number of rows read so far.
    `today` (the local date no death may be after), `secret` (of the patient key) and `now` (the
    cases' timestamps) default to the clock and the settings; at most `max_errors` errors and in-file
    duplicates are listed, the rest only counted.
    """
    if batch_size < 1:
        raise UserError("batch_size 必须大于 0")
    open_session = _session_source(session_factory_or_engine)
    mapping = load_mapping(mapping_path) if mapping_path else dict(DEFAULT_HEADERS)
    path = Path(path)
    with open_session() as session:
        hospital = _hospital(session, hospital_code)
        actor_id = _person_id(session, actor_email)
        check_may_import(session, actor_email, hospital)
        session.rollback()
    secret = secret if secret is not None else patient_secret()
    today = today or local_date(utcnow())
    now = now or utcnow()

    with _rows_of(path) as rows:
        header_at, headers = _header_row(rows, mapping, path)
        match = map_headers(headers, mapping)
        labels = {name: str(headers[i]).strip() for name, i in match.columns.items()}
        report = ImportReport(hospital=hospital, unknown_headers=match.unknown)
        writer = _BatchWriter(open_session, hospital, actor_id, now)
        progress_of = _Progress(header_at)
        try:
            _read_and_write(rows, match.columns, labels, hospital, secret, today, batch_size, max_errors,
                            report, writer, progress_of, progress)
        except Exception as exc:
            if progress_of.committed_rows == 0:
                raise  # nothing was written: the error as it is (a UserError says what to fix)
            raise PartialImport(report, progress_of, exc) from exc
    if writer.years_without_list:
        years = "、".join(str(y) for y in sorted(writer.years_without_list))
        report.warnings.append(f"注意：{years} 年的低风险 DRG 组名单尚未导入，这些年份的病例只按文件中的“低风险”列筛查"
                               f"（导入名单：qcflow deaths drg load 文件 --year 年份）")
    return report


def _read_and_write(rows: Iterator[tuple[int, list[Any]]], columns: dict[str, int], labels: dict[str, str],
                    hospital: str, secret: bytes, today: date, batch_size: int, max_errors: int,
                    report: ImportReport, writer: "_BatchWriter", done: "_Progress",
                    progress: Optional[Progress]) -> None:
    seen: dict[str, int] = {}  # case key -> first row: one file's duplicates (a few MB per 100,000 rows)
    pending: list[_Pending] = []
    row_number = done.last_row
    for row_number, values in rows:
        if _blank(values):
            continue
        report.read += 1
        by_field = {name: (values[i] if i < len(values) else None) for name, i in columns.items()}
        record, errors = parse_row(by_field, row_number, today=today)
        if record is None:
            report.refused += 1
            _keep_errors(report, errors, labels, max_errors)
        else:
            key = case_key(hospital, record)
            first = seen.get(key)
            if first is not None:
                report.duplicates += 1
                report.duplicates_in_file += 1
                if len(report.duplicate_rows) < max_errors:
                    report.duplicate_rows.append((row_number, first))
            else:
                seen[key] = row_number
                pending.append(_pending(record, key, hospital, secret))
        if report.read % batch_size == 0:
            writer.write(pending, report)
            done.committed(row_number, report)
            pending = []
            if progress:
                progress(report.read)
    if pending or report.read % batch_size:
        writer.write(pending, report)
        done.committed(row_number, report)
        if progress:
            progress(report.read)


class _Progress:
    """How far the committed batches reach: the rows a rerun need not repeat."""

    def __init__(self, header_row: int):
        self.last_row = header_row  # the last row (spreadsheet numbering) inside a committed batch
        self.committed_rows = 0  # rows read (not blank) up to there
        self.created = 0

    def committed(self, row_number: int, report: ImportReport) -> None:
        self.last_row, self.committed_rows, self.created = row_number, report.read, report.created


class PartialImport(UserError):
    """The file stopped being readable (or the database failed) after some batches were committed.

    Exit code 4 in the CLI. The committed part stays (a rerun of the same file skips it as duplicates
    and completes the rest); the message says how much was imported and from which row nothing was."""

    def __init__(self, report: ImportReport, done: _Progress, cause: BaseException):
        self.imported_rows, self.created, self.from_row = done.committed_rows, done.created, done.last_row + 1
        self.report = report
        reason = str(cause) if isinstance(cause, UserError) else f"{type(cause).__name__}: {cause}"
        self.reason = reason
        super().__init__(f"已导入 {self.imported_rows} 行（新建病例 {self.created} 例），第 {self.from_row} 行起未导入："
                         f"{reason}。改正文件后重新导入同一文件即可补齐，已导入的病例不会重复。")


def report_one(engine_or_factory: SessionSource, values: dict[str, Any], hospital_code: str, actor_email: str,
               **kwargs: Any) -> ImportReport:
    """One death reported by form: the same checks, pseudonymization and screening as a file.

    `values` uses the file's headers (病案号, 死亡日期, …) or the field names (record_no, died_on, …).
    The one-row file lives only in memory (Y§22: the name and ID number never touch disk); the
    importer reads it through a symlink that holds nothing but the memory file's descriptor path."""
    header_of = {field: header for header, field in DEFAULT_HEADERS.items() if field}
    row = {header_of.get(k, k): "" if v is None else str(v) for k, v in values.items()}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    with _memory_file("单例报告.csv", text.getvalue().encode("utf-8")) as path:
        return import_file(engine_or_factory, path, hospital_code, actor_email, **kwargs)


@contextmanager
def _memory_file(name: str, content: bytes) -> Iterator[Path]:
    if not hasattr(os, "memfd_create"):
        raise UserError("此服务器不支持在内存中处理病例数据，不能单例报告死亡病例（Y§22：患者身份不得写入磁盘）")
    fd = os.memfd_create("qcflow-death-report", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b", buffering=0) as memory, tempfile.TemporaryDirectory(prefix="qcflow-report-") as tmp:
        memory.write(content)
        link = Path(tmp) / name
        link.symlink_to(f"/proc/{os.getpid()}/fd/{fd}")
        yield link


def load_mapping(path: Union[str, Path]) -> dict[str, Optional[str]]:
    """A YAML file {header in the file: field (or the usual Chinese label; null: ignore the column)},
    added to the default headers."""
    path = Path(path)
    raw = load_yaml(_read_bytes(path, "列名对应文件"), f"列名对应文件 {path.name}")
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"列名对应文件 {path.name} 应为“文件中的列名: 字段”的对应表，例如  住院号: record_no")
    mapping = resolve_mapping(raw)
    problems = check_mapping(mapping)
    if problems:
        raise UserError(f"列名对应文件 {path.name} 有误：\n" + "\n".join(problems))
    return {**DEFAULT_HEADERS, **mapping}


def load_low_risk_groups(session: Session, path: Union[str, Path], year: int) -> int:
    """Replace the year's low-risk DRG tier with the groups in the file (CSV with a code column and an
    optional name column, or YAML: a list of {code, name}, or {code: name}). Returns how many.
    The caller commits (the whole list or nothing)."""
    path = Path(path)
    if not 2000 <= year <= 2100:
        raise UserError(f"年份 {year} 不合理；请写四位年份，例如 --year 2026")
    if not path.is_file():
        raise UserError(f"找不到文件 {path}")
    if path.suffix.lower() in (".yaml", ".yml"):
        groups = _groups_from_yaml(path)
    else:
        groups = _groups_from_csv(path)
    if not groups:
        raise UserError(f"{path.name} 中没有 DRG 组；原有的 {year} 年名单未改动")
    session.execute(delete(LowRiskGroup).where(LowRiskGroup.year == year))
    session.add_all(LowRiskGroup(year=year, drg_code=code, name=name, source=path.name)
                    for code, name in groups.items())
    session.flush()
    return len(groups)


def patient_secret() -> bytes:
    """The key of the patient hash: QCFLOW_PATIENT_HASH_KEY (else the link secret) through HMAC with its
    own label, so it is never the key that signs links."""
    return hmac.new(get_settings().patient_hash_root.encode("utf-8"), b"qcflow patient key v1", hashlib.sha256).digest()


# --- writing ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Pending:
    key: str
    title: str
    year: int
    explicit_flag: Optional[bool]
    data: dict[str, Any]


def _pending(record: DeathRecord, key: str, hospital: str, secret: bytes) -> _Pending:
    patient_key = pseudonymize(secret, record.id_number, record.patient_name, record.birth_date)
    data = new_case_data(record, hospital, patient_key, False, "", "import")  # screened when written
    return _Pending(key, case_title(hospital, record), record.died_on.year, record.low_risk_flag, data)


class _BatchWriter:
    def __init__(self, open_session: Callable[[], Session], hospital: str, actor_id: int, now: datetime):
        self.open_session = open_session
        self.hospital = hospital
        self.actor_id = actor_id
        self.now = now
        self.tiers: dict[int, frozenset[str]] = {}
        self.years_without_list: set[int] = set()

    def write(self, pending: list[_Pending], report: ImportReport) -> None:
        """One transaction: the batch's new cases and their two events, or nothing."""
        if not pending:
            return
        with self.open_session() as session:
            conn = session.connection()
            for year in {p.year for p in pending} - self.tiers.keys():
                codes = conn.execute(select(LowRiskGroup.drg_code).where(LowRiskGroup.year == year)).scalars()
                self.tiers[year] = frozenset(normalize_drg(c) for c in codes)
                if not self.tiers[year]:
                    self.years_without_list.add(year)
            screened = {p.key: screen(p.data["drg"], p.explicit_flag, self.tiers[p.year], p.year) for p in pending}
            new = [NewCase(p.key, p.title, {**p.data, "low_risk": screened[p.key][0],
                                            "low_risk_source": screened[p.key][1]},
                           step_details={"screen": {"low_risk": screened[p.key][0],
                                                    "low_risk_source": screened[p.key][1]}})
                   for p in pending]
            created = open_many(session, KIND, new, Actor(self.actor_id, ""), "report", ("screen",), self.now,
                                details={"reported_via": "import"})
            session.commit()
        report.created += len(created)
        report.duplicates += len(pending) - len(created)
        report.low_risk += sum(screened[key][0] for _, key in created)


# --- reading ---------------------------------------------------------------------------------------

def _session_source(source: SessionSource) -> Callable[[], Session]:
    if source is None:
        source = get_engine()
    if isinstance(source, Engine):
        engine = source
        return lambda: Session(engine, expire_on_commit=False)
    return source


def _hospital(session: Session, code: str) -> str:
    code = (code or "").strip()
    found = session.exec(select(Institution.code).where(func.upper(Institution.code) == code.upper())).first()
    if not found:
        raise UserError(f"机构名录中没有代码为“{code}”的医院；请核对 --hospital，或先导入名录（qcflow directory load）")
    return found


def _person_id(session: Session, email: str) -> int:
    email = (email or "").strip().lower()
    found = session.exec(select(Person.id).where(Person.email == email)).first()
    if found is None:
        raise UserError(f"人员名录中没有邮箱为 {email} 的人员；请核对 --as，或先导入名录（qcflow directory load）")
    return found


def check_may_import(session: Session, email: str, hospital: str) -> None:
    """Y§22: a hospital reports its own deaths; the commission may import for any hospital."""
    actor = actor_by_email(session, email)
    own = session.exec(select(Institution.code).join(Person, Person.institution_id == Institution.id)
                       .where(Person.id == actor.person_id)).first()
    reasons = may_import(actor.holds("commission_reviewer"), own, hospital)
    if reasons:
        raise Refused(reasons)


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _keep_errors(report: ImportReport, errors: list[RowError], labels: dict[str, str], max_errors: int) -> None:
    for error in errors:
        if len(report.errors) >= max_errors:
            report.errors_omitted += 1
            continue
        header = labels.get(error.field, "")
        report.errors.append(replace(error, header=header) if header != FIELD_LABELS.get(error.field) else error)


def _header_row(rows: Iterator[tuple[int, list[Any]]], mapping: dict[str, Optional[str]],
                path: Path) -> tuple[int, list[Any]]:
    """The first row (of the first few) that names the required columns; title lines above it are skipped."""
    first: Optional[list[Any]] = None
    for row_number, values in rows:
        if _blank(values):
            continue
        if first is None:
            first = values
        if not map_headers(values, mapping).missing:
            return row_number, values
        if row_number >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise UserError(f"{path.name} 是空的：没有表头行，也没有数据")
    missing = map_headers(first, mapping).missing
    found = "、".join(str(h).strip() for h in first if normalize_header(h)) or "（无）"
    needed = "、".join(FIELD_LABELS[f] for f in missing or REQUIRED_FIELDS)
    raise UserError(f"{path.name} 的表头缺少必需的列：{needed}。文件的表头是：{found}。"
                    f"如果医院系统用的是别的列名，请用 --mapping 指定对应关系（YAML，例如  住院号: 病案号）")


@contextmanager
def _rows_of(path: Path) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    """(row number as a spreadsheet shows it, cell values), one row at a time."""
    try:
        with path.open("rb") as f:
            magic = f.read(8)
    except FileNotFoundError:
        raise UserError(f"找不到文件 {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} 是目录，不是文件") from None
    if magic.startswith(b"PK\x03\x04"):
        with _xlsx_rows(path) as rows:
            yield rows
    elif magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(f"{path.name} 是旧版 Excel（.xls）文件；请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    else:
        with _csv_rows(path) as rows:
            yield rows


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several kinds for a damaged or foreign zip
        raise UserError(f"{path.name} 无法作为 Excel（.xlsx）文件打开：{e}") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some exporters write a wrong sheet size; read every row there is
        yield _sheet_rows(sheet, path)
    finally:
        book.close()


def _sheet_rows(sheet: Any, path: Path) -> Iterator[tuple[int, list[Any]]]:
    n = 0
    try:
        for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield n, list(values)
    except Exception as e:  # a damaged part deep in the zip shows only when read
        raise UserError(f"{path.name} 第 {n + 1} 行起无法读取（{type(e).__name__}: {e}）") from None


@contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    encoding = sniff_encoding(path)
    with path.open("r", encoding=encoding, newline="") as f:
        _check_csv(f, path)  # a file that breaks at row 1,502 is refused before row 1 is written

        def rows() -> Iterator[tuple[int, list[Any]]]:
            reader = csv.reader(f)
            try:
                for n, values in enumerate(reader, start=1):
                    yield n, values
            except csv.Error as e:
                raise UserError(f"{path.name} 第 {reader.line_num} 行不是有效的 CSV：{e}") from None
        yield rows()


def _check_csv(f: Any, path: Path) -> None:
    """Read the whole file as CSV once, writing nothing; rewind. About a tenth of an import's time."""
    reader = csv.reader(f)
    try:
        for _ in reader:
            pass
    except csv.Error as e:
        raise UserError(f"{path.name} 第 {reader.line_num} 行不是有效的 CSV（{e}）；整个文件未导入，"
                        "请改正该行后重新导入") from None
    f.seek(0)


def sniff_encoding(path: Path) -> str:
    """utf-8-sig / utf-16 by their BOM; else utf-8 when the whole file decodes, else GB18030 (GBK).
    Checked over the whole file, in chunks, before any row is read: a bad byte deep in the file
    must not stop an import halfway."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        if _decodes(path, encoding):
            return encoding
    raise UserError(f"{path.name} 既不是 UTF-8 也不是 GB18030（GBK）编码的文本；"
                    f"请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再导入")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --- the low-risk DRG lists ------------------------------------------------------------------------

_CODE_HEADERS = {"drg分组", "drg编码", "drg代码", "drg", "分组编码", "编码", "code", "drg_code"}
_NAME_HEADERS = {"名称", "drg名称", "分组名称", "name"}


def _groups_from_csv(path: Path) -> dict[str, str]:
    groups: dict[str, str] = {}
    with _csv_rows(path) as rows:
        code_at = name_at = None
        for n, values in rows:
            if _blank(values):
                continue
            if code_at is None:
                headers = [normalize_header(v) for v in values]
                code_at = next((i for i, h in enumerate(headers) if h in _CODE_HEADERS), None)
                name_at = next((i for i, h in enumerate(headers) if h in _NAME_HEADERS), None)
                if code_at is None:
                    raise UserError(f"{path.name} 第 {n} 行应为表头，需有“DRG分组”（或 DRG编码、code）列，"
                                    f"可另有“名称”列")
                continue
            _add_group(groups, values[code_at] if code_at < len(values) else "",
                       values[name_at] if name_at is not None and name_at < len(values) else "", path, f"第 {n} 行")
    return groups


def _groups_from_yaml(path: Path) -> dict[str, str]:
    raw = load_yaml(_read_bytes(path, "DRG 组名单"), path.name)
    if isinstance(raw, dict) and "groups" in raw:
        raw = raw["groups"]
    groups: dict[str, str] = {}
    if isinstance(raw, dict):
        for i, (code, name) in enumerate(raw.items(), start=1):
            _add_group(groups, code, name, path, f"第 {i} 项")
    elif isinstance(raw, list):
        for i, item in enumerate(raw, start=1):
            if isinstance(item, dict):
                code = item.get("code", item.get("drg_code", ""))
                _add_group(groups, code, item.get("name", ""), path, f"第 {i} 项")
            else:
                _add_group(groups, item, "", path, f"第 {i} 项")
    else:
        raise UserError(f"{path.name} 应为 DRG 组的列表（- code: XX19  name: ...）或“编码: 名称”的对应表")
    return groups


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"找不到{what} {path}") from None
    except OSError as exc:
        raise UserError(f"无法读取{what} {path}：{exc.strerror}") from None


def _add_group(groups: dict[str, str], code: Any, name: Any, path: Path, where: str) -> None:
    normalized = normalize_drg(code)
    if not normalized:
        raise UserError(f"{path.name} {where}的 DRG 分组编码为空")
    groups.setdefault(normalized, "" if name is None else str(name).strip())
