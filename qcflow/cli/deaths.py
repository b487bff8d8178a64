"""`qcflow deaths`: import and report deaths, the year's low-risk DRG groups, details and counts (H5)."""

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from qcflow.cli.output import EXIT_PARTIAL, EXIT_REFUSED, CaseId, JsonFlag, as_email, data_file, emit, fail, read_data
from qcflow.services.deaths import open_detail, summary
from qcflow.services.deaths_import import PartialImport, import_file, load_low_risk_groups, report_one
from qcflow.store.db import get_engine, unit_of_work

app = typer.Typer()
drg = typer.Typer()
app.add_typer(drg, name="drg", help="低风险 DRG 组")

Hospital = Annotated[str, typer.Option("--hospital", help="医院代码")]


@app.command("import")
def import_(file: Path,
            hospital: Annotated[str, typer.Option("--hospital", help="医院代码（名录 institutions 中的 code）")],
            actor: as_email("导入人邮箱"),
            mapping: Annotated[Optional[str], typer.Option("--mapping", help="表头对照文件（YAML：表头: 字段）")] = None,
            json_: JsonFlag = False) -> int:
    """从医院导出的 CSV/XLSX 批量导入死亡病例（姓名、身份证号不落库）

    退出码：0 全部导入；2 有行被拒收（其余已导入）或文件不可用（未导入任何行）；
    4 中途停止（已导入 N 行，第 K 行起未导入；改正后重新导入同一文件即可补齐）"""
    def progress(rows: int) -> None:
        if not json_:
            print(f"  已读取 {rows} 行……", file=sys.stderr, flush=True)

    try:
        report = import_file(get_engine(), file, hospital, actor, mapping, progress)
    except PartialImport as stopped:  # exit 4: "已导入 N 行，第 K 行起未导入", and why
        if json_:
            print(json.dumps({"error": "partial", "imported_rows": stopped.imported_rows, "created": stopped.created,
                              "not_imported_from_row": stopped.from_row, "messages": [str(stopped)]},
                             ensure_ascii=False, indent=2))
        else:
            fail(False, "partial", [str(stopped)], "导入中途停止：")
        return EXIT_PARTIAL
    emit(json_, {"read": report.read, "created": report.created, "duplicates": report.duplicates,
                 "refused": report.refused, "low_risk": report.low_risk,
                 "errors": [str(e) for e in report.errors], "unknown_headers": report.unknown_headers},
         "\n".join(report.lines()))
    return EXIT_REFUSED if report.refused else 0


@app.command("report")
def report(hospital: Hospital,
           actor: as_email("报告人邮箱"),
           data: data_file("YAML：病案号、入院日期、死亡日期、科室、主要诊断、DRG分组、是否尸检……"),
           json_: JsonFlag = False) -> int:
    """报告一例死亡病例（与批量导入相同的检查和脱敏）"""
    result = report_one(get_engine(), read_data(data), hospital, actor)
    emit(json_, {"created": result.created, "duplicates": result.duplicates, "refused": result.refused,
                 "low_risk": result.low_risk, "errors": [str(e) for e in result.errors]}, "\n".join(result.lines()))
    return EXIT_REFUSED if result.refused else 0


@drg.command("load")
def drg_load(file: Path,
             year: Annotated[int, typer.Option("--year")], json_: JsonFlag = False) -> None:
    """导入某年的低风险 DRG 组名单（CSV 或 YAML）"""
    with unit_of_work() as session:
        count = load_low_risk_groups(session, file, year)
    emit(json_, {"year": year, "groups": count}, f"{year} 年低风险 DRG 组已导入：{count} 组")


@app.command("show")
def show(case_id: CaseId,
         actor: as_email("查看人邮箱"),
         json_: JsonFlag = False) -> None:
    """查看病例详情（仅评审人、所在中心和卫健委；每次查看都记录在案）"""
    with unit_of_work() as session:
        detail = open_detail(session, case_id, actor, "cli")
    data = detail["data"]
    lines = [f"死亡病例评审 #{detail['id']}  状态：{detail['state_label']}  医院：{data.get('hospital')}  "
             f"病案号：{data.get('record_no')}",
             f"入院 {data.get('admitted_on')}  死亡 {data.get('died_on')}  科室：{data.get('department')}  "
             f"DRG：{data.get('drg')}  低风险：{'是' if data.get('low_risk') else '否'}  "
             f"尸检：{'是' if data.get('autopsy') else '否'}",
             f"主要诊断：{data.get('diagnosis')}"]
    for e in detail["history"]:
        lines.append(f"  {e['at']}  {e['actor']}  {e['action']}  {e['to']}  {e['comment']}")
    emit(json_, detail, "\n".join(lines))


@app.command("summary")
def summary_(json_: JsonFlag = False) -> None:
    """按质控中心和医院统计报告、筛查、低风险、评审和措施落实情况"""
    with unit_of_work() as session:
        result = summary(session)
    head = "报告  已筛查  低风险  已评审  7日内讨论  5个工作日内讨论  措施未落实  措施逾期"
    lines = []
    for title, rows in (("按质控中心", result["centers"]), ("按医院", result["hospitals"])):
        lines.append(f"{title}：{head}")
        for r in rows:
            lines.append(f"  {r['name']}：{r['reported']}  {r['screened']}  {r['low_risk']}  {r['reviewed']}  "
                         f"{r['discussed_on_time']}  {r['discussed_within_5_working_days']}  {r['actions_open']}  "
                         f"{r['actions_overdue']}")
    emit(json_, result, "\n".join(lines) if any(result.values()) else "暂无死亡病例")
