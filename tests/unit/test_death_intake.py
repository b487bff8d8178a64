"""Intake of death cases as pure rules (Workflow 3, H5, Y§22): header matching, row checks with
the messages a clerk reads, the patient key and low-risk screening. Expectations are written out
by hand from the brief, never read back from the module's tables."""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime

import pytest

from states.death_intake import (
    DEFAULT_HEADERS, DeathRecord, RowError, case_key, case_title, check_mapping, map_headers, new_case_data,
    parse_row, pseudonymize, resolve_mapping, screen,
)

TODAY = date(2026, 11, 25)
SECRET = b"unit-secret"
NAME, ID_NUMBER = "测试患者0042", "99999919800101042X"
GOOD = {
    "record_no": "2026000042", "admitted_on": "2026-03-01", "died_on": "2026-03-05", "department": "呼吸内科",
    "diagnosis": "重症肺炎", "drg": "ES23", "autopsy": "否", "patient_name": NAME, "id_number": ID_NUMBER,
    "low_risk": "", "adverse_grade": "",
}


def row(**changes) -> dict:
    return {**GOOD, **changes}


def errors_of(values: dict, row_number: int = 7) -> list[str]:
    record, errors = parse_row(values, row_number, today=TODAY)
    assert record is None
    return [str(e) for e in errors]


# --- headers ----------------------------------------------------------------------------------------

def test_chinese_headers_map_to_fields_and_the_rest_is_reported():
    headers = ["病案号", "患者姓名", "性别", "身份证号", "入院日期", "死亡日期", "科室", "主要诊断", "DRG分组", "是否尸检",
               "低风险", "不良事件分级", "", None]
    columns, unknown, missing = map_headers(headers, DEFAULT_HEADERS)
    assert columns == {"record_no": 0, "patient_name": 1, "id_number": 3, "admitted_on": 4, "died_on": 5,
                       "department": 6, "diagnosis": 7, "drg": 8, "autopsy": 9, "low_risk": 10, "adverse_grade": 11}
    assert unknown == ["性别"]
    assert missing == []


def test_headers_match_despite_full_width_letters_spaces_and_required_marks():
    columns, unknown, missing = map_headers([" *病案号 ", "死亡 日期", "ＤＲＧ分组", "drg分组"], DEFAULT_HEADERS)
    assert columns == {"record_no": 0, "died_on": 1, "drg": 2}
    assert unknown == ["drg分组"]  # a second column for the same field is not read
    assert missing == []


def test_missing_record_number_or_death_date_columns_are_named():
    assert map_headers(["入院日期", "科室"], DEFAULT_HEADERS).missing == ["record_no", "died_on"]
    assert map_headers(["病案号"], DEFAULT_HEADERS).missing == ["died_on"]


def test_a_mapping_may_name_fields_or_usual_labels_and_ignore_columns():
    mapping = resolve_mapping({"住院号": "病案号", "死亡时间": "died_on", "备注": None})
    assert mapping == {"住院号": "record_no", "死亡时间": "died_on", "备注": None}
    assert check_mapping(mapping) == []
    columns, unknown, missing = map_headers(["住院号", "备注", "死亡时间", "床号"], {**DEFAULT_HEADERS, **mapping})
    assert (columns, unknown, missing) == ({"record_no": 0, "died_on": 2}, ["床号"], [])


def test_a_mapping_to_an_unknown_field_is_refused_with_the_choices():
    problems = check_mapping(resolve_mapping({"住院号": "record", "死亡时间": "died_on"}))
    assert len(problems) == 1
    assert problems[0].startswith("“住院号”对应的字段“record”不存在；可用字段：")
    assert "record_no" in problems[0] and "忽略该列请写 null" in problems[0]


# --- rows -------------------------------------------------------------------------------------------

def test_a_good_row_becomes_a_record():
    record, errors = parse_row(row(autopsy="是", adverse_grade="Ⅱ级", low_risk="否", drg=" es 23 "), 2, today=TODAY)
    assert errors == []
    assert record == DeathRecord(
        record_no="2026000042", died_on=date(2026, 3, 5), admitted_on=date(2026, 3, 1), department="呼吸内科",
        diagnosis="重症肺炎", drg="ES23", autopsy=True, adverse_grade="II", low_risk_flag=False,
        patient_name=NAME, id_number=ID_NUMBER, birth_date=None)
    assert NAME not in repr(record) and ID_NUMBER not in repr(record)


@pytest.mark.parametrize("cell", [
    "2026-03-05", "2026-3-5", "2026/03/05", "2026/3/5", "2026年3月5日", "2026-03-05 14:30", "2026/3/5 14:30:59",
    "20260305", 20260305, datetime(2026, 3, 5, 14, 30), date(2026, 3, 5), 46086.0, "２０２６－０３－０５",
])
def test_dates_in_the_accepted_spellings(cell):
    record, errors = parse_row(row(admitted_on="", died_on=cell), 2, today=TODAY)
    assert errors == []
    assert record.died_on == date(2026, 3, 5)
    assert record.admitted_on is None


@pytest.mark.parametrize("cell, message", [
    ("2026-02-30", "第 7 行「死亡日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日"),
    ("2026-13-01", "第 7 行「死亡日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日"),
    ("03/05/2026", "第 7 行「死亡日期」：不是可识别的日期；请写成 2026-03-05、2026/3/5 或 2026年3月5日"),
    ("三月五日", "第 7 行「死亡日期」：不是可识别的日期；请写成 2026-03-05、2026/3/5 或 2026年3月5日"),
    ("", "第 7 行「死亡日期」：为空；每一行都必须填写死亡日期，请写成 2026-03-05、2026/3/5 或 2026年3月5日"),
    ("2062-05-04", "第 7 行「死亡日期」：晚于今天；请核对年份"),
    ("2026-02-28", "第 7 行「死亡日期」：早于入院日期；请核对入院日期和死亡日期"),
])
def test_bad_death_dates_are_refused_with_a_message_a_clerk_can_act_on(cell, message):
    assert errors_of(row(died_on=cell)) == [message]


def test_death_on_the_day_of_admission_and_today_are_accepted():
    record, errors = parse_row(row(admitted_on="2026-11-25", died_on="2026-11-25"), 2, today=TODAY)
    assert errors == [] and record.died_on == TODAY


def test_a_record_number_is_required_and_normalized():
    assert errors_of(row(record_no="  ")) == ["第 7 行「病案号」：为空；每一行都必须填写病案号"]
    record, _ = parse_row(row(record_no=" ２０２６ 000042 "), 2, today=TODAY)
    assert record.record_no == "2026000042"
    record, _ = parse_row(row(record_no=2026000042.0), 2, today=TODAY)  # a number cell in Excel
    assert record.record_no == "2026000042"


@pytest.mark.parametrize("cell, expected", [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("1", True), ("0", False), ("TRUE", True),
    ("false", False), (True, True), (0, False), ("", False), (None, False),
])
def test_autopsy_values(cell, expected):
    record, errors = parse_row(row(autopsy=cell), 2, today=TODAY)
    assert errors == [] and record.autopsy is expected


def test_an_unreadable_autopsy_value_is_refused():
    assert errors_of(row(autopsy="不详")) == ["第 7 行「是否尸检」：应填 是 或 否（也可写 Y/N、1/0、true/false）"]


def test_the_low_risk_column_is_kept_as_given_or_none():
    assert parse_row(row(low_risk="是"), 2, today=TODAY)[0].low_risk_flag is True
    assert parse_row(row(low_risk="否"), 2, today=TODAY)[0].low_risk_flag is False
    assert parse_row(row(low_risk=""), 2, today=TODAY)[0].low_risk_flag is None
    assert errors_of(row(low_risk="可能")) == ["第 7 行「低风险」：应填 是 或 否（也可写 Y/N、1/0、true/false）"]


@pytest.mark.parametrize("cell, grade", [
    ("I", "I"), ("ii", "II"), ("III", "III"), ("IV", "IV"), ("Ⅰ", "I"), ("Ⅱ级", "II"), ("Ⅲ", "III"), ("Ⅳ级", "IV"),
    ("一级", "I"), ("二级", "II"), ("三级", "III"), ("四级", "IV"), ("1级", "I"), (4, "IV"), ("I级事件", "I"),
    ("警告事件", "I"), ("不良后果事件", "II"), ("未造成后果事件", "III"), ("隐患事件", "IV"), ("", ""), ("无", ""),
])
def test_adverse_event_grades(cell, grade):
    record, errors = parse_row(row(adverse_grade=cell), 2, today=TODAY)
    assert errors == [] and record.adverse_grade == grade


@pytest.mark.parametrize("cell", ["V级", "五级", "5", "严重", "Ⅴ"])
def test_unknown_grades_are_refused(cell):
    assert errors_of(row(adverse_grade=cell)) == [
        "第 7 行「不良事件分级」：应为 I、II、III、IV 级之一（也可写 Ⅰ级、一级、1级 或 警告事件、不良后果事件、"
        "未造成后果事件、隐患事件）；没有不良事件请留空"]


def test_every_problem_of_a_row_is_reported_and_none_quotes_the_patient():
    values = row(record_no="", admitted_on="2026-13-01", adverse_grade="V", id_number=999999198001010421.0,
                 autopsy="不详")
    record, errors = parse_row(values, 12, today=TODAY)
    assert record is None
    assert [(e.row, e.field) for e in errors] == [
        (12, "record_no"), (12, "admitted_on"), (12, "autopsy"), (12, "adverse_grade"), (12, "id_number")]
    assert str(errors[-1]) == ("第 12 行「身份证号」：被 Excel 存成了数字，末几位可能已丢失；"
                               "请把该列设为“文本”格式后重新导出")
    text = "\n".join(str(e) + repr(e) for e in errors)
    assert NAME not in text and "99999919800101042" not in text and "999999198" not in text


def test_a_row_error_shows_the_files_own_header_when_given():
    assert str(RowError(9, "record_no", "为空", header="住院号")) == "第 9 行「住院号」：为空"


# --- identity (Y§22) --------------------------------------------------------------------------------

def test_the_patient_key_is_an_hmac_of_the_normalized_id_number():
    expected = hmac.new(SECRET, f"id:{ID_NUMBER}".encode(), hashlib.sha256).hexdigest()
    assert pseudonymize(SECRET, ID_NUMBER, NAME) == expected
    for spelling in (ID_NUMBER.lower(), f" {ID_NUMBER[:6]} {ID_NUMBER[6:]} ", "９９９９９９１９８００１０１０４２ｘ"):
        assert pseudonymize(SECRET, spelling, "别的名字") == expected  # the name does not count when there is an ID
    assert len(expected) == 64 and ID_NUMBER not in expected


def test_another_secret_gives_another_key():
    assert pseudonymize(b"other-secret", ID_NUMBER, NAME) != pseudonymize(SECRET, ID_NUMBER, NAME)
    assert pseudonymize(b"other-secret", "", NAME) != pseudonymize(SECRET, "", NAME)


def test_without_an_id_number_the_name_and_birth_date_make_the_key():
    by_name = pseudonymize(SECRET, "", NAME)
    assert by_name == hmac.new(SECRET, f"name:{NAME}|born:".encode(), hashlib.sha256).hexdigest()
    assert pseudonymize(SECRET, None, f" {NAME[:2]} {NAME[2:]}") == by_name
    born = pseudonymize(SECRET, "", NAME, date(1980, 1, 1))
    assert born == hmac.new(SECRET, f"name:{NAME}|born:1980-01-01".encode(), hashlib.sha256).hexdigest()
    assert born != by_name != pseudonymize(SECRET, "", NAME, date(1980, 1, 2))
    assert pseudonymize(SECRET, "", "测试患者0043") != by_name


def test_a_name_never_collides_with_an_id_number():
    assert pseudonymize(SECRET, "", ID_NUMBER) != pseudonymize(SECRET, ID_NUMBER, "")


def test_no_identity_gives_an_empty_key():
    assert pseudonymize(SECRET, "", "") == "" and pseudonymize(SECRET, None, None, date(1980, 1, 1)) == ""


# --- screening (H5) ---------------------------------------------------------------------------------

TIER = {"GD19", "OB29"}


@pytest.mark.parametrize("drg, flag, expected", [
    ("GD19", None, (True, "drg:2026")),
    (" gd 19", None, (True, "drg:2026")),
    ("GD19", False, (True, "drg:2026")),  # the hospital's "否" does not overrule the year's tier
    ("GD19", True, (True, "drg:2026")),
    ("ES23", True, (True, "column")),
    ("", True, (True, "column")),
    ("ES23", False, (False, "")),
    ("ES23", None, (False, "")),
    ("", None, (False, "")),
])
def test_screening_by_the_years_tier_or_the_explicit_column(drg, flag, expected):
    assert screen(drg, flag, TIER, 2026) == expected


def test_an_empty_tier_flags_only_by_the_column():
    assert screen("GD19", None, set(), 2025) == (False, "")
    assert screen("GD19", True, set(), 2025) == (True, "column")


# --- the case ---------------------------------------------------------------------------------------

def test_case_key_title_and_data_carry_no_identity():
    record, _ = parse_row(row(autopsy="Y", adverse_grade="一级"), 2, today=TODAY)
    assert case_key("QCH1", record) == "death:QCH1:2026000042:2026-03-05"
    assert case_title("QCH1", record) == "死亡病例 QCH1 2026-03-05"  # no record number (Y§22)
    data = new_case_data(record, "QCH1", "k" * 64, True, "drg:2026", "import")
    assert data == {
        "hospital": "QCH1", "record_no": "2026000042", "admitted_on": "2026-03-01", "died_on": "2026-03-05",
        "department": "呼吸内科", "diagnosis": "重症肺炎", "drg": "ES23", "autopsy": True, "adverse_grade": "I",
        "patient_key": "k" * 64, "low_risk": True, "low_risk_source": "drg:2026", "reported_via": "import",
    }


def test_a_cell_with_a_control_character_is_refused_by_name():
    from datetime import date as _date

    from states.death_intake import parse_row

    record, errors = parse_row({"record_no": "\x00", "died_on": "2026-10-05"}, 7, today=_date(2026, 11, 24))
    assert record is None
    assert [(e.row, e.field) for e in errors] == [(7, "record_no")]
    assert "控制字符" in errors[0].message
