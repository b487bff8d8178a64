"""`qcflow case`: create a case, take a step, show it, list cases, attach an application material."""

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from qcflow import engine
from qcflow.engine.races import lost_race
from qcflow.cli.output import CaseId, JsonFlag, VersionOption, as_email, emit, read_data
from qcflow.core.errors import UserError
from qcflow.services.access import identify, readable_detail, visible_rows
from qcflow.services.applications import attach_file, read_upload
from qcflow.store.db import unit_of_work
from states.materials import SLOTS
from states.rules import Refused

app = typer.Typer()

Actor = as_email("操作人邮箱")
Reader = Annotated[Optional[str], typer.Option(
    "--as", metavar="EMAIL", help="查看人邮箱（死亡病例评审必填：按身份决定可见内容并记录查阅，Y§22）")]


@app.command("new")
def new(kind: str, actor: Actor, data: Annotated[str, typer.Option(
        "--data", metavar="FILE", help="YAML/JSON 数据文件，- 表示标准输入")],
        json_: JsonFlag = False) -> None:
    """新建事项"""
    values = read_data(data)
    with unit_of_work() as session:
        case = engine.create_case(session, kind, actor, values)
        detail = readable_detail(session, case, identify(session, kind, actor), "cli")
    emit(json_, detail, f"已新建{detail['kind_label']} #{detail['id']}：{detail['title']}（{detail['state_label']}）")


@app.command("fire")
def fire(kind: str, case_id: CaseId, trigger: str, actor: Actor,
         comment: Annotated[Optional[str], typer.Option("--comment", help="意见")] = None,
         data: Annotated[Optional[str], typer.Option(
             "--data", metavar="FILE", help="修改内容（YAML/JSON 文件，- 表示标准输入）")] = None,
         expected_version: VersionOption = None,
         json_: JsonFlag = False) -> None:
    """对事项执行一个操作"""
    changes = read_data(data) if data else None
    with unit_of_work() as session:
        try:
            result = engine.fire(session, kind, case_id, trigger, email=actor, comment=comment or "",
                                 changes=changes, expected_version=expected_version)
        except Refused as refused:  # a lost race is a conflict (exit 3), not a refusal
            raise lost_race(session, kind, case_id, trigger, actor, refused) from None
        detail = readable_detail(session, result.case, identify(session, kind, actor), "cli")
    labels = engine.workflow_for(kind).transitions
    done = "、".join(labels[t].label for t, _, _ in result.steps)
    extra = f"，文号 {detail['number']}" if detail["number"] else ""
    emit(json_, {**detail, "steps": result.steps},
         f"{detail['kind_label']} #{detail['id']}：{done}完成，当前状态：{detail['state_label']}{extra}")


@app.command("attach")
def attach(kind: Literal["application"], case_id: CaseId,
           slot: Annotated[str, typer.Argument(help="材料项，如 license、letter_1 … letter_6、commitment")],
           file: Path, actor: Actor, json_: JsonFlag = False) -> None:
    """为设置申请上传一项材料（PDF、图片或 docx）"""
    content = read_upload(file)
    with unit_of_work() as session:
        row = attach_file(session, case_id, slot, content, file.name, actor)
    emit(json_, {"slot": row.slot, "filename": row.filename, "size": row.size, "sha256": row.sha256},
         f"已上传：{SLOTS[row.slot]} ← {row.filename}（{row.size} 字节）")


@app.command("show")
def show(kind: str, case_id: CaseId, reader: Reader = None, json_: JsonFlag = False) -> None:
    """查看事项及办理记录"""
    with unit_of_work() as session:
        person_id = identify(session, kind, reader)
        detail = readable_detail(session, engine.load_case(session, kind, case_id), person_id, "cli")
    lines = [f"{detail['kind_label']} #{detail['id']}：{detail['title']}",
             f"状态：{detail['state_label']}（{detail['state']}）  中心：{detail['center']}  拟稿人：{detail['created_by']}"]
    if detail["number"]:
        lines.append(f"文号：{detail['number']}")
    if detail["access"] == "reporter":
        lines.append("注：您是报告医院的人员，只能看到本院报告的内容和办理进度；评审内容仅评审人和卫健委可见（Y§22）")
    if detail["history_warning"]:
        lines.append(detail["history_warning"])
    lines.append("办理记录：")
    for e in detail["history"]:
        arrow = f"{e['from']} → {e['to']}" if e["from"] else e["to"]
        comment = f"  意见：{e['comment']}" if e["comment"] else ""
        lines.append(f"  {e['at']}  {e['actor']}  {e['action']}  {arrow}{comment}")
    for d in detail["deadlines"]:
        lines.append(f"期限：{d['label']} 截止 {d['due']}{'（办理中）' if d['open'] else '（已结束）'}")
    emit(json_, detail, "\n".join(lines))


@app.command("list")
def list_(kind: str, state: Annotated[Optional[str], typer.Option("--state")] = None,
          reader: Reader = None, json_: JsonFlag = False) -> None:
    """列出事项"""
    workflow = engine.workflow_for(kind)
    state = {label: name for name, label in workflow.states.items()}.get(state, state)
    if state and state not in workflow.states:
        raise UserError(f"状态“{state}”无效，可用：{'、'.join(f'{k}（{v}）' for k, v in workflow.states.items())}")
    with unit_of_work() as session:
        rows = visible_rows(session, kind, identify(session, kind, reader), state)
    text = "\n".join(f"#{r['id']:<5} {r['state_label']:<6} {r['number']:<16} {r['title']}" for r in rows)
    emit(json_, rows, text or "没有符合条件的事项")
