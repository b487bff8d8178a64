"""Running qcflow: `init`, `outbox deliver|list|requeue`, `flows run`, `serve` and `demo`."""

from typing import Annotated, Optional

import typer
from sqlalchemy.engine import make_url

from qcflow.cli.output import EXIT_ERROR, JsonFlag, as_email, emit
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
                 "released": report.released, "errors": report.errors,
                 "held_until": report.held_until, "outage": report.outage, "quota_until": report.quota_until},
         "\n".join([report.summary(), *report.errors]))
    return EXIT_ERROR if report.gave_up else 0


def _outbox_status_lines(status: dict) -> list[str]:
    lines = [f"待发送 {status['pending']} 封，发送失败 {status['failed']} 封"]
    if status["server_unreachable"]:
        lines.append(f"邮件服务器自 {status['failing_since']} 起不可用（已失败 {status['failures']} 轮，不计各邮件尝试次数）："
                     f"{status['last_error']}" + (f"；{status['retry_at']} 后重试" if status["retry_at"] else ""))
    if status["alert_raised_at"]:
        lines.append(f"已于 {status['alert_raised_at']} 告警：已记录并通知委员会工作人员（邮件在服务器恢复后送达）")
    if status["last_outage"]:
        last = status["last_outage"]
        lines.append(f"上次中断：{last['from']} 至 {last['to']}" + ("（已告警）" if last["alerted"] else ""))
    quota = status["quota"]
    for name, label in (("hour", "每小时"), ("day", "每天")):
        if name in quota["used"]:
            used = quota["used"][name]
            lines.append(f"发送配额（{quota['domain']}，{label}）：已用 {used['used']} / {used['cap']}")
    if quota["left"] == 0:
        lines.append(f"已达发送配额：{quota['waiting']} 封等待，最早 {quota['next_at']} 可继续发送")
    return lines


@outbox_app.command("list")
def outbox_list(failed: Annotated[bool, typer.Option("--failed", help="只列发送失败的邮件")] = False,
                json_: JsonFlag = False) -> None:
    """列出未发出的邮件（收件人、主题、状态、尝试次数、最近错误、时间）和发件队列状态"""
    from qcflow.services.outbox_admin import mail_rows, queue_status  # the mail stack: only for outbox commands
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as session:
        status = queue_status(session, get_settings())
        rows = mail_rows(session, get_settings(), failed_only=failed)
    lines = _outbox_status_lines(status)
    if rows:
        lines.append("编号  收件人  主题  状态  尝试次数  最近错误  时间")
        for r in rows:
            when = f"失败于 {r['failed_at']}" if r["status"] == "failed" else f"创建于 {r['created_at']}"
            lines.append(f"{r['id']}  {r['to_name']} <{r['to']}>  {r['subject']}  {r['status_label']}（{r['waiting_for']}）"
                         f"  {r['attempts']}  {r['last_error'] or '-'}  {when}")
    else:
        lines.append("没有发送失败的邮件" if failed else "没有未发出的邮件")
    emit(json_, {"status": status, "mails": rows}, "\n".join(lines))


@outbox_app.command("requeue")
def outbox_requeue(actor: as_email("您的邮箱（卫健委工作人员；记入审计）"),
                   ids: Annotated[Optional[list[int]], typer.Option("--id", help="邮件编号，可重复")] = None,
                   all_failed: Annotated[bool, typer.Option("--all-failed", help="全部发送失败的邮件")] = False,
                   json_: JsonFlag = False) -> None:
    """把发送失败的邮件重新排队（尝试次数清零，立即可发；仅卫健委工作人员，记入审计）"""
    from qcflow import engine
    from qcflow.services.outbox_admin import requeue
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        done = requeue(session, ids or [], all_failed=all_failed, by=engine.person_by_email(session, actor).id)
    emit(json_, {"requeued": done}, f"已重新排队 {len(done)} 封邮件" + (f"：{', '.join(map(str, done))}" if done else "")
         + "；下一次发送时发出（或运行 qcflow outbox deliver）")


@flows_app.command("run")
def run(name: str,
        param: Annotated[Optional[list[str]], typer.Option("--param", help="名称=值，可重复")] = None,
        local: Annotated[bool, typer.Option("--local", help="在本进程中运行（不经 Prefect 服务，不出现在其界面中）")] = False,
        json_: JsonFlag = False) -> int:
    """通过 Prefect 服务运行一个流程（运行和日志见其界面）"""
    params: dict[str, str] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"参数“{item}”格式应为 名称=值")
        params[key] = value
    result = run_flow(name, params, local=local)  # Prefect is imported here, by the flow's module
    if local or result.get("ok", True):
        where = "" if local else f"\n运行记录：{result['url']}"
        emit(json_, result, f"流程 {name} 已运行：{result.get('summary', result)}{where}")
        return 0
    emit(json_, result, f"流程 {name} 未成功完成：{result['summary']}\n运行记录和日志：{result['url']}")
    return EXIT_ERROR


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
