"""`qcflow orders`: issue rectification orders (Y§25) and list them with their counts per year (Y§26).

The center answers and the commission verifies with `qcflow case fire rectification ID respond|verify|
return|close`, or from the emailed links; a removal case is decided with `qcflow case fire removal ID
decide_remove|decide_keep --comment …`.
"""

from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, as_email, emit
from qcflow.core.clock import utcnow
from qcflow.services import access, orders
from qcflow.store.db import unit_of_work
from states.y25_grounds import GROUNDS

app = typer.Typer()


@app.command("issue")
def issue(center: Annotated[str, typer.Option("--center", help="质控中心代码")],
          ground: Annotated[list[str], typer.Option("--ground", help="第二十五条所列情形的项号 1–13，可重复或用逗号分隔")],
          due: Annotated[str, typer.Option("--due", metavar="YYYY-MM-DD", help="整改期限")],
          actor: as_email("下达人邮箱（卫健委医政医管科）"),
          requirements: Annotated[str, typer.Option("--requirements", help="整改要求")] = "",
          serious: Annotated[bool, typer.Option("--serious", help="认定情节严重（第二十六条）")] = False,
          serious_reason: Annotated[str, typer.Option("--serious-reason", help="认定情节严重的事实和理由")] = "",
          json_: JsonFlag = False) -> None:
    """下达责令整改通知（第二十五条）"""
    with unit_of_work() as session:
        out = orders.issue(session, center, orders.parse_grounds(ground), due, actor, requirements, utcnow(),
                           serious=serious, serious_reason=serious_reason)
    lines = [f"已下达责令整改 #{out['id']}：{out['title']}，整改期限 {out['due_date']}",
             *(f"  依据{g}" for g in out["grounds"])]
    if out["removals_opened"]:
        lines.append("按第二十六条已提请卫健委决定：" + "、".join(f"动态管理 #{i}" for i in out["removals_opened"]))
    emit(json_, out, "\n".join(lines))


@app.command("list")
def list_(center: Annotated[Optional[str], typer.Option("--center", help="质控中心代码")] = None,
          year: Annotated[Optional[int], typer.Option("--year", help="下达年度")] = None,
          actor: Annotated[Optional[str], typer.Option("--as", metavar="EMAIL", help="查看人邮箱")] = None,
          json_: JsonFlag = False) -> None:
    """列出责令整改通知，及每个中心每年的次数（第二十六条：同一年度 2 次及以上须提请免职）"""
    with unit_of_work() as session:
        out = orders.list_orders(session, access.identify(session, "rectification", actor), center, year)
    rows = [f"#{o['id']:<4} {o['year']}  {o['state_label']:<8} 限 {o['due_date']}  {o['title']}"
            + ("（情节严重）" if o["serious"] else "") for o in out["orders"]]
    counts = [f"{c['center']:<6} {c['year']}年  责令整改 {c['orders']} 次（未结 {c['open']}，情节严重 {c['serious']}）"
              for c in out["counts"]]
    emit(json_, out, "\n".join(rows + ["", "每年次数："] + counts) if rows else "暂无责令整改通知")


@app.command("grounds")
def grounds(json_: JsonFlag = False) -> None:
    """第二十五条所列 13 种责令整改情形（及第二十六条视为情节严重的项）"""
    out = [{"number": g.number, "short": g.short, "text": g.text, "serious": g.serious} for g in GROUNDS.values()]
    emit(json_, out, "\n".join(f"{g['number']:>2}. {g['short']}{'（情节严重）' if g['serious'] else ''}：{g['text']}"
                               for g in out))
