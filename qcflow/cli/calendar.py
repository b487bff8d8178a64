"""`qcflow calendar`, `qcflow deadlines` and `qcflow due`: working days, reminders, what is due."""

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, emit
from qcflow.core.clock import as_of_moment, local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.services import sweep
from qcflow.services.queries import due_rows
from qcflow.store.calendar import load_file as load_calendar
from qcflow.store.db import unit_of_work

calendar_app = typer.Typer()
deadlines_app = typer.Typer()


def _as_of(value: Optional[str]) -> Optional[datetime]:
    try:
        return as_of_moment(value)
    except ValueError:
        raise UserError(f"日期“{value}”无效，格式应为 YYYY-MM-DD") from None


@calendar_app.command("load")
def load(file: Path, json_: JsonFlag = False) -> None:
    """导入某年的放假和调休安排（YAML）"""
    with unit_of_work() as session:
        result = load_calendar(session, file)
    emit(json_, result, f"{result['year']} 年日历已导入：放假 {result['holidays']} 天，调休上班 {result['workdays']} 天")


@deadlines_app.command("sweep")
def sweep_(as_of: Annotated[Optional[str], typer.Option(
        "--as-of", metavar="YYYY-MM-DD", help="按指定日期检查（YYYY-MM-DD，默认今天）")] = None,
        json_: JsonFlag = False) -> None:
    """检查到期事项，发送提醒和督办"""
    with unit_of_work() as session:
        report = sweep.sweep(session, now=_as_of(as_of))
    emit(json_, {"examined": report.examined, "reminded": report.reminded, "escalated": report.escalated,
                 "skipped": report.skipped, "overdue": report.overdue},
         f"期限检查完成：检查 {report.examined} 项，提醒 {len(report.reminded)} 项，督办 {len(report.escalated)} 项，"
         f"标记逾期 {len(report.overdue)} 项")


def due(center: Annotated[Optional[str], typer.Option("--center", help="质控中心代码")] = None,
        late: Annotated[bool, typer.Option("--late", help="只列逾期的")] = False,
        as_of: Annotated[Optional[str], typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="按指定日期计算（YYYY-MM-DD）")] = None,
        json_: JsonFlag = False) -> None:
    """列出待办和逾期的期限"""
    moment = _as_of(as_of) or utcnow()
    with unit_of_work() as session:
        rows = due_rows(session, local_date(moment), center)
    if late:
        rows = [r for r in rows if r["late"]]
    lines = [f"{r['due']}  {r['status']:<8} {r['center'][:14]:<14} {r['kind_label']}#{r['case_id']} "
             f"{r['step']}（{r['state_label']}）{'  已督办' if r['escalated'] else ''}  {r['title']}" for r in rows]
    overdue = sum(r["late"] for r in rows)
    emit(json_, rows, "\n".join(lines + [f"共 {len(rows)} 项，其中逾期 {overdue} 项"]) if rows else "没有待办期限")
