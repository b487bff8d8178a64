"""`qcflow report build`: the specialty's annual report (H6) rendered from the year's indicator analysis."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, emit
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.services import annual_report
from qcflow.store.db import unit_of_work

app = typer.Typer()


def _year(value: int) -> int:
    if not 2000 <= value <= 2100:
        raise UserError(f"年份 {value} 不合理：请写四位年份，例如 --year 2026")
    return value


@app.command("build")
def build(specialty: Annotated[str, typer.Option("--specialty", help="专业，例如 心血管内科")],
          year: Annotated[int, typer.Option("--year", help="报告年度", callback=_year)],
          out: Annotated[Optional[Path], typer.Option("--out", help="HTML 和 PDF 写入的目录（默认 数据目录/reports）")] = None,
          json_: JsonFlag = False) -> None:
    """由当年指标数据生成年度医疗服务与质量安全报告（HTML 与 PDF），并更新报告初稿"""
    with unit_of_work() as session:
        built = annual_report.build(session, specialty, year)
    files = annual_report.write_files(built, out or get_settings().data_dir / "reports")
    summary = {**built.summary(), **files}
    note = "" if built.refreshed else "（报告已进入评审或审批，保持评审时的数据，未用新数据更新）"
    emit(json_, summary, f"已生成 {built.title}（第 {built.version} 版，{summary['state']}）{note}\n"
                         f"  指标 {built.indicators} 项，未达标 {built.flags} 处；年度报告 #{built.case_id}\n"
                         f"  HTML：{files['html']}\n  PDF：{files['pdf']}")
