"""`qcflow plans` (H1 improvement-goal plans and their targets) and `qcflow compendium` (H2)."""

from pathlib import Path
from typing import Annotated

import typer

from qcflow.cli.output import JsonFlag, as_email, emit
from qcflow.core.errors import UserError
from qcflow.services import compendium, improvement
from qcflow.store.db import unit_of_work
from states.improvement_plan import DIRECTIONS

app = typer.Typer()
compendium_app = typer.Typer()


@app.command("show")
def show(center: Annotated[str, typer.Option("--center", help="质控中心代码")],
         year: Annotated[int, typer.Option("--year", help="方案年度")],
         json_: JsonFlag = False) -> None:
    """查看质控中心某年度的改进目标工作方案及已批准的目标值"""
    with unit_of_work(read_only=True) as session:
        plan = improvement.plan_of(session, center, year)
    if plan is None:
        raise UserError(f"{center} 没有 {year} 年度的改进目标工作方案；新建：qcflow case new improvement_plan --as 邮箱 --data 文件")
    lines = [f"改进目标工作方案 #{plan['id']}：{plan['title']}（{plan['state']}）"]
    for goal in plan["goals"]:
        lines.append(f"  {goal.get('goal_code')} {goal.get('indicator_code')} 目标值 {goal.get('target_value')}"
                     f"（{DIRECTIONS.get(str(goal.get('direction')), '')}；全省 {goal.get('baseline_province')}，"
                     f"全国 {goal.get('baseline_national')}）")
    lines.append(f"  已生效目标 {len(plan['targets'])} 项" if plan["targets"] else "  尚未批准：目标值未生效")
    emit(json_, plan, "\n".join(lines))


@compendium_app.command("attach")
def attach(case_id: Annotated[int, typer.Argument(help="应知应会事项编号")],
           file: Annotated[Path, typer.Argument(help="附件文件")],
           actor: as_email("操作人邮箱（本中心主任或秘书）"),
           json_: JsonFlag = False) -> None:
    """为编写中的应知应会上传附件（条目中 file 写同一文件名）"""
    if not file.is_file():
        raise UserError(f"找不到文件 {file}")
    content = file.read_bytes()
    with unit_of_work() as session:
        out = compendium.attach(session, case_id, actor, file.name, content)
    emit(json_, out, f"已上传附件 {out['file']}（{out['size']} 字节）到应知应会 #{case_id}")


@compendium_app.command("list")
def list_(specialty: Annotated[str, typer.Option("--specialty", help="专业")], json_: JsonFlag = False) -> None:
    """已发布的应知应会各版本（公开页面 /compendium/专业 同此）"""
    with unit_of_work(read_only=True) as session:
        rows = compendium.published(session, specialty)
    emit(json_, rows, "\n".join(f"第 {r['version']} 版 {r['title']}：共性 {len(r['common'])} 项，个性 {len(r['special'])} 项，"
                                f"学习 {r['studies']} 人" for r in rows) or f"{specialty}尚无已发布的应知应会")
