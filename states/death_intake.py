"""Intake of death cases (Workflow 3, H5): headers, row checks, pseudonymization and screening.

Pure rules, no I/O: the importer (qcflow/deaths_import.py) reads the file and writes the cases; a
single-case form can use the same `parse_row`, `pseudonymize`, `screen` and `new_case_data`.

Patient identity (Y§22): the name, ID number and birth date are read only to compute a keyed hash
(`pseudonymize`) and are never put into a case, a title or an error message. Row errors therefore
name the row and the column and say what is wrong and how to fix it, without quoting the cell.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping, NamedTuple, Optional, Sequence

RULE = "H5"
KIND = "death_review"

# field -> the header a hospital export uses for it (the label shown in messages)
FIELD_LABELS: dict[str, str] = {
    "record_no": "病案号",
    "admitted_on": "入院日期",
    "died_on": "死亡日期",
    "department": "科室",
    "diagnosis": "主要诊断",
    "drg": "DRG分组",
    "autopsy": "是否尸检",
    "patient_name": "患者姓名",
    "id_number": "身份证号",
    "birth_date": "出生日期",
    "low_risk": "低风险",
    "adverse_grade": "不良事件分级",
}
FIELDS = frozenset(FIELD_LABELS)
IDENTITY_FIELDS = frozenset({"patient_name", "id_number", "birth_date"})  # hashed, never stored (Y§22)
# The case key is hospital + record number + death date: without these two columns nothing can be imported.
REQUIRED_FIELDS = ("record_no", "died_on")

DEFAULT_HEADERS: dict[str, str] = {
    **{label: name for name, label in FIELD_LABELS.items()},
    # spellings seen in hospital exports
    "姓名": "patient_name",
    "身份证号码": "id_number",
    "证件号码": "id_number",
    "是否低风险": "low_risk",
}

ADVERSE_GRADES = {"I": "警告事件", "II": "不良后果事件", "III": "未造成后果事件", "IV": "隐患事件"}
_GRADE_WORDS = {
    "I": "I", "II": "II", "III": "III", "IV": "IV",  # NFKC already turned Ⅰ–Ⅳ into these
    "1": "I", "2": "II", "3": "III", "4": "IV",
    "一": "I", "二": "II", "三": "III", "四": "IV",
    **{name: grade for grade, name in ADVERSE_GRADES.items()},
}
_NO_GRADE = {"", "无", "否", "-", "—", "/", "NONE"}
_YES = {"是", "Y", "YES", "1", "TRUE", "T", "有"}
_NO = {"否", "N", "NO", "0", "FALSE", "F", "无"}

_TIME = r"(?:[ T]+\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?"
_DATE_FORMS = (
    re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}$"),
    re.compile(rf"^(\d{{4}})/(\d{{1,2}})/(\d{{1,2}}){_TIME}$"),
    re.compile(rf"^(\d{{4}})年(\d{{1,2}})月(\d{{1,2}})日?{_TIME}$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),  # 20260305, as many hospital systems export it
)
DATE_HINT = "请写成 2026-03-05、2026/3/5 或 2026年3月5日"
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class RowError:
    """One thing wrong in one row. `row` is the row number as the spreadsheet shows it (header = 1)."""

    row: int
    field: str
    message: str
    header: str = ""  # the column's header in the file, when it differs from the usual label

    def __str__(self) -> str:
        label = self.header or FIELD_LABELS.get(self.field, self.field)
        return f"第 {self.row} 行「{label}」：{self.message}"


@dataclass(frozen=True)
class DeathRecord:
    """A valid row. The identity fields are kept only until the row is pseudonymized (not in repr)."""

    record_no: str
    died_on: date
    admitted_on: Optional[date] = None
    department: str = ""
    diagnosis: str = ""
    drg: str = ""
    autopsy: bool = False
    adverse_grade: str = ""
    low_risk_flag: Optional[bool] = None  # the file's own 低风险 column; None: not given
    patient_name: str = field(default="", repr=False)
    id_number: str = field(default="", repr=False)
    birth_date: Optional[date] = field(default=None, repr=False)


class HeaderMatch(NamedTuple):
    columns: dict[str, int]  # field -> column index (0-based)
    unknown: list[str]  # headers not used: not in the mapping, or a second column for the same field
    missing: list[str]  # required fields with no column


# --- headers ---------------------------------------------------------------------------------------

def normalize_header(header: Any) -> str:
    """Full-width letters folded, spaces and the '*' of required-column templates removed, case-insensitive."""
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    return re.sub(r"\s+", "", text).strip("*").casefold()


def check_mapping(mapping: Mapping[str, Any]) -> list[str]:
    """Problems with a header mapping ({header: field, or None to ignore the column}), in Chinese."""
    problems = []
    for header, name in mapping.items():
        if name is not None and name not in FIELDS:
            problems.append(f"“{header}”对应的字段“{name}”不存在；可用字段：{'、'.join(sorted(FIELDS))}"
                            f"（也可写 {'、'.join(FIELD_LABELS.values())}），忽略该列请写 null")
    return problems


def resolve_mapping(mapping: Mapping[str, Any]) -> dict[str, Optional[str]]:
    """A mapping's values may be field names or the usual Chinese labels (住院号: 病案号)."""
    by_label = {label: name for name, label in FIELD_LABELS.items()}
    return {str(h): (None if v is None else by_label.get(str(v).strip(), str(v).strip())) for h, v in mapping.items()}


def map_headers(headers: Sequence[Any], mapping: Mapping[str, Optional[str]]) -> HeaderMatch:
    """Match a file's header row against the mapping. Blank headers are skipped; a header mapped to
    None is ignored silently; the first column wins when two map to the same field."""
    lookup = {normalize_header(h): f for h, f in mapping.items()}
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        key = normalize_header(header)
        if not key:
            continue
        if key not in lookup:
            unknown.append(str(header).strip())
            continue
        name = lookup[key]
        if name is None:
            continue
        if name in columns:
            unknown.append(str(header).strip())
        else:
            columns[name] = index
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    return HeaderMatch(columns, unknown, missing)


# --- cells -----------------------------------------------------------------------------------------

class _Bad(ValueError):
    """A cell that cannot be read; the message says how to fix it."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def parse_date(value: Any) -> Optional[date]:
    """A date from a cell: YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日 (an optional time is dropped), YYYYMMDD,
    or an Excel date cell (a datetime, or a day number when the cell lost its date format)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))
        elif 1 <= value < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        else:
            raise _Bad(f"不是可识别的日期；{DATE_HINT}")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    for form in _DATE_FORMS:
        m = form.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise _Bad("不是有效的日期（没有这个月份或这一天）；请核对年、月、日") from None
    raise _Bad(f"不是可识别的日期；{DATE_HINT}")


def parse_flag(value: Any, blank: Optional[bool]) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    text = _text(value).upper()
    if not text:
        return blank
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _Bad("应填 是 或 否（也可写 Y/N、1/0、true/false）")


def parse_grade(value: Any) -> str:
    """The national adverse-event grade I–IV (卫医管发〔2011〕4号), or "" for none."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value))).upper()
    if text in _NO_GRADE:
        return ""
    if text in _GRADE_WORDS:
        return _GRADE_WORDS[text]
    for suffix in ("级事件", "级"):
        if text.endswith(suffix) and text.removesuffix(suffix) in _GRADE_WORDS:
            return _GRADE_WORDS[text.removesuffix(suffix)]
    raise _Bad("应为 I、II、III、IV 级之一（也可写 Ⅰ级、一级、1级 或 警告事件、不良后果事件、"
               "未造成后果事件、隐患事件）；没有不良事件请留空")


def _record_no(value: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value)))


def _id_number(value: Any) -> str:
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and len(str(value)) > 15):
        # Excel keeps 15 significant digits: an 18-digit number cell has already lost its last digits
        raise _Bad("被 Excel 存成了数字，末几位可能已丢失；请把该列设为“文本”格式后重新导出")
    return _text(value)


# --- rows ------------------------------------------------------------------------------------------

def parse_row(values_by_field: Mapping[str, Any], row_number: int, *,
              today: date) -> tuple[Optional[DeathRecord], list[RowError]]:
    """Check one row. Returns the record, or None and every problem found in it (a row with any
    problem is refused as a whole). `today` is the local date the death may not be after."""
    errors: list[RowError] = []

    def bad(name: str, message: str) -> None:
        errors.append(RowError(row_number, name, message))

    def read(name: str, parse, *args):
        try:
            return parse(values_by_field.get(name), *args)
        except _Bad as e:
            bad(name, str(e))
            return None

    # A control character (NUL above all) cannot be stored as text (PostgreSQL refuses it in JSON)
    # and is never part of a real record: the export is damaged.
    for name, value in values_by_field.items():
        if isinstance(value, str) and any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for ch in value):
            bad(str(name), "含有不可见的控制字符（如 NUL）；请从原系统重新导出此文件")
    if errors:
        return None, errors
    record_no = _record_no(values_by_field.get("record_no"))
    if not record_no:
        bad("record_no", "为空；每一行都必须填写病案号")
    admitted_on = read("admitted_on", parse_date)
    died_on = read("died_on", parse_date)
    if died_on is None and not any(e.field == "died_on" for e in errors):
        bad("died_on", f"为空；每一行都必须填写死亡日期，{DATE_HINT}")
    if died_on is not None:
        if died_on > today:
            bad("died_on", "晚于今天；请核对年份")
        elif admitted_on is not None and died_on < admitted_on:
            bad("died_on", "早于入院日期；请核对入院日期和死亡日期")
    if admitted_on is not None and admitted_on > today:
        bad("admitted_on", "晚于今天；请核对年份")
    autopsy = read("autopsy", parse_flag, False)
    low_risk = read("low_risk", parse_flag, None)
    grade = read("adverse_grade", parse_grade)
    id_number = read("id_number", _id_number)
    birth_date = read("birth_date", parse_date)
    if errors:
        return None, errors
    assert died_on is not None
    return DeathRecord(
        record_no=record_no, died_on=died_on, admitted_on=admitted_on,
        department=_text(values_by_field.get("department")), diagnosis=_text(values_by_field.get("diagnosis")),
        drg=normalize_drg(values_by_field.get("drg")), autopsy=bool(autopsy), adverse_grade=grade or "",
        low_risk_flag=low_risk, patient_name=_text(values_by_field.get("patient_name")),
        id_number=id_number or "", birth_date=birth_date,
    ), []


# --- identity (Y§22) -------------------------------------------------------------------------------

def normalize_id_number(id_number: Any) -> str:
    """Full-width digits folded, all spaces removed, the check letter upper-case (x → X)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(id_number))).upper()


def normalize_name(name: Any) -> str:
    return re.sub(r"[\s·•・.]+", "", unicodedata.normalize("NFKC", _text(name))).casefold()


def pseudonymize(secret: bytes, id_number: Any, name: Any, birth: Any = None) -> str:
    """The patient key: HMAC-SHA256 (hex) with the installation's secret, so the same patient is
    recognised across rows and files while nobody without the secret can test a guess.

    Choice: the ID number, when there is one, is the identity (it is unique to a person); only without
    it, the name plus the birth date when the file has one. So the same patient gets the same key
    in every row that carries the same kind of identity; a row with an ID number and a row with only
    a name do not match, and two namesakes without ID number or birth date share a key. Each input is
    prefixed by its kind, so a name can never collide with an ID number. "" when there is neither."""
    number = normalize_id_number(id_number)
    if number:
        message = f"id:{number}"
    else:
        person = normalize_name(name)
        if not person:
            return ""
        born = birth.isoformat() if isinstance(birth, date) else _text(birth)
        message = f"name:{person}|born:{born}"
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


# --- screening -------------------------------------------------------------------------------------

def normalize_drg(code: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(code))).upper()


def screen(drg: Any, explicit_flag: Optional[bool], low_risk_codes: set[str] | frozenset[str],
           year: int) -> tuple[bool, str]:
    """H5: a death is low-risk when its DRG group is in that year's low-risk tier, or the file flags
    it. A "否" in the file does not overrule the year's list (a low-risk death must be reviewed)."""
    code = normalize_drg(drg)
    if code and code in low_risk_codes:
        return True, f"drg:{year}"
    if explicit_flag:
        return True, "column"
    return False, ""


# --- the case --------------------------------------------------------------------------------------

def case_key(hospital: str, record: DeathRecord) -> str:
    """One case per hospital + record number + death date: importing the same row twice is one case."""
    return f"death:{hospital}:{record.record_no}:{record.died_on.isoformat()}"


def case_title(hospital: str, record: DeathRecord) -> str:
    return title_of({"hospital": hospital, "died_on": record.died_on.isoformat()})


def title_of(data: Mapping[str, Any]) -> str:
    """The stored title: hospital and day of death. Never the record number, never the patient (Y§22);
    lists show it only to people who may open the case (states/privacy.py)."""
    parts = [str(data.get(k) or "").strip() for k in ("hospital", "died_on")]
    return " ".join(["死亡病例", *(p for p in parts if p)])


_IDENTITY_HEADERS = {normalize_header(h): f for h, f in DEFAULT_HEADERS.items() if f in IDENTITY_FIELDS}
_KEY = re.compile(r"^[0-9A-Za-z]{64}$")  # the hash (hex) or a key of the same form from another system


def identity_in(content: Mapping[str, Any]) -> dict[str, str]:
    """The keys of `content` that carry patient identity (field names or a hospital export's headers,
    e.g. 患者姓名, 身份证号) -> the identity field each is."""
    return {k: f for k in content if (f := (k if k in IDENTITY_FIELDS else _IDENTITY_HEADERS.get(normalize_header(k))))}


def without_identity(content: dict[str, Any], secret: bytes) -> tuple[dict[str, Any], list[str]]:
    """Content as it may be stored (Y§22): patient name, ID number and birth date replaced by the
    keyed hash, as the import does. Returns the same dict when there is nothing to replace, and the
    problems (in Chinese) when a `patient_key` given by hand is not a key."""
    found = identity_in(content)
    given_key = content.get("patient_key")
    problems = []
    if given_key not in (None, "") and not (isinstance(given_key, str) and _KEY.match(given_key)):
        problems.append("patient_key 只能是系统生成的患者密钥（64 位字母数字），不能填写姓名、身份证号等身份信息；"
                        "请填写 patient_name（患者姓名）、id_number（身份证号），系统会换成密钥后保存，原文不保存")
    if not found or problems:
        return content, problems
    identity = {f: content[k] for k, f in found.items()}
    birth = identity.get("birth_date")
    try:
        birth = parse_date(birth)
    except _Bad:
        pass
    stored = {k: v for k, v in content.items() if k not in found}
    key = pseudonymize(secret, identity.get("id_number"), identity.get("patient_name"), birth)
    if key:
        stored["patient_key"] = key
    return stored, []


def new_case_data(record: DeathRecord, hospital: str, patient_key: str, low_risk: bool, low_risk_source: str,
                  reported_via: str) -> dict[str, Any]:
    return {
        "hospital": hospital,
        "record_no": record.record_no,
        "admitted_on": record.admitted_on.isoformat() if record.admitted_on else "",
        "died_on": record.died_on.isoformat(),
        "department": record.department,
        "diagnosis": record.diagnosis,
        "drg": record.drg,
        "autopsy": record.autopsy,
        "adverse_grade": record.adverse_grade,
        "patient_key": patient_key,
        "low_risk": low_risk,
        "low_risk_source": low_risk_source,
        "reported_via": reported_via,
    }
