"""`qcflow calendar`, `qcflow deadlines` and `qcflow due`: working days, reminders, what is due."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, emit
from qcflow.core.clock import as_of_moment, local_date, utcnow
from qcflow.services import sweep
from qcflow.services.queries import due_rows
from qcflow.store.calendar import load_file as load_calendar
from qcflow.store.db import unit_of_work

calendar_app = typer.Typer()
deadlines_app = typer.Typer()


@calendar_app.command("load")
def load(file: Path, json_: JsonFlag = False) -> None:
    """导入某年的放假和调休安排（YAML）"""
    with unit_of_work() as session:
        result = load_calendar(session, file)
    emit(json_, result, f"{result['year']} 年日历已导入：放假 {result['holidays']} 天，调休上班 {result['workdays']} 天")


@deadlines_app.command("sweep")
def sweep_(as_of: Annotated[Optional[str], typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="按指定日期检查：今天或以前的日期即按现在检查（补发）；以后的日期只预览，不做更改")] = None,
        force: Annotated[bool, typer.Option("--force", help="以后的日期也真正执行（写入并发送）")] = False,
        json_: JsonFlag = False) -> None:
    """检查到期事项，发送提醒和督办"""
    from qcflow.services.reports import open_due_reports

    opened = None
    if sweep.acts(as_of, force):  # a period whose opening run was missed opens now (Y§17)
        with unit_of_work() as session:
            opened = open_due_reports(session)
    outcome = sweep.run_as_of(unit_of_work, as_of, force=force)
    report = outcome.report
    text = ("期限检查完成：" if not outcome.preview else "") + outcome.summary()
    if opened and opened["opened"]:
        text += "\n" + opened["summary"]
    emit(json_, {"preview": outcome.preview, "as_of": outcome.as_of, "examined": report.examined,
                 "reminded": report.reminded, "escalated": report.escalated, "skipped": report.skipped,
                 "overdue": report.overdue, "conflicts": report.conflicts, "would_send": outcome.would_send,
                 "reports_opened": (opened or {}).get("opened", [])}, text)


def due(center: Annotated[Optional[str], typer.Option("--center", help="质控中心代码")] = None,
        late: Annotated[bool, typer.Option("--late", help="只列逾期的")] = False,
        as_of: Annotated[Optional[str], typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="按指定日期计算（YYYY-MM-DD）")] = None,
        json_: JsonFlag = False) -> None:
    """列出待办和逾期的期限"""
    day = sweep.parse_as_of(as_of, local_date(utcnow()))
    moment = as_of_moment(day.isoformat()) if day else utcnow()
    with unit_of_work() as session:
        rows = due_rows(session, local_date(moment), center)
    if late:
        rows = [r for r in rows if r["late"]]
    lines = [f"{r['due']}  {r['status']:<8} {r['center'][:14]:<14} {r['kind_label']}#{r['case_id']} "
             f"{r['step']}（{r['state_label']}）{'  已督办' if r['escalated'] else ''}  {r['title']}" for r in rows]
    overdue = sum(r["late"] for r in rows)
    emit(json_, rows, "\n".join(lines + [f"共 {len(rows)} 项，其中逾期 {overdue} 项"]) if rows else "没有待办期限")
