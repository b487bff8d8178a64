"""`qcflow audit verify`: are the cases' histories as they were written?"""

from typing import Annotated, Optional

import typer

from qcflow import engine
from qcflow.cli.output import JsonFlag, emit
from qcflow.core.ids import check_id
from qcflow.services import audit
from qcflow.store.db import unit_of_work

EXIT_HISTORY_BROKEN = 5  # a history was changed after it was written (the other codes: qcflow/cli/output.py)

app = typer.Typer()

CaseOption = Annotated[Optional[tuple[str, int]], typer.Option("--case", metavar="KIND ID",
                                                                help="只校验这一个事项，例如 --case document 3")]


@app.command("verify")
def verify(case: CaseOption = None, json_: JsonFlag = False) -> int:
    """校验办理记录的哈希链：报告每个事项第一处被改动的记录"""
    with unit_of_work() as session:
        if case is None:
            report = audit.verify(session)
        else:
            kind, case_id = case
            check_id(case_id)
            engine.load_case(session, kind, case_id)  # refuses an unknown kind or id, naming it
            report = audit.verify(session, kind, case_id)
    emit(json_, report.as_dict(), _text(report))
    return 0 if report.intact else EXIT_HISTORY_BROKEN


def _text(report: audit.Report) -> str:
    if report.intact:
        return f"办理记录校验通过：{report.cases} 个事项、{report.events} 条记录均未被改动。"
    lines = [f"办理记录校验失败：{len(report.broken)} 个事项的记录在写入后被改动（共校验 {report.cases} 个事项、"
             f"{report.events} 条记录）："]
    for broken in report.broken:
        lines.append(f"  {broken.kind} #{broken.case_id}：{broken.warning()}（记录编号 {broken.event_id}）")
    lines.append("请勿再改动数据库；请联系系统管理员，用数据库备份核对这些记录。")
    return "\n".join(lines)
