"""`qcflow center`: the registry of centers, their people, roles and terms; roster changes."""


import typer

from qcflow.cli.output import JsonFlag, as_email, data_file, emit, read_data
from qcflow.core.clock import utcnow
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
