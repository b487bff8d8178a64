"""`qcflow center`: the registry of centers, their people, roles and terms; roster changes."""

from typing import Annotated, Optional

import typer

from qcflow.cli.output import JsonFlag, as_email, data_file, emit, read_data
from qcflow.core.clock import today, utcnow
from qcflow.services.handover import change_host
from qcflow.services.meetings import dispatch_obligations
from qcflow.services.terms import terms_ending
from qcflow.services.registry import center_detail, center_rows, change_roster
from qcflow.store.db import unit_of_work

app = typer.Typer()



@app.command("list")
def list_(json_: JsonFlag = False) -> None:
    """列出质控中心"""
    with unit_of_work() as session:
        rows = center_rows(session)
    status = {"active": "在用"}
    emit(json_, rows, "\n".join(f"{r['code']:<6} {status.get(r['status'], r['status'])}  {r['category']}  "
                                f"{r['name']}（挂靠：{r['host']}）" for r in rows) or "暂无质控中心")


@app.command("show")
def show(code: str, json_: JsonFlag = False) -> None:
    """查看质控中心的人员、职务和任期"""
    with unit_of_work() as session:
        detail = center_detail(session, code)
    lines = [f"{detail['name']}（{detail['code']}）  专业：{detail['specialty']}  类别：{detail['category']}  "
             f"挂靠：{detail['host']}"]
    for p in detail["people"]:
        group = f"  {p['group']}" if p["group"] else ""
        lines.append(f"  {p['role_label']:<4} {p['name']:<6} {p['title']:<8} 任期 {p['term_start']} 至 {p['term_end']}"
                     f"（第 {p['term']} 届）{group}")
    if not detail["people"]:
        lines.append("  （名录中未登记任期信息）")
    emit(json_, detail, "\n".join(lines))


@app.command("change")
def change(code: str,
           actor: as_email("操作人邮箱（卫健委）"),
           data: data_file("YAML：add、remove、change_role、size_justification、reason"),
           json_: JsonFlag = False) -> None:
    """调整质控中心人员（按 Y§10–§12 检查）"""
    changes = read_data(data)
    with unit_of_work() as session:
        result = change_roster(session, code, actor, changes, utcnow())
    emit(json_, result, f"{code} 人员调整完成（{result['reason']}）；用 qcflow center show {code} 查看")


@app.command("terms")
def terms(ending_within_days: Annotated[Optional[int], typer.Option(
              "--ending-within-days", metavar="N", help="只列出 N 天内届满的聘期")] = None,
          json_: JsonFlag = False) -> None:
    """列出在任人员的聘期（Y§26：每届 4 年，届满前 3 个月提示卫健委）"""
    with unit_of_work() as session:
        rows = terms_ending(session, today(), ending_within_days)
    lines = []
    for r in rows:
        notice = f"  已提示（聘期届满 #{r['notice_case']}，{r['notice_state']}）" if r["notice_case"] else (
            "  将于届满前 3 个月提示" if not r["ending_soon"] else "  待提示")
        lines.append(f"{r['center']:<6} {r['role_label']:<4} {r['person']:<6} {r['term_start']} 至 {r['term_end']}"
                     f"（第 {r['term']} 届，还剩 {r['days_left']} 天）{notice}")
    empty = f"{ending_within_days} 天内没有届满的聘期" if ending_within_days is not None else "暂无在任人员的聘期"
    emit(json_, rows, "\n".join(lines) or empty)


@app.command("change-host")
def change_host_(code: str,
                 actor: as_email("操作人邮箱（卫健委）"),
                 data: data_file("YAML：new_host（新挂靠单位代码）、announced_on（发布变更结果日期）、basis（决定依据）"),
                 json_: JsonFlag = False) -> None:
    """变更挂靠单位，并开启 1 个月内完成的交接事项（Y§27）"""
    changes = read_data(data)
    with unit_of_work() as session:
        result = change_host(session, code, actor, changes, utcnow())
    emit(json_, result, f"{code} 挂靠单位已变更为 {result['new_host']}；交接事项 #{result['case_id']} 须在 "
                        f"{result['due']} 前完成（qcflow case show handover {result['case_id']}）")


@app.command("dispatch")
def dispatch(code: Annotated[Optional[str], typer.Argument(help="质控中心代码（不填：全部在用中心）")] = None,
             json_: JsonFlag = False) -> None:
    """列出未召开每月工作调度会的月份（H4；已结束的月份，自中心人员到任当月起）"""
    with unit_of_work() as session:
        rows = dispatch_obligations(session, today(), code)
    emit(json_, rows, "\n".join(f"{r['center']:<6} {r['label']}（{r['rule']}）" for r in rows)
         or "各中心每月均已登记工作调度会")
