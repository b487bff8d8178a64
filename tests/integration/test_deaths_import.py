"""Bulk import of death cases (Workflow 3, H5, Y§22) against a real database: the shipped sample,
duplicates and re-imports, refused rows, XLSX, GB18030, a mapping file, low-risk screening, a
crash mid-file, and patient identity that never reaches the database."""
from __future__ import annotations

import csv
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, SQLModel, select

from models import Case, CaseEvent, Center, LowRiskGroup, Person
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from qcflow.services.deaths_import import (ImportReport, PartialImport, import_file, load_low_risk_groups,
                                          patient_secret)
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from states.death_intake import pseudonymize
from states.rules import Refused
from tests.helpers import reconfigure, REVIEWER, ROOT, SECRETARY

pytestmark = pytest.mark.db

SAMPLE = ROOT / "demo" / "deaths" / "sample_deaths.csv"
DRG_2026 = ROOT / "demo" / "deaths" / "low_risk_drg_2026.csv"
TODAY = date(2026, 11, 25)
HEADER = "病案号,患者姓名,身份证号,入院日期,死亡日期,科室,主要诊断,DRG分组,是否尸检,低风险,不良事件分级"


@pytest.fixture
def ready(demo):
    with unit_of_work() as session:
        assert load_low_risk_groups(session, DRG_2026, 2026) == 15
    return demo


def run(engine, path, hospital="QCH1", actor=SECRETARY, **kwargs) -> ImportReport:
    kwargs.setdefault("today", TODAY)
    return import_file(engine, path, hospital, actor, **kwargs)


def write(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def cases(engine) -> list[Case]:
    with Session(engine) as s:
        return list(s.exec(select(Case).where(Case.kind == "death_review").order_by(Case.id)))


def case_by_record(engine, record_no: str, hospital: str = "QCH1") -> Case:
    with Session(engine) as s:
        return s.exec(select(Case).where(Case.key.like(f"death:{hospital}:{record_no}:%"))).one()


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def sample_identities() -> set[str]:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    found = {r["患者姓名"] for r in rows if r["患者姓名"]} | {r["身份证号"] for r in rows if r["身份证号"]}
    return found | {v.lower() for v in found}


# --- the shipped sample (Done when: a new user imports it) ------------------------------------------

def test_the_sample_file_reports_exactly_what_happened(ready):
    seen: list[int] = []
    report = run(ready, SAMPLE, batch_size=100, progress=seen.append)
    assert seen == [100, 200, 300]
    assert (report.read, report.created, report.duplicates, report.refused) == (300, 282, 10, 8)
    assert (report.duplicates_in_file, report.already_imported, report.low_risk) == (10, 0, 44)
    assert report.unknown_headers == ["性别"]
    assert [str(e) for e in report.errors] == [
        "第 32 行「死亡日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日",
        "第 92 行「死亡日期」：不是可识别的日期；请写成 2026-03-05、2026/3/5 或 2026年3月5日",
        "第 143 行「死亡日期」：早于入院日期；请核对入院日期和死亡日期",
        "第 184 行「死亡日期」：晚于今天；请核对年份",
        "第 215 行「不良事件分级」：应为 I、II、III、IV 级之一（也可写 Ⅰ级、一级、1级 或 警告事件、不良后果事件、"
        "未造成后果事件、隐患事件）；没有不良事件请留空",
        "第 236 行「病案号」：为空；每一行都必须填写病案号",
        "第 268 行「是否尸检」：应填 是 或 否（也可写 Y/N、1/0、true/false）",
        "第 284 行「入院日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日",
        "第 284 行「不良事件分级」：应为 I、II、III、IV 级之一（也可写 Ⅰ级、一级、1级 或 警告事件、不良后果事件、"
        "未造成后果事件、隐患事件）；没有不良事件请留空",
    ]
    assert report.duplicate_rows == [(132, 7), (172, 22), (192, 38), (222, 53), (242, 124), (267, 156),
                                      (282, 209), (287, 263), (290, 73), (293, 76)]
    assert report.warnings == ["注意：2025 年的低风险 DRG 组名单尚未导入，这些年份的病例只按文件中的“低风险”列筛查"
                               "（导入名单：qcflow deaths drg load 文件 --year 年份）"]
    lines = report.lines()
    assert lines[0] == ("医院 QCH1：读取 300 行，新建病例 282 例（其中低风险 44 例），重复 10 行（文件内重复 10，此前已导入 0），"
                        "拒收 8 行")
    assert "  第 290 行与第 73 行是同一病例（医院、病案号、死亡日期相同），已跳过，以先出现的一行为准" in lines

    stored = cases(ready)
    assert len(stored) == 282 and count(ready, CaseEvent) == 2 * 282
    assert sum(c.data["low_risk"] for c in stored) == 44
    with Session(ready) as s:
        secretary = s.exec(select(Person).where(Person.email == SECRETARY)).one()
    assert {(c.state, c.center_id, c.created_by_id, c.version) for c in stored} == {("screened", None, secretary.id, 2)}
    assert all(c.title == f"死亡病例 QCH1 {c.data['died_on']}" and c.data["record_no"] not in c.title for c in stored)
    refused = {"2026009001", "2026009002", "2026009003", "2026009004", "2026009005", "2026009007", "2026009008"}
    assert not refused & {c.data["record_no"] for c in stored}  # a refused row writes nothing


def test_a_long_list_of_errors_is_cut_and_the_rest_counted(ready):
    report = run(ready, SAMPLE, max_errors=2)
    assert (report.refused, len(report.errors), report.errors_omitted) == (8, 2, 7)
    assert (report.duplicates_in_file, report.duplicate_rows) == (10, [(132, 7), (172, 22)])
    assert "  ……另有 7 条错误未列出" in report.lines()
    assert report.created == 282


def test_a_second_import_of_the_sample_creates_nothing(ready):
    run(ready, SAMPLE)
    before = count(ready, CaseEvent)
    again = run(ready, SAMPLE, batch_size=64)
    assert (again.read, again.created, again.duplicates, again.refused) == (300, 0, 292, 8)
    assert (again.duplicates_in_file, again.already_imported, again.low_risk) == (10, 282, 0)
    assert len(again.errors) == 9
    assert len(cases(ready)) == 282 and count(ready, CaseEvent) == before


def test_an_imported_case_holds_the_rows_content_and_two_events(ready):
    run(ready, SAMPLE)
    case = case_by_record(ready, "2026000003")
    assert case.key == "death:QCH1:2026000003:2025-12-23"
    assert case.data == {
        "hospital": "QCH1", "record_no": "2026000003", "admitted_on": "2025-12-04", "died_on": "2025-12-23",
        "department": "心血管内科", "diagnosis": "心力衰竭", "drg": "HS23", "autopsy": False, "adverse_grade": "",
        "patient_key": pseudonymize(patient_secret(), "99999919400210003X", "测试患者0003"),
        "low_risk": False, "low_risk_source": "", "reported_via": "import",
    }
    assert case.created_at.tzinfo is not None and case.created_at == case.updated_at
    with Session(ready) as s:
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    reporter = case.created_by_id  # who imported it reported it; the screening is the system's
    assert reporter is not None
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("report", "", "reported", reporter), ("screen", "reported", "screened", None)]
    assert events[1].details == {"low_risk": False, "low_risk_source": ""}
    # the spelled-out date and the Chinese one are read as dates
    assert case_by_record(ready, "2026000002").data["died_on"] == "2025-12-22"
    assert case_by_record(ready, "2026000006").data["admitted_on"].startswith("2026-")


# --- patient identity (Y§22) ------------------------------------------------------------------------

def _scan(engine, needles: set[str]) -> list[str]:
    """Every text and JSON value of every table, searched for the needles."""
    hits = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    if isinstance(value, (dict, list)):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str):
                        hits += [f"{table.name}.{column}: {n}" for n in needles if n in value]
    return hits


def test_names_and_id_numbers_are_nowhere_in_the_database(ready):
    report = run(ready, SAMPLE)
    identities = sample_identities()
    assert len(identities) > 500  # names, ID numbers and their lower-case spellings
    assert _scan(ready, identities) == []
    assert _scan(ready, {"2026000003", "心力衰竭"}) != []  # the scan does read the stored cases
    assert not [n for n in identities if n in "\n".join(report.lines())]
    if ready.dialect.name == "sqlite":  # and the files themselves, in both spellings JSON may use
        raw = b"".join(p.read_bytes() for p in (Path(ready.url.database), Path(f"{ready.url.database}-wal"))
                       if p.exists())
        assert b"2026000003" in raw
        for needle in identities:
            assert needle.encode() not in raw
            assert json.dumps(needle).strip('"').encode() not in raw
        assert "测试患者".encode() not in raw and json.dumps("测试患者").strip('"').encode() not in raw


def test_the_same_patient_gets_the_same_key_and_another_secret_another(ready, tmp_path, monkeypatch):
    run(ready, SAMPLE)
    first, again = case_by_record(ready, "2026000011"), case_by_record(ready, "2026000041")  # ID once with a lower x
    assert first.data["patient_key"] == again.data["patient_key"] != ""
    keys = [c.data["patient_key"] for c in cases(ready)]
    assert len(set(keys)) == len(keys) - 1  # that pair is the only shared key
    name_only = [case_by_record(ready, f"20260000{n}").data["patient_key"] for n in (61, 62, 63)]
    assert "" not in name_only and len(set(name_only)) == 3

    with SAMPLE.open(encoding="utf-8-sig") as f:
        header, row11 = f.readline(), next(line for line in f if line.startswith("2026000011,"))
    monkeypatch.setenv("QCFLOW_SECRET_KEY", "another-installation")
    reconfigure()
    report = run(ready, write(tmp_path, "qch2.csv", [header.strip(), row11.strip()]), hospital="QCH2",
                 actor=REVIEWER)  # the commission may import for any hospital (Y§22)
    assert report.created == 1
    other = case_by_record(ready, "2026000011", hospital="QCH2")
    assert other.data["patient_key"] not in ("", first.data["patient_key"])
    assert other.data["patient_key"] == pseudonymize(patient_secret(), row11.split(",")[3], "")


# --- a small file, written here ---------------------------------------------------------------------

def test_good_duplicate_and_bad_rows_and_unknown_columns_then_a_reimport(ready, tmp_path):
    path = write(tmp_path, "deaths.csv", [
        HEADER + ",床号,联系电话",
        "A001,测试甲,999999199001010011,2026-06-01,2026-06-03,呼吸内科,重症肺炎,ES23,否,,,12,13800000000",
        "A002,测试乙,999999199001010022,2026/6/2,2026/6/9,神经内科,脑出血,BR21,是,,II,,",
        ",,,,,,,,,,,,",  # a blank row is skipped, not counted
        "A001,测试甲,999999199001010011,2026-06-01,2026-06-03,呼吸内科,重症肺炎（复核）,ES23,否,,,,",
        "A003,测试丙,999999199001010033,2026-06-10,2026-06-31,普通外科,急性重症胰腺炎,GB13,否,,,,",
        "A004,测试丁,999999199001010044,2026-06-10,2026-06-08,肿瘤科,肺恶性肿瘤,RE13,否,,,,",
        "A005,测试戊,999999199001010055,2026-06-10,6/12/2026,肾内科,尿毒症,LR13,否,,,,",
        "A006,测试己,999999199001010066,2026-06-10,2026-06-12,消化内科,上消化道大出血,EB13,否,,,,",
    ])
    report = run(ready, path)
    assert (report.read, report.created, report.duplicates, report.refused) == (7, 3, 1, 3)
    assert report.unknown_headers == ["床号", "联系电话"]
    assert report.duplicate_rows == [(5, 2)]
    assert [str(e) for e in report.errors] == [
        "第 6 行「死亡日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日",
        "第 7 行「死亡日期」：早于入院日期；请核对入院日期和死亡日期",
        "第 8 行「死亡日期」：不是可识别的日期；请写成 2026-03-05、2026/3/5 或 2026年3月5日",
    ]
    assert [c.data["record_no"] for c in cases(ready)] == ["A001", "A002", "A006"]
    assert case_by_record(ready, "A001").data["diagnosis"] == "重症肺炎"  # the first row wins
    assert case_by_record(ready, "A002").data["adverse_grade"] == "II"
    assert case_by_record(ready, "A002").data["autopsy"] is True
    assert _scan(ready, {"13800000000"}) == []  # an unknown column is not stored anywhere

    again = run(ready, path)
    assert (again.read, again.created, again.duplicates, again.refused) == (7, 0, 4, 3)
    assert (again.duplicates_in_file, again.already_imported) == (1, 3)
    assert len(cases(ready)) == 3

    fixed = write(tmp_path, "fixed.csv", [HEADER, "A004,测试丁,999999199001010044,2026-06-01,2026-06-08,肿瘤科,"
                                                  "肺恶性肿瘤,RE13,否,,,"])
    assert run(ready, fixed).created == 1 and len(cases(ready)) == 4


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_in_gb18030(ready, tmp_path, encoding):
    path = write(tmp_path, "deaths.csv", [HEADER, "G001,测试庚,,2026-07-01,2026年7月3日,重症医学科,感染性休克,ES23,否,,Ⅲ级"],
                 encoding=encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    report = run(ready, path)
    assert (report.read, report.created, report.refused, report.unknown_headers) == (1, 1, 0, [])
    data = case_by_record(ready, "G001").data
    assert (data["department"], data["diagnosis"], data["died_on"], data["adverse_grade"]) == (
        "重症医学科", "感染性休克", "2026-07-03", "III")
    assert data["patient_key"] == pseudonymize(patient_secret(), "", "测试庚")


def test_an_xlsx_export_with_a_title_line_and_date_cells(ready, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["青川市第一人民医院 2026 年死亡病例一览（测试）"])
    sheet.append(HEADER.split(",") + ["出生日期"])
    sheet.append([2026100001, "测试辛", "999999197001010011", datetime(2026, 8, 1, 9, 30), datetime(2026, 8, 2, 3, 15),
                  "心血管内科", "急性心肌梗死", "GD19", True, None, "Ⅰ级", None])
    sheet.append(["X002", "测试壬", None, "2026-08-05", 46241, "呼吸内科", "重症肺炎", "ES23", "否", "是", None,
                  date(1950, 5, 6)])
    sheet.append(["X003", "测试癸", 999999197001010033, "2026-08-05", "2026-08-09", "呼吸内科", "重症肺炎", "ES23",
                  "否", None, None, None])
    saved = tmp_path / "saved.xlsx"
    book.save(saved)
    path = tmp_path / "export.xlsx"  # as some hospital systems write it: a sheet size of one cell
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content, n = re.subn(rb'<dimension ref="[^"]+"', b'<dimension ref="A1"', content)
                assert n == 1
            dst.writestr(item, content)

    report = run(ready, path)
    assert (report.read, report.created, report.duplicates, report.refused) == (3, 2, 0, 1)
    assert [str(e) for e in report.errors] == [
        "第 5 行「身份证号」：被 Excel 存成了数字，末几位可能已丢失；请把该列设为“文本”格式后重新导出"]
    one = case_by_record(ready, "2026100001").data
    assert (one["admitted_on"], one["died_on"], one["autopsy"], one["adverse_grade"]) == (
        "2026-08-01", "2026-08-02", True, "I")
    assert (one["low_risk"], one["low_risk_source"]) == (True, "drg:2026")
    two = case_by_record(ready, "X002").data
    assert two["died_on"] == "2026-08-07"  # an Excel day number
    assert (two["low_risk"], two["low_risk_source"]) == (True, "column")
    assert two["patient_key"] == pseudonymize(patient_secret(), "", "测试壬", date(1950, 5, 6))
    assert _scan(ready, {"测试辛", "测试壬", "测试癸", "999999197001010011", "1950-05-06"}) == []


def test_a_mapping_file_reads_another_header_set(ready, tmp_path):
    mapping = tmp_path / "his.yaml"
    mapping.write_text("住院号: 病案号\n出院日期: died_on\n姓名拼音: patient_name\n证件: id_number\n"
                       "DRG: drg\n尸检: autopsy\n备注: null\n", encoding="utf-8")
    path = write(tmp_path, "his.csv", ["住院号,姓名拼音,证件,入院日期,出院日期,DRG,尸检,备注,病区",
                                       "H-01,ceshi,999999198001010011,2026-09-01,2026-09-04,GD19,N,无,3",
                                       "H-02,ceshi2,999999198001010022,2026-09-01,2026-09-31,ES23,N,无,3"])
    report = run(ready, path, mapping_path=mapping)
    assert (report.read, report.created, report.refused, report.unknown_headers) == (2, 1, 1, ["病区"])
    assert [str(e) for e in report.errors] == [
        "第 3 行「出院日期」：不是有效的日期（没有这个月份或这一天）；请核对年、月、日"]
    data = case_by_record(ready, "H-01").data
    assert (data["died_on"], data["drg"], data["low_risk"], data["autopsy"]) == ("2026-09-04", "GD19", True, False)
    assert data["patient_key"] == pseudonymize(patient_secret(), "999999198001010011", "")

    with pytest.raises(UserError, match="表头缺少必需的列：病案号、死亡日期"):
        run(ready, path)  # without the mapping
    bad = tmp_path / "bad.yaml"
    bad.write_text("住院号: record\n", encoding="utf-8")
    with pytest.raises(UserError, match="“住院号”对应的字段“record”不存在"):
        run(ready, path, mapping_path=bad)
    assert len(cases(ready)) == 1


# --- screening --------------------------------------------------------------------------------------

def test_low_risk_from_the_years_drg_list_or_the_explicit_column(ready, tmp_path):
    path = write(tmp_path, "screen.csv", [
        HEADER,
        "S1,,,2026-05-01,2026-05-02,普通外科,阑尾炎,GD19,否,,",  # in the 2026 tier
        "S2,,,2026-05-01,2026-05-02,普通外科,阑尾炎,gd19,否,否,",  # in the tier: the hospital's 否 does not overrule it
        "S3,,,2026-05-01,2026-05-02,呼吸内科,重症肺炎,ES23,否,是,",  # flagged by the hospital
        "S4,,,2026-05-01,2026-05-02,呼吸内科,重症肺炎,ES23,否,,",  # neither
        "S5,,,2025-05-01,2025-05-02,普通外科,阑尾炎,GD19,否,,",  # no 2025 tier loaded
    ])
    report = run(ready, path)
    assert (report.created, report.low_risk) == (5, 3)
    assert {r: (case_by_record(ready, r).data["low_risk"], case_by_record(ready, r).data["low_risk_source"])
            for r in ("S1", "S2", "S3", "S4", "S5")} == {
        "S1": (True, "drg:2026"), "S2": (True, "drg:2026"), "S3": (True, "column"), "S4": (False, ""),
        "S5": (False, "")}
    assert len(report.warnings) == 1 and report.warnings[0].startswith("注意：2025 年的低风险 DRG 组名单尚未导入")

    tier_2025 = tmp_path / "tier2025.yaml"
    tier_2025.write_text("- code: GD19\n  name: 阑尾切除术\n- code: es 23\n", encoding="utf-8")
    with unit_of_work() as session:
        assert load_low_risk_groups(session, tier_2025, 2025) == 2
    path2 = write(tmp_path, "screen2.csv", [HEADER, "S6,,,2025-05-01,2025-05-02,呼吸内科,重症肺炎,ES23,否,,"])
    report = run(ready, path2)
    assert report.warnings == [] and report.low_risk == 1
    assert case_by_record(ready, "S6").data["low_risk_source"] == "drg:2025"


def test_loading_a_years_list_replaces_only_that_year(ready, tmp_path):
    newer = write(tmp_path, "tier.csv", ["DRG编码,分组名称", "ZZ19,示例组甲", "zz19,重复", "ZZ29,示例组乙"])
    with unit_of_work() as session:
        assert load_low_risk_groups(session, newer, 2027) == 2
        assert load_low_risk_groups(session, newer, 2026) == 2
    with Session(ready) as s:
        rows = s.exec(select(LowRiskGroup).order_by(LowRiskGroup.year, LowRiskGroup.drg_code)).all()
    assert [(g.year, g.drg_code, g.name, g.source) for g in rows] == [
        (2026, "ZZ19", "示例组甲", "tier.csv"), (2026, "ZZ29", "示例组乙", "tier.csv"),
        (2027, "ZZ19", "示例组甲", "tier.csv"), (2027, "ZZ29", "示例组乙", "tier.csv")]

    for name, lines, message in (
        ("empty.csv", ["DRG编码,分组名称"], "empty.csv 中没有 DRG 组；原有的 2026 年名单未改动"),
        ("noheader.csv", ["编号,名称", "ZZ39,x"], "noheader.csv 第 1 行应为表头，需有“DRG分组”"),
        ("blank.csv", ["DRG分组", "", ",", "ZZ49", " ,x"], "blank.csv 第 5 行的 DRG 分组编码为空"),
    ):
        with pytest.raises(UserError, match=message), unit_of_work() as session:
            load_low_risk_groups(session, write(tmp_path, name, lines), 2026)
    with pytest.raises(UserError, match="年份 26 不合理"), unit_of_work() as session:
        load_low_risk_groups(session, newer, 26)
    assert count(ready, LowRiskGroup) == 4


# --- refusals before anything is written ------------------------------------------------------------

def test_an_unknown_hospital_person_or_file_writes_nothing(ready, tmp_path):
    with pytest.raises(UserError, match="机构名录中没有代码为“QCH9”的医院"):
        run(ready, SAMPLE, hospital="QCH9")
    with pytest.raises(UserError, match="人员名录中没有邮箱为 nobody@example.org 的人员"):
        import_file(ready, SAMPLE, "QCH1", "nobody@example.org")
    with pytest.raises(UserError, match="找不到文件"):
        run(ready, tmp_path / "missing.csv")
    old_excel = tmp_path / "old.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(UserError, match="旧版 Excel"):
        run(ready, old_excel)
    with pytest.raises(UserError, match="是空的"):
        run(ready, write(tmp_path, "empty.csv", ["", ""]))
    with pytest.raises(UserError, match="表头缺少必需的列：死亡日期。文件的表头是：病案号、科室"):
        run(ready, write(tmp_path, "nodate.csv", ["病案号,科室", "A1,呼吸内科"]))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("病案号,死亡日期\n".encode("utf-8") + b"A1,2026-01-01\xff\xff\n")
    with pytest.raises(UserError, match="既不是 UTF-8 也不是 GB18030"):
        run(ready, latin1)
    assert len(cases(ready)) == 0 and count(ready, CaseEvent) == 0
    assert run(ready, SAMPLE, hospital="qch1").created == 282  # the code is matched case-insensitively
    assert {c.data["hospital"] for c in cases(ready)} == {"QCH1"}


# --- a crash mid-file -------------------------------------------------------------------------------

def test_a_crash_mid_file_leaves_whole_batches_and_a_rerun_completes(ready):
    commits = {"n": 0}

    class Crashing(Session):
        def commit(self):
            commits["n"] += 1
            if commits["n"] == 2:  # the second batch: its cases and events were sent, then the process dies
                raise RuntimeError("simulated crash")
            super().commit()

    with pytest.raises(PartialImport) as stopped:
        import_file(lambda: Crashing(ready), SAMPLE, "QCH1", SECRETARY, batch_size=100, today=TODAY)
    assert isinstance(stopped.value.__cause__, RuntimeError)
    assert (stopped.value.imported_rows, stopped.value.created, stopped.value.from_row) == (100, 98, 102)
    assert str(stopped.value).startswith("已导入 100 行（新建病例 98 例），第 102 行起未导入：RuntimeError: simulated crash")
    first_batch = cases(ready)
    assert len(first_batch) == 98  # rows 2–101 of the file: 100 rows read, 2 refused (rows 32 and 92)
    assert count(ready, CaseEvent) == 2 * 98
    assert max(int(c.data["record_no"]) for c in first_batch) < 2026009000

    report = run(ready, SAMPLE, batch_size=100)
    assert (report.created, report.already_imported, report.duplicates_in_file) == (282 - 98, 98, 10)
    assert len(cases(ready)) == 282 and count(ready, CaseEvent) == 2 * 282


def test_identical_imports_at_once_make_each_case_once(ready):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: run(ready, SAMPLE, batch_size=50), range(2)))
    assert sum(r.created for r in reports) == 282
    assert len(cases(ready)) == 282 and count(ready, CaseEvent) == 2 * 282
    with ready.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT key) FROM qc_case")).scalar_one() == 282


def test_a_bulk_opened_case_has_the_rows_of_one_opened_by_itself(ready):
    """The bulk path of the engine writes what a case taken through its steps one by one gets."""
    from models import Deadline, OutboxMessage, TaskLink
    from qcflow import engine
    from qcflow.engine.bulk import NewCase, open_many
    from qcflow.store.db import unit_of_work
    from states.rules import Actor

    data = {"hospital": "QCH1", "record_no": "X1", "died_on": "2026-11-20", "drg": "", "low_risk": False}

    def rows(case_id):
        with Session(ready) as s:
            case = s.get(Case, case_id)
            history = [(e.trigger, e.from_state, e.to_state) for e in
                       s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))]
            counts = [len(s.exec(select(t.id).where(t.case_id == case_id)).all()) for t in (Deadline, TaskLink, OutboxMessage)]
        return case.state, case.version, case.round, history, counts

    with unit_of_work() as s:
        secretary = s.exec(select(Person).where(Person.email == SECRETARY)).one()
        [(bulk_id, _)] = open_many(s, "death_review", [NewCase("death:bulk", "病例甲", data)], Actor(secretary.id, ""),
                                   "open", ("screen",), utcnow())
        center = s.exec(select(Center)).first()
        single = engine.open_case(s, "death_review", center, "病例乙", data, "death:single")
        assert engine.fire_as_system(s, single, "screen")
    bulk, alone = rows(bulk_id), rows(single.id)
    assert bulk == alone and bulk[0] == "screened" and bulk[1:3] == (2, 1)


def test_a_hospital_may_not_import_another_hospitals_deaths_on_any_path(ready, tmp_path):
    """Y§22 is the service's rule, not the command line's: nothing is written."""
    before = len(cases(ready))
    with pytest.raises(Refused) as refused:
        run(ready, SAMPLE, hospital="QCH2")
    assert "Y§22" in str(refused.value) and "只能导入本单位" in str(refused.value)
    assert len(cases(ready)) == before


# --- a file that breaks midway (issue 12: "refused" after committing 1,000 cases) --------------------

def _rows(n: int) -> list[str]:
    return [f"{2026100000 + i},测试患者,999999197001010011,2026-10-01,2026-10-05,心内科,心梗,FR29,否,," for i in range(n)]


def test_a_csv_that_breaks_at_row_1502_writes_nothing_and_says_where(ready, tmp_path):
    from tests.fuzz.support import dump

    lines = [HEADER, *_rows(1600)]
    lines[1501] = lines[1501].replace("心梗", "心" * 200_000)  # row 1,502: a field past the CSV reader's limit
    path = write(tmp_path, "broken.csv", lines)
    before = dump(ready)
    with pytest.raises(UserError) as err:
        run(ready, path)
    assert not isinstance(err.value, PartialImport)
    assert "第 1502 行不是有效的 CSV" in str(err.value) and "整个文件未导入" in str(err.value)
    assert dump(ready) == before


def test_the_cli_says_how_far_an_import_got_and_exits_4(ready, tmp_path, capsys, monkeypatch):
    from qcflow.cli import main
    from qcflow.services import deaths_import

    path = write(tmp_path, "deaths.csv", [HEADER, *_rows(2500)])
    real = deaths_import._BatchWriter.write
    calls = {"n": 0}

    def failing(self, pending, report):  # the database goes away during the second batch
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("database gone")
        real(self, pending, report)

    monkeypatch.setattr(deaths_import._BatchWriter, "write", failing)
    capsys.readouterr()
    assert main(["deaths", "import", str(path), "--hospital", "QCH1", "--as", REVIEWER]) == 4
    err = capsys.readouterr().err
    assert "已导入 1000 行（新建病例 1000 例），第 1002 行起未导入：ConnectionError: database gone" in err
    assert len(cases(ready)) == 1000

    monkeypatch.setattr(deaths_import._BatchWriter, "write", real)
    assert main(["--json", "deaths", "import", str(path), "--hospital", "QCH1", "--as", REVIEWER]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["created"], out["duplicates"]) == (1500, 1000)
    assert len(cases(ready)) == 2500
