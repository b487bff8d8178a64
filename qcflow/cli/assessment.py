"""`qcflow assessment`: the year's rubric, the campaign, funding declarations, ranking and history (Y§24)."""

from pathlib import Path
from typing import Annotated

import typer

from qcflow.cli.output import JsonFlag, as_email, data_file, emit, read_data
from qcflow.core.errors import UserError
from qcflow.services import assessment
from qcflow.store.db import unit_of_work

app = typer.Typer()
rubric_app = typer.Typer()
funding_app = typer.Typer()
app.add_typer(rubric_app, name="rubric", help="考核细则")
app.add_typer(funding_app, name="funding", help="挂靠单位专项经费申报（Y§16）")

Year = Annotated[int, typer.Option("--year", min=2000, max=2100, help="考核年度")]


@rubric_app.command("load")
def load(file: Annotated[Path, typer.Argument(metavar="FILE", help="考核细则 YAML")], year: Year,
         json_: JsonFlag = False) -> None:
    """导入一个年度的考核细则（新增一个版本；该年度结果发布后不可更改）"""
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取考核细则文件 {file}：{exc.strerror}") from None
    with unit_of_work() as session:
        result = assessment.load_rubric(session, content, str(file), year)
    emit(json_, result, result["summary"])


@app.command("open")
def open_(year: Year, force: Annotated[bool, typer.Option("--force", help="已开启的考核也重新汇集佐证")] = False,
          json_: JsonFlag = False) -> None:
    """为每个在用质控中心开启年度考核，指定评分专家并发送邮件（可重复运行，不会重复开启）"""
    with unit_of_work() as session:
        result = assessment.open_assessments(session, year, force)
    emit(json_, result, result["summary"])


@funding_app.command("declare")
def declare(center: Annotated[str, typer.Option("--center", help="质控中心代码")], year: Year,
            actor: as_email("填报人邮箱（中心主任、秘书或医政医管科）"),
            data: data_file("YAML/JSON：amount（元）、leader_name（分管院领导）、leader_title、proof（凭证）"),
            json_: JsonFlag = False) -> None:
    """申报挂靠单位年度专项经费及分管院领导（加分须有凭证）"""
    values = read_data(data)
    with unit_of_work() as session:
        row = assessment.declare_funding(session, center, year, actor, values)
        out = {"center": row.center_code, "year": row.year, "amount": row.amount, "leader_name": row.leader_name,
               "proof": row.proof}
    emit(json_, out, f"已登记 {out['center']} {out['year']} 年专项经费 {out['amount']:,} 元，分管院领导 {out['leader_name']}"
                     + ("" if out["proof"] else "（未提供凭证：不计经费加分）"))


@app.command("ranking")
def ranking(year: Year, json_: JsonFlag = False) -> None:
    """已发布的年度考核结果排名"""
    with unit_of_work(read_only=True) as session:
        rows = assessment.ranking(session, year)
    emit(json_, rows, "\n".join(
        f"{r['rank']:>2}. {r['center_name']}（{r['center_code']}）  {r['score']:g} + {r['bonus']:g} = {r['total']:g}  "
        f"{r['grade']}{'（一票否决：' + r['veto_ground'] + '）' if r['vetoed'] else ''}" for r in rows)
        or f"{year} 年尚无已发布的考核结果")


@app.command("history")
def history(code: Annotated[str, typer.Argument(metavar="CODE", help="质控中心代码")], json_: JsonFlag = False) -> None:
    """一个质控中心历年的考核等次"""
    with unit_of_work(read_only=True) as session:
        rows = assessment.history(session, code)
    emit(json_, rows, "\n".join(f"{r['year']}  {r['total']:g}  {r['grade']}" for r in rows) or f"{code} 尚无已发布的考核结果")


@app.command("status")
def status(year: Year, json_: JsonFlag = False) -> None:
    """本年度考核各中心的进度"""
    with unit_of_work(read_only=True) as session:
        rows = assessment.progress(session, year)
    emit(json_, rows, "\n".join(f"#{r['case_id']}  {r['center_name']}  {r['state_label']}  评分 {r['scored']}/{r['scorers']}"
                                for r in rows) or f"{year} 年考核尚未开启")
