"""`qcflow meetings`: record and list members' meetings, trainings and dispatch meetings (Y§19)."""

from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, as_email, data_file, emit, read_data
from qcflow.core.errors import UserError
from qcflow.services import meetings
from qcflow.store.db import unit_of_work
from states.meetings import kind_label

app = typer.Typer()
YEARS = (2000, 2100)  # what a year of meeting records can be; beyond it the calendar has no days


def _year(value: Optional[int]) -> Optional[int]:
    if value is not None and not YEARS[0] <= value <= YEARS[1]:
        raise UserError(f"年份 {value} 不合理：请写 {YEARS[0]}–{YEARS[1]} 之间的四位年份，例如 --year 2026")
    return value


@app.command("record")
def record(center: Annotated[str, typer.Option("--center", help="质控中心代码")],
           actor: as_email("操作人邮箱"),
           data: data_file("YAML/JSON：kind、held_on、title、attendees、minutes、files"),
           json_: JsonFlag = False) -> None:
    """登记一次成员工作会议、培训或调度会议"""
    values = read_data(data)
    with unit_of_work() as session:
        row = meetings.record_meeting(session, center, actor, values)
        out = {"id": row.id, "kind": row.kind, "title": row.title, "held_on": row.held_on.isoformat()}
    emit(json_, out, f"已登记{kind_label(row.kind)} #{out['id']}：{out['title']}（{out['held_on']}）")


@app.command("list")
def list_(center: Annotated[Optional[str], typer.Option("--center")] = None,
          year: Annotated[Optional[int], typer.Option("--year", callback=_year)] = None,
          json_: JsonFlag = False) -> None:
    """列出会议和培训记录"""
    with unit_of_work() as session:
        rows = meetings.list_meetings(session, center, year)
    emit(json_, rows, "\n".join(f"{r['held_on']}  {r['kind_label']}  {r['center_name']}  {r['title']}"
                                f"（{len(r['attendees'])}人）" for r in rows) or "暂无会议记录")
