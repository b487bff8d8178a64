"""Running qcflow: `init`, `outbox deliver`, `flows run`, `serve` and `demo`."""

from typing import Annotated, Optional

import typer
from sqlalchemy.engine import make_url

from qcflow.cli.output import EXIT_ERROR, JsonFlag, emit
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.run.flow_runner import run_flow
from qcflow.store.db import upgrade_schema

outbox_app = typer.Typer()
flows_app = typer.Typer()


def init(json_: JsonFlag = False) -> None:
    """创建或升级数据库结构"""
    url = get_settings().effective_database_url
    upgrade_schema(url)
    safe = make_url(url).render_as_string(hide_password=True)
    emit(json_, {"ok": True, "database": safe}, f"数据库已就绪：{safe}")


@outbox_app.command("deliver")
def deliver(json_: JsonFlag = False) -> int:
    """发送待发邮件"""
    from qcflow.services.mail import deliver_outbox  # imported here for start-up time: SMTP client, jinja2

    report = deliver_outbox()
    emit(json_, {"sent": report.sent, "retried": report.retried, "gave_up": report.gave_up,
                 "errors": report.errors}, report.summary())
    return EXIT_ERROR if report.gave_up else 0


@flows_app.command("run")
def run(name: str,
        param: Annotated[Optional[list[str]], typer.Option("--param", help="名称=值，可重复")] = None,
        json_: JsonFlag = False) -> None:
    """手动运行一个流程"""
    params: dict[str, str] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"参数“{item}”格式应为 名称=值")
        params[key] = value
    result = run_flow(name, params)  # Prefect is imported here, by the flow's module
    emit(json_, result, f"流程 {name} 已运行：{result.get('summary', result)}")


def serve(demo: Annotated[bool, typer.Option("--demo", help="导入演示名录并准备一份待审核公文")] = False,
          no_prefect: Annotated[bool, typer.Option("--no-prefect", help="不启动 Prefect（仅网页和邮箱）")] = False,
          json_: JsonFlag = False) -> int:
    """启动网页、本地邮箱、Prefect 服务和定时流程"""
    from qcflow.run import serve as server  # imported here for start-up time: httpx, uvicorn, the web app

    return server.serve(demo=demo, with_prefect=not no_prefect)


def demo(json_: JsonFlag = False) -> int:
    """导入演示名录并走完一份公文的全部流程"""
    from qcflow.run.demo import walk_story  # imported here for start-up time: the mail stack, aiosmtpd

    return walk_story(print_json=json_)
