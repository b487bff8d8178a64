"""Indicators on a real database: dictionary versions, values import (row errors, idempotence, encodings,
XLSX), means, the analysis, guidance tasks opened once and followed to closure, spot checks, the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from tests.helpers import DIRECTOR, OTHER_SECRETARY, REVIEWER, ROOT, SECRETARY

DEMO = ROOT / "demo" / "indicators"
HEAD = "机构代码,指标代码,年份,季度,分子,分母\n"
DICTIONARY = """specialty: 心血管内科
year: 2026
indicators:
  - {code: PCI, name: 90分钟内PCI比例, numerator: 达标例数, denominator: PCI例数, unit: "%", direction: higher,
     category: process, national_goal: 提高再灌注治疗率, flag: {min_denominator: 20}}
  - {code: DEATH, name: 住院死亡率, numerator: 死亡例数, denominator: 出院例数, unit: "%", direction: lower,
     category: outcome, flag: {min_denominator: 20, scopes: [institution]}}
"""
# QCH1 (三级, 青川市本级) 45/50 = 90 %; QCH2 (三级, 青川市本级) 20/50 = 40 %; LXH (二级, 临溪县) no PCI data (0/0)
VALUES = HEAD + """QCH1,PCI,2026,1,20,25
QCH1,PCI,2026,2,25,25
QCH2,PCI,2026,1,10,25
QCH2,PCI,2026,2,10,25
LXH,PCI,2026,1,0,0
QCH1,DEATH,2026,1,2,100
QCH2,DEATH,2026,1,3,100
LXH,DEATH,2026,1,9,100
"""


@pytest.fixture
def loaded(demo, tmp_path):
    from qcflow.services.indicator_import import import_means, import_values
    from qcflow.services.indicators import load_dictionary
    from qcflow.store.db import unit_of_work

    (tmp_path / "dict.yaml").write_text(DICTIONARY, encoding="utf-8")
    (tmp_path / "values.csv").write_text(VALUES, encoding="utf-8")
    (tmp_path / "means.csv").write_text("专业,年份,指标代码,全省均值,全国均值\n心血管内科,2026,PCI,70,68\n"
                                        "心血管内科,2026,DEATH,5,4.8\n", encoding="utf-8")
    with unit_of_work() as session:
        load_dictionary(session, tmp_path / "dict.yaml")
        report = import_values(session, tmp_path / "values.csv", "心血管内科", SECRETARY)
        assert not report.refused, report.lines()
        assert import_means(session, tmp_path / "means.csv").stored == 4
    return tmp_path


def _import(path: Path, who: str = SECRETARY):
    from qcflow.services.indicator_import import import_values
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        report = import_values(session, path, "心血管内科", who)
    return report


def _stored() -> list[tuple]:
    from qcflow.store.db import unit_of_work
    from qcflow.store.raw import Raw

    with unit_of_work(read_only=True) as session:
        return Raw(session).rows("SELECT institution_code, indicator_code, year, quarter, numerator, denominator "
                                 "FROM indicatorvalue ORDER BY institution_code, indicator_code, quarter")


def _analysis(**kw):
    from qcflow.services.indicators import analysis
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as session:
        return {i["code"]: i for i in analysis(session, "心血管内科", 2026, **kw)["indicators"]}


def test_the_analysis_pools_counts_and_shows_a_zero_denominator_as_no_data(loaded):
    pci = _analysis()["PCI"]
    assert (pci["numerator"], pci["denominator"], pci["overall_rate"]) == (65, 100, 65.0)  # not (90 + 40) / 2
    rows = {r["code"]: r for r in pci["by_institution"]}
    assert (rows["QCH1"]["rate"], rows["QCH2"]["rate"], rows["LXH"]["rate"]) == (90.0, 40.0, None)
    assert [r["code"] for r in pci["by_institution"]] == ["QCH1", "QCH2", "LXH"]  # ranked, no data last
    assert {r["level"]: r["rate"] for r in pci["by_level"]} == {"三级": 65.0, "二级": None}
    assert (pci["province_mean"], pci["national_mean"], pci["target"], pci["previous_rate"]) == (70.0, 68.0, None, None)
    assert [(f["scope"], f["subject"]) for f in pci["flags"]] == [("institution", "QCH2"), ("city", "青川市本级")]
    death = _analysis()["DEATH"]
    assert [(f["subject"], f["rate"]) for f in death["flags"]] == [("LXH", 9.0)]  # lower is better
    city = _analysis(city="临溪县")["PCI"]
    assert [r["code"] for r in city["by_institution"]] == ["LXH"] and city["overall_rate"] is None


def test_an_approved_target_becomes_the_line_measured_against(loaded):
    from models import ImprovementTarget
    from qcflow.core.clock import utcnow
    from qcflow.store.db import unit_of_work
    from qcflow.store.raw import Raw

    with unit_of_work() as session:
        plan = Raw(session).first("INSERT INTO qc_case (kind, state, version, \"round\", title, data, created_at, "
                                  "updated_at) VALUES ('improvement_plan', 'approved', 1, 0, 't', '{}', ?, ?) "
                                  "RETURNING id", [Raw(session).ts(utcnow())] * 2)[0]
        session.add(ImprovementTarget(plan_case_id=plan, specialty="心血管内科", year=2026, goal_code="G1",
                                      indicator_code="PCI", target_value=95.0, direction="higher",
                                      approved_at=utcnow()))
    pci = _analysis()["PCI"]
    assert pci["target"] == 95.0
    assert {(f["subject"], f["against"]) for f in pci["flags"]} == {("QCH1", "target"), ("QCH2", "target"),
                                                                    ("青川市本级", "target")}


def test_row_errors_name_row_and_column_and_nothing_is_stored(demo, loaded):
    before = _stored()
    bad = loaded / "bad.csv"
    bad.write_text(HEAD + "QCH1,PCI,2026,3,5,10\nNOPE,PCI,2026,3,1,2\nQCH2,XXX,2026,3,1,2\n"
                          "QCH2,PCI,2026,Q9,1,2\nQCH2,PCI,2026,3,abc,2\nLXH,PCI,2026,3,5,0\n", encoding="utf-8")
    report = _import(bad)
    assert report.refused
    text = "\n".join(report.lines())
    assert "整个文件未导入" in text
    for expected in ("第 3 行「机构代码」", "第 4 行「指标代码」", "第 5 行「季度」", "第 6 行「分子」", "第 7 行「分母」"):
        assert expected in text, text
    assert "第 2 行" not in text  # the good row is not an error…
    assert _stored() == before  # …and it was not stored either: all or nothing


def test_importing_the_same_file_again_changes_nothing_and_a_correction_updates(loaded):
    before = _stored()
    again = _import(loaded / "values.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert _stored() == before
    fixed = loaded / "fixed.csv"
    fixed.write_text(HEAD + "QCH2,PCI,2026,2,20,25\nQCH2,PCI,2026,2,20,25\n", encoding="utf-8")
    report = _import(fixed)
    assert (report.created, report.updated, report.unchanged, report.duplicates) == (0, 1, 0, 1)
    assert _analysis()["PCI"]["overall_rate"] == 75.0
    conflicting = loaded / "conflict.csv"
    conflicting.write_text(HEAD + "QCH2,PCI,2026,2,20,25\nQCH2,PCI,2026,2,21,25\n", encoding="utf-8")
    assert "与第 2 行是同一机构、指标和季度，但数字不同" in "\n".join(_import(conflicting).lines())


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_gb18030_and_bom_files_import(loaded, encoding):
    path = loaded / f"values-{encoding}.csv"
    path.write_bytes(("季度,分子,分母,机构代码,指标代码,年份\n一季度,5,10,QCH1,PCI,2026\n第四季度,7,10,QCH1,PCI,2026\n")
                     .encode(encoding))
    report = _import(path)
    assert not report.refused, report.lines()
    assert (report.created, report.updated) == (1, 1) and report.periods == ["2026Q1", "2026Q4"]
    assert ("QCH1", "PCI", 2026, 4, 7.0, 10.0) in _stored()


def test_an_xlsx_file_with_a_title_line_imports(loaded):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["2026年心血管指标上报表"])
    sheet.append(["机构代码", "指标代码", "期间", "分子", "分母"])
    sheet.append(["LXH", "PCI", "2026Q3", 3, 4])
    path = loaded / "values.xlsx"
    book.save(path)
    report = _import(path)
    assert not report.refused and report.created == 1, report.lines()


def test_only_the_specialtys_center_or_the_commission_imports(loaded):
    from states.rules import Refused

    with pytest.raises(Refused, match="Y§14"):
        _import(loaded / "values.csv", OTHER_SECRETARY)
    assert _import(loaded / "values.csv", REVIEWER).unchanged == 8


def test_a_dictionary_loaded_again_is_the_same_version_and_a_change_is_a_new_one(loaded):
    from qcflow.core.errors import UserError
    from qcflow.services.indicators import dictionary, load_dictionary
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        assert load_dictionary(session, loaded / "dict.yaml")["new_version"] is False
        (loaded / "dict2.yaml").write_text(DICTIONARY.replace("90分钟内PCI比例", "90分钟内直接PCI比例"), encoding="utf-8")
        assert load_dictionary(session, loaded / "dict2.yaml")["version"] == 2
        assert dictionary(session, "心血管内科", 2026).indicators[0].name == "90分钟内直接PCI比例"
        (loaded / "bad.yaml").write_text("specialty: 心血管内科\nyear: 26\nindicators: []\n", encoding="utf-8")
        with pytest.raises(UserError, match="year"):
            load_dictionary(session, loaded / "bad.yaml")


def test_a_flag_opens_exactly_one_guidance_task_and_rerunning_opens_none_more(loaded):
    from models import Case, OutboxMessage
    from qcflow.services.indicators import open_guidance
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        first = open_guidance(session, "心血管内科", 2026)
    assert len(first["opened"]) == 3 and first["already_open"] == 0  # QCH2 PCI, 青川市本级 PCI, LXH DEATH
    with unit_of_work() as session:
        again = open_guidance(session, "心血管内科", 2026)
        cases = session.exec(select(Case).where(Case.kind == "guidance")).all()
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.template == "guidance_opened")).all()
    assert again["opened"] == [] and again["already_open"] == 3
    assert len(cases) == 3
    assert {m.to_addr for m in mails} == {DIRECTOR, SECRETARY} and len(mails) == 6
    qch2 = next(c for c in cases if c.data["subject"] == "QCH2")
    assert (qch2.data["numerator"], qch2.data["denominator"], qch2.data["rate"], qch2.data["benchmark"]) == (20, 50, 40.0, 70.0)
    assert qch2.title == "青川市中心医院90分钟内PCI比例专项指导（2026年）"
    assert all("青川市中心医院" not in json.dumps(m.context, ensure_ascii=False) for m in mails)  # Y§22: number only


def test_a_guidance_task_is_followed_to_closure_and_its_numbers_cannot_be_edited(loaded):
    from qcflow import engine
    from qcflow.services.indicators import open_guidance
    from qcflow.store.db import unit_of_work
    from states.rules import Refused

    with unit_of_work() as session:
        case_id = open_guidance(session, "心血管内科", 2026)["opened"][0]["case_id"]
    with unit_of_work() as session:
        with pytest.raises(Refused, match="不能修改"):
            engine.fire(session, "guidance", case_id, "edit", email=SECRETARY, changes={"rate": 99})
    with unit_of_work() as session:
        with pytest.raises(Refused, match="须填写指导记录"):
            engine.fire(session, "guidance", case_id, "record_guidance", email=SECRETARY)
    with unit_of_work() as session:
        engine.fire(session, "guidance", case_id, "record_guidance", email=SECRETARY,
                    changes={"guidance": "11月26日赴院现场指导，反馈PCI延误环节"})
    with unit_of_work() as session:
        with pytest.raises(Refused, match="整改复查"):
            engine.fire(session, "guidance", case_id, "close", email=DIRECTOR)
    with unit_of_work() as session:
        result = engine.fire(session, "guidance", case_id, "close", email=DIRECTOR,
                             changes={"follow_up": "12月复查：绕行急诊流程已落实"})
        assert result.case.state == "closed" and result.case.data["rate"] == 40.0


def test_a_spot_check_draws_a_recorded_reproducible_sample_and_flags_discrepancies(loaded):
    from qcflow.services import indicator_checks
    from qcflow.store.db import unit_of_work
    from states.rules import Refused

    with unit_of_work() as session:
        first = indicator_checks.draw(session, "心血管内科", 2026, SECRETARY, size=2, seed=7)
        second = indicator_checks.draw(session, "心血管内科", 2026, SECRETARY, size=2, seed=7)
        with pytest.raises(Refused):
            indicator_checks.draw(session, "心血管内科", 2026, OTHER_SECRETARY, size=2, seed=7)
    assert first["institutions"] == second["institutions"] and len(first["institutions"]) == 2
    assert first["seed"] == 7 and first["id"] != second["id"]
    picked = first["institutions"][0]
    reported = {"QCH1": (45, 50), "QCH2": (20, 50), "LXH": (0, 0)}[picked]
    with unit_of_work() as session:
        result = indicator_checks.record(session, first["id"], DIRECTOR, [
            {"institution": picked, "indicator": "PCI", "numerator": reported[0], "denominator": reported[1]},
            {"institution": picked, "indicator": "DEATH", "numerator": 30, "denominator": 100, "note": "病案首页核对"}])
    assert result["discrepancies"] == 1
    death = next(r for r in result["results"] if r["indicator"] == "DEATH")
    assert "核查 30" in death["discrepancy"]
    assert result["unchecked"] == [first["institutions"][1]]


def _qcflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True, env=dict(os.environ),
                          cwd=ROOT, timeout=120)


def test_the_cli_imports_shows_and_refuses_with_exit_codes(loaded):
    bad = loaded / "bad.csv"
    bad.write_text(HEAD + "QCH1,PCI,2026,3,5,x\n", encoding="utf-8")
    refused = _qcflow("indicators", "import", str(bad), "--specialty", "CARD", "--as", SECRETARY)
    assert refused.returncode == 2 and "第 2 行「分母」" in refused.stdout, refused.stdout + refused.stderr
    shown = _qcflow("indicators", "show", "--specialty", "CARD", "--year", "2026", "--as", REVIEWER, "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert result["access"] == "institutions"
    assert result["analysis"]["indicators"][0]["overall_rate"] == 65.0
    public = _qcflow("indicators", "show", "--specialty", "CARD", "--year", "2026")
    assert public.returncode == 0 and "青川市中心医院" not in public.stdout and "只显示地区和级别汇总" in public.stdout
    guided = _qcflow("indicators", "guide", "--specialty", "心血管内科", "--year", "2026", "--json")
    assert guided.returncode == 0 and len(json.loads(guided.stdout)["opened"]) == 3
    unknown = _qcflow("indicators", "show", "--specialty", "牙科", "--year", "2026")
    assert unknown.returncode == 2 and "没有专业“牙科”" in unknown.stderr


def test_the_demo_data_set_loads_once_and_opens_its_guidance_tasks(demo):
    from models import Case
    from qcflow.run import demo_indicators
    from qcflow.store.db import unit_of_work

    first = demo_indicators.load()
    assert first is not None and first["opened"]
    assert demo_indicators.load() is None
    with unit_of_work(read_only=True) as session:
        assert len(session.exec(select(Case).where(Case.kind == "guidance")).all()) == len(first["opened"])
