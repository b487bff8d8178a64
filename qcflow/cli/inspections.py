"""`qcflow inspections`: plan, start, record findings, report, list and show inspections (Y§14(四), Y§20).

Other steps (authorize, return, accept, rectification evidence and verification) go through
`qcflow case fire inspection_plan|inspection|inspection_rectification ID TRIGGER`.
"""

from typing import Annotated, Optional

import typer

from qcflow import engine
from qcflow.cli.output import CaseId, JsonFlag, as_email, data_file, emit, read_data
from qcflow.core.errors import UserError
from qcflow.services import inspections
from qcflow.services.access import identify, readable_detail, visible_rows
from qcflow.store.db import unit_of_work

app = typer.Typer()
Actor = as_email("操作人邮箱")
Reader = Annotated[Optional[str], typer.Option(
    "--as", metavar="EMAIL", help="查看人邮箱（督导检查属受保护数据，必填：按身份决定可见内容并记录查阅，Y§22）")]


def _line(s: dict) -> str:
    extra = f"，报告截止 {s['report_due']}" if s.get("report_due") else ""
    return f"督导检查 #{s['id']}：{s['title']}（{s['state_label']}{extra}）"


@app.command("plan")
def plan(actor: Actor, data: data_file("YAML/JSON：center、title、year、scope、institutions"),
         draft: Annotated[bool, typer.Option("--draft", help="只保存草稿，不报请授权")] = False,
         json_: JsonFlag = False) -> None:
    """拟定年度督导检查方案并报市卫健委授权（Y§14(四)）"""
    values = read_data(data)
    with unit_of_work() as session:
        out = inspections.plan(session, actor, values, submit=not draft)
    emit(json_, out, f"督导检查方案 #{out['id']}：{out['title']}（{out['state_label']}）")


@app.command("start")
def start(actor: Actor, data: data_file("YAML/JSON：center、plan（已授权方案编号）、title、institutions、start_on、contacts"),
          json_: JsonFlag = False) -> None:
    """依据已授权的方案开始一次督导检查；方案未经授权则拒绝（Y§14(四)）"""
    values = read_data(data)
    with unit_of_work() as session:
        out = inspections.start(session, actor, values)
    emit(json_, out, _line(out))


@app.command("findings")
def findings(case_id: CaseId, actor: Actor,
             data: Annotated[Optional[str], typer.Option("--data", metavar="FILE",
                                                          help="YAML/JSON：findings（institution、item、standard、severity、requirement、due）")] = None,
             end_on: Annotated[Optional[str], typer.Option("--end-on", help="检查结束日期 YYYY-MM-DD：结束检查并向各受检单位反馈")] = None,
             json_: JsonFlag = False) -> None:
    """登记检查发现；给出 --end-on 则结束检查，向各受检单位发送整改清单（Y§20）"""
    values = read_data(data) if data else {}
    rows = values.get("findings", []) if isinstance(values, dict) else values
    if not isinstance(rows, list):
        raise UserError("findings 应为列表，每项含 institution、item、standard、severity")
    with unit_of_work() as session:
        out = inspections.findings(session, actor, case_id, rows, end_on=end_on)
    lists = "；".join(f"{r['institution']} 整改清单 #{r['id']}（{r['items']} 项，{r['level']}）" for r in out["rectifications"])
    emit(json_, out, _line(out) + (f"\n已反馈：{lists}" if lists else f"\n已登记检查发现 {out['findings']} 条"))


@app.command("report")
def report(case_id: CaseId, actor: Actor, data: data_file("YAML/JSON：report（督导检查报告正文）"),
           json_: JsonFlag = False) -> None:
    """报送书面督导检查报告（检查结束后 1 个月内，Y§20）"""
    values = read_data(data)
    with unit_of_work() as session:
        engine.fire(session, "inspection", case_id, "submit_report", email=actor, changes=values)
        out = inspections.summary(session, "inspection", case_id)
    emit(json_, out, _line(out))


@app.command("list")
def list_(plans: Annotated[bool, typer.Option("--plans", help="列出督导检查方案")] = False,
          reader: Reader = None, json_: JsonFlag = False) -> None:
    """列出督导检查（或方案）"""
    kind = "inspection_plan" if plans else "inspection"
    with unit_of_work() as session:
        rows = visible_rows(session, kind, identify(session, kind, reader))
    emit(json_, rows, "\n".join(f"#{r['id']:<5} {r['state_label']:<10} {r['title']}" for r in rows) or "暂无")


@app.command("show")
def show(case_id: CaseId, reader: Reader = None, json_: JsonFlag = False) -> None:
    """查看一次督导检查：状态、报告截止日、各受检单位的整改清单"""
    with unit_of_work() as session:
        person_id = identify(session, "inspection", reader)
        detail = readable_detail(session, engine.load_case(session, "inspection", case_id), person_id, "cli")
        out = {**inspections.summary(session, "inspection", case_id), "history": detail["history"],
               "deadlines": detail["deadlines"]}
    lines = [_line(out), f"依据方案 #{out['plan']}，检查发现 {out['findings']} 条"]
    lines += [f"  整改清单 #{r['id']} {r['institution_name']}（{r['institution']}）：{r['state_label']}，核查到位 {r['verified']}/{r['items']}，"
              f"截止 {r['due_date']}，{r['level_label']}"
              for r in out["rectifications"]]
    emit(json_, out, "\n".join(lines))
