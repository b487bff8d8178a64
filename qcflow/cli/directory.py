"""`qcflow directory`: load or update the directory from YAML."""

from pathlib import Path

import typer

from qcflow.cli.output import JsonFlag, emit
from qcflow.services import directory
from qcflow.store.db import unit_of_work

app = typer.Typer()


@app.command("load")
def load(file: Path, json_: JsonFlag = False) -> None:
    """从 YAML 文件导入或更新名录"""
    with unit_of_work() as session:
        report = directory.load_file(session, file)
    created = "、".join(f"{k} {v}" for k, v in report.created.items()) or "无"
    updated = "、".join(f"{k} {v}" for k, v in report.updated.items()) or "无"
    text = f"名录已导入。新增：{created}；更新：{updated}" if report.changed else "名录无变化（与数据库一致）"
    text += "".join(f"\n保留卫健委决定：{line}" for line in report.kept)
    emit(json_, {"created": report.created, "updated": report.updated, "changed": report.changed,
                 "kept": report.kept}, text)
